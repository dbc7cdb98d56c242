//! The `http` effect, natively: reqwest over rustls, one client per distinct trust, redirect,
//! proxy and timeout setting, kept for the run (a Vault run sends every call through one).
//!
//! TLS is always verified: against the compiled-in public roots plus the request's PEMs, or
//! (for the TokenReview to the API server) against the request's PEMs alone. Bodies are read
//! streaming up to the request's cap. What a status or a failure means is the core's call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::pure::machine::wire::{Bytes, HttpFailure, HttpRequest, HttpResponse, Redirects};
use crate::pure::transport::TransportKind;

/// The clients made so far, one per origin (shared by the requests of one batch).
#[derive(Default)]
pub struct Clients {
    /// One client per origin, with the settings it was built for. A request to that origin with
    /// other settings (the OIDC token from a stand-in that also serves Vault, the proof's login)
    /// replaces it, and dropping it closes its idle connections: a server that serves one
    /// connection at a time, as a single-threaded HTTP/1.1 server does, takes the next
    /// connection only once the last one is closed.
    made: RefCell<HashMap<String, (String, reqwest::Client)>>,
}

impl Clients {
    fn client_for(&self, request: &HttpRequest) -> Result<reqwest::Client, HttpFailure> {
        let origin = super::origin_of(&request.url);
        let key = format!(
            "{}|{:?}|{}|{}|{}|{}",
            request.public_roots,
            request.redirects,
            request.use_proxy,
            request.timeout_ms,
            request.connect_timeout_ms,
            request.extra_ca_pems.join("\u{0}")
        );
        if let Some((made_for, client)) = self.made.borrow().get(&origin) {
            if *made_for == key {
                return Ok(client.clone());
            }
        }
        let tls = if request.public_roots {
            let pems: Vec<&str> = request.extra_ca_pems.iter().map(String::as_str).collect();
            super::tls_with_extra_roots(&pems).0
        } else {
            only_roots(&request.extra_ca_pems)?
        };
        let redirects = match request.redirects {
            Redirects::None => reqwest::redirect::Policy::none(),
            Redirects::SameOrigin => super::same_origin_redirects(&request.url),
        };
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(redirects)
            .timeout(Duration::from_millis(request.timeout_ms))
            .connect_timeout(Duration::from_millis(request.connect_timeout_ms));
        if !request.use_proxy {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| HttpFailure::Invalid {
            detail: format!("cannot build the HTTP client: {e}"),
        })?;
        self.made.borrow_mut().insert(origin, (key, client.clone()));
        Ok(client)
    }

    /// Sends one request and reads its answer up to the cap.
    pub async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpFailure> {
        let client = self.client_for(request)?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            HttpFailure::Invalid {
                detail: format!("`{}` is not an HTTP method", request.method),
            }
        })?;
        let mut builder = client.request(method, &request.url);
        for (name, value) in &request.headers {
            let mut value = reqwest::header::HeaderValue::from_str(value.0.expose_secret())
                .map_err(|_| HttpFailure::Invalid {
                    detail: format!("the `{name}` header is not a valid header value"),
                })?;
            value.set_sensitive(true);
            builder = builder.header(name.as_str(), value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.0.clone());
        }
        let response = builder.send().await.map_err(|e| failure(&e))?;
        let status = response.status().as_u16();
        let headers = ["location", "retry-after", "content-type"]
            .iter()
            .filter_map(|name| {
                response
                    .headers()
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| (name.to_string(), v.to_string()))
            })
            .collect();
        let cap = usize::try_from(request.body_cap).unwrap_or(usize::MAX);
        let body = match super::read_capped(response, cap).await {
            Ok(bytes) => bytes,
            Err(super::ReadError::TooLarge { .. }) => {
                return Err(HttpFailure::TooLarge {
                    cap: request.body_cap,
                })
            }
            Err(super::ReadError::Transport(e)) => return Err(failure(&e)),
        };
        Ok(HttpResponse {
            status,
            headers,
            body: Bytes(body),
        })
    }
}

/// TLS trusting only these PEMs (the cluster CA for the API server): no public roots.
fn only_roots(pems: &[String]) -> Result<rustls::ClientConfig, HttpFailure> {
    let mut roots = rustls::RootCertStore::empty();
    for pem in pems {
        for der in crate::pure::ca::certificate_ders(pem.as_bytes()) {
            roots
                .add(rustls_pki_types::CertificateDer::from(der))
                .map_err(|e| HttpFailure::Invalid {
                    detail: e.to_string(),
                })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpFailure::Invalid {
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A reqwest failure as the core reads it.
fn failure(e: &reqwest::Error) -> HttpFailure {
    if let Some(rustls::Error::InvalidCertificate(cert)) = super::find_rustls_error(e) {
        let presented = match cert {
            rustls::CertificateError::NotValidForNameContext { presented, .. } => presented.clone(),
            _ => Vec::new(),
        };
        return HttpFailure::Certificate {
            reason: super::probe::map_certificate_error(cert),
            presented,
        };
    }
    let reason = super::transport::transport_kind(e);
    if e.is_timeout() && reason == TransportKind::TimedOut {
        return HttpFailure::Timeout;
    }
    HttpFailure::Transport {
        detail: describe(e),
        reason,
    }
}

/// The error chain of a reqwest failure, for a person.
fn describe(e: &reqwest::Error) -> String {
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
