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

/// Every secret value the run has seen or minted, and the one redaction every byte that leaves
/// the process passes through: log lines, annotations, output and summary files, the JSON report,
/// check-run and comment bodies.
///
/// A server may echo a token back inside an error string, JSON-escaped or URL-encoded, so each
/// secret is kept in the forms it can take there: as given, trimmed (the form inputs are used
/// in), JSON-escaped, and percent-encoded. The runner masks only what it was told, line by line;
/// this catches what it was not told.
#[derive(Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    forms: Vec<String>,
}

/// What a redacted secret is shown as: the runner's own mask.
pub const REDACTED: &str = "***";

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Registers a secret; returns the forms the runner should mask (new ones only, as given and
    /// trimmed; the encoded forms are this redactor's to catch).
    pub fn register(&mut self, secret: &Secret) -> Vec<String> {
        let value = secret.expose_secret();
        let mut new_masks = Vec::new();
        for form in [value, value.trim()] {
            if !form.is_empty()
                && !self.forms.iter().any(|f| f == form)
                && !new_masks.iter().any(|m| m == form)
            {
                new_masks.push(form.to_string());
            }
        }
        for form in secret_forms(value) {
            if !form.is_empty() && !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
        self.forms
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        new_masks
    }

    /// True once any secret is registered.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// The text with every registered secret form replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), REDACTED);
            }
        }
        out
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} forms)", self.forms.len())
    }
}

/// The shapes a secret can take in text that comes back or that we render: raw, trimmed,
/// JSON-escaped (inside a JSON string), percent-encoded (in a URL or form body), escaped for a
/// workflow command, for Markdown and for HTML, and each line of a multi-line value (the runner
/// masks lines one by one as well).
fn secret_forms(value: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for v in [value, value.trim()] {
        forms.push(v.to_string());
        let json = serde_json::to_string(v).unwrap_or_default();
        forms.push(json.trim_matches('"').to_string());
        forms.push(crate::pure::command::percent_encode(v));
        // The runner's workflow-command escaping of the value, as an echoed command shows it,
        // and the Markdown and HTML escaping the summaries apply to text they quote.
        forms.push(crate::pure::command::escape_data(v));
        forms.push(crate::pure::command::escape_markdown(v));
        forms.push(crate::pure::command::escape_html(v));
    }
    if value.contains('\n') {
        forms.extend(
            value
                .lines()
                .map(str::trim)
                .filter(|l| l.len() >= 4)
                .map(str::to_string),
        );
    }
    forms.sort();
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let mut r = Redactor::new();
        let masks = r.register(&Secret::new(" hvs.a/b+c\"d ".to_string()));
        assert_eq!(masks, vec![" hvs.a/b+c\"d ", "hvs.a/b+c\"d"]);
        for shown in [
            "token hvs.a/b+c\"d here",
            "{\"errors\":[\"bad token hvs.a/b+c\\\"d\"]}",
            "https://x/?t=hvs.a%2Fb%2Bc%22d",
        ] {
            let out = r.redact(shown);
            assert!(!out.contains("hvs.a"), "{shown} -> {out}");
            assert!(out.contains(REDACTED), "{out}");
        }
        // Registering again adds nothing new for the runner to mask.
        assert!(r.register(&Secret::new("hvs.a/b+c\"d".into())).is_empty());
        assert_eq!(r.redact("nothing secret"), "nothing secret");
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let mut r = Redactor::new();
        r.register(&Secret::new("abcd".into()));
        r.register(&Secret::new("xxabcdxx".into()));
        assert_eq!(r.redact("[xxabcdxx] [abcd]"), "[***] [***]");
    }

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new("hvs.SECRETMARKER".to_string());
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("SECRETMARKER"), "{shown}");
        assert_eq!(secret.expose_secret(), "hvs.SECRETMARKER");
    }
}
