//! A Vault-compatible dev server for the demo and the tests, and a GitHub OIDC issuer beside it.
//!
//! Owns the HTTP glue (axum on 127.0.0.1 only), the request log tests assert on, and the OpenAPI
//! contract check every request passes through. The Vault behaviour itself is `vault::Vault`.
//! It is a test double with real semantics, never a Vault to keep data in: everything lives in
//! memory and is gone when it stops. It binds loopback only and never makes outbound calls.

pub mod acl;
pub mod cluster;
pub mod demo;
pub mod jwt;
pub mod openapi;
pub mod seed;
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
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            profile: Profile::V1_17,
            port: 0,
            enforce_contract: true,
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

struct Inner {
    vault: Mutex<Vault>,
    log: Mutex<Vec<RecordedRequest>>,
    issuer: jwt::IssuerKey,
    issuer_url: String,
    oidc_grants: Mutex<HashMap<String, jwt::GithubClaims>>,
    enforce_contract: bool,
}

/// A running dev server. Stops when dropped.
pub struct DevServer {
    addr: SocketAddr,
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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
        let root: u128 = rand::thread_rng().gen();
        let issuer = jwt::IssuerKey::generate(&mut rand::thread_rng()).map_err(|e| {
            std::io::Error::other(format!("cannot generate the OIDC issuer key: {e}"))
        })?;
        let inner = Arc::new(Inner {
            vault: Mutex::new(Vault::new(options.profile, format!("hvs.root{root:032x}"))),
            log: Mutex::new(Vec::new()),
            issuer,
            issuer_url: ISSUER.to_string(),
            oidc_grants: Mutex::new(HashMap::new()),
            enforce_contract: options.enforce_contract,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = inner.clone();
        let thread = std::thread::Builder::new()
            .name("dev-server".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("dev-server: cannot start a runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = Router::new().fallback(serve).with_state(state);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        Ok(DevServer {
            addr,
            inner,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
                "{}/_github/idtoken/{random:032x}?api-version=2.0",
                self.url()
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

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
        (Err(violation), true) => Outgoing {
            status: 400,
            body: Some(
                serde_json::json!({"errors": [format!("dev-server: request breaks Vault's OpenAPI contract: {violation}")]}),
            ),
        },
        _ => vault.handle(&incoming),
    };
    drop(vault);
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
            body: body_text,
            status: out.status,
            contract,
        });
    out
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

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
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

fn percent_decode(text: &str) -> String {
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

async fn serve(State(inner): State<Arc<Inner>>, request: Request) -> Response {
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
    let out = process(&inner, incoming, headers, body_text);
    json_response(out.status, out.body)
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
