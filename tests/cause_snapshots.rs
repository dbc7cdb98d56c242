//! One staged run per cause a person meets, its step summary held as a snapshot: each verdict
//! must name its cause. The runs are real (`run` against the dev server and the kube-apiserver
//! stand-in, with the README's inputs); only what changes from run to run is normalised (ports,
//! fingerprints, dates, tokens, temp paths). The printed fixes are pasted by tests/hints.rs and
//! tests/cluster.rs; this file holds what the person reads.
//!
//! Review every change to a snapshot; `UPDATE_SNAPSHOTS=1 cargo test --test cause_snapshots`
//! rewrites them (never in CI). With `VKH_DRIVER=node` the same snapshots hold the Node action's
//! summaries: both drivers run the same core.

mod common;

use std::path::Path;

use base64::Engine as _;
use common::*;
use vault_k8s_handshake::devserver::kube::{
    KubeApiServer, KubeOptions, San, Validity, API_AUDIENCES,
};
use vault_k8s_handshake::devserver::seed::Seed;
use vault_k8s_handshake::devserver::ServerOptions;

const ESO: &str = "external-secrets";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// Replaces what differs between runs: ports, fingerprints, dates, serials in CA names, tokens
/// and temp paths.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 40)].iter().collect();
        // 64 hex digits: a SHA-256 fingerprint.
        let hex = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if hex == 64 && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            out.push_str("<sha256>");
            i += 64;
            continue;
        }
        // `127.0.0.x:<port>`: the ephemeral port of a listener the test started (5 digits).
        if rest.starts_with("127.0.0.") {
            let head: String = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == '.')
                .collect();
            out.push_str(&head);
            i += head.chars().count();
            if chars.get(i) == Some(&':') {
                let port = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if port >= 5 {
                    out.push_str(":<port>");
                    i += 1 + port;
                }
            }
            continue;
        }
        // `YYYY-MM-DDTHH:MM:SSZ`: certificate dates and the start time.
        if chars.len() >= i + 20
            && chars[i..i + 4].iter().all(char::is_ascii_digit)
            && chars[i + 4] == '-'
            && chars[i + 10] == 'T'
            && chars[i + 19] == 'Z'
        {
            out.push_str("<time>");
            i += 20;
            continue;
        }
        // RKE2 CA names carry the creation time: `rke2-server-ca@1796519126` (`&#64;` in
        // Markdown).
        if let Some(at) = ["-ca@", "-ca&#64;"].iter().find(|p| rest.starts_with(**p)) {
            out.push_str(at);
            i += at.chars().count();
            let digits = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            out.push_str("<unix>");
            i += digits;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    // Paths of the test's temp folders.
    let mut text = out;
    while let Some(start) = text.find("/tmp/.tmp") {
        let end = text[start..]
            .find(['`', ' ', '\n', '<'])
            .map_or(text.len(), |e| start + e);
        let path = &text[start..end];
        let tail = path.rsplit('/').next().unwrap_or_default().to_string();
        text.replace_range(start..end, &format!("<tmp>/{tail}"));
    }
    text
}

/// The summary's text without Markdown's code tags and escapes, for finding phrases.
fn plain(markdown: &str) -> String {
    let mut text = markdown
        .replace("<code>", "`")
        .replace("</code>", "`")
        .replace("&#64;", "@")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    for c in ['_', '[', ']', '(', ')', '#', '|', '*', '<', '>', '`', '\\'] {
        text = text.replace(&format!("\\{c}"), &c.to_string());
    }
    text
}

fn check(name: &str, o: &Outcome, names_the_cause: &[&str]) {
    let summary = normalise(&o.summary);
    let text = plain(&summary);
    for phrase in names_the_cause {
        assert!(
            text.contains(phrase),
            "{name}: the verdict does not name its cause ({phrase:?}):\n{summary}"
        );
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/causes")
        .join(format!("{name}.md"));
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &summary).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}; run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert!(
        summary == want,
        "{name}: the summary differs from {}:\n--- got\n{summary}\n--- want\n{want}",
        path.display()
    );
}

fn port(kube: &KubeApiServer) -> String {
    kube.addr().port().to_string()
}

#[test]
fn wrong_ca() {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    std::fs::write(h.workspace.join("k8s-ca.crt"), fixture("kubeadm-ca.crt")).unwrap();
    let o = h.run(&[("vip-port", &port(&kube)), ("probe", "require")], &[]);
    assert_ne!(o.code, 0);
    check(
        "wrong-ca",
        &o,
        &["not among the given CAs", "server-ca.crt"],
    );
}

#[test]
fn vip_missing_from_the_sans() {
    let (h, kube) = harness_on_cluster(KubeOptions {
        sans: vec![
            San::Dns("kubernetes".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
        ],
        ..KubeOptions::at(vip_ip())
    });
    let o = h.run(&[("vip-port", &port(&kube)), ("probe", "require")], &[]);
    assert_ne!(o.code, 0);
    check(
        "vip-missing-from-sans",
        &o,
        &["not valid for `127.0.0.10`", "tls-san"],
    );
}

#[test]
fn expired_serving_certificate() {
    let (h, kube) = harness_on_cluster(KubeOptions {
        serving_validity: Validity::Expired,
        ..KubeOptions::at(vip_ip())
    });
    let o = h.run(&[("vip-port", &port(&kube)), ("probe", "require")], &[]);
    assert_ne!(o.code, 0);
    check("expired-serving-certificate", &o, &["expired"]);
}

#[test]
fn api_server_unreachable_from_the_runner() {
    let h = harness();
    // Nothing listens on the VIP in this harness.
    let o = h.run(&[("probe", "require")], &[]);
    assert_ne!(o.code, 0);
    check("api-server-unreachable", &o, &["refused the connection"]);
}

#[test]
fn loopback_host_without_the_opt_in() {
    let h = harness();
    let o = h.run(&[("allow-loopback-host", "false")], &[]);
    assert_eq!(o.code, 2);
    check("loopback-host", &o, &["loopback", "allow-loopback-host"]);
}

#[test]
fn host_without_a_scheme() {
    let h = harness();
    let o = h.run(&[("kubernetes-host", "127.0.0.10:6443")], &[]);
    assert_eq!(o.code, 2);
    check("host-without-scheme", &o, &["kubernetes-host", "https://"]);
}

#[test]
fn ca_encoded_twice() {
    let h = harness();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let twice = b64(b64(h.ca_pem.as_bytes()).as_bytes());
    let o = h.run(&[("ca-file", ""), ("ca-data", &twice)], &[]);
    assert_eq!(o.code, 2);
    check("ca-encoded-twice", &o, &["decode"]);
}

#[test]
fn a_leaf_instead_of_the_ca() {
    let h = harness();
    // The serving certificate alone, without the CA that follows it in the fixture.
    let pem = String::from_utf8(fixture("serving-kube-apiserver.crt")).unwrap();
    let end = "-----END CERTIFICATE-----";
    let leaf = &pem[..pem.find(end).unwrap() + end.len()];
    std::fs::write(h.workspace.join("k8s-ca.crt"), format!("{leaf}\n")).unwrap();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2);
    check("leaf-instead-of-ca", &o, &["not a CA"]);
}

#[test]
fn a_private_key_in_the_ca_file() {
    let h = harness();
    std::fs::write(h.workspace.join("k8s-ca.crt"), fixture("ca-with-key.pem")).unwrap();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2);
    check("private-key-in-ca-file", &o, &["private key"]);
}

#[test]
fn an_expired_ca() {
    let h = harness();
    std::fs::write(
        h.workspace.join("k8s-ca.crt"),
        fixture("short-lived-ca.crt"),
    )
    .unwrap();
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2);
    check("expired-ca", &o, &["expired"]);
}

/// A proof for `namespace/sa`, on a cluster where ESO's ServiceAccount holds the binding
/// when `bound`.
fn proof(namespace: &str, sa: &str, bound: bool) -> Outcome {
    let (h, kube) = harness_on_cluster(KubeOptions::at(vip_ip()));
    if bound {
        kube.bind_auth_delegator(namespace, sa);
    }
    let jwt = kube.issue_token(namespace, sa, &API_AUDIENCES, 600);
    h.run(
        &[
            ("vip-port", &port(&kube)),
            ("proof-jwt", &jwt),
            ("proof-window-seconds", "1"),
        ],
        &[],
    )
}

#[test]
fn eso_without_auth_delegator() {
    let o = proof(ESO, ESO, false);
    assert_ne!(o.code, 0);
    check(
        "eso-without-auth-delegator",
        &o,
        &["system:auth-delegator", "clusterrolebinding"],
    );
}

#[test]
fn service_account_name_not_bound() {
    let o = proof(ESO, "other-sa", true);
    assert_ne!(o.code, 0);
    check(
        "service-account-not-bound",
        &o,
        &["bound_service_account_names"],
    );
}

#[test]
fn namespace_not_bound() {
    let o = proof("other-ns", ESO, true);
    assert_ne!(o.code, 0);
    check(
        "namespace-not-bound",
        &o,
        &["bound_service_account_namespaces"],
    );
}

#[test]
fn auth_mount_missing() {
    let h = harness();
    h.server
        .with_vault(|v| v.disable_mount("", "auth/dev-kubernetes"));
    let o = h.run(&[], &[]);
    assert_ne!(o.code, 0);
    check("auth-mount-missing", &o, &["vault auth enable"]);
}

#[test]
fn ci_policy_without_update() {
    let mut seed = Seed::new("dev", VIP);
    seed.config_capabilities = vec!["read".into(), "create".into()];
    let h = harness_with(seed, ServerOptions::default());
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2);
    check("policy-without-update", &o, &["update"]);
}

#[test]
fn jwt_audience_mismatch() {
    let h = harness();
    let o = h.run(&[("jwt-audience", "https://vault.example.com")], &[]);
    assert_eq!(o.code, 2);
    check(
        "jwt-audience-mismatch",
        &o,
        &["audience", "bound_audiences"],
    );
}

#[test]
fn missing_id_token_permission() {
    let h = harness();
    let o = h.run(
        &[],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", ""),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""),
        ],
    );
    assert_eq!(o.code, 2);
    check("missing-id-token", &o, &["id-token: write"]);
}

#[test]
fn ca_expiring_soon() {
    // A CA made 3,640 days ago (RKE2 gives it 3,650): it expires in under ten days. The run
    // passes and the verdict warns.
    let now = time::OffsetDateTime::now_utc();
    let ca = vault_k8s_handshake::devserver::cluster::rke2_ca(
        "rke2-server",
        now - time::Duration::days(3640),
    )
    .unwrap();
    let (h, kube) = harness_on_cluster(KubeOptions {
        ca: Some(ca),
        ..KubeOptions::at(vip_ip())
    });
    let o = h.run(&[("vip-port", &port(&kube))], &[]);
    assert_ok(&o, "changed");
    check("ca-expiring", &o, &["days left", "rotate the cluster CA"]);
}

#[test]
fn bound_claims_mismatch() {
    let h = harness();
    // The role binds another environment than this job's.
    let root = h.server.root_token();
    let answer = h.server.call(
        "POST",
        "auth/jwt/role/dev-handshake",
        "",
        Some(&root),
        Some(serde_json::json!({
            "role_type": "jwt",
            "bound_claims_type": "glob",
            "bound_claims": {"repository": "acme/gitops", "environment": "prod"},
        })),
    );
    assert!(answer.status < 300, "{answer:?}");
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2);
    check(
        "bound-claims-mismatch",
        &o,
        &["bound claim", "environment=dev"],
    );
}
