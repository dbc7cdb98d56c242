//! The login proof: checking the ServiceAccount JWT a caller provides, and naming the cause when
//! the login ESO will make fails.
//!
//! Vault tells a kubernetes-auth client some causes itself (`service account name not
//! authorized`, `namespace not authorized`, an audience or expiry message) and hides every
//! TokenReview, TLS and RBAC failure behind a bare `permission denied` (docs/vault-behaviour.md
//! §3.7, §10). This module turns Vault's answer, the TLS probe's finding and the answer of the
//! TokenReview the action sends itself into one cause with its fix. It never sends anything and
//! never holds the JWT beyond parsing its public claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::{Diagnostic, ErrorClass};

/// The public claims of the proof JWT (the token itself stays in a `Secret`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofJwtFacts {
    pub namespace: String,
    pub service_account: String,
    pub audiences: Vec<String>,
    pub expires: i64,
}

/// Why the proof JWT is refused before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofJwtError {
    #[error("input `proof-jwt` is not a JWT (three base64url parts with a JSON payload)")]
    NotJwt,
    #[error("input `proof-jwt` has no `exp` claim: a token that never expires must not travel through CI")]
    NoExpiry,
    #[error("input `proof-jwt` expired at {expired} (checked at {now})")]
    Expired { expired: String, now: String },
    #[error("input `proof-jwt` is not a ServiceAccount token (no `kubernetes.io` claims)")]
    NotServiceAccount,
}

impl Diagnostic for ProofJwtError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        Some(
            "mint a short-lived token in the bootstrap job: `kubectl create token external-secrets \
             -n external-secrets --duration 10m`, and pass it as a secret"
                .into(),
        )
    }
}

/// Reads the public claims of a ServiceAccount JWT (unverified: the API server verifies it).
/// The claims of a JWT's payload, decoded for display only (no signature is checked: Vault
/// does that). `None` when the text is not a JWT.
pub fn jwt_claims(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = jwt.trim().split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The GitHub OIDC claims a JWT role binds, none of them secret, as `name=value` pairs in a
/// fixed order: what this job presented, to set beside the role's bindings.
pub const JOB_CLAIMS: [&str; 7] = [
    "sub",
    "repository",
    "environment",
    "ref",
    "job_workflow_ref",
    "event_name",
    "aud",
];

/// `sub=…, repository=…, …` for the claims of [`JOB_CLAIMS`] present in `claims`.
pub fn render_job_claims(claims: &serde_json::Map<String, Value>) -> String {
    JOB_CLAIMS
        .iter()
        .filter_map(|name| {
            let value = match claims.get(*name)? {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            Some(format!("`{name}={value}`"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn parse_proof_jwt(jwt: &str, now: i64) -> Result<ProofJwtFacts, ProofJwtError> {
    let mut parts = jwt.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofJwtError::NotJwt);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ProofJwtError::NotJwt)?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| ProofJwtError::NotJwt)?;
    let expires = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(ProofJwtError::NoExpiry)?;
    if expires < now {
        return Err(ProofJwtError::Expired {
            expired: super::ca::Timestamp(expires).to_string(),
            now: super::ca::Timestamp(now).to_string(),
        });
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let (namespace, service_account) = match claims.get("kubernetes.io") {
        Some(k) => (
            text(k.get("namespace")),
            text(k.pointer("/serviceaccount/name")),
        ),
        None => (
            text(claims.get("kubernetes.io/serviceaccount/namespace")),
            text(claims.get("kubernetes.io/serviceaccount/service-account.name")),
        ),
    };
    if namespace.is_empty() || service_account.is_empty() {
        return Err(ProofJwtError::NotServiceAccount);
    }
    let audiences = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(ProofJwtFacts {
        namespace,
        service_account,
        audiences,
        expires,
    })
}

/// What the TokenReview the action sent itself says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReviewVerdict {
    /// Authenticated, with the audiences echoed.
    Accepted { username: String },
    /// 403: the bearer may not create TokenReviews (no `system:auth-delegator`). Kubernetes'
    /// Status message, quoted.
    Forbidden { message: String },
    /// 401: the API server does not accept the token as a bearer.
    Unauthorized,
    /// `status.authenticated` false, with Kubernetes' error text when given.
    NotAuthenticated { error: String },
    /// Authenticated, but not for the audiences asked for.
    AudienceMismatch {
        valid_for: Vec<String>,
        wanted: Vec<String>,
    },
    /// Any other answer.
    Unexpected { status: u16 },
}

/// Reads a TokenReview answer as Vault's plugin does (§3.7 step 7).
pub fn classify_token_review(
    status: u16,
    body: &str,
    wanted_audiences: &[String],
) -> ReviewVerdict {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        401 => return ReviewVerdict::Unauthorized,
        403 => {
            let message = json
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| body.chars().take(300).collect());
            return ReviewVerdict::Forbidden { message };
        }
        s if !(200..300).contains(&s) => return ReviewVerdict::Unexpected { status: s },
        _ => {}
    }
    let st = &json["status"];
    let error = st
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if st.get("authenticated").and_then(Value::as_bool) != Some(true) || !error.is_empty() {
        return ReviewVerdict::NotAuthenticated { error };
    }
    let echoed: Vec<String> = st["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !wanted_audiences.is_empty() && !wanted_audiences.iter().any(|a| echoed.contains(a)) {
        return ReviewVerdict::AudienceMismatch {
            valid_for: echoed,
            wanted: wanted_audiences.to_vec(),
        };
    }
    let username = st
        .pointer("/user/username")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    ReviewVerdict::Accepted { username }
}

/// Why the proof login failed, with the cause named as precisely as the evidence allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofFailure {
    /// Vault said why itself (400 / 403 with a specific text, 500 not configured).
    VaultSaid {
        status: u16,
        message: String,
        mount: String,
        /// The Vault namespace of the mount: where the printed role fixes act.
        namespace: Option<String>,
        role: String,
        facts: ProofJwtFacts,
    },
    /// A bare `permission denied`, and the TLS probe already shows the cause.
    TrustPath { finding: String, hint: String },
    /// A bare `permission denied`, and the action's own TokenReview shows the cause.
    Review {
        verdict: ReviewVerdict,
        facts: ProofJwtFacts,
    },
    /// A bare `permission denied` that nothing the runner can see explains: the probe was off,
    /// or the runner could not reach the API server, or its own review could not be sent.
    Hidden {
        host: String,
        /// How the runner failed to look: `probe: off`, or no connection.
        unseen: Unseen,
        facts: ProofJwtFacts,
    },
}

/// Why the runner could not see the reason behind a bare `permission denied`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unseen {
    /// `probe: off`: the API server was not looked at.
    ProbeOff,
    /// The runner could not connect to the API server.
    Unreachable,
}

impl std::fmt::Display for ProofFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofFailure::VaultSaid { status, message, mount, role, .. } => write!(
                f,
                "the proof login at `auth/{mount}/login` (role `{role}`) failed: Vault answered {status} `{message}`"
            ),
            ProofFailure::TrustPath { finding, .. } => write!(
                f,
                "the proof login failed with `permission denied`, and the API server's TLS explains it: {finding}"
            ),
            ProofFailure::Review { verdict, facts } => {
                let sa = format!("{}/{}", facts.namespace, facts.service_account);
                match verdict {
                    ReviewVerdict::Forbidden { message } => write!(
                        f,
                        "the proof login failed with `permission denied`: ServiceAccount `{sa}` may not \
                         create TokenReviews, which client JWT mode needs (Kubernetes: `{message}`)"
                    ),
                    ReviewVerdict::Unauthorized => write!(
                        f,
                        "the proof login failed with `permission denied`: the API server does not \
                         accept the token of `{sa}` (401)"
                    ),
                    ReviewVerdict::NotAuthenticated { error } if !error.is_empty() => write!(
                        f,
                        "the proof login failed with `permission denied`: the API server did not \
                         authenticate the token of `{sa}` (`{error}`)"
                    ),
                    ReviewVerdict::NotAuthenticated { .. } => write!(
                        f,
                        "the proof login failed with `permission denied`: the API server did not \
                         authenticate the token of `{sa}`"
                    ),
                    ReviewVerdict::AudienceMismatch { valid_for, wanted } => write!(
                        f,
                        "the proof login failed with `permission denied`: the token is valid for \
                         audiences `{}`, not `{}`",
                        valid_for.join(", "),
                        wanted.join(", ")
                    ),
                    ReviewVerdict::Unexpected { status } => write!(
                        f,
                        "the proof login failed with `permission denied`; the TokenReview from the \
                         runner answered HTTP {status}"
                    ),
                    ReviewVerdict::Accepted { .. } => write!(
                        f,
                        "the proof login failed with `permission denied`, although the API server \
                         accepts the token of `{sa}` from the runner"
                    ),
                }
            }
            ProofFailure::Hidden { host, unseen, .. } => {
                let looked = match unseen {
                    Unseen::ProbeOff => format!("the probe was off (`probe: off`), so `{host}` was not looked at"),
                    Unseen::Unreachable => format!("this runner could not connect to `{host}`"),
                };
                write!(
                    f,
                    "the proof login failed with a bare `permission denied`, and this runner could \
                     not see why: {looked}; Vault hides the reason from clients"
                )
            }
        }
    }
}

impl std::error::Error for ProofFailure {}

impl Diagnostic for ProofFailure {
    fn area(&self) -> super::Area {
        match self {
            ProofFailure::VaultSaid { .. } => super::Area::Vault,
            ProofFailure::TrustPath { .. } => super::Area::Tls,
            ProofFailure::Review { .. } | ProofFailure::Hidden { .. } => super::Area::Kubernetes,
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ProofFailure::VaultSaid { status, .. } if *status >= 500 => ErrorClass::Remote,
            ProofFailure::Hidden { .. } => ErrorClass::Remote,
            _ => ErrorClass::User,
        }
    }

    fn hint(&self) -> Option<String> {
        let hint = match self {
            ProofFailure::VaultSaid {
                message,
                mount,
                namespace,
                role,
                facts,
                ..
            } => {
                let sa = &facts.service_account;
                let ns = &facts.namespace;
                let role_path = format!("auth/{mount}/role/{role}");
                let fix = if message.contains("service account name not authorized") {
                    format!(
                        "bind the ServiceAccount `{sa}` (in `{ns}`) on the role, keeping the names \
                         it binds already: `{}`",
                        super::vault_api::append_list_command(
                            &role_path,
                            "bound_service_account_names",
                            sa,
                            &super::vault_api::kubernetes_role_keep(&role_path)
                        )
                    )
                } else if message.contains("namespace not authorized") {
                    format!(
                        "bind the namespace `{ns}` on the role, keeping the namespaces it binds \
                         already: `{}`",
                        super::vault_api::append_list_command(
                            &role_path,
                            "bound_service_account_namespaces",
                            ns,
                            &super::vault_api::kubernetes_role_keep(&role_path)
                        )
                    )
                } else if message.contains("invalid audience") {
                    format!("the role's `audience` is not in the token's audiences (`{}`): mint the token \
                             with `--audience <role audience>`, or clear the role's `audience`",
                            facts.audiences.join(", "))
                } else if message.contains("token is expired") {
                    format!(
                        "mint a fresh token: `kubectl create token {sa} -n {ns} --duration 10m`"
                    )
                } else if message.contains("invalid role name") {
                    format!(
                        "no role `{role}` on `auth/{mount}`: set `proof-role` or create the role"
                    )
                } else if message.contains("could not load backend configuration") {
                    format!("`auth/{mount}/config` is not configured")
                } else {
                    "see Vault's message".to_string()
                };
                // The role is in the mount's Vault namespace: the fix acts there.
                super::vault_api::namespaced(&fix, namespace.as_deref())
            }
            ProofFailure::TrustPath { hint, .. } => hint.clone(),
            ProofFailure::Review { verdict, facts } => {
                let sa = &facts.service_account;
                let ns = &facts.namespace;
                match verdict {
                    ReviewVerdict::Forbidden { .. } => format!(
                        "bind `system:auth-delegator` to the ServiceAccount: `kubectl create \
                         clusterrolebinding {sa}-auth-delegator --clusterrole=system:auth-delegator \
                         --serviceaccount={ns}:{sa}`"
                    ),
                    ReviewVerdict::Unauthorized | ReviewVerdict::NotAuthenticated { .. } => {
                        format!(
                            "mint a new token from this cluster: `kubectl create token {sa} -n {ns} \
                             --duration 10m` (the ServiceAccount may be deleted or recreated, the \
                             token expired, or it comes from another cluster)"
                        )
                    }
                    ReviewVerdict::AudienceMismatch { .. } => {
                        "mint the token for the API server's audience too, or clear the role's \
                         `audience`: in client JWT mode the same token is the TokenReview's bearer"
                            .to_string()
                    }
                    ReviewVerdict::Unexpected { .. } | ReviewVerdict::Accepted { .. } => {
                        "the runner's view is healthy: check that Vault itself reaches the API server \
                         (firewall, proxy) and that no other writer changed the config"
                            .to_string()
                    }
                }
            }
            ProofFailure::Hidden { host, facts, .. } => {
                let sa = &facts.service_account;
                let ns = &facts.namespace;
                // The ServiceAccount name and namespace bindings are not among the causes: Vault
                // names those failures itself (`service account name not authorized`,
                // `namespace not authorized`) instead of a bare `permission denied`.
                format!(
                    "the likely causes, most likely first: (1) ESO's ServiceAccount lacks \
                     `system:auth-delegator`, which client JWT mode needs: `kubectl create \
                     clusterrolebinding {sa}-auth-delegator --clusterrole=system:auth-delegator \
                     --serviceaccount={ns}:{sa}`; (2) the API server no longer accepts the token \
                     (ServiceAccount deleted, token expired, minted on another cluster or for an \
                     audience the API server refuses): mint a fresh one on this cluster with \
                     `kubectl create token {sa} -n {ns} --duration 10m`; (3) Vault itself cannot \
                     reach `{host}` or does not trust its certificate (firewall or proxy between \
                     Vault and the VIP, a CA or SAN that differs from what this run uploaded): \
                     test from the Vault host with `curl --cacert k8s-ca.crt {host}/version`. \
                     Vault's server log names the real reason at debug level (`login \
                     unauthorized`, Vault 1.11 and later): `vault monitor -log-level=debug` while \
                     the login is retried"
                )
            }
        };
        Some(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{payload}.c2lnbmF0dXJl")
    }

    fn projected(exp: Option<i64>) -> Value {
        let mut c = serde_json::json!({
            "aud": ["https://kubernetes.default.svc.cluster.local", "rke2"],
            "iat": 1000,
            "kubernetes.io": {"namespace": "external-secrets", "serviceaccount": {"name": "external-secrets", "uid": "u-1"}},
            "sub": "system:serviceaccount:external-secrets:external-secrets",
        });
        if let Some(e) = exp {
            c["exp"] = serde_json::json!(e);
        }
        c
    }

    #[test]
    fn proof_jwt_facts_and_refusals() {
        let facts = parse_proof_jwt(&jwt(projected(Some(5000))), 2000).unwrap();
        assert_eq!(facts.namespace, "external-secrets");
        assert_eq!(facts.service_account, "external-secrets");
        assert_eq!(facts.audiences.len(), 2);
        let legacy = serde_json::json!({
            "exp": 5000,
            "kubernetes.io/serviceaccount/namespace": "ns",
            "kubernetes.io/serviceaccount/service-account.name": "sa",
        });
        assert_eq!(
            parse_proof_jwt(&jwt(legacy), 2000).unwrap().service_account,
            "sa"
        );
        let rows: Vec<(String, &str)> = vec![
            ("not.a".into(), "not a JWT"),
            ("a.b.c".into(), "not a JWT"),
            (jwt(projected(None)), "has no `exp` claim"),
            (jwt(projected(Some(100))), "expired at 1970-01-01T00:01:40Z"),
            (
                jwt(serde_json::json!({"exp": 5000})),
                "not a ServiceAccount token",
            ),
        ];
        for (token, message) in rows {
            let err = parse_proof_jwt(&token, 2000).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
            assert!(err.hint().unwrap().contains("kubectl create token"));
            assert!(!err.to_string().contains("c2lnbmF0dXJl"));
        }
    }

    #[test]
    fn token_review_answers_are_read_as_vault_reads_them() {
        let wanted = vec!["rke2".to_string()];
        let ok = r#"{"status":{"authenticated":true,"user":{"username":"system:serviceaccount:a:b"},"audiences":["rke2"]}}"#;
        assert_eq!(
            classify_token_review(201, ok, &wanted),
            ReviewVerdict::Accepted {
                username: "system:serviceaccount:a:b".into()
            }
        );
        let forbidden = r#"{"kind":"Status","message":"tokenreviews.authentication.k8s.io is forbidden: User \"system:serviceaccount:a:b\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope","code":403}"#;
        assert!(
            matches!(classify_token_review(403, forbidden, &wanted), ReviewVerdict::Forbidden { message } if message.starts_with("tokenreviews.authentication.k8s.io is forbidden"))
        );
        assert_eq!(
            classify_token_review(401, "{}", &wanted),
            ReviewVerdict::Unauthorized
        );
        let expired = r#"{"status":{"authenticated":false,"error":"[invalid bearer token, service account token has expired]"}}"#;
        assert!(
            matches!(classify_token_review(201, expired, &wanted), ReviewVerdict::NotAuthenticated { error } if error.contains("expired"))
        );
        let other_aud =
            r#"{"status":{"authenticated":true,"user":{"username":"u"},"audiences":["vault"]}}"#;
        assert!(matches!(
            classify_token_review(201, other_aud, &wanted),
            ReviewVerdict::AudienceMismatch { .. }
        ));
        assert_eq!(
            classify_token_review(500, "", &wanted),
            ReviewVerdict::Unexpected { status: 500 }
        );
    }

    #[test]
    fn failures_name_cause_and_fix() {
        let facts = parse_proof_jwt(&jwt(projected(Some(5000))), 2000).unwrap();
        let said = |m: &str| ProofFailure::VaultSaid {
            status: 403,
            message: m.into(),
            mount: "dev-kubernetes".into(),
            namespace: None,
            role: "external-secrets".into(),
            facts: facts.clone(),
        };
        let rows: Vec<(ProofFailure, &str, &str)> = vec![
            (said("service account name not authorized"), "Vault answered 403 `service account name not authorized`", "bound_service_account_names=\"$(vault read -field=bound_service_account_names"),
            (said("namespace not authorized"), "namespace not authorized", "bound_service_account_namespaces=\"$(vault read"),
            (said("invalid audience (aud) claim: audience claim does not match any expected audience"), "invalid audience", "--audience"),
            (ProofFailure::Review { verdict: ReviewVerdict::Forbidden { message: "tokenreviews… forbidden".into() }, facts: facts.clone() }, "may not create TokenReviews", "--clusterrole=system:auth-delegator --serviceaccount=external-secrets:external-secrets"),
            (ProofFailure::Review { verdict: ReviewVerdict::Unauthorized, facts: facts.clone() }, "(401)", "mint a new token from this cluster: `kubectl create token external-secrets -n external-secrets --duration 10m`"),
            (said("token is expired"), "token is expired", "`kubectl create token external-secrets -n external-secrets --duration 10m`"),
            (ProofFailure::Hidden { host: "https://10.0.0.10:6443".into(), unseen: Unseen::Unreachable, facts: facts.clone() }, "could not connect to `https://10.0.0.10:6443`", "--serviceaccount=external-secrets:external-secrets"),
            (ProofFailure::Hidden { host: "https://10.0.0.10:6443".into(), unseen: Unseen::ProbeOff, facts: facts.clone() }, "the probe was off", "vault monitor -log-level=debug"),
        ];
        for (failure, message, hint) in rows {
            assert!(failure.to_string().contains(message), "{failure}");
            assert!(
                failure.hint().unwrap().contains(hint),
                "{:?}",
                failure.hint()
            );
        }
    }
}
