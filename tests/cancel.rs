//! The runner cancels a step with SIGINT, then SIGTERM, then SIGKILL. The action stops at a safe
//! point (never between a config write and its read-back), revokes its token, writes the outputs
//! and summary that are true then, and exits non-zero with `result: cancelled`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use vault_k8s_handshake::devserver::{Fault, FaultKind, ServerOptions};

/// Polls `ready` (bounded: a loaded machine is slow, a broken run must not hang the suite),
/// then sends `signal` to the run whose driver is `pid`.
fn signal_when(h: &Harness, pid: u32, signal: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "the run never reached the point to cancel at"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    h.signal(pid, signal);
}

#[test]
fn a_cancel_before_the_write_revokes_the_token_and_writes_nothing() {
    for signal in ["TERM", "INT"] {
        let h = harness();
        // The VIP read stalls for a minute: the cancel arrives while the run waits on it.
        h.server.inject(Fault::new(
            "/v1/kv/dev/data/ip",
            FaultKind::Hang { ms: 60_000 },
            1,
        ));
        let minted = || h.server.with_vault(|v| v.live_login_tokens().len()) > 0;
        let started = Instant::now();
        let o = h.run_controlled(&[], &[], |pid| signal_when(&h, pid, signal, minted));
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "the run waited out the stall"
        );
        assert_ne!(o.code, 0, "{}", o.stdout);
        assert_eq!(o.output("result"), "cancelled", "{}", o.stdout);
        assert!(o.output("error-message").contains(&format!("SIG{signal}")));
        assert!(o.output("error-message").contains("nothing was written"));
        assert!(h.stored("", "dev-kubernetes").is_none());
        assert_eq!(h.live_tokens(), 0, "the token must die with the run");
        assert!(
            o.summary.contains("cancelled before anything was written"),
            "{}",
            o.summary
        );
    }
}

#[test]
fn a_cancel_while_the_health_check_and_the_oidc_token_are_in_flight_stops_before_the_login() {
    // The token service is another server than Vault, as on a runner: both are asked at once.
    let h = harness_serving(ServerOptions {
        issuer_apart: true,
        ..ServerOptions::default()
    });
    // Vault's health check stalls for a minute; the OIDC token, asked for at the same time, is
    // served. The cancel comes with one answer in and one out.
    h.server.inject(Fault::new(
        "/v1/sys/health",
        FaultKind::Hang { ms: 60_000 },
        1,
    ));
    let token_served = || {
        h.server
            .requests()
            .iter()
            .any(|r| r.path.contains("idtoken"))
    };
    let started = Instant::now();
    let o = h.run_controlled(&[], &[], |pid| signal_when(&h, pid, "TERM", token_served));
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "the run waited out the stall"
    );
    assert_eq!(o.output("result"), "cancelled", "{}", o.stdout);
    assert!(o.output("error-message").contains("SIGTERM"));
    assert!(
        !h.server
            .requests()
            .iter()
            .any(|r| r.path == "auth/jwt/login"),
        "no login after the cancel"
    );
    assert_eq!(h.live_tokens(), 0);
    assert!(h.stored("", "dev-kubernetes").is_none());
}

#[test]
fn a_cancel_during_the_read_back_waits_for_it_and_reports_the_write() {
    let h = harness();
    // The plan's read passes; the read-back after the write stalls for three seconds.
    h.server.inject(
        Fault::new(
            "/v1/auth/dev-kubernetes/config",
            FaultKind::Hang { ms: 3_000 },
            1,
        )
        .method("GET")
        .after(1),
    );
    let written = || h.stored("", "dev-kubernetes").is_some();
    let o = h.run_controlled(&[], &[], |pid| signal_when(&h, pid, "TERM", written));
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert_eq!(o.output("result"), "cancelled", "{}", o.stdout);
    assert_eq!(o.output("changed"), "true");
    assert!(
        o.output("error-message")
            .contains("written and read back before the cancel"),
        "{}",
        o.output("error-message")
    );
    let reads = o
        .requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "auth/dev-kubernetes/config")
        .count();
    assert_eq!(reads, 2, "the read-back finished before the run stopped");
    assert_eq!(h.live_tokens(), 0);
}
