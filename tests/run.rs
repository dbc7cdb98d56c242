//! The action's `run` as the runner runs its container: the built binary, a cleared environment,
//! `INPUT_*` and `GITHUB_*` variables, OIDC request variables, file commands in a temp folder,
//! and the dev server on an ephemeral loopback port, asserted on from both sides.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use vault_k8s_handshake::devserver::cluster;
use vault_k8s_handshake::devserver::seed::Seed;
use vault_k8s_handshake::devserver::vault::K8sConfig;
use vault_k8s_handshake::devserver::ServerOptions;

#[test]
fn first_write_then_nothing_to_change() {
    let h = harness();
    let first = h.run(&[], &[]);
    assert_ok(&first, "changed");
    assert_eq!(first.output("changed"), "true");
    assert_eq!(first.output("kubernetes-host"), "https://127.0.0.10:6443");
    assert_eq!(first.output("mount"), "dev-kubernetes");
    let stored = h.stored("", "dev-kubernetes").expect("config written");
    assert_eq!(stored.kubernetes_host, "https://127.0.0.10:6443");
    assert_eq!(stored.kubernetes_ca_cert, h.ca_pem.replace("\r\n", "\n"));
    assert!(stored.disable_local_ca_jwt);
    let fingerprint = vault_k8s_handshake::pure::ca::fingerprints_of_pem(&h.ca_pem)[0].clone();
    assert_eq!(first.output("ca-fingerprint"), fingerprint);
    assert!(
        first.summary.contains("written and read back"),
        "{}",
        first.summary
    );
    assert!(first.summary.contains(&fingerprint));
    assert!(first.stdout.contains("::group::"), "a group per phase");
    // The minted token is revoked on success.
    assert_eq!(h.live_tokens(), 0);
    assert!(first
        .requests
        .iter()
        .any(|r| r.path == "auth/token/revoke-self" && r.status == 204));
    // The JSON audit report lies under the runner's temp folder.
    let report_path = PathBuf::from(first.output("report-path"));
    assert!(report_path.starts_with(&h.runner_temp), "{report_path:?}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["previous"], Value::Null);
    assert_eq!(
        report["written"]["kubernetes_host"],
        "https://127.0.0.10:6443"
    );
    assert_eq!(report["context"]["actor"], "octocat");
    assert_eq!(
        report["context"]["run_url"],
        "https://github.com/acme/gitops/actions/runs/4242/attempts/1"
    );

    let second = h.run(&[], &[]);
    assert_ok(&second, "unchanged");
    assert_eq!(second.output("changed"), "false");
    assert!(
        !second.wrote_config("dev-kubernetes"),
        "no write reached the server"
    );
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_stored_ca_with_a_bom_is_repaired_although_fingerprints_match() {
    let h = harness();
    let broken = K8sConfig {
        kubernetes_host: "https://127.0.0.10:6443".into(),
        kubernetes_ca_cert: format!("\u{feff}{}", h.ca_pem),
        token_reviewer_jwt: String::new(),
        pem_keys: Vec::new(),
        issuer: String::new(),
        disable_iss_validation: true,
        disable_local_ca_jwt: true,
        use_annotations_as_alias_metadata: false,
    };
    assert!(h
        .server
        .with_vault(|v| v.set_k8s_config("", "dev-kubernetes", broken)));
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    assert!(o.summary.contains("canonical"), "{}", o.summary);
    let stored = h.stored("", "dev-kubernetes").unwrap();
    assert!(!stored.kubernetes_ca_cert.starts_with('\u{feff}'));
    assert!(vault_k8s_handshake::pure::ca::is_canonical_pem(
        &stored.kubernetes_ca_cert
    ));
}

#[test]
fn dry_run_plans_and_writes_nothing() {
    let h = harness();
    let o = h.run(&[("dry-run", "true")], &[]);
    assert_ok(&o, "planned");
    assert_eq!(o.output("changed"), "true", "a real run would write");
    assert!(!o.wrote_config("dev-kubernetes"));
    assert!(h.stored("", "dev-kubernetes").is_none());
    assert!(o.summary.contains("dry run"), "{}", o.summary);
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_rotation_bundle_replaces_the_single_ca() {
    let h = harness();
    assert_ok(&h.run(&[], &[]), "changed");
    let now = time::OffsetDateTime::now_utc();
    let new_ca = cluster::rke2_ca("rke2-server", now + time::Duration::seconds(5)).unwrap();
    let bundle = format!("{}{}", new_ca.pem, h.ca_pem);
    std::fs::write(h.workspace.join("bundle.crt"), &bundle).unwrap();
    let o = h.run(&[("ca-file", "bundle.crt")], &[]);
    assert_ok(&o, "changed");
    let stored = h.stored("", "dev-kubernetes").unwrap();
    let mut want = vault_k8s_handshake::pure::ca::fingerprints_of_pem(&bundle);
    want.sort();
    assert_eq!(
        vault_k8s_handshake::pure::ca::fingerprints_of_pem(&stored.kubernetes_ca_cert),
        want
    );
    assert_eq!(o.output("ca-fingerprint").split(',').count(), 2);
}

#[test]
fn the_host_input_overrides_the_vip_in_kv() {
    let h = harness();
    let o = h.run(&[("kubernetes-host", "https://127.0.0.11:6443")], &[]);
    assert_ok(&o, "changed");
    assert_eq!(
        h.stored("", "dev-kubernetes").unwrap().kubernetes_host,
        "https://127.0.0.11:6443"
    );
    assert!(
        !o.requests.iter().any(|r| r.path == "kv/dev/data/ip"),
        "the VIP is not read"
    );
}

#[test]
fn without_oidc_variables_the_hint_names_the_permission() {
    let h = harness();
    let o = h.run(
        &[],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", ""),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""),
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_eq!(o.output("result"), "failed");
    assert!(
        o.stdout
            .contains("::error title=vault-k8s-handshake%3A input error::"),
        "{}",
        o.stdout
    );
    assert!(
        o.output("error-message")
            .contains("permissions: id-token: write"),
        "{:?}",
        o.outputs
    );
    assert!(o.output("error-message").contains("forks and Dependabot"));
    assert!(o.summary.contains("id-token: write"));
    assert!(h.stored("", "dev-kubernetes").is_none());
}

#[test]
fn a_wrong_audience_shows_vaults_text_and_names_bound_audiences() {
    let h = harness();
    let o = h.run(&[("jwt-audience", "https://vault.example.com")], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(
        message.contains(
            "invalid audience (aud) claim: audience claim does not match any expected audience"
        ),
        "{message}"
    );
    assert!(message.contains("bound_audiences"), "{message}");
    let login = o
        .requests
        .iter()
        .find(|r| r.path == "auth/jwt/login")
        .unwrap();
    assert_eq!(login.status, 400);
}

#[test]
fn a_policy_without_update_fails_with_the_path_and_the_token_is_revoked() {
    let mut seed = Seed::new("dev", VIP);
    seed.config_capabilities = vec!["read".into(), "create".into()];
    let h = harness_with(seed, ServerOptions::default());
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(message.contains("403"), "{message}");
    assert!(message.contains("auth/dev-kubernetes/config"), "{message}");
    assert!(
        message.contains("`create` alone is not enough"),
        "{message}"
    );
    assert_eq!(h.live_tokens(), 0, "revoked after a failure too");
    assert!(o
        .requests
        .iter()
        .any(|r| r.path == "auth/token/revoke-self" && r.status == 204));
}

#[test]
fn a_missing_mount_says_how_to_enable_it() {
    let h = harness();
    h.server
        .with_vault(|v| v.disable_mount("", "auth/dev-kubernetes"));
    // With the mount gone, the policy still covers the path, so Vault answers 404 (§1.8).
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(message.contains("no handler for route"), "{message}");
    assert!(
        message.contains("vault auth enable -path=dev-kubernetes kubernetes"),
        "{message}"
    );
}

#[test]
fn loopback_is_refused_unless_allowed_and_then_loud() {
    let h = harness();
    let o = h.run(&[("allow-loopback-host", "false")], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.output("error-message").contains("loopback"),
        "{:?}",
        o.outputs
    );
    assert!(o.output("error-message").contains("rke2.yaml"));
    assert!(h.stored("", "dev-kubernetes").is_none());
    assert_eq!(h.live_tokens(), 0);
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    assert!(
        o.stdout.contains("::warning::") && o.stdout.contains("allow-loopback-host: true"),
        "{}",
        o.stdout
    );
    assert!(
        o.summary.contains("allow-loopback-host: true"),
        "{}",
        o.summary
    );
}

#[test]
fn a_pull_request_event_forces_a_dry_run_unless_opted_in() {
    let h = harness();
    let o = h.run(&[], &[("GITHUB_EVENT_NAME", "pull_request")]);
    assert_ok(&o, "planned");
    assert!(!o.wrote_config("dev-kubernetes"));
    assert!(
        o.stdout.contains("::notice::")
            && o.stdout.contains("`pull_request` events run as a dry run"),
        "{}",
        o.stdout
    );
    assert!(o.summary.contains("pull\\_request"), "{}", o.summary);
    let o = h.run(
        &[("allow-pull-request-writes", "true")],
        &[("GITHUB_EVENT_NAME", "pull_request")],
    );
    assert_ok(&o, "changed");
}

#[test]
fn ambient_vault_variables_change_nothing() {
    let h = harness();
    let o = h.run(
        &[],
        &[
            ("VAULT_SKIP_VERIFY", "true"),
            ("VAULT_ADDR", "http://127.0.0.1:1"),
            ("VAULT_TOKEN", "hvs.AMBIENTTOKEN"),
            ("VAULT_NAMESPACE", "elsewhere"),
            ("VAULT_CACERT", "/nonexistent"),
        ],
    );
    assert_ok(&o, "changed");
    for r in &o.requests {
        assert!(r.namespace.is_empty(), "VAULT_NAMESPACE leaked into {r:?}");
        assert!(
            !r.headers.iter().any(|(_, v)| v.contains("AMBIENTTOKEN")),
            "VAULT_TOKEN leaked"
        );
    }
}

#[test]
fn namespaces_split_across_mounts() {
    let mut seed = Seed::new("dev", VIP);
    seed.jwt_namespace = "admin".into();
    seed.kubernetes_namespace = "admin/team".into();
    seed.kv_namespace = "admin/team".into();
    let h = harness_with(seed, ServerOptions::default());
    let o = h.run(
        &[
            ("vault-namespace-jwt", "admin"),
            ("vault-namespace", "admin/team"),
        ],
        &[],
    );
    assert_ok(&o, "changed");
    assert!(h.stored("admin/team", "dev-kubernetes").is_some());
    let login = o
        .requests
        .iter()
        .find(|r| r.path == "auth/jwt/login")
        .unwrap();
    assert_eq!(login.namespace, "admin");
    let write = o
        .requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "auth/dev-kubernetes/config")
        .unwrap();
    assert_eq!(write.namespace, "admin/team");
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_supplied_vault_token_is_used_and_not_revoked() {
    let h = harness();
    let token = h
        .server
        .with_vault(|v| v.create_token("", &["dev-handshake"], 600));
    let o = h.run(&[("jwt-role", ""), ("vault-token", &token)], &[]);
    assert_ok(&o, "changed");
    assert!(
        h.server.with_vault(|v| v.token_is_live(&token)),
        "a supplied token stays alive"
    );
    let o = h.run(
        &[
            ("jwt-role", ""),
            ("vault-token", &token),
            ("revoke-vault-token", "true"),
        ],
        &[],
    );
    assert_ok(&o, "unchanged");
    assert!(!h.server.with_vault(|v| v.token_is_live(&token)));
}

/// Every byte the action writes, except `::add-mask::` lines.
fn written_bytes(h: &Harness, o: &Outcome) -> Vec<(String, String)> {
    let mut all = vec![
        ("stdout".to_string(), o.stdout.clone()),
        ("stderr".to_string(), o.stderr.clone()),
    ];
    fn walk(dir: &Path, all: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, all);
            } else {
                all.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
                ));
            }
        }
    }
    walk(&h.root, &mut all);
    all.into_iter()
        .map(|(name, text)| {
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("::add-mask::"))
                .collect();
            (name, kept.join("\n"))
        })
        .collect()
}

#[test]
fn secrets_reach_vault_and_nothing_else() {
    let h = harness();
    let supplied = h
        .server
        .with_vault(|v| v.create_token("", &["dev-handshake"], 600));
    for (inputs, label) in [
        (vec![], "oidc"),
        (
            vec![
                ("jwt-role", ""),
                ("vault-token", supplied.as_str()),
                ("revoke-vault-token", "true"),
            ],
            "supplied token",
        ),
        (
            vec![("jwt-audience", "https://wrong.example")],
            "failed login",
        ),
    ] {
        let o = h.run(&inputs, &[]);
        let mut planted: Vec<(String, String)> = Vec::new();
        for r in &o.requests {
            for (k, v) in &r.headers {
                if k == "x-vault-token" || k == "authorization" {
                    planted.push((
                        format!("{k} of {}", r.path),
                        v.trim_start_matches("Bearer ").to_string(),
                    ));
                }
            }
            if r.path.ends_with("/login") {
                let body: Value = serde_json::from_str(&r.body).unwrap();
                planted.push((
                    "login JWT".into(),
                    body["jwt"].as_str().unwrap().to_string(),
                ));
            }
        }
        // Positive control: each kind of secret really reached the server.
        let kinds: Vec<&str> = planted.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            kinds
                .iter()
                .any(|k| k.starts_with("authorization of /_github/idtoken/"))
                || label == "supplied token",
            "{label}: OIDC request token not seen: {kinds:?}"
        );
        if label != "supplied token" {
            assert!(kinds.contains(&"login JWT"), "{label}: {kinds:?}");
        }
        if label != "failed login" {
            assert!(
                kinds.iter().any(|k| k.starts_with("x-vault-token")),
                "{label}: {kinds:?}"
            );
        }
        for (name, text) in written_bytes(&h, &o) {
            for (kind, secret) in &planted {
                assert!(secret.len() > 16, "{kind} is too short to scan for");
                assert!(
                    !text.contains(secret.as_str()),
                    "{label}: {kind} leaked into {name}"
                );
            }
        }
        assert!(
            o.stdout.contains("::add-mask::"),
            "{label}: secrets are masked first"
        );
    }
}

#[test]
fn masks_come_before_anything_else() {
    let h = harness();
    let o = h.run(&[], &[]);
    let first_other = o
        .stdout
        .lines()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap();
    let masks_after = o
        .stdout
        .lines()
        .skip(first_other)
        .filter(|l| l.starts_with("::add-mask::"))
        .count();
    // The request token is masked before anything; the JWT and the Vault token the moment
    // they exist, which is after the first groups opened.
    assert!(first_other >= 1, "{}", o.stdout);
    assert_eq!(masks_after, 2, "{}", o.stdout);
    let values: Vec<&str> = o.outputs.values().map(String::as_str).collect();
    assert!(
        values.iter().all(|v| !v.contains("hvs.")),
        "no output carries a token"
    );
}

#[test]
fn vault_1_15_lacks_newer_fields_and_the_plan_says_so() {
    let h = harness_with(
        Seed::new("dev", VIP),
        ServerOptions {
            profile: vault_k8s_handshake::devserver::Profile::V1_15,
            ..ServerOptions::default()
        },
    );
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    let o = h.run(&[("kubernetes-host", "https://127.0.0.12:6443")], &[]);
    assert_ok(&o, "changed");
    let write = o
        .requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "auth/dev-kubernetes/config")
        .unwrap();
    assert!(
        !write.body.contains("use_annotations_as_alias_metadata"),
        "not a 1.15 field: {}",
        write.body
    );
    assert!(
        o.summary
            .contains("this Vault \\(before 1.16\\) does not say whether"),
        "{}",
        o.summary
    );
}

#[test]
fn a_stored_reviewer_jwt_is_not_wiped_without_the_opt_in() {
    let h = harness();
    assert_ok(&h.run(&[], &[]), "changed");
    let mut stored = h.stored("", "dev-kubernetes").unwrap();
    stored.token_reviewer_jwt = "eyJhbGciOiJSUzI1NiJ9.reviewer.signature".into();
    h.server
        .with_vault(|v| v.set_k8s_config("", "dev-kubernetes", stored));
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.output("error-message")
            .contains("allow-reviewer-jwt-removal"),
        "{:?}",
        o.outputs
    );
    assert!(!o.wrote_config("dev-kubernetes"));
    assert_eq!(h.live_tokens(), 0);
    let o = h.run(&[("allow-reviewer-jwt-removal", "true")], &[]);
    assert_ok(&o, "changed");
    assert!(h
        .stored("", "dev-kubernetes")
        .unwrap()
        .token_reviewer_jwt
        .is_empty());
}

#[test]
fn a_revoked_supplied_token_reads_invalid_token_on_1_17_only() {
    for (profile, says) in [
        (vault_k8s_handshake::devserver::Profile::V1_17, true),
        (vault_k8s_handshake::devserver::Profile::V1_16, false),
    ] {
        let h = harness_with(
            Seed::new("dev", VIP),
            ServerOptions {
                profile,
                ..ServerOptions::default()
            },
        );
        let token = h
            .server
            .with_vault(|v| v.create_token("", &["dev-handshake"], 600));
        h.server
            .call("POST", "auth/token/revoke-self", "", Some(&token), None);
        let o = h.run(&[("jwt-role", ""), ("vault-token", &token)], &[]);
        assert_eq!(o.code, 2, "{}", o.stdout);
        let message = o.output("error-message");
        assert!(message.contains("permission denied"), "{message}");
        assert_eq!(
            message.contains("invalid token"),
            says,
            "{profile:?}: {message}"
        );
        assert!(
            message.contains("`vault-token` is expired, revoked"),
            "{message}"
        );
    }
}

#[test]
fn the_vip_in_one_shared_kv_mount_with_a_secret_per_environment() {
    // The second layout the README documents: one mount for every environment, a secret
    // `dev/ip`, key `vip`, and the policy path with `data/` after the mount. (Named `secret`
    // here: the seed's `kv/dev` mount already holds the `kv/` prefix, and Vault refuses
    // overlapping mounts.)
    let h = harness();
    let root = h.server.root_token();
    let call = |method: &str, path: &str, body: serde_json::Value| {
        let answer = h.server.call(method, path, "", Some(&root), Some(body));
        assert!(answer.status < 300, "{path}: {answer:?}");
    };
    call(
        "POST",
        "sys/mounts/secret",
        serde_json::json!({"type": "kv", "options": {"version": "2"}}),
    );
    call(
        "POST",
        "secret/data/dev/ip",
        serde_json::json!({"data": {"vip": VIP}}),
    );
    let policy = h
        .server
        .call(
            "GET",
            "sys/policies/acl/dev-handshake",
            "",
            Some(&root),
            None,
        )
        .body
        .unwrap()["data"]["policy"]
        .as_str()
        .unwrap()
        .to_string();
    let policy =
        format!("{policy}\npath \"secret/data/dev/ip\" {{\n  capabilities = [\"read\"]\n}}\n");
    call(
        "PUT",
        "sys/policies/acl/dev-handshake",
        serde_json::json!({ "policy": policy }),
    );
    let o = h.run(&[("vip-mount", "secret"), ("vip-secret", "dev/ip")], &[]);
    assert_ok(&o, "changed");
    assert!(o
        .requests
        .iter()
        .any(|r| r.method == "GET" && r.path == "secret/data/dev/ip"));
    assert_eq!(o.output("kubernetes-host"), format!("https://{VIP}:6443"));
}

#[test]
fn a_failed_oidc_login_with_a_vault_token_set_fails_clearly_and_never_falls_back() {
    let h = harness();
    let root = h.server.root_token();
    let o = h.run(
        &[
            ("jwt-audience", "https://not.bound.example"),
            ("vault-token", root.as_str()),
        ],
        &[],
    );
    assert_ne!(o.code, 0, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(
        message.contains("`vault-token` is set but not used"),
        "{message}"
    );
    // Nothing was done with the supplied token.
    assert!(!o.requests.iter().any(|r| r
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("x-vault-token") && v == &root)));
    assert!(h.stored("", "dev-kubernetes").is_none());
}
