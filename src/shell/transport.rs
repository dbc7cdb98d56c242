//! Reading a failed reqwest call as a [`TransportKind`]: the error chain is walked
//! for the io error, the rustls error, the resolver's and the proxy tunnel's, and nothing else
//! is decided here (`pure::transport` words the failure and says whether to retry).
//!
//! hyper-util does not export its tunnel error type, so the proxy failures are recognised by
//! its Display text (`tunnel error: …`, hyper-util 0.1); tests/vault_tls.rs drives a real proxy
//! for each, so a changed text fails a test rather than degrading silently to `Other`.

use std::error::Error as StdError;
use std::io;

use crate::pure::probe::TlsFailureKind;
use crate::pure::transport::TransportKind;

/// What the error chain of a reqwest failure says went wrong.
pub fn transport_kind(e: &reqwest::Error) -> TransportKind {
    let chain = chain_of(e);
    let texts: Vec<String> = chain.iter().map(ToString::to_string).collect();
    // The proxy first: a refused or timed-out connection inside a failed tunnel is the
    // proxy's, not Vault's.
    for text in &texts {
        if let Some(tunnel) = text.strip_prefix("tunnel error: ") {
            return match tunnel {
                "proxy authorization required" => TransportKind::ProxyAuthRequired,
                "failed to create underlying connection" => TransportKind::ProxyUnreachable,
                _ => TransportKind::ProxyRefused,
            };
        }
    }
    if let Some(tls) = super::find_rustls_error(e) {
        return TransportKind::Tls(match tls {
            rustls::Error::InvalidCertificate(cert) => super::probe::map_certificate_error(cert),
            // The first record is not TLS: plain http (`HTTP/1.1 400…`) or another protocol.
            rustls::Error::InvalidMessage(_) => TlsFailureKind::NotTls {
                first_bytes: Vec::new(),
            },
            rustls::Error::AlertReceived(alert) => TlsFailureKind::Alert(format!("{alert:?}")),
            other => TlsFailureKind::Other(other.to_string()),
        });
    }
    if e.is_timeout() {
        return TransportKind::TimedOut;
    }
    for (err, text) in chain.iter().zip(&texts) {
        // hyper-util's resolver failure: `dns error` over the resolver's io error.
        if text == "dns error" || text.starts_with("dns error:") {
            return TransportKind::NameNotResolved;
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return TransportKind::Refused,
                io::ErrorKind::TimedOut => return TransportKind::TimedOut,
                // tokio-rustls reports a peer that hangs up mid-handshake as `tls handshake eof`.
                io::ErrorKind::UnexpectedEof if text.contains("tls handshake eof") => {
                    return TransportKind::Tls(TlsFailureKind::ClosedByServer)
                }
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return TransportKind::Reset,
                _ => {}
            }
        }
    }
    if texts
        .iter()
        .any(|t| t.contains("connection closed before message completed"))
    {
        return TransportKind::Reset;
    }
    TransportKind::Other
}

/// The error and its sources, with the payload of each `io::Error` (whose `source()` skips it).
fn chain_of<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        out.push(err);
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            out.extend(chain_of(inner));
        }
        current = err.source();
    }
    out
}
