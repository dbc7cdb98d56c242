//! The trust path against a kube-apiserver stand-in at the VIP: the probe before the write, the
//! login proof after it, each staged cause named with its fix, and what Vault holds afterwards.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use common::*;
use vault_k8s_handshake::devserver::kube::{
    KubeApiServer, KubeOptions, San, Validity, API_AUDIENCES,
};
use vault_k8s_handshake::devserver::vault::K8sConfig;
use vault_k8s_handshake::devserver::{Fault, FaultKind, Interleave};

const ESO: &str = "external-secrets";

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

/// The dev Vault seeded with the VIP, and a cluster listening on it whose CA is the file.
fn cluster(options: KubeOptions) -> (Harness, KubeApiServer) {
    let kube = KubeApiServer::start(options).unwrap();
    let mut h = harness();
    h.ca_pem = kube.ca_pem();
    std::fs::write(h.workspace.join("k8s-ca.crt"), &h.ca_pem).unwrap();
    (h, kube)
}

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
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
fn missing_auth_delegator_on_a_first_write_is_named_and_the_config_stays() {
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
    let (h, kube) = cluster(KubeOptions::at(vip()));
    let port_value = port(&kube);
    assert_ok(&h.run(&[("vip-port", port_value.as_str())], &[]), "changed");
    let before = stored(&h);
    // A rotation bundle: the cluster CA plus a new one; the TLS path still verifies.
    let now = time::OffsetDateTime::now_utc();
    let next = vault_k8s_handshake::devserver::cluster::rke2_ca("rke2-server", now).unwrap();
    std::fs::write(
        h.workspace.join("k8s-ca.crt"),
        format!("{}{}", next.pem, kube.ca_pem()),
    )
    .unwrap();
    let o = run_with_proof(&h, &kube, &eso_token(&kube, ESO, ESO), &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_eq!(o.output("result"), "rolled-back");
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
        let (h, kube) = cluster(KubeOptions::at(vip()));
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
fn a_concurrent_writer_between_write_and_rollback_is_not_overwritten() {
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
    let next = vault_k8s_handshake::devserver::cluster::rke2_ca("rke2-server", now).unwrap();
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
            KubeOptions::at(vip()),
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
                ..KubeOptions::at(vip())
            },
            None,
            "IP:10.43.0.1",
            "tls-san",
        ),
        (
            "expired serving certificate",
            KubeOptions {
                serving_validity: Validity::Expired,
                ..KubeOptions::at(vip())
            },
            None,
            "expired",
            "",
        ),
    ];
    for (label, options, upload, message, hint) in rows {
        let (h, kube) = cluster(options);
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
    let (h, _kube) = cluster(KubeOptions::at(vip()));
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
    let (h, kube) = cluster(KubeOptions {
        sans: vec![
            San::Dns("internal-api.corp.example".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
        ],
        ..KubeOptions::at(vip())
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
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
    let (h, kube) = cluster(KubeOptions::at(vip()));
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
