'use strict';
// The Node driver's GitHub REST calls (node/dist/index.js loads this file for the first one):
// check runs, the sticky pull-request comment, and a workflow artifact's listing and download.
// What to call and what an answer means is the core's; this file makes the requests.

/** GitHub REST answers: a page of 100 artifacts or comments is well under it. */
const GITHUB_BODY_CAP = 8 * 1024 * 1024;

/** The `github` effect: one REST call, or an artifact's download, over index.js's `httpEffect`. */
async function githubEffect(request, signal, httpEffect) {
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

module.exports = { githubEffect };
