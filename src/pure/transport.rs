//! Why a request to Vault got no answer at all: the connection, the name, the proxy or a TLS
//! handshake that failed for a reason other than Vault's certificate.
//!
//! A driver maps its HTTP client's error onto [`TransportKind`] and nothing more; what the
//! failure means, whether it is worth retrying, and the message that names `vault-addr` and the
//! fix are decided here. Certificate failures have their own type
//! ([`super::vault_api::VaultTlsFailure`]): they name `vault-ca-cert`. This module never
//! touches a socket or the environment; the proxy address is passed in, and only its host and
//! port are ever shown (a proxy URL may carry a user and password).

use std::fmt;

use super::probe::TlsFailureKind;
use super::{Area, Diagnostic, ErrorClass};

/// What went wrong on the way to Vault, as a driver read it from its client's error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// Nothing accepts connections on Vault's port (or a firewall rejects them).
    Refused,
    /// No connection or no answer within the time allowed.
    TimedOut,
    /// The host of `vault-addr` does not resolve on the runner.
    NameNotResolved,
    /// The connection was reset or closed before an answer arrived.
    Reset,
    /// The TLS handshake failed for a reason other than the certificate: plain http on the
    /// https port, a listener that closes the handshake, no protocol version in common.
    Tls(TlsFailureKind),
    /// The proxy itself could not be reached.
    ProxyUnreachable,
    /// The proxy asked for credentials: `407 Proxy Authentication Required`.
    ProxyAuthRequired,
    /// The proxy refused to open a tunnel to Vault (its `CONNECT` answer was not 200).
    ProxyRefused,
    /// Anything else; the detail says what.
    #[default]
    Other,
}

/// A request to Vault that got no usable connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultUnreachable {
    /// `vault-addr` as given.
    pub addr: String,
    pub kind: TransportKind,
    /// `host:port` of the proxy the connection went through, for the proxy kinds; never the
    /// user or password (see [`proxy_address`]).
    pub proxy: Option<String>,
    /// The client's own description of the error, for the curious; not the message.
    pub detail: String,
}

/// `host:port` of a proxy URL (`http://user:secret@proxy.internal:3128/` →
/// `proxy.internal:3128`): the part of `HTTPS_PROXY` a message may show. `None` for an empty
/// value.
pub fn proxy_address(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The userinfo ends at the last `@` of the authority (a password may hold an `@` only
    // percent-encoded, but a careless one must not leak either).
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (!host.is_empty()).then(|| host.to_string())
}

impl VaultUnreachable {
    /// True when another attempt may get through: the network may recover, and a load
    /// balancer with no healthy node behind it closes handshakes until one is back; a proxy's
    /// credentials, plain http on the port or a protocol version will not change.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            TransportKind::Refused
                | TransportKind::TimedOut
                | TransportKind::NameNotResolved
                | TransportKind::Reset
                | TransportKind::Tls(TlsFailureKind::ClosedByServer)
                | TransportKind::ProxyUnreachable
                | TransportKind::Other
        )
    }

    fn proxy(&self) -> String {
        match &self.proxy {
            Some(proxy) => format!("the proxy `{proxy}`"),
            None => "the proxy".to_string(),
        }
    }
}

impl fmt::Display for VaultUnreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = &self.addr;
        let detail = one_line(&self.detail);
        match &self.kind {
            TransportKind::Refused => write!(
                f,
                "no answer from Vault at `{addr}`: the connection was refused ({detail})"
            ),
            TransportKind::TimedOut => write!(
                f,
                "no answer from Vault at `{addr}`: the connection timed out ({detail})"
            ),
            TransportKind::NameNotResolved => write!(
                f,
                "no answer from Vault at `{addr}`: the host of `vault-addr` does not resolve on \
                 this runner ({detail})"
            ),
            TransportKind::Reset => write!(
                f,
                "no answer from Vault at `{addr}`: the connection broke off ({detail})"
            ),
            TransportKind::Tls(TlsFailureKind::NotTls { .. }) => write!(
                f,
                "`{addr}` does not answer TLS: the port of `vault-addr` speaks plain http or \
                 another protocol"
            ),
            TransportKind::Tls(TlsFailureKind::ClosedByServer) => write!(
                f,
                "Vault at `{addr}` closed the connection during the TLS handshake, before any \
                 certificate"
            ),
            TransportKind::Tls(TlsFailureKind::Alert(alert)) => write!(
                f,
                "Vault at `{addr}` refused the TLS handshake (alert `{alert}`): no protocol \
                 version or cipher suite in common"
            ),
            TransportKind::Tls(_) => {
                write!(
                    f,
                    "the TLS handshake with Vault at `{addr}` failed ({detail})"
                )
            }
            TransportKind::ProxyUnreachable => write!(
                f,
                "{} set in `HTTPS_PROXY` cannot be reached, so Vault at `{addr}` cannot either \
                 ({detail})",
                self.proxy()
            ),
            TransportKind::ProxyAuthRequired => write!(
                f,
                "{} refused the tunnel to Vault at `{addr}`: 407 Proxy Authentication \
                 Required",
                self.proxy()
            ),
            TransportKind::ProxyRefused => write!(
                f,
                "{} refused to open a tunnel to Vault at `{addr}` ({detail})",
                self.proxy()
            ),
            TransportKind::Other => write!(f, "no answer from Vault at `{addr}` ({detail})"),
        }
    }
}

impl std::error::Error for VaultUnreachable {}

impl Diagnostic for VaultUnreachable {
    fn area(&self) -> Area {
        Area::Vault
    }

    fn class(&self) -> ErrorClass {
        match self.kind {
            // The address or the runner's proxy settings must change.
            TransportKind::NameNotResolved
            | TransportKind::Tls(TlsFailureKind::NotTls { .. })
            | TransportKind::ProxyAuthRequired => ErrorClass::User,
            _ => ErrorClass::Remote,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match &self.kind {
            TransportKind::Refused => "check the port in `vault-addr` (Vault listens on 8200 by \
                 default) and that Vault runs; a firewall that rejects the runner looks the same"
                .into(),
            TransportKind::TimedOut => "check that this runner can reach the host of \
                 `vault-addr` (firewall, self-hosted runner network); behind a proxy, set \
                 `HTTPS_PROXY` on the runner and keep Vault's host out of `NO_PROXY`"
                .into(),
            TransportKind::NameNotResolved => "check the host name in `vault-addr` and the \
                 runner's DNS; a host only the proxy can resolve needs `HTTPS_PROXY` set and \
                 the host left out of `NO_PROXY`"
                .into(),
            TransportKind::Reset | TransportKind::Other => "check `vault-addr` and that the \
                 runner can reach Vault (firewall, proxy, self-hosted runner network)"
                .into(),
            TransportKind::Tls(TlsFailureKind::NotTls { .. }) => "`vault-addr` says `https://` \
                 but the port answers plain http: use the port of Vault's TLS listener \
                 (`tls_disable = false`), or `http://` only for a Vault on this machine"
                .into(),
            TransportKind::Tls(TlsFailureKind::ClosedByServer) => "check that `vault-addr` \
                 names Vault's TLS listener, not another service or a load balancer that drops \
                 the connection; `openssl s_client -connect <host>:<port>` shows what answers"
                .into(),
            TransportKind::Tls(_) => "the action speaks TLS 1.2 and 1.3 with modern cipher \
                 suites: check Vault's listener (`tls_min_version`, `tls_cipher_suites`) and \
                 that `vault-addr` names it"
                .into(),
            TransportKind::ProxyUnreachable => "check the proxy URL in `HTTPS_PROXY` (or \
                 `https_proxy`) on the runner, or add the host of `vault-addr` to `NO_PROXY` if \
                 the runner reaches Vault directly"
                .into(),
            TransportKind::ProxyAuthRequired => "give the proxy's user and password in its URL, \
                 `HTTPS_PROXY=http://<user>:<password>@<proxy>:<port>` (percent-encode special \
                 characters; if they are there, they are wrong, or the proxy wants another \
                 scheme than Basic), or add the host of `vault-addr` to `NO_PROXY`"
                .into(),
            TransportKind::ProxyRefused => "the proxy must allow `CONNECT` to the host and port \
                 of `vault-addr`; or add that host to `NO_PROXY` if the runner reaches Vault \
                 directly"
                .into(),
        })
    }
}

/// The first line of a detail, so that a message stays one line.
fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: TransportKind) -> VaultUnreachable {
        VaultUnreachable {
            addr: "https://vault.internal:8200".into(),
            kind,
            proxy: Some("proxy.internal:3128".into()),
            detail: "client error (Connect)".into(),
        }
    }

    #[test]
    fn every_kind_names_vault_addr_and_a_fix() {
        // (kind, in the message, in the hint, class, retried)
        let rows: Vec<(TransportKind, &str, &str, ErrorClass, bool)> = vec![
            (
                TransportKind::Refused,
                "the connection was refused",
                "check the port in `vault-addr`",
                ErrorClass::Remote,
                true,
            ),
            (
                TransportKind::TimedOut,
                "the connection timed out",
                "keep Vault's host out of `NO_PROXY`",
                ErrorClass::Remote,
                true,
            ),
            (
                TransportKind::NameNotResolved,
                "the host of `vault-addr` does not resolve",
                "check the host name in `vault-addr`",
                ErrorClass::User,
                true,
            ),
            (
                TransportKind::Reset,
                "the connection broke off",
                "check `vault-addr`",
                ErrorClass::Remote,
                true,
            ),
            (
                TransportKind::Tls(TlsFailureKind::NotTls {
                    first_bytes: b"HTTP/1.1 400".to_vec(),
                }),
                "does not answer TLS: the port of `vault-addr` speaks plain http",
                "the port of Vault's TLS listener",
                ErrorClass::User,
                false,
            ),
            (
                TransportKind::Tls(TlsFailureKind::ClosedByServer),
                "closed the connection during the TLS handshake",
                "check that `vault-addr` names Vault's TLS listener",
                ErrorClass::Remote,
                true,
            ),
            (
                TransportKind::Tls(TlsFailureKind::Alert("ProtocolVersion".into())),
                "refused the TLS handshake (alert `ProtocolVersion`): no protocol version",
                "`tls_min_version`",
                ErrorClass::Remote,
                false,
            ),
            (
                TransportKind::ProxyUnreachable,
                "the proxy `proxy.internal:3128` set in `HTTPS_PROXY` cannot be reached",
                "add the host of `vault-addr` to `NO_PROXY`",
                ErrorClass::Remote,
                true,
            ),
            (
                TransportKind::ProxyAuthRequired,
                "407 Proxy Authentication Required",
                "`HTTPS_PROXY=http://<user>:<password>@<proxy>:<port>`",
                ErrorClass::User,
                false,
            ),
            (
                TransportKind::ProxyRefused,
                "refused to open a tunnel to Vault",
                "allow `CONNECT` to the host and port of `vault-addr`",
                ErrorClass::Remote,
                false,
            ),
            (
                TransportKind::Other,
                "no answer from Vault at `https://vault.internal:8200`",
                "check `vault-addr`",
                ErrorClass::Remote,
                true,
            ),
        ];
        for (kind, message, hint, class, retried) in rows {
            let f = failure(kind.clone());
            let text = f.to_string();
            assert!(text.contains(message), "{kind:?}: {text}");
            assert!(text.contains("vault.internal"), "{kind:?}: {text}");
            assert!(!text.contains('\n'), "{kind:?}: {text}");
            let fix = f.hint().unwrap();
            assert!(fix.contains(hint), "{kind:?}: {fix}");
            assert!(fix.contains("`vault-addr`"), "{kind:?}: {fix}");
            assert_eq!(f.class(), class, "{kind:?}");
            assert_eq!(f.retryable(), retried, "{kind:?}");
            assert_eq!(f.area(), Area::Vault);
        }
    }

    #[test]
    fn a_proxy_address_never_carries_its_credentials() {
        let rows = [
            ("http://user:secret@127.0.0.1:3128", Some("127.0.0.1:3128")),
            (
                "http://user:p%40ss@proxy.internal:3128/",
                Some("proxy.internal:3128"),
            ),
            (
                "user:s@cret@proxy.internal:8080",
                Some("proxy.internal:8080"),
            ),
            ("http://[fd00::1]:3128", Some("[fd00::1]:3128")),
            ("proxy.internal:3128", Some("proxy.internal:3128")),
            ("http://proxy.internal", Some("proxy.internal")),
            ("", None),
            ("   ", None),
        ];
        for (url, want) in rows {
            assert_eq!(proxy_address(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn a_detail_stays_on_one_line() {
        let mut f = failure(TransportKind::Other);
        f.detail = "first\nsecond".into();
        assert!(f.to_string().ends_with("(first)"), "{f}");
    }
}
