//! The shipped container image (`dist/Dockerfile`), run with podman the way the GitHub runner runs
//! a container action: the runner's mounts and working directory, every variable forwarded by name
//! (`-e NAME`, the value in podman's own environment), container paths in the values, the
//! image's entrypoint with action.yml's `args`. The dev server runs in this process; the container
//! reaches it over the host's loopback (`--network host`).
//!
//! `.ci/image` builds the image and runs this file with `VKH_IMAGE` naming it. Without
//! `VKH_IMAGE` the tests pass with a note, except under `CI=true`: CI must run the real image.
//! This file never builds an image and never skips one it was given: a podman that cannot run the
//! image fails the test.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{harness, parse_outputs, Harness};
use vault_k8s_handshake::devserver::job_claims;
use vault_k8s_handshake::devserver::kube::{KubeApiServer, KubeOptions};
use vault_k8s_handshake::pure::ca::{fingerprints_of_pem, is_canonical_pem};
use vault_k8s_handshake::pure::contract::{InputDefault, INPUTS};

/// Generous: a loaded 2-core machine, a cold podman. A healthy run takes a few seconds.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// The runner names file-command files after a GUID per step.
const STEP_ID: &str = "8c1e6f0a-5d1b-4c4e-9a43-2f7d8b1c0e57";
/// Where the runner mounts its folders inside the container (docs/actions-behaviour.md §2.3).
const WORKSPACE: &str = "/github/workspace";
const RUNNER_TEMP: &str = "/github/runner_temp";
const FILE_COMMANDS: &str = "/github/file_commands";
const HOME: &str = "/github/home";
const WORKFLOW: &str = "/github/workflow";

/// The image to test, or `None` (with a note) when none is named outside CI.
fn image_under_test() -> Option<String> {
    match std::env::var("VKH_IMAGE") {
        Ok(image) if !image.trim().is_empty() => Some(image),
        _ => {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !in_ci,
                "CI=true but VKH_IMAGE is not set: CI must build and run the real image \
                 with `bash .ci/image`"
            );
            eprintln!(
                "note: VKH_IMAGE is not set, so the container image is not tested here; \
                 `bash .ci/image` builds it and runs this test against it"
            );
            None
        }
    }
}

/// `podman` with the settings these machines need: no default ulimits (the sandbox refuses
/// setrlimit) unless the caller already chose a containers.conf, and runc (crun cannot run with
/// hybrid cgroups). See CONTRIBUTING.md, "The image without Docker".
fn podman(scratch: &Path) -> Command {
    let mut cmd = Command::new("podman");
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        let conf = scratch.join("containers.conf");
        std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
        cmd.env("CONTAINERS_CONF", conf);
    }
    cmd.args(["--runtime", "runc"]);
    cmd
}

fn run_podman(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("podman cannot start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn real_image_follows_the_container_action_rules() {
    let Some(image) = image_under_test() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let format = "{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{.Config.User}}|\
                  {{.Config.WorkingDir}}|{{.Os}}/{{.Architecture}}|{{len .RootFS.Layers}}";
    let got =
        run_podman(podman(scratch.path()).args(["image", "inspect", "--format", format, &image]));
    // Exec form with an absolute path, `run` as the command (action.yml's `args` says the same),
    // no USER, no WORKDIR, one layer: the binary.
    assert_eq!(
        got.trim(),
        r#"["/vault-k8s-handshake"]|["run"]|||linux/amd64|1"#,
        "{image}"
    );
}

/// The host side of the runner's folders for one step.
struct Layout {
    workspace: PathBuf,
    runner_temp: PathBuf,
    file_commands: PathBuf,
    home: PathBuf,
    workflow: PathBuf,
}

impl Layout {
    /// The folders and files the runner creates before a step: `_github_home`,
    /// `_github_workflow/event.json`, and empty file-command files named after the step.
    fn create(h: &Harness) -> Layout {
        let runner_temp = h.runner_temp.clone();
        let layout = Layout {
            workspace: h.workspace.clone(),
            file_commands: runner_temp.join("_runner_file_commands"),
            home: runner_temp.join("_github_home"),
            workflow: runner_temp.join("_github_workflow"),
            runner_temp,
        };
        for dir in [&layout.file_commands, &layout.home, &layout.workflow] {
            std::fs::create_dir_all(dir).unwrap();
        }
        for kind in [
            "add_path",
            "set_env",
            "step_summary",
            "save_state",
            "set_output",
        ] {
            std::fs::write(layout.file_commands.join(format!("{kind}_{STEP_ID}")), "").unwrap();
        }
        let event = serde_json::json!({
            "ref": "refs/heads/main",
            "after": "0123456789abcdef0123456789abcdef01234567",
            "repository": { "full_name": h.seed.repository },
            "sender": { "login": "octocat" },
        });
        std::fs::write(layout.workflow.join("event.json"), event.to_string()).unwrap();
        layout
    }

    /// `-v host:container` for each mount, in the runner's order.
    fn volumes(&self) -> Vec<String> {
        [
            (&self.runner_temp, RUNNER_TEMP),
            (&self.home, HOME),
            (&self.workflow, WORKFLOW),
            (&self.file_commands, FILE_COMMANDS),
            (&self.workspace, WORKSPACE),
        ]
        .iter()
        .map(|(host, container)| format!("{}:{container}", host.display()))
        .collect()
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The environment the runner hands a container action, with container paths.
fn runner_env(h: &Harness, request_url: &str, request_token: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    // Every declared input arrives; the runner merges literal defaults and evaluates
    // `${{ github.token }}`, which has no value here.
    for spec in INPUTS {
        let default = match spec.default {
            InputDefault::Literal(d) if !d.contains("${{") => d,
            _ => "",
        };
        vars.insert(spec.name.to_string(), default.to_string());
    }
    for (name, value) in [
        ("vault-addr", h.server.url()),
        ("environment", h.seed.environment.clone()),
        ("jwt-role", h.seed.jwt_role()),
        ("ca-file", "k8s-ca.crt".to_string()),
        ("allow-loopback-host", "true".to_string()),
        ("probe", "auto".to_string()),
    ] {
        vars.insert(name.to_string(), value);
    }
    // The runner's rule: `INPUT_` + the name upper-cased, only spaces replaced: hyphens stay.
    let mut env: BTreeMap<String, String> = vars
        .into_iter()
        .map(|(name, value)| {
            (
                format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
                value,
            )
        })
        .collect();
    let file_command = |kind: &str| format!("{FILE_COMMANDS}/{kind}_{STEP_ID}");
    for (name, value) in [
        ("HOME", HOME.to_string()),
        ("GITHUB_ACTIONS", "true".to_string()),
        ("CI", "true".to_string()),
        ("GITHUB_WORKSPACE", WORKSPACE.to_string()),
        ("RUNNER_TEMP", RUNNER_TEMP.to_string()),
        ("GITHUB_OUTPUT", file_command("set_output")),
        ("GITHUB_STEP_SUMMARY", file_command("step_summary")),
        ("GITHUB_ENV", file_command("set_env")),
        ("GITHUB_STATE", file_command("save_state")),
        ("GITHUB_PATH", file_command("add_path")),
        ("GITHUB_EVENT_PATH", format!("{WORKFLOW}/event.json")),
        ("GITHUB_EVENT_NAME", "push".to_string()),
        ("GITHUB_REPOSITORY", h.seed.repository.clone()),
        ("GITHUB_RUN_ID", "4242".to_string()),
        ("GITHUB_RUN_ATTEMPT", "1".to_string()),
        (
            "GITHUB_SHA",
            "0123456789abcdef0123456789abcdef01234567".to_string(),
        ),
        ("GITHUB_REF", "refs/heads/main".to_string()),
        ("GITHUB_ACTOR", "octocat".to_string()),
        ("GITHUB_WORKFLOW", "handshake".to_string()),
        ("GITHUB_SERVER_URL", "https://github.com".to_string()),
        ("GITHUB_API_URL", "https://api.github.com".to_string()),
        ("RUNNER_OS", "Linux".to_string()),
        ("RUNNER_ARCH", "X64".to_string()),
        // Not mounted: the runner leaves host paths that do not exist inside.
        ("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache".to_string()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.to_string()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token.to_string()),
    ] {
        env.insert(name.to_string(), value);
    }
    env
}

/// `text` with each line behind `| `, so no line reads as a workflow command.
fn quote(text: &str) -> String {
    text.lines().map(|l| format!("| {l}\n")).collect()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd`, killing container `name` if it outlives `RUN_TIMEOUT`.
fn run_container(cmd: Command, name: &str, scratch: &Path) -> Run {
    run_container_with(cmd, name, scratch, || {})
}

/// `run_container`, calling `tick` every 100 ms while the container runs.
fn run_container_with(mut cmd: Command, name: &str, scratch: &Path, mut tick: impl FnMut()) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("podman cannot start: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        tick();
        if Instant::now() > deadline {
            let _ = podman(scratch).args(["rm", "--force", name]).output();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let run = Run {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert!(
        status.is_some(),
        "the container ran longer than {RUN_TIMEOUT:?}\nstdout:\n{}stderr:\n{}",
        quote(&run.stdout),
        quote(&run.stderr)
    );
    run
}

/// An OIDC grant for a push job of the seed's repository and environment, and the environment
/// the runner gives the container for it.
fn push_job(
    h: &Harness,
) -> (
    vault_k8s_handshake::devserver::OidcGrant,
    BTreeMap<String, String>,
) {
    let grant = h.server.grant_oidc(job_claims(
        &h.seed.repository,
        &h.seed.environment,
        "refs/heads/main",
        "push",
    ));
    let env = runner_env(h, &grant.request_url, &grant.request_token);
    (grant, env)
}

/// The runner's `docker run` (docs/actions-behaviour.md §2.3), plus `--read-only` with no tmpfs: the
/// image's root takes no writes, so everything the action writes must land in a mount.
/// `--http-proxy=false`: docker forwards no proxy variables the runner did not set.
fn container_command(
    scratch: &Path,
    name: &str,
    env: &BTreeMap<String, String>,
    layout: &Layout,
    image: &str,
) -> Command {
    let mut cmd = podman(scratch);
    cmd.args(["run", "--name", name, "--workdir", WORKSPACE, "--rm"]);
    for name in env.keys() {
        cmd.args(["-e", name]);
    }
    cmd.envs(env);
    cmd.args([
        "--network",
        "host",
        "--read-only",
        "--read-only-tmpfs=false",
        "--http-proxy=false",
        "--pull=never",
    ]);
    for volume in layout.volumes() {
        cmd.args(["-v", &volume]);
    }
    // action.yml's `args`.
    cmd.args([image, "run"]);
    cmd
}

#[test]
fn real_image_stops_revokes_and_reports_when_cancelled() {
    let Some(image) = image_under_test() else {
        return;
    };
    let h = harness();
    // The VIP read stalls: the runner's cancel (SIGTERM to the container's PID 1) arrives then.
    h.server.inject(vault_k8s_handshake::devserver::Fault::new(
        "/v1/kv/dev/data/ip",
        vault_k8s_handshake::devserver::FaultKind::Hang { ms: 120_000 },
        1,
    ));
    let layout = Layout::create(&h);
    let scratch = tempfile::tempdir().unwrap();
    let (grant, env) = push_job(&h);
    let name = format!("vkh-image-cancel-{}", std::process::id());
    let cmd = container_command(scratch.path(), &name, &env, &layout, &image);
    let mut sent = false;
    let run = run_container_with(cmd, &name, scratch.path(), || {
        if !sent && h.server.with_vault(|v| v.live_login_tokens().len()) > 0 {
            // `docker kill --signal` is what the runner's cancel amounts to for a container.
            let _ = podman(scratch.path())
                .args(["kill", "--signal", "TERM", &name])
                .output();
            sent = true;
        }
    });
    let context = format!(
        "stdout:\n{}stderr:\n{}",
        quote(&run.stdout),
        quote(&run.stderr)
    );
    assert!(sent, "the run never logged in:\n{context}");
    let mut secrets = h.secrets_seen(&h.server.requests());
    secrets.push(grant.request_token.clone());
    common::runner_log::assert_runner_safe(&run.stdout, &run.stderr, &secrets);
    assert_ne!(run.code, Some(0), "{context}");
    let outputs = parse_outputs(
        &std::fs::read_to_string(layout.file_commands.join(format!("set_output_{STEP_ID}")))
            .unwrap(),
    );
    assert_eq!(
        outputs.get("result").map(String::as_str),
        Some("cancelled"),
        "{context}"
    );
    assert_eq!(
        h.live_tokens(),
        0,
        "the token must die with the run:\n{context}"
    );
    assert!(h
        .server
        .with_vault(|v| v.k8s_config("", "dev-kubernetes"))
        .is_none());
}

#[test]
fn real_image_writes_the_config_as_a_container_action() {
    let Some(image) = image_under_test() else {
        return;
    };
    let h = harness();
    let layout = Layout::create(&h);
    let scratch = tempfile::tempdir().unwrap();
    let (grant, env) = push_job(&h);
    let before = snapshot(&h.root);

    let name = format!("vkh-image-test-{}", std::process::id());
    let cmd = container_command(scratch.path(), &name, &env, &layout, &image);
    let run = run_container(cmd, &name, scratch.path());
    // Quoted: this test's own log may run in a GitHub job, whose runner would otherwise take the
    // container's `::warning::` and `::group::` lines as its own workflow commands.
    let context = format!(
        "stdout:\n{}stderr:\n{}",
        quote(&run.stdout),
        quote(&run.stderr)
    );
    eprintln!("{context}");
    assert_eq!(run.code, Some(0), "{context}");
    // What the runner would show of it: no secret, no command this project does not send.
    let mut secrets = h.secrets_seen(&h.server.requests());
    secrets.push(grant.request_token.clone());
    common::runner_log::assert_runner_safe(&run.stdout, &run.stderr, &secrets);

    // Secrets are masked before anything else is printed: the request token first of all.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let masks = lines
        .iter()
        .take_while(|l| l.starts_with("::add-mask::"))
        .count();
    assert!(masks >= 1, "the first line is not a mask:\n{context}");
    let token_mask = format!("::add-mask::{}", grant.request_token);
    assert!(
        lines[..masks].contains(&token_mask.as_str()),
        "the request token is not masked first:\n{context}"
    );

    // Outputs, as the runner parses them.
    let outputs_text =
        std::fs::read_to_string(layout.file_commands.join(format!("set_output_{STEP_ID}")))
            .unwrap();
    let outputs = parse_outputs(&outputs_text);
    let output = |name: &str| outputs.get(name).map(String::as_str).unwrap_or_default();
    assert_eq!(output("result"), "changed", "{outputs:?}\n{context}");
    assert_eq!(output("changed"), "true", "{outputs:?}");
    assert_eq!(output("mount"), "dev-kubernetes", "{outputs:?}");
    assert_eq!(output("kubernetes-host"), "https://127.0.0.10:6443");
    let fingerprint = fingerprints_of_pem(&h.ca_pem)[0].clone();
    assert_eq!(output("ca-fingerprint"), fingerprint);
    assert_eq!(output("error-message"), "");
    // Paths in outputs are the container's; the file is on the host under RUNNER_TEMP.
    let report = output("report-path");
    let report_name = report
        .strip_prefix(&format!("{RUNNER_TEMP}/"))
        .unwrap_or_else(|| panic!("report-path {report:?} is not under {RUNNER_TEMP}"));
    let report_host = layout.runner_temp.join(report_name);
    let report_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_host).unwrap()).unwrap();
    assert_eq!(
        report_json["written"]["kubernetes_host"],
        "https://127.0.0.10:6443"
    );

    let summary =
        std::fs::read_to_string(layout.file_commands.join(format!("step_summary_{STEP_ID}")))
            .unwrap();
    assert!(
        summary.contains(&fingerprint),
        "step summary:\n{}",
        quote(&summary)
    );

    // Vault's side: the canonical CA and the host stored, the minted token revoked.
    let stored = h
        .server
        .with_vault(|v| v.k8s_config("", "dev-kubernetes"))
        .expect("config written");
    assert_eq!(stored.kubernetes_host, "https://127.0.0.10:6443");
    assert_eq!(stored.kubernetes_ca_cert, h.ca_pem.replace("\r\n", "\n"));
    assert!(is_canonical_pem(&stored.kubernetes_ca_cert));
    assert!(stored.disable_local_ca_jwt);
    assert_eq!(h.live_tokens(), 0, "a login token is still alive");

    // The only files the run changed or added: the output and summary files and the report.
    // Everything else in the mounts (the workspace, home, the event, the other file commands)
    // is byte for byte what it was.
    let after = snapshot(&h.root);
    let expected_changes: Vec<PathBuf> = vec![
        layout.file_commands.join(format!("set_output_{STEP_ID}")),
        layout.file_commands.join(format!("step_summary_{STEP_ID}")),
        report_host,
    ];
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
        .map(|(path, _)| path)
        .collect();
    let removed: Vec<&PathBuf> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    assert_eq!(changed, expected_changes.iter().collect::<Vec<_>>());
    assert!(removed.is_empty(), "removed: {removed:?}");

    // The request token reached nothing but its mask line.
    let secret = grant.request_token.as_str();
    assert!(secret.len() > 16);
    let printed = run.stdout.replace(&token_mask, "");
    for (what, text) in [
        ("stdout", printed.as_str()),
        ("stderr", run.stderr.as_str()),
        ("outputs", outputs_text.as_str()),
        ("summary", summary.as_str()),
    ] {
        assert!(
            !text.contains(secret),
            "the request token leaked into {what}"
        );
    }
    for (path, bytes) in &after {
        assert!(
            !String::from_utf8_lossy(bytes).contains(secret),
            "the request token leaked into {path:?}"
        );
    }
}

#[test]
fn real_image_verifies_the_api_server_tls_without_a_proof() {
    let Some(image) = image_under_test() else {
        return;
    };
    // An API server stand-in on the VIP whose certificate the given CA signs, for the VIP's
    // address: the probe from inside the container verifies it. No proof token is given, so the
    // verdict is `tls-verified`, not `proven`.
    let vip: std::net::IpAddr = common::VIP.parse().unwrap();
    let kube = KubeApiServer::start(KubeOptions::at(vip)).unwrap();
    let mut h = harness();
    h.ca_pem = kube.ca_pem();
    std::fs::write(h.workspace.join("k8s-ca.crt"), &h.ca_pem).unwrap();
    let layout = Layout::create(&h);
    let scratch = tempfile::tempdir().unwrap();
    let (grant, mut env) = push_job(&h);
    let kube_port = kube.addr().port().to_string();
    env.insert("INPUT_VIP-PORT".into(), kube_port.clone());
    env.insert("INPUT_PROBE".into(), "require".into());

    let name = format!("vkh-image-tls-{}", std::process::id());
    let cmd = container_command(scratch.path(), &name, &env, &layout, &image);
    let run = run_container(cmd, &name, scratch.path());
    let context = format!(
        "stdout:\n{}stderr:\n{}",
        quote(&run.stdout),
        quote(&run.stderr)
    );
    assert_eq!(run.code, Some(0), "{context}");
    let mut secrets = h.secrets_seen(&h.server.requests());
    secrets.push(grant.request_token.clone());
    common::runner_log::assert_runner_safe(&run.stdout, &run.stderr, &secrets);

    let outputs = parse_outputs(
        &std::fs::read_to_string(layout.file_commands.join(format!("set_output_{STEP_ID}")))
            .unwrap(),
    );
    let output = |name: &str| outputs.get(name).map(String::as_str).unwrap_or_default();
    assert_eq!(output("result"), "changed", "{outputs:?}\n{context}");
    assert_eq!(
        output("verification"),
        "tls-verified",
        "{outputs:?}\n{context}"
    );
    let host = format!("https://{}:{kube_port}", common::VIP);
    assert_eq!(output("kubernetes-host"), host, "{outputs:?}");
    assert_eq!(output("error-message"), "", "{outputs:?}");
    // The probe's line names the certificate it verified, signed by the CA that was uploaded.
    assert!(
        run.stdout
            .contains("signed by the given CA and valid for the host"),
        "{context}"
    );
    let summary =
        std::fs::read_to_string(layout.file_commands.join(format!("step_summary_{STEP_ID}")))
            .unwrap();
    // What a verified probe leaves unchecked is named: the login proof's part.
    assert!(summary.contains("auth-delegator"), "{}", quote(&summary));
    let stored = h
        .server
        .with_vault(|v| v.k8s_config("", "dev-kubernetes"))
        .expect("config written");
    assert_eq!(stored.kubernetes_host, host);
    assert_eq!(stored.kubernetes_ca_cert, h.ca_pem.replace("\r\n", "\n"));
    assert_eq!(h.live_tokens(), 0, "a login token is still alive");
}
