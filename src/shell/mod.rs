//! The native driver of the handshake's state machine (`pure::machine`): HTTP (Vault, GitHub
//! OIDC, the TokenReview), the TLS probe, GitHub's REST API, files and signals. It decides
//! nothing: it performs each effect the core asks for and hands back what happened.

pub mod driver;
pub mod github;
pub mod http;
pub mod probe;
pub mod transport;

use std::sync::Arc;

/// The runtime the handshake runs on: one thread, since the machine is one sequence of effects
/// and a second worker would buy nothing.
pub fn current_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The runtime the stand-ins run on: two workers (the machines this runs on have few cores),
/// IO and timers on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// TLS verified against the compiled-in public roots plus the certificates of `extra_pems`
/// (`extra-ca-certs`, `vault-ca-cert`): added to the public roots, never replacing them. Returns
/// the config and how many extra certificates were added.
pub fn tls_with_extra_roots(extra_pems: &[&str]) -> (rustls::ClientConfig, usize) {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut added = 0;
    for pem in extra_pems {
        for der in crate::pure::ca::certificate_ders(pem.as_bytes()) {
            if roots
                .add(rustls_pki_types::CertificateDer::from(der))
                .is_ok()
            {
                added += 1;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // The ring provider supports the default protocol versions: this cannot fail.
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (config, added)
}

/// The rustls error somewhere in an error chain (a reqwest failure wraps it in hyper's error and
/// an `io::Error`, whose `source()` skips its payload: `get_ref()` is read too).
pub fn find_rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(found) = find_rustls_error(inner) {
                return Some(found);
            }
        }
        current = err.source();
    }
    None
}

/// The most a GitHub REST answer may hold: a page of 100 artifacts or comments is well under it.
pub const GITHUB_BODY_CAP: usize = 8 * 1024 * 1024;

/// An answer larger than any real one: refused, not read whole into memory.
#[derive(Debug)]
pub enum ReadError {
    TooLarge { cap: usize },
    Transport(reqwest::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge { cap } => {
                write!(
                    f,
                    "the answer is larger than {cap} bytes, more than any real one"
                )
            }
            ReadError::Transport(e) => write!(f, "the answer broke off: {e}"),
        }
    }
}

/// Reads a response body up to `cap` bytes, streaming, and fails past it (the declared
/// `Content-Length` is checked first, the bytes as they arrive after).
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge { cap });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if bytes.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge { cap });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

pub use crate::pure::machine::{https_or_loopback_http, is_loopback_url, origin_of};

/// Follows at most three redirects, and only to the origin of `url` (same scheme, host and
/// port), so a bearer or token never reaches a host the caller did not name, and an https
/// request is never downgraded.
pub fn same_origin_redirects(url: &str) -> reqwest::redirect::Policy {
    let origin = origin_of(url);
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > 3 {
            attempt.error("too many redirects")
        } else if origin_of(attempt.url().as_str()) == origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}
