//! Vault over https behind a private CA, as in real pipelines: the dev server serves TLS with a
//! certificate from a CA generated at start, and the action's `run` must trust it only through
//! `vault-ca-cert` (PEM or base64) or `extra-ca-certs`. Every way it can go wrong names the
//! input to fix in `error-message`.
//!
//! The OIDC token endpoint stays on a plain-http loopback listener of the same server (see
//! `DevServer::issuer_addr`): GitHub's token service is another host than Vault and is never
//! signed by Vault's private CA, so the OIDC client (which trusts `extra-ca-certs` only) is not
//! what these tests exercise.

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
