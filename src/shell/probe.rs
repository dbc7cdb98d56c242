//! The TLS probe of `kubernetes_host` on the wire: one TCP connection and one TLS handshake that
//! trusts only the CAs about to be written to Vault, as Vault's own client will
//! (docs/vault-behaviour.md §3.5).
//!
//! Owns the socket, the rustls client configuration (the ring provider passed in, never a
//! process-wide default; no public roots) and the mapping of rustls and socket errors onto the
//! core's [`TlsFailureKind`]; what a failure means and how it is worded is decided in
//! `pure::probe`. It contacts only the host it is given, makes one attempt (retries are the
//! caller's call), checks certificates at the time it is given, and never sends anything after
//! the handshake: no HTTP request, so no token or JWT can leave through it. It connects directly,
//! never through `HTTPS_PROXY` (a raw TLS probe has no proxy support); a failure to connect
//! while a proxy is set says so.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, InvalidMessage, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::pure::host::{HostName, KubernetesHost};
use crate::pure::machine::wire::{Bytes, ProbeReport, ProbeRequest};
use crate::pure::probe::{classify_report, ProbeFinding, TlsFailureKind};

/// How many bytes of the server's first answer are kept to describe a non-TLS answer.
const KEPT_ANSWER_BYTES: usize = 80;

/// Probes `host` once and classifies what was found (the machine does the same through
/// [`probe_wire`]).
pub async fn probe(
    host: &KubernetesHost,
    ca_ders: &[Vec<u8>],
    timeout: Duration,
    now: i64,
) -> ProbeFinding {
    let wanted = match host.host() {
        HostName::Ip(ip) => ip.to_string(),
        HostName::Dns(name) => name.clone(),
    };
    let request = ProbeRequest {
        host: host.as_str().to_string(),
        connect_host: wanted.clone(),
        port: host.port(),
        server_name: wanted.clone(),
        ca_ders: ca_ders.iter().map(|d| Bytes(d.clone())).collect(),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        now,
    };
    classify_report(probe_wire(&request).await, ca_ders, &wanted, now)
}

/// The probe effect: TCP connect, then a TLS handshake trusting only the request's CAs, with
/// its server name, certificates checked at its `now`. The timeout bounds name resolution,
/// connect and handshake together.
pub async fn probe_wire(request: &ProbeRequest) -> ProbeReport {
    let ca_ders: Vec<Vec<u8>> = request.ca_ders.iter().map(|b| b.0.clone()).collect();
    let verifier = match RecordingVerifier::new(&ca_ders, request.now) {
        Ok(verifier) => Arc::new(verifier),
        Err(detail) => return ProbeReport::BadCa { detail },
    };
    let after_ms = request.timeout_ms;
    tracing::debug!(host = %request.host, after_ms, cas = ca_ders.len(), "probing kubernetes_host");
    let attempt = handshake(request, verifier);
    match tokio::time::timeout(Duration::from_millis(after_ms), attempt).await {
        Ok(report) => report,
        Err(_) => ProbeReport::TimedOut { after_ms },
    }
}

fn chain_of(verifier: &RecordingVerifier) -> Vec<Bytes> {
    verifier.chain().into_iter().map(Bytes).collect()
}

async fn handshake(request: &ProbeRequest, verifier: Arc<RecordingVerifier>) -> ProbeReport {
    let after_ms = request.timeout_ms;
    let port = request.port;
    let (addrs, server_name) = match request.connect_host.parse::<std::net::IpAddr>() {
        Ok(ip) => (
            vec![SocketAddr::new(ip, port)],
            ServerName::IpAddress(ip.into()),
        ),
        Err(_) => {
            let name = request.server_name.clone();
            let server_name = match ServerName::try_from(name.clone()) {
                Ok(server_name) => server_name,
                Err(e) => {
                    return ProbeReport::Failed {
                        reason: TlsFailureKind::Other(format!(
                            "`{name}` is not a name TLS can check ({e})"
                        )),
                        chain: Vec::new(),
                    }
                }
            };
            match tokio::net::lookup_host((request.connect_host.as_str(), port)).await {
                Ok(found) => (found.collect(), server_name),
                Err(e) => {
                    return ProbeReport::Unreachable {
                        detail: format!("`{name}` does not resolve ({e})"),
                    }
                }
            }
        }
    };
    // Every address of the name is tried in turn, as one connect: that is how Vault's Go client
    // dials too, and it is not a retry of a failed probe.
    let tcp = match TcpStream::connect(addrs.as_slice()).await {
        Ok(tcp) => tcp,
        Err(e) => return connect_failure(&e, after_ms),
    };
    let config = client_config(verifier.clone());
    let connector = TlsConnector::from(Arc::new(config));
    let stream = FirstBytes::new(tcp);
    match connector.connect(server_name, stream).into_fallible().await {
        Ok(tls) => {
            let protocol = match tls.get_ref().1.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
                Some(other) => format!("{other:?}"),
                None => "TLS".to_string(),
            };
            // Dropping the stream closes the socket: nothing is sent after the handshake.
            drop(tls);
            ProbeReport::Verified {
                chain: chain_of(&verifier),
                protocol,
            }
        }
        Err((e, stream)) => {
            let reason = match find_rustls(&e) {
                Some(tls) => map_rustls(tls, &stream),
                None => match e.kind() {
                    io::ErrorKind::TimedOut => return ProbeReport::TimedOut { after_ms },
                    io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe => {
                        return ProbeReport::Unreachable {
                            detail: format!(
                                "the connection was reset during the TLS handshake ({e})"
                            ),
                        }
                    }
                    io::ErrorKind::UnexpectedEof if stream.looks_like_something_else() => {
                        TlsFailureKind::NotTls {
                            first_bytes: stream.first.clone(),
                        }
                    }
                    io::ErrorKind::UnexpectedEof => TlsFailureKind::ClosedByServer,
                    _ => TlsFailureKind::Other(e.to_string()),
                },
            };
            tracing::debug!(error = %e, "TLS handshake failed");
            ProbeReport::Failed {
                reason,
                chain: chain_of(&verifier),
            }
        }
    }
}

fn connect_failure(e: &io::Error, after_ms: u64) -> ProbeReport {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ProbeReport::Refused,
        // The OS gave up before the deadline (SYN retries exhausted): the same situation as the
        // deadline passing, reported the same way.
        io::ErrorKind::TimedOut => ProbeReport::TimedOut { after_ms },
        _ => ProbeReport::Unreachable {
            detail: e.to_string(),
        },
    }
}

/// The rustls error inside an `io::Error`, however deeply wrapped (docs/dependencies.md §3:
/// `source()` skips the payload, `get_ref()` does not).
fn find_rustls(e: &io::Error) -> Option<&rustls::Error> {
    let inner = e.get_ref()?;
    inner
        .downcast_ref::<rustls::Error>()
        .or_else(|| inner.downcast_ref::<io::Error>().and_then(find_rustls))
}

fn map_rustls(e: &rustls::Error, stream: &FirstBytes) -> TlsFailureKind {
    match e {
        rustls::Error::InvalidCertificate(cert) => map_certificate_error(cert),
        // The first record header is not TLS: something else answers on this port.
        rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
        ) => TlsFailureKind::NotTls {
            first_bytes: stream.first.clone(),
        },
        rustls::Error::InvalidMessage(_) if stream.looks_like_something_else() => {
            TlsFailureKind::NotTls {
                first_bytes: stream.first.clone(),
            }
        }
        rustls::Error::AlertReceived(alert) => TlsFailureKind::Alert(format!("{alert:?}")),
        other => TlsFailureKind::Other(other.to_string()),
    }
}

pub(crate) fn map_certificate_error(e: &CertificateError) -> TlsFailureKind {
    // rustls 0.23 reports the `…Context` variants (docs/dependencies.md §3); both spellings map.
    match e {
        CertificateError::UnknownIssuer => TlsFailureKind::UnknownIssuer,
        CertificateError::BadSignature => TlsFailureKind::BadSignature,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TlsFailureKind::NotValidForName
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            TlsFailureKind::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            TlsFailureKind::NotYetValid
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            TlsFailureKind::WrongPurpose
        }
        other => TlsFailureKind::Other(format!("invalid peer certificate: {other:?}")),
    }
}

/// A client configuration trusting only the verifier's CAs, with the ring provider.
fn client_config(verifier: Arc<RecordingVerifier>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // The ring provider supports the default protocol versions: this cannot fail.
        .expect("ring supports TLS 1.2 and 1.3")
        // `dangerous` only because the verifier is custom: it delegates every decision to
        // rustls's own WebPKI verifier and merely records the chain and pins the time.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

/// rustls's WebPKI verifier, with the chain the server presented kept for the report (rustls
/// drops it when verification fails) and the check time pinned to the caller's clock.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    now: UnixTime,
    chain: OnceLock<Vec<Vec<u8>>>,
}

impl RecordingVerifier {
    /// The verifier for `ca_ders`; the error says why they cannot anchor a handshake.
    fn new(ca_ders: &[Vec<u8>], now: i64) -> Result<RecordingVerifier, String> {
        let mut roots = rustls::RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(
            ca_ders
                .iter()
                .map(|der| CertificateDer::from(der.as_slice()).into_owned()),
        );
        if added == 0 {
            return Err(format!(
                "none of the `{ignored}` CA certificates can be used as a trust anchor"
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("the CA certificates cannot be used to verify ({e})"))?;
        let now = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
        Ok(RecordingVerifier {
            inner,
            now,
            chain: OnceLock::new(),
        })
    }

    /// The chain the server presented, end-entity first; empty when none arrived.
    fn chain(&self) -> Vec<Vec<u8>> {
        self.chain.get().cloned().unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        // One handshake presents one chain; a second call cannot happen on this connection.
        let _ = self.chain.set(chain);
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            self.now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TCP stream that keeps the first bytes the server sends, to say what answered when it is
/// not TLS.
struct FirstBytes {
    inner: TcpStream,
    first: Vec<u8>,
}

impl FirstBytes {
    fn new(inner: TcpStream) -> FirstBytes {
        FirstBytes {
            inner,
            first: Vec::new(),
        }
    }

    /// True when the server sent bytes that cannot start a TLS record (content types 20-24).
    fn looks_like_something_else(&self) -> bool {
        self.first
            .first()
            .is_some_and(|b| !(0x14..=0x18).contains(b))
    }
}

impl AsyncRead for FirstBytes {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let room = KEPT_ANSWER_BYTES.saturating_sub(self.first.len());
            let fresh = &buf.filled()[before..];
            let keep = &fresh[..fresh.len().min(room)];
            self.first.extend_from_slice(keep);
        }
        polled
    }
}

impl AsyncWrite for FirstBytes {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
