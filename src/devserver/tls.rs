//! TLS for the stand-ins: a serving certificate signed by a generated CA, the rustls server
//! config that presents it, and a listener that completes handshakes for `axum::serve`.
//!
//! Shared by the kube-apiserver stand-in and the Vault dev server (which serves https when
//! `ServerOptions::tls` asks for it). Binding sockets stays with the callers.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use time::OffsetDateTime;

use super::cluster::ClusterCa;
use super::kube::{San, Validity};

/// How long a connection may take to finish its TLS handshake before it is dropped, so that a
/// client that connects and stays silent cannot hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ServingCertificate {
    pub pem: String,
    der: rustls_pki_types::CertificateDer<'static>,
    key_der: Vec<u8>,
}

/// A serving certificate as k3s `genServerCerts` and dynamiclistener `NewSignedCert` make it:
/// CN `common_name`, EC P-256, random 63-bit serial, keyUsage digitalSignature +
/// keyEncipherment, extKeyUsage serverAuth, no basicConstraints. `sans` are used exactly as
/// given, so a test can leave the bound address out.
pub fn serving_certificate(
    ca: &ClusterCa,
    common_name: &str,
    sans: &[San],
    validity: Validity,
    now: OffsetDateTime,
) -> Result<ServingCertificate, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.subject_alt_names = sans
        .iter()
        .map(|san| match san {
            San::Dns(name) => Ok(SanType::DnsName(name.as_str().try_into()?)),
            San::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    let serial: u64 = rand::thread_rng().gen::<u64>() >> 1;
    params.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
    let day = time::Duration::days(1);
    let (not_before, not_after) = match validity {
        Validity::Valid => (now - time::Duration::hours(1), now + day * 365),
        Validity::Expired => (now - day * 366, now - day),
        Validity::NotYetValid => (now + day, now + day * 366),
    };
    params.not_before = not_before;
    params.not_after = not_after;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, ca.issuer())?;
    Ok(ServingCertificate {
        pem: cert.pem(),
        der: cert.der().clone(),
        key_der: key.serialize_der(),
    })
}

/// The rustls server config presenting `serving` followed by the CA in `ca_pem`, as RKE2
/// serves its leaf (docs/cluster-behaviour.md §1) and as most Vault listeners are configured
/// (`tls_cert_file` holding the chain).
pub fn server_config(
    serving: &ServingCertificate,
    ca_pem: &str,
) -> io::Result<Arc<rustls::ServerConfig>> {
    let mut chain = vec![serving.der.clone()];
    chain.extend(
        crate::pure::ca::certificate_ders(ca_pem.as_bytes())
            .into_iter()
            .map(rustls_pki_types::CertificateDer::from),
    );
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(
        serving.key_der.clone(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(io::Error::other)?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

/// The https setup of a stand-in: a CA named `ca_name` made now, and a serving certificate
/// with CN `common_name` and `sans` that it signs. Returns the server config and the CA's PEM
/// (what a test hands the action to trust).
pub fn https_config(
    ca_name: &str,
    common_name: &str,
    sans: &[San],
) -> io::Result<(Arc<rustls::ServerConfig>, String)> {
    let now = OffsetDateTime::now_utc();
    let ca = super::cluster::rke2_ca(ca_name, now)
        .map_err(|e| io::Error::other(format!("cannot make the CA: {e}")))?;
    let serving = serving_certificate(&ca, common_name, sans, Validity::Valid, now)
        .map_err(|e| io::Error::other(format!("cannot make the serving certificate: {e}")))?;
    Ok((server_config(&serving, &ca.pem)?, ca.pem))
}

/// Accepts TCP connections and completes TLS handshakes concurrently, handing finished streams
/// to `axum::serve`: a slow or silent client never delays the next one.
pub struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn spawn(
        tcp: tokio::net::TcpListener,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(_) => {
                        // Back-off, not synchronisation: an accept error such as EMFILE would
                        // otherwise spin this loop.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    // A failed handshake (wrong CA, plain HTTP, a port probe) just drops the
                    // connection, as a real server does.
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener {
            incoming: rx,
            local,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(accepted) => accepted,
            // The accept task only ends with the runtime; wait for the shutdown signal.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
