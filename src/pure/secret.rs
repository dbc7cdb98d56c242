//! Values that must never be shown: Vault tokens, OIDC JWTs, ServiceAccount JWTs.
//!
//! A `Secret` has no `Display` and no `Serialize`, its `Debug` prints a fixed placeholder, its
//! memory is zeroed on drop, and the only way to the value is the greppable `expose_secret()`.
//! It never decides where a secret may go: callers send it to Vault and nowhere else.

use std::fmt;

use zeroize::Zeroize;

/// A credential held in memory. Cloning is deliberate and visible; printing is impossible.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The value itself: call only to send it to Vault or to register its mask.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new("hvs.SECRETMARKER".to_string());
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("SECRETMARKER"), "{shown}");
        assert_eq!(secret.expose_secret(), "hvs.SECRETMARKER");
    }
}
