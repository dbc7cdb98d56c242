//! The Terraform example (examples/terraform/) grants exactly what the action requests: the
//! policies' paths and capabilities are compared with the requests `pure::vault_api` builds for
//! the default settings of an environment. The HCL syntax itself is checked by `.ci/terraform`
//! (python-hcl2); this test reads the policy templates, which are plain `path` blocks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use vault_k8s_handshake::pure::contract::{parse_settings, HostSource, Purpose, RawInputs};
use vault_k8s_handshake::pure::vault_api::{self, Method, Request};

type Grants = BTreeMap<String, BTreeSet<String>>;

fn example(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/terraform")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `path "<p>" { capabilities = [...] }` blocks of a policy template, `${env}` filled in.
fn policy(rel: &str, env: &str) -> Grants {
    let text = example(rel).replace("${env}", env);
    let mut grants = Grants::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("\npath \"") {
        rest = &rest[at + 7..];
        let (path, after) = rest.split_once('"').expect("a closing quote");
        let caps_at = after.find("capabilities = [").expect("capabilities") + 16;
        let caps_end = after[caps_at..].find(']').expect("]") + caps_at;
        let caps = after[caps_at..caps_end]
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .filter(|c| !c.is_empty());
        grants.entry(path.to_string()).or_default().extend(caps);
    }
    grants
}

/// The capability a request needs: reads are `read`; the config write is `update` (the path
/// has no existence check, docs/vault-behaviour.md §3.2).
fn grant(grants: &mut Grants, request: &Request) {
    let cap = match request.method {
        Method::Get => "read",
        _ => "update",
    };
    grants
        .entry(request.path.clone())
        .or_default()
        .insert(cap.to_string());
}

/// What the action requests for `env` with default inputs, writing or planning. Logins are
/// unauthenticated, and `lookup-self` and `revoke-self` come with Vault's default policy.
fn requested(env: &str, write: bool) -> Grants {
    let mut raw = RawInputs::default();
    for (k, v) in [
        ("vault-addr", "https://vault.example.com:8200"),
        ("environment", env),
        ("jwt-role", "x"),
        ("ca-file", "k8s-ca.crt"),
    ] {
        raw.set(k, v);
    }
    let settings = parse_settings(&raw, Purpose::Run).unwrap();
    let mount = settings.kubernetes_mount.as_str();
    let mut grants = Grants::new();
    grant(&mut grants, &vault_api::read_config(mount, None));
    if write {
        grant(&mut grants, &vault_api::write_config(mount, None));
    }
    let HostSource::Vip {
        mount, secret, key, ..
    } = &settings.host
    else {
        panic!("without kubernetes-host the VIP comes from KV");
    };
    grant(
        &mut grants,
        &vault_api::read_vip(mount.as_str(), secret, key, 2, None),
    );
    // Dry runs predict whether the write would be allowed through sys/capabilities-self (also
    // granted by Vault's default policy); the example grants it explicitly.
    grants
        .entry("sys/capabilities-self".into())
        .or_default()
        .insert("update".into());
    grants
}

#[test]
fn the_ci_policy_grants_exactly_what_a_writing_run_requests() {
    for env in ["dev", "prod"] {
        assert_eq!(
            policy("policies/handshake.hcl.tftpl", env),
            requested(env, true),
            "{env}"
        );
    }
}

#[test]
fn the_plan_policy_grants_exactly_what_a_dry_run_requests() {
    for env in ["dev", "prod"] {
        assert_eq!(
            policy("policies/handshake-plan.hcl.tftpl", env),
            requested(env, false),
            "{env}"
        );
    }
}

#[test]
fn the_roles_log_in_with_jwt_and_keep_the_default_policy() {
    let jwt = example("jwt.tf");
    let role_types: Vec<&str> = jwt
        .lines()
        .filter(|l| l.trim_start().starts_with("role_type "))
        .collect();
    assert_eq!(role_types.len(), 2, "both roles set role_type");
    assert!(
        role_types.iter().all(|l| l.ends_with("= \"jwt\"")),
        "{role_types:?}"
    );
    assert_eq!(jwt.matches("token_no_default_policy = false").count(), 2);
    assert!(
        jwt.contains("bound_audiences"),
        "GitHub tokens carry aud: bind it"
    );
    assert!(!example("kubernetes.tf").contains("resource \"vault_kubernetes_auth_backend_config\""));
}

#[test]
fn the_readme_shows_both_kv_layouts_with_their_policy_paths() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    // One mount per environment (the default), and one shared mount with a secret per environment.
    for (mount, secret) in [("kv/dev", "ip"), ("kv", "dev/ip")] {
        let path = vault_api::read_vip(mount, secret, "vip", 2, None).path;
        assert!(
            readme.contains(&format!("path \"{path}\"")),
            "README lacks the policy path {path}"
        );
        assert!(
            readme.contains(&format!("vip-mount: {mount}")),
            "README lacks vip-mount: {mount}"
        );
    }
}
