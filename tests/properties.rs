//! Properties over every parser of untrusted input: random and adversarial bytes never panic,
//! and no escaped text can start a workflow command under the runner's own parsing. Bounded
//! (a few hundred cases each, inputs of a few KB) so the suite stays fast on two cores.

mod common;

use common::runner_log::RunnerLog;
use proptest::prelude::*;
use vault_k8s_handshake::pure::artifact::{extract_ca, Limits};
use vault_k8s_handshake::pure::ca::parse_ca;
use vault_k8s_handshake::pure::command::{escape_log_line, render_annotation, Level};
use vault_k8s_handshake::pure::host::{host_from_vip, parse_kubernetes_host, parse_vault_addr};
use vault_k8s_handshake::pure::kubeconfig::parse_kubeconfig;
use vault_k8s_handshake::pure::probe::describe_certificate;
use vault_k8s_handshake::pure::x509::{Certificate, GeneralName};

const NOW: i64 = 1_800_000_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text built from the pieces attacks are made of, mixed with arbitrary characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("::".to_string()),
        Just("##[".to_string()),
        Just("]".to_string()),
        Just("stop-commands".to_string()),
        Just("add-mask".to_string()),
        Just("warning".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        Just("\u{3000}".to_string()),
        Just("%0A".to_string()),
        Just(" ".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
        "[a-z:#\\[\\] ]{0,6}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// YAML- and JSON-shaped noise: brackets, indentation, keys, quotes.
fn kubeconfig_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("}".to_string()),
        Just("- ".to_string()),
        Just("\n  ".to_string()),
        Just("clusters:".to_string()),
        Just("current-context: a\n".to_string()),
        Just("users:\n- name: u\n  user: {token: t}\n".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|v| v.concat())
}

/// A stored zip of one entry, then mutated at random positions.
fn mutated_zip() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    )
        .prop_map(|(data, edits)| {
            let mut zip = common::zip(&[("k8s-ca.crt", &data)]);
            for (at, byte) in edits {
                let len = zip.len();
                zip[at % len] = byte;
            }
            zip
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn host_parsers_never_panic(text in "\\PC{0,40}", raw in hostile_text()) {
        for value in [&text, &raw, &format!("https://{text}"), &format!("https://{text}:6443/")] {
            let _ = parse_kubernetes_host("kubernetes-host", value, false);
            let _ = parse_kubernetes_host("kubernetes-host", value, true);
            let _ = parse_vault_addr("vault-addr", value);
            let _ = host_from_vip("kv/dev/data/ip#vip", value, 6443, false);
        }
    }

    #[test]
    fn the_ca_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), text in hostile_text()) {
        let _ = parse_ca(&bytes, NOW);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n");
        let _ = parse_ca(pem.as_bytes(), NOW);
    }

    #[test]
    fn the_x509_reader_never_panics_on_damaged_certificates(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        // A real certificate with a few octets changed, inserted or removed reaches every field
        // and extension reader, which random bytes almost never do.
        let ders = fixture_ders();
        let mut der = which.get(&ders).clone();
        for (at, octet, how) in edits {
            let i = at.index(der.len().max(1));
            match how {
                0 if !der.is_empty() => der[i] = octet,
                1 => der.insert(i.min(der.len()), octet),
                _ if !der.is_empty() => { der.remove(i); }
                _ => {}
            }
        }
        if let Ok(cert) = Certificate::from_der(&der) {
            let _ = (cert.is_ca(), cert.subject_alt_names(), cert.authority_key_id(), cert.subject_key_id());
            let _ = cert.public_key.describe();
        }
        let _ = describe_certificate(&der);
        let _ = parse_ca(&der, NOW);
    }

    #[test]
    fn the_kubeconfig_parser_never_panics(text in kubeconfig_like(), noise in "\\PC{0,200}") {
        let _ = parse_kubeconfig(&text);
        let _ = parse_kubeconfig(&noise);
    }

    #[test]
    fn artifact_reading_never_panics(zip in mutated_zip(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let limits = Limits::default();
        let _ = extract_ca(&zip, true, None, None, &limits);
        let _ = extract_ca(&zip, true, None, Some("k8s-ca.crt"), &limits);
        let _ = extract_ca(&bytes, true, None, None, &limits);
        let _ = extract_ca(&bytes, false, Some("k8s-ca.crt"), None, &limits);
    }

    #[test]
    fn escaped_text_never_starts_a_command(text in hostile_text()) {
        let mut log = RunnerLog::new();
        log.feed(&format!("{}\n", escape_log_line(&text)));
        log.feed(&format!("CA `{}` sha256 x\n", escape_log_line(&text)));
        prop_assert!(log.commands.is_empty(), "{:?} from {:?}", log.commands, text);
        let mut log = RunnerLog::new();
        log.feed(&format!("{}\n", render_annotation(Level::Warning, Some(&text), &text)));
        prop_assert_eq!(log.commands.len(), 1, "{:?} from {:?}", log.commands, text);
        prop_assert_eq!(log.commands[0].0.as_str(), "warning");
    }
}

const FIXTURES: &[&[u8]] = &[
    include_bytes!("fixtures/rke2-server-ca.crt"),
    include_bytes!("fixtures/kubeadm-ca.crt"),
    include_bytes!("fixtures/custom-server-ca-chain.crt"),
    include_bytes!("fixtures/rotation-bundle.crt"),
    include_bytes!("fixtures/serving-kube-apiserver.crt"),
    include_bytes!("fixtures/short-lived-ca.crt"),
];

fn fixture_ders() -> Vec<Vec<u8>> {
    FIXTURES
        .iter()
        .flat_map(|pem| vault_k8s_handshake::pure::ca::certificate_ders(pem))
        .collect()
}

/// What a reader says of one certificate, in terms both readers share.
#[derive(Debug, PartialEq)]
struct Seen {
    version: u8,
    serial: Vec<u8>,
    subject: Vec<u8>,
    issuer: Vec<u8>,
    attributes: Vec<(String, Vec<u8>)>,
    validity: (i64, i64),
    is_ca: bool,
    sans: Vec<String>,
    authority_key_id: Option<Vec<u8>>,
    subject_key_id: Option<Vec<u8>>,
    key_algorithm: String,
}

fn seen_by_ours(der: &[u8]) -> Seen {
    let cert = Certificate::from_der(der).expect("the core reads it");
    let sans = cert
        .subject_alt_names()
        .unwrap_or_default()
        .iter()
        .map(|name| match name {
            GeneralName::Dns(b) => format!("dns {}", String::from_utf8_lossy(b)),
            GeneralName::Email(b) => format!("email {}", String::from_utf8_lossy(b)),
            GeneralName::Uri(b) => format!("uri {}", String::from_utf8_lossy(b)),
            GeneralName::Ip(b) => format!("ip {b:?}"),
            GeneralName::Directory(dn) => format!("dn {:?}", dn.as_raw()),
            GeneralName::RegisteredId(oid) => format!("rid {oid}"),
            GeneralName::Other => "other".into(),
            GeneralName::X400 => "x400".into(),
            GeneralName::EdiParty => "edi".into(),
        })
        .collect();
    Seen {
        version: cert.version,
        serial: cert.serial.to_vec(),
        subject: cert.subject.as_raw().to_vec(),
        issuer: cert.issuer.as_raw().to_vec(),
        attributes: cert
            .subject
            .rdns()
            .iter()
            .flatten()
            .map(|a| (a.kind.to_string(), a.value.to_vec()))
            .collect(),
        validity: (cert.not_before, cert.not_after),
        is_ca: cert.is_ca(),
        sans,
        authority_key_id: cert.authority_key_id().map(<[u8]>::to_vec),
        subject_key_id: cert.subject_key_id().map(<[u8]>::to_vec),
        key_algorithm: cert.public_key.describe(),
    }
}

fn seen_by_x509_parser(der: &[u8]) -> Seen {
    use x509_parser::extensions::{GeneralName as G, ParsedExtension};
    use x509_parser::prelude::{FromDer, X509Certificate};
    use x509_parser::public_key::PublicKey;
    let (_, cert) = X509Certificate::from_der(der).expect("x509-parser reads it");
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .map(|name| match name {
                G::DNSName(s) => format!("dns {s}"),
                G::RFC822Name(s) => format!("email {s}"),
                G::URI(s) => format!("uri {s}"),
                G::IPAddress(b) => format!("ip {b:?}"),
                G::DirectoryName(dn) => format!("dn {:?}", dn.as_raw()),
                G::RegisteredID(oid) => format!("rid {}", oid.to_id_string()),
                G::OtherName(..) => "other".into(),
                G::X400Address(_) => "x400".into(),
                G::EDIPartyName(_) => "edi".into(),
                G::Invalid(..) => "invalid".into(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let spki = cert.public_key();
    let key_algorithm = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => match spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string())
            .as_deref()
        {
            Some("1.2.840.10045.3.1.7") => "EC P-256".into(),
            Some("1.3.132.0.34") => "EC P-384".into(),
            Some(other) => format!("EC {other}"),
            None => "EC".into(),
        },
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".into(),
            other => format!("unknown ({other})"),
        },
    };
    let seen = Seen {
        version: cert.version().0 as u8 + 1,
        serial: cert.raw_serial().to_vec(),
        subject: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
        attributes: cert
            .subject()
            .iter_attributes()
            .map(|a| (a.attr_type().to_id_string(), a.attr_value().data.to_vec()))
            .collect(),
        validity: (
            cert.validity().not_before.timestamp(),
            cert.validity().not_after.timestamp(),
        ),
        is_ca: cert.is_ca(),
        sans,
        authority_key_id: cert
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            }),
        subject_key_id: cert
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
                _ => None,
            }),
        key_algorithm,
    };
    seen
}

/// Certificates of every shape the handshake meets: the key types, the name string types, each
/// kind of subject alternative name, serials, and dates on both sides of 2050 (UTCTime, then
/// GeneralizedTime).
fn generated_ders() -> Vec<Vec<u8>> {
    use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
        IsCa, KeyPair, SanType, SerialNumber,
    };
    let ia5 = |s: &str| Ia5String::try_from(s).unwrap();
    let algorithms = [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ];
    let mut out = Vec::new();
    for (i, algorithm) in algorithms.into_iter().enumerate() {
        let key = KeyPair::generate_for(algorithm).unwrap();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            DnValue::Utf8String(format!("ca-{i} é ✓")),
        );
        dn.push(
            DnType::OrganizationName,
            DnValue::PrintableString(PrintableString::try_from("Example Org").unwrap()),
        );
        dn.push(
            DnType::OrganizationalUnitName,
            DnValue::BmpString(BmpString::try_from("ünit").unwrap()),
        );
        dn.push(
            DnType::LocalityName,
            DnValue::UniversalString(UniversalString::try_from("Zürich").unwrap()),
        );
        dn.push(
            DnType::StateOrProvinceName,
            DnValue::TeletexString(TeletexString::try_from("Vaud").unwrap()),
        );
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]),
            DnValue::Ia5String(ia5("42")),
        );
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from_slice(
            &[[0].as_slice(), &[0x80, 1, 2][..i]].concat(),
        ));
        params.not_before = date_time_ymd(2001 + i as i32 * 24, 2, 28);
        params.not_after = date_time_ymd(2049 + i as i32, 12, 31);
        params.is_ca = if i == 1 {
            IsCa::ExplicitNoCa
        } else {
            IsCa::Ca(BasicConstraints::Constrained(i as u8))
        };
        params.use_authority_key_identifier_extension = i == 0;
        params.subject_alt_names = vec![
            SanType::DnsName(ia5("kubernetes.default.svc")),
            SanType::IpAddress("10.43.0.1".parse().unwrap()),
            SanType::IpAddress("fd00::1".parse().unwrap()),
            SanType::URI(ia5("spiffe://cluster.local/ns/x")),
            SanType::Rfc822Name(ia5("ops@example.com")),
            SanType::OtherName((vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3], "upn@example".into())),
        ];
        out.push(params.self_signed(&key).unwrap().der().to_vec());
        // A bare one: no extensions at all (a version 3 certificate may have none).
        let mut bare = CertificateParams::default();
        bare.not_after = date_time_ymd(2100, 1, 1);
        out.push(bare.self_signed(&key).unwrap().der().to_vec());
    }
    out
}

#[test]
fn the_x509_reader_agrees_with_x509_parser() {
    let ders: Vec<Vec<u8>> = fixture_ders().into_iter().chain(generated_ders()).collect();
    assert!(ders.len() > 15, "{}", ders.len());
    for der in &ders {
        assert_eq!(seen_by_ours(der), seen_by_x509_parser(der));
    }
}
