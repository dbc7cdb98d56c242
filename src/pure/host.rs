//! placeholder

/// True when two `kubernetes_host` values name the same endpoint once normalised (scheme and host
/// lower-cased, default port made explicit, trailing `/` dropped). Vault stores the host verbatim,
/// so a stored `https://VIP:6443/` is the same as a desired `https://vip:6443`.
pub fn same_host(a: &str, b: &str) -> bool {
    a == b
}
