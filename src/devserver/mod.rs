//! A Vault-compatible dev server for the demo and the tests, and a GitHub OIDC issuer beside it.
//!
//! Owns the HTTP glue (axum on 127.0.0.1 only), the request log tests assert on, and the OpenAPI
//! contract check every request passes through. The Vault behaviour itself is `vault::Vault`;
//! the thread, runtime and shutdown every stand-in runs on are `lifecycle::ServerThread`.
//! It is a test double with real semantics, never a Vault to keep data in: everything lives in
//! memory and is gone when it stops. It binds loopback only and never makes outbound calls.
//! With `ServerOptions::tls` it serves https with a certificate from a CA generated at start
//! (`DevServer::ca_pem`), and the OIDC issuer moves to a plain-http loopback listener of its own.
//!
//! Modelled for real clients (hvac drives all of it in tests/conformance/): `sys/health`;
//! `sys/auth` and `sys/mounts` (list, enable, disable; `sys/auth/<path>` read);
//! `sys/policies/acl` and the legacy `sys/policy` (write, read, list, delete);
//! `sys/capabilities-self`; `sys/namespaces` (create); `auth/token/lookup-self` and
//! `revoke-self`; JWT auth (config, roles with LIST and DELETE, login); kubernetes auth (config,
//! roles with LIST and DELETE, login with a real TokenReview); KV v1 (read, write) and KV v2
//! (data read/write with check-and-set and delete; metadata read, LIST, delete).
//!
//! Out of scope, answered exactly as Vault answers a path no handler of a mounted backend
//! serves (404, `1 error occurred: * unsupported path`), or as a path under no mount
//! (`no handler for route`): `sys/auth/<path>/tune` and `sys/mounts/<path>/tune`,
//! `sys/mounts/<path>` read, `sys/capabilities` and `sys/capabilities-accessor`, every other
//! `sys/` path; the token store beyond the self endpoints (`auth/token/create`, `lookup`,
//! roles); KV v2 metadata writes, `delete`/`undelete`/`destroy`, `config` and `subkeys`; the
//! built-in `cubbyhole/`, `identity/` and `sys/` engines, which are not listed in `sys/mounts`.
//! Requests that break the OpenAPI contract (e.g. the HTTP `PATCH` verb, absent from the
//! 1.15 table) are refused with a 400 naming the violation before any of this.

pub mod acl;
pub mod cluster;
pub mod demo;
pub mod github;
pub mod jwt;
pub mod kube;
pub mod lifecycle;
pub mod openapi;
pub mod seed;
mod serial;
pub mod tls;
pub mod vault;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::Rng;
use serde_json::Value;

pub use vault::{Incoming, Outgoing, Profile, Vault};

/// How to start the server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub profile: Profile,
    /// 0 picks a free port.
    pub port: u16,
    /// Refuse requests that break the OpenAPI contract (tests: always).
    pub enforce_contract: bool,
    /// How long the server's TokenReview call may take (tests stage hung API servers).
    pub token_review_timeout: std::time::Duration,
    /// Serve Vault over https with a certificate from a CA generated at start (`None`: plain
    /// http, loopback only, as every test but the TLS ones uses).
    pub tls: Option<DevTls>,
    /// Serve the OIDC token endpoint on a plain-http listener of its own, another origin than
    /// Vault's, as GitHub's token service is on a runner. Always so over https; over plain http
    /// the endpoint is otherwise on Vault's own listener, as a stand-in serving both has it.
    pub issuer_apart: bool,
    /// Serve one connection at a time on each listener, each kept until its client closes it,
    /// as a single-threaded HTTP/1.1 server does.
    pub one_connection_at_a_time: bool,
}

/// How the dev server serves https: its certificate's subject alternative names. The CA that
/// signs it is generated at start and read back with [`DevServer::ca_pem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevTls {
    /// Used exactly as given, so a test can leave the bound address out (a host-name mismatch).
    pub sans: Vec<kube::San>,
}

impl Default for DevTls {
    /// `127.0.0.1` and `localhost`: the names a client of this loopback server uses.
    fn default() -> Self {
        DevTls {
            sans: vec![
                kube::San::Ip(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
                kube::San::Dns("localhost".to_string()),
            ],
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            profile: Profile::V1_17,
            port: 0,
            enforce_contract: true,
            token_review_timeout: std::time::Duration::from_secs(10),
            tls: None,
            issuer_apart: false,
            one_connection_at_a_time: false,
        }
    }
}

/// One request as received, for tests: secrets included on purpose (the positive control of
/// the secret scan needs to see them arrive).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub namespace: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
    /// The matched OpenAPI template, or the violation.
    pub contract: Result<String, String>,
}

/// A fault the server injects instead of (or before) answering matching requests.
#[derive(Clone, Debug)]
pub struct Fault {
    /// `None` matches any method.
    pub method: Option<String>,
    /// The URL path (`/v1/auth/jwt/login`), or a prefix ending in `*`.
    pub path: String,
    pub kind: FaultKind,
    /// Fire for the first `times` matching requests only (`None`: until cleared or expired).
    pub times: Option<u32>,
    /// Fire only within this many milliseconds after injection.
    pub for_ms: Option<u64>,
    /// Let this many matching requests through first (e.g. fault the read-back, not the plan's
    /// read of the same path).
    pub skip: u32,
}

#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer with this status and Vault's error body (`Retry-After` in seconds when given).
    /// `{presented-token}` in an error is replaced by the request's `X-Vault-Token` (or the
    /// bearer of `Authorization`), and `{request-body}` by the body: a server that echoes what
    /// it was sent, as Vault plugins and proxies have been seen to do, for the redaction tests.
    Status {
        code: u16,
        retry_after: Option<u64>,
        errors: Vec<String>,
    },
    /// A 307 to `location` (another host, or the same one).
    Redirect { location: String },
    /// Drop the connection without an answer.
    Reset,
    /// Hold the request this long, then answer normally (clients time out first).
    Hang { ms: u64 },
    /// Change the server's state, then answer normally: another writer acting at that moment.
    Interleave(Interleave),
}

/// A state change run when a fault fires (e.g. a concurrent pipeline's config write).
#[derive(Clone)]
pub struct Interleave(pub Arc<dyn Fn(&mut Vault) + Send + Sync>);

impl std::fmt::Debug for Interleave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Interleave(..)")
    }
}

impl Fault {
    /// A fault for every method on `path`, fired `times` times.
    pub fn new(path: &str, kind: FaultKind, times: u32) -> Fault {
        Fault {
            method: None,
            path: path.to_string(),
            kind,
            times: Some(times),
            for_ms: None,
            skip: 0,
        }
    }

    /// Vault's sealed answer (§1.6).
    pub fn sealed(path: &str, times: u32) -> Fault {
        Fault::new(
            path,
            FaultKind::Status {
                code: 503,
                retry_after: None,
                errors: vec!["Vault is sealed".into()],
            },
            times,
        )
    }

    pub fn after(mut self, skip: u32) -> Fault {
        self.skip = skip;
        self
    }

    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_string());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        path_ok
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

struct ActiveFault {
    fault: Fault,
    injected: std::time::Instant,
    seen: u32,
    fired: u32,
}

/// The marker unwound through a handler to drop its connection (no panic hook runs for it).
struct InjectedReset;

struct Inner {
    faults: Mutex<Vec<ActiveFault>>,
    vault: Mutex<Vault>,
    log: Mutex<Vec<RecordedRequest>>,
    issuer: jwt::IssuerKey,
    issuer_url: String,
    oidc_grants: Mutex<HashMap<String, jwt::GithubClaims>>,
    enforce_contract: bool,
    token_review_timeout: std::time::Duration,
    /// Where the debug log lines go to every `sys/monitor` stream; taken (closing the streams)
    /// when the server stops, so that no open stream holds the graceful shutdown.
    monitor: Mutex<Option<tokio::sync::broadcast::Sender<vault::MonitorLine>>>,
    /// How many `sys/monitor` streams were ever attached, for [`DevServer::wait_for_monitors`].
    monitors_attached: Mutex<usize>,
    monitor_attached: std::sync::Condvar,
}

impl Drop for DevServer {
    /// Ends every `sys/monitor` stream before the server thread's graceful shutdown, which
    /// waits for open connections.
    fn drop(&mut self) {
        self.inner
            .monitor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

/// A running dev server. Stops when dropped.
pub struct DevServer {
    addr: SocketAddr,
    /// The CA that signs the https certificate, when serving https.
    ca_pem: Option<String>,
    /// Where the OIDC issuer's token endpoint is reached: the Vault listener itself over plain
    /// http; over https (or with `issuer_apart`) a second, plain-http loopback listener that
    /// answers only `/_github/`.
    /// GitHub's token service is another host than Vault, with its own (public) certificate:
    /// putting it behind Vault's private CA would make the action's OIDC client, which trusts
    /// `extra-ca-certs` only, fail for reasons no real pipeline has.
    issuer_addr: SocketAddr,
    inner: Arc<Inner>,
    _thread: lifecycle::ServerThread,
}

/// The two variables a runner sets for a job with `permissions: id-token: write`.
#[derive(Clone, Debug)]
pub struct OidcGrant {
    pub request_url: String,
    pub request_token: String,
}

/// The claims of a job of `repository` running for `environment` on `git_ref`, triggered by
/// `event`: what GitHub puts in the job's OIDC token.
pub fn job_claims(
    repository: &str,
    environment: &str,
    git_ref: &str,
    event: &str,
) -> jwt::GithubClaims {
    let mut claims = jwt::GithubClaims::for_repository(repository);
    claims.environment = Some(environment.to_string());
    claims.ref_ = git_ref.to_string();
    claims.event_name = event.to_string();
    claims
}

/// The issuer the dev server's OIDC tokens carry (GitHub's, so roles look as in production).
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

impl DevServer {
    /// Starts the server on its own thread and runtime, bound to 127.0.0.1.
    pub fn start(options: ServerOptions) -> std::io::Result<DevServer> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tls, ca_pem) = match &options.tls {
            None => (None, None),
            Some(dev_tls) => {
                let (config, ca_pem) = tls::https_config("vault-dev", "vault", &dev_tls.sans)?;
                (Some(config), Some(ca_pem))
            }
        };
        let issuer_listener = if options.issuer_apart || tls.is_some() {
            let issuer = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            issuer.set_nonblocking(true)?;
            Some(issuer)
        } else {
            None
        };
        let issuer_addr = match &issuer_listener {
            Some(l) => l.local_addr()?,
            None => addr,
        };
        let root: u128 = rand::thread_rng().gen();
        let issuer = jwt::IssuerKey::generate(&mut rand::thread_rng()).map_err(|e| {
            std::io::Error::other(format!("cannot generate the OIDC issuer key: {e}"))
        })?;
        let inner = Arc::new(Inner {
            faults: Mutex::new(Vec::new()),
            vault: Mutex::new(Vault::new(options.profile, format!("hvs.root{root:032x}"))),
            log: Mutex::new(Vec::new()),
            issuer,
            issuer_url: ISSUER.to_string(),
            oidc_grants: Mutex::new(HashMap::new()),
            enforce_contract: options.enforce_contract,
            token_review_timeout: options.token_review_timeout,
            // A stream that falls this far behind loses lines, as Vault's monitor drops lines a
            // slow receiver cannot take (api-docs/system/monitor).
            monitor: Mutex::new(Some(tokio::sync::broadcast::channel(256).0)),
            monitors_attached: Mutex::new(0),
            monitor_attached: std::sync::Condvar::new(),
        });
        let state = inner.clone();
        let one_at_a_time = options.one_connection_at_a_time;
        let thread = lifecycle::ServerThread::spawn("dev-server", move |shutdown| async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let app = Router::new().fallback(serve).with_state(state.clone());
            let vault = serve_on(listener, app, tls, one_at_a_time, shutdown.clone());
            let issuer = async {
                if let Some(Ok(issuer)) = issuer_listener.map(tokio::net::TcpListener::from_std) {
                    let issuer_app = Router::new().fallback(serve_issuer).with_state(state);
                    serve_on(issuer, issuer_app, None, one_at_a_time, shutdown).await;
                }
            };
            tokio::join!(vault, issuer);
        })?;
        Ok(DevServer {
            addr,
            ca_pem,
            issuer_addr,
            inner,
            _thread: thread,
        })
    }

    /// Blocks until `count` `sys/monitor` streams were attached since the server started, so a
    /// test can start `vault monitor` and know it will see what happens next; `false` when that
    /// has not happened within `limit` (a failure deadline, not a synchronisation delay).
    pub fn wait_for_monitors(&self, count: usize, limit: std::time::Duration) -> bool {
        let attached = self
            .inner
            .monitors_attached
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (attached, _) = self
            .inner
            .monitor_attached
            .wait_timeout_while(attached, limit, |n| *n < count)
            .unwrap_or_else(|p| p.into_inner());
        *attached >= count
    }

    /// `http://127.0.0.1:<port>`, or `https://127.0.0.1:<port>` when serving https.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The PEM of the CA that signs the https certificate (`None` over plain http).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn root_token(&self) -> String {
        self.with_vault(|v| v.root_token().to_string())
    }

    /// Runs `f` on the Vault state (tests stage states and assert on them).
    pub fn with_vault<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> R {
        let mut vault = self.inner.vault.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut vault)
    }

    /// Injects a fault for matching requests (checked before anything else, in order).
    pub fn inject(&self, fault: Fault) {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ActiveFault {
                fault,
                injected: std::time::Instant::now(),
                seen: 0,
                fired: 0,
            });
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The SPKI PEM of the OIDC issuer's signing key (what `jwt_validation_pubkeys` takes).
    pub fn issuer_public_pem(&self) -> String {
        self.inner.issuer.public_pem().to_string()
    }

    pub fn issuer_url(&self) -> &str {
        &self.inner.issuer_url
    }

    /// Lets a "job" request OIDC tokens with these claims: returns the runner's two variables.
    pub fn grant_oidc(&self, claims: jwt::GithubClaims) -> OidcGrant {
        let random: u128 = rand::thread_rng().gen();
        let request_token = format!("ghs-oidc-request-{random:032x}");
        self.inner
            .oidc_grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request_token.clone(), claims);
        OidcGrant {
            // Shaped like the runner's: the URL already carries a query string.
            request_url: format!(
                "http://{}/_github/idtoken/{random:032x}?api-version=2.0",
                self.issuer_addr
            ),
            request_token,
        }
    }

    /// A signed OIDC token for these claims, as the issuer would mint it (for tests that log in
    /// without going through the request endpoint).
    pub fn mint_oidc(&self, claims: &jwt::GithubClaims, audience: Option<&str>) -> String {
        let now = self.with_vault(|v| (v.now)());
        self.inner
            .issuer
            .sign(&claims.to_claims(&self.inner.issuer_url, audience, now))
    }

    /// Sends one API request through the same path as HTTP requests (contract check, log,
    /// handling), without a socket: how the seed talks to the server, as Terraform would.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        namespace: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Outgoing {
        let incoming = Incoming {
            method: method.to_string(),
            path: path.to_string(),
            query: Vec::new(),
            namespace: namespace.to_string(),
            token: token.map(str::to_string),
            body,
        };
        let text = incoming
            .body
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default();
        let mut headers = Vec::new();
        if let Some(t) = token {
            headers.push(("x-vault-token".to_string(), t.to_string()));
        }
        process(&self.inner, incoming, headers, text)
    }
}

fn process(
    inner: &Inner,
    incoming: Incoming,
    headers: Vec<(String, String)>,
    body_text: String,
) -> Outgoing {
    let mut vault = inner.vault.lock().unwrap_or_else(|p| p.into_inner());
    let contract = vault.check_contract(&incoming);
    let out = match (&contract, inner.enforce_contract) {
        (Err(violation), true) => contract_refusal(violation),
        _ => vault.handle(&incoming),
    };
    drop(vault);
    record(inner, incoming, headers, body_text, out.status, contract);
    out
}

fn contract_refusal(violation: &str) -> Outgoing {
    Outgoing {
        status: 400,
        body: Some(
            serde_json::json!({"errors": [format!("dev-server: request breaks Vault's OpenAPI contract: {violation}")]}),
        ),
    }
}

fn record(
    inner: &Inner,
    incoming: Incoming,
    headers: Vec<(String, String)>,
    body: String,
    status: u16,
    contract: Result<String, String>,
) {
    inner
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(RecordedRequest {
            method: incoming.method,
            path: incoming.path,
            namespace: incoming.namespace,
            query: incoming.query,
            headers,
            body,
            status,
            contract,
        });
}

/// A kubernetes login: local checks under the lock, the TokenReview over the network without
/// it, then the verdict under the lock again.
async fn k8s_login(
    inner: &Inner,
    incoming: Incoming,
    headers: Vec<(String, String)>,
    body_text: String,
) -> Outgoing {
    let begun = {
        let mut vault = inner.vault.lock().unwrap_or_else(|p| p.into_inner());
        let contract = vault.check_contract(&incoming);
        if let (Err(violation), true) = (&contract, inner.enforce_contract) {
            let out = contract_refusal(violation);
            drop(vault);
            record(inner, incoming, headers, body_text, out.status, contract);
            return out;
        }
        match vault.k8s_login_begin(&incoming) {
            Ok(pending) => Ok((pending, contract)),
            Err(out) => Err((out, contract)),
        }
    };
    match begun {
        Err((out, contract)) => {
            record(inner, incoming, headers, body_text, out.status, contract);
            out
        }
        Ok((pending, contract)) => {
            let verdict = token_review(&pending, inner.token_review_timeout).await;
            let (out, logged) = {
                let mut vault = inner.vault.lock().unwrap_or_else(|p| p.into_inner());
                let before = vault.monitor_lines().len();
                let out = vault.k8s_login_finish(pending, verdict);
                (out, vault.monitor_lines()[before..].to_vec())
            };
            if let Some(monitor) = &*inner.monitor.lock().unwrap_or_else(|p| p.into_inner()) {
                for line in logged {
                    // No stream attached is not an error: the line is only in the log.
                    let _ = monitor.send(line);
                }
            }
            record(inner, incoming, headers, body_text, out.status, contract);
            out
        }
    }
}

/// The TokenReview Vault sends in client JWT mode (§3.7 steps 6–7), read as Vault reads it.
/// `Err` carries the reason Vault would log at debug level.
async fn token_review(
    pending: &vault::PendingReview,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    let ders = crate::pure::ca::certificate_ders(pending.ca_pem.as_bytes());
    if ders.is_empty() {
        // No CA stored (1.17+ client JWT mode): the system pool.
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for der in ders {
        let _ = roots.add(rustls_pki_types::CertificateDer::from(der));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": pending.token, "audiences": pending.audiences},
    });
    let sent = client
        .post(&pending.url)
        .bearer_auth(&pending.bearer)
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let mut chain = Vec::new();
            let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push(s.to_string());
                source = s.source();
            }
            return Err(format!("Post \"{}\": {}", pending.url, chain.join(": ")));
        }
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    match status {
        401 => {
            return Err("lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token".into())
        }
        // Kubernetes keeps the server's text for a 403: Vault logs the raw Status body.
        403 => return Err(text),
        404 => return Err("the server could not find the requested resource".into()),
        s if !(200..300).contains(&s) => {
            return Err(format!("an error on the server (\"{text}\") has prevented the request from succeeding"))
        }
        _ => {}
    }
    let review: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let st = &review["status"];
    if let Some(error) = st
        .get("error")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    {
        return Err(format!("lookup failed: {error}"));
    }
    if st.get("authenticated").and_then(Value::as_bool) != Some(true) {
        return Err("lookup failed: service account jwt not valid".into());
    }
    let echoed: Vec<String> = st["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !pending.audiences.is_empty() && !pending.audiences.iter().any(|a| echoed.contains(a)) {
        return Err(format!(
            "lookup failed: service account jwt valid for audience(s) {echoed:?}, but wanted {:?}",
            pending.audiences
        ));
    }
    let username = st
        .pointer("/user/username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let parts: Vec<&str> = username.split(':').collect();
    if parts.len() != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
        return Err("lookup failed: username returned is not a service account".into());
    }
    if parts[3] != pending.sa_name {
        return Err("JWT names did not match".into());
    }
    if parts[2] != pending.sa_namespace {
        // Vault's own spelling.
        return Err("JWT namepaces did not match".into());
    }
    let uid = st
        .pointer("/user/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if uid != pending.sa_uid {
        return Err("JWT UIDs did not match".into());
    }
    Ok(())
}

fn json_response(status: u16, body: Option<Value>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match body {
        Some(b) => (code, b.to_string()).into_response(),
        None => code.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    if status != 204 {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    response
}

/// `a=1&b=%20x` → pairs, percent-decoded (shared by the stand-ins).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token a request presented: `X-Vault-Token`, else the bearer of `Authorization`.
fn presented_token(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("x-vault-token")
        .or_else(|| header("authorization").and_then(|a| a.strip_prefix("Bearer ")))
        .unwrap_or_default()
        .to_string()
}

/// The fault to apply to this request, if any (and counts it).
fn take_fault(inner: &Inner, method: &str, path: &str) -> Option<FaultKind> {
    let mut faults = inner.faults.lock().unwrap_or_else(|p| p.into_inner());
    let now = std::time::Instant::now();
    faults.retain(|f| {
        let expired_time = f
            .fault
            .for_ms
            .is_some_and(|ms| now.duration_since(f.injected).as_millis() as u64 >= ms);
        let used_up = f.fault.times.is_some_and(|t| f.fired >= t);
        !expired_time && !used_up
    });
    for active in faults.iter_mut().filter(|f| f.fault.matches(method, path)) {
        active.seen += 1;
        if active.seen > active.fault.skip {
            active.fired += 1;
            return Some(active.fault.kind.clone());
        }
    }
    None
}

/// Serves `app` on `tcp` until shutdown, over https with `tls`: every connection at once, or
/// one at a time. Every stand-in's listeners are served through it.
pub(crate) async fn serve_on(
    tcp: tokio::net::TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    one_at_a_time: bool,
    shutdown: lifecycle::Shutdown,
) {
    match tls {
        None => serve_listener(tcp, app, one_at_a_time, shutdown).await,
        Some(config) => match tls::TlsListener::spawn(tcp, config) {
            Ok(listener) => serve_listener(listener, app, one_at_a_time, shutdown).await,
            Err(e) => eprintln!("stand-in: cannot start an https listener: {e}"),
        },
    }
}

async fn serve_listener<L>(
    listener: L,
    app: Router,
    one_at_a_time: bool,
    shutdown: lifecycle::Shutdown,
) where
    L: axum::serve::Listener,
    L::Io: Unpin,
    L::Addr: std::fmt::Debug,
{
    if one_at_a_time {
        let _ = axum::serve(serial::OneAtATime::new(listener), app)
            .with_graceful_shutdown(shutdown.wait())
            .await;
    } else {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.wait())
            .await;
    }
}

/// The plain-http issuer listener beside Vault (over https, or with `issuer_apart`): the OIDC
/// token endpoint only, so no Vault request reaches Vault's state through it.
async fn serve_issuer(state: State<Arc<Inner>>, request: Request) -> Response {
    if request.uri().path().starts_with("/_github/") {
        serve(state, request).await
    } else {
        json_response(
            404,
            Some(serde_json::json!({"errors": ["not the OIDC issuer"]})),
        )
    }
}

async fn serve(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    match take_fault(&inner, request.method().as_str(), &path) {
        None => {}
        Some(FaultKind::Status {
            code,
            retry_after,
            errors,
        }) => {
            let presented = presented_token(request.headers());
            let body = match axum::body::to_bytes(request.into_body(), 1024 * 1024).await {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(_) => String::new(),
            };
            let errors: Vec<String> = errors
                .iter()
                .map(|e| {
                    e.replace("{presented-token}", &presented)
                        .replace("{request-body}", &body)
                })
                .collect();
            let mut response = json_response(code, Some(serde_json::json!({ "errors": errors })));
            if let Some(secs) = retry_after {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert("retry-after", v);
                }
            }
            return response;
        }
        Some(FaultKind::Redirect { location }) => {
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert("location", v);
            }
            return response;
        }
        // Unwinding out of the handler makes hyper drop the connection with no answer, and
        // `resume_unwind` skips the panic hook, so nothing is printed.
        Some(FaultKind::Reset) => std::panic::resume_unwind(Box::new(InjectedReset)),
        Some(FaultKind::Interleave(Interleave(change))) => {
            change(&mut inner.vault.lock().unwrap_or_else(|p| p.into_inner()));
        }
        Some(FaultKind::Hang { ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await
        }
    }
    serve_normally(inner, request).await
}

async fn serve_normally(inner: Arc<Inner>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, 32 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return json_response(
                413,
                Some(serde_json::json!({"errors": ["http: request body too large"]})),
            )
        }
    };
    let path = parts.uri.path().to_string();
    let query = query_pairs(parts.uri.query());
    if let Some(rest) = path.strip_prefix("/_github/idtoken/") {
        let response = oidc_token(&inner, rest, &parts.headers, &query);
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RecordedRequest {
                method: parts.method.as_str().to_string(),
                path: path.clone(),
                namespace: String::new(),
                query,
                headers,
                body: String::new(),
                status: response.status().as_u16(),
                contract: Ok("GitHub OIDC token request (not Vault)".into()),
            });
        return response;
    }
    let Some(api_path) = path.strip_prefix("/v1/") else {
        return json_response(404, Some(serde_json::json!({"errors": []})));
    };
    let mut method = parts.method.as_str().to_string();
    if parts.method == Method::GET && query.iter().any(|(k, v)| k == "list" && v == "true") {
        method = "LIST".into();
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // X-Vault-Token wins over a bearer token (§1.2).
    let token = header("x-vault-token").or_else(|| {
        header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_string))
    });
    let namespace = header("x-vault-namespace")
        .unwrap_or_default()
        .trim_matches('/')
        .to_string();
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let json = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return json_response(
                    400,
                    Some(
                        serde_json::json!({"errors": [format!("failed to parse JSON input: {e}")]}),
                    ),
                )
            }
        }
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let incoming = Incoming {
        method,
        path: api_path.to_string(),
        query,
        namespace,
        token,
        body: json,
    };
    if incoming.method == "GET" && incoming.path == "sys/monitor" {
        return monitor(&inner, incoming, headers, body_text);
    }
    let k8s = inner
        .vault
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_k8s_login(&incoming);
    let out = if k8s {
        k8s_login(&inner, incoming, headers, body_text).await
    } else {
        process(&inner, incoming, headers, body_text)
    };
    json_response(out.status, out.body)
}

/// `GET sys/monitor`: Vault's log stream (vault/logical_system.go `handleMonitor`; api-docs
/// system/monitor). After the checks of [`Vault::monitor_begin`] the answer is a 200 whose body
/// never ends: each log line at or above the asked level, newline-terminated, as it is logged,
/// until the client goes away or the server stops. Only the lines this server logs are sent:
/// the kubernetes plugin's `login unauthorized` at debug level, which is what the action's
/// hint sends people to look for.
fn monitor(
    inner: &Arc<Inner>,
    incoming: Incoming,
    headers: Vec<(String, String)>,
    body_text: String,
) -> Response {
    let vault = inner.vault.lock().unwrap_or_else(|p| p.into_inner());
    let contract = vault.check_contract(&incoming);
    let begun = match (&contract, inner.enforce_contract) {
        (Err(violation), true) => Err(contract_refusal(violation)),
        _ => vault.monitor_begin(&incoming),
    };
    // Subscribed under the Vault lock: no line logged after this request was answered is lost.
    let receiver = inner
        .monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|m| m.subscribe());
    drop(vault);
    let (level, json, mut receiver) = match (begun, receiver) {
        (Err(out), _) => {
            record(inner, incoming, headers, body_text, out.status, contract);
            return json_response(out.status, out.body);
        }
        (Ok(_), None) => {
            // The server is stopping.
            let out = errors_body(503, "Vault is sealed");
            record(inner, incoming, headers, body_text, out.status, contract);
            return json_response(out.status, out.body);
        }
        (Ok((level, json)), Some(receiver)) => (level, json, receiver),
    };
    record(inner, incoming, headers, body_text, 200, contract);
    let (mut sender, body) = http_body_util::channel::Channel::<Bytes>::new(16);
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match receiver.recv().await {
                // Every line logged here is at debug level.
                Ok(line) if level <= vault::MonitorLevel::Debug => {
                    let text = format!("{}\n", line.render(json));
                    if sender.send_data(Bytes::from(text)).await.is_err() {
                        break;
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    {
        let mut attached = inner
            .monitors_attached
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *attached += 1;
        inner.monitor_attached.notify_all();
    }
    let mut response = Response::new(axum::body::Body::new(body));
    // handleMonitor sets no type; Go's sniffing names the text.
    if let Ok(v) = HeaderValue::from_str("text/plain; charset=utf-8") {
        response.headers_mut().insert("content-type", v);
    }
    response
}

fn errors_body(status: u16, message: &str) -> Outgoing {
    Outgoing {
        status,
        body: Some(serde_json::json!({ "errors": [message] })),
    }
}

/// The runner's OIDC endpoint: bearer request token in, `{"value": <JWT>}` out.
fn oidc_token(
    inner: &Inner,
    _id: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        })
        .unwrap_or_default()
        .to_string();
    let claims = inner
        .oidc_grants
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&bearer)
        .cloned();
    let Some(claims) = claims else {
        return json_response(401, Some(serde_json::json!({"message": "Bad credentials"})));
    };
    let audience = query
        .iter()
        .find(|(k, _)| k == "audience")
        .map(|(_, v)| v.as_str());
    let now = inner.vault.lock().map(|v| (v.now)()).unwrap_or(0);
    let jwt = inner
        .issuer
        .sign(&claims.to_claims(&inner.issuer_url, audience, now));
    json_response(200, Some(serde_json::json!({"count": 1, "value": jwt})))
}
