//! Vault over https behind a private CA, as in real pipelines: the dev server serves TLS with a
//! certificate from a CA generated at start, and the action's `run` must trust it only through
//! `vault-ca-cert` (PEM or base64) or `extra-ca-certs`. Every way it can go wrong names the
//! input to fix in `error-message`.
//!
//! The OIDC token endpoint stays on a plain-http loopback listener of the same server (see
//! `DevServer::issuer_addr`): GitHub's token service is another host than Vault and is never
//! signed by Vault's private CA, so the OIDC client (which trusts `extra-ca-certs` only) is not
//! what these tests exercise; the one-connection-at-a-time test alone puts the token on Vault's
//! listener, as a stand-in serving both does.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use vault_k8s_handshake::devserver::cluster;
use vault_k8s_handshake::devserver::kube::San;
use vault_k8s_handshake::devserver::seed::Seed;
use vault_k8s_handshake::devserver::{DevTls, ServerOptions};

fn tls_harness(tls: DevTls) -> Harness {
    let h = harness_with(
        Seed::new("dev", VIP),
        ServerOptions {
            tls: Some(tls),
            ..ServerOptions::default()
        },
    );
    assert!(h.server.url().starts_with("https://127.0.0.1:"));
    h
}

fn ca_of(h: &Harness) -> String {
    h.server.ca_pem().expect("served over https").to_string()
}

/// The `error-message` of a failed run, after checking that it failed and never logged in.
fn failure(o: &Outcome) -> String {
    assert_ne!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(
        !o.requests.iter().any(|r| r.path.contains("login")),
        "no login got through an untrusted connection"
    );
    let message = o.output("error-message").to_string();
    assert!(!message.is_empty(), "{}", o.stdout);
    message
}

#[test]
fn vault_ca_cert_as_pem_trusts_the_private_ca() {
    let h = tls_harness(DevTls::default());
    let ca = ca_of(&h);
    let o = h.run(&[("vault-ca-cert", &ca)], &[]);
    assert_ok(&o, "changed");
    assert!(o.wrote_config("dev-kubernetes"));
}

#[test]
fn vault_ca_cert_as_base64_of_the_pem_trusts_the_private_ca() {
    let h = tls_harness(DevTls::default());
    let encoded = STANDARD.encode(ca_of(&h));
    let o = h.run(&[("vault-ca-cert", &encoded)], &[]);
    assert_ok(&o, "changed");
}

#[test]
fn extra_ca_certs_alone_trusts_the_private_ca() {
    let h = tls_harness(DevTls::default());
    let ca = ca_of(&h);
    let o = h.run(&[("extra-ca-certs", &ca)], &[]);
    assert_ok(&o, "changed");
}

#[test]
fn no_ca_for_a_private_vault_names_vault_ca_cert() {
    let h = tls_harness(DevTls::default());
    let o = h.run(&[], &[]);
    let message = failure(&o);
    assert!(
        message.contains("is not signed by a CA the action trusts"),
        "{message}"
    );
    assert!(
        message.contains("set `vault-ca-cert` to the CA that signs it (PEM or base64)"),
        "{message}"
    );
}

#[test]
fn a_wrong_ca_in_vault_ca_cert_says_it_does_not_sign_vault() {
    let h = tls_harness(DevTls::default());
    let other = cluster::rke2_ca("other", time::OffsetDateTime::now_utc())
        .unwrap()
        .pem;
    let o = h.run(&[("vault-ca-cert", &other)], &[]);
    let message = failure(&o);
    assert!(
        message.contains("no CA in `vault-ca-cert` or `extra-ca-certs` signs it"),
        "{message}"
    );
    assert!(message.contains("set `vault-ca-cert`"), "{message}");
}

#[test]
fn a_certificate_for_another_host_names_vault_addr_and_the_sans() {
    let h = tls_harness(DevTls {
        sans: vec![San::Dns("vault.example.internal".into())],
    });
    let ca = ca_of(&h);
    let o = h.run(&[("vault-ca-cert", &ca)], &[]);
    let message = failure(&o);
    assert!(
        message.contains("is not valid for `127.0.0.1`, the host of `vault-addr`"),
        "{message}"
    );
    assert!(
        message.contains("its SANs are `vault.example.internal`"),
        "{message}"
    );
    assert!(message.contains("set `vault-addr` to a host"), "{message}");
}

// Failures before any certificate: each names `vault-addr` and the fix, instead of a bare "no
// answer". The listeners are the test's own, on loopback.

/// A proxy URL with a user and a password that must never reach any output (the harness
/// registers every form of it as a secret).
const PROXY_USER: &str = "runner-7:Pr0xy%2BS3cr3t%40x";

fn unreachable_failure(h: &Harness, vault_addr: &str, env: &[(&str, &str)]) -> (String, Outcome) {
    let o = h.run(
        &[("vault-addr", vault_addr), ("request-timeout-seconds", "1")],
        env,
    );
    let message = failure(&o);
    assert!(o.stdout.contains("hint:"), "{}", o.stdout);
    (message, o)
}

#[test]
fn plain_http_on_an_https_vault_addr_says_the_port_speaks_http() {
    let h = harness();
    let addr = common::proxy::answering_listener(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let (message, o) = unreachable_failure(&h, &format!("https://{addr}"), &[]);
    assert!(
        message.contains("does not answer TLS: the port of `vault-addr` speaks plain http"),
        "{message}"
    );
    assert!(
        o.stdout.contains("the port of Vault's TLS listener"),
        "{}",
        o.stdout
    );
}

#[test]
fn a_listener_that_closes_the_handshake_says_so() {
    let h = harness();
    let addr = common::proxy::answering_listener(b"");
    let (message, o) = unreachable_failure(&h, &format!("https://{addr}"), &[]);
    assert!(
        message.contains("closed the connection during the TLS handshake"),
        "{message}"
    );
    assert!(
        o.stdout
            .contains("check that `vault-addr` names Vault's TLS listener"),
        "{}",
        o.stdout
    );
}

#[test]
fn a_refused_connection_names_the_port_of_vault_addr() {
    let h = harness();
    // A port that was free a moment ago: nothing listens on it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (message, o) = unreachable_failure(&h, &format!("https://{addr}"), &[]);
    assert!(message.contains("the connection was refused"), "{message}");
    assert!(
        o.stdout.contains("check the port in `vault-addr`"),
        "{}",
        o.stdout
    );
}

#[test]
fn a_listener_that_never_answers_times_out() {
    let h = harness();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepted by the kernel's backlog, never read from: the handshake waits for the timeout.
    let (message, o) = unreachable_failure(&h, &format!("https://{addr}"), &[]);
    assert!(message.contains("the connection timed out"), "{message}");
    assert!(o.stdout.contains("firewall"), "{}", o.stdout);
    drop(listener);
}

#[test]
fn a_proxy_that_wants_other_credentials_says_407_and_never_shows_them() {
    let h = harness();
    let proxy = common::proxy::ConnectProxy::start(
        "runner-7:the-right-one",
        Default::default(),
        common::proxy::Behaviour::Tunnel,
    );
    let url = format!("http://{PROXY_USER}@{}", proxy.addr());
    let (message, o) = unreachable_failure(&h, "https://vault.test:8200", &[("HTTPS_PROXY", &url)]);
    assert!(
        message.contains(&format!(
            "the proxy `{}` refused the tunnel to Vault at `https://vault.test:8200`: 407 Proxy \
             Authentication Required",
            proxy.addr()
        )),
        "{message}"
    );
    assert!(o.stdout.contains("percent-encode"), "{}", o.stdout);
    let connects = proxy.connects();
    assert!(!connects.is_empty());
    assert!(connects
        .iter()
        .all(|c| c.target == "vault.test:8200" && !c.authorized));
    // Not retried: the credentials will not change between attempts.
    assert_eq!(connects.len(), 1, "{connects:?}");
}

#[test]
fn a_proxy_that_refuses_the_tunnel_says_so() {
    let h = harness();
    let proxy = common::proxy::ConnectProxy::start(
        "runner-7:Pr0xy+S3cr3t@x",
        Default::default(),
        common::proxy::Behaviour::Answer("403 Forbidden"),
    );
    let url = format!("http://{PROXY_USER}@{}", proxy.addr());
    let (message, o) = unreachable_failure(&h, "https://vault.test:8200", &[("https_proxy", &url)]);
    assert!(
        message.contains("refused to open a tunnel to Vault at `https://vault.test:8200`"),
        "{message}"
    );
    assert!(o.stdout.contains("allow `CONNECT`"), "{}", o.stdout);
    assert!(proxy.connects().iter().all(|c| c.authorized));
}

#[test]
fn a_proxy_that_cannot_be_reached_is_named_without_its_password() {
    let h = harness();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{PROXY_USER}@{free}");
    let (message, _) = unreachable_failure(&h, "https://vault.test:8200", &[("HTTPS_PROXY", &url)]);
    assert!(
        message.contains(&format!(
            "the proxy `{free}` set in `HTTPS_PROXY` cannot be reached"
        )),
        "{message}"
    );
}

#[test]
fn a_listener_with_no_tls_version_in_common_names_the_alert() {
    let h = harness();
    // A TLS alert record, `protocol_version` (70), as a server that only speaks an older TLS
    // answers the action's ClientHello.
    let addr = common::proxy::answering_listener(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    let (message, o) = unreachable_failure(&h, &format!("https://{addr}"), &[]);
    assert!(
        message.contains("refused the TLS handshake (alert `ProtocolVersion`)"),
        "{message}"
    );
    assert!(o.stdout.contains("`tls_min_version`"), "{}", o.stdout);
}

#[test]
fn an_https_vault_that_serves_one_connection_at_a_time_and_the_oidc_token_too_sees_the_whole_run() {
    // A single-threaded HTTP/1.1 stand-in over https, the OIDC token endpoint on Vault's own
    // listener. The OIDC client trusts `extra-ca-certs`, Vault's client `vault-ca-cert` as well:
    // two trusts, so two kinds of connection to one server. Each is closed before the other is
    // opened; a connection left idle would hold the server, and the next request would wait
    // out its timeout.
    let mut h = harness_with(
        Seed::new("dev", VIP),
        ServerOptions {
            tls: Some(DevTls::default()),
            one_connection_at_a_time: true,
            ..ServerOptions::default()
        },
    );
    h.oidc_origin = Some(h.server.url());
    let ca = ca_of(&h);
    let o = h.run(&[("vault-ca-cert", &ca), ("extra-ca-certs", &ca)], &[]);
    assert_ok(&o, "changed");
    assert!(
        o.requests.iter().any(|r| r.path.contains("idtoken")),
        "the token came from Vault's listener"
    );
    assert_eq!(h.live_tokens(), 0);
}
