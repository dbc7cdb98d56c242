//! The TLS probe against real rustls servers on loopback: certificates made here with rcgen (a
//! CA, serving certificates with chosen names and validity), ephemeral ports, one probe each.
//! Nothing waits on a clock except the timeout case, whose timeout is the point.
#![cfg(feature = "dev-server")]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use vault_k8s_handshake::pure::host::{parse_kubernetes_host, KubernetesHost};
use vault_k8s_handshake::pure::probe::{ProbeFinding, ProbeMode, ProbeOutcome};
use vault_k8s_handshake::shell::probe::probe;

/// Generous: these handshakes take milliseconds, but a loaded 2-core machine may stall.
const PATIENT: Duration = Duration::from_secs(30);

struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

impl TestCa {
    fn root(cn: &str) -> TestCa {
        let params = ca_params(cn);
        let key = KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        TestCa { params, key, der }
    }

    fn intermediate(cn: &str, parent: &TestCa) -> TestCa {
        let mut params = ca_params(cn);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let der = params
            .signed_by(&key, &parent.issuer())
            .unwrap()
            .der()
            .clone();
        TestCa { params, key, der }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn ders(&self) -> Vec<Vec<u8>> {
        vec![self.der.to_vec()]
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    params
}

/// A serving certificate shaped like RKE2's `kube-apiserver` leaf.
struct Serving {
    sans: Vec<SanType>,
    validity: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl Serving {
    fn for_ip(ip: &str) -> Serving {
        Serving {
            sans: vec![SanType::IpAddress(ip.parse().unwrap())],
            validity: None,
        }
    }

    fn expired(mut self) -> Serving {
        self.validity = Some((
            rcgen::date_time_ymd(2020, 1, 1),
            rcgen::date_time_ymd(2021, 1, 1),
        ));
        self
    }

    /// The leaf DER and its key, signed by `issuer`.
    fn issue(self, issuer: &TestCa) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.subject_alt_names = self.sans;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        if let Some((not_before, not_after)) = self.validity {
            params.not_before = not_before;
            params.not_after = not_after;
        }
        let key = KeyPair::generate().unwrap();
        let der = params
            .signed_by(&key, &issuer.issuer())
            .unwrap()
            .der()
            .clone();
        (der, PrivateKeyDer::Pkcs8(key.serialize_der().into()))
    }
}

/// A TLS server presenting `chain` on `bind` (port 0). For the first connection, the count of
/// application bytes received after the handshake (`None` if the handshake failed) is sent on
/// the returned channel once the client has gone.
async fn tls_server(
    bind: &str,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, oneshot::Receiver<Option<usize>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let tx = tx.take();
            tokio::spawn(async move {
                let received = match acceptor.accept(tcp).await {
                    // Held open until the client goes; whatever it sent first is counted.
                    Ok(mut tls) => {
                        let mut buf = Vec::new();
                        let _ = tls.read_to_end(&mut buf).await;
                        Some(buf.len())
                    }
                    Err(_) => None,
                };
                if let Some(tx) = tx {
                    let _ = tx.send(received);
                }
            });
        }
    });
    (addr, rx)
}

/// A listener that answers anything with a plain HTTP 400, as an HTTP port would.
async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if tcp.read(&mut buf).await.is_ok() {
                    let _ = tcp
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                }
                // Reading on until the client closes keeps unread bytes from turning our
                // close into a reset that could overtake the answer.
                while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// A listener that accepts and never says a word.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

fn host(url: &str) -> KubernetesHost {
    parse_kubernetes_host("kubernetes-host", url, true).unwrap()
}

fn url(ip: &str, addr: SocketAddr) -> String {
    format!("https://{ip}:{}", addr.port())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn verified_handshake_sends_nothing_after_it() {
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let (leaf, key) = Serving::for_ip("127.0.0.1").issue(&ca);
    let (addr, received) = tls_server("127.0.0.1:0", vec![leaf, ca.der.clone()], key).await;
    let finding = probe(&host(&url("127.0.0.1", addr)), &ca.ders(), PATIENT, now()).await;
    let ProbeFinding::Verified {
        presented,
        protocol,
    } = &finding
    else {
        panic!("expected verified, got {finding:?}");
    };
    assert_eq!(presented.subject, "CN=kube-apiserver");
    assert_eq!(presented.issuer, "CN=rke2-server-ca@1764300000");
    assert_eq!(presented.sans, ["IP:127.0.0.1"]);
    assert_eq!(protocol, "TLS 1.3");
    assert_eq!(finding.outcome(ProbeMode::Require), ProbeOutcome::Pass);
    assert_eq!(
        received.await.unwrap(),
        Some(0),
        "no byte after the handshake"
    );
}

#[tokio::test]
async fn dns_name_is_checked_against_dns_sans() {
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let (leaf, key) = Serving {
        sans: vec![SanType::DnsName("localhost".try_into().unwrap())],
        validity: None,
    }
    .issue(&ca);
    let (addr, _) = tls_server("127.0.0.1:0", vec![leaf], key).await;
    let finding = probe(
        &host(&format!("https://localhost:{}", addr.port())),
        &ca.ders(),
        PATIENT,
        now(),
    )
    .await;
    assert_eq!(finding.kind(), "verified", "{finding:?}");
}

#[tokio::test]
async fn wrong_ca_names_the_issuer_that_signed() {
    let given = TestCa::root("rke2-server-ca@1764300000");
    let other = TestCa::root("rke2-server-ca@1800000000");
    let (leaf, key) = Serving::for_ip("127.0.0.1").issue(&other);
    let (addr, _) = tls_server("127.0.0.1:0", vec![leaf, other.der.clone()], key).await;
    let finding = probe(
        &host(&url("127.0.0.1", addr)),
        &given.ders(),
        PATIENT,
        now(),
    )
    .await;
    assert_eq!(finding.kind(), "not-signed-by-ca", "{finding:?}");
    assert_eq!(
        finding.message(),
        "the API server certificate `CN=kube-apiserver` is signed by \
         `CN=rke2-server-ca@1800000000`, which is not among the given CAs \
         (`CN=rke2-server-ca@1764300000`)"
    );
    assert_eq!(finding.outcome(ProbeMode::Auto), ProbeOutcome::Fail);
}

#[tokio::test]
async fn host_not_in_sans_lists_the_sans() {
    // 127.0.0.0/8 is loopback: the server listens on 127.0.0.2 with a certificate for
    // 127.0.0.1, as a VIP missing from `tls-san` would.
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let (leaf, key) = Serving {
        sans: vec![
            SanType::DnsName("kubernetes".try_into().unwrap()),
            SanType::IpAddress("127.0.0.1".parse().unwrap()),
            SanType::IpAddress(IpAddr::from([10, 43, 0, 1])),
        ],
        validity: None,
    }
    .issue(&ca);
    let (addr, _) = tls_server("127.0.0.2:0", vec![leaf], key).await;
    let finding = probe(&host(&url("127.0.0.2", addr)), &ca.ders(), PATIENT, now()).await;
    assert_eq!(
        finding.message(),
        "the API server certificate `CN=kube-apiserver` is not valid for `127.0.0.2`: its \
         names are `DNS:kubernetes`, `IP:127.0.0.1`, `IP:10.43.0.1`"
    );
    let hint = finding.hint().unwrap();
    assert!(hint.contains("add `tls-san: [127.0.0.2]`"), "{hint}");
    assert!(!finding.public_message().contains("127.0.0"));
}

#[tokio::test]
async fn expired_serving_certificate() {
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let (leaf, key) = Serving::for_ip("127.0.0.1").expired().issue(&ca);
    let (addr, _) = tls_server("127.0.0.1:0", vec![leaf], key).await;
    let now = now();
    let finding = probe(&host(&url("127.0.0.1", addr)), &ca.ders(), PATIENT, now).await;
    assert_eq!(finding.kind(), "expired", "{finding:?}");
    assert!(
        finding
            .message()
            .starts_with("the API server certificate `CN=kube-apiserver` expired at `2021-01-01T00:00:00Z` (checked at"),
        "{}",
        finding.message()
    );
}

#[tokio::test]
async fn certificates_are_checked_at_the_time_given() {
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let (leaf, key) = Serving {
        sans: vec![SanType::IpAddress("127.0.0.1".parse().unwrap())],
        validity: Some((
            rcgen::date_time_ymd(2020, 1, 1),
            rcgen::date_time_ymd(2021, 1, 1),
        )),
    }
    .issue(&ca);
    let (addr, _) = tls_server("127.0.0.1:0", vec![leaf], key).await;
    // 2020-06-01T00:00:00Z: inside the validity, although the real clock is past it.
    let finding = probe(
        &host(&url("127.0.0.1", addr)),
        &ca.ders(),
        PATIENT,
        1_590_969_600,
    )
    .await;
    assert_eq!(finding.kind(), "verified", "{finding:?}");
}

#[tokio::test]
async fn expiry_does_not_mask_a_wrong_ca() {
    let given = TestCa::root("rke2-server-ca@1764300000");
    let other = TestCa::root("rke2-server-ca@1800000000");
    let (leaf, key) = Serving::for_ip("127.0.0.1").expired().issue(&other);
    let (addr, _) = tls_server("127.0.0.1:0", vec![leaf, other.der.clone()], key).await;
    let finding = probe(
        &host(&url("127.0.0.1", addr)),
        &given.ders(),
        PATIENT,
        now(),
    )
    .await;
    assert_eq!(finding.kind(), "not-signed-by-ca", "{finding:?}");
    let message = finding.message();
    assert!(
        message.contains("is signed by `CN=rke2-server-ca@1800000000`"),
        "{message}"
    );
    assert!(
        message.contains("; it also expired at `2021-01-01T00:00:00Z`"),
        "{message}"
    );
}

#[tokio::test]
async fn expired_and_signed_by_a_same_named_ca_with_another_key() {
    // kubeadm names every cluster's CA `CN=kubernetes`; only the key tells two apart.
    let given = TestCa::root("kubernetes");
    let other = TestCa::root("kubernetes");
    let (leaf, key) = Serving::for_ip("127.0.0.1").expired().issue(&other);
    let (addr, _) = tls_server("127.0.0.1:0", vec![leaf], key).await;
    let finding = probe(
        &host(&url("127.0.0.1", addr)),
        &given.ders(),
        PATIENT,
        now(),
    )
    .await;
    assert_eq!(finding.kind(), "not-signed-by-ca", "{finding:?}");
    assert!(
        finding
            .message()
            .contains("a different CA that has the same name as a given one (`CN=kubernetes`)"),
        "{}",
        finding.message()
    );
}

#[tokio::test]
async fn expired_leaf_under_a_sent_intermediate_is_reported_as_expired() {
    let root = TestCa::root("rke2-root-ca@1764300000");
    let intermediate = TestCa::intermediate("rke2-server-ca@1764300000", &root);
    let (leaf, key) = Serving::for_ip("127.0.0.1").expired().issue(&intermediate);
    let chain = vec![leaf, intermediate.der.clone(), root.der.clone()];
    let (addr, _) = tls_server("127.0.0.1:0", chain, key).await;
    let finding = probe(&host(&url("127.0.0.1", addr)), &root.ders(), PATIENT, now()).await;
    assert_eq!(finding.kind(), "expired", "{finding:?}");
}

#[tokio::test]
async fn refused_port() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let finding = probe(
        &host(&format!("https://127.0.0.1:{port}")),
        &ca.ders(),
        PATIENT,
        now(),
    )
    .await;
    assert_eq!(finding, ProbeFinding::Refused);
    assert_eq!(finding.outcome(ProbeMode::Auto), ProbeOutcome::Warn);
    assert_eq!(finding.outcome(ProbeMode::Require), ProbeOutcome::Fail);
}

#[tokio::test]
async fn silent_port_times_out() {
    let addr = silent_server().await;
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let finding = probe(
        &host(&url("127.0.0.1", addr)),
        &ca.ders(),
        Duration::from_millis(300),
        now(),
    )
    .await;
    assert_eq!(finding, ProbeFinding::TimedOut { after_ms: 300 });
    assert_eq!(finding.outcome(ProbeMode::Auto), ProbeOutcome::Warn);
}

#[tokio::test]
async fn plain_http_port_is_not_tls() {
    let addr = http_server().await;
    let ca = TestCa::root("rke2-server-ca@1764300000");
    let finding = probe(&host(&url("127.0.0.1", addr)), &ca.ders(), PATIENT, now()).await;
    assert_eq!(
        finding,
        ProbeFinding::NotTls {
            detail: "it answered plain HTTP (`HTTP/1.1 400 Bad Request`)".into()
        }
    );
    assert_eq!(finding.outcome(ProbeMode::Auto), ProbeOutcome::Fail);
}

#[tokio::test]
async fn unusable_ca_list_is_reported_before_connecting() {
    let finding = probe(
        &host("https://127.0.0.1:1"),
        &[b"not a certificate".to_vec()],
        PATIENT,
        now(),
    )
    .await;
    assert_eq!(
        finding,
        ProbeFinding::TlsFailure {
            detail: "none of the `1` CA certificates can be used as a trust anchor".into()
        }
    );
}
