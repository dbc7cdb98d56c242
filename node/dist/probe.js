'use strict';
// The Node driver's TLS probe (node/dist/index.js loads this file for the first probe): one
// connection to the API server, trusting only the cluster CA, nothing sent after the handshake.
// The peer's chain goes back to the core as DER, with how the handshake ended; the core decides
// what it means.

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

/**
 * The `probe` effect. What it shares with the HTTP client comes from index.js: Node's `tls`,
 * `isIP`, and how a refused certificate, a TLS alert and an answer that is not TLS are named.
 */
function probeEffect(req, signal, { tls, isIP, CERT_REASONS, notTls, alertName }) {
  return new Promise((resolve) => {
    let settled = false;
    let socket;
    const finish = (report) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (socket) socket.destroy();
      resolve({ probe: { report } });
    };
    const timer = setTimeout(() => finish({ kind: 'timed-out', after_ms: req.timeout_ms }), req.timeout_ms);
    if (signal) signal.addEventListener('abort', () => finish({ kind: 'unreachable', detail: 'cancelled' }));
    let ca;
    try {
      ca = req.ca_ders.map(derToPem);
      tls.createSecureContext({ ca });
    } catch (e) {
      finish({ kind: 'bad-ca', detail: `the CA certificates cannot be used to verify (${e.message})` });
      return;
    }
    const host = req.connect_host;
    socket = tls.connect({
      host,
      port: req.port,
      servername: isIP(req.server_name) ? undefined : req.server_name,
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
      const identity = tls.checkServerIdentity(req.server_name, socket.getPeerCertificate());
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

module.exports = { probeEffect };
