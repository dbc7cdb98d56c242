//! The login proof on the wire: the login ESO will make, retried through the standby window, and
//! the TokenReview the action sends itself to name a cause Vault hides.
//!
//! The proof JWT goes to Vault, and to the API server only after the TLS probe verified that it
//! presents a certificate from the uploaded CA with a matching SAN (the caller checks that; this
//! module is never handed an unverified host). Tokens Vault mints here are masked at once and
//! revoked by the caller.

use serde_json::{json, Value};

use super::handshake::Run;
use super::vault::{CallError, VaultClient};
use super::wire::{Bytes, HttpRequest, Redirects, WireSecret};
use crate::pure::host::KubernetesHost;
use crate::pure::proof::{self, ReviewVerdict};
use crate::pure::secret::Secret;
use crate::pure::vault_api::{self, Method};

/// A successful proof login.
pub struct ProofLogin<'a> {
    pub token: Secret,
    pub policies: Vec<String>,
    pub attempts: u32,
    /// Held until the proof's token is revoked: a cancel waits for it.
    pub minting: super::Critical<'a>,
}

/// Logs in with the proof JWT. A bare `permission denied` is retried until `window_ms` ends,
/// because a new CA reaches Enterprise performance standbys up to ~30 s late (§3.5, §8); any
/// other answer ends the loop at once.
pub(super) async fn prove_login<'a>(
    run: &'a Run,
    client: &VaultClient,
    mount: &str,
    namespace: Option<&str>,
    role: &str,
    jwt: &Secret,
    window_ms: u64,
) -> Result<ProofLogin<'a>, CallError> {
    let started = run.io.now_ms();
    let request = vault_api::proof_login(mount, role, namespace);
    let body = json!({"role": role, "jwt": jwt.expose_secret()});
    let mut attempts = 0;
    loop {
        attempts += 1;
        // Each login may mint a token: a cancel waits for its answer, so it can be revoked.
        let minting = run.io.critical();
        match client
            .send(&run.io, &run.jitter, &request, None, Some(&body))
            .await
        {
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
                run.out.mask(&token);
                let policies =
                    super::handshake::string_list(answer.body.as_ref(), "/auth/policies");
                return Ok(ProofLogin {
                    token,
                    policies,
                    attempts,
                    minting,
                });
            }
            Err(CallError::Vault(f))
                if f.status == 403 && f.errors.iter().all(|e| e == "permission denied") =>
            {
                let elapsed = run.io.now_ms().saturating_sub(started);
                if elapsed + backoff_ms(attempts) >= window_ms {
                    return Err(CallError::Vault(f));
                }
                // Refused: nothing was minted, and the wait between attempts may be cancelled.
                drop(minting);
                run.io.sleep(backoff_ms(attempts)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn backoff_ms(attempt: u32) -> u64 {
    500u64.saturating_mul(1 << attempt.min(4)).min(5_000)
}

/// Sends the TokenReview Vault would send in client JWT mode: the proof JWT as bearer and as the
/// token under review, TLS trusting only the uploaded CA, straight to the API server.
pub(super) async fn send_token_review(
    run: &Run,
    host: &KubernetesHost,
    ca_pem: &str,
    jwt: &Secret,
    audiences: &[String],
    timeout_ms: u64,
) -> Result<ReviewVerdict, String> {
    let url = format!(
        "{}/apis/authentication.k8s.io/v1/tokenreviews",
        host.as_str().trim_end_matches('/')
    );
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": jwt.expose_secret(), "audiences": audiences},
    });
    let header = |v: String| WireSecret(Secret::new(v));
    let sent = run
        .io
        .http(HttpRequest {
            method: "POST".into(),
            url,
            headers: vec![
                (
                    "Authorization".into(),
                    header(format!("Bearer {}", jwt.expose_secret())),
                ),
                ("Accept".into(), header("application/json".into())),
                ("Content-Type".into(), header("application/json".into())),
            ],
            body: Some(Bytes(body.to_string().into_bytes())),
            timeout_ms,
            connect_timeout_ms: timeout_ms,
            public_roots: false,
            extra_ca_pems: vec![ca_pem.to_string()],
            redirects: Redirects::None,
            use_proxy: false,
            body_cap: 1024 * 1024,
        })
        .await;
    match sent {
        Ok(response) => Ok(proof::classify_token_review(
            response.status,
            &String::from_utf8_lossy(&response.body.0),
            audiences,
        )),
        Err(super::wire::HttpFailure::Timeout) => Err("timed out".into()),
        Err(_) => Err("no answer".into()),
    }
}
