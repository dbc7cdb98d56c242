//! placeholder

/// SHA-256 fingerprints (lowercase hex of the DER, no colons) of every certificate block in a PEM
/// text as Vault stores it; blocks that are not certificates are skipped. Sorted, deduplicated.
pub fn fingerprints_of_pem(stored: &str) -> Vec<String> {
    let _ = stored;
    Vec::new()
}

/// True when `stored` is exactly the canonical PEM this tool uploads for the same certificates:
/// only `CERTIFICATE` blocks, base64 wrapped at 64 columns, LF line ends, one trailing newline, no
/// BOM and no text between or around blocks.
pub fn is_canonical_pem(stored: &str) -> bool {
    let _ = stored;
    false
}
