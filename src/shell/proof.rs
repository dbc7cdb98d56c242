//! The login proof on the wire: the login ESO will make, retried through the standby window, and
//! the TokenReview the action sends itself to name a cause Vault hides.
//!
//! The proof JWT goes to Vault, and to the API server only after the TLS probe verified that it
//! presents a certificate from the uploaded CA with a matching SAN (the caller checks that; this
//! module is never handed an unverified host). Tokens Vault mints here are masked at once and
//! revoked by the caller.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::pure::host::KubernetesHost;
use crate::pure::proof::{self, ReviewVerdict};
use crate::pure::secret::Secret;
use crate::pure::vault_api::{self, Method};
use crate::shell::vault::{CallError, VaultClient};

/// A successful proof login.
pub struct ProofLogin {
    pub token: Secret,
    pub policies: Vec<String>,
    pub attempts: u32,
}

/// Logs in with the proof JWT. A bare `permission denied` is retried until `window` ends,
/// because a new CA reaches Enterprise performance standbys up to ~30 s late (§3.5, §8); any
/// other answer ends the loop at once.
pub async fn prove_login(
    client: &VaultClient,
    mount: &str,
    namespace: Option<&str>,
    role: &str,
    jwt: &Secret,
    window: Duration,
    on_token: impl Fn(&Secret),
) -> Result<ProofLogin, CallError> {
    let started = Instant::now();
    let request = vault_api::proof_login(mount, role, namespace);
    let body = json!({"role": role, "jwt": jwt.expose_secret()});
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.send(&request, None, Some(&body)).await {
            Ok(answer) => {
                let auth = answer.body.as_ref().and_then(|b| b.get("auth"));
                let token = auth
                    .and_then(|a| a.get("client_token"))
                    .and_then(Value::as_str)
                    .map(|t| Secret::new(t.to_string()));
                let Some(token) = token else {
                    return Err(CallError::Vault(vault_api::VaultFailure {
                        method: Method::Post,
                        path: request.path.clone(),
                        namespace: request.namespace.clone(),
                        status: answer.status,
                        errors: vec!["the login answer has no `auth.client_token`".into()],
                        purpose: request.purpose.clone(),
                    }));
                };
                on_token(&token);
                let policies = auth
                    .and_then(|a| a.get("policies"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(ProofLogin {
                    token,
                    policies,
                    attempts,
                });
            }
            Err(CallError::Vault(f))
                if f.status == 403
                    && f.errors.iter().all(|e| e == "permission denied")
                    && started.elapsed() + backoff(attempts) < window =>
            {
                tokio::time::sleep(backoff(attempts)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(4)).min(5_000))
}

/// Sends the TokenReview Vault would send in client JWT mode: the proof JWT as bearer and as the
/// token under review, TLS trusting only the uploaded CA.
pub async fn send_token_review(
    host: &KubernetesHost,
    ca_ders: &[Vec<u8>],
    jwt: &Secret,
    audiences: &[String],
    timeout: Duration,
) -> Result<ReviewVerdict, String> {
    let mut roots = rustls::RootCertStore::empty();
    for der in ca_ders {
        roots
            .add(rustls_pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!(
        "{}/apis/authentication.k8s.io/v1/tokenreviews",
        host.as_str().trim_end_matches('/')
    );
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": jwt.expose_secret(), "audiences": audiences},
    });
    let response = client
        .post(&url)
        .bearer_auth(jwt.expose_secret())
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_string()
            } else {
                "no answer".to_string()
            }
        })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok(proof::classify_token_review(status, &text, audiences))
}
