//! The few facts the machine reads off a URL: its origin and whether it points at this machine.
//! The URLs are the ones the run was given (`vault-addr`, validated), or the runner's own
//! (`ACTIONS_ID_TOKEN_REQUEST_URL`, `GITHUB_API_URL`).

/// `(scheme, host, port)` of an http(s) URL; `None` for anything else. The host is lower case,
/// without brackets; the port is the scheme's default when absent.
fn parts(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() => p.parse().ok()?,
        _ => default,
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// `scheme://host:port` of a URL (empty when it does not parse): what "same origin" compares.
pub fn origin_of(url: &str) -> String {
    match parts(url) {
        Some((scheme, host, port)) if host.contains(':') => format!("{scheme}://[{host}]:{port}"),
        Some((scheme, host, port)) => format!("{scheme}://{host}:{port}"),
        None => String::new(),
    }
}

/// The host of a URL, without brackets (empty when it does not parse).
pub fn host_of(url: &str) -> String {
    parts(url).map(|(_, h, _)| h).unwrap_or_default()
}

/// True for hosts on this machine: no proxy can reach them, and a proxy must not see a token
/// sent over plain http to one.
pub fn is_loopback_url(url: &str) -> bool {
    parts(url).is_some_and(|(_, h, _)| {
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// True for an https URL, or an http one to this machine: the only URLs a credential may be
/// sent to (the OIDC request token, the GitHub token; the blob download follows the same rule).
pub fn https_or_loopback_http(url: &str) -> bool {
    match parts(url) {
        Some((scheme, _, _)) if scheme == "https" => true,
        Some((scheme, _, _)) if scheme == "http" => is_loopback_url(url),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_loopback() {
        assert_eq!(
            origin_of("https://Vault.example:8200/v1/x"),
            "https://vault.example:8200"
        );
        assert_eq!(origin_of("http://127.0.0.1/x?y"), "http://127.0.0.1:80");
        assert_eq!(origin_of("https://[::1]:8200"), "https://[::1]:8200");
        assert_eq!(origin_of("https://u:p@h/x"), "https://h:443");
        assert_eq!(origin_of("ftp://h/"), "");
        assert!(is_loopback_url("http://[::1]:1/"));
        assert!(is_loopback_url("http://127.0.0.9:1/"));
        assert!(is_loopback_url("http://localhost:1/"));
        assert!(!is_loopback_url("http://10.0.0.1/"));
        assert!(https_or_loopback_http(
            "https://pipelines.actions.githubusercontent.com/x"
        ));
        assert!(https_or_loopback_http("http://127.0.0.1:8080/x"));
        assert!(!https_or_loopback_http("http://10.0.0.1/x"));
        assert_eq!(host_of("https://[fd00::1]:6443"), "fd00::1");
    }
}
