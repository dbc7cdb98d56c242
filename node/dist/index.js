'use strict';
// The Node driver of vault-k8s-handshake: loads the handshake's state machine (the Rust core,
// compiled to WebAssembly with no imports), then performs each effect it asks for with Node's
// built-ins and hands the result back. Every decision (what to send, what an answer means,
// retries, rollback, revoke, what is printed and masked) is the core's; this file does I/O only.
//
// The protocol is JSON through the module's memory (node/core/src/lib.rs): `vkh_start` takes the
// environment, `vkh_resume` takes a reply and answers a step: log lines to write, then the next
// effect or the exit code. `vkh_cancel` asks the machine to stop for a signal.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// The network modules load on first use: TLS and crypto alone cost ~10 ms of start-up, which a
// run against a plain-http loopback Vault (tests, the demo) never needs.
const lazy = (name) => {
  let loaded;
  return () => (loaded ??= require(name));
};
const httpModule = lazy('node:http');
const httpsModule = lazy('node:https');
const netModule = lazy('node:net');
const tlsModule = lazy('node:tls');
const net = {
  isIP: (h) => netModule().isIP(h),
  isIPv4: (h) => netModule().isIPv4(h),
  isIPv6: (h) => netModule().isIPv6(h),
  connect: (o) => netModule().connect(o),
};

/** The most a file read on the user's behalf may hold (source.rs MAX_FILE_BYTES). */
const MAX_FILE_BYTES = 1024 * 1024;
/** GitHub REST answers: a page of 100 artifacts or comments is well under it. */
const GITHUB_BODY_CAP = 8 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The core, through its JSON ABI.

class Core {
  constructor(module) {
    this.exports = new WebAssembly.Instance(module, {}).exports;
  }

  call(name, text) {
    const e = this.exports;
    const bytes = Buffer.from(text, 'utf8');
    const ptr = e.vkh_alloc(bytes.length);
    new Uint8Array(e.memory.buffer, ptr, bytes.length).set(bytes);
    const status = e[name](ptr, bytes.length);
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

  resume(reply) {
    if (this.call('vkh_resume', JSON.stringify(reply)) !== 0) throw new Error(this.output());
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
    if (signal) signal.addEventListener('abort', () => fail(new Error('aborted')), { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP.

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

/** The SANs of a peer certificate, as names (`DNS:a, IP Address:1.2.3.4` → `a`, `1.2.3.4`). */
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
 * (`tlsv1 alert protocol version`) → `ProtocolVersion`.
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

const agents = {};

/**
 * The kept-alive agent of a scheme and trust, made on first use: a pooled connection is reused
 * only by requests that trust exactly what it was verified with.
 */
function keepAlive(isHttps, req) {
  const key = isHttps ? `https\u0000${trustKey(req)}` : 'http';
  agents[key] ??= new (isHttps ? httpsModule() : httpModule()).Agent({ keepAlive: true, maxSockets: 4 });
  return agents[key];
}

/** Closes the kept-alive connections, so the process ends with the run. */
function closeAgents() {
  for (const agent of Object.values(agents)) agent.destroy();
}

/** One exchange (no redirects): resolves {status, headers, body} or rejects with an error. */
function exchange(req, url, method, body, signal) {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const lib = isHttps ? httpsModule() : httpModule();
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port) || (isHttps ? 443 : 80);
    const headers = {};
    for (const [name, value] of req.headers || []) headers[name] = value;
    if (body) headers['Content-Length'] = String(body.length);
    const options = {
      method,
      host,
      port,
      path: url.pathname + url.search,
      headers,
      agent: false,
    };
    if (isHttps) {
      options.secureContext = secureContextFor(req);
      options.servername = net.isIP(host) ? undefined : host;
      options.rejectUnauthorized = true;
    }
    const proxy = req.use_proxy ? proxyFor(url) : undefined;
    let finished = false;
    const done = (fn, v) => {
      if (!finished) {
        finished = true;
        fn(v);
      }
    };
    // Set for a kept-alive request: how to send it once more on a fresh connection.
    let retry;
    const start = (request) => {
      request.on('response', (res) => {
        const cap = req.body_cap;
        const declared = Number(res.headers['content-length']);
        const tooLarge = () => {
          const err = new Error('too large');
          err.code = 'TOO_LARGE';
          err.cap = cap;
          res.destroy();
          done(reject, err);
        };
        if (declared > cap) return tooLarge();
        const chunks = [];
        let size = 0;
        res.on('data', (c) => {
          size += c.length;
          if (size > cap) return tooLarge();
          chunks.push(c);
        });
        res.on('end', () => {
          const hs = [];
          for (const [k, v] of Object.entries(res.headers)) {
            hs.push([k, Array.isArray(v) ? v.join(', ') : String(v)]);
          }
          done(resolve, { status: res.statusCode, headers: hs, body: Buffer.concat(chunks) });
        });
        res.on('error', (e) => done(reject, e));
      });
      request.on('error', (e) => {
        // A kept-alive connection the server closed while it sat idle fails the request before
        // any answer: send it once more on a fresh connection (Node's documented remedy, as
        // hyper does for a pooled connection that closed before the request was written).
        if (retry && request.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          const again = retry;
          retry = undefined;
          again();
          return;
        }
        done(reject, e);
      });
      if (signal) signal.addEventListener('abort', () => request.destroy(new Error('aborted')), { once: true });
      if (body) request.write(body);
      request.end();
    };
    if (proxy && isHttps) {
      // An https proxy is verified with the same trust as the target.
      tunnel(proxy, host, port, secureContextFor(req), signal).then((raw) => {
        const secure = tlsModule().connect({
          socket: raw,
          servername: options.servername,
          secureContext: options.secureContext,
          rejectUnauthorized: true,
        });
        secure.once('error', (e) => done(reject, e));
        // An agent of its own whose only connection is the tunnel: `createConnection` in the
        // request options is ignored once an agent is involved, and the agent would otherwise
        // resolve and dial the target itself.
        const agent = new (httpsModule().Agent)({ keepAlive: false });
        agent.createConnection = () => secure;
        start(httpsModule().request({ ...options, agent }));
      }, (e) => done(reject, e));
    } else if (proxy) {
      const auth = proxyAuthorization(proxy);
      const proxied = {
        method,
        host: proxy.hostname.replace(/^\[|\]$/g, ''),
        port: Number(proxy.port) || 80,
        path: url.href,
        headers: { ...headers, Host: url.host, ...(auth ? { 'Proxy-Authorization': auth } : {}) },
        agent: false,
      };
      start(httpModule().request(proxied));
    } else {
      // Kept-alive connections, one pool per scheme: the agent keys its sockets by host, port
      // and TLS options (CAs, server name), so a pool never mixes trust settings.
      retry = () => start(lib.request({ ...options, agent: keepAlive(isHttps, req) }));
      start(lib.request({ ...options, agent: keepAlive(isHttps, req) }));
    }
  });
}

/** The `http` effect: redirects per policy, body cap, timeouts. */
async function httpEffect(req, signal) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  if (signal) signal.addEventListener('abort', stop, { once: true });
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
      const res = await exchange(req, url, method, body, controller.signal);
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
      const headers = res.headers.filter(([k]) => ['location', 'retry-after', 'content-type'].includes(k));
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
// The TLS probe: one connection, trusting only the cluster CA, nothing sent after the handshake.

function derToPem(der) {
  const b64 = Buffer.from(der, 'base64').toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
}

function peerChain(socket) {
  const chain = [];
  let cert = socket.getPeerCertificate(true);
  const seen = new Set();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(cert.raw.toString('base64'));
    cert = cert.issuerCertificate;
  }
  return chain;
}

function probeEffect(req, signal) {
  return new Promise((resolve) => {
    let settled = false;
    let socket;
    const finish = (report) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (socket) socket.destroy();
      resolve({ kind: 'probe', report });
    };
    const timer = setTimeout(() => finish({ kind: 'timed-out', after_ms: req.timeout_ms }), req.timeout_ms);
    if (signal) signal.addEventListener('abort', () => finish({ kind: 'unreachable', detail: 'cancelled' }), { once: true });
    let ca;
    try {
      ca = req.ca_ders.map(derToPem);
      tlsModule().createSecureContext({ ca });
    } catch (e) {
      finish({ kind: 'bad-ca', detail: `the CA certificates cannot be used to verify (${e.message})` });
      return;
    }
    const host = req.connect_host;
    socket = tlsModule().connect({
      host,
      port: req.port,
      servername: net.isIP(req.server_name) ? undefined : req.server_name,
      ca,
      // Verification is read below, so the chain can be reported when it fails.
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const chain = peerChain(socket);
      if (!socket.authorized) {
        const code = String(socket.authorizationError && (socket.authorizationError.code || socket.authorizationError));
        const reason = CERT_REASONS[code] || { other: `certificate refused: ${code}` };
        return finish({ kind: 'failed', reason, chain });
      }
      const identity = tlsModule().checkServerIdentity(req.server_name, socket.getPeerCertificate());
      if (identity) return finish({ kind: 'failed', reason: 'not-valid-for-name', chain });
      const protocol = (socket.getProtocol() || 'TLS').replace(/^TLSv/, 'TLS ');
      finish({ kind: 'verified', chain, protocol });
    });
    socket.once('error', (e) => {
      const code = e.code || '';
      if (code === 'ECONNREFUSED') return finish({ kind: 'refused' });
      if (code === 'ETIMEDOUT') return finish({ kind: 'timed-out', after_ms: req.timeout_ms });
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        return finish({ kind: 'unreachable', detail: `\`${host}\` does not resolve (${code})` });
      }
      if (code === 'ECONNRESET' || code === 'EPIPE') {
        return finish({ kind: 'unreachable', detail: `the connection was reset during the TLS handshake (${code})` });
      }
      if (notTls(code, e.message)) {
        return finish({ kind: 'failed', reason: { 'not-tls': { first_bytes: [] } }, chain: [] });
      }
      const alert = alertName(code, e.message);
      if (alert) return finish({ kind: 'failed', reason: { alert }, chain: [] });
      if (code === 'ECONNABORTED' || /socket disconnected/.test(e.message)) {
        return finish({ kind: 'failed', reason: 'closed-by-server', chain: [] });
      }
      if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
        return finish({ kind: 'unreachable', detail: e.message });
      }
      finish({ kind: 'failed', reason: { other: [code, e.message].filter(Boolean).join(': ') }, chain: [] });
    });
    socket.once('close', () => finish({ kind: 'failed', reason: 'closed-by-server', chain: [] }));
  });
}

// ---------------------------------------------------------------------------------------------
// GitHub's REST API.

async function githubEffect(request, signal) {
  const { conn, call } = request;
  const base = conn.api_url.replace(/\/+$/, '');
  const repo = `/repos/${conn.repository}`;
  const isLoopback = (u) => /^(localhost|127\.|\[::1\]|::1)/.test(new URL(u).hostname);
  const send = async (method, route, body, withToken = true) => {
    const url = route.startsWith('http') ? route : base + route;
    const headers = [
      ['Accept', 'application/vnd.github+json'],
      ['X-GitHub-Api-Version', '2022-11-28'],
      ['User-Agent', 'vault-k8s-handshake'],
    ];
    if (withToken) headers.push(['Authorization', `Bearer ${conn.token}`]);
    if (body !== undefined) headers.push(['Content-Type', 'application/json']);
    const answer = await httpEffect({
      method,
      url,
      headers,
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)).toString('base64'),
      timeout_ms: conn.timeout_ms,
      connect_timeout_ms: conn.timeout_ms,
      public_roots: true,
      extra_ca_pems: conn.extra_ca_pems,
      redirects: 'none',
      use_proxy: !isLoopback(url),
      body_cap: GITHUB_BODY_CAP,
    }, signal);
    if (answer.err) {
      const detail = answer.err.kind === 'timeout' ? 'timed out' : 'no answer';
      throw { kind: 'transport', detail };
    }
    const res = answer.ok;
    res.bytes = Buffer.from(res.body, 'base64');
    return res;
  };
  const json = async (method, route, body) => {
    const res = await send(method, route, body);
    let value = null;
    try {
      value = JSON.parse(res.bytes.toString('utf8'));
    } catch {
      value = null;
    }
    if (res.status >= 400) {
      throw { kind: 'status', status: res.status, message: (value && value.message) || `HTTP ${res.status}` };
    }
    return value;
  };
  try {
    switch (call.op) {
      case 'create-check-run': {
        const body = {
          name: call.name,
          head_sha: call.head_sha,
          status: 'completed',
          conclusion: call.conclusion,
          output: { title: call.title, summary: call.summary },
        };
        if (call.details_url) body.details_url = call.details_url;
        const v = await json('POST', `${repo}/check-runs`, body);
        return { ok: { kind: 'url', url: (v && v.html_url) || '' } };
      }
      case 'list-comments': {
        const all = [];
        for (let page = 1; page <= 30; page++) {
          const items = await json('GET', `${repo}/issues/${call.number}/comments?per_page=100&page=${page}`);
          const list = Array.isArray(items) ? items : [];
          all.push(...list);
          if (list.length !== 100) break;
        }
        return { ok: { kind: 'json', value: all } };
      }
      case 'create-comment': {
        const v = await json('POST', `${repo}/issues/${call.number}/comments`, { body: call.body });
        return { ok: { kind: 'url', url: (v && v.html_url) || '' } };
      }
      case 'update-comment': {
        const v = await json('PATCH', `${repo}/issues/comments/${call.id}`, { body: call.body });
        return { ok: { kind: 'url', url: (v && v.html_url) || '' } };
      }
      case 'list-artifacts': {
        const artifacts = [];
        for (let page = 1; page <= 10; page++) {
          const v = await json('GET', `${repo}/actions/runs/${call.run_id}/artifacts?per_page=100&page=${page}`);
          const items = (v && Array.isArray(v.artifacts)) ? v.artifacts : [];
          artifacts.push(...items);
          if (items.length !== 100) break;
        }
        return { ok: { kind: 'json', value: { total_count: artifacts.length, artifacts } } };
      }
      case 'download-artifact': {
        const res = await send('GET', `${repo}/actions/artifacts/${call.id}/zip`);
        if (![301, 302, 307].includes(res.status)) {
          let message = `HTTP ${res.status}`;
          try {
            message = JSON.parse(res.bytes.toString('utf8')).message || message;
          } catch { /* not JSON */ }
          throw { kind: 'status', status: res.status, message };
        }
        const location = (res.headers.find(([k]) => k === 'location') || [])[1];
        if (!location) throw { kind: 'transport', detail: 'the download redirect has no Location' };
        let blobUrl;
        try {
          blobUrl = new URL(location);
        } catch {
          throw { kind: 'transport', detail: 'the download redirect is not a URL' };
        }
        if (!(blobUrl.protocol === 'https:' || (blobUrl.protocol === 'http:' && isLoopback(blobUrl.href)))) {
          throw { kind: 'transport', detail: 'the download redirect is not https' };
        }
        // No Authorization header: the blob URL is signed, and the token must not leave GitHub.
        const blob = await httpEffect({
          method: 'GET',
          url: blobUrl.href,
          headers: [['User-Agent', 'vault-k8s-handshake']],
          timeout_ms: conn.timeout_ms,
          connect_timeout_ms: conn.timeout_ms,
          public_roots: true,
          extra_ca_pems: conn.extra_ca_pems,
          redirects: 'none',
          use_proxy: !isLoopback(blobUrl.href),
          body_cap: call.cap,
        }, signal);
        if (blob.err && blob.err.kind === 'too-large') {
          throw { kind: 'status', status: 413, message: `the artifact is larger than ${call.cap} bytes` };
        }
        if (blob.err) throw { kind: 'transport', detail: blob.err.kind === 'timeout' ? 'timed out' : 'no answer' };
        if (blob.ok.status !== 200) {
          throw { kind: 'status', status: blob.ok.status, message: 'the artifact blob could not be fetched' };
        }
        const header = (n) => (blob.ok.headers.find(([k]) => k === n) || [])[1];
        const disposition = header('content-disposition');
        let fileName = null;
        if (disposition) {
          const m = disposition.split(';').map((p) => p.trim()).find((p) => p.startsWith('filename='));
          if (m) {
            const base = m.slice(9).replace(/^"|"$/g, '').split(/[\\/]/).pop();
            if (base && base !== '.' && base !== '..') fileName = base;
          }
        }
        return {
          ok: {
            kind: 'download',
            bytes: blob.ok.body,
            content_type: header('content-type') || null,
            url_path: blobUrl.pathname,
            file_name: fileName,
          },
        };
      }
      default:
        throw { kind: 'transport', detail: `unknown GitHub call ${call.op}` };
    }
  } catch (e) {
    if (e && (e.kind === 'status' || e.kind === 'transport')) return { err: e };
    return { err: { kind: 'transport', detail: String(e && e.message) } };
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
    return { kind: 'done' };
  } catch (e) {
    return { kind: 'done', error: e.message };
  }
}

// ---------------------------------------------------------------------------------------------
// The loop.

async function perform(effect, ctx, signal) {
  switch (effect.kind) {
    case 'http':
      return { kind: 'http', ...(await httpEffect(effect, signal)) };
    case 'probe':
      return probeEffect(effect, signal);
    case 'github':
      return { kind: 'github', ...(await githubEffect(effect, signal)) };
    case 'read-file':
      return { kind: 'file', ...readFileEffect(effect.path, ctx.roots) };
    case 'remove-file':
      return fileDone(() => fs.unlinkSync(effect.path));
    case 'append-file':
      return fileDone(() => fs.appendFileSync(effect.path, effect.text));
    case 'write-file':
      return fileDone(() => fs.writeFileSync(effect.path, effect.text));
    case 'sleep':
      await new Promise((r) => {
        const t = setTimeout(r, effect.ms);
        if (signal) signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
      });
      return { kind: 'done' };
    case 'now':
      return { kind: 'now', ms: Math.floor(performance.now() - ctx.started) };
    case 'random':
      return { kind: 'random', bytes: randomBytes(effect.len).toString('base64') };
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

function writeLines(lines) {
  for (const line of lines) {
    (line.stream === 'stderr' ? process.stderr : process.stdout).write(line.text + '\n');
  }
}

function readEventPayload() {
  const file = envVar('GITHUB_EVENT_PATH');
  if (!file) return null;
  const read = readFileEffect(file, null);
  return read.ok ? Buffer.from(read.ok, 'base64').toString('utf8') : null;
}

async function main() {
  const started = performance.now();
  // Compiled off the main thread, while the modules the first requests need are loaded.
  const compiling = WebAssembly.compile(fs.readFileSync(path.join(__dirname, 'core.wasm')));
  const vaultAddr = process.env['INPUT_VAULT-ADDR'] || '';
  (vaultAddr.startsWith('https:') ? httpsModule : httpModule)();
  const core = new Core(await compiling);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') env[k] = v;
  const begun = core.start({
    env,
    now: Math.floor(Date.now() / 1000),
    tty: process.stdout.isTTY === true,
    temp: os.tmpdir(),
    event_payload: readEventPayload(),
  });
  const roots = begun.file_roots
    ? begun.file_roots.flatMap((r) => {
      try {
        return [fs.realpathSync(r)];
      } catch {
        return [];
      }
    })
    : null;
  const ctx = { roots, started };
  let abandon = null;
  const onSignal = (name) => {
    if (core.cancel(name) && abandon) abandon();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  let reply = { kind: 'start' };
  for (;;) {
    const step = core.resume(reply);
    writeLines(step.lines);
    if (step.next.kind === 'exit') {
      closeAgents();
      return step.next.code;
    }
    const controller = new AbortController();
    const abandoned = new Promise((resolve) => {
      abandon = () => {
        controller.abort();
        resolve({ kind: 'start' });
      };
    });
    reply = await Promise.race([perform(step.next.effect, ctx, controller.signal), abandoned]);
    abandon = null;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    // A broken driver or a trapped core: say so without quoting data (it may hold a secret).
    const where = e && e.stack ? e.stack.split('\n')[1] || '' : '';
    process.stdout.write(`::error title=vault-k8s-handshake: internal error (please report)::the Node driver failed${where ? ` at ${where.trim()}` : ''}\n`);
    process.exitCode = 4;
  },
);
