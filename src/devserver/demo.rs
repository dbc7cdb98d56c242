//! `demo`: the whole handshake in one command, with nothing to set up and no network beyond
//! loopback.
//!
//! Starts the dev server in-process, seeds it as the pipeline's Terraform does, generates an
//! RKE2-shaped CA and kubeconfig in a temp folder, and runs the real `run` path twice: the first
//! writes the config, the second finds nothing to change. The VIP is a loopback address, admitted
//! with `allow-loopback-host` (and the run says so), because no cluster exists here.

use std::io::Write as _;
use std::sync::Arc;

use super::seed::{self, Seed};
use super::{DevServer, ServerOptions};
use crate::pure::contract::RawInputs;
use crate::pure::secret::Secret;
use crate::pure::summary::RunContext;
use crate::shell::handshake::{self, RunEnv};
use crate::shell::oidc::OidcRequest;
use crate::shell::runner::{Runner, RunnerPaths};
use crate::source::FileRules;

/// The loopback stand-in for the kube-vip VIP.
pub const DEMO_VIP: &str = "127.0.0.10";

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Runs the demo; returns the exit code.
pub fn demo(now: i64) -> u8 {
    match run_demo(now) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: the demo failed: {e}");
            crate::pure::ErrorClass::Bug.exit_code()
        }
    }
}

fn run_demo(now: i64) -> Result<(), String> {
    let server = DevServer::start(ServerOptions::default())
        .map_err(|e| format!("cannot start the dev server: {e}"))?;
    say(&format!(
        "▶ dev server (Vault {} API) on {}",
        server.with_vault(|v| v.profile().version()),
        server.url()
    ));
    let seed = Seed::new("dev", DEMO_VIP);
    seed::seed(&server, &seed)?;
    say(&format!(
        "▶ seeded as Terraform would: auth/jwt + role `{}` bound to {} (environment dev), policy `{}`, \
         auth/dev-kubernetes (unconfigured), kv/dev/ip vip={DEMO_VIP}, ESO policy and role",
        seed.jwt_role(),
        seed.repository,
        seed.policy_name()
    ));
    let dir = std::env::temp_dir().join(format!(
        "vault-k8s-handshake-demo-{}-{now}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let when = time::OffsetDateTime::from_unix_timestamp(now).map_err(|e| e.to_string())?;
    let bootstrap = super::cluster::write_bootstrap_output(&dir, when)?;
    say(&format!(
        "▶ bootstrap output: {} (RKE2 server CA, EC P-256, serial 0) and {}",
        bootstrap.ca_file.display(),
        bootstrap.kubeconfig.display()
    ));
    say(&format!(
        "▶ the VIP {DEMO_VIP} is loopback because no cluster runs here: the demo sets \
         `allow-loopback-host: true`, which a real pipeline must not"
    ));

    let mut results = Vec::new();
    for attempt in 1..=2 {
        say(&format!("\n━━━ run {attempt} ━━━"));
        let grant = server.grant_oidc(super::job_claims(
            &seed.repository,
            "dev",
            "refs/heads/main",
            "push",
        ));
        let mut raw = RawInputs::default();
        for (name, value) in [
            ("vault-addr", server.url()),
            ("environment", "dev".to_string()),
            ("jwt-role", seed.jwt_role()),
            ("ca-file", bootstrap.ca_file.display().to_string()),
            ("allow-loopback-host", "true".to_string()),
        ] {
            raw.set(name, value);
        }
        let output = dir.join(format!("output-{attempt}"));
        let env = RunEnv {
            raw,
            oidc: Some(OidcRequest {
                url: grant.request_url,
                token: Secret::new(grant.request_token),
            }),
            rules: FileRules::anywhere(),
            context: RunContext {
                repository: Some(seed.repository.clone()),
                actor: Some("demo".into()),
                event_name: Some("push".into()),
                git_ref: Some("refs/heads/main".into()),
                started_at: crate::pure::ca::Timestamp(now).to_string(),
                ..RunContext::default()
            },
            now,
            report_file_name: format!("report-{attempt}.json"),
        };
        let runner = Arc::new(Runner::new(RunnerPaths {
            in_runner: false,
            output: Some(output.clone()),
            step_summary: None,
            temp: Some(dir.clone()),
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let code = runtime.block_on(handshake::run(env, runner));
        let outputs = std::fs::read_to_string(&output).unwrap_or_default();
        let result = outputs
            .lines()
            .skip_while(|l| !l.starts_with("result<<"))
            .nth(1)
            .unwrap_or_default()
            .to_string();
        results.push((code, result));
    }
    let live = server.with_vault(|v| v.live_login_tokens().len());
    say("\n━━━ verdict ━━━");
    let expected = [(0, "changed"), (0, "unchanged")];
    let ok = results
        .iter()
        .map(|(c, r)| (*c, r.as_str()))
        .eq(expected.iter().copied());
    say(&format!(
        "run 1: {} · run 2: {} · tokens left alive: {live} · requests checked against Vault's OpenAPI spec: {}",
        results[0].1,
        results[1].1,
        server.requests().len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    if ok && live == 0 {
        say("the first run wrote the config, the second found nothing to change, every token was revoked");
        Ok(())
    } else {
        Err(format!(
            "unexpected results {results:?}, {live} live tokens"
        ))
    }
}
