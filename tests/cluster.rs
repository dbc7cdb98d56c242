//! The trust path against a kube-apiserver stand-in at the VIP: the probe before the write, the
//! login proof after it, each staged cause named with its fix, and what Vault holds afterwards.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use vault_k8s_handshake::devserver::kube::{
    KubeApiServer, KubeOptions, San, Validity, API_AUDIENCES,
};
use vault_k8s_handshake::devserver::vault::K8sConfig;
use vault_k8s_handshake::devserver::{Fault, FaultKind, Interleave, ServerOptions};

const ESO: &str = "external-secrets";

fn port(kube: &KubeApiServer) -> String {
    kube.addr().port().to_string()
}

fn eso_token(kube: &KubeApiServer, namespace: &str, sa: &str) -> String {
    kube.issue_token(namespace, sa, &API_AUDIENCES, 600)
}

/// Runs with the VIP's port and a proof token.
fn run_with_proof(h: &Harness, kube: &KubeApiServer, jwt: &str, extra: &[(&str, &str)]) -> Outcome {
    let port = port(kube);
    let mut inputs = vec![
        ("vip-port", port.as_str()),
        ("proof-jwt", jwt),
        ("proof-window-seconds", "1"),
    ];
    inputs.extend_from_slice(extra);
    h.run(&inputs, &[])
}

fn stored(h: &Harness) -> K8sConfig {
    h.stored("", "dev-kubernetes").expect("a config is stored")
}

#[test]
fn the_proof_logs_in_as_eso_and_both_tokens_are_revoked() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[]);
    assert_ok(&o, "changed");
    assert_eq!(o.output("verification"), "proven");
    assert!(o.summary.contains("✅ **dev**"), "{}", o.summary);
    assert!(o.summary.contains("logged in at"), "{}", o.summary);
    assert!(
        o.summary.contains("dev-external-secrets-policy"),
        "{}",
        o.summary
    );
    assert!(
        o.summary.contains("signed by"),
        "the probe verified the chain: {}",
        o.summary
    );
    assert_eq!(
        h.live_tokens(),
        0,
        "the action's and the proof's tokens are revoked"
    );
    let reviews = kube.reviews();
    assert_eq!(reviews.len(), 1, "Vault's TokenReview only: {reviews:?}");
    assert_eq!(reviews[0].bearer, "external-secrets/external-secrets");
}

#[test]
fn a_vault_that_serves_one_connection_at_a_time_sees_the_proven_run_through() {
    // A single-threaded HTTP/1.1 stand-in that also serves the OIDC token: the proof's login
    // goes to Vault with other client settings than the action's own requests, and every
    // switch closes the idle connection before a new one is opened.
    let (h, kube) = harness_on_cluster_serving(
        KubeOptions::at(vip_ip()),
        ServerOptions {
            one_connection_at_a_time: true,
            ..ServerOptions::default()
        },
    );
    kube.bind_auth_delegator(ESO, ESO);
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[]);
    assert_ok(&o, "changed");
    assert_eq!(o.output("verification"), "proven");
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn missing_auth_delegator_on_a_first_write_is_named_and_the_config_stays() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_eq!(o.output("result"), "failed");
    let message = o.output("error-message");
    assert!(message.contains("may not create TokenReviews"), "{message}");
    assert!(
        message.contains("cannot create resource"),
        "Kubernetes' own words: {message}"
    );
    assert!(message.contains("--clusterrole=system:auth-delegator --serviceaccount=external-secrets:external-secrets"), "{message}");
    // No rollback is possible on a first write, and the run says so.
    assert_eq!(
        stored(&h).kubernetes_host,
        format!("https://{VIP}:{}", port(&kube))
    );
    assert!(o.summary.contains("first one"), "{}", o.summary);
    assert_eq!(o.output("changed"), "true");
    assert!(h.server.with_vault(|v| v
        .debug_log()
        .iter()
        .any(|l| l.contains("cannot create resource"))));
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_refused_proof_the_runner_cannot_see_lists_the_causes_and_blames_no_network() {
    // ESO lacks `system:auth-delegator`, and the runner does not look (`probe: off`).
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(message.contains("could not see why"), "{message}");
    assert!(message.contains("the probe was off"), "{message}");
    assert!(
        !message.contains("TLS explains") && !message.contains("could not reach"),
        "{message}"
    );
    // The causes in order, each with its fix, and where Vault logs the real reason.
    let delegator = message.find("system:auth-delegator").expect("cause 1");
    let token = message
        .find("kubectl create token external-secrets -n external-secrets")
        .expect("cause 2");
    let reach = message.find("Vault itself cannot").expect("cause 3");
    assert!(delegator < token && token < reach, "{message}");
    assert!(
        message.contains("vault monitor -log-level=debug"),
        "{message}"
    );
    assert_eq!(o.output("verification"), "unverified");
}

#[test]
fn the_proof_token_travels_as_a_file_in_the_same_job_and_is_removed() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    let port = port(&kube);
    // What the bootstrap step leaves: `kubectl create token … > eso.jwt` beside the CA.
    std::fs::write(
        h.workspace.join("eso.jwt"),
        format!("{}\n", eso_token(&kube, ESO, ESO)),
    )
    .unwrap();
    let o = h.run(
        &[("vip-port", port.as_str()), ("proof-jwt-file", "eso.jwt")],
        &[],
    );
    assert_ok(&o, "changed");
    assert_eq!(o.output("verification"), "proven");
    assert!(
        !h.workspace.join("eso.jwt").exists(),
        "the token file is removed after reading"
    );
    assert!(
        o.summary.contains("was removed after reading"),
        "{}",
        o.summary
    );
    // Kept when asked.
    std::fs::write(h.workspace.join("eso.jwt"), eso_token(&kube, ESO, ESO)).unwrap();
    let o = h.run(
        &[
            ("vip-port", port.as_str()),
            ("proof-jwt-file", "eso.jwt"),
            ("keep-proof-jwt-file", "true"),
        ],
        &[],
    );
    assert_ok(&o, "unchanged");
    assert!(h.workspace.join("eso.jwt").exists());
    // Confined like `ca-file`, and exclusive with `proof-jwt`.
    let outside = h.root.join("outside.jwt");
    std::fs::write(&outside, eso_token(&kube, ESO, ESO)).unwrap();
    let o = h.run(&[("proof-jwt-file", outside.to_str().unwrap())], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.output("error-message").contains("outside the workspace"),
        "{}",
        o.output("error-message")
    );
    assert!(outside.exists(), "a refused file is not touched");
    let o = h.run(
        &[("proof-jwt-file", "eso.jwt"), ("proof-jwt", "x.y.z")],
        &[],
    );
    assert_eq!(o.code, 2);
    assert!(o
        .output("error-message")
        .contains("`proof-jwt` and `proof-jwt-file`"));
}

#[test]
fn a_failed_proof_after_a_change_restores_the_previous_config() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let port_value = port(&kube);
    assert_ok(&h.run(&[("vip-port", port_value.as_str())], &[]), "changed");
    let before = stored(&h);
    // A rotation bundle: the cluster CA plus a new one; the TLS path still verifies.
    let now = time::OffsetDateTime::now_utc();
    // Made a day earlier, so its name (`rke2-server-ca@<unix time>`) differs from the cluster
    // CA's, as a real rotation's does: certificates without key identifiers are matched to
    // their issuer by name, and OpenSSL (the Node driver) tries only the first of two CAs
    // that share one.
    let next = vault_k8s_handshake::devserver::cluster::rke2_ca(
        "rke2-server",
        now - time::Duration::days(1),
    )
    .unwrap();
    std::fs::write(
        h.workspace.join("k8s-ca.crt"),
        format!("{}{}", next.pem, kube.ca_pem()),
    )
    .unwrap();
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_eq!(o.output("result"), "rolled-back", "{}", o.summary);
    assert_eq!(o.output("changed"), "false");
    assert_eq!(stored(&h), before, "the previous config is back");
    assert!(
        o.summary.contains("the previous config is restored"),
        "{}",
        o.summary
    );
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn vault_named_causes_come_with_the_role_fix() {
    let rows = [
        (
            "other-sa",
            ESO,
            "service account name not authorized",
            "bound_service_account_names",
        ),
        (
            ESO,
            "kube-system",
            "namespace not authorized",
            "bound_service_account_namespaces",
        ),
    ];
    for (sa, ns, message, field) in rows {
        let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
        kube.bind_auth_delegator(ns, sa);
        let jwt = eso_token(&kube, ns, sa);
        let o = run_with_proof(&h, &kube, &jwt, &[]);
        assert_eq!(o.code, 2, "{}", o.stdout);
        let text = o.output("error-message");
        assert!(text.contains(message) && text.contains(field), "{text}");
        assert!(
            kube.reviews().is_empty(),
            "Vault refused before any TokenReview"
        );
        // The fix, pasted as printed, binds the missing value and keeps the ones bound before.
        paste_hint(&h, text);
        let root = h.server.root_token();
        let bound = h.server.call(
            "GET",
            "auth/dev-kubernetes/role/external-secrets",
            "",
            Some(&root),
            None,
        );
        let role = bound.body.expect("the role reads back");
        let list: Vec<&str> = role["data"][field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let added = if field.ends_with("names") { sa } else { ns };
        assert!(
            list.contains(&added) && list.contains(&ESO),
            "{field}: {list:?}"
        );
        // Run again: the cause is gone and the login is proven.
        let o = run_with_proof(&h, &kube, &jwt, &[]);
        assert_ok(&o, "unchanged");
        assert_eq!(o.output("verification"), "proven", "{}", o.stdout);
    }
}

#[test]
fn the_role_fixes_keep_the_namespace_selector_and_add_no_empty_entry() {
    let selector = r#"{"matchLabels":{"team":"platform"}}"#;
    let role_path = "auth/dev-kubernetes/role/external-secrets";
    // (the role's namespaces before, the ServiceAccount that logs in, the list the fix extends)
    let rows = [
        // A role with both: the names fix must not drop the selector.
        (
            json!([ESO]),
            ("other-sa", ESO),
            "bound_service_account_names",
        ),
        // A role bound by its selector alone: the namespaces list starts empty.
        (
            json!([]),
            (ESO, "kube-system"),
            "bound_service_account_namespaces",
        ),
    ];
    for (namespaces, (sa, ns), field) in rows {
        let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
        let root = h.server.root_token();
        let mut role = h
            .server
            .call("GET", role_path, "", Some(&root), None)
            .body
            .expect("the role reads")["data"]
            .clone();
        role["bound_service_account_namespaces"] = namespaces;
        role["bound_service_account_namespace_selector"] = json!(selector);
        let written = h
            .server
            .call("POST", role_path, "", Some(&root), Some(role));
        assert!(written.status < 300, "{written:?}");
        kube.bind_auth_delegator(ns, sa);
        let jwt = eso_token(&kube, ns, sa);
        let o = run_with_proof(&h, &kube, &jwt, &[]);
        assert_eq!(o.code, 2, "{}", o.stdout);
        let text = o.output("error-message");
        assert!(text.contains(field), "{text}");
        paste_hint(&h, text);
        let role = h
            .server
            .call("GET", role_path, "", Some(&root), None)
            .body
            .expect("the role reads")["data"]
            .clone();
        assert_eq!(
            role["bound_service_account_namespace_selector"],
            json!(selector),
            "{field}: the selector stays"
        );
        let added = if field.ends_with("names") { sa } else { ns };
        let list: Vec<&str> = role[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(list.contains(&added), "{field}: {list:?}");
        assert!(!list.contains(&""), "{field}: no empty entry: {list:?}");
        let o = run_with_proof(&h, &kube, &jwt, &[]);
        assert_ok(&o, "unchanged");
        assert_eq!(o.output("verification"), "proven", "{}", o.stdout);
    }
}

#[test]
fn a_concurrent_writer_between_write_and_rollback_is_not_overwritten() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let port_value = port(&kube);
    assert_ok(&h.run(&[("vip-port", port_value.as_str())], &[]), "changed");
    let foreign = K8sConfig {
        kubernetes_host: "https://127.0.0.99:6443".into(),
        ..stored(&h)
    };
    let theirs = foreign.clone();
    h.server.inject(Fault::new(
        "/v1/auth/dev-kubernetes/login",
        FaultKind::Interleave(Interleave(Arc::new(move |v| {
            v.set_k8s_config("", "dev-kubernetes", theirs.clone());
        }))),
        1,
    ));
    let now = time::OffsetDateTime::now_utc();
    // Made a day earlier, so its name (`rke2-server-ca@<unix time>`) differs from the cluster
    // CA's, as a real rotation's does: certificates without key identifiers are matched to
    // their issuer by name, and OpenSSL (the Node driver) tries only the first of two CAs
    // that share one.
    let next = vault_k8s_handshake::devserver::cluster::rke2_ca(
        "rke2-server",
        now - time::Duration::days(1),
    )
    .unwrap();
    std::fs::write(
        h.workspace.join("k8s-ca.crt"),
        format!("{}{}", next.pem, kube.ca_pem()),
    )
    .unwrap();
    let o = run_with_proof(&h, &kube, &eso_token(&kube, "elsewhere", ESO), &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_eq!(o.output("result"), "failed");
    assert_eq!(
        stored(&h),
        foreign,
        "the other writer's config is left in place"
    );
    assert!(o.summary.contains("another writer"), "{}", o.summary);
}

#[test]
fn the_probe_stops_a_write_to_a_host_vault_could_not_trust() {
    let now = time::OffsetDateTime::now_utc();
    let other_ca = vault_k8s_handshake::devserver::cluster::rke2_ca("rke2-server", now).unwrap();
    let rows: Vec<(&str, KubeOptions, Option<String>, &str, &str)> = vec![
        (
            "wrong CA",
            KubeOptions::at(vip_ip()),
            Some(other_ca.pem.clone()),
            "signed by a different CA",
            "another key",
        ),
        (
            "VIP not in SANs",
            KubeOptions {
                sans: vec![
                    San::Dns("kubernetes".into()),
                    San::Ip("127.0.0.1".parse().unwrap()),
                    San::Ip("10.43.0.1".parse().unwrap()),
                ],
                ..KubeOptions::at(vip_ip())
            },
            None,
            "IP:10.43.0.1",
            "tls-san",
        ),
        (
            "expired serving certificate",
            KubeOptions {
                serving_validity: Validity::Expired,
                ..KubeOptions::at(vip_ip())
            },
            None,
            "expired",
            "",
        ),
    ];
    for (label, options, upload, message, hint) in rows {
        let (h, kube) = harness_on_cluster(options);
        if let Some(pem) = upload {
            std::fs::write(h.workspace.join("k8s-ca.crt"), pem).unwrap();
        }
        let port_value = port(&kube);
        let o = h.run(&[("vip-port", port_value.as_str())], &[]);
        assert_eq!(o.code, 2, "{label}: {}", o.stdout);
        let text = o.output("error-message");
        assert!(text.contains(message), "{label}: {text}");
        assert!(text.contains(hint), "{label}: {text}");
        assert!(
            !o.wrote_config("dev-kubernetes"),
            "{label}: the probe runs before any write"
        );
        assert!(h.stored("", "dev-kubernetes").is_none(), "{label}");
        assert_eq!(h.live_tokens(), 0, "{label}");
    }
}

#[test]
fn an_unreachable_host_warns_in_auto_and_fails_in_require() {
    let h = harness();
    // A port nobody listens on at the VIP.
    let free = std::net::TcpListener::bind((VIP, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let o = h.run(&[("vip-port", free.as_str())], &[]);
    assert_ok(&o, "changed");
    assert!(o.stdout.contains("::warning::probe of"), "{}", o.stdout);
    // Nothing about the trust path was checked, and the verdict says so and what to add.
    assert_eq!(o.output("verification"), "unverified");
    assert!(
        o.summary.contains("could not reach the API server"),
        "{}",
        o.summary
    );
    assert!(!o.summary.contains("✅ **dev**"), "{}", o.summary);
    // `probe: off` is said as such, never as a failure to reach.
    let h = harness();
    let o = h.run(&[("vip-port", free.as_str()), ("probe", "off")], &[]);
    assert_ok(&o, "changed");
    assert_eq!(o.output("verification"), "unverified");
    assert!(o.summary.contains("probe: off"), "{}", o.summary);
    assert!(!o.summary.contains("could not reach"), "{}", o.summary);
    // A verified probe without a proof: TLS verified, the rest named as unchecked.
    let (h, _kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let o = h.run(&[("vip-port", port(&_kube).as_str())], &[]);
    assert_ok(&o, "changed");
    assert_eq!(o.output("verification"), "tls-verified");
    assert!(o.summary.contains("auth-delegator"), "{}", o.summary);
    let h = harness();
    let o = h.run(&[("vip-port", free.as_str()), ("probe", "require")], &[]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert!(
        o.output("error-message").contains("refused"),
        "{:?}",
        o.outputs
    );
    assert!(h.stored("", "dev-kubernetes").is_none());
}

#[test]
fn on_a_pull_request_the_probe_keeps_internal_names_out_of_the_summary() {
    let (h, kube) = harness_on_cluster(KubeOptions {
        sans: vec![
            San::Dns("internal-api.corp.example".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
        ],
        ..KubeOptions::at(vip_ip())
    });
    let port_value = port(&kube);
    let o = h.run(
        &[("vip-port", port_value.as_str())],
        &[("GITHUB_EVENT_NAME", "pull_request")],
    );
    assert_eq!(o.code, 2, "{}", o.stdout);
    for text in [
        &o.summary,
        &o.stdout,
        &o.output("error-message").to_string(),
    ] {
        assert!(!text.contains("internal-api.corp.example"), "{text}");
    }
}

#[test]
fn an_expired_proof_token_is_refused_before_any_write() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let expired = kube.issue_token(ESO, ESO, &API_AUDIENCES, -600);
    let o = run_with_proof(&h, &kube, &expired, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.output("error-message")
            .contains("input `proof-jwt` expired at"),
        "{:?}",
        o.outputs
    );
    assert!(h.stored("", "dev-kubernetes").is_none());
}

#[test]
fn a_token_the_api_server_no_longer_accepts_is_diagnosed_by_the_actions_own_review() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    let jwt = eso_token(&kube, ESO, ESO);
    kube.delete_service_account(ESO, ESO);
    let o = run_with_proof(&h, &kube, &jwt, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(
        message.contains("does not accept the token of `external-secrets/external-secrets` (401)"),
        "{message}"
    );
    assert!(message.contains("mint a new token"), "{message}");
    assert_eq!(
        kube.reviews().len(),
        2,
        "Vault's review, then the action's own"
    );
}

#[test]
fn a_bare_permission_denied_is_retried_through_the_standby_window() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    // A performance standby that has not seen the new CA yet answers a bare 403 (§3.5).
    h.server.inject(Fault::new(
        "/v1/auth/dev-kubernetes/login",
        FaultKind::Status {
            code: 403,
            retry_after: None,
            errors: vec!["permission denied".into()],
        },
        1,
    ));
    let o = run_with_proof(
        &h,
        &kube,
        &eso_token(&kube, ESO, ESO),
        &[("proof-window-seconds", "20")],
    );
    assert_ok(&o, "changed");
    assert!(o.summary.contains("after 2 attempts"), "{}", o.summary);
    assert_eq!(h.live_tokens(), 0);
}

// ---------------------------------------------------------------------------------------------
// The printed cluster-side fixes, pasted: `kubectl` through tests/hints/kubectl against the
// stand-in's RBAC and TokenRequest APIs, `curl` as the machine's own curl against the VIP.
// ---------------------------------------------------------------------------------------------

/// A kubeconfig as an operator holds it: the stand-in's URL and CA, and a token bound to
/// `cluster-admin`. JSON, which kubectl reads as it reads YAML, so the stand-in needs no YAML.
fn operator_kubeconfig(kube: &KubeApiServer, dir: &std::path::Path) -> String {
    use base64::Engine as _;
    let path = dir.join("kubeconfig.json");
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "rke2", "cluster": {
            "server": kube.url(),
            "certificate-authority-data":
                base64::engine::general_purpose::STANDARD.encode(kube.ca_pem()),
        }}],
        "users": [{"name": "operator", "user": {"token": kube.operator_token()}}],
        "contexts": [{"name": "rke2", "context": {"cluster": "rke2", "user": "operator"}}],
        "current-context": "rke2",
    });
    std::fs::write(&path, config.to_string()).unwrap();
    path.display().to_string()
}

/// Pastes the hint's first command starting with `prefix`, as the operator, in the workspace
/// (where `k8s-ca.crt` is, as in the job that exported it).
fn paste_as_operator(h: &Harness, kube: &KubeApiServer, text: &str, prefix: &str) -> Pasted {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = operator_kubeconfig(kube, dir.path());
    paste_first(
        h,
        text,
        prefix,
        &h.workspace,
        &[("KUBECONFIG", kubeconfig.as_str())],
    )
}

fn assert_pasted(pasted: &Pasted) {
    assert_eq!(
        pasted.code, 0,
        "the pasted fix failed: {}\nstdout: {}\nstderr: {}",
        pasted.command, pasted.stdout, pasted.stderr
    );
}

#[test]
fn the_printed_clusterrolebinding_makes_the_refused_proof_pass() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let jwt = eso_token(&kube, ESO, ESO);
    let o = run_with_proof(&h, &kube, &jwt, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("may not create TokenReviews"), "{text}");
    let pasted = paste_as_operator(&h, &kube, text, "kubectl create clusterrolebinding ");
    assert_pasted(&pasted);
    assert_eq!(
        pasted.command,
        "kubectl create clusterrolebinding external-secrets-auth-delegator \
         --clusterrole=system:auth-delegator --serviceaccount=external-secrets:external-secrets"
    );
    assert_eq!(
        pasted.stdout,
        "clusterrolebinding.rbac.authorization.k8s.io/external-secrets-auth-delegator created\n"
    );
    assert!(kube
        .cluster_role_bindings()
        .contains(&"external-secrets-auth-delegator".to_string()));
    // The cause is gone: the same token now logs in.
    let o = run_with_proof(&h, &kube, &jwt, &[]);
    assert_ok(&o, "unchanged");
    assert_eq!(o.output("verification"), "proven", "{}", o.stdout);
    // Pasted twice, the binding exists: kubectl's own refusal, and nothing changes.
    let again = paste_as_operator(&h, &kube, text, "kubectl create clusterrolebinding ");
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr,
        "error: failed to create clusterrolebinding: clusterrolebindings.rbac.authorization.k8s.io \
         \"external-secrets-auth-delegator\" already exists\n"
    );
    let posts: Vec<u16> = kube
        .reviews()
        .iter()
        .filter(|r| r.path.ends_with("/clusterrolebindings"))
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, [201, 409]);
}

#[test]
fn with_the_probe_off_each_listed_kubectl_fix_works_when_pasted() {
    // ESO lacks `system:auth-delegator` and the runner does not look: cause (1) is the real one.
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let jwt = eso_token(&kube, ESO, ESO);
    let o = run_with_proof(&h, &kube, &jwt, &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let text = o.output("error-message").to_string();
    assert!(text.contains("could not see why"), "{text}");
    assert_pasted(&paste_as_operator(
        &h,
        &kube,
        &text,
        "kubectl create clusterrolebinding ",
    ));
    let o = run_with_proof(&h, &kube, &jwt, &[("probe", "off")]);
    assert_ok(&o, "unchanged");
    assert_eq!(o.output("verification"), "proven", "{}", o.stdout);

    // Cause (2): ESO's ServiceAccount was recreated (a new uid), so its old token is dead.
    kube.delete_service_account(ESO, ESO);
    kube.create_service_account(ESO, ESO);
    let o = run_with_proof(&h, &kube, &jwt, &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let text = o.output("error-message").to_string();
    let minted = paste_as_operator(&h, &kube, &text, "kubectl create token ");
    assert_pasted(&minted);
    assert_eq!(
        minted.command,
        "kubectl create token external-secrets -n external-secrets --duration 10m"
    );
    assert!(
        !minted.stdout.ends_with('\n'),
        "kubectl prints no newline after a token when stdout is not a terminal"
    );
    let fresh = minted.stdout;
    let claims = vault_k8s_handshake::pure::proof::jwt_claims(&fresh).expect("a JWT");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600,
        "--duration 10m"
    );
    let o = run_with_proof(&h, &kube, &fresh, &[("probe", "off")]);
    assert_ok(&o, "unchanged");
    assert_eq!(o.output("verification"), "proven", "{}", o.stdout);
}

#[test]
fn a_token_of_a_recreated_service_account_is_replaced_by_the_printed_create_token() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    let jwt = eso_token(&kube, ESO, ESO);
    kube.delete_service_account(ESO, ESO);
    kube.create_service_account(ESO, ESO);
    replaced_by_the_printed_create_token(&h, &kube, &jwt, "(401)", "unchanged");
}

/// A proof with `jwt` fails saying `cause`; the printed `kubectl create token`, pasted, mints a
/// token whose proof passes (the rerun's result is `result`).
fn replaced_by_the_printed_create_token(
    h: &Harness,
    kube: &KubeApiServer,
    jwt: &str,
    cause: &str,
    result: &str,
) {
    let o = run_with_proof(h, kube, jwt, &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains(cause), "{text}");
    let minted = paste_as_operator(h, kube, text, "kubectl create token ");
    assert_pasted(&minted);
    let o = run_with_proof(h, kube, &minted.stdout, &[]);
    assert_ok(&o, result);
    assert_eq!(o.output("verification"), "proven", "{}", o.stdout);
}

#[test]
fn an_expired_proof_token_is_replaced_by_the_printed_create_token() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    let expired = kube.issue_token(ESO, ESO, &API_AUDIENCES, -600);
    replaced_by_the_printed_create_token(&h, &kube, &expired, "expired at", "changed");
}

#[test]
fn the_printed_curl_shows_whether_the_api_server_is_reachable_and_trusted() {
    // Healthy TLS path, refused proof (no binding), probe off: curl reaches the API server and
    // verifies its certificate with the uploaded CA; the answer is the API server's own
    // (401 Unauthorized: RKE2 runs kube-apiserver with anonymous-auth=false), so cause (3) is
    // ruled out.
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let text = o.output("error-message").to_string();
    let curl = paste_as_operator(&h, &kube, &text, "curl ");
    assert_eq!(
        curl.command,
        format!(
            "curl --cacert k8s-ca.crt https://{VIP}:{}/version",
            port(&kube)
        )
    );
    assert_eq!(curl.code, 0, "{}", curl.stderr);
    let answer: serde_json::Value = serde_json::from_str(&curl.stdout).unwrap();
    assert_eq!(answer["kind"], "Status");
    assert_eq!(answer["code"], 401);
    let reached = kube.reviews().last().cloned().unwrap();
    assert_eq!(
        (reached.method.as_str(), reached.path.as_str()),
        ("GET", "/version")
    );

    // The VIP missing from the serving certificate's SANs, probe off: Vault's TokenReview
    // fails TLS, the login is a bare `permission denied`, and the same curl names the cause.
    let (h, kube) = harness_on_cluster(KubeOptions {
        sans: vec![
            San::Dns("kubernetes".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
        ],
        ..KubeOptions::at(vip_ip())
    });
    kube.bind_auth_delegator(ESO, ESO);
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let text = o.output("error-message").to_string();
    assert!(text.contains("does not trust its certificate"), "{text}");
    let curl = paste_as_operator(&h, &kube, &text, "curl ");
    assert_eq!(
        curl.code, 60,
        "curl's CURLE_PEER_FAILED_VERIFICATION: {}",
        curl.stderr
    );
    assert!(
        curl.stderr
            .contains("no alternative certificate subject name matches target host name"),
        "{}",
        curl.stderr
    );
    assert!(curl.stdout.is_empty());

    // The uploaded CA is the one of the cluster's previous bootstrap (a day older, so another
    // `rke2-server-ca@<seconds>` name): curl refuses the chain the server sends (serving
    // certificate and its own CA, which the uploaded one does not vouch for).
    let before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let other = vault_k8s_handshake::devserver::cluster::rke2_ca("rke2-server", before).unwrap();
    std::fs::write(h.workspace.join("k8s-ca.crt"), other.pem).unwrap();
    let curl = paste_as_operator(&h, &kube, &text, "curl ");
    assert_eq!(curl.code, 60, "{}", curl.stderr);
    assert!(
        curl.stderr
            .contains("SSL certificate problem: self-signed certificate in certificate chain"),
        "{}",
        curl.stderr
    );
}

#[test]
fn the_printed_vault_monitor_shows_the_reason_vault_hides() {
    use std::io::BufRead as _;
    // A bare `permission denied` the runner cannot explain (no binding, probe off).
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    let jwt = eso_token(&kube, ESO, ESO);
    let o = run_with_proof(&h, &kube, &jwt, &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let text = o.output("error-message").to_string();
    let command = hint_commands_of(&text, "vault monitor")
        .into_iter()
        .next()
        .expect("the hint names vault monitor");
    assert_eq!(command, "vault monitor -log-level=debug");
    // As the hint says: the monitor runs while the login is retried.
    let (mut monitor, _home) = spawn_pasted(&h, &command, &h.workspace);
    let limit = std::time::Duration::from_secs(120);
    assert!(
        h.server.wait_for_monitors(1, limit),
        "vault monitor never attached"
    );
    let lines = {
        let stdout = monitor.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let o = run_with_proof(&h, &kube, &jwt, &[("probe", "off")]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    // The first line the login logged (a failure deadline, not a wait for time to pass).
    let line = lines
        .recv_timeout(limit)
        .expect("vault monitor printed the login's line")
        .unwrap();
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    assert!(
        line.contains(" [DEBUG] auth.kubernetes.auth_kubernetes_"),
        "{line}"
    );
    // `… login unauthorized: err="<the API server's answer, quoted>"`: the reason Vault hid
    // from the client, cause (1) of the hint in Kubernetes' words.
    let (_, quoted) = line
        .split_once(": login unauthorized: err=")
        .unwrap_or_else(|| panic!("{line}"));
    let reason: String = serde_json::from_str(quoted).expect("one quoted value");
    let status: serde_json::Value = serde_json::from_str(&reason).unwrap();
    assert_eq!(status["code"], 403);
    assert_eq!(
        status["message"],
        "tokenreviews.authentication.k8s.io is forbidden: User \
         \"system:serviceaccount:external-secrets:external-secrets\" cannot create resource \
         \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope"
    );
    let asked = h
        .server
        .requests()
        .into_iter()
        .find(|r| r.path == "sys/monitor")
        .expect("the monitor request");
    assert!(asked.contract.is_ok(), "{:?}", asked.contract);
    assert_eq!(asked.status, 200);
}

#[test]
fn a_token_vault_calls_expired_is_replaced_by_the_printed_create_token() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    kube.bind_auth_delegator(ESO, ESO);
    // The token expired between the action's own check and Vault's login: Vault's answer.
    h.server.inject(Fault::new(
        "/v1/auth/dev-kubernetes/login",
        FaultKind::Status {
            code: 403,
            retry_after: None,
            errors: vec!["token is expired".into()],
        },
        1,
    ));
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    let text = o.output("error-message");
    assert!(text.contains("token is expired"), "{text}");
    let minted = paste_as_operator(&h, &kube, text, "kubectl create token ");
    assert_pasted(&minted);
    assert_eq!(
        minted.command,
        "kubectl create token external-secrets -n external-secrets --duration 10m"
    );
    let o = run_with_proof(&h, &kube, &minted.stdout, &[]);
    assert_ok(&o, "unchanged");
    assert_eq!(o.output("verification"), "proven", "{}", o.stdout);
}
