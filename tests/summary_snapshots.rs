//! Snapshots of the rendered step summary for the four shapes a person meets: a pass, a dry-run
//! plan, a rollback, and a diagnosed failure; as Markdown (`.md`, the step summary) and as plain
//! text (`.txt`, what a terminal shows). Review every change to a snapshot;
//! `UPDATE_SNAPSHOTS=1 cargo test --test summary_snapshots` rewrites them (never in CI).

use std::path::Path;

use vault_k8s_handshake::pure::contract::Outcome;
use vault_k8s_handshake::pure::plan::{CurrentConfig, FieldChange};
use vault_k8s_handshake::pure::summary::{
    render_summary, CaRecord, FailureRecord, RunContext, RunReport, StepStatus,
};
use vault_k8s_handshake::pure::terminal::render_text;
use vault_k8s_handshake::pure::ErrorClass;

fn base() -> RunReport {
    let mut r = RunReport::new(
        "dev",
        "dev-kubernetes",
        RunContext {
            run_url: Some("https://github.com/acme/gitops/actions/runs/4242/attempts/1".into()),
            repository: Some("acme/gitops".into()),
            actor: Some("octocat".into()),
            sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
            git_ref: Some("refs/heads/main".into()),
            event_name: Some("push".into()),
            workflow: Some("bootstrap".into()),
            started_at: "2027-01-01T00:00:00Z".into(),
        },
    );
    r.vault_addr = Some("https://vault.example.com:8200".into());
    r.host = Some("https://10.69.1.110:6443".into());
    r.ca = Some(CaRecord {
        fingerprints: vec![
            "e596ada24d2103bbc61f766ad66ca3dc133b087f10ce48ab82369eafaa4b7981".into(),
        ],
        subjects: vec!["CN=rke2-server-ca@1764300000".into()],
        not_after: "2036-11-25T07:52:26Z".into(),
        origin: "`ca-file` `k8s-ca.crt`".into(),
    });
    r.report_path = Some("/github/runner_temp/vault-k8s-handshake-dev-4242-1.json".into());
    r.step("inputs", StepStatus::Done, "environment `dev`");
    r.step(
        "ca",
        StepStatus::Done,
        "1 CA certificate from `ca-file` `k8s-ca.crt`",
    );
    r.step(
        "login",
        StepStatus::Done,
        "GitHub OIDC → JWT auth (token minted, revoked at the end)",
    );
    r.step(
        "host",
        StepStatus::Done,
        "`https://10.69.1.110:6443` VIP from `kv/dev/data/ip#vip`",
    );
    r.step("probe", StepStatus::Done, "`https://10.69.1.110:6443` presents `CN=kube-apiserver`, signed by the uploaded CA, with the VIP in its SANs");
    r
}

fn ca_change() -> FieldChange {
    FieldChange {
        field: "kubernetes_ca_cert",
        before: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        after: "e596ada24d2103bbc61f766ad66ca3dc133b087f10ce48ab82369eafaa4b7981".into(),
        reason: "the CA certificates differ: 1 removed, 1 added".into(),
    }
}

fn previous() -> CurrentConfig {
    CurrentConfig {
        kubernetes_host: "https://10.69.1.110:6443".into(),
        kubernetes_ca_cert: String::new(),
        disable_local_ca_jwt: true,
        ..CurrentConfig::default()
    }
}

fn pass() -> RunReport {
    let mut r = base();
    r.outcome = Outcome::Changed;
    // The proof ran and succeeded (its step below): the trust path is proven.
    r.verification = vault_k8s_handshake::pure::summary::Verification::Proven;
    r.probe = vault_k8s_handshake::pure::summary::ProbeSeen::Verified;
    r.changed = true;
    r.previous = Some(previous());
    r.changes = vec![ca_change()];
    r.step("plan", StepStatus::Done, "1 to change: kubernetes_ca_cert");
    r.step(
        "apply",
        StepStatus::Done,
        "wrote `auth/dev-kubernetes/config`",
    );
    r.step(
        "read-back",
        StepStatus::Done,
        "the stored config is what was written",
    );
    r.step("proof", StepStatus::Done, "`external-secrets/external-secrets` logged in at `auth/dev-kubernetes` as role `external-secrets`; policies: default, dev-external-secrets-policy");
    r.step(
        "revoke",
        StepStatus::Done,
        "the action's Vault token is revoked",
    );
    r
}

fn dry_run() -> RunReport {
    let mut r = base();
    r.outcome = Outcome::Planned;
    // A dry run proves no login; the probe verified the API server's TLS.
    r.verification = vault_k8s_handshake::pure::summary::Verification::TlsVerified;
    r.probe = vault_k8s_handshake::pure::summary::ProbeSeen::Verified;
    r.changed = true;
    r.dry_run = true;
    r.dry_run_reason = Some("`pull_request` events run as a dry run: their code may come from a fork. Set `allow-pull-request-writes: true` to write from them.".into());
    r.changes = vec![ca_change()];
    r.step("plan", StepStatus::Done, "1 to change: kubernetes_ca_cert");
    r.step("apply", StepStatus::Skipped, "dry run: nothing written");
    r.step(
        "revoke",
        StepStatus::Done,
        "the action's Vault token is revoked",
    );
    r
}

fn rollback() -> RunReport {
    let mut r = pass();
    r.steps.retain(|s| s.name != "proof" && s.name != "revoke");
    r.outcome = Outcome::RolledBack;
    r.changed = false;
    let message = "the proof login failed with `permission denied`: ServiceAccount `external-secrets/external-secrets` may not create TokenReviews, which client JWT mode needs (Kubernetes: `tokenreviews.authentication.k8s.io is forbidden: User \"system:serviceaccount:external-secrets:external-secrets\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope`)";
    r.step("proof", StepStatus::Failed, message);
    r.step(
        "rollback",
        StepStatus::Done,
        "the previous config is restored",
    );
    r.step(
        "revoke",
        StepStatus::Done,
        "the action's Vault token is revoked",
    );
    r.failure = Some(FailureRecord {
        class: ErrorClass::User,
        area: vault_k8s_handshake::pure::Area::Vault,
        message: message.into(),
        hint: Some("bind `system:auth-delegator` to the ServiceAccount: `kubectl create clusterrolebinding external-secrets-auth-delegator --clusterrole=system:auth-delegator --serviceaccount=external-secrets:external-secrets`".into()),
    });
    r
}

fn diagnosed_failure() -> RunReport {
    let mut r = base();
    r.steps.retain(|s| s.name != "probe");
    let message = "the API server at `https://10.69.1.110:6443` presents a certificate whose SANs do not include `10.69.1.110`: `DNS:kubernetes`, `DNS:localhost`, `IP:127.0.0.1`, `IP:10.43.0.1`";
    r.step("probe", StepStatus::Failed, message);
    r.step(
        "revoke",
        StepStatus::Done,
        "the action's Vault token is revoked",
    );
    r.failure = Some(FailureRecord {
        class: ErrorClass::User,
        area: vault_k8s_handshake::pure::Area::Vault,
        message: message.into(),
        hint: Some("add the VIP to RKE2's `tls-san` (`tls-san: [10.69.1.110]` in /etc/rancher/rke2/config.yaml) and restart rke2-server".into()),
    });
    r
}

fn check(name: &str, report: &RunReport) {
    compare(&format!("{name}.md"), &render_summary(report));
    compare(&format!("{name}.txt"), &render_text(report, false));
}

fn compare(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") && std::env::var("CI").is_err() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (w, g))| w != g)
            .take(5)
            .map(|(i, (w, g))| format!("line {}:\n  want: {w}\n  got:  {g}", i + 1))
            .collect();
        panic!(
            "snapshot {name} differs ({} vs {} lines); review and run UPDATE_SNAPSHOTS=1 cargo test --test summary_snapshots\n{}",
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn summary_of_a_pass() {
    check("pass", &pass());
}

#[test]
fn summary_of_a_dry_run_plan() {
    check("dry-run", &dry_run());
}

#[test]
fn summary_of_a_rollback() {
    check("rollback", &rollback());
}

#[test]
fn summary_of_a_diagnosed_failure() {
    check("diagnosed-failure", &diagnosed_failure());
}
