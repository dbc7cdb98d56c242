//! `demo`: the whole handshake in one command, with nothing to set up and no network beyond
//! loopback.
//!
//! Starts the dev server in-process, seeds it as the pipeline's Terraform does, starts a
//! kube-apiserver stand-in on the VIP with an RKE2-shaped CA, and runs the real `run` path three
//! times: the first writes the config and proves ESO's login, the second finds nothing to change
//! and proves it again, the third points at an API server whose certificate lacks the VIP in its
//! SANs and shows the diagnosis, with nothing written. The VIP is a loopback address, admitted
//! with `allow-loopback-host` (and the run says so), because no real cluster exists here.

use std::io::Write as _;
use std::path::Path;

use super::kube::{KubeApiServer, KubeOptions, San, API_AUDIENCES};
use super::seed::{self, Seed};
use super::{DevServer, ServerOptions};
use crate::pure::contract::RawInputs;
use crate::pure::machine::wire::WireSecret;
use crate::pure::machine::{OidcRequest, RunnerPaths, Snapshot};
use crate::pure::secret::Secret;
use crate::pure::summary::RunContext;
use crate::source::FileRules;

/// The loopback stand-in for the kube-vip VIP.
pub const DEMO_VIP: &str = "127.0.0.10";

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Runs the demo; returns the exit code. With `node`, each handshake runs as the Node action
/// (`node/dist/index.js` under that binary) instead of in this process.
pub fn demo(now: i64, node: Option<&Path>) -> u8 {
    match run_demo(now, node) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: the demo failed: {e}");
            crate::pure::ErrorClass::Bug.exit_code()
        }
    }
}

fn run_demo(now: i64, node: Option<&Path>) -> Result<(), String> {
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
    // The runs name their files relative to the demo's folder (`ca-file: k8s-ca.crt`, as the
    // README's workflow does), so no line shows a path that is gone once the demo ends.
    let previous = std::env::current_dir().map_err(|e| e.to_string())?;
    std::env::set_current_dir(&dir).map_err(|e| e.to_string())?;
    let result = run_in(&server, &seed, &dir, now, node);
    let restored = std::env::set_current_dir(&previous);
    let _ = std::fs::remove_dir_all(&dir);
    restored.map_err(|e| e.to_string())?;
    result
}

/// One run as the Node action: the snapshot's inputs and context as the runner's variables, the
/// bundle under `node`, its log passed through.
fn run_node(node: &Path, snap: &Snapshot, dir: &Path) -> Result<u8, String> {
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("node/dist/index.js");
    let mut cmd = std::process::Command::new(node);
    cmd.arg(&bundle).env_clear().current_dir(dir);
    for spec in crate::pure::contract::INPUTS {
        if let Some(value) = snap.raw.raw_value(spec.name) {
            cmd.env(crate::env::input_variable(spec.name), value);
        }
    }
    let context = &snap.context;
    for (name, value) in [
        (crate::env::GITHUB_REPOSITORY, context.repository.clone()),
        (crate::env::GITHUB_ACTOR, context.actor.clone()),
        (crate::env::GITHUB_EVENT_NAME, context.event_name.clone()),
        (crate::env::GITHUB_REF, context.git_ref.clone()),
        (crate::env::GITHUB_SHA, context.sha.clone()),
        (
            crate::env::GITHUB_API_URL,
            Some(snap.github_api_url.clone()),
        ),
        (crate::env::GITHUB_OUTPUT, snap.paths.output.clone()),
        (crate::env::RUNNER_TEMP, Some(snap.paths.temp.clone())),
    ] {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
    if let Some(oidc) = &snap.oidc {
        cmd.env(crate::env::ACTIONS_ID_TOKEN_REQUEST_URL, &oidc.url);
        cmd.env(
            crate::env::ACTIONS_ID_TOKEN_REQUEST_TOKEN,
            oidc.token.0.expose_secret(),
        );
    }
    if !snap.paths.colour {
        cmd.env(crate::env::NO_COLOR, "1");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", node.display()))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(255))
}

/// The three runs, in `dir` (the current directory), and the verdict.
fn run_in(
    server: &DevServer,
    seed: &Seed,
    dir: &Path,
    now: i64,
    node: Option<&Path>,
) -> Result<(), String> {
    let when = time::OffsetDateTime::from_unix_timestamp(now).map_err(|e| e.to_string())?;
    let vip: std::net::IpAddr = DEMO_VIP.parse().map_err(|_| "bad demo VIP".to_string())?;
    let cluster = KubeApiServer::start(KubeOptions::at(vip))
        .map_err(|e| format!("cannot start the API server stand-in: {e}"))?;
    cluster.bind_auth_delegator("external-secrets", "external-secrets");
    let bootstrap = super::cluster::write_bootstrap_output(dir, when)?;
    // The CA the bootstrap fetched is the one that signs the stand-in's serving certificate.
    std::fs::write(&bootstrap.ca_file, cluster.ca_pem()).map_err(|e| e.to_string())?;
    let ca_file = bootstrap
        .ca_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    say(&format!(
        "▶ kube-apiserver stand-in on {} (RKE2 server CA, EC P-256, serial 0; ESO's ServiceAccount \
         bound to system:auth-delegator); CA saved as {ca_file} in a scratch folder the demo \
         removes when it ends",
        cluster.url(),
    ));
    say(&format!(
        "▶ the VIP {DEMO_VIP} is loopback because no cluster runs here: the demo sets \
         `allow-loopback-host: true`, which a real pipeline must not"
    ));
    // A second API server whose certificate lacks its own address: RKE2 without `tls-san`.
    let staged_ip: std::net::IpAddr = "127.0.0.11"
        .parse()
        .map_err(|_| "bad staged IP".to_string())?;
    let no_san = KubeApiServer::start(KubeOptions {
        sans: vec![
            San::Dns("kubernetes".into()),
            San::Ip("127.0.0.1".parse().map_err(|_| String::new())?),
            San::Ip("10.43.0.1".parse().map_err(|_| String::new())?),
        ],
        ca: None,
        ..KubeOptions::at(staged_ip)
    })
    .map_err(|e| format!("cannot start the second stand-in: {e}"))?;

    // A GitHub API stand-in to post the check runs to, as `post: check-run` does on GitHub.
    let github_token = "ghs_demo_token_0123456789abcdefghijklmnop";
    let github = super::github::GithubServer::start(super::github::GithubOptions {
        owner: "acme".into(),
        repo: "gitops".into(),
        run_id: 1,
        tokens: vec![(github_token.into(), super::github::Permissions::ALL)],
        tls: None,
    })
    .map_err(|e| format!("cannot start the GitHub stand-in: {e}"))?;
    let port = cluster.addr().port().to_string();
    // (title, inputs over the defaults, expected exit code, expected `result`)
    type Run<'a> = (&'a str, Vec<(&'a str, String)>, u8, &'a str);
    let runs: [Run; 3] = [
        (
            "first run: write, then prove ESO's login",
            vec![],
            0,
            "changed",
        ),
        (
            "second run: nothing to change, proof again",
            vec![],
            0,
            "unchanged",
        ),
        (
            "expected failure: an API server whose certificate lacks the VIP in its SANs; this \
             run must fail (exit 2) and write nothing",
            vec![
                (
                    "kubernetes-host",
                    format!("https://{staged_ip}:{}", no_san.addr().port()),
                ),
                ("ca-file", {
                    std::fs::write(dir.join("staged-ca.crt"), no_san.ca_pem())
                        .map_err(|e| e.to_string())?;
                    "staged-ca.crt".to_string()
                }),
            ],
            2,
            "failed",
        ),
    ];
    let (_, colour) = crate::env::read_terminal();
    let mut results = Vec::new();
    for (attempt, (title, extra, want_code, want_result)) in runs.into_iter().enumerate() {
        say(&format!("\n━━━ {title} ━━━"));
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
            ("ca-file", ca_file.clone()),
            ("vip-port", port.clone()),
            ("allow-loopback-host", "true".to_string()),
            (
                "proof-jwt",
                cluster.issue_token("external-secrets", "external-secrets", &API_AUDIENCES, 600),
            ),
            ("post", "step-summary,check-run".to_string()),
            ("github-token", github_token.to_string()),
        ] {
            raw.set(name, value);
        }
        for (name, value) in extra {
            raw.set(name, value);
        }
        let output = dir.join(format!("output-{attempt}"));
        let env = Snapshot {
            raw,
            oidc: Some(OidcRequest {
                url: grant.request_url,
                token: WireSecret(Secret::new(grant.request_token)),
            }),
            context: RunContext {
                repository: Some(seed.repository.clone()),
                actor: Some("demo".into()),
                event_name: Some("push".into()),
                git_ref: Some("refs/heads/main".into()),
                sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
                started_at: crate::pure::ca::Timestamp(now).to_string(),
                ..RunContext::default()
            },
            now,
            report_file_name: format!("report-{attempt}.json"),
            event: Default::default(),
            github_api_url: github.api_url(),
            run_id: None,
            https_proxy: None,
            paths: RunnerPaths {
                in_runner: false,
                output: Some(output.display().to_string()),
                step_summary: None,
                temp: dir.display().to_string(),
                person: true,
                colour,
                temp_removed: true,
            },
        };
        let code = match node {
            Some(node) => run_node(node, &env, dir)?,
            None => {
                let runtime = crate::shell::current_thread_runtime().map_err(|e| e.to_string())?;
                runtime.block_on(crate::shell::driver::drive(env, FileRules::anywhere()))
            }
        };
        let outputs = std::fs::read_to_string(&output).unwrap_or_default();
        let result = outputs
            .lines()
            .skip_while(|l| !l.starts_with("result<<"))
            .nth(1)
            .unwrap_or_default()
            .to_string();
        results.push((code == want_code && result == want_result, code, result));
    }
    let live = server.with_vault(|v| v.live_login_tokens().len());
    say("\n━━━ verdict ━━━");
    let ok = results.iter().all(|(as_expected, _, _)| *as_expected);
    let staged_written = server
        .with_vault(|v| v.k8s_config("", "dev-kubernetes"))
        .is_some_and(|c| c.kubernetes_host.contains("127.0.0.11"));
    say(&format!(
        "run 1: {} · run 2: {} · expected failure: {} (exit {}), nothing written: {} · tokens \
         left alive: {live} · requests checked against Vault's OpenAPI spec: {} · check runs \
         posted to the GitHub stand-in: {}",
        results[0].2,
        results[1].2,
        results[2].2,
        results[2].1,
        !staged_written,
        server.requests().len(),
        github.check_runs().len()
    ));
    if ok && live == 0 && !staged_written {
        say("the first run wrote the config and ESO's login proved it, the second found nothing to \
             change, the expected failure was named before any write, and every token was revoked");
        Ok(())
    } else {
        Err(format!(
            "unexpected results {results:?}, {live} live tokens"
        ))
    }
}
