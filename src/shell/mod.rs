//! The native shell: the network side of the handshake (Vault, GitHub OIDC) and the runner's
//! files. Everything it decides about Vault comes from the core; it sends, reads and records.

pub mod artifact;
pub mod github;
pub mod handshake;
pub mod oidc;
pub mod probe;
pub mod proof;
pub mod runner;
pub mod vault;

use std::sync::Arc;

/// The runtime every driver and stand-in runs on: two workers (the machines this runs on have
/// few cores), IO and timers on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// TLS with only the public web roots compiled into the binary (the image is `FROM scratch`).
pub fn tls_public_roots() -> rustls::ClientConfig {
    tls_with_extra_roots(&[]).0
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

/// True for hosts on this machine: no proxy can reach them, and a proxy must not see a token
/// sent over plain http to one.
pub fn is_loopback_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
}
