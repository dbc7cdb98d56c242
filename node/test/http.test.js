'use strict';
// The Node driver's HTTP/1.1 client against servers that answer raw bytes on loopback: framing
// (Content-Length, chunked, close-delimited, interim answers), kept-alive connections and their
// retry, caps, and what it refuses to send or accept. Run by .ci/test with `node --test`.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { exchange, closeConnections } = require('../dist/index.js');

// Whatever a test opened is closed after it, passed or failed, so a failure never leaves the
// runner waiting on a socket; and no test may wait forever.
const opened = [];
test.afterEach(() => {
  closeConnections();
  for (const thing of opened.splice(0)) thing.destroy ? thing.destroy() : thing.close();
});
const it = (name, fn) => test(name, { timeout: 10_000 }, fn);

/**
 * A server on 127.0.0.1 that reads each request head (and a Content-Length body) and answers
 * with what `answer(request, index)` returns: bytes to write, or { bytes, close } to end the
 * connection after them. Counts connections and keeps the raw requests.
 */
function rawServer(answer) {
  const state = { connections: 0, requests: [], sockets: [] };
  const server = net.createServer((socket) => {
    state.connections += 1;
    state.sockets.push(socket);
    opened.push(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number((/\r\ncontent-length: *(\d+)/i.exec(head) || [])[1] || 0);
        if (buf.length < end + 4 + length) return;
        const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
        buf = buf.subarray(end + 4 + length);
        const request = { head, body };
        state.requests.push(request);
        const reply = answer(request, state.requests.length - 1);
        const { bytes, close } = Buffer.isBuffer(reply) || typeof reply === 'string' ? { bytes: reply } : reply;
        socket.write(bytes);
        if (close) socket.end();
      }
    });
    socket.on('error', () => {});
  });
  opened.push(server);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.url = (p) => new URL(`http://127.0.0.1:${server.address().port}${p}`);
      state.close = () => new Promise((r) => {
        closeConnections();
        for (const socket of state.sockets) socket.destroy();
        server.close(r);
      });
      state.server = server;
      resolve(state);
    });
  });
}

const plain = (extra = {}) => ({ headers: [['X-Vault-Request', 'true']], body_cap: 1024 * 1024, use_proxy: false, ...extra });

function ok(body, extra = '') {
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

it('a Content-Length answer, and the connection is kept for the next request', async () => {
  const s = await rawServer(() => ok('{"a":1}'));
  const first = await exchange(plain(), s.url('/v1/sys/health'), 'GET');
  const second = await exchange(plain(), s.url('/v1/kv/dev/data/ip'), 'POST', Buffer.from('{"x":1}'));
  assert.equal(first.status, 200);
  assert.equal(first.body.toString(), '{"a":1}');
  assert.deepEqual(first.headers.find(([k]) => k === 'content-type'), ['content-type', 'application/json']);
  assert.equal(second.body.toString(), '{"a":1}');
  assert.equal(s.connections, 1, 'the second request reused the first connection');
  assert.match(s.requests[0].head, /^GET \/v1\/sys\/health HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nX-Vault-Request: true$/);
  assert.match(s.requests[1].head, /\r\nContent-Length: 7$/);
  assert.equal(s.requests[1].body, '{"x":1}');
  await s.close();
});

it('a POST without a body says Content-Length: 0', async () => {
  const s = await rawServer(() => 'HTTP/1.1 204 No Content\r\n\r\n');
  const res = await exchange(plain(), s.url('/v1/auth/token/revoke-self'), 'POST');
  assert.equal(res.status, 204);
  assert.equal(res.body.length, 0);
  assert.match(s.requests[0].head, /\r\nContent-Length: 0$/);
  await s.close();
});

it('a chunked answer with extensions and trailers is put back together', async () => {
  const s = await rawServer(() => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
    + '4;ext=1\r\n{"da\r\n' + 'A\r\nta":"0123"\r\n' + '1\r\n}\r\n' + '0\r\nX-Trailer: yes\r\n\r\n');
  const res = await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(res.body.toString(), '{"data":"0123"}');
  // The connection stays usable after the trailers.
  const again = await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(again.body.toString(), '{"data":"0123"}');
  assert.equal(s.connections, 1);
  await s.close();
});

it('a chunked answer that arrives a byte at a time', async () => {
  const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
  const server = net.createServer((socket) => {
    opened.push(socket);
    socket.once('data', async () => {
      for (const byte of Buffer.from(text)) {
        socket.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
    });
  });
  opened.push(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const res = await exchange(plain(), new URL(`http://127.0.0.1:${server.address().port}/v1/x`), 'GET');
  assert.equal(res.body.toString(), 'hello world');
  closeConnections();
  server.close();
});

it('an interim 100 Continue is skipped for the answer after it', async () => {
  const s = await rawServer(() => `HTTP/1.1 100 Continue\r\n\r\n${ok('{}')}`);
  const res = await exchange(plain(), s.url('/v1/x'), 'PUT', Buffer.from('{}'));
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), '{}');
  await s.close();
});

it('an answer framed by closing the connection is read to the end and not reused', async () => {
  const s = await rawServer(() => ({ bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it', close: true }));
  const res = await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(res.body.toString(), 'all of it');
  await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(s.connections, 2);
  await s.close();
});

it('a kept-alive connection the server closed while idle leaves the pool', async () => {
  const s = await rawServer(() => ok('{}'));
  await exchange(plain(), s.url('/v1/a'), 'GET');
  // The server drops its side of the idle connection without a word.
  for (const socket of s.sockets) socket.destroy();
  await new Promise((r) => setTimeout(r, 20));
  const res = await exchange(plain(), s.url('/v1/b'), 'GET');
  assert.equal(res.status, 200);
  assert.equal(s.connections, 2);
  assert.equal(s.requests.filter((r) => r.head.startsWith('GET /v1/b')).length, 1);
  await s.close();
});

it('a kept-alive connection closed as the request arrives: sent once more on a fresh one', async () => {
  // The second request reaches a connection the server is closing: no answer, the socket ends.
  const s = await rawServer((_, index) => (index === 1 ? { bytes: '', close: true } : ok('{"n":1}')));
  await exchange(plain(), s.url('/v1/a'), 'GET');
  const res = await exchange(plain(), s.url('/v1/b'), 'GET');
  assert.equal(res.body.toString(), '{"n":1}');
  assert.equal(s.connections, 2);
  assert.equal(s.requests.filter((r) => r.head.startsWith('GET /v1/b')).length, 2, 'sent on the old and the new connection');
  await s.close();
});

it('a POST on a kept-alive connection closed as it arrives is not sent again', async () => {
  // A login must not reach Vault twice: once written, a POST is never replayed.
  const s = await rawServer((_, index) => (index === 1 ? { bytes: '', close: true } : ok('{}')));
  await exchange(plain(), s.url('/v1/sys/health'), 'GET');
  await assert.rejects(exchange(plain(), s.url('/v1/auth/jwt/login'), 'POST', Buffer.from('{}')), (e) => e.code === 'ECONNRESET');
  assert.equal(s.requests.filter((r) => r.head.startsWith('POST')).length, 1);
  await s.close();
});

it('a POST after the server closed an idle connection goes on a fresh one', async () => {
  const s = await rawServer(() => ok('{"auth":{}}'));
  await exchange(plain(), s.url('/v1/sys/health'), 'GET');
  // The server's close is on its way while the pool still holds the connection.
  for (const socket of s.sockets) socket.end();
  await new Promise((r) => setTimeout(r, 20));
  const res = await exchange(plain(), s.url('/v1/auth/jwt/login'), 'POST', Buffer.from('{}'));
  assert.equal(res.body.toString(), '{"auth":{}}');
  assert.equal(s.connections, 2);
  assert.equal(s.requests.filter((r) => r.head.startsWith('POST')).length, 1);
  await s.close();
});

it('a fresh connection closed before any answer is an error, not a retry', async () => {
  const s = await rawServer(() => ({ bytes: '', close: true }));
  await assert.rejects(exchange(plain(), s.url('/v1/x'), 'POST', Buffer.from('{}')), (e) => e.code === 'ECONNRESET');
  assert.equal(s.requests.length, 1, 'sent once');
  await s.close();
});

it('chunked encoding beside a Content-Length: the chunks count, and the connection is not reused', async () => {
  const s = await rawServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
  const res = await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(res.body.toString(), '{}');
  await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(s.connections, 2);
  await s.close();
});

it('conflicting Content-Length headers are refused', async () => {
  const s = await rawServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}');
  await assert.rejects(exchange(plain(), s.url('/v1/x'), 'GET'), (e) => e.code === 'HPE_UNEXPECTED_CONTENT_LENGTH');
  await s.close();
});

it('an answer over the cap is refused, declared or streamed', async () => {
  const declared = await rawServer(() => ok('x'.repeat(100)));
  await assert.rejects(exchange(plain({ body_cap: 10 }), declared.url('/v1/x'), 'GET'), (e) => e.code === 'TOO_LARGE' && e.cap === 10);
  await declared.close();
  const streamed = await rawServer(() => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n');
  await assert.rejects(exchange(plain({ body_cap: 10 }), streamed.url('/v1/x'), 'GET'), (e) => e.code === 'TOO_LARGE');
  await streamed.close();
});

it('a header value with a line break is refused before anything is sent', async () => {
  const s = await rawServer(() => ok('{}'));
  const req = plain({ headers: [['X-Vault-Namespace', 'team\r\nX-Injected: 1']] });
  await assert.rejects(exchange(req, s.url('/v1/x'), 'GET'), (e) => e.code === 'ERR_INVALID_CHAR');
  assert.equal(s.connections, 0);
  await s.close();
});

it('a header value a latin1 head cannot carry, or a control character, is refused', async () => {
  const s = await rawServer(() => ok('{}'));
  for (const value of ['team\u0100', 'team\u0007', 'team\u007f']) {
    const req = plain({ headers: [['X-Vault-Namespace', value]] });
    await assert.rejects(exchange(req, s.url('/v1/x'), 'GET'), (e) => e.code === 'ERR_INVALID_CHAR', JSON.stringify(value));
  }
  // A tab and obs-text pass, as Node's http lets them.
  await exchange(plain({ headers: [['X-Note', 'a\tb\u00e9']] }), s.url('/v1/x'), 'GET');
  assert.equal(s.connections, 1);
  assert.match(s.requests[0].head, /\r\nX-Note: a\tb\xe9$/);
  await s.close();
});

it('something other than HTTP is an error', async () => {
  const s = await rawServer(() => ({ bytes: 'SSH-2.0-OpenSSH_9.6\r\n\r\n', close: true }));
  await assert.rejects(exchange(plain(), s.url('/v1/x'), 'GET'), (e) => e.code === 'HPE_INVALID_CONSTANT');
  await s.close();
});

it('repeated headers: the first Location wins, others are joined', async () => {
  const s = await rawServer(() => 'HTTP/1.1 307 Temporary Redirect\r\nLocation: /a\r\nLocation: /b\r\nVary: x\r\nVary: y\r\nContent-Length: 0\r\n\r\n');
  const res = await exchange(plain(), s.url('/v1/x'), 'GET');
  assert.equal(res.status, 307);
  assert.deepEqual(res.headers.find(([k]) => k === 'location'), ['location', '/a']);
  assert.deepEqual(res.headers.find(([k]) => k === 'vary'), ['vary', 'x, y']);
  await s.close();
});

it('an IPv6 host is sent in brackets', async () => {
  const v6 = net.createServer((socket) => socket.once('data', (d) => {
    opened.push(socket);
    v6.seen = d.toString('latin1');
    socket.end(ok('{}'));
  }));
  opened.push(v6);
  const listening = await new Promise((r) => {
    v6.once('error', () => r(false));
    v6.listen(0, '::1', () => r(true));
  });
  if (!listening) return; // no IPv6 loopback on this machine
  await exchange(plain(), new URL(`http://[::1]:${v6.address().port}/v1/x`), 'GET');
  assert.match(v6.seen, new RegExp(`\\r\\nHost: \\[::1\\]:${v6.address().port}\\r\\n`));
  closeConnections();
  v6.close();
});
