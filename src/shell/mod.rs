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

/// TLS with only the public web roots compiled into the binary (the image is `FROM scratch`).
pub fn tls_public_roots() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // The ring provider supports the default protocol versions: this cannot fail.
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}
