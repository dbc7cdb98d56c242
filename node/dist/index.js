'use strict';
// The Node driver of vault-k8s-handshake: loads the handshake's state machine (the Rust core,
// compiled to WebAssembly with no imports), then performs each effect it asks for with Node's
// built-ins and hands the result back. Every decision (what to send, what an answer means,
// retries, rollback, revoke, what is printed and masked) is the core's; this file does I/O only.
//
// The protocol is JSON through the module's memory (node/core/src/lib.rs): `vkh_start` takes the
// environment and the machine's random seed, `vkh_resume` takes the replies to the last step's
// effects and the clock and answers a step: log lines to write, then the next effects (performed
// at once, answered in order) or the exit code. `vkh_cancel` asks the machine to stop for a
// signal. The probe and the GitHub calls are in probe.js and github.js.

const fs = require('node:fs');
const path = require('node:path');

// The network modules load on first use: TLS and crypto alone cost ~10 ms of start-up, which a
// run against a plain-http loopback Vault (tests, the demo) never needs.
const lazy = (name) => {
  let loaded;
  return () => (loaded ??= require(name));
};
const netModule = lazy('node:net');
const tlsModule = lazy('node:tls');
const net = {
  isIP: (h) => netModule().isIP(h),
  isIPv4: (h) => netModule().isIPv4(h),
  isIPv6: (h) => netModule().isIPv6(h),
  connect: (o) => netModule().connect(o),
};

/**
 * What an effect in flight is given to be stopped by: a timeout, or a cancel from the runner.
 * The part of AbortController the driver uses, without loading Node's EventTarget-based one
 * (about a quarter of a millisecond of start-up, and an object per step).
 */
class Abort {
  constructor() {
    this.aborted = false;
    this.listeners = [];
  }

  addEventListener(_type, listener) {
    this.listeners.push(listener);
  }

  removeEventListener(_type, listener) {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  abort() {
    if (this.aborted) return;
    this.aborted = true;
    for (const listener of this.listeners.splice(0)) listener();
  }
}

/** The most a file read on the user's behalf may hold (source.rs MAX_FILE_BYTES). */
const MAX_FILE_BYTES = 1024 * 1024;

// What most runs never do lives in files of its own, loaded on first use: V8 reads and
// pre-parses every function of a file it loads, at every start.
const probeModule = lazy('./probe.js');
const githubModule = lazy('./github.js');

// ---------------------------------------------------------------------------------------------
// The core, through its JSON ABI.

class Core {
  constructor(module) {
    this.exports = new WebAssembly.Instance(module, {}).exports;
  }

  call(name, text, ...more) {
    const e = this.exports;
    const bytes = Buffer.from(text, 'utf8');
    const ptr = e.vkh_alloc(bytes.length);
    new Uint8Array(e.memory.buffer, ptr, bytes.length).set(bytes);
    const status = e[name](ptr, bytes.length, ...more);
    e.vkh_free(ptr, bytes.length);
    return status;
  }

  output() {
    const e = this.exports;
    const ptr = e.vkh_output_ptr();
    const len = e.vkh_output_len();
    return Buffer.from(new Uint8Array(e.memory.buffer, ptr, len)).toString('utf8');
  }

  start(doc) {
    if (this.call('vkh_start', JSON.stringify(doc)) !== 0) throw new Error(this.output());
    return JSON.parse(this.output());
  }

  /** Hands the machine replies and the clock (ms since the run began) and returns its step. */
  resume(replies, nowMs) {
    if (this.call('vkh_resume', JSON.stringify(replies), nowMs) !== 0) throw new Error(this.output());
    return JSON.parse(this.output());
  }

  cancel(signal) {
    return this.call('vkh_cancel', signal) === 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY as curl and reqwest read them.

function envVar(name) {
  const v = process.env[name] ?? process.env[name.toLowerCase()];
  return v && v.trim() !== '' ? v.trim() : undefined;
}

function ipv4ToInt(ip) {
  return ip.split('.').reduce((a, p) => (a << 8) + Number(p), 0) >>> 0;
}

/** True when NO_PROXY exempts this host. */
function noProxy(host) {
  const list = envVar('NO_PROXY');
  if (!list) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).some((entry) => {
    if (entry === '*') return true;
    // As the native client reads it: an entry with a port matches nothing.
    if (/^[^:]*:\d+$/.test(entry) || /^\[.*\]:\d+$/.test(entry)) return false;
    const name = entry.replace(/^\[|\]$/g, '');
    if (name.includes('/') && net.isIPv4(h)) {
      const [base, bits] = name.split('/');
      if (!net.isIPv4(base)) return false;
      const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
      return (ipv4ToInt(base) & mask) === (ipv4ToInt(h) & mask);
    }
    if (net.isIP(name) || net.isIP(h)) return name === h;
    const bare = name.replace(/^\*?\./, '');
    return h === bare || h.endsWith('.' + bare);
  });
}

/** The proxy URL for a target URL, or undefined. */
function proxyFor(url) {
  if (noProxy(url.hostname)) return undefined;
  const value = url.protocol === 'https:' ? envVar('HTTPS_PROXY') : envVar('HTTP_PROXY');
  if (!value) return undefined;
  try {
    return new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    return undefined;
  }
}

function proxyAuthorization(proxy) {
  if (!proxy.username) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

/** A socket to the proxy (plain, or TLS for an https proxy). */
function connectProxy(proxy, secureContext) {
  const port = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80);
  const host = proxy.hostname.replace(/^\[|\]$/g, '');
  if (proxy.protocol === 'https:') {
    return tlsModule().connect({ host, port, servername: net.isIP(host) ? undefined : host, secureContext });
  }
  return net.connect({ host, port });
}

/** A CONNECT tunnel to host:port through the proxy; resolves to the raw socket. */
function tunnel(proxy, host, port, secureContext, signal) {
  return new Promise((resolve, reject) => {
    const socket = connectProxy(proxy, secureContext);
    const target = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    const auth = proxyAuthorization(proxy);
    let head = `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n`;
    if (auth) head += `Proxy-Authorization: ${auth}\r\n`;
    head += '\r\n';
    const ready = proxy.protocol === 'https:' ? 'secureConnect' : 'connect';
    socket.once(ready, () => socket.write(head));
    let buffered = Buffer.alloc(0);
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > 16384) fail(new Error('the proxy answered no HTTP header'));
        return;
      }
      socket.removeListener('data', onData);
      const status = Number((buffered.toString('latin1').match(/^HTTP\/\d(?:\.\d)? (\d{3})/) || [])[1]);
      if (status !== 200) {
        socket.destroy();
        const err = new Error(`the proxy refused the tunnel: HTTP ${status || '?'}`);
        err.code = 'PROXY_REFUSED';
        err.status = status;
        reject(err);
        return;
      }
      resolve(socket);
    };
    const fail = (e) => {
      socket.destroy();
      reject(e);
    };
    socket.on('data', onData);
    socket.once('error', (e) => {
      const err = new Error(`the proxy could not be reached: ${e.code || e.message}`);
      err.code = 'PROXY_UNREACHABLE';
      fail(err);
    });
    if (signal) signal.addEventListener('abort', () => fail(new Error('aborted')));
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP: a small HTTP/1.1 client over `net` and `tls`. Loading Node's `http` module and the first
// pass through its code cost more than all of a run's exchanges with a nearby Vault, and a run
// sends a handful of small requests: one at a time per connection, bodies framed by
// Content-Length or chunked encoding, connections kept alive per origin and trust.

const CERT_REASONS = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-issuer',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-issuer',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown-issuer',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown-issuer',
  CERT_UNTRUSTED: 'unknown-issuer',
  CERT_SIGNATURE_FAILURE: 'bad-signature',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'not-valid-for-name',
  INVALID_PURPOSE: 'wrong-purpose',
};

/** The SANs of a peer certificate, as names (`DNS:a, IP Address:1.2.3.4` -> `a`, `1.2.3.4`). */
function sanNames(cert) {
  if (!cert || !cert.subjectaltname) return [];
  return cert.subjectaltname.split(', ').map((s) => s.replace(/^(DNS|IP Address):/, ''));
}

/** The key of a request's trust: public roots or not, and the extra PEMs. */
function trustKey(req) {
  return `${req.public_roots ? 'public' : 'only'}\u0000${(req.extra_ca_pems || []).join('\u0000')}`;
}

const contexts = new Map();

/**
 * The TLS context of a request's trust, made once per run: Node's bundled roots (when public
 * roots are trusted) plus the request's PEMs. Building one parses every root, so it is shared.
 */
function secureContextFor(req) {
  const key = trustKey(req);
  if (!contexts.has(key)) {
    const extra = req.extra_ca_pems || [];
    const ca = req.public_roots ? [...tlsModule().rootCertificates, ...extra] : extra;
    contexts.set(key, tlsModule().createSecureContext({ ca }));
  }
  return contexts.get(key);
}

function sameOrigin(a, b) {
  const port = (u) => Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
  return a.protocol === b.protocol && a.hostname.toLowerCase() === b.hostname.toLowerCase() && port(a) === port(b);
}

/**
 * The TLS alert an error reports, named as rustls names it: from the code
 * (`ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION`) or OpenSSL's text in an `EPROTO` message
 * (`tlsv1 alert protocol version`) -> `ProtocolVersion`.
 */
function alertName(code, message) {
  const m = code.match(/_ALERT_([A-Z_]+)$/) || (message || '').match(/(?:sslv3|tlsv1) alert ([a-z ]+?)(?::|$)/);
  if (!m) return undefined;
  return m[1].toLowerCase().split(/[_ ]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** An error whose peer answered something other than TLS (plain http on an https port). */
function notTls(code, message) {
  return /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER/.test(code)
    || /wrong version number|packet length too long|http request/.test(message || '');
}

/** What kept an answer from arriving, as the core's `TransportKind`. */
function transportReason(e) {
  const code = (e && e.code) || '';
  const message = (e && e.message) || '';
  if (code === 'PROXY_REFUSED') return e.status === 407 ? 'proxy-auth-required' : 'proxy-refused';
  if (code === 'PROXY_UNREACHABLE') return 'proxy-unreachable';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'name-not-resolved';
  if (notTls(code, message)) return { tls: { 'not-tls': { first_bytes: [] } } };
  const alert = alertName(code, message);
  if (alert) return { tls: { alert } };
  if (/before secure TLS connection was established/.test(message)) return { tls: 'closed-by-server' };
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(message)) return 'reset';
  return 'other';
}

function httpFailure(e, timedOut) {
  if (timedOut) return { kind: 'timeout' };
  if (e && e.code === 'TOO_LARGE') return { kind: 'too-large', cap: e.cap };
  const reason = e && CERT_REASONS[e.code];
  if (reason) {
    return { kind: 'certificate', reason, presented: sanNames(e.cert) };
  }
  if (e && (e.code === 'ETIMEDOUT')) return { kind: 'timeout' };
  const detail = e ? [e.code, e.message].filter(Boolean).join(': ') : 'no answer';
  return { kind: 'transport', detail, reason: transportReason(e) };
}

/** The most a response head may hold (Vault's and GitHub's are a few KiB). */
const MAX_HEAD_BYTES = 64 * 1024;

function httpError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

/** An answer over the request's body cap (`httpFailure` reports it as `too-large`). */
function tooLarge(cap) {
  const err = httpError('TOO_LARGE', 'too large');
  err.cap = cap;
  return err;
}

/**
 * Methods and header names are RFC 9110 tokens; a header value is tabs, visible ASCII, spaces
 * and obs-text (what Node's `http` accepts): no CR or LF (no header injection), no control
 * character, nothing the head's latin1 encoding would change.
 */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** The request head: request line, Host, the request's headers, the body's length. */
function requestHead(method, target, hostHeader, headers, body, close) {
  if (!TOKEN.test(method)) throw httpError('ERR_INVALID_HTTP_TOKEN', 'invalid HTTP method');
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || BAD_VALUE.test(String(value))) {
      throw httpError('ERR_INVALID_CHAR', `invalid character in the header ${JSON.stringify(name)}`);
    }
    head += `${name}: ${value}\r\n`;
  }
  if (body) head += `Content-Length: ${body.length}\r\n`;
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') head += 'Content-Length: 0\r\n';
  if (close) head += 'Connection: close\r\n';
  return head + '\r\n';
}

/** Headers whose repeats are dropped (the first wins), as Node's parser treats them. */
const SINGLE = new Set(['content-type', 'content-length', 'location', 'retry-after', 'content-disposition', 'transfer-encoding']);

/** A response head's status and headers (names lower-cased, repeats joined with `, `). */
function parseHead(text) {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!m) throw httpError('HPE_INVALID_CONSTANT', 'the server answered something other than HTTP/1.x');
  const headers = new Map();
  const lengths = new Set();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
      throw httpError('HPE_INVALID_HEADER_TOKEN', 'the server sent a malformed header line');
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') lengths.add(value);
    if (!headers.has(name)) headers.set(name, value);
    else if (!SINGLE.has(name)) headers.set(name, `${headers.get(name)}, ${value}`);
  }
  if (lengths.size > 1) throw httpError('HPE_UNEXPECTED_CONTENT_LENGTH', 'the server sent conflicting Content-Length headers');
  return { minor: Number(m[1]), status: Number(m[2]), headers };
}

/**
 * Reads one response from a socket. `onDone(error, response, reusable)` is called once: the
 * response with its body, and whether the connection may carry another request.
 */
function readResponse(socket, method, cap, onDone) {
  let buf = Buffer.alloc(0);
  let head = null;
  let framing = null; // { kind: 'length', left } | { kind: 'chunked', left, trailer } | { kind: 'close' }
  const chunks = [];
  let size = 0;
  let received = false;
  let finished = false;

  const cleanup = () => {
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
  };
  const finish = (err, reusable) => {
    if (finished) return;
    finished = true;
    cleanup();
    if (err) {
      err.received = received;
      onDone(err);
      return;
    }
    const headers = [...head.headers.entries()];
    onDone(null, { status: head.status, headers, body: Buffer.concat(chunks) }, reusable);
  };
  const keep = (bytes) => {
    size += bytes.length;
    if (size > cap) {
      finish(tooLarge(cap));
      return false;
    }
    chunks.push(bytes);
    return true;
  };
  // Kept for another request only when nothing about the framing is in doubt: HTTP/1.1, not
  // `Connection: close`, not both Transfer-Encoding and Content-Length, nothing left over.
  const reusable = () => head.minor === 1
    && !/(^|,)\s*close\s*($|,)/i.test(head.headers.get('connection') || '')
    && !(head.headers.has('transfer-encoding') && head.headers.has('content-length'))
    && buf.length === 0;

  // Consumes what `buf` holds; returns when it needs more bytes or the response is complete.
  const advance = () => {
    for (;;) {
      if (finished) return;
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) finish(httpError('HPE_HEADER_OVERFLOW', 'the response head is too large'));
          return;
        }
        const parsed = parseHead(buf.subarray(0, end).toString('latin1'));
        buf = buf.subarray(end + 4);
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        if (parsed.status >= 100 && parsed.status < 200) continue;
        head = parsed;
        const te = (head.headers.get('transfer-encoding') || '').toLowerCase();
        const declared = head.headers.get('content-length');
        if (method === 'HEAD' || head.status === 204 || head.status === 304) {
          framing = { kind: 'length', left: 0 };
        } else if (te) {
          if (!/(^|,)\s*chunked\s*$/.test(te)) {
            framing = { kind: 'close' };
          } else {
            framing = { kind: 'chunked', left: -1, trailer: false };
          }
        } else if (declared !== undefined) {
          if (!/^\d+$/.test(declared)) throw httpError('HPE_INVALID_CONTENT_LENGTH', 'the server sent an invalid Content-Length');
          const n = Number(declared);
          if (n > cap) {
            finish(tooLarge(cap));
            return;
          }
          framing = { kind: 'length', left: n };
        } else {
          framing = { kind: 'close' };
        }
        continue;
      }
      if (framing.kind === 'length') {
        const take = Math.min(framing.left, buf.length);
        if (take > 0 && !keep(buf.subarray(0, take))) return;
        buf = buf.subarray(take);
        framing.left -= take;
        if (framing.left === 0) finish(null, reusable());
        return;
      }
      if (framing.kind === 'close') {
        if (buf.length && !keep(buf)) return;
        buf = Buffer.alloc(0);
        return;
      }
      // Chunked: a size line, its data and CRLF, ..., a zero size, trailers, an empty line.
      if (framing.trailer) {
        const end = buf.indexOf('\r\n');
        if (end < 0) return;
        const line = buf.subarray(0, end);
        buf = buf.subarray(end + 2);
        if (line.length === 0) {
          finish(null, reusable());
          return;
        }
        continue;
      }
      if (framing.left < 0) {
        const end = buf.indexOf('\r\n');
        if (end < 0) {
          if (buf.length > 4096) finish(httpError('HPE_INVALID_CHUNK_SIZE', 'the server sent an invalid chunk size'));
          return;
        }
        const line = buf.subarray(0, end).toString('latin1').split(';')[0].trim();
        if (!/^[0-9a-fA-F]{1,15}$/.test(line)) throw httpError('HPE_INVALID_CHUNK_SIZE', 'the server sent an invalid chunk size');
        buf = buf.subarray(end + 2);
        framing.left = parseInt(line, 16);
        if (framing.left === 0) framing.trailer = true;
        continue;
      }
      // A chunk's data, then the CRLF that ends it.
      if (framing.left > 0) {
        const take = Math.min(framing.left, buf.length);
        if (take > 0 && !keep(buf.subarray(0, take))) return;
        buf = buf.subarray(take);
        framing.left -= take;
        if (framing.left > 0) return;
        framing.crlf = true;
      }
      if (framing.crlf) {
        if (buf.length < 2) return;
        if (buf[0] !== 13 || buf[1] !== 10) throw httpError('HPE_STRICT', 'the server sent a malformed chunk');
        buf = buf.subarray(2);
        framing.crlf = false;
        framing.left = -1;
      }
    }
  };
  function onData(data) {
    received = true;
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    try {
      advance();
    } catch (e) {
      finish(e);
    }
  }
  // `close` comes after `end` and after any `error` (a TLS handshake the server ended reports
  // why in its error), so it alone decides what an ended connection meant.
  function onClose() {
    if (finished) return;
    if (head && framing && framing.kind === 'close') {
      finish(null, false);
      return;
    }
    finish(httpError('ECONNRESET', 'socket hang up'));
  }
  function onError(e) {
    finish(e);
  }
  // An error after the answer (a reset while the socket closes) is no one's to report.
  if (!socket.vkhQuiet) {
    socket.vkhQuiet = true;
    socket.on('error', () => {});
  }
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
}

/** Idle kept-alive connections, by origin and trust. */
const idle = new Map();

function poolKey(isHttps, host, port, req) {
  return `${isHttps ? `https\u0000${trustKey(req)}` : 'http'}\u0000${host}\u0000${port}`;
}

function takeIdle(key) {
  const list = idle.get(key);
  while (list && list.length) {
    const socket = list.pop();
    socket.removeListener('error', socket.vkhIdleError);
    socket.removeListener('close', socket.vkhIdleClose);
    if (!socket.destroyed && socket.readable && socket.writable) {
      socket.ref();
      return socket;
    }
    socket.destroy();
  }
  return undefined;
}

function putIdle(key, socket) {
  const list = idle.get(key) || [];
  idle.set(key, list);
  // A connection the server closes while it sits idle leaves the pool.
  socket.vkhIdleError = () => socket.destroy();
  socket.vkhIdleClose = () => {
    const i = list.indexOf(socket);
    if (i >= 0) list.splice(i, 1);
  };
  socket.on('error', socket.vkhIdleError);
  socket.on('close', socket.vkhIdleClose);
  socket.unref();
  list.push(socket);
}

/**
 * Closes the idle connections to `host:port` kept under another key (another trust): a server
 * that serves one connection at a time, as a single-threaded HTTP/1.1 server does, takes a new
 * connection only once the last one is closed.
 */
function closeOtherIdle(key, host, port) {
  const server = `\u0000${host}\u0000${port}`;
  for (const [k, list] of idle) {
    if (k !== key && k.endsWith(server)) for (const socket of list.splice(0)) socket.destroy();
  }
}

/** Closes the kept-alive connections, so the process ends with the run. */
function closeConnections() {
  for (const list of idle.values()) for (const socket of list.splice(0)) socket.destroy();
}

/**
 * TLS to `host`, verified with the request's trust: over `via` (`{ host, port }` to dial, or
 * `{ socket }`, a proxy's tunnel).
 */
function tlsTo(host, req, via) {
  return tlsModule().connect({
    ...via,
    servername: net.isIP(host) ? undefined : host,
    secureContext: secureContextFor(req),
    rejectUnauthorized: true,
  });
}

/** A fresh connection to host:port, TLS-verified with the request's trust for https. */
function dial(isHttps, host, port, req) {
  return isHttps ? tlsTo(host, req, { host, port }) : net.connect({ host, port });
}

/** Sends one request on a socket and reads its answer; `onDone` as in `readResponse`. */
function send(socket, head, body, method, cap, onDone) {
  readResponse(socket, method, cap, onDone);
  socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head, 'latin1');
}

/** One exchange (no redirects): resolves {status, headers, body} or rejects with an error. */
function exchange(req, url, method, body, signal) {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port) || (isHttps ? 443 : 80);
    const proxy = req.use_proxy ? proxyFor(url) : undefined;
    const cap = req.body_cap;
    let socket;
    let settled = false;
    const settle = (fn, v) => {
      if (settled) return;
      settled = true;
      if (signal) signal.removeEventListener('abort', onAbort);
      fn(v);
    };
    const onAbort = () => {
      if (socket) socket.destroy();
      settle(reject, new Error('aborted'));
    };
    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);
    }
    let head;
    try {
      const target = proxy && !isHttps ? url.href : url.pathname + url.search;
      const headers = [...(req.headers || [])];
      if (proxy && !isHttps) {
        const auth = proxyAuthorization(proxy);
        if (auth) headers.push(['Proxy-Authorization', auth]);
      }
      // `url.host`: the port only when it is not the scheme's default, an IPv6 address in brackets.
      head = requestHead(method, target, url.host, headers, body, Boolean(proxy));
    } catch (e) {
      return settle(reject, e);
    }
    if (proxy) {
      // Through a proxy: a connection of its own for this request, closed after it.
      const connected = isHttps
        ? tunnel(proxy, host, port, secureContextFor(req), signal).then((raw) => tlsTo(host, req, { socket: raw }))
        : Promise.resolve(connectProxy(proxy, secureContextFor(req)));
      connected.then((s) => {
        socket = s;
        if (settled) return socket.destroy();
        send(socket, head, body, method, cap, (err, res) => {
          socket.destroy();
          if (err) settle(reject, err);
          else settle(resolve, res);
        });
      }, (e) => settle(reject, e));
      return;
    }
    const key = poolKey(isHttps, host, port, req);
    // A request that must not reach Vault twice (a login mints a token, a revoke or a write
    // acts) is never sent again once written, as Go's and hyper's clients hold.
    const replayable = method !== 'POST' && method !== 'PATCH';
    const attempt = (reused) => {
      if (!reused) closeOtherIdle(key, host, port);
      socket = reused || dial(isHttps, host, port, req);
      const mine = socket;
      send(mine, head, body, method, cap, (err, res, reusable) => {
        if (err) {
          mine.destroy();
          // A kept-alive connection the server closed while it sat idle fails before any
          // answer: a replayable request is sent once more on a fresh connection (as Node's
          // agent does for a pooled connection).
          if (reused && replayable && !err.received && ['ECONNRESET', 'EPIPE'].includes(err.code) && !settled) {
            attempt(undefined);
            return;
          }
          settle(reject, err);
          return;
        }
        if (reusable && !settled) putIdle(key, mine);
        else mine.destroy();
        settle(resolve, res);
      });
    };
    const idleSocket = takeIdle(key);
    if (idleSocket && !replayable) {
      // Before a request that cannot be sent twice, let the event loop read what the idle
      // connection holds: a close the server sent while it sat idle is seen now, and the
      // request goes on a fresh connection instead of a closing one.
      setImmediate(() => {
        if (settled) return idleSocket.destroy();
        if (idleSocket.destroyed || !idleSocket.readable || !idleSocket.writable) {
          idleSocket.destroy();
          attempt(undefined);
        } else {
          attempt(idleSocket);
        }
      });
    } else {
      attempt(idleSocket);
    }
  });
}

/** The `http` effect: redirects per policy, body cap, timeouts. */
async function httpEffect(req, signal) {
  const controller = new Abort();
  const stop = () => controller.abort();
  if (signal) signal.addEventListener('abort', stop);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, req.timeout_ms);
  try {
    const first = new URL(req.url);
    let url = first;
    let method = req.method;
    let body = req.body ? Buffer.from(req.body, 'base64') : undefined;
    for (let hop = 0; ; hop++) {
      const res = await exchange(req, url, method, body, controller);
      const location = res.headers.find(([k]) => k === 'location');
      if (req.redirects === 'same-origin' && res.status >= 300 && res.status < 400 && location) {
        let next;
        try {
          next = new URL(location[1], url);
        } catch {
          next = undefined;
        }
        if (next && sameOrigin(next, first)) {
          if (hop >= 3) return { err: { kind: 'transport', detail: 'too many redirects' } };
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
          }
          url = next;
          continue;
        }
      }
      const headers = res.headers.filter(([k]) => ['location', 'retry-after', 'content-type', 'content-disposition'].includes(k));
      return { ok: { status: res.status, headers, body: res.body.toString('base64') } };
    }
  } catch (e) {
    return { err: httpFailure(e, timedOut) };
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', stop);
  }
}

// ---------------------------------------------------------------------------------------------
// Files, under the same rules as the native driver (src/source.rs): regular files only, at most
// 1 MiB, in a runner only under the workspace or temp folder, judged on the opened descriptor.

function ioFailure(e) {
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { kind: 'not-found' };
  const words = { EACCES: 'permission denied', EPERM: 'permission denied', ELOOP: 'too many levels of symbolic links' };
  return { kind: 'io', detail: words[e.code] || String(e.code || e.message).toLowerCase() };
}

function notRegular(st) {
  return { kind: 'not-regular', what: st.isDirectory() ? 'a directory' : 'a pipe, socket or device' };
}

function within(resolved, root) {
  return resolved === root || resolved.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function readFileEffect(file, roots) {
  let st;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return { err: ioFailure(e) };
  }
  if (!st.isFile()) return { err: notRegular(st) };
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK || 0));
  } catch (e) {
    return { err: ioFailure(e) };
  }
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) return { err: notRegular(opened) };
    let resolved;
    try {
      resolved = fs.realpathSync(file);
    } catch (e) {
      if (roots) return { err: ioFailure(e) };
    }
    if (resolved) {
      if (/^\/(proc|sys|dev)(\/|$)/.test(resolved)) {
        return { err: { kind: 'not-regular', what: 'a kernel or device file' } };
      }
      if (roots && !roots.some((r) => within(resolved, r))) {
        return { err: { kind: 'outside-roots', resolved, roots } };
      }
      const at = fs.statSync(resolved);
      if (at.dev !== opened.dev || at.ino !== opened.ino) return { err: { kind: 'swapped' } };
    }
    if (opened.size > MAX_FILE_BYTES) return { err: { kind: 'too-large', size: opened.size, max: MAX_FILE_BYTES } };
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, size, buffer.length - size, null);
      if (n === 0) break;
      size += n;
      if (size > MAX_FILE_BYTES) return { err: { kind: 'too-large', size, max: MAX_FILE_BYTES } };
    }
    return { ok: buffer.subarray(0, size).toString('base64') };
  } finally {
    fs.closeSync(fd);
  }
}

function fileDone(fn) {
  try {
    fn();
    return { done: {} };
  } catch (e) {
    return { done: { error: e.message } };
  }
}

// ---------------------------------------------------------------------------------------------
// The loop.

// A reply (wire.rs `Reply`) is an object with one key, the reply's name:
// `{ http: { ok: ... } }`. A step's effects are performed at once and answered in their order.
async function perform(effect, ctx, signal) {
  switch (effect.kind) {
    case 'http':
      return { http: await httpEffect(effect, signal) };
    case 'probe':
      return probeModule().probeEffect(effect, signal, {
        tls: tlsModule(),
        isIP: net.isIP,
        CERT_REASONS,
        notTls,
        alertName,
      });
    case 'github':
      return { github: await githubModule().githubEffect(effect, signal, httpEffect) };
    case 'read-file':
      return { file: readFileEffect(effect.path, ctx.roots) };
    case 'remove-file':
      return fileDone(() => fs.unlinkSync(effect.path));
    case 'append-file':
      return fileDone(() => fs.appendFileSync(effect.path, effect.text));
    case 'write-file':
      return fileDone(() => fs.writeFileSync(effect.path, effect.text));
    case 'sleep':
      await new Promise((r) => {
        const t = setTimeout(r, effect.ms);
        if (signal) signal.addEventListener('abort', () => { clearTimeout(t); r(); });
      });
      return { done: {} };
    default:
      throw new Error(`unknown effect ${effect.kind}`);
  }
}

/**
 * Random bytes from the system: the kernel's pool where there is one (a read costs nothing,
 * where loading Node's crypto costs milliseconds), else Node's CSPRNG.
 */
function randomBytes(len) {
  const buffer = Buffer.alloc(len);
  try {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      let got = 0;
      while (got < len) got += fs.readSync(fd, buffer, got, len - got, null);
    } finally {
      fs.closeSync(fd);
    }
    return buffer;
  } catch {
    return require('node:crypto').randomBytes(len);
  }
}

// Output goes straight to file descriptors 1 and 2: building `process.stdout` for a pipe costs
// more than a whole exchange with Vault, and a synchronous write keeps stdout and stderr in the
// order the core wrote them. A descriptor someone made non-blocking can answer EAGAIN; from then
// on the streams, which wait for the pipe to drain, carry everything, in order.
let viaStreams = false;

function writeOut(fd, text) {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  if (!viaStreams) {
    try {
      while (written < bytes.length) written += fs.writeSync(fd, bytes, written);
      return;
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      viaStreams = true;
    }
  }
  (fd === 2 ? process.stderr : process.stdout).write(bytes.subarray(written));
}

/**
 * A monotonic clock in whole milliseconds. Not `performance.now()`: the `performance` global
 * loads Node's whole perf_hooks machinery on first use, about a millisecond of start-up.
 */
function monotonicMs() {
  return Number(process.hrtime.bigint() / 1000000n);
}

/** Writes a step's lines, in order: each run of lines to the same stream in one write. */
function writeLines(lines) {
  let i = 0;
  while (i < lines.length) {
    const stream = lines[i].stream;
    let text = '';
    for (; i < lines.length && lines[i].stream === stream; i++) text += lines[i].text + '\n';
    writeOut(stream === 'stderr' ? 2 : 1, text);
  }
}

function readEventPayload() {
  const file = envVar('GITHUB_EVENT_PATH');
  if (!file) return null;
  const read = readFileEffect(file, null);
  return read.ok ? Buffer.from(read.ok, 'base64').toString('utf8') : null;
}

/**
 * Compiles the core off the main thread while the start-up below runs on it. A pending compile
 * holds no handle on the event loop: without the timer, Node would find nothing left to do and
 * exit before the core ever ran.
 */
function compileCore() {
  const compiling = WebAssembly.compile(fs.readFileSync(path.join(__dirname, 'core.wasm')));
  const keepAlive = setInterval(() => {}, 1 << 30);
  const done = () => clearInterval(keepAlive);
  compiling.then(done, done);
  return compiling;
}

async function main() {
  const started = monotonicMs();
  const compiling = compileCore();
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') env[k] = v;
  const doc = {
    env,
    now: Math.floor(Date.now() / 1000),
    // `tty` loads `net`, which the first request needs anyway.
    tty: require('node:tty').isatty(1),
    // A runner names its temp folder; only elsewhere is Node's `os` module (~0.2 ms) loaded.
    temp: process.env.RUNNER_TEMP || require('node:os').tmpdir(),
    event_payload: readEventPayload(),
    // The machine's seed (SEED_BYTES in the core): output delimiters and backoff jitter.
    random: randomBytes(24).toString('base64'),
  };
  // Node sets up its socket machinery on the first socket made, about a millisecond of work;
  // done while the core compiles, it no longer delays the first request.
  new (netModule().Socket)();
  const core = new Core(await compiling);
  const begun = core.start(doc);
  const roots = begun.file_roots
    ? begun.file_roots.flatMap((r) => {
      try {
        return [fs.realpathSync(r)];
      } catch {
        return [];
      }
    })
    : null;
  const ctx = { roots };
  let abandon = null;
  const onSignal = (name) => {
    if (core.cancel(name) && abandon) abandon();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  let replies = [];
  for (;;) {
    const step = core.resume(replies, monotonicMs() - started);
    writeLines(step.lines);
    if (step.next.kind === 'exit') return step.next.code;
    const controller = new Abort();
    const abandoned = new Promise((resolve) => {
      abandon = () => {
        controller.abort();
        resolve([]);
      };
    });
    const performed = Promise.all(step.next.effects.map((effect) => perform(effect, ctx, controller)));
    replies = await Promise.race([performed, abandoned]);
    abandon = null;
  }
}

/** Says the driver failed, without quoting data (an error's text may hold a secret). */
function internalError(e, what) {
  const where = e && e.stack ? e.stack.split('\n')[1] || '' : '';
  process.exitCode = 4;
  try {
    writeOut(1, `::error title=vault-k8s-handshake: internal error (please report)::the Node driver ${what}${where ? ` at ${where.trim()}` : ''}\n`);
  } catch {
    // stdout is gone: the exit code still tells.
  }
}

if (require.main === module) {
  let finished = false;
  main().then(
    (code) => {
      finished = true;
      // Everything is written (files and output synchronously), so the process ends now rather
      // than tearing down Node's environment first; the kernel closes the kept-alive
      // connections (closing them here would cost a millisecond: Node builds `process.stderr`
      // when a socket is destroyed). Output that went through the streams may still be queued
      // on some platforms: then Node ends when they drain, the connections closed first.
      if (viaStreams) {
        closeConnections();
        process.exitCode = code;
      } else {
        process.exit(code);
      }
    },
    (e) => {
      finished = true;
      internalError(e, 'failed');
    },
  );
  // A run that stops before the core has said how it ended is a failure, never a silent
  // success: an event no handler expected, or an event loop that ran dry while the run waited.
  process.on('uncaughtException', (e) => {
    finished = true;
    internalError(e, 'failed');
    process.exit();
  });
  process.on('exit', () => {
    if (!finished) internalError(null, 'stopped before the run ended');
  });
} else {
  // Loaded by node/test: the HTTP client, to be tested on its own.
  module.exports = { exchange, closeConnections };
}
