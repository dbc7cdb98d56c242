//! Every fix the action prints is a command that works when pasted: each cause is staged against
//! the dev server, the hint's `vault …` command is run in bash as printed (with a `vault` CLI
//! stand-in, tests/hints/vault, speaking HTTP to the dev server), and the action runs again
//! with the cause gone. The same for the `kubectl config view` export and the `kubectl config
//! use-context` a CA hint prints (the `kubectl` stand-in, tests/hints/kubectl); the cluster-side
//! fixes are in tests/cluster.rs.

mod common;

use common::*;
use serde_json::json;
use vault_k8s_handshake::devserver::seed::Seed;
use vault_k8s_handshake::devserver::ServerOptions;

/// A write as the operator would make it (root token), which must succeed.
fn write_as_root(h: &Harness, path: &str, body: serde_json::Value) {
    let root = h.server.root_token();
    let answer = h.server.call("POST", path, "", Some(&root), Some(body));
    assert!(answer.status < 300, "{path}: {answer:?}");
}

fn read_only_config_policy() -> Harness {
    let mut seed = Seed::new("dev", VIP);
    seed.config_capabilities = vec!["read".into()];
    harness_with(seed, ServerOptions::default())
}

#[test]
fn a_policy_without_update_is_fixed_by_the_printed_command() {
    let h = read_only_config_policy();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("refused the write"), "{text}");
    // The token's policies are named, and the HCL block to add is shown.
    assert!(text.contains("`default`, `dev-handshake`"), "{text}");
    assert!(
        text.contains(r#"path "auth/dev-kubernetes/config" { capabilities = ["read", "update"] }"#),
        "{text}"
    );
    assert!(
        o.stdout
            .contains("title=vault-k8s-handshake%3A Vault error"),
        "{}",
        o.stdout
    );
    paste_hint(&h, text);
    assert_ok(&h.run(&[], &[]), "changed");
}

#[test]
fn a_dry_run_predicts_a_refused_write_and_still_succeeds() {
    let h = read_only_config_policy();
    let o = h.run(&[("dry-run", "true")], &[]);
    // The plan role may not write: the dry run succeeds and says what the real run would meet.
    assert_ok(&o, "planned");
    assert!(
        o.summary.contains("A real run would be refused"),
        "{}",
        o.summary
    );
    assert!(o.summary.contains("dry run"), "{}", o.summary);
    assert!(
        o.stdout.contains("dry run: a real run would be refused"),
        "{}",
        o.stdout
    );
    let asked = o
        .requests
        .iter()
        .any(|r| r.method == "POST" && r.path == "sys/capabilities-self");
    assert!(asked, "the dry run asks Vault, it does not guess");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o.output("report-path")).unwrap()).unwrap();
    let fix = report["write_refused"].as_str().unwrap().to_string();
    paste_hint(&h, &fix);
    let o = h.run(&[("dry-run", "true")], &[]);
    assert_ok(&o, "planned");
    assert!(!o.summary.contains("would be refused"), "{}", o.summary);
    assert!(
        o.summary.contains("a real run would be allowed"),
        "{}",
        o.summary
    );
    assert_ok(&h.run(&[], &[]), "changed");
}

#[test]
fn a_role_turned_into_oidc_is_made_a_jwt_role_again() {
    let h = harness();
    // A role write without `role_type`: Vault makes it an OIDC role.
    write_as_root(
        &h,
        "auth/jwt/role/dev-handshake",
        json!({
            "token_ttl": "5m",
            "bound_claims_type": "glob",
            "allowed_redirect_uris": ["https://vault.example.com/cb"]
        }),
    );
    let o = h.run(&[], &[]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("oidc"), "{text}");
    let pasted = paste_hint(&h, text);
    assert!(pasted.contains("role_type=jwt"), "{pasted}");
    assert_ok(&h.run(&[], &[]), "changed");
}

#[test]
fn an_audience_the_role_does_not_bind_is_added_beside_the_bound_ones() {
    let h = harness();
    let audience = "https://vault.other.example";
    let o = h.run(&[("jwt-audience", audience)], &[]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("invalid audience"), "{text}");
    // This job's claims, beside the refusal.
    assert!(text.contains("`repository=acme/gitops`"), "{text}");
    assert!(text.contains("`environment=dev`"), "{text}");
    let pasted = paste_hint(&h, text);
    assert!(pasted.contains("role_type=jwt"), "{pasted}");
    let root = h.server.root_token();
    let role = h
        .server
        .call("GET", "auth/jwt/role/dev-handshake", "", Some(&root), None)
        .body
        .unwrap();
    let bound = role["data"]["bound_audiences"].as_array().unwrap().clone();
    assert!(
        bound.contains(&json!(audience)) && bound.len() >= 2,
        "{bound:?}"
    );
    assert_eq!(role["data"]["role_type"], "jwt");
    assert_ok(&h.run(&[("jwt-audience", audience)], &[]), "changed");
    // The audience bound before still works.
    assert_ok(&h.run(&[], &[]), "unchanged");
}

#[test]
fn a_missing_auth_mount_is_enabled_by_the_printed_command() {
    let h = harness();
    h.server
        .with_vault(|v| v.disable_mount("", "auth/dev-kubernetes"));
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    let pasted = paste_hint(&h, text);
    assert_eq!(pasted, "vault auth enable -path=dev-kubernetes kubernetes");
    assert_ok(&h.run(&[], &[]), "changed");
}

#[test]
fn an_environment_input_that_is_not_the_jobs_is_named_before_anything_fails() {
    let mut seed = Seed::new("stage", VIP);
    seed.repository = "acme/gitops".into();
    let h = harness_with(seed, ServerOptions::default());
    // The job runs in `stage` (its token says so), the input says `dev`.
    let o = h.run(
        &[("environment", "dev"), ("jwt-role", "stage-handshake")],
        &[],
    );
    assert_ne!(o.code, 0, "{}", o.stdout);
    let warn = o
        .stdout
        .find("this job's OIDC token says `environment=stage`")
        .expect("the mismatch is named");
    let error = o.stdout.find("::error").expect("then the failure");
    assert!(warn < error, "{}", o.stdout);
}

#[test]
fn a_glob_role_reset_to_string_by_a_write_is_made_glob_again() {
    let h = harness();
    // A role write that omits `bound_claims_type`: Vault resets it to `string`, and the
    // role's `refs/heads/*`-style patterns stop matching.
    write_as_root(
        &h,
        "auth/jwt/role/dev-handshake",
        json!({"role_type": "jwt", "token_ttl": "5m"}),
    );
    let o = h.run(&[], &[]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(
        text.contains("does not match any associated bound claim values"),
        "{text}"
    );
    assert!(text.contains("`ref=refs/heads/main`"), "{text}");
    let pasted = paste_hint(&h, text);
    assert!(pasted.ends_with("bound_claims_type=glob"), "{pasted}");
    assert_ok(&h.run(&[], &[]), "changed");
}

#[test]
fn a_wrong_vip_key_names_the_keys_and_the_patch_keeps_them() {
    let h = harness();
    let root = h.server.root_token();
    // The VIP is stored under another key, beside an unrelated one.
    write_as_root(
        &h,
        "kv/dev/data/ip",
        json!({"data": {"address": VIP, "owner": "platform"}}),
    );
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("it holds `address`, `owner`"), "{text}");
    assert!(text.contains("`vip-key: address`"), "{text}");
    assert!(
        !text.contains("kv put"),
        "a put would drop the other keys: {text}"
    );
    // Either fix works: naming the key, or pasting the patch with the VIP.
    assert_ok(&h.run(&[("vip-key", "address")], &[]), "changed");
    let pasted = paste_hint_after(&h, text, &format!("VIP={VIP}; "));
    assert!(pasted.starts_with("vault kv patch"), "{pasted}");
    let stored = h
        .server
        .call("GET", "kv/dev/data/ip", "", Some(&root), None)
        .body
        .unwrap();
    assert_eq!(
        stored["data"]["data"]["owner"], "platform",
        "the other keys stay"
    );
    assert_ok(&h.run(&[], &[]), "unchanged");
}

#[test]
fn a_vault_addr_without_scheme_or_with_v1_gets_the_corrected_value() {
    let h = harness();
    let url = h.server.url();
    let bare = url.trim_start_matches("http://").to_string();
    let o = h.run(&[("vault-addr", bare.as_str())], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.output("error-message").contains("has no scheme"),
        "{}",
        o.output("error-message")
    );
    let with_v1 = format!("{url}/v1");
    let o = h.run(&[("vault-addr", with_v1.as_str())], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains(&format!("`vault-addr: {url}`")), "{text}");
}

#[test]
fn a_vip_secret_the_policy_does_not_cover_is_granted_then_stored_by_the_printed_commands() {
    let h = harness();
    // The run names a secret the CI policy does not cover: Vault answers 403 before it looks.
    let o = h.run(&[("vip-secret", "api")], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("`default`, `dev-handshake`"), "{text}");
    let pasted = paste_hint(&h, text);
    assert!(
        pasted.starts_with("vault policy read dev-handshake"),
        "{pasted}"
    );
    // Now the read is allowed, and the secret is missing: the fix stores it.
    let o = h.run(&[("vip-secret", "api")], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    let pasted = paste_hint_after(&h, text, &format!("VIP={VIP}; "));
    assert_eq!(pasted, "vault kv put -mount=kv/dev api vip=\"$VIP\"");
    assert_ok(&h.run(&[("vip-secret", "api")], &[]), "changed");
}

#[test]
fn a_kubeconfig_exported_without_raw_is_exported_again_by_the_printed_command() {
    use base64::Engine as _;
    let h = harness();
    // The operator's kubeconfig (JSON, which kubectl reads as YAML), naming the cluster CA.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config.json");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "default", "cluster": {
            "server": format!("https://{VIP}:6443"),
            "certificate-authority-data":
                base64::engine::general_purpose::STANDARD.encode(&h.ca_pem),
        }}],
        "users": [{"name": "default", "user": {"token": "operator-token-not-sent-anywhere"}}],
        "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
        "current-context": "default",
    });
    std::fs::write(&kubeconfig, config.to_string()).unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    let env = [("KUBECONFIG", kubeconfig.as_str())];
    // The mistake: an export without `--raw`, whose CA data reads DATA+OMITTED.
    let export = paste(&h, "kubectl config view --minify", "", &h.workspace, &env);
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert!(
        export
            .stdout
            .contains("certificate-authority-data: DATA+OMITTED"),
        "{}",
        export.stdout
    );
    std::fs::write(h.workspace.join("k8s-ca.crt"), &export.stdout).unwrap();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("without `--raw`"), "{text}");
    // The printed export, pasted as is; its output is the CA file of the next run.
    let pasted = paste_first(&h, text, "kubectl config view", &h.workspace, &env);
    assert_eq!(
        (pasted.command.as_str(), pasted.code),
        ("kubectl config view --raw --minify --flatten", 0),
        "{}",
        pasted.stderr
    );
    std::fs::write(h.workspace.join("k8s-ca.crt"), &pasted.stdout).unwrap();
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    assert_eq!(
        h.stored("", "dev-kubernetes").unwrap().kubernetes_ca_cert,
        h.ca_pem
    );
}

#[test]
fn a_jwt_role_that_is_no_role_name_is_fixed_with_a_name_the_printed_command_lists() {
    let h = harness();
    let o = h.run(&[("jwt-role", "dev handshake")], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("`vault list auth/jwt/role`"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let pasted = paste_first(&h, text, "vault list", dir.path(), &[]);
    assert_eq!(pasted.code, 0, "{}{}", pasted.stdout, pasted.stderr);
    let role = Seed::new("dev", VIP).jwt_role();
    assert!(
        pasted.stdout.lines().any(|l| l == role),
        "{}",
        pasted.stdout
    );
    assert_ok(&h.run(&[("jwt-role", &role)], &[]), "changed");
}

#[test]
fn a_kubeconfig_without_current_context_is_fixed_by_the_printed_use_context() {
    kubeconfig_fixed_by_the_printed_use_context(None, "has no `current-context`");
}

#[test]
fn a_kubeconfig_whose_current_context_is_gone_is_fixed_by_the_printed_use_context() {
    kubeconfig_fixed_by_the_printed_use_context(
        Some("rke2-old"),
        "names a context that the kubeconfig does not define",
    );
}

/// Bootstrap output (JSON, which kubectl reads as YAML) whose `current-context` is `current`
/// (unset, or naming no context), with one context: the run fails with `failure` in its error,
/// the printed `kubectl config use-context` is pasted, and the run then writes the CA.
fn kubeconfig_fixed_by_the_printed_use_context(current: Option<&str>, failure: &str) {
    use base64::Engine as _;
    let h = harness();
    let ca_file = h.workspace.join("k8s-ca.crt");
    let mut config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "rke2", "cluster": {
            "server": format!("https://{VIP}:6443"),
            "certificate-authority-data":
                base64::engine::general_purpose::STANDARD.encode(&h.ca_pem),
        }}],
        "contexts": [{"name": "rke2-admin", "context": {"cluster": "rke2", "user": "admin"}}],
        "users": [{"name": "admin", "user": {}}],
    });
    if let Some(name) = current {
        config["current-context"] = json!(name);
    }
    std::fs::write(&ca_file, config.to_string()).unwrap();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains(failure), "{text}");
    let kubeconfig = ca_file.display().to_string();
    let env = [("KUBECONFIG", kubeconfig.as_str())];
    let pasted = paste_first(&h, text, "kubectl config use-context", &h.workspace, &env);
    assert_eq!(
        (pasted.command.as_str(), pasted.code),
        ("kubectl config use-context rke2-admin", 0),
        "{}",
        pasted.stderr
    );
    assert_ok(&h.run(&[], &[]), "changed");
    assert_eq!(
        h.stored("", "dev-kubernetes").unwrap().kubernetes_ca_cert,
        h.ca_pem
    );
}

/// Rewrites the seeded CI policy's text with `edit`, as an operator would with `vault policy`.
fn edit_ci_policy(h: &Harness, edit: impl FnOnce(&str) -> String) {
    let root = h.server.root_token();
    let path = format!("sys/policies/acl/{}", h.seed.policy_name());
    let policy = h
        .server
        .call("GET", &path, "", Some(&root), None)
        .body
        .unwrap();
    let text = edit(policy["data"]["policy"].as_str().unwrap());
    write_as_root(h, &path, json!({ "policy": text }));
}

/// Replaces the seeded KV v2 mount at `kv/dev` with `engine` mounted at `path` (a `sys/mounts`
/// body), as an operator would with `vault secrets disable` and `vault secrets enable`.
fn remount_vip_kv(h: &Harness, path: &str, engine: serde_json::Value) {
    let root = h.server.root_token();
    let gone = h
        .server
        .call("DELETE", "sys/mounts/kv/dev", "", Some(&root), None);
    assert!(gone.status < 300, "{gone:?}");
    write_as_root(h, &format!("sys/mounts/{path}"), engine);
}

#[test]
fn a_vip_on_a_kv_v1_mount_is_granted_stored_and_read_where_v1_keeps_it() {
    let h = harness();
    // `vault secrets enable -path=kv/dev kv`: version 1, no `options`.
    remount_vip_kv(&h, "kv/dev", json!({"type": "kv"}));
    // The CI policy covers the v2 path only: the v1 read of `kv/dev/ip` is refused.
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("`GET kv/dev/ip` answered 403"), "{text}");
    assert!(
        text.contains(r#"path "kv/dev/ip" { capabilities = ["read"] }"#),
        "{text}"
    );
    let asked = o
        .requests
        .iter()
        .any(|r| r.method == "GET" && r.path == "sys/internal/ui/mounts/kv/dev");
    assert!(asked, "the mount's version is asked, as `vault kv` asks it");
    paste_hint(&h, text);
    // Granted, and still missing: the fix writes the v1 secret at the path the action reads.
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    let pasted = paste_hint_after(&h, text, &format!("VIP={VIP}; "));
    assert_eq!(pasted, "vault kv put kv/dev/ip vip=\"$VIP\"");
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    assert!(
        o.summary
            .contains("<code>kv/dev</code> is a KV version 1 mount"),
        "{}",
        o.summary
    );
    assert!(
        o.summary.contains(r"VIP from <code>kv/dev/ip\#vip</code>"),
        "{}",
        o.summary
    );
}

#[test]
fn a_vip_key_missing_on_kv_v1_gets_a_secret_of_its_own_not_a_patch() {
    let h = harness();
    remount_vip_kv(
        &h,
        "kv/dev",
        json!({"type": "kv", "options": {"version": "1"}}),
    );
    write_as_root(
        &h,
        "kv/dev/ip",
        json!({"address": VIP, "owner": "platform"}),
    );
    // The CI policy grants the v1 path too.
    edit_ci_policy(&h, |text| {
        format!("{text}\npath \"kv/dev/*\" {{ capabilities = [\"read\"] }}\n")
    });
    let root = h.server.root_token();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(
        text.contains("`kv/dev/ip#vip` has no string value"),
        "{text}"
    );
    assert!(text.contains("`vip-key: address`"), "{text}");
    assert!(!text.contains("kv patch"), "KV v1 has no patch: {text}");
    let pasted = paste_hint_after(&h, text, &format!("VIP={VIP}; "));
    assert_eq!(pasted, "vault kv put kv/dev/ip-vip vip=\"$VIP\"");
    let stored = h
        .server
        .call("GET", "kv/dev/ip", "", Some(&root), None)
        .body
        .unwrap();
    assert_eq!(stored["data"]["owner"], "platform", "the other keys stay");
    assert_ok(&h.run(&[("vip-secret", "ip-vip")], &[]), "changed");
    assert_ok(&h.run(&[("vip-key", "address")], &[]), "unchanged");
}

#[test]
fn a_vip_mount_inside_a_kv_v2_mount_names_the_inputs_that_reach_it() {
    let h = harness();
    // One KV v2 mount for every environment, the VIP at `dev/ip` in it.
    remount_vip_kv(&h, "kv", json!({"type": "kv", "options": {"version": "2"}}));
    write_as_root(&h, "kv/data/dev/ip", json!({"data": {"vip": VIP}}));
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(
        text.contains("`vip-mount` `kv/dev` is inside the KV v2 mount `kv`"),
        "{text}"
    );
    assert!(
        text.contains("set `vip-mount: kv` and `vip-secret: dev/ip`"),
        "{text}"
    );
    // The inputs the hint names reach the secret; the policy then needs its path.
    let inputs = [("vip-mount", "kv"), ("vip-secret", "dev/ip")];
    let o = h.run(&inputs, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(
        text.contains(r#"path "kv/data/dev/ip" { capabilities = ["read"] }"#),
        "{text}"
    );
    paste_hint(&h, text);
    assert_ok(&h.run(&inputs, &[]), "changed");
}

/// The login in `admin`, the kubernetes and KV mounts in its child `admin/team`.
fn split_namespaces(config_capabilities: &[&str]) -> (Harness, [(&'static str, &'static str); 2]) {
    let mut seed = Seed::new("dev", VIP);
    seed.jwt_namespace = "admin".into();
    seed.kubernetes_namespace = "admin/team".into();
    seed.kv_namespace = "admin/team".into();
    seed.config_capabilities = config_capabilities.iter().map(|c| c.to_string()).collect();
    let inputs = [
        ("vault-namespace-jwt", "admin"),
        ("vault-namespace", "admin/team"),
    ];
    (harness_with(seed, ServerOptions::default()), inputs)
}

#[test]
fn a_policy_fix_is_run_where_the_token_lives_and_names_the_path_from_there() {
    let (h, ns) = split_namespaces(&["read"]);
    let o = h.run(&ns, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    // The policy lives in `admin`, the token's namespace; the config in `admin/team`.
    assert!(
        text.contains(
            r#"path "team/auth/dev-kubernetes/config" { capabilities = ["read", "update"] }"#
        ),
        "{text}"
    );
    let pasted = paste_hint(&h, text);
    assert!(
        pasted.starts_with("vault policy read -namespace=admin dev-handshake > "),
        "{pasted}"
    );
    assert!(
        pasted.contains("vault policy write -namespace=admin dev-handshake"),
        "{pasted}"
    );
    assert_ok(&h.run(&ns, &[]), "changed");
}

#[test]
fn fixes_for_mounts_in_a_namespace_act_in_that_namespace_when_pasted() {
    let (h, ns) = split_namespaces(&["read", "update"]);
    h.server
        .with_vault(|v| v.disable_mount("admin/team", "auth/dev-kubernetes"));
    let o = h.run(&ns, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let pasted = paste_hint(&h, o.output("error-message"));
    assert_eq!(
        pasted,
        "vault auth enable -namespace=admin/team -path=dev-kubernetes kubernetes"
    );
    assert_ok(&h.run(&ns, &[]), "changed");
    // A VIP secret the policy does not cover, then missing: both fixes act where they must.
    let inputs = [ns[0], ns[1], ("vip-secret", "api")];
    let o = h.run(&inputs, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains(r#"path "team/kv/dev/data/api""#), "{text}");
    let pasted = paste_hint(&h, text);
    assert!(
        pasted.starts_with("vault policy read -namespace=admin "),
        "{pasted}"
    );
    let o = h.run(&inputs, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let pasted = paste_hint_after(&h, o.output("error-message"), &format!("VIP={VIP}; "));
    assert_eq!(
        pasted,
        "vault kv put -namespace=admin/team -mount=kv/dev api vip=\"$VIP\""
    );
    assert_ok(&h.run(&inputs, &[]), "unchanged");
}

#[test]
fn a_kv_v1_mount_whose_policy_grants_the_v1_path_is_read_without_more_grants() {
    let h = harness();
    remount_vip_kv(&h, "kv/dev", json!({"type": "kv"}));
    write_as_root(&h, "kv/dev/ip", json!({"vip": VIP}));
    // The operator granted the path a v1 mount keeps the secret at, not the v2 one.
    edit_ci_policy(&h, |text| text.replace("kv/dev/data/ip", "kv/dev/ip"));
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    let refused_first = o
        .requests
        .iter()
        .any(|r| r.path == "kv/dev/data/ip" && r.status == 403);
    assert!(
        refused_first,
        "the v2 path is refused, then the mount is asked"
    );
}
