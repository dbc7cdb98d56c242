//! Sending the core's Vault requests: TLS, timeouts, retries, redirects, and reading answers.
//!
//! Owns the HTTP client for Vault. It never reads `VAULT_*` variables: the address, namespace
//! and trusted CAs come from inputs only. TLS is always verified against the public roots
//! compiled into the binary plus `vault-ca-cert`, if given. Redirects (a standby's 307) are
//! followed only to the same scheme, host and port. Retries follow the request's policy from
//! `pure::vault_api`, with backoff and `Retry-After`; a login is never retried.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;

use crate::pure::host::VaultAddr;
use crate::pure::secret::Secret;
use crate::pure::vault_api::{self, Request, VaultFailure, VaultTlsFailure};
use crate::pure::{Diagnostic, ErrorClass};

/// Time allowed for all attempts of one retried call, backoff included.
pub const RETRY_BUDGET: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// A call that got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("`{method} {path}`: {failure}")]
    Unreachable {
        method: &'static str,
        path: String,
        failure: Box<crate::pure::transport::VaultUnreachable>,
    },
    #[error("`{method} {path}`: Vault's answer is not the JSON it should be ({detail})")]
    BadBody {
        method: &'static str,
        path: String,
        detail: String,
    },
    #[error(
        "`{method} {path}`: Vault redirected to another host (`{location}`), which is not followed"
    )]
    ForeignRedirect {
        method: &'static str,
        path: String,
        location: String,
    },
    /// Vault's certificate failed verification: the failure names the input to change.
    #[error("`{method} {path}`: {failure}")]
    Tls {
        method: &'static str,
        path: String,
        /// Boxed: the rest of the enum is small, and every call returns it.
        failure: Box<VaultTlsFailure>,
    },
    #[error("`vault-ca-cert` holds no usable certificate")]
    BadVaultCa,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Diagnostic for TransportError {
    fn area(&self) -> crate::pure::Area {
        crate::pure::Area::Vault
    }

    fn class(&self) -> ErrorClass {
        match self {
            TransportError::BadVaultCa => ErrorClass::User,
            TransportError::Tls { failure, .. } => failure.class(),
            TransportError::Unreachable { failure, .. } => failure.class(),
            TransportError::Client(_) => ErrorClass::Bug,
            _ => ErrorClass::Remote,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            TransportError::Tls { failure, .. } => return failure.hint(),
            TransportError::Unreachable { failure, .. } => return failure.hint(),
            TransportError::BadBody { .. } => {
                "check that `vault-addr` points at Vault's API, not a \
                proxy or UI page"
                    .into()
            }
            TransportError::ForeignRedirect { .. } => {
                "point `vault-addr` at the active node or at \
                a load balancer that forwards to it"
                    .into()
            }
            TransportError::BadVaultCa => {
                "paste the PEM text of the CA (`-----BEGIN CERTIFICATE-----`…)".into()
            }
            TransportError::Client(_) => return None,
        })
    }
}

/// Either kind of failure of a call.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Vault(#[from] VaultFailure),
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl Diagnostic for CallError {
    fn area(&self) -> crate::pure::Area {
        crate::pure::Area::Vault
    }

    fn class(&self) -> ErrorClass {
        match self {
            CallError::Vault(e) => e.class(),
            CallError::Transport(e) => e.class(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            CallError::Vault(e) => e.hint(),
            CallError::Transport(e) => e.hint(),
        }
    }
}

/// A successful answer: 200 with a body, or 204 without.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
    /// Vault's `warnings`, to be shown, not dropped.
    pub warnings: Vec<String>,
}

/// The client for one Vault address. Cloning shares the connection pool.
#[derive(Clone)]
pub struct VaultClient {
    http: reqwest::Client,
    addr: VaultAddr,
    /// Certificates added to the public roots (from `vault-ca-cert` and `extra-ca-certs`).
    cas_given: usize,
}

impl VaultClient {
    /// Builds the client: TLS verified against the compiled-in public roots plus the
    /// certificates in `extra_ca_pems` (`vault-ca-cert`, `extra-ca-certs`).
    pub fn new(
        addr: &VaultAddr,
        extra_ca_pems: &[&str],
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let (tls, added) = super::tls_with_extra_roots(extra_ca_pems);
        if !extra_ca_pems.is_empty() && added == 0 {
            return Err(TransportError::BadVaultCa);
        }
        // A standby's 307 points at the active node: follow it only on the same origin, so
        // the token never goes to a host the caller did not name.
        let policy = super::same_origin_redirects(addr.as_str());
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(policy)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10));
        // HTTPS_PROXY/NO_PROXY are honoured (self-hosted runners behind a proxy; TLS tunnels
        // through it), except towards this machine, where a proxy could only see a token.
        if super::is_loopback_url(addr.as_str()) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| TransportError::Client(e.to_string()))?;
        Ok(VaultClient {
            http,
            addr: addr.clone(),
            cas_given: added,
        })
    }

    pub fn addr(&self) -> &VaultAddr {
        &self.addr
    }

    /// Sends a request, retrying as its policy allows.
    pub async fn send(
        &self,
        request: &Request,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<Answer, CallError> {
        let started = std::time::Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(request, token, body).await;
            let delay = match &outcome {
                Ok(Exchange::Done(_)) => None,
                Ok(Exchange::Status {
                    status,
                    retry_after,
                    ..
                }) => {
                    if vault_api::retryable_status(request.retry, *status) {
                        Some(retry_after.unwrap_or_else(|| backoff(attempt)))
                    } else {
                        None
                    }
                }
                Err(TransportError::Unreachable { failure, .. })
                    if failure.retryable() && vault_api::retryable_connection(request.retry) =>
                {
                    Some(backoff(attempt))
                }
                Err(_) => None,
            };
            let out_of_budget =
                |d: Duration| attempt >= MAX_ATTEMPTS || started.elapsed() + d > RETRY_BUDGET;
            match delay {
                Some(d) if !out_of_budget(d) => {
                    tracing::debug!(path = %request.path, attempt, delay_ms = d.as_millis() as u64, "retrying");
                    tokio::time::sleep(d).await;
                }
                _ => {
                    return match outcome? {
                        Exchange::Done(answer) => Ok(answer),
                        Exchange::Status { failure, .. } => Err(CallError::Vault(failure)),
                    }
                }
            }
        }
    }

    async fn send_once(
        &self,
        request: &Request,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<Exchange, TransportError> {
        let method = request.method.as_str();
        let mut url = format!("{}/v1/{}", self.addr.as_str(), request.path);
        if !request.query.is_empty() {
            let q: Vec<String> = request
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            url.push('?');
            url.push_str(&q.join("&"));
        }
        let mut builder = match request.method {
            vault_api::Method::Get => self.http.get(&url),
            vault_api::Method::Post => self.http.post(&url),
        };
        if let Some(ns) = &request.namespace {
            builder = builder.header("X-Vault-Namespace", ns);
        }
        if request.authenticated {
            if let Some(token) = token {
                let mut value = reqwest::header::HeaderValue::from_str(token.expose_secret())
                    .map_err(|_| {
                        TransportError::Client("the token is not a valid header value".into())
                    })?;
                value.set_sensitive(true);
                builder = builder.header("X-Vault-Token", value);
            }
        }
        // Vault Agent/Proxy with `require_request_header` refuse requests without it (§1.2).
        builder = builder.header("X-Vault-Request", "true");
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let unreachable = |e: reqwest::Error| match self.tls_failure(&e) {
            Some(failure) => TransportError::Tls {
                method,
                path: request.path.clone(),
                failure: Box::new(failure),
            },
            None => TransportError::Unreachable {
                method,
                path: request.path.clone(),
                failure: Box::new(super::transport::vault_unreachable(
                    &e,
                    &self.addr,
                    describe_reqwest(&e),
                )),
            },
        };
        let response = builder.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            return Err(TransportError::ForeignRedirect {
                method,
                path: request.path.clone(),
                location,
            });
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(RETRY_BUDGET.as_secs())));
        let bytes = match super::read_capped(response, super::VAULT_BODY_CAP).await {
            Ok(b) => b,
            Err(super::ReadError::Transport(e)) => return Err(unreachable(e)),
            Err(e @ super::ReadError::TooLarge { .. }) => {
                return Err(TransportError::BadBody {
                    method,
                    path: request.path.clone(),
                    detail: format!("HTTP {status}: {e}"),
                })
            }
        };
        let json: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => Some(v),
                Err(e) if status < 400 => {
                    return Err(TransportError::BadBody {
                        method,
                        path: request.path.clone(),
                        detail: format!("HTTP {status}: {e}"),
                    })
                }
                // A proxy's HTML error page: keep the status, drop the body.
                Err(_) => None,
            }
        };
        let strings = |key: &str| -> Vec<String> {
            json.as_ref()
                .and_then(|v| v.get(key))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        if status < 300 {
            return Ok(Exchange::Done(Answer {
                status,
                warnings: strings("warnings"),
                body: json,
            }));
        }
        let failure = VaultFailure {
            method: request.method,
            path: request.path.clone(),
            namespace: request.namespace.clone(),
            status,
            errors: vault_api::unwrap_errors(&strings("errors")),
            purpose: request.purpose.clone(),
        };
        Ok(Exchange::Status {
            status,
            retry_after,
            failure,
        })
    }
}

impl VaultClient {
    /// A certificate that failed verification, read from the error chain (`None` for every
    /// other failure, which stays `Unreachable`).
    fn tls_failure(&self, e: &reqwest::Error) -> Option<VaultTlsFailure> {
        let rustls::Error::InvalidCertificate(cert) = super::find_rustls_error(e)? else {
            return None;
        };
        let presented = match cert {
            rustls::CertificateError::NotValidForNameContext { presented, .. } => presented.clone(),
            _ => Vec::new(),
        };
        let host = reqwest::Url::parse(self.addr.as_str())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        Some(VaultTlsFailure {
            addr: self.addr.to_string(),
            host,
            kind: super::probe::map_certificate_error(cert),
            presented,
            cas_given: self.cas_given,
        })
    }
}

enum Exchange {
    Done(Answer),
    Status {
        status: u16,
        retry_after: Option<Duration>,
        failure: VaultFailure,
    },
}

/// Exponential backoff with jitter: 250 ms, 500 ms, 1 s… capped, ±25 %.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(MAX_BACKOFF);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    base.mul_f64(jitter)
}

/// The error chain of a reqwest failure, without the URL's query (never holds secrets here,
/// but keeps messages short).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    if e.is_timeout() {
        parts.push("timed out".to_string());
    }
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}
