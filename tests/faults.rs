//! Faults at every step of the handshake: retried where that is safe, then either success or a
//! clear error; never a token left alive, never a half-written config left unreported.

mod common;

use common::*;
use vault_k8s_handshake::devserver::{Fault, FaultKind, ServerOptions};

fn status(code: u16) -> FaultKind {
    FaultKind::Status {
        code,
        retry_after: None,
        errors: vec![],
    }
}

const CONFIG: &str = "/v1/auth/dev-kubernetes/config";

fn count(o: &Outcome, method: &str, path: &str) -> usize {
    o.requests
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

#[test]
fn transient_faults_on_reads_are_retried_to_success() {
    let rows: Vec<(&str, Fault)> = vec![
        ("health sealed", Fault::sealed("/v1/sys/health", 2)),
        ("vip 412", Fault::new("/v1/kv/dev/data/ip", status(412), 2)),
        (
            "vip reset",
            Fault::new("/v1/kv/dev/data/ip", FaultKind::Reset, 1),
        ),
        (
            "config read 500",
            Fault::new(CONFIG, status(500), 1).method("GET"),
        ),
        (
            "config read 429 Retry-After",
            Fault::new(
                CONFIG,
                FaultKind::Status {
                    code: 429,
                    retry_after: Some(1),
                    errors: vec![],
                },
                1,
            )
            .method("GET"),
        ),
        (
            "config read hang",
            Fault::new(CONFIG, FaultKind::Hang { ms: 3_000 }, 1).method("GET"),
        ),
        (
            "read-back 502",
            Fault::new(CONFIG, status(502), 2).method("GET").after(1),
        ),
        ("oidc 503", Fault::new("/_github/idtoken/*", status(503), 2)),
        (
            "revoke sealed",
            Fault::sealed("/v1/auth/token/revoke-self", 1),
        ),
        (
            "same-host 307",
            Fault::new(
                "/v1/kv/dev/data/ip",
                FaultKind::Redirect {
                    location: String::new(),
                },
                1,
            ),
        ),
    ];
    for (label, mut fault) in rows {
        let h = harness();
        if let FaultKind::Redirect { location } = &mut fault.kind {
            *location = format!("{}/v1/kv/dev/data/ip", h.server.url());
        }
        h.server.inject(fault);
        let o = h.run(&[("request-timeout-seconds", "1")], &[]);
        assert_eq!(
            o.code,
            0,
            "{label}: {}\n{}",
            o.output("error-message"),
            o.stdout
        );
        assert_eq!(o.output("result"), "changed", "{label}");
        assert_eq!(h.live_tokens(), 0, "{label}: a token was left alive");
        assert!(h.stored("", "dev-kubernetes").is_some(), "{label}");
    }
}

#[test]
fn a_write_is_retried_only_on_answers_that_say_it_was_not_processed() {
    let h = harness();
    h.server.inject(Fault::sealed(CONFIG, 1).method("POST"));
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    assert_eq!(
        count(&o, "POST", "auth/dev-kubernetes/config"),
        1,
        "the sealed answer never reached the handler"
    );

    let h = harness();
    h.server
        .inject(Fault::new(CONFIG, status(500), 1).method("POST"));
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert_eq!(o.output("result"), "failed");
    assert!(
        o.output("error-message")
            .contains("writing the kubernetes auth config failed"),
        "{:?}",
        o.outputs
    );
    assert!(
        h.stored("", "dev-kubernetes").is_none(),
        "nothing half-written"
    );
    assert_eq!(h.live_tokens(), 0);
}

/// The paths of Vault's health check and the OIDC token request, in the order the dev server
/// answered them, for a run whose health check Vault holds for two seconds.
fn health_and_token_order(options: ServerOptions) -> Vec<String> {
    let h = harness_serving(options);
    h.server.inject(Fault::new(
        "/v1/sys/health",
        FaultKind::Hang { ms: 2_000 },
        1,
    ));
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    assert_eq!(h.live_tokens(), 0);
    let order: Vec<String> = o
        .requests
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p == "sys/health" || p.contains("idtoken"))
        .collect();
    assert_eq!(order.len(), 2, "{order:?}");
    order
}

#[test]
fn to_two_servers_vault_health_and_the_oidc_token_are_asked_at_once() {
    // The token service is another server than Vault, as on a runner. One after the other, the
    // held health check would be answered (and logged) before the OIDC token was asked for; at
    // once, the token is served while the health check is still held.
    let order = health_and_token_order(ServerOptions {
        issuer_apart: true,
        ..ServerOptions::default()
    });
    assert!(order[0].contains("idtoken"), "{order:?}");
}

#[test]
fn to_one_server_vault_health_is_asked_before_the_oidc_token() {
    // A stand-in that serves both: one after the other, so a server that takes one connection
    // at a time never holds the second request behind the first connection.
    let order = health_and_token_order(ServerOptions::default());
    assert_eq!(order[0], "sys/health", "{order:?}");
}

#[test]
fn a_vault_that_serves_one_connection_at_a_time_and_the_oidc_token_too_sees_the_whole_run() {
    // A single-threaded HTTP/1.1 stand-in: one connection at a time, each kept until its client
    // closes it, and the OIDC token endpoint on the same listener. The health check and the
    // token go one after the other, and no request waits for a second connection while the
    // action holds an idle one: the OIDC request and Vault's differ in their client settings,
    // so the driver closes the one before it opens the other.
    let h = harness_serving(ServerOptions {
        one_connection_at_a_time: true,
        ..ServerOptions::default()
    });
    let o = h.run(&[], &[]);
    assert_ok(&o, "changed");
    let order: Vec<&str> = o
        .requests
        .iter()
        .map(|r| r.path.as_str())
        .filter(|p| *p == "sys/health" || p.contains("idtoken"))
        .collect();
    assert_eq!(order.len(), 2, "{order:?}");
    assert_eq!(order[0], "sys/health", "one server: Vault's health first");
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_health_check_something_in_front_of_vault_does_not_pass_is_a_warning() {
    // A load balancer that passes only some paths, or a stand-in without `sys/health`: 404 is no
    // answer Vault gives there. The run says so and goes on; the login proves Vault is there.
    // A sealed Vault (503) still fails the run (`persistent_faults_end_in_a_clear_error`).
    for code in [403, 404, 405] {
        let h = harness();
        h.server
            .inject(Fault::new("/v1/sys/health", status(code), 100));
        let o = h.run(&[], &[]);
        assert_ok(&o, "changed");
        let warning = format!("Vault's health check failed: `GET sys/health` answered {code}");
        assert!(
            o.stdout.contains("::warning") && o.stdout.contains(&warning),
            "{code}: {}",
            o.stdout
        );
        assert!(
            o.summary
                .contains(&format!("answered {code}: no answer Vault gives there")),
            "{code}: {}",
            o.summary
        );
        assert_eq!(h.live_tokens(), 0);
    }
}

#[test]
fn a_capabilities_answer_that_lists_none_predicts_nothing() {
    // A dry run asks `sys/capabilities-self` whether a real run could write the config. A 200
    // that lists no capabilities for the path (a stand-in, a proxy's empty JSON) says nothing
    // either way: no "a real run would be refused", a note that it went unchecked.
    let h = harness();
    h.server
        .inject(Fault::new("/v1/sys/capabilities-self", status(200), 1));
    let o = h.run(&[("dry-run", "true")], &[]);
    assert_ok(&o, "planned");
    assert!(!o.stdout.contains("would be refused"), "{}", o.stdout);
    assert!(!o.summary.contains("would be refused"), "{}", o.summary);
    assert!(
        o.summary.contains("lists no capabilities for it"),
        "{}",
        o.summary
    );
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_login_is_never_retried() {
    let h = harness();
    h.server.inject(Fault::sealed("/v1/auth/jwt/login", 1));
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert!(
        o.output("error-message")
            .contains("Vault refused the GitHub OIDC login"),
        "{:?}",
        o.outputs
    );
    // The fault fires once and answers before Vault handles (and logs) the request: a retry
    // would have passed and been logged. None was.
    let logins = h
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "auth/jwt/login")
        .count();
    assert_eq!(logins, 0, "the login was retried");
    assert_eq!(h.live_tokens(), 0);
    assert!(h.stored("", "dev-kubernetes").is_none());
}

#[test]
fn persistent_faults_end_in_a_clear_error() {
    let rows: Vec<(&str, Fault, i32, &str)> = vec![
        (
            "oidc down",
            Fault::new("/_github/idtoken/*", status(503), 100),
            3,
            "GitHub OIDC token request answered HTTP 503",
        ),
        (
            "vault sealed",
            Fault::sealed("/v1/sys/health", 100),
            3,
            "Vault is sealed",
        ),
        (
            "vip unreachable",
            Fault::new("/v1/kv/dev/data/ip", FaultKind::Reset, 100),
            3,
            "no answer from Vault",
        ),
        (
            "foreign 307",
            Fault::new(
                CONFIG,
                FaultKind::Redirect {
                    location: "http://127.0.0.2:1/v1/auth/dev-kubernetes/config".into(),
                },
                100,
            )
            .method("GET"),
            3,
            "redirected to another host",
        ),
    ];
    for (label, fault, code, message) in rows {
        let h = harness();
        h.server.inject(fault);
        let o = h.run(&[("request-timeout-seconds", "1")], &[]);
        assert_eq!(o.code, code, "{label}: {}", o.stdout);
        assert_eq!(o.output("result"), "failed", "{label}");
        assert!(
            o.output("error-message").contains(message),
            "{label}: {:?}",
            o.output("error-message")
        );
        assert!(o.stdout.contains("::error title="), "{label}");
        assert_eq!(h.live_tokens(), 0, "{label}: a token was left alive");
        assert!(h.stored("", "dev-kubernetes").is_none(), "{label}");
    }
}

#[test]
fn a_read_back_that_fails_after_the_write_is_reported_as_written() {
    let h = harness();
    h.server.inject(
        Fault::new(CONFIG, FaultKind::Reset, 100)
            .method("GET")
            .after(1),
    );
    let o = h.run(&[("request-timeout-seconds", "1")], &[]);
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert_eq!(o.output("result"), "failed");
    assert_eq!(
        o.output("changed"),
        "true",
        "the write happened and is reported"
    );
    assert!(o.summary.contains("wrote"), "{}", o.summary);
    assert!(h.stored("", "dev-kubernetes").is_some());
    assert_eq!(h.live_tokens(), 0);
}

#[test]
fn a_revoke_that_keeps_failing_is_a_loud_warning() {
    let h = harness();
    h.server
        .inject(Fault::sealed("/v1/auth/token/revoke-self", 100));
    let o = h.run(&[("request-timeout-seconds", "1")], &[]);
    assert_ok(&o, "changed");
    assert!(
        o.stdout.contains("::warning::could not revoke the action"),
        "{}",
        o.stdout
    );
    assert!(o.summary.contains("could not revoke"), "{}", o.summary);
}
