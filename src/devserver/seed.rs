//! Seeding the dev server as the pipeline's Terraform does before the action runs.
//!
//! Per environment: a JWT auth mount trusting the (dev) GitHub issuer and a role bound to the
//! repository and environment, the policy the action needs (`read`+`update` on the kubernetes
//! config, `read` on the VIP), the kubernetes auth mount (left unconfigured: that is the action's
//! job), KV v2 with the VIP, and ESO's policy and kubernetes role. Every write goes through the
//! server's API path, contract check included. It never configures `auth/<mount>/config`.

use serde_json::{json, Value};

use super::DevServer;

/// Where each piece lives and what the pipeline's identity is.
#[derive(Clone, Debug)]
pub struct Seed {
    pub environment: String,
    pub vip: String,
    /// `owner/name` of the repository whose workflows may log in.
    pub repository: String,
    /// Namespaces (empty = root): login, the kubernetes mount, the KV mount.
    pub jwt_namespace: String,
    pub kubernetes_namespace: String,
    pub kv_namespace: String,
    /// Capabilities the action's policy grants on `auth/<env>-kubernetes/config`.
    pub config_capabilities: Vec<String>,
}

impl Seed {
    pub fn new(environment: &str, vip: &str) -> Seed {
        Seed {
            environment: environment.to_string(),
            vip: vip.to_string(),
            repository: "acme/gitops".to_string(),
            jwt_namespace: String::new(),
            kubernetes_namespace: String::new(),
            kv_namespace: String::new(),
            config_capabilities: vec!["read".into(), "update".into()],
        }
    }

    pub fn jwt_role(&self) -> String {
        format!("{}-handshake", self.environment)
    }

    pub fn policy_name(&self) -> String {
        format!("{}-handshake", self.environment)
    }

    pub fn audience(&self) -> String {
        let owner = self.repository.split('/').next().unwrap_or_default();
        format!("https://github.com/{owner}")
    }
}

/// `path` as seen from namespace `from` when it lives in namespace `at` (a child of `from`).
fn path_from(from: &str, at: &str, path: &str) -> String {
    let below = if from.is_empty() {
        at
    } else {
        at.strip_prefix(from).unwrap_or(at).trim_start_matches('/')
    };
    if below.is_empty() {
        path.to_string()
    } else {
        format!("{below}/{path}")
    }
}

fn ensure_namespace(server: &DevServer, root: &str, ns: &str) -> Result<(), String> {
    let mut parent = String::new();
    for segment in ns.split('/').filter(|s| !s.is_empty()) {
        expect(
            server.call(
                "POST",
                &format!("sys/namespaces/{segment}"),
                &parent,
                Some(root),
                None,
            ),
            "namespace",
        )?;
        parent = if parent.is_empty() {
            segment.to_string()
        } else {
            format!("{parent}/{segment}")
        };
    }
    Ok(())
}

fn expect(out: super::Outgoing, what: &str) -> Result<Value, String> {
    if out.status < 300 {
        Ok(out.body.unwrap_or(Value::Null))
    } else {
        Err(format!(
            "seeding {what} failed: {} {}",
            out.status,
            out.body.map(|b| b.to_string()).unwrap_or_default()
        ))
    }
}

/// Seeds one environment. Mounts that exist already are kept (several environments share the
/// JWT mount).
pub fn seed(server: &DevServer, seed: &Seed) -> Result<(), String> {
    let root = server.root_token();
    let root = root.as_str();
    let env = &seed.environment;
    for ns in [
        &seed.jwt_namespace,
        &seed.kubernetes_namespace,
        &seed.kv_namespace,
    ] {
        ensure_namespace(server, root, ns)?;
    }
    let jwt_ns = seed.jwt_namespace.as_str();
    let enabled = server.call(
        "POST",
        "sys/auth/jwt",
        jwt_ns,
        Some(root),
        Some(json!({"type": "jwt", "description": "GitHub Actions OIDC"})),
    );
    if enabled.status >= 300
        && !enabled
            .body
            .as_ref()
            .is_some_and(|b| b.to_string().contains("already in use"))
    {
        expect(enabled, "jwt mount")?;
    }
    expect(
        server.call(
            "POST",
            "auth/jwt/config",
            jwt_ns,
            Some(root),
            Some(json!({
                "jwt_validation_pubkeys": [server.issuer_public_pem()],
                "bound_issuer": server.issuer_url(),
            })),
        ),
        "jwt config",
    )?;
    let k8s_mount = format!("{env}-kubernetes");
    let caps: Vec<String> = seed
        .config_capabilities
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    let policy = format!(
        "# The handshake for {env}: plan reads, apply writes (update, not create: the config path \
         has no existence check).\npath \"{}\" {{\n  capabilities = [{}]\n}}\n\npath \"{}\" {{\n  capabilities = [\"read\"]\n}}\n",
        path_from(jwt_ns, &seed.kubernetes_namespace, &format!("auth/{k8s_mount}/config")),
        caps.join(", "),
        path_from(jwt_ns, &seed.kv_namespace, &format!("kv/{env}/data/ip")),
    );
    expect(
        server.call(
            "POST",
            &format!("sys/policies/acl/{}", seed.policy_name()),
            jwt_ns,
            Some(root),
            Some(json!({"policy": policy})),
        ),
        "policy",
    )?;
    expect(
        server.call(
            "POST",
            &format!("auth/jwt/role/{}", seed.jwt_role()),
            jwt_ns,
            Some(root),
            Some(json!({
                "role_type": "jwt",
                "user_claim": "repository",
                "bound_audiences": [seed.audience()],
                "bound_claims_type": "glob",
                "bound_claims": {
                    "repository": seed.repository,
                    "environment": env,
                    "ref": "refs/heads/*",
                },
                "token_policies": [seed.policy_name()],
                "token_ttl": "5m",
                "token_max_ttl": "10m",
            })),
        ),
        "jwt role",
    )?;
    let k8s_ns = seed.kubernetes_namespace.as_str();
    expect(
        server.call(
            "POST",
            &format!("sys/auth/{k8s_mount}"),
            k8s_ns,
            Some(root),
            Some(json!({"type": "kubernetes", "description": format!("{env} cluster")})),
        ),
        "kubernetes mount",
    )?;
    let kv_ns = seed.kv_namespace.as_str();
    expect(
        server.call(
            "POST",
            &format!("sys/mounts/kv/{env}"),
            kv_ns,
            Some(root),
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        ),
        "kv mount",
    )?;
    expect(
        server.call(
            "POST",
            &format!("kv/{env}/data/ip"),
            kv_ns,
            Some(root),
            Some(json!({"data": {"vip": seed.vip}})),
        ),
        "vip",
    )?;
    let eso_policy = format!("path \"kv/{env}/data/*\" {{\n  capabilities = [\"read\"]\n}}\n");
    expect(
        server.call(
            "POST",
            &format!("sys/policies/acl/{env}-external-secrets-policy"),
            k8s_ns,
            Some(root),
            Some(json!({"policy": eso_policy})),
        ),
        "eso policy",
    )?;
    expect(
        server.call(
            "POST",
            &format!("auth/{k8s_mount}/role/external-secrets"),
            k8s_ns,
            Some(root),
            Some(json!({
                "bound_service_account_names": ["external-secrets"],
                "bound_service_account_namespaces": ["external-secrets"],
                "token_policies": [format!("{env}-external-secrets-policy")],
                "token_ttl": "1h",
                "token_max_ttl": "24h",
            })),
        ),
        "eso role",
    )?;
    Ok(())
}
