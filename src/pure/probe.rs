//! The TLS probe of `kubernetes_host`, minus the network: what the presented certificate says,
//! what a handshake failure means, how a finding counts in each probe mode, and its wording.
//!
//! Owns the probe modes (`auto`, `require`, `off`), the findings a probe can end with, the
//! classification of a failed handshake (including rustls's habit of reporting an expired leaf
//! before a wrong CA, docs/dependencies.md §3: the CA is what must change, so it is
//! reported first), and the messages and hints, with a variant for public summaries that leaves
//! out host-internal details (names, addresses, issuers).
//!
//! It never opens a connection, never reads a clock and never checks a signature: a driver does
//! the handshake (the `probe` effect) and hands over the certificates it saw and its TLS
//! library's verdict, mapped onto [`TlsFailureKind`]. Certificate text (subjects, names) comes
//! from whatever answered on the host's port and is treated as untrusted data: control
//! characters and backticks are escaped before it reaches a message.

use std::fmt;
use std::net::IpAddr;

use super::ca::{fingerprint, name_text, Timestamp};
use super::x509::{Certificate, GeneralName};
use super::{Diagnostic, ErrorClass};

/// Where RKE2 keeps the CA that signs the API server certificate.
const SERVER_CA_PATH: &str = "/var/lib/rancher/rke2/server/tls/server-ca.crt";
/// Where RKE2 reads `tls-san` from.
const RKE2_CONFIG_PATH: &str = "/etc/rancher/rke2/config.yaml";
/// How much of a non-TLS answer is quoted in a finding.
const QUOTED_ANSWER_CHARS: usize = 60;

/// The public facts of a certificate the server presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFacts {
    /// RFC 4514-like subject, control characters and backticks escaped; still untrusted text.
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names in OpenSSL's spelling: `DNS:kubernetes`, `IP:10.43.0.1`.
    pub sans: Vec<String>,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// SHA-256 of the DER, lowercase hex without colons.
    pub fingerprint: String,
}

/// Reads the public facts of one DER certificate; `None` when it is not X.509.
pub fn describe_certificate(der: &[u8]) -> Option<CertFacts> {
    let cert = Certificate::from_der(der).ok()?;
    Some(facts_of(&cert, der))
}

fn facts_of(cert: &Certificate<'_>, der: &[u8]) -> CertFacts {
    CertFacts {
        subject: printable(&name_text(&cert.subject)),
        issuer: printable(&name_text(&cert.issuer)),
        sans: sans_of(cert),
        not_before: Timestamp(cert.not_before),
        not_after: Timestamp(cert.not_after),
        fingerprint: fingerprint(der),
    }
}

fn sans_of(cert: &Certificate<'_>) -> Vec<String> {
    // A malformed or duplicated SAN extension reads as no SANs: rustls has already refused the
    // certificate by then, and the listing only explains why.
    let Some(names) = cert.subject_alt_names() else {
        return Vec::new();
    };
    let text = |bytes: &[u8]| printable(&String::from_utf8_lossy(bytes));
    names
        .iter()
        .map(|name| match name {
            GeneralName::Dns(dns) => format!("DNS:{}", text(dns)),
            GeneralName::Ip(bytes) => match ip_of(bytes) {
                Some(ip) => format!("IP:{ip}"),
                None => format!("IP:<{} bytes>", bytes.len()),
            },
            GeneralName::Uri(uri) => format!("URI:{}", text(uri)),
            GeneralName::Email(mail) => format!("email:{}", text(mail)),
            GeneralName::Directory(dn) => format!("DirName:{}", printable(&name_text(dn))),
            GeneralName::RegisteredId(oid) => format!("Registered ID:{oid}"),
            GeneralName::Other => "othername:<unsupported>".to_string(),
            GeneralName::X400 => "X400Name:<unsupported>".to_string(),
            GeneralName::EdiParty => "EdiPartyName:<unsupported>".to_string(),
        })
        .collect()
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

/// How the probe's result decides the run (the `probe` input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeMode {
    /// Fail on a certificate problem; only warn when the runner cannot reach the host, because
    /// Vault may reach what the runner cannot (the login proof then decides).
    #[default]
    Auto,
    /// Anything but a verified handshake fails the run.
    Require,
    /// No probe.
    Off,
}

impl ProbeMode {
    /// Parses the `probe` input: `auto` (the default, also for an empty value), `require` or
    /// `off`, ignoring case and surrounding blanks.
    pub fn parse(value: &str) -> Result<ProbeMode, ProbeModeError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(ProbeMode::Auto),
            "require" => Ok(ProbeMode::Require),
            "off" => Ok(ProbeMode::Off),
            _ => Err(ProbeModeError {
                shown: shown_value(value),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMode::Auto => "auto",
            ProbeMode::Require => "require",
            ProbeMode::Off => "off",
        }
    }
}

impl fmt::Display for ProbeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A probe mode value that is none of the three.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("input `probe` is {shown}, expected `auto`, `require` or `off`")]
pub struct ProbeModeError {
    /// The value in backticks, or a placeholder when it is too long or multi-line to echo.
    pub shown: String,
}

impl Diagnostic for ProbeModeError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        Some(
            "use `auto` (fail on a certificate problem, warn when the runner cannot reach the \
             API server), `require` (fail unless the handshake is verified) or `off`"
                .to_string(),
        )
    }
}

fn shown_value(value: &str) -> String {
    if value.chars().count() <= 40 && !value.chars().any(char::is_control) && !value.contains('`') {
        format!("`{value}`")
    } else {
        "not valid".to_string()
    }
}

/// How a finding counts in a probe mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    Pass,
    Warn,
    Fail,
    Skipped,
}

impl ProbeOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeOutcome::Pass => "pass",
            ProbeOutcome::Warn => "warn",
            ProbeOutcome::Fail => "fail",
            ProbeOutcome::Skipped => "skipped",
        }
    }
}

/// What one TLS probe of `kubernetes_host` found. Messages do not repeat the host: the caller
/// names it once (e.g. in the step's title).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeFinding {
    /// The handshake completed, trusting only the given CAs, with the host's name or address.
    Verified {
        presented: CertFacts,
        /// `TLS 1.3`, `TLS 1.2`.
        protocol: String,
    },
    /// No given CA signs the presented certificate (directly or through the chain it sent).
    /// When the certificate is also expired or not yet valid, rustls reports only that; the CA is
    /// still reported here because it is what must change, and the message adds the dates.
    NotSignedByCa {
        presented: CertFacts,
        /// Subjects of the given CAs.
        ca_subjects: Vec<String>,
        checked_at: Timestamp,
    },
    /// A given CA signs the certificate, but it does not name the host.
    HostNotInSans {
        presented: CertFacts,
        /// The name or address checked (`10.0.0.10`, `fd00::10`, `k8s.example.com`).
        wanted: String,
    },
    Expired {
        presented: CertFacts,
        checked_at: Timestamp,
    },
    NotYetValid {
        presented: CertFacts,
        checked_at: Timestamp,
    },
    /// Nothing accepts connections on the port (or a firewall rejects them).
    Refused,
    /// No connection or no complete handshake within the time allowed.
    TimedOut { after_ms: u64 },
    /// No route, name resolution failure, reset: the runner cannot get there.
    Unreachable { detail: String },
    /// The port answered, but not with TLS (e.g. plain HTTP).
    NotTls { detail: String },
    /// Any other handshake failure.
    TlsFailure { detail: String },
    /// A failure to connect (`Refused`, `TimedOut`, `Unreachable`) while the runner has an https
    /// proxy set: the probe is a raw TLS connection and never goes through it
    /// (docs/dependencies.md §4), which the message says. Counts, classes and reports exactly as
    /// the finding it holds.
    BypassesProxy {
        /// `host:port` of the proxy, never its credentials (`pure::transport::proxy_address`).
        proxy: String,
        finding: Box<ProbeFinding>,
    },
}

impl ProbeFinding {
    /// This finding, noting that the probe did not use `proxy` when it could not connect; any
    /// other finding, or no proxy, is returned as it is.
    pub fn noting_proxy(self, proxy: Option<String>) -> ProbeFinding {
        match proxy {
            Some(proxy) if !self.reached() => ProbeFinding::BypassesProxy {
                proxy,
                finding: Box::new(self),
            },
            _ => self,
        }
    }

    /// How this finding counts in `mode`.
    pub fn outcome(&self, mode: ProbeMode) -> ProbeOutcome {
        match (mode, self) {
            (ProbeMode::Off, _) => ProbeOutcome::Skipped,
            (_, ProbeFinding::Verified { .. }) => ProbeOutcome::Pass,
            (_, ProbeFinding::BypassesProxy { finding, .. }) => finding.outcome(mode),
            (ProbeMode::Require, _) => ProbeOutcome::Fail,
            (
                ProbeMode::Auto,
                ProbeFinding::Refused
                | ProbeFinding::TimedOut { .. }
                | ProbeFinding::Unreachable { .. },
            ) => ProbeOutcome::Warn,
            (ProbeMode::Auto, _) => ProbeOutcome::Fail,
        }
    }

    /// Who must act when this finding fails the run; `None` for a verified handshake.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            ProbeFinding::Verified { .. } => None,
            ProbeFinding::BypassesProxy { finding, .. } => finding.class(),
            // The CA input, the host input, or the cluster's certificate must change.
            ProbeFinding::NotSignedByCa { .. }
            | ProbeFinding::HostNotInSans { .. }
            | ProbeFinding::Expired { .. }
            | ProbeFinding::NotYetValid { .. }
            | ProbeFinding::NotTls { .. } => Some(ErrorClass::User),
            ProbeFinding::Refused
            | ProbeFinding::TimedOut { .. }
            | ProbeFinding::Unreachable { .. }
            | ProbeFinding::TlsFailure { .. } => Some(ErrorClass::Remote),
        }
    }

    /// True when the probe reached the API server's TLS at all: its finding is definite (a
    /// verified certificate, or a wrong CA, SAN, date or protocol), not a failure to connect.
    pub fn reached(&self) -> bool {
        !matches!(
            self,
            ProbeFinding::Refused
                | ProbeFinding::TimedOut { .. }
                | ProbeFinding::Unreachable { .. }
                | ProbeFinding::BypassesProxy { .. }
        )
    }

    /// A short stable name for reports (`verified`, `not-signed-by-ca`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeFinding::Verified { .. } => "verified",
            ProbeFinding::NotSignedByCa { .. } => "not-signed-by-ca",
            ProbeFinding::HostNotInSans { .. } => "host-not-in-sans",
            ProbeFinding::Expired { .. } => "expired",
            ProbeFinding::NotYetValid { .. } => "not-yet-valid",
            ProbeFinding::Refused => "refused",
            ProbeFinding::TimedOut { .. } => "timed-out",
            ProbeFinding::Unreachable { .. } => "unreachable",
            ProbeFinding::NotTls { .. } => "not-tls",
            ProbeFinding::TlsFailure { .. } => "tls-failure",
            ProbeFinding::BypassesProxy { finding, .. } => finding.kind(),
        }
    }

    /// The certificate the server presented, when the probe got that far.
    pub fn presented(&self) -> Option<&CertFacts> {
        match self {
            ProbeFinding::Verified { presented, .. }
            | ProbeFinding::NotSignedByCa { presented, .. }
            | ProbeFinding::HostNotInSans { presented, .. }
            | ProbeFinding::Expired { presented, .. }
            | ProbeFinding::NotYetValid { presented, .. } => Some(presented),
            _ => None,
        }
    }

    /// One line saying what was found, with the certificate's details.
    pub fn message(&self) -> String {
        match self {
            ProbeFinding::Verified {
                presented,
                protocol,
            } => format!(
                "the API server presented `{}` (sha256 `{}`), signed by the given CA and valid \
                 for the host until `{}`, over `{protocol}`",
                presented.subject, presented.fingerprint, presented.not_after
            ),
            ProbeFinding::NotSignedByCa {
                presented,
                ca_subjects,
                checked_at,
            } => {
                let by = if ca_subjects.contains(&presented.issuer) {
                    format!(
                        "a different CA that has the same name as a given one (`{}`)",
                        presented.issuer
                    )
                } else {
                    format!(
                        "`{}`, which is not among the given CAs ({})",
                        presented.issuer,
                        backticked(ca_subjects)
                    )
                };
                format!(
                    "the API server certificate `{}` is signed by {by}{}",
                    presented.subject,
                    validity_note(presented, *checked_at)
                )
            }
            ProbeFinding::HostNotInSans { presented, wanted } => {
                let names = if presented.sans.is_empty() {
                    "it has no subject alternative names".to_string()
                } else {
                    format!("its names are {}", backticked(&presented.sans))
                };
                let dns_for_ip = if wanted.parse::<IpAddr>().is_ok()
                    && presented.sans.contains(&format!("DNS:{wanted}"))
                {
                    " (an address matches only an `IP:` name, not a `DNS:` one)"
                } else {
                    ""
                };
                format!(
                    "the API server certificate `{}` is not valid for `{wanted}`: \
                     {names}{dns_for_ip}",
                    presented.subject
                )
            }
            ProbeFinding::Expired {
                presented,
                checked_at,
            } => format!(
                "the API server certificate `{}` expired at `{}` (checked at `{checked_at}`)",
                presented.subject, presented.not_after
            ),
            ProbeFinding::NotYetValid {
                presented,
                checked_at,
            } => format!(
                "the API server certificate `{}` is not valid before `{}` (checked at \
                 `{checked_at}`)",
                presented.subject, presented.not_before
            ),
            ProbeFinding::Refused => {
                "the API server port refused the connection from this runner".to_string()
            }
            ProbeFinding::TimedOut { after_ms } => format!(
                "the API server did not complete a TLS handshake with this runner within \
                 `{after_ms} ms`"
            ),
            ProbeFinding::Unreachable { detail } => format!(
                "the API server cannot be reached from this runner: {}",
                one_line(detail)
            ),
            ProbeFinding::NotTls { detail } => {
                format!(
                    "the API server port does not speak TLS: {}",
                    one_line(detail)
                )
            }
            ProbeFinding::TlsFailure { detail } => format!(
                "the TLS handshake with the API server failed: {}",
                one_line(detail)
            ),
            ProbeFinding::BypassesProxy { proxy, finding } => format!(
                "{}; the probe connects directly: it does not use the proxy `{proxy}` set in \
                 `HTTPS_PROXY`",
                finding.message()
            ),
        }
    }

    /// The message without host-internal details (names, addresses, issuers, raw answers), for
    /// summaries that the public can read (pull requests).
    pub fn public_message(&self) -> String {
        match self {
            ProbeFinding::Verified { .. } => {
                "the API server certificate is signed by the given CA and valid for the host"
                    .to_string()
            }
            ProbeFinding::NotSignedByCa {
                presented,
                checked_at,
                ..
            } => {
                let also = if presented.not_after < *checked_at {
                    " (and it has expired)"
                } else if presented.not_before > *checked_at {
                    " (and it is not valid yet)"
                } else {
                    ""
                };
                format!("the API server certificate is not signed by the given CA{also}")
            }
            ProbeFinding::HostNotInSans { .. } => {
                "the API server certificate is not valid for the configured host".to_string()
            }
            ProbeFinding::Expired { .. } => "the API server certificate has expired".to_string(),
            ProbeFinding::NotYetValid { .. } => {
                "the API server certificate is not valid yet".to_string()
            }
            ProbeFinding::Refused => {
                "the API server port refused the connection from this runner".to_string()
            }
            ProbeFinding::TimedOut { after_ms } => {
                format!("the API server did not answer within `{after_ms} ms`")
            }
            ProbeFinding::Unreachable { .. } => {
                "the API server cannot be reached from this runner".to_string()
            }
            ProbeFinding::NotTls { .. } => "the API server port does not speak TLS".to_string(),
            ProbeFinding::TlsFailure { .. } => {
                "the TLS handshake with the API server failed".to_string()
            }
            ProbeFinding::BypassesProxy { finding, .. } => format!(
                "{}; the probe does not use the runner's proxy",
                finding.public_message()
            ),
        }
    }

    /// The fix, printed on its own `hint:` line; `None` for a verified handshake.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            ProbeFinding::Verified { .. } => return None,
            ProbeFinding::BypassesProxy { finding, .. } => format!(
                "the probe is a raw TLS connection and does not go through `HTTPS_PROXY` (the \
                 calls to Vault and GitHub do): run the job on a runner with a direct route to \
                 `kubernetes-host`, or set `probe: off` and rely on the login proof, which Vault \
                 makes from its own network; {}",
                finding.hint().unwrap_or_default()
            ),
            ProbeFinding::NotSignedByCa {
                presented,
                ca_subjects,
                checked_at,
            } => {
                let mut hint = format!(
                    "give the CA that signs the API server certificate: `{SERVER_CA_PATH}` on an \
                     RKE2 server (the `certificate-authority-data` of `/etc/rancher/rke2/rke2.yaml`)"
                );
                if ca_subjects.contains(&presented.issuer) {
                    hint.push_str(
                        "; a CA with the same name but another key comes from another cluster \
                         or an earlier install",
                    );
                }
                if presented.not_after < *checked_at || presented.not_before > *checked_at {
                    hint.push_str(&format!("; then {}", renew_hint()));
                }
                hint
            }
            ProbeFinding::HostNotInSans { wanted, .. } => {
                let entry = if wanted.contains(':') {
                    format!("\"{wanted}\"")
                } else {
                    wanted.clone()
                };
                let alternative = if wanted.parse::<IpAddr>().is_ok() {
                    "or point `kubernetes-host` at an address the certificate lists"
                } else {
                    "or point `kubernetes-host` at a name the certificate lists"
                };
                format!(
                    "RKE2's `tls-san` must include `{wanted}`: add `tls-san: [{entry}]` (or append \
                     to the existing list) in `{RKE2_CONFIG_PATH}` on every server, then \
                     `systemctl restart rke2-server`, which reissues the certificate with the \
                     new name; {alternative}"
                )
            }
            ProbeFinding::Expired { .. } => format!(
                "{}; if the certificate looks valid, check this runner's clock",
                renew_hint()
            ),
            ProbeFinding::NotYetValid { .. } => "the certificate starts in the future: check the \
                 clock of the server that issued it and of this runner"
                .to_string(),
            ProbeFinding::Refused => "check the port of `kubernetes-host` (RKE2 serves the API on \
                 6443) and that `rke2-server` runs; Vault may still reach a host this runner \
                 cannot, and the login proof checks that"
                .to_string(),
            ProbeFinding::TimedOut { .. } => "a firewall that drops packets looks like this: run \
                 the job on a runner inside the cluster's network, or rely on the login proof \
                 (Vault may still reach a host this runner cannot)"
                .to_string(),
            ProbeFinding::Unreachable { .. } => "check that `kubernetes-host` resolves and is \
                 routable from this runner; Vault may still reach a host this runner cannot, \
                 and the login proof checks that"
                .to_string(),
            ProbeFinding::NotTls { .. } => "point `kubernetes-host` at the API server's TLS port: \
                 `https://<vip>:6443`"
                .to_string(),
            ProbeFinding::TlsFailure { .. } => {
                "check that `kubernetes-host` is the Kubernetes API \
                 server itself (RKE2: port 6443), not a proxy; `openssl s_client -connect \
                 <host>:6443 -showcerts` shows what it presents"
                    .to_string()
            }
        };
        Some(hint)
    }

    /// The fix without host-internal details, for public summaries.
    pub fn public_hint(&self) -> Option<String> {
        match self {
            ProbeFinding::HostNotInSans { .. } => Some(format!(
                "add the host to RKE2's `tls-san` in `{RKE2_CONFIG_PATH}` on every server, then \
                 `systemctl restart rke2-server`"
            )),
            ProbeFinding::NotSignedByCa { .. } => Some(format!(
                "give the CA that signs the API server certificate (`{SERVER_CA_PATH}` on an RKE2 \
                 server)"
            )),
            ProbeFinding::TlsFailure { .. } => Some(
                "check that `kubernetes-host` is the Kubernetes API server itself (RKE2: port \
                 6443), not a proxy"
                    .to_string(),
            ),
            _ => self.hint(),
        }
    }
}

impl fmt::Display for ProbeFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

fn renew_hint() -> &'static str {
    "renew the API server certificate: `systemctl stop rke2-server && rke2 certificate rotate \
     --service api-server && systemctl start rke2-server` on each server (RKE2 also renews \
     expired certificates when it starts)"
}

/// The dates to mention when a certificate signed by the wrong CA is also outside its validity.
fn validity_note(presented: &CertFacts, checked_at: Timestamp) -> String {
    if presented.not_after < checked_at {
        format!(
            "; it also expired at `{}` (checked at `{checked_at}`)",
            presented.not_after
        )
    } else if presented.not_before > checked_at {
        format!(
            "; it is also not valid before `{}` (checked at `{checked_at}`)",
            presented.not_before
        )
    } else {
        String::new()
    }
}

fn backticked(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a handshake failed, as a driver reads it from its TLS library and the socket.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsFailureKind {
    /// No path from the certificate to a given CA (rustls `UnknownIssuer`).
    UnknownIssuer,
    /// A signature in the chain does not verify, e.g. a CA with the right name but another key.
    BadSignature,
    /// The certificate does not name the host (rustls `NotValidForName[Context]`).
    NotValidForName,
    /// A certificate is past its `notAfter` (rustls `Expired[Context]`). rustls checks this
    /// before the issuer, so an expired certificate from a wrong CA arrives here.
    Expired,
    /// A certificate is before its `notBefore` (rustls `NotValidYet[Context]`).
    NotYetValid,
    /// The certificate is not for TLS servers (extendedKeyUsage without `serverAuth`).
    WrongPurpose,
    /// The server's first bytes are not a TLS record; `first_bytes` is what it sent, if any.
    NotTls { first_bytes: Vec<u8> },
    /// The server closed the connection during the handshake without a TLS alert.
    ClosedByServer,
    /// The server ended the handshake with a TLS alert (its name, e.g. `HandshakeFailure`).
    Alert(String),
    /// Anything else, described.
    Other(String),
}

/// What a driver's probe reported, classified: the chain and outcome it saw become a finding.
/// `wanted` is the host name or address checked, `now` the time the handshake was checked at.
pub fn classify_report(
    report: crate::pure::machine::wire::ProbeReport,
    ca_ders: &[Vec<u8>],
    wanted: &str,
    now: i64,
) -> ProbeFinding {
    use crate::pure::machine::wire::ProbeReport;
    let ders = |chain: Vec<crate::pure::machine::wire::Bytes>| -> Vec<Vec<u8>> {
        chain.into_iter().map(|b| b.0).collect()
    };
    match report {
        ProbeReport::Verified { chain, protocol } => classify_verified(&ders(chain), &protocol),
        ProbeReport::Failed { reason, chain } => {
            classify_tls_failure(reason, &ders(chain), ca_ders, wanted, now)
        }
        ProbeReport::Refused => ProbeFinding::Refused,
        ProbeReport::TimedOut { after_ms } => ProbeFinding::TimedOut { after_ms },
        ProbeReport::Unreachable { detail } => ProbeFinding::Unreachable { detail },
        ProbeReport::BadCa { detail } => ProbeFinding::TlsFailure { detail },
    }
}

/// Classifies a failed handshake. `presented` is the chain the server sent, end-entity first
/// (empty when the handshake failed before any certificate arrived), `ca_ders` the CAs trusted,
/// `wanted` the host name or address checked, `now` the time the handshake was checked at.
pub fn classify_tls_failure(
    kind: TlsFailureKind,
    presented: &[Vec<u8>],
    ca_ders: &[Vec<u8>],
    wanted: &str,
    now: i64,
) -> ProbeFinding {
    let checked_at = Timestamp(now);
    let leaf = presented.first().and_then(|der| {
        Certificate::from_der(der)
            .ok()
            .map(|cert| (facts_of(&cert, der), cert))
    });
    let cas: Vec<Certificate<'_>> = ca_ders
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect();
    let ca_subjects = || -> Vec<String> {
        cas.iter()
            .map(|c| printable(&name_text(&c.subject)))
            .collect()
    };
    let no_certificate = |what: &str| ProbeFinding::TlsFailure {
        detail: format!("{what} (the certificate the server sent could not be read)"),
    };
    tracing::debug!(
        ?kind,
        chain = presented.len(),
        "classifying a failed TLS handshake"
    );
    match kind {
        TlsFailureKind::UnknownIssuer | TlsFailureKind::BadSignature => match leaf {
            Some((presented, _)) => ProbeFinding::NotSignedByCa {
                presented,
                ca_subjects: ca_subjects(),
                checked_at,
            },
            None => no_certificate("the certificate is not signed by the given CA"),
        },
        TlsFailureKind::NotValidForName => match leaf {
            Some((presented, _)) => ProbeFinding::HostNotInSans {
                presented,
                wanted: wanted.to_string(),
            },
            None => no_certificate(&format!("the certificate is not valid for `{wanted}`")),
        },
        TlsFailureKind::Expired | TlsFailureKind::NotYetValid => {
            let expired = kind == TlsFailureKind::Expired;
            let Some((facts, cert)) = leaf else {
                return no_certificate(if expired {
                    "a certificate has expired"
                } else {
                    "a certificate is not valid yet"
                });
            };
            let chain: Vec<Certificate<'_>> = presented
                .iter()
                .skip(1)
                .filter_map(|der| Certificate::from_der(der).ok())
                .collect();
            if !chains_to(&cert, &chain, &cas) {
                // rustls stops at the first date problem, before looking for the issuer; the
                // CA is what must change first (docs/dependencies.md §3).
                tracing::debug!("date failure masks a certificate no given CA signs");
                return ProbeFinding::NotSignedByCa {
                    presented: facts,
                    ca_subjects: ca_subjects(),
                    checked_at,
                };
            }
            if expired && facts.not_after < checked_at {
                ProbeFinding::Expired {
                    presented: facts,
                    checked_at,
                }
            } else if !expired && facts.not_before > checked_at {
                ProbeFinding::NotYetValid {
                    presented: facts,
                    checked_at,
                }
            } else {
                ProbeFinding::TlsFailure {
                    detail: format!(
                        "a certificate the server sent after `{}` is {} at `{checked_at}`",
                        facts.subject,
                        if expired { "expired" } else { "not valid yet" }
                    ),
                }
            }
        }
        TlsFailureKind::WrongPurpose => ProbeFinding::TlsFailure {
            detail: match leaf {
                Some((facts, _)) => format!(
                    "the certificate `{}` is not for TLS servers (its extendedKeyUsage lacks \
                     `serverAuth`)",
                    facts.subject
                ),
                None => "the certificate is not for TLS servers".to_string(),
            },
        },
        TlsFailureKind::NotTls { first_bytes } => ProbeFinding::NotTls {
            detail: describe_answer(&first_bytes),
        },
        TlsFailureKind::ClosedByServer => ProbeFinding::TlsFailure {
            detail: "the server closed the connection during the handshake without a TLS alert"
                .to_string(),
        },
        TlsFailureKind::Alert(alert) => ProbeFinding::TlsFailure {
            detail: format!(
                "the server ended the handshake with the TLS alert `{}`",
                printable(&alert)
            ),
        },
        TlsFailureKind::Other(detail) => ProbeFinding::TlsFailure { detail },
    }
}

/// The finding for a completed handshake. `presented` is the chain the server sent.
pub fn classify_verified(presented: &[Vec<u8>], protocol: &str) -> ProbeFinding {
    match presented.first().and_then(|der| describe_certificate(der)) {
        Some(presented) => ProbeFinding::Verified {
            presented,
            protocol: protocol.to_string(),
        },
        // rustls parsed and verified it, so this parser refusing it is a gap here, not a
        // verdict on the server; saying so beats reporting a certificate we cannot show.
        None => ProbeFinding::TlsFailure {
            detail: "the handshake was verified but the certificate could not be read back"
                .to_string(),
        },
    }
}

/// True when `cert` was issued by a given CA, directly or through certificates the server sent.
/// Matching is by name and, when both sides carry one, key identifier: signatures are not
/// checked here (rustls did, and its verdict is why this runs).
fn chains_to(cert: &Certificate<'_>, sent: &[Certificate<'_>], cas: &[Certificate<'_>]) -> bool {
    let mut current = cert;
    // Each step moves up one certificate; a loop in what the server sent ends with the count.
    for _ in 0..=sent.len() {
        if cas.iter().any(|ca| issued_by(current, ca)) {
            return true;
        }
        match sent.iter().find(|next| issued_by(current, next)) {
            Some(next) if !std::ptr::eq(next, current) => current = next,
            _ => return false,
        }
    }
    false
}

fn issued_by(cert: &Certificate<'_>, issuer: &Certificate<'_>) -> bool {
    let same_name = cert.issuer.as_raw() == issuer.subject.as_raw()
        || name_text(&cert.issuer) == name_text(&issuer.subject);
    if !same_name {
        return false;
    }
    // kubeadm names every cluster's CA `CN=kubernetes`: the key identifier tells them apart. A
    // self-signed root often has no authority key identifier; its own key is its issuer's.
    let authority = cert.authority_key_id().or_else(|| {
        (cert.subject.as_raw() == cert.issuer.as_raw())
            .then(|| cert.subject_key_id())
            .flatten()
    });
    match (authority, issuer.subject_key_id()) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

/// Describes what a non-TLS server sent: its first line when it is text, else its first bytes.
fn describe_answer(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "it sent something that is not a TLS record".to_string();
    }
    let line: Vec<u8> = bytes
        .iter()
        .copied()
        .take_while(|b| *b != b'\r' && *b != b'\n')
        .collect();
    let text = !line.is_empty() && line.iter().all(|b| (0x20..0x7f).contains(b));
    if text {
        let quoted: String = String::from_utf8_lossy(&line)
            .chars()
            .take(QUOTED_ANSWER_CHARS)
            .collect();
        let quoted = printable(&quoted);
        if line.starts_with(b"HTTP/") {
            format!("it answered plain HTTP (`{quoted}`)")
        } else {
            format!("it answered `{quoted}`")
        }
    } else {
        let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!(
            "it answered bytes that are not a TLS record (`{}`)",
            hex.join(" ")
        )
    }
}

/// Escapes control characters in a detail built here or by the shell (which escapes the
/// untrusted parts it quotes), so a stray line break cannot end the message's line.
fn one_line(text: &str) -> String {
    escape(text, |c| c.is_control())
}

/// Escapes control characters and backticks so certificate text can neither break the line it
/// is printed on nor end the backtick span it sits in.
fn printable(text: &str) -> String {
    escape(text, |c| c.is_control() || c == '`')
}

fn escape(text: &str, needs_escape: impl Fn(char) -> bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-01T00:00:00Z, inside the serving fixture's validity (2026-11-28 to 2027-11-28).
    const NOW: i64 = 1_798_761_600;
    const SERVING: &[u8] = include_bytes!("../../tests/fixtures/serving-kube-apiserver.crt");
    const RKE2_CA: &[u8] = include_bytes!("../../tests/fixtures/rke2-server-ca.crt");
    const KUBEADM_CA: &[u8] = include_bytes!("../../tests/fixtures/kubeadm-ca.crt");
    const CUSTOM_CHAIN: &[u8] = include_bytes!("../../tests/fixtures/custom-server-ca-chain.crt");
    const LEAF_FP: &str = "838bb2a4d4442dd1b65cd763130f63a88271eaa06f083121f60da70f126207f7";
    const CA_SUBJECT: &str = "CN=rke2-server-ca@1764300000";

    fn ders(pem: &[u8]) -> Vec<Vec<u8>> {
        crate::pure::ca::certificate_ders(pem)
    }

    fn leaf() -> CertFacts {
        describe_certificate(&ders(SERVING)[0]).unwrap()
    }

    fn all_findings() -> Vec<ProbeFinding> {
        vec![
            ProbeFinding::Verified {
                presented: leaf(),
                protocol: "TLS 1.3".into(),
            },
            ProbeFinding::NotSignedByCa {
                presented: leaf(),
                ca_subjects: vec!["CN=kubernetes".into()],
                checked_at: Timestamp(NOW),
            },
            ProbeFinding::HostNotInSans {
                presented: leaf(),
                wanted: "10.0.0.10".into(),
            },
            ProbeFinding::Expired {
                presented: leaf(),
                checked_at: Timestamp(NOW),
            },
            ProbeFinding::NotYetValid {
                presented: leaf(),
                checked_at: Timestamp(NOW),
            },
            ProbeFinding::Refused,
            ProbeFinding::TimedOut { after_ms: 300 },
            ProbeFinding::Unreachable {
                detail: "No route to host (os error 113)".into(),
            },
            ProbeFinding::NotTls {
                detail: "it answered plain HTTP (`HTTP/1.1 400 Bad Request`)".into(),
            },
            ProbeFinding::TlsFailure {
                detail: "the server ended the handshake with the TLS alert `HandshakeFailure`"
                    .into(),
            },
        ]
    }

    #[test]
    fn describes_the_rke2_serving_certificate() {
        let facts = leaf();
        assert_eq!(facts.subject, "CN=kube-apiserver");
        assert_eq!(facts.issuer, CA_SUBJECT);
        assert_eq!(
            facts.sans,
            [
                "DNS:kubernetes",
                "DNS:localhost",
                "IP:127.0.0.1",
                "IP:10.43.0.1"
            ]
        );
        assert_eq!(facts.fingerprint, LEAF_FP);
        assert_eq!(facts.not_before.to_string(), "2026-11-28T07:52:26Z");
        assert_eq!(facts.not_after.to_string(), "2027-11-28T07:52:26Z");
        let ca = describe_certificate(&ders(RKE2_CA)[0]).unwrap();
        assert_eq!(ca.subject, CA_SUBJECT);
        assert!(ca.sans.is_empty());
        assert_eq!(describe_certificate(b"not a certificate"), None);
    }

    #[test]
    fn certificate_text_is_escaped() {
        assert_eq!(printable("CN=a\nb`c"), "CN=a\\u{a}b\\u{60}c");
    }

    #[test]
    fn probe_modes_parse() {
        for (value, mode) in [
            ("", ProbeMode::Auto),
            ("auto", ProbeMode::Auto),
            (" Require ", ProbeMode::Require),
            ("off", ProbeMode::Off),
        ] {
            assert_eq!(ProbeMode::parse(value), Ok(mode), "{value:?}");
        }
        let err = ProbeMode::parse("yes").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `probe` is `yes`, expected `auto`, `require` or `off`"
        );
        assert!(err.hint().unwrap().starts_with("use `auto`"));
        assert_eq!(err.class(), ErrorClass::User);
        let err = ProbeMode::parse("a\nb").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `probe` is not valid, expected `auto`, `require` or `off`"
        );
    }

    #[test]
    fn outcome_per_mode() {
        use ProbeOutcome::*;
        let expected = [
            ("verified", Pass, Pass),
            ("not-signed-by-ca", Fail, Fail),
            ("host-not-in-sans", Fail, Fail),
            ("expired", Fail, Fail),
            ("not-yet-valid", Fail, Fail),
            ("refused", Warn, Fail),
            ("timed-out", Warn, Fail),
            ("unreachable", Warn, Fail),
            ("not-tls", Fail, Fail),
            ("tls-failure", Fail, Fail),
        ];
        let findings = all_findings();
        assert_eq!(findings.len(), expected.len());
        for (finding, (kind, auto, require)) in findings.iter().zip(expected) {
            assert_eq!(finding.kind(), kind);
            assert_eq!(finding.outcome(ProbeMode::Auto), auto, "{kind} auto");
            assert_eq!(
                finding.outcome(ProbeMode::Require),
                require,
                "{kind} require"
            );
            assert_eq!(finding.outcome(ProbeMode::Off), Skipped, "{kind} off");
        }
    }

    #[test]
    fn messages_and_hints() {
        let rows: Vec<(&str, &str, Option<&str>)> = vec![
            (
                "the API server presented `CN=kube-apiserver` (sha256 `838bb2a4d4442dd1b65cd763130f63a88271eaa06f083121f60da70f126207f7`), signed by the given CA and valid for the host until `2027-11-28T07:52:26Z`, over `TLS 1.3`",
                "the API server certificate is signed by the given CA and valid for the host",
                None,
            ),
            (
                "the API server certificate `CN=kube-apiserver` is signed by `CN=rke2-server-ca@1764300000`, which is not among the given CAs (`CN=kubernetes`)",
                "the API server certificate is not signed by the given CA",
                Some("give the CA that signs the API server certificate: `/var/lib/rancher/rke2/server/tls/server-ca.crt` on an RKE2 server (the `certificate-authority-data` of `/etc/rancher/rke2/rke2.yaml`)"),
            ),
            (
                "the API server certificate `CN=kube-apiserver` is not valid for `10.0.0.10`: its names are `DNS:kubernetes`, `DNS:localhost`, `IP:127.0.0.1`, `IP:10.43.0.1`",
                "the API server certificate is not valid for the configured host",
                Some("RKE2's `tls-san` must include `10.0.0.10`: add `tls-san: [10.0.0.10]` (or append to the existing list) in `/etc/rancher/rke2/config.yaml` on every server, then `systemctl restart rke2-server`, which reissues the certificate with the new name; or point `kubernetes-host` at an address the certificate lists"),
            ),
            (
                "the API server certificate `CN=kube-apiserver` expired at `2027-11-28T07:52:26Z` (checked at `2027-01-01T00:00:00Z`)",
                "the API server certificate has expired",
                Some("renew the API server certificate: `systemctl stop rke2-server && rke2 certificate rotate --service api-server && systemctl start rke2-server` on each server (RKE2 also renews expired certificates when it starts); if the certificate looks valid, check this runner's clock"),
            ),
            (
                "the API server certificate `CN=kube-apiserver` is not valid before `2026-11-28T07:52:26Z` (checked at `2027-01-01T00:00:00Z`)",
                "the API server certificate is not valid yet",
                Some("the certificate starts in the future: check the clock of the server that issued it and of this runner"),
            ),
            (
                "the API server port refused the connection from this runner",
                "the API server port refused the connection from this runner",
                Some("check the port of `kubernetes-host` (RKE2 serves the API on 6443) and that `rke2-server` runs; Vault may still reach a host this runner cannot, and the login proof checks that"),
            ),
            (
                "the API server did not complete a TLS handshake with this runner within `300 ms`",
                "the API server did not answer within `300 ms`",
                Some("a firewall that drops packets looks like this: run the job on a runner inside the cluster's network, or rely on the login proof (Vault may still reach a host this runner cannot)"),
            ),
            (
                "the API server cannot be reached from this runner: No route to host (os error 113)",
                "the API server cannot be reached from this runner",
                Some("check that `kubernetes-host` resolves and is routable from this runner; Vault may still reach a host this runner cannot, and the login proof checks that"),
            ),
            (
                "the API server port does not speak TLS: it answered plain HTTP (`HTTP/1.1 400 Bad Request`)",
                "the API server port does not speak TLS",
                Some("point `kubernetes-host` at the API server's TLS port: `https://<vip>:6443`"),
            ),
            (
                "the TLS handshake with the API server failed: the server ended the handshake with the TLS alert `HandshakeFailure`",
                "the TLS handshake with the API server failed",
                Some("check that `kubernetes-host` is the Kubernetes API server itself (RKE2: port 6443), not a proxy; `openssl s_client -connect <host>:6443 -showcerts` shows what it presents"),
            ),
        ];
        for (finding, (message, public, hint)) in all_findings().iter().zip(rows) {
            assert_eq!(finding.message(), message, "{}", finding.kind());
            assert_eq!(finding.to_string(), message);
            assert_eq!(finding.public_message(), public, "{}", finding.kind());
            assert_eq!(finding.hint().as_deref(), hint, "{}", finding.kind());
            assert!(!message.contains('\n') && !message.ends_with('.'));
            let public_hint = finding.public_hint().unwrap_or_default();
            for internal in [
                "10.0.0.10",
                "rke2-server-ca@",
                "kube-apiserver`",
                "HTTP/1.1",
            ] {
                assert!(!public.contains(internal), "{public}");
                assert!(!public_hint.contains(internal), "{public_hint}");
            }
        }
    }

    #[test]
    fn a_failure_to_connect_behind_a_proxy_says_the_probe_does_not_use_it() {
        let proxy = Some("proxy.internal:3128".to_string());
        for finding in all_findings() {
            let noted = finding.clone().noting_proxy(proxy.clone());
            if finding.reached() {
                assert_eq!(noted, finding, "only a failure to connect is noted");
                continue;
            }
            assert_eq!(noted.kind(), finding.kind());
            assert!(!noted.reached());
            assert_eq!(noted.class(), finding.class());
            for mode in [ProbeMode::Auto, ProbeMode::Require, ProbeMode::Off] {
                assert_eq!(noted.outcome(mode), finding.outcome(mode));
            }
            assert!(noted.message().starts_with(&finding.message()));
            assert!(
                noted.message().ends_with(
                    "the probe connects directly: it does not use the proxy \
                     `proxy.internal:3128` set in `HTTPS_PROXY`"
                ),
                "{}",
                noted.message()
            );
            let hint = noted.hint().unwrap();
            assert!(hint.contains("does not go through `HTTPS_PROXY`"), "{hint}");
            assert!(hint.ends_with(&finding.hint().unwrap()), "{hint}");
            // The proxy's address is internal: public summaries leave it out.
            assert!(!noted.public_message().contains("proxy.internal"));
            assert!(!noted.public_hint().unwrap().contains("proxy.internal"));
        }
        let refused = ProbeFinding::Refused;
        assert_eq!(refused.clone().noting_proxy(None), refused);
    }

    #[test]
    fn details_stay_on_one_line() {
        let finding = ProbeFinding::Unreachable {
            detail: "x\ny".into(),
        };
        assert_eq!(
            finding.message(),
            "the API server cannot be reached from this runner: x\\u{a}y"
        );
        // Text quoted from the server is escaped where it is quoted.
        let finding = classify_tls_failure(TlsFailureKind::Alert("a`b".into()), &[], &[], "h", NOW);
        assert!(finding.message().ends_with("the TLS alert `a\\u{60}b`"));
    }

    #[test]
    fn same_named_ca_and_dns_for_ip_are_explained() {
        let finding = ProbeFinding::NotSignedByCa {
            presented: leaf(),
            ca_subjects: vec![CA_SUBJECT.into()],
            checked_at: Timestamp(NOW),
        };
        assert_eq!(
            finding.message(),
            "the API server certificate `CN=kube-apiserver` is signed by a different CA that \
             has the same name as a given one (`CN=rke2-server-ca@1764300000`)"
        );
        assert!(finding
            .hint()
            .unwrap()
            .ends_with("; a CA with the same name but another key comes from another cluster or an earlier install"));
        let mut presented = leaf();
        presented.sans = vec!["DNS:10.0.0.10".into()];
        let finding = ProbeFinding::HostNotInSans {
            presented,
            wanted: "10.0.0.10".into(),
        };
        assert!(finding.message().ends_with(
            "its names are `DNS:10.0.0.10` (an address matches only an `IP:` name, not a `DNS:` one)"
        ));
        let finding = ProbeFinding::HostNotInSans {
            presented: CertFacts {
                sans: Vec::new(),
                ..leaf()
            },
            wanted: "fd00::10".into(),
        };
        assert!(finding
            .message()
            .ends_with("is not valid for `fd00::10`: it has no subject alternative names"));
        assert!(finding
            .hint()
            .unwrap()
            .contains("add `tls-san: [\"fd00::10\"]`"));
        let finding = ProbeFinding::HostNotInSans {
            presented: leaf(),
            wanted: "k8s.example.com".into(),
        };
        assert!(finding
            .hint()
            .unwrap()
            .ends_with("or point `kubernetes-host` at a name the certificate lists"));
    }

    fn chain() -> Vec<Vec<u8>> {
        ders(SERVING)
    }

    #[test]
    fn classifies_certificate_failures() {
        let rke2 = ders(RKE2_CA);
        let kubeadm = ders(KUBEADM_CA);
        let c = |kind, cas: &[Vec<u8>], now| {
            classify_tls_failure(kind, &chain(), cas, "10.0.0.10", now)
        };
        assert_eq!(
            c(TlsFailureKind::UnknownIssuer, &kubeadm, NOW),
            ProbeFinding::NotSignedByCa {
                presented: leaf(),
                ca_subjects: vec!["CN=kubernetes".into()],
                checked_at: Timestamp(NOW),
            }
        );
        assert_eq!(
            c(TlsFailureKind::BadSignature, &rke2, NOW).kind(),
            "not-signed-by-ca"
        );
        assert_eq!(
            c(TlsFailureKind::NotValidForName, &rke2, NOW),
            ProbeFinding::HostNotInSans {
                presented: leaf(),
                wanted: "10.0.0.10".into(),
            }
        );
        let later = leaf().not_after.0 + 1;
        assert_eq!(
            c(TlsFailureKind::Expired, &rke2, later),
            ProbeFinding::Expired {
                presented: leaf(),
                checked_at: Timestamp(later),
            }
        );
        let earlier = leaf().not_before.0 - 1;
        assert_eq!(
            c(TlsFailureKind::NotYetValid, &rke2, earlier),
            ProbeFinding::NotYetValid {
                presented: leaf(),
                checked_at: Timestamp(earlier),
            }
        );
        assert_eq!(
            c(TlsFailureKind::WrongPurpose, &rke2, NOW),
            ProbeFinding::TlsFailure {
                detail: "the certificate `CN=kube-apiserver` is not for TLS servers (its \
                         extendedKeyUsage lacks `serverAuth`)"
                    .into()
            }
        );
    }

    #[test]
    fn expiry_does_not_mask_a_wrong_ca() {
        let later = leaf().not_after.0 + 1;
        let finding = classify_tls_failure(
            TlsFailureKind::Expired,
            &chain(),
            &ders(KUBEADM_CA),
            "10.0.0.10",
            later,
        );
        assert_eq!(finding.kind(), "not-signed-by-ca");
        assert_eq!(
            finding.message(),
            "the API server certificate `CN=kube-apiserver` is signed by \
             `CN=rke2-server-ca@1764300000`, which is not among the given CAs (`CN=kubernetes`); \
             it also expired at `2027-11-28T07:52:26Z` (checked at `2027-11-28T07:52:27Z`)"
        );
        assert_eq!(
            finding.public_message(),
            "the API server certificate is not signed by the given CA (and it has expired)"
        );
        assert!(finding
            .hint()
            .unwrap()
            .contains("; then renew the API server certificate"));
        let earlier = leaf().not_before.0 - 1;
        let finding = classify_tls_failure(
            TlsFailureKind::NotYetValid,
            &chain(),
            &ders(CUSTOM_CHAIN),
            "10.0.0.10",
            earlier,
        );
        assert_eq!(finding.kind(), "not-signed-by-ca");
        assert!(finding.message().contains("; it is also not valid before"));
    }

    #[test]
    fn issuer_is_matched_by_key_identifier_not_only_by_name() {
        let chain = chain();
        let leaf = Certificate::from_der(&chain[0]).unwrap();
        let rke2 = ders(RKE2_CA);
        let ca = Certificate::from_der(&rke2[0]).unwrap();
        assert!(issued_by(&leaf, &ca));
        assert!(chains_to(&leaf, &[], std::slice::from_ref(&ca)));
        // The rotation bundle holds the same old CA as its last certificate.
        let rotation = ders(include_bytes!("../../tests/fixtures/rotation-bundle.crt"));
        let cas: Vec<_> = rotation
            .iter()
            .map(|d| Certificate::from_der(d).unwrap())
            .collect();
        assert!(chains_to(&leaf, &[], &cas));
        // The custom chain's server CA has the RKE2 CA's very name, but another key.
        let custom = ders(CUSTOM_CHAIN);
        let cas: Vec<_> = custom
            .iter()
            .map(|d| Certificate::from_der(d).unwrap())
            .collect();
        assert!(!chains_to(&leaf, &[], &cas));
        // A chain the server sent that ends outside the given CAs does not count.
        let sent = vec![ca];
        assert!(!chains_to(&leaf, &sent, &cas));
    }

    #[test]
    fn classifies_socket_level_failures() {
        let c = |kind| classify_tls_failure(kind, &[], &ders(RKE2_CA), "10.0.0.10", NOW);
        assert_eq!(
            c(TlsFailureKind::NotTls {
                first_bytes: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()
            }),
            ProbeFinding::NotTls {
                detail: "it answered plain HTTP (`HTTP/1.1 400 Bad Request`)".into()
            }
        );
        assert_eq!(
            c(TlsFailureKind::NotTls {
                first_bytes: b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()
            }),
            ProbeFinding::NotTls {
                detail: "it answered `SSH-2.0-OpenSSH_9.6`".into()
            }
        );
        assert_eq!(
            c(TlsFailureKind::NotTls {
                first_bytes: vec![0, 1, 2, 0xff, 4, 5, 6, 7, 8, 9]
            }),
            ProbeFinding::NotTls {
                detail: "it answered bytes that are not a TLS record (`00 01 02 ff 04 05 06 07`)"
                    .into()
            }
        );
        assert_eq!(
            c(TlsFailureKind::ClosedByServer).message(),
            "the TLS handshake with the API server failed: the server closed the connection \
             during the handshake without a TLS alert"
        );
        assert_eq!(
            c(TlsFailureKind::Alert("HandshakeFailure".into())).kind(),
            "tls-failure"
        );
        assert_eq!(
            c(TlsFailureKind::UnknownIssuer),
            ProbeFinding::TlsFailure {
                detail: "the certificate is not signed by the given CA (the certificate the \
                         server sent could not be read)"
                    .into()
            }
        );
        assert_eq!(
            c(TlsFailureKind::Other("peer is incompatible".into())),
            ProbeFinding::TlsFailure {
                detail: "peer is incompatible".into()
            }
        );
    }

    #[test]
    fn verified_handshake_reads_the_leaf() {
        assert_eq!(
            classify_verified(&chain(), "TLS 1.2"),
            ProbeFinding::Verified {
                presented: leaf(),
                protocol: "TLS 1.2".into()
            }
        );
        assert_eq!(classify_verified(&[], "TLS 1.3").kind(), "tls-failure");
    }

    #[test]
    fn classes() {
        let classes: Vec<Option<ErrorClass>> = all_findings().iter().map(|f| f.class()).collect();
        use ErrorClass::*;
        assert_eq!(
            classes,
            [
                None,
                Some(User),
                Some(User),
                Some(User),
                Some(User),
                Some(Remote),
                Some(Remote),
                Some(Remote),
                Some(User),
                Some(Remote)
            ]
        );
    }
}
