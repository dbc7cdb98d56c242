//! The Kubernetes API server address Vault will call: parsing, safety rules, normalisation.
//!
//! Owns the rules for `kubernetes_host`: `https://` only, a real host (no loopback, no
//! unspecified address, no numeric shorthand a resolver would expand), a port, IPv6 in brackets.
//! It never resolves a name or opens a connection: Vault stores the host verbatim and builds its
//! TokenReview URL from it, so everything is decided on the text.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Diagnostic, ErrorClass};

/// The port kube-apiserver listens on in RKE2 and kubeadm clusters; used on the VIP path.
pub const DEFAULT_API_PORT: u16 = 6443;

/// A validated `kubernetes_host`: the exact text sent to Vault and its normalised form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesHost {
    url: String,
    normalised: String,
    host: HostName,
    port: u16,
    loopback: bool,
    warnings: Vec<String>,
}

/// The host part of a `kubernetes_host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostName {
    Ip(IpAddr),
    Dns(String),
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostName::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostName::Dns(name) => f.write_str(name),
        }
    }
}

impl KubernetesHost {
    /// The value written to Vault's `kubernetes_host`, exactly as given (or built from the VIP).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `https://<lower-case host>:<port><path>`, without a trailing `/`: the form compared.
    pub fn normalised(&self) -> &str {
        &self.normalised
    }

    pub fn host(&self) -> &HostName {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// True when the host is a loopback address admitted by `allow-loopback-host`.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// Things a person should read although the host was accepted.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl fmt::Display for KubernetesHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why a host was refused. `origin` names where the value came from: an input name such as
/// `kubernetes-host`, or the KV location the VIP was read from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("`{origin}` is empty")]
    Empty { origin: String },
    #[error("`{origin}` has no scheme: Vault accepts it but every TokenReview fails")]
    NoScheme { origin: String },
    #[error("`{origin}` uses `{scheme}://`: the Kubernetes API is only reached over https")]
    NotHttps { origin: String, scheme: String },
    #[error("`{origin}` is not a valid URL: {reason}")]
    Malformed {
        origin: String,
        reason: &'static str,
    },
    #[error("`{origin}` has port `{port}`, which is not a TCP port (1-65535)")]
    BadPort { origin: String, port: String },
    #[error(
        "`{origin}` is a loopback address (`{host}`): Vault would call itself, not the cluster"
    )]
    Loopback { origin: String, host: String },
    #[error("`{origin}` is the unspecified address `{host}`, which names no server")]
    Unspecified { origin: String, host: String },
    #[error(
        "`{origin}` is `{host}`, a link-local or cloud metadata address: Vault would send \
         ServiceAccount tokens to the metadata service of its own host"
    )]
    Metadata { origin: String, host: String },
    #[error("`{origin}` is a numeric shorthand (`{host}`) that resolvers expand differently")]
    NumericShorthand { origin: String, host: String },
    #[error("`{origin}` uses `http://` to a host other than loopback: the Vault token would cross the network in clear text")]
    PlainHttpVault { origin: String },
    #[error("`{origin}` {reason}")]
    BadVaultAddr {
        origin: String,
        reason: &'static str,
        /// The corrected value, when it can be derived from the input.
        fixed: Option<String>,
    },
    #[error("the VIP at `{origin}` is not an IP address or DNS name")]
    BadVip { origin: String },
}

impl Diagnostic for HostError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        let hint = match self {
            HostError::Empty { .. } => {
                "set `kubernetes-host: https://<vip>:6443`, or leave it unset to read the VIP from Vault KV".to_string()
            }
            HostError::NoScheme { .. } => {
                "write the full URL, e.g. `https://10.0.0.10:6443`".to_string()
            }
            HostError::NotHttps { .. } => {
                "use `https://<vip>:6443`; kube-apiserver serves TLS only".to_string()
            }
            HostError::Malformed { .. } => {
                "write `https://<host>[:port]`, IPv6 in brackets: `https://[fd00::10]:6443`".to_string()
            }
            HostError::BadPort { .. } => {
                "RKE2 and kubeadm serve the API on port 6443: `https://<vip>:6443`".to_string()
            }
            HostError::Loopback { .. } => "this is the `server:` of RKE2's rke2.yaml \
                (`https://127.0.0.1:6443`); use the kube-vip VIP or a server address reachable \
                from Vault, or set `allow-loopback-host: true` for a local trial only"
                .to_string(),
            HostError::Unspecified { .. } => {
                "use the VIP or a server address reachable from Vault".to_string()
            }
            HostError::Metadata { .. } => "use the kube-vip VIP or a server address of the \
                cluster; link-local addresses (`169.254.0.0/16`, `fe80::/10`) and metadata names \
                never serve the Kubernetes API"
                .to_string(),
            HostError::NumericShorthand { .. } => {
                "write the address in full dotted form, e.g. `10.0.0.10`".to_string()
            }
            HostError::PlainHttpVault { .. } => {
                "use `https://vault.example.com:8200`; `http://` is accepted only for a Vault on \
                 this machine (`http://127.0.0.1:8200`)"
                    .to_string()
            }
            HostError::BadVaultAddr { fixed: Some(v), .. } => format!(
                "set `vault-addr: {v}` (Vault's address: scheme, host and port; the action adds \
                 `/v1/…` itself)"
            ),
            HostError::BadVaultAddr { fixed: None, .. } => {
                "set `vault-addr` to Vault's address with its scheme, e.g. \
                 `https://vault.example.com:8200` (what `VAULT_ADDR` holds for the vault CLI)"
                    .to_string()
            }
            HostError::BadVip { .. } => "store the bare VIP, e.g. `10.0.0.10` or `fd00::10`, \
                without scheme or port (set `vip-port` for the port)"
                .to_string(),
        };
        Some(hint)
    }
}

/// Parses the `kubernetes-host` input: a full `https://` URL, used verbatim.
pub fn parse_kubernetes_host(
    origin: &str,
    value: &str,
    allow_loopback: bool,
) -> Result<KubernetesHost, HostError> {
    let parts = split_url(origin, value, false)?;
    let mut warnings = Vec::new();
    if parts.port.is_none() {
        warnings.push(format!(
            "`{origin}` has no port, so Vault will call port 443; RKE2 and kubeadm serve the API \
             on 6443"
        ));
    }
    if !parts.path.is_empty() {
        warnings.push(format!(
            "`{origin}` has a path; Vault keeps it as a prefix of the TokenReview URL (right for \
             a proxy, wrong otherwise)"
        ));
    }
    build(origin, value.to_string(), parts, allow_loopback, warnings)
}

/// Builds `https://<vip>:<port>` from a VIP read from Vault KV (`origin` names that location).
pub fn host_from_vip(
    origin: &str,
    vip: &str,
    port: u16,
    allow_loopback: bool,
) -> Result<KubernetesHost, HostError> {
    let vip = vip.trim();
    if vip.is_empty() {
        return Err(HostError::Empty {
            origin: origin.to_string(),
        });
    }
    let host = if let Ok(ip) = vip.parse::<IpAddr>() {
        HostName::Ip(ip)
    } else if vip.contains(['/', ':', '[', ']', '@', ' ']) {
        return Err(HostError::BadVip {
            origin: origin.to_string(),
        });
    } else {
        parse_host_name(origin, vip)?
    };
    let url = format!("https://{host}:{port}");
    let parts = UrlParts {
        http: false,
        host,
        port: Some(port),
        path: String::new(),
    };
    build(origin, url, parts, allow_loopback, Vec::new())
}

/// Vault's address: `https://`, or `http://` on a loopback host only (a dev server on this
/// machine), with no path, query or credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultAddr {
    url: String,
}

impl VaultAddr {
    /// `scheme://host[:port]`, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for VaultAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Parses the `vault-addr` input.
pub fn parse_vault_addr(origin: &str, value: &str) -> Result<VaultAddr, HostError> {
    let trimmed = value.trim();
    if !trimmed.is_empty() && !trimmed.contains("://") {
        // `vault.example.com:8200`: the vault CLI's VAULT_ADDR always carries a scheme.
        let fixed = (!trimmed.contains(char::is_whitespace))
            .then(|| format!("https://{}", trimmed.trim_end_matches('/')));
        return Err(HostError::BadVaultAddr {
            origin: origin.into(),
            reason: "has no scheme (`https://`)",
            fixed,
        });
    }
    if let Some((base, path)) = trimmed.split_once("://").and_then(|(scheme, rest)| {
        rest.find('/')
            .map(|i| (format!("{scheme}://{}", &rest[..i]), &rest[i..]))
    }) {
        let path = path.trim_end_matches('/');
        if path == "/v1" || path.starts_with("/v1/") {
            return Err(HostError::BadVaultAddr {
                origin: origin.into(),
                reason: "ends in `/v1`: the action adds the API prefix itself",
                fixed: Some(base),
            });
        }
    }
    let parts = split_url(origin, value, true)?;
    if parts.http {
        let loopback = match &parts.host {
            HostName::Ip(ip) => is_loopback_ip(*ip),
            HostName::Dns(name) => name.trim_end_matches('.') == "localhost",
        };
        if !loopback {
            return Err(HostError::PlainHttpVault {
                origin: origin.into(),
            });
        }
    }
    if !parts.path.trim_end_matches('/').is_empty() {
        return Err(HostError::Malformed {
            origin: origin.into(),
            reason: "Vault's address takes no path (requests go to `/v1/...`)",
        });
    }
    let scheme = if parts.http { "http" } else { "https" };
    let url = match parts.port {
        Some(port) => format!("{scheme}://{}:{port}", parts.host),
        None => format!("{scheme}://{}", parts.host),
    };
    Ok(VaultAddr { url })
}

/// True when two `kubernetes_host` values name the same endpoint once normalised (scheme and host
/// lower-cased, default port made explicit, trailing `/` dropped). Vault stores the host verbatim,
/// so a stored `https://VIP:6443/` is the same as a desired `https://vip:6443`. Values that do not
/// parse are compared as written.
pub fn same_host(a: &str, b: &str) -> bool {
    match (normalise_lenient(a), normalise_lenient(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

fn normalise_lenient(value: &str) -> Option<String> {
    let parts = split_url("", value.trim(), false).ok()?;
    Some(render_normalised(&parts))
}

struct UrlParts {
    http: bool,
    host: HostName,
    port: Option<u16>,
    path: String,
}

fn render_normalised(parts: &UrlParts) -> String {
    let path = parts.path.trim_end_matches('/');
    format!(
        "https://{}:{}{}",
        parts.host,
        parts.port.unwrap_or(443),
        path
    )
}

fn build(
    origin: &str,
    url: String,
    parts: UrlParts,
    allow_loopback: bool,
    mut warnings: Vec<String>,
) -> Result<KubernetesHost, HostError> {
    if is_metadata_host(&parts.host) {
        return Err(HostError::Metadata {
            origin: origin.into(),
            host: parts.host.to_string(),
        });
    }
    let loopback = match &parts.host {
        HostName::Ip(ip) if ip.is_unspecified() => {
            return Err(HostError::Unspecified {
                origin: origin.into(),
                host: ip.to_string(),
            })
        }
        HostName::Ip(ip) => is_loopback_ip(*ip),
        HostName::Dns(name) => {
            let name = name.trim_end_matches('.');
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if loopback {
        if !allow_loopback {
            return Err(HostError::Loopback {
                origin: origin.into(),
                host: parts.host.to_string(),
            });
        }
        warnings.push(format!(
            "`{origin}` is the loopback address `{}`, admitted by `allow-loopback-host: true`: \
             only a Vault on this same machine can reach it",
            parts.host
        ));
    }
    Ok(KubernetesHost {
        normalised: render_normalised(&parts),
        port: parts.port.unwrap_or(443),
        host: parts.host,
        url,
        loopback,
        warnings,
    })
}

/// Link-local addresses and the names and addresses of cloud instance metadata services:
/// `169.254.0.0/16` (AWS, Azure, GCP, OpenStack and Oracle serve metadata at 169.254.169.254),
/// `fe80::/10`, AWS's IPv6 endpoint `fd00:ec2::254`, Alibaba's `100.100.100.200`, GCP's
/// `metadata.google.internal` and `metadata.goog`, and each IPv4 one in IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible and NAT64 (`64:ff9b::/96`) form.
fn is_metadata_host(host: &HostName) -> bool {
    let v4_is = |v4: Ipv4Addr| v4.is_link_local() || v4 == Ipv4Addr::new(100, 100, 100, 200);
    match host {
        HostName::Ip(IpAddr::V4(v4)) => v4_is(*v4),
        HostName::Ip(IpAddr::V6(v6)) => {
            let seg = v6.segments();
            let embedded = Ipv4Addr::from(((seg[6] as u32) << 16) | seg[7] as u32);
            let mapped = v6.to_ipv4_mapped().is_some_and(v4_is);
            let compatible_or_nat64 = (seg[..6] == [0, 0, 0, 0, 0, 0]
                || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0])
                && v4_is(embedded);
            (seg[0] & 0xffc0) == 0xfe80
                || *v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
                || mapped
                || compatible_or_nat64
        }
        HostName::Dns(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            ["metadata.google.internal", "metadata.goog"].contains(&name.as_str())
        }
    }
}

fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn split_url(origin: &str, value: &str, allow_http: bool) -> Result<UrlParts, HostError> {
    let origin_owned = || origin.to_string();
    if value.trim().is_empty() {
        return Err(HostError::Empty {
            origin: origin_owned(),
        });
    }
    if value != value.trim() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(HostError::Malformed {
            origin: origin_owned(),
            reason: "it contains whitespace or control characters",
        });
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(HostError::NoScheme {
            origin: origin_owned(),
        });
    };
    let http = allow_http && scheme.eq_ignore_ascii_case("http");
    if !scheme.eq_ignore_ascii_case("https") && !http {
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(HostError::Malformed {
                origin: origin_owned(),
                reason: "the scheme is not valid",
            });
        }
        return Err(HostError::NotHttps {
            origin: origin_owned(),
            scheme: scheme.to_ascii_lowercase(),
        });
    }
    if rest.contains(['?', '#']) {
        return Err(HostError::Malformed {
            origin: origin_owned(),
            reason: "a query or fragment has no meaning here",
        });
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(HostError::Malformed {
            origin: origin_owned(),
            reason: "credentials in the URL are not allowed",
        });
    }
    let (host_text, port_text) = if let Some(after) = authority.strip_prefix('[') {
        let Some((inside, tail)) = after.split_once(']') else {
            return Err(HostError::Malformed {
                origin: origin_owned(),
                reason: "an IPv6 bracket is not closed",
            });
        };
        let port = match tail {
            "" => None,
            t => Some(t.strip_prefix(':').ok_or(HostError::Malformed {
                origin: origin_owned(),
                reason: "text follows the IPv6 address",
            })?),
        };
        let ip: Ipv6Addr = inside.parse().map_err(|_| HostError::Malformed {
            origin: origin_owned(),
            reason: "the bracketed host is not an IPv6 address (zones are not supported)",
        })?;
        (HostName::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.contains(':') {
            return Err(HostError::Malformed {
                origin: origin_owned(),
                reason: "an IPv6 address must be written in brackets",
            });
        }
        (parse_host_name(origin, host)?, port)
    };
    let port = match port_text {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => {
                return Err(HostError::BadPort {
                    origin: origin_owned(),
                    port: p.to_string(),
                })
            }
        },
    };
    Ok(UrlParts {
        http,
        host: host_text,
        port,
        path: path.to_string(),
    })
}

fn parse_host_name(origin: &str, host: &str) -> Result<HostName, HostError> {
    if host.is_empty() {
        return Err(HostError::Malformed {
            origin: origin.into(),
            reason: "the host is empty",
        });
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Ok(HostName::Ip(IpAddr::V4(v4)));
    }
    // `127.1`, `2130706433` or `0x7f.1` are not IPv4 to Rust, but inet_aton (and so Go's and
    // curl's resolvers) expands them to addresses: refuse rather than guess which.
    let last = host
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or_default();
    let numeric_label = !last.is_empty()
        && (last.chars().all(|c| c.is_ascii_digit())
            || (last.len() > 2 && last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"))));
    if numeric_label {
        return Err(HostError::NumericShorthand {
            origin: origin.into(),
            host: host.into(),
        });
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(HostError::Malformed {
            origin: origin.into(),
            reason: "the host is not a DNS name or IP address",
        });
    }
    Ok(HostName::Dns(host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IN: &str = "kubernetes-host";

    #[test]
    fn accepted_hosts() {
        let rows: &[(&str, bool, &str, u16, usize)] = &[
            // value, allow_loopback, normalised, port, warnings
            (
                "https://10.69.1.110:6443",
                false,
                "https://10.69.1.110:6443",
                6443,
                0,
            ),
            (
                "https://K8S.Example.COM:6443/",
                false,
                "https://k8s.example.com:6443",
                6443,
                1,
            ),
            (
                "HTTPS://api.example.com",
                false,
                "https://api.example.com:443",
                443,
                1,
            ),
            (
                "https://[fd00:0::10]:6443",
                false,
                "https://[fd00::10]:6443",
                6443,
                0,
            ),
            (
                "https://proxy.example.com:8443/k8s/dev",
                false,
                "https://proxy.example.com:8443/k8s/dev",
                8443,
                1,
            ),
            (
                "https://127.0.0.1:6443",
                true,
                "https://127.0.0.1:6443",
                6443,
                1,
            ),
            (
                "https://localhost:6443",
                true,
                "https://localhost:6443",
                6443,
                1,
            ),
        ];
        for (value, allow, normalised, port, warnings) in rows {
            let host =
                parse_kubernetes_host(IN, value, *allow).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(host.as_str(), *value, "verbatim");
            assert_eq!(host.normalised(), *normalised, "{value}");
            assert_eq!(host.port(), *port, "{value}");
            assert_eq!(
                host.warnings().len(),
                *warnings,
                "{value}: {:?}",
                host.warnings()
            );
        }
    }

    #[test]
    fn refused_hosts() {
        let rows: &[(&str, &str, &str)] = &[
            (
                "",
                "`kubernetes-host` is empty",
                "kubernetes-host: https://<vip>:6443",
            ),
            (
                "10.69.1.110:6443",
                "has no scheme",
                "https://10.0.0.10:6443",
            ),
            (
                "http://10.69.1.110:6443",
                "uses `http://`",
                "serves TLS only",
            ),
            (
                "https://127.0.0.1:6443",
                "loopback address (`127.0.0.1`)",
                "rke2.yaml",
            ),
            (
                "https://127.42.0.9:6443",
                "loopback address",
                "allow-loopback-host: true",
            ),
            (
                "https://[::1]:6443",
                "loopback address (`[::1]`)",
                "rke2.yaml",
            ),
            (
                "https://[::ffff:127.0.0.1]:6443",
                "loopback address",
                "rke2.yaml",
            ),
            (
                "https://localhost:6443",
                "loopback address (`localhost`)",
                "rke2.yaml",
            ),
            ("https://LOCALHOST.:6443", "loopback address", "rke2.yaml"),
            (
                "https://api.localhost:6443",
                "loopback address",
                "rke2.yaml",
            ),
            (
                "https://0.0.0.0:6443",
                "unspecified address `0.0.0.0`",
                "reachable from Vault",
            ),
            (
                "https://[::]:6443",
                "unspecified address `::`",
                "reachable from Vault",
            ),
            (
                "https://127.1:6443",
                "numeric shorthand (`127.1`)",
                "full dotted form",
            ),
            (
                "https://2130706433:6443",
                "numeric shorthand",
                "full dotted form",
            ),
            (
                "https://0x7f.1:6443",
                "numeric shorthand",
                "full dotted form",
            ),
            ("https://10.69.1.110:0", "port `0`", "port 6443"),
            ("https://10.69.1.110:65536", "port `65536`", "port 6443"),
            ("https://10.69.1.110:+443", "port `+443`", "port 6443"),
            (
                "https://fd00::10:6443",
                "must be written in brackets",
                "IPv6 in brackets",
            ),
            (
                "https://[fd00::10",
                "bracket is not closed",
                "IPv6 in brackets",
            ),
            (
                "https://[fe80::1%eth0]:6443",
                "zones are not supported",
                "IPv6 in brackets",
            ),
            (
                "https://user:pw@host:6443",
                "credentials in the URL",
                "https://<host>[:port]",
            ),
            (
                "https://host:6443?x=1",
                "query or fragment",
                "https://<host>[:port]",
            ),
            (
                "https://host name:6443",
                "whitespace",
                "https://<host>[:port]",
            ),
            (" https://host:6443", "whitespace", "https://<host>[:port]"),
            (
                "https://bad_label-.example:6443",
                "not a DNS name",
                "https://<host>[:port]",
            ),
            (
                "https://:6443",
                "the host is empty",
                "https://<host>[:port]",
            ),
        ];
        for (value, message, hint) in rows {
            let err = parse_kubernetes_host(IN, value, false).expect_err(value);
            let shown = err.to_string();
            assert!(
                shown.contains(message),
                "{value}: message {shown:?} lacks {message:?}"
            );
            assert!(shown.starts_with("`kubernetes-host`"), "{value}: {shown}");
            let h = err.hint().expect("every host error has a hint");
            assert!(h.contains(hint), "{value}: hint {h:?} lacks {hint:?}");
            assert_eq!(err.class(), ErrorClass::User);
        }
    }

    #[test]
    fn vip_path_adds_the_port_and_brackets_ipv6() {
        let at = "kv/dev/data/ip#vip";
        let rows: &[(&str, &str)] = &[
            ("10.69.1.110", "https://10.69.1.110:6443"),
            ("10.69.1.110\n", "https://10.69.1.110:6443"),
            ("fd00::10", "https://[fd00::10]:6443"),
            ("api.dev.example.com", "https://api.dev.example.com:6443"),
        ];
        for (vip, url) in rows {
            let host = host_from_vip(at, vip, DEFAULT_API_PORT, false).unwrap();
            assert_eq!(host.as_str(), *url);
        }
        let refused: &[(&str, &str)] = &[
            ("", "is empty"),
            ("https://10.69.1.110:6443", "not an IP address or DNS name"),
            ("10.69.1.110:6443", "not an IP address or DNS name"),
            ("127.0.0.1", "loopback"),
            ("::", "unspecified"),
        ];
        for (vip, message) in refused {
            let err = host_from_vip(at, vip, DEFAULT_API_PORT, false).expect_err(vip);
            assert!(err.to_string().contains(message), "{vip}: {err}");
            assert!(err.to_string().contains("kv/dev/data/ip"), "{vip}: {err}");
        }
        let staged = host_from_vip(at, "127.0.0.5", 16443, true).unwrap();
        assert_eq!(staged.as_str(), "https://127.0.0.5:16443");
        assert!(staged.is_loopback());
    }

    #[test]
    fn vault_addresses() {
        let v = "vault-addr";
        let ok: &[(&str, &str)] = &[
            (
                "https://vault.example.com:8200",
                "https://vault.example.com:8200",
            ),
            (
                "https://vault.example.com:8200/",
                "https://vault.example.com:8200",
            ),
            ("https://Vault.Example.com", "https://vault.example.com"),
            ("http://127.0.0.1:8200", "http://127.0.0.1:8200"),
            ("http://[::1]:8200", "http://[::1]:8200"),
            ("http://localhost:8200", "http://localhost:8200"),
        ];
        for (value, url) in ok {
            assert_eq!(
                parse_vault_addr(v, value).unwrap().as_str(),
                *url,
                "{value}"
            );
        }
        let refused: &[(&str, &str, &str)] = &[
            (
                "http://vault.example.com:8200",
                "in clear text",
                "http://127.0.0.1:8200",
            ),
            (
                "vault.example.com:8200",
                "has no scheme",
                "`vault-addr: https://vault.example.com:8200`",
            ),
            (
                "https://vault.example.com:8200/v1",
                "ends in `/v1`",
                "`vault-addr: https://vault.example.com:8200`",
            ),
            (
                "https://vault.example.com:8200/v1/",
                "ends in `/v1`",
                "`vault-addr: https://vault.example.com:8200`",
            ),
            (
                "https://vault.example.com:8200/ui",
                "takes no path",
                "https://<host>",
            ),
            ("ftp://vault", "uses `ftp://`", "https://"),
        ];
        for (value, message, hint) in refused {
            let err = parse_vault_addr(v, value).expect_err(value);
            assert!(err.to_string().contains(message), "{value}: {err}");
            assert!(
                err.hint().unwrap().contains(hint),
                "{value}: {:?}",
                err.hint()
            );
        }
    }

    #[test]
    fn same_host_compares_normalised_forms() {
        assert!(same_host(
            "https://10.69.1.110:6443/",
            "https://10.69.1.110:6443"
        ));
        assert!(same_host(
            "https://API.example.com",
            "https://api.example.com:443"
        ));
        assert!(same_host(
            "https://[fd00:0:0::10]:6443",
            "https://[fd00::10]:6443"
        ));
        assert!(!same_host(
            "https://10.69.1.110:6443",
            "https://10.69.1.111:6443"
        ));
        assert!(!same_host(
            "https://10.69.1.110",
            "https://10.69.1.110:6443"
        ));
        // A stored schemeless value never equals a proper URL: it must be rewritten.
        assert!(!same_host("10.69.1.110:6443", "https://10.69.1.110:6443"));
        assert!(same_host("10.69.1.110:6443", "10.69.1.110:6443"));
    }

    #[test]
    fn link_local_and_metadata_hosts_are_refused() {
        for value in [
            "https://169.254.169.254:6443",
            "https://169.254.1.2",
            "https://[fe80::1]:6443",
            "https://[fd00:ec2::254]",
            "https://[::ffff:169.254.169.254]:6443",
            "https://[::ffff:a9fe:a9fe]:6443",
            "https://[64:ff9b::a9fe:a9fe]:6443",
            "https://[::169.254.169.254]",
            "https://100.100.100.200:6443",
            "https://metadata.google.internal",
            "https://METADATA.google.internal.:6443",
            "https://metadata.goog",
        ] {
            let e = parse_kubernetes_host("kubernetes-host", value, true).unwrap_err();
            assert!(matches!(e, HostError::Metadata { .. }), "{value}: {e}");
            assert!(e.hint().unwrap().contains("kube-vip VIP"), "{value}");
        }
        let e = host_from_vip("kv/dev/data/ip#vip", "169.254.169.254", 6443, false).unwrap_err();
        assert!(matches!(e, HostError::Metadata { .. }), "{e}");
        // Neighbours stay allowed.
        for value in [
            "https://169.255.0.1:6443",
            "https://[fd00:ec2::253]",
            "https://metadata.example.com",
        ] {
            assert!(
                parse_kubernetes_host("kubernetes-host", value, false).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn non_ascii_labels_never_panic() {
        for value in [
            "https://é:6443",
            "https://a.éx",
            "https://a.0é",
            "https://x.ü0x",
        ] {
            let _ = parse_kubernetes_host("kubernetes-host", value, false);
        }
        let _ = host_from_vip("kv", "0é", 6443, false);
    }
}
