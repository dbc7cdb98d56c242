//! Requesting the workflow's GitHub OIDC token, exactly as the runner offers it.
//!
//! `ACTIONS_ID_TOKEN_REQUEST_URL` already carries a query string (`?api-version=2.0`), so the
//! audience is appended with `&`; the request token goes in `Authorization: Bearer`; the JWT comes
//! back in the JSON field `value` (docs/actions-behaviour.md §4). The token is requested right
//! before the Vault login (it lives five minutes), while Vault's health is checked, and never
//! logged: the caller masks it first.

use serde::{Deserialize, Serialize};

use super::handshake::Run;
use super::wire::{HttpRequest, Redirects, WireSecret};
use crate::pure::secret::Secret;
use crate::pure::{Diagnostic, ErrorClass};

/// The most the OIDC token service may answer: `{"value": "<JWT>"}` is a few KB.
pub const OIDC_BODY_CAP: u64 = 64 * 1024;

/// The two variables the runner sets only for jobs with `permissions: id-token: write`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OidcRequest {
    pub url: String,
    pub token: WireSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the runner offers no GitHub OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL` is not set)")]
    NotOffered,
    #[error(
        "`ACTIONS_ID_TOKEN_REQUEST_URL` is not an https URL (http is accepted on loopback only)"
    )]
    BadUrl,
    #[error("the GitHub OIDC token request failed: {0}")]
    Request(String),
    #[error("the GitHub OIDC token request answered HTTP {0}")]
    Status(u16),
    #[error("the GitHub OIDC token response has no `value` field")]
    NoValue,
}

impl Diagnostic for OidcError {
    fn area(&self) -> crate::pure::Area {
        match self {
            OidcError::NotOffered => crate::pure::Area::Input,
            _ => crate::pure::Area::GitHub,
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            OidcError::NotOffered => ErrorClass::User,
            _ => ErrorClass::Remote,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            OidcError::NotOffered => Some(
                "give the job `permissions: id-token: write` (and `contents: read`); pull requests \
                 from forks and Dependabot runs never get an OIDC token, not even for a dry run, so \
                 skip the step for them: `if: ${{ !github.event.pull_request.head.repo.fork && \
                 github.actor != 'dependabot[bot]' }}`"
                    .into(),
            ),
            OidcError::BadUrl => Some("this variable is set by the runner; do not override it".into()),
            OidcError::Request(_) | OidcError::Status(_) | OidcError::NoValue => {
                Some("GitHub's token service failed; re-run the job".into())
            }
        }
    }
}

/// The request URL with the audience appended (`&audience=` when a query exists).
pub fn token_url(base: &str, audience: Option<&str>) -> String {
    match audience {
        None => base.to_string(),
        Some(aud) => {
            let sep = if base.contains('?') { '&' } else { '?' };
            format!(
                "{base}{sep}audience={}",
                crate::pure::command::percent_encode(aud)
            )
        }
    }
}

/// Requests one OIDC token. Retried on connection errors and 5xx, as the Actions toolkit does
/// (a GET that mints nothing in Vault).
pub(super) async fn request_token(
    run: &Run,
    request: &OidcRequest,
    audience: Option<&str>,
    extra_ca_pems: &[&str],
) -> Result<Secret, OidcError> {
    if !super::url::https_or_loopback_http(&request.url) {
        return Err(OidcError::BadUrl);
    }
    let url = token_url(&request.url, audience);
    let http = HttpRequest {
        method: "GET".into(),
        url,
        headers: vec![
            (
                "Authorization".into(),
                WireSecret(Secret::new(format!(
                    "Bearer {}",
                    request.token.0.expose_secret()
                ))),
            ),
            (
                "Accept".into(),
                WireSecret(Secret::new("application/json".into())),
            ),
        ],
        body: None,
        timeout_ms: 20_000,
        connect_timeout_ms: 10_000,
        public_roots: true,
        extra_ca_pems: extra_ca_pems.iter().map(|s| s.to_string()).collect(),
        // The bearer is the job's right to mint tokens: never follow it to another host, nor
        // from https to http.
        redirects: Redirects::SameOrigin,
        use_proxy: !super::url::is_loopback_url(&request.url),
        body_cap: OIDC_BODY_CAP,
    };
    let mut last = OidcError::Status(0);
    for attempt in 0..4u32 {
        if attempt > 0 {
            run.io.sleep(200 * (1 << attempt)).await;
        }
        let response = match run.io.http(http.clone()).await {
            Ok(r) => r,
            // Never print the URL: its path identifies the job.
            Err(super::wire::HttpFailure::Timeout) => {
                last = OidcError::Request("timed out".into());
                continue;
            }
            Err(super::wire::HttpFailure::TooLarge { .. }) => return Err(OidcError::NoValue),
            Err(_) => {
                last = OidcError::Request("no answer".into());
                continue;
            }
        };
        let status = response.status;
        if status >= 500 {
            last = OidcError::Status(status);
            continue;
        }
        if status != 200 {
            return Err(OidcError::Status(status));
        }
        let body: serde_json::Value =
            serde_json::from_slice(&response.body.0).map_err(|_| OidcError::NoValue)?;
        return match body.get("value").and_then(|v| v.as_str()) {
            Some(v) if !v.is_empty() => Ok(Secret::new(v.to_string())),
            _ => Err(OidcError::NoValue),
        };
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_appended_to_the_existing_query() {
        assert_eq!(
            token_url("https://x.actions.githubusercontent.com/abc/idtoken/1/2?api-version=2.0", Some("https://github.com/acme")),
            "https://x.actions.githubusercontent.com/abc/idtoken/1/2?api-version=2.0&audience=https%3A%2F%2Fgithub.com%2Facme"
        );
        assert_eq!(
            token_url("http://127.0.0.1:1/t", Some("vault")),
            "http://127.0.0.1:1/t?audience=vault"
        );
        assert_eq!(token_url("https://h/t?a=1", None), "https://h/t?a=1");
    }
}
