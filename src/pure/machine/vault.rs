//! Vault calls as effects: the request on the wire, retries with backoff and `Retry-After`, and
//! reading the answer. The driver sends bytes; what a status, a body or a broken connection
//! means is decided here.
//!
//! TLS is always verified against the public roots plus `vault-ca-cert` and `extra-ca-certs`.
//! Redirects (a standby's 307) are followed only to the same scheme, host and port.
//! `HTTPS_PROXY`/`NO_PROXY` are honoured, except towards this machine. A login is never retried.

use serde_json::Value;

use super::wire::{HttpFailure, HttpRequest, HttpResponse, Redirects, WireSecret};
use super::{Io, Jitter};
use crate::pure::host::VaultAddr;
use crate::pure::secret::Secret;
use crate::pure::transport::{TransportKind, VaultUnreachable};
use crate::pure::vault_api::{self, Request, VaultFailure, VaultTlsFailure};
use crate::pure::{Diagnostic, ErrorClass};

/// Time allowed for all attempts of one retried call, backoff included (ms).
pub const RETRY_BUDGET_MS: u64 = 60_000;
const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF_MS: u64 = 250;
const MAX_BACKOFF_MS: u64 = 8_000;
/// The most any Vault answer may hold: a config read with a large CA bundle is tens of KB.
pub const VAULT_BODY_CAP: u64 = 1024 * 1024;
const CONNECT_TIMEOUT_MS: u64 = 10_000;

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
    #[error("cannot build the request: {0}")]
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

/// How to reach one Vault address.
#[derive(Clone, Debug)]
pub struct VaultClient {
    addr: VaultAddr,
    extra_ca_pems: Vec<String>,
    /// Certificates added to the public roots (from `vault-ca-cert` and `extra-ca-certs`).
    cas_given: usize,
    timeout_ms: u64,
    /// `host:port` of the runner's https proxy, to name in a proxy failure.
    proxy: Option<String>,
}

enum Exchange {
    Done(Answer),
    Status {
        retry_after_ms: Option<u64>,
        failure: VaultFailure,
    },
}

impl VaultClient {
    /// TLS verified against the public roots plus the certificates in `extra_ca_pems`
    /// (`vault-ca-cert`, `extra-ca-certs`).
    pub fn new(
        addr: &VaultAddr,
        extra_ca_pems: &[&str],
        timeout_ms: u64,
        proxy: Option<String>,
    ) -> Result<Self, TransportError> {
        let cas_given = extra_ca_pems
            .iter()
            .map(|pem| crate::pure::ca::certificate_ders(pem.as_bytes()).len())
            .sum();
        if !extra_ca_pems.is_empty() && cas_given == 0 {
            return Err(TransportError::BadVaultCa);
        }
        Ok(VaultClient {
            addr: addr.clone(),
            extra_ca_pems: extra_ca_pems.iter().map(|s| s.to_string()).collect(),
            cas_given,
            timeout_ms,
            proxy,
        })
    }

    /// Sends a request, retrying as its policy allows.
    pub async fn send(
        &self,
        io: &Io,
        jitter: &Jitter,
        request: &Request,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<Answer, CallError> {
        let started = io.now_ms();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(io, request, token, body).await;
            let delay = match &outcome {
                Ok(Exchange::Done(_)) => None,
                Ok(Exchange::Status {
                    retry_after_ms,
                    failure,
                }) => vault_api::retryable_status(request.retry, failure.status)
                    .then(|| retry_after_ms.unwrap_or_else(|| backoff(attempt, jitter))),
                Err(TransportError::Unreachable { failure, .. })
                    if failure.retryable() && vault_api::retryable_connection(request.retry) =>
                {
                    Some(backoff(attempt, jitter))
                }
                Err(_) => None,
            };
            let in_budget = match delay {
                Some(d) if attempt < MAX_ATTEMPTS => {
                    let elapsed = io.now_ms().saturating_sub(started);
                    (elapsed + d <= RETRY_BUDGET_MS).then_some(d)
                }
                _ => None,
            };
            match in_budget {
                Some(d) => io.sleep(d).await,
                None => {
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
        io: &Io,
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
        let plain = |v: &str| WireSecret(Secret::new(v.to_string()));
        let mut headers = Vec::new();
        if let Some(ns) = &request.namespace {
            headers.push(("X-Vault-Namespace".to_string(), plain(ns)));
        }
        if request.authenticated {
            if let Some(token) = token {
                headers.push(("X-Vault-Token".to_string(), WireSecret(token.clone())));
            }
        }
        // Vault Agent/Proxy with `require_request_header` refuse requests without it (§1.2).
        headers.push(("X-Vault-Request".to_string(), plain("true")));
        let body = body.map(|b| {
            headers.push(("Content-Type".to_string(), plain("application/json")));
            super::wire::Bytes(b.to_string().into_bytes())
        });
        let sent = io
            .http(HttpRequest {
                method: method.to_string(),
                url,
                headers,
                body,
                timeout_ms: self.timeout_ms,
                connect_timeout_ms: CONNECT_TIMEOUT_MS.min(self.timeout_ms),
                public_roots: true,
                extra_ca_pems: self.extra_ca_pems.clone(),
                redirects: Redirects::SameOrigin,
                // A proxy could only see a token towards this machine.
                use_proxy: !super::url::is_loopback_url(self.addr.as_str()),
                body_cap: VAULT_BODY_CAP,
            })
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(self.transport(request, e)),
        };
        self.read(request, response)
    }

    fn transport(&self, request: &Request, e: HttpFailure) -> TransportError {
        let method = request.method.as_str();
        let path = request.path.clone();
        let unreachable = |kind: TransportKind, detail: String| {
            // Only a proxy failure names the proxy (host and port: never its credentials).
            let proxy = match kind {
                TransportKind::ProxyUnreachable
                | TransportKind::ProxyAuthRequired
                | TransportKind::ProxyRefused => self.proxy.clone(),
                _ => None,
            };
            TransportError::Unreachable {
                method,
                path: path.clone(),
                failure: Box::new(VaultUnreachable {
                    addr: self.addr.to_string(),
                    kind,
                    proxy,
                    detail,
                }),
            }
        };
        match e {
            HttpFailure::Timeout => unreachable(TransportKind::TimedOut, "timed out".into()),
            HttpFailure::Certificate { reason, presented } => TransportError::Tls {
                method,
                path: path.clone(),
                failure: Box::new(VaultTlsFailure {
                    addr: self.addr.to_string(),
                    host: super::url::host_of(self.addr.as_str()),
                    kind: reason,
                    presented,
                    cas_given: self.cas_given,
                }),
            },
            HttpFailure::TooLarge { cap } => TransportError::BadBody {
                method,
                path: path.clone(),
                detail: format!("the answer is larger than {cap} bytes, more than any real one"),
            },
            HttpFailure::Redirect { detail } => TransportError::ForeignRedirect {
                method,
                path: path.clone(),
                location: detail,
            },
            HttpFailure::Transport { detail, reason } => unreachable(reason, detail),
            HttpFailure::Invalid { detail } => TransportError::Client(detail),
        }
    }

    fn read(&self, request: &Request, response: HttpResponse) -> Result<Exchange, TransportError> {
        let method = request.method.as_str();
        let status = response.status;
        if (300..400).contains(&status) {
            return Err(TransportError::ForeignRedirect {
                method,
                path: request.path.clone(),
                location: response.header("location").unwrap_or_default().to_string(),
            });
        }
        let retry_after_ms = response
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s.saturating_mul(1000).min(RETRY_BUDGET_MS));
        let bytes = &response.body.0;
        let json: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice(bytes) {
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
            retry_after_ms,
            failure,
        })
    }
}

/// Exponential backoff with jitter: 250 ms, 500 ms, 1 s… capped, ±25 %.
fn backoff(attempt: u32, jitter: &Jitter) -> u64 {
    let base = FIRST_BACKOFF_MS
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(MAX_BACKOFF_MS);
    (base as f64 * jitter.factor()) as u64
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::Poll;

    use super::*;
    use crate::pure::machine::wire::{Bytes, Effect, Reply};
    use crate::pure::machine::{poll_once, Io};

    fn unavailable(retry_after_s: u64) -> Reply {
        Reply::Http(
            Ok(HttpResponse {
                status: 503,
                headers: vec![("retry-after".into(), retry_after_s.to_string())],
                body: Bytes(br#"{"errors":["Vault is sealed"]}"#.to_vec()),
            })
            .into(),
        )
    }

    /// The effects a health check asks for when each attempt is answered with a 503 carrying
    /// `Retry-After: 20`, an attempt takes `tick` ms and a sleep as long as it asked, on the
    /// clock handed in with each resume.
    fn effects_until_given_up(tick: u64) -> Vec<String> {
        let addr = crate::pure::host::parse_vault_addr("vault-addr", "https://vault.example:8200")
            .expect("address");
        let client = VaultClient::new(&addr, &[], 5_000, None).expect("client");
        let io = Io::default();
        let jitter = Jitter::new(&[7; 8]);
        let request = vault_api::health(None);
        let mut call = pin!(client.send(&io, &jitter, &request, None, None));
        let mut seen = Vec::new();
        let mut clock = 0;
        let mut waiting = 0;
        let mut reply = None;
        loop {
            io.clock.set(clock);
            if let Some(answer) = reply.take() {
                io.hand_in(waiting, answer);
            }
            match poll_once(call.as_mut()) {
                Poll::Ready(result) => {
                    let failure = result.expect_err("every answer is a 503");
                    assert!(failure.to_string().contains("503"), "{failure}");
                    return seen;
                }
                Poll::Pending => {}
            }
            let (id, effect) = io.parked.borrow_mut().pop().expect("an effect");
            waiting = id;
            reply = Some(match effect {
                Effect::Http(_) => {
                    seen.push("http".to_string());
                    clock += tick;
                    unavailable(20)
                }
                Effect::Sleep { ms } => {
                    seen.push(format!("sleep {ms}"));
                    clock += ms;
                    Reply::Done { error: None }
                }
                other => panic!("unexpected effect {other:?}"),
            });
        }
    }

    #[test]
    fn the_retry_budget_is_measured_on_the_clock_each_resume_carries() {
        // Attempts that answer at once: three 20 s waits fit the 60 s budget, a fourth does not.
        assert_eq!(
            effects_until_given_up(0),
            [
                "http",
                "sleep 20000",
                "http",
                "sleep 20000",
                "http",
                "sleep 20000",
                "http"
            ]
        );
        // Attempts that take 15 s each: after one wait, 50 s have passed; a second would end
        // past the budget.
        assert_eq!(
            effects_until_given_up(15_000),
            ["http", "sleep 20000", "http"]
        );
    }
}
