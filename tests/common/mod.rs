//! The harness shared by the tests that run the action's binary against the dev server.
//!
//! Every run goes through the runner's own parsing (`runner_log`) and a scan of every channel
//! that leaves the process (stdout, stderr, the output, summary and report files) for every
//! secret the run held: its inputs, the OIDC request token, and each JWT and Vault token that
//! crossed the dev server.
#![allow(dead_code)]

pub mod proxy;
pub mod runner_log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use vault_k8s_handshake::devserver::cluster;
use vault_k8s_handshake::devserver::seed::{self, Seed};
use vault_k8s_handshake::devserver::vault::K8sConfig;

use vault_k8s_handshake::devserver::{DevServer, ServerOptions};
use vault_k8s_handshake::pure::contract::{InputDefault, INPUTS};

pub const VIP: &str = "127.0.0.10";

pub struct Harness {
    pub server: DevServer,
    pub seed: Seed,
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub workspace: PathBuf,
    pub runner_temp: PathBuf,
    pub ca_pem: String,
    /// When set, the OIDC request URL the run gets has this origin (`https://token.test:8200`)
    /// instead of the dev server's plain-http issuer listener; the path stays, and every
    /// listener of the dev server answers it.
    pub oidc_origin: Option<String>,
    /// The image driver's container of the run in progress (named so a cancel can reach it).
    container: std::sync::Mutex<Option<String>>,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    /// Requests the server received during this run.
    pub requests: Vec<vault_k8s_handshake::devserver::RecordedRequest>,
}

impl Outcome {
    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn wrote_config(&self, mount: &str) -> bool {
        self.requests
            .iter()
            .any(|r| r.method == "POST" && r.path == format!("auth/{mount}/config"))
    }
}

pub fn harness_with(seed: Seed, options: ServerOptions) -> Harness {
    let server = DevServer::start(options).unwrap();
    seed::seed(&server, &seed).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let workspace = root.join("workspace");
    let runner_temp = root.join("runner_temp");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::create_dir_all(runner_temp.join("_runner_file_commands")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let out = cluster::write_bootstrap_output(&workspace, now).unwrap();
    Harness {
        server,
        seed,
        _tmp: tmp,
        root,
        workspace,
        runner_temp,
        ca_pem: out.ca.pem,
        oidc_origin: None,
        container: std::sync::Mutex::new(None),
    }
}

/// The action as the run tests start it: the native binary, or with `VKH_DRIVER=node` the Node
/// action's bundle (`node/dist/index.js`) under `VKH_NODE` (default `node`), with the same
/// environment, so every run test holds each driver to the same assertions. `VKH_DRIVER=image`
/// runs the real image instead (`VKH_IMAGE`, see `Harness::image_command`).
pub fn driver_command() -> Command {
    match std::env::var("VKH_DRIVER").as_deref() {
        Ok("node") => {
            let node = std::env::var("VKH_NODE").unwrap_or_else(|_| "node".into());
            let mut cmd = Command::new(node);
            cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("node/dist/index.js"));
            cmd
        }
        Ok("native") | Err(_) => {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault-k8s-handshake"));
            cmd.arg("run");
            cmd
        }
        Ok(other) => panic!("VKH_DRIVER is `{other}`: use `native`, `node` or `image`"),
    }
}

/// The seed's VIP as an address, for a kube-apiserver stand-in to listen on.
pub fn vip_ip() -> std::net::IpAddr {
    VIP.parse().unwrap()
}

/// The dev Vault seeded with the VIP, and a kube-apiserver stand-in started with `options`
/// whose CA is the workspace's `k8s-ca.crt`.
pub fn harness_on_cluster(
    options: vault_k8s_handshake::devserver::kube::KubeOptions,
) -> (Harness, vault_k8s_handshake::devserver::kube::KubeApiServer) {
    harness_on_cluster_serving(options, ServerOptions::default())
}

/// [`harness_on_cluster`], with the dev server started with `server`.
pub fn harness_on_cluster_serving(
    options: vault_k8s_handshake::devserver::kube::KubeOptions,
    server: ServerOptions,
) -> (Harness, vault_k8s_handshake::devserver::kube::KubeApiServer) {
    let kube = vault_k8s_handshake::devserver::kube::KubeApiServer::start(options).unwrap();
    let mut h = harness_serving(server);
    h.ca_pem = kube.ca_pem();
    std::fs::write(h.workspace.join("k8s-ca.crt"), &h.ca_pem).unwrap();
    (h, kube)
}

pub fn harness() -> Harness {
    harness_serving(ServerOptions::default())
}

/// The seeded `dev` environment on a dev server started with `options`.
pub fn harness_serving(options: ServerOptions) -> Harness {
    harness_with(Seed::new("dev", VIP), options)
}

impl Harness {
    /// Runs the binary like the runner runs a container action. `inputs` override the defaults
    /// (every declared input arrives, unset ones empty); `env` adds or, with an empty value,
    /// removes variables.
    pub fn run(&self, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Outcome {
        self.run_controlled(inputs, env, |_| {})
    }

    /// `run`, with `during` called once the process is started, given its pid (to signal it).
    /// Sends `signal` (`TERM`, `INT`) as the runner's cancel reaches the action: to the driver's
    /// process, or, for the image driver, to the container (`podman kill --signal`, what
    /// `docker kill` on the runner amounts to; a signal to `podman run` itself is proxied only
    /// once podman has set its proxy up, which a loaded machine can delay past the point the
    /// test waits for).
    pub fn signal(&self, pid: u32, signal: &str) {
        let container = self.container.lock().unwrap().clone();
        let status = match container {
            Some(name) if std::env::var("VKH_DRIVER").as_deref() == Ok("image") => {
                Command::new("podman")
                    .args(["kill", "--signal", signal, &name])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap()
            }
            _ => Command::new("kill")
                .args(["-s", signal, &pid.to_string()])
                .status()
                .unwrap(),
        };
        assert!(status.success(), "could not send SIG{signal}");
    }

    pub fn run_controlled(
        &self,
        inputs: &[(&str, &str)],
        env: &[(&str, &str)],
        during: impl FnOnce(u32),
    ) -> Outcome {
        self.run_wrapped(&[], inputs, env, during)
    }

    /// `run_controlled`, with the driver started by `wrapper` (e.g. `unshare --net`): the
    /// wrapper's words come first, then the driver's command line.
    pub fn run_wrapped(
        &self,
        wrapper: &[&str],
        inputs: &[(&str, &str)],
        env: &[(&str, &str)],
        during: impl FnOnce(u32),
    ) -> Outcome {
        let before = self.server.requests().len();
        let files = self.runner_temp.join("_runner_file_commands");
        let output = files.join("set_output_1");
        let summary = files.join("step_summary_1");
        let github_env = files.join("set_env_1");
        for f in [&output, &summary, &github_env] {
            std::fs::write(f, "").unwrap();
        }
        let grant = self
            .server
            .grant_oidc(vault_k8s_handshake::devserver::job_claims(
                &self.seed.repository,
                &self.seed.environment,
                "refs/heads/main",
                "push",
            ));
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for spec in INPUTS {
            // The runner evaluates `${{ github.token }}`; tests pass what it would, or nothing.
            let default = match spec.default {
                InputDefault::Literal(d) if !d.contains("${{") => d,
                _ => "",
            };
            vars.insert(
                format!("INPUT_{}", spec.name.to_uppercase()),
                default.to_string(),
            );
        }
        let base_inputs = [
            ("vault-addr", self.server.url()),
            ("environment", self.seed.environment.clone()),
            ("jwt-role", self.seed.jwt_role()),
            ("ca-file", "k8s-ca.crt".to_string()),
            ("allow-loopback-host", "true".to_string()),
        ];
        for (k, v) in base_inputs {
            vars.insert(format!("INPUT_{}", k.to_uppercase()), v);
        }
        for (k, v) in inputs {
            vars.insert(format!("INPUT_{}", k.to_uppercase()), v.to_string());
        }
        for (k, v) in [
            ("GITHUB_ACTIONS", "true".to_string()),
            ("CI", "true".to_string()),
            ("GITHUB_WORKSPACE", self.workspace.display().to_string()),
            ("RUNNER_TEMP", self.runner_temp.display().to_string()),
            ("GITHUB_OUTPUT", output.display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("GITHUB_ENV", github_env.display().to_string()),
            ("GITHUB_EVENT_NAME", "push".to_string()),
            ("GITHUB_REPOSITORY", self.seed.repository.clone()),
            ("GITHUB_RUN_ID", "4242".to_string()),
            ("GITHUB_RUN_ATTEMPT", "1".to_string()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            ),
            ("GITHUB_REF", "refs/heads/main".to_string()),
            ("GITHUB_ACTOR", "octocat".to_string()),
            ("GITHUB_SERVER_URL", "https://github.com".to_string()),
            ("HOME", self.root.join("home").display().to_string()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                match (&self.oidc_origin, grant.request_url.find("/_github/")) {
                    (Some(origin), Some(at)) => format!("{origin}{}", &grant.request_url[at..]),
                    _ => grant.request_url.clone(),
                },
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                grant.request_token.clone(),
            ),
        ] {
            vars.insert(k.to_string(), v);
        }
        for (k, v) in env {
            if v.is_empty() {
                vars.remove(*k);
            } else {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        let mut command = match std::env::var("VKH_DRIVER").as_deref() {
            Ok("image") => {
                assert!(wrapper.is_empty(), "the image driver runs unwrapped");
                self.image_command(&vars)
            }
            _ => {
                let driver = driver_command();
                let mut command = match wrapper.split_first() {
                    Some((program, args)) => {
                        let mut c = Command::new(program);
                        c.args(args)
                            .arg(driver.get_program())
                            .args(driver.get_args());
                        c
                    }
                    None => driver,
                };
                command.env_clear().envs(&vars);
                command
            }
        };
        let child = command
            .current_dir(&self.workspace)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        during(child.id());
        let result = child.wait_with_output().unwrap();
        let outputs = parse_outputs(&std::fs::read_to_string(&output).unwrap());
        let outcome = Outcome {
            code: result.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&result.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
            outputs,
            summary: std::fs::read_to_string(&summary).unwrap(),
            requests: self.server.requests()[before..].to_vec(),
        };
        let mut secrets = self.secrets_seen(&outcome.requests);
        secrets.push(grant.request_token.clone());
        for name in ["vault-token", "proof-jwt", "github-token"] {
            if let Some(v) = vars.get(&format!("INPUT_{}", name.to_uppercase())) {
                secrets.push(v.trim().to_string());
            }
        }
        for (name, value) in &vars {
            if name.to_ascii_lowercase().ends_with("_proxy") {
                secrets.extend(proxy_credentials(value));
            }
        }
        secrets.retain(|s| s.len() >= 4);
        self.assert_no_secret_leaves(&outcome, &secrets);
        outcome
    }

    /// The real image (`VKH_IMAGE`) run as the runner runs a container action: `podman run` with
    /// the host network (the dev server is on loopback), a read-only root, the test's folder
    /// mounted at the same path (so every path in the environment holds inside), and each
    /// variable passed by name with `-e NAME`, the value in podman's own environment.
    fn image_command(&self, vars: &BTreeMap<String, String>) -> Command {
        let image = std::env::var("VKH_IMAGE").expect("VKH_DRIVER=image needs VKH_IMAGE");
        let mut cmd = Command::new("podman");
        // No default ulimits (the sandbox refuses setrlimit) and runc (crun refuses hybrid
        // cgroups): CONTRIBUTING.md, "The image without Docker".
        if std::env::var_os("CONTAINERS_CONF").is_none() {
            let conf = self.root.join("containers.conf");
            std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
            cmd.env("CONTAINERS_CONF", conf);
        }
        let mount = format!("{}:{}", self.root.display(), self.root.display());
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "vkh-test-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        *self.container.lock().unwrap() = Some(name.clone());
        cmd.args(["--runtime", "runc", "run", "--rm", "--network", "host"])
            .args(["--name", &name])
            .args([
                "--read-only",
                "--read-only-tmpfs=false",
                "--http-proxy=false",
            ])
            .args(["--pull=never", "-v", &mount, "--workdir"])
            .arg(&self.workspace);
        for name in vars.keys() {
            cmd.args(["-e", name]);
        }
        cmd.envs(vars).args([image.as_str(), "run"]);
        cmd
    }

    /// Every token and JWT that crossed the dev server: presented tokens, bearer tokens, the
    /// `jwt` of logins, and every token Vault minted or revoked.
    pub fn secrets_seen(
        &self,
        requests: &[vault_k8s_handshake::devserver::RecordedRequest],
    ) -> Vec<String> {
        let mut secrets = Vec::new();
        for r in requests {
            for (name, value) in &r.headers {
                match name.to_ascii_lowercase().as_str() {
                    "x-vault-token" => secrets.push(value.clone()),
                    "authorization" => secrets.push(
                        value
                            .split_once(' ')
                            .map(|(_, t)| t)
                            .unwrap_or(value)
                            .to_string(),
                    ),
                    _ => {}
                }
            }
            if let Ok(body) = serde_json::from_str::<serde_json::Value>(&r.body) {
                if let Some(jwt) = body.get("jwt").and_then(|v| v.as_str()) {
                    secrets.push(jwt.to_string());
                }
            }
        }
        self.server.with_vault(|v| {
            secrets.extend(v.live_login_tokens());
            secrets.extend(v.revoked_tokens().iter().cloned());
        });
        secrets.retain(|s| s.trim().len() >= 4);
        secrets.sort();
        secrets.dedup();
        secrets
    }

    /// No secret in what the runner would show, in the output and summary files, or in any
    /// report the run left under the runner's temp folder; no command the project does not send.
    pub fn assert_no_secret_leaves(&self, o: &Outcome, secrets: &[String]) {
        runner_log::assert_runner_safe(&o.stdout, &o.stderr, secrets);
        let mut files = vec![(
            "outputs",
            o.outputs.values().cloned().collect::<Vec<_>>().join("\n"),
        )];
        files.push(("summary", o.summary.clone()));
        if let Ok(dir) = std::fs::read_dir(&self.runner_temp) {
            for entry in dir.flatten() {
                if entry.path().extension().is_some_and(|e| e == "json") {
                    files.push((
                        "report",
                        std::fs::read_to_string(entry.path()).unwrap_or_default(),
                    ));
                }
            }
        }
        use vault_k8s_handshake::pure::command::{escape_html, escape_markdown};
        for (channel, text) in files {
            for s in secrets {
                for form in [s.clone(), escape_markdown(s), escape_html(s)] {
                    assert!(
                        !text.contains(form.as_str()),
                        "a secret reached the {channel}:\n{text}"
                    );
                }
            }
        }
    }

    pub fn stored(&self, namespace: &str, mount: &str) -> Option<K8sConfig> {
        self.server.with_vault(|v| v.k8s_config(namespace, mount))
    }

    pub fn live_tokens(&self) -> usize {
        self.server.with_vault(|v| v.live_login_tokens().len())
    }
}

/// The credentials a proxy URL carries, in every form a leak could take: `user:password` and
/// the password, as written (percent-encoded) and decoded, and the `Basic` header's base64.
pub fn proxy_credentials(url: &str) -> Vec<String> {
    use base64::Engine as _;
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let decoded = percent_decode(userinfo);
    let mut out = vec![
        userinfo.to_string(),
        decoded.clone(),
        base64::engine::general_purpose::STANDARD.encode(&decoded),
    ];
    if let Some((_, password)) = userinfo.split_once(':') {
        out.push(password.to_string());
        out.push(percent_decode(password));
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3)) {
            (b'%', Some(hex)) if u8::from_str_radix(hex, 16).is_ok() => {
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `GITHUB_OUTPUT` heredoc records as the runner does.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let (name, delimiter) = line.split_once("<<").expect("heredoc form");
        let mut value = Vec::new();
        for body in lines.by_ref() {
            if body == delimiter {
                break;
            }
            value.push(body);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

pub fn assert_ok(o: &Outcome, result: &str) {
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert_eq!(o.output("result"), result, "{}", o.stdout);
    for r in &o.requests {
        assert!(
            r.contract.is_ok(),
            "contract violation: {} {}: {:?}",
            r.method,
            r.path,
            r.contract
        );
    }
}

/// A zip archive of stored (uncompressed) entries, as `actions/upload-artifact` makes them for
/// small files.
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use vault_k8s_handshake::pure::artifact::crc32;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let mut local = Vec::new();
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&20u16.to_le_bytes()); // version needed
        local.extend_from_slice(&0u16.to_le_bytes()); // flags
        local.extend_from_slice(&0u16.to_le_bytes()); // stored
        local.extend_from_slice(&[0, 0, 0, 0]); // time, date
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&(data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(name.len() as u16).to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&local);
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&[0, 0, 0, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // extra, comment, disk
        central.extend_from_slice(&[0, 0]); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The shell commands a hint offers: its backticked spans that start with `vault `.
pub fn hint_commands(text: &str) -> Vec<String> {
    hint_commands_of(text, "vault ")
}

/// A hint's backticked spans that start with `prefix` (e.g. `kubectl create token `).
pub fn hint_commands_of(text: &str, prefix: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// Pastes a hint's last `vault` command into bash, as a person would, with the `vault` CLI
/// stand-in (tests/hints/vault) on PATH, pointed at the dev server with its root token. Panics
/// unless the command succeeds.
pub fn paste_hint(h: &Harness, text: &str) -> String {
    paste_hint_after(h, text, "")
}

/// [`paste_hint`], after `preamble` (e.g. `VIP=127.0.0.10;`, the value a hint asks for).
pub fn paste_hint_after(h: &Harness, text: &str, preamble: &str) -> String {
    let command = hint_commands(text)
        .pop()
        .unwrap_or_else(|| panic!("no `vault …` command in the hint: {text}"));
    let dir = tempfile::tempdir().unwrap();
    let pasted = paste(h, &command, preamble, dir.path(), &[]);
    assert!(
        pasted.code == 0,
        "the pasted hint failed: {command}\nstdout: {}\nstderr: {}",
        pasted.stdout,
        pasted.stderr
    );
    command
}

/// What a pasted command did.
pub struct Pasted {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Pastes the first backticked command of `text` that starts with `prefix` into bash, in `dir`,
/// with `env` added (e.g. `KUBECONFIG` for tests/hints/kubectl). Returns what it did, success
/// or not: a diagnostic command such as `curl` reports a failure by its exit code.
pub fn paste_first(
    h: &Harness,
    text: &str,
    prefix: &str,
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> Pasted {
    let command = hint_commands_of(text, prefix)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no `{prefix}…` command in the hint: {text}"));
    paste(h, &command, "", dir, env)
}

/// Runs `preamble` then `command` in bash with the stand-ins of tests/hints first on PATH
/// (`vault`, `kubectl`), `VAULT_ADDR` and `VAULT_TOKEN` naming the dev server and its root
/// token, no proxy, and `HOME` in a temporary folder (no `~/.curlrc` or `~/.kube/config` of the
/// machine is read). The real `curl` is used: it only contacts the loopback URL the hint names.
pub fn paste(
    h: &Harness,
    command: &str,
    preamble: &str,
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> Pasted {
    let home = tempfile::tempdir().unwrap();
    let out = pasted_command(h, &format!("{preamble}{command}"), dir, home.path(), env)
        .output()
        .unwrap();
    Pasted {
        command: command.to_string(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A pasted command that keeps running (`vault monitor`): started as [`paste`] starts it, its
/// stdout piped. The caller ends it; the returned folder is its `HOME`.
pub fn spawn_pasted(
    h: &Harness,
    command: &str,
    dir: &std::path::Path,
) -> (std::process::Child, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let child = pasted_command(h, command, dir, home.path(), &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (child, home)
}

fn pasted_command(
    h: &Harness,
    script: &str,
    dir: &std::path::Path,
    home: &std::path::Path,
    env: &[(&str, &str)],
) -> Command {
    let shims = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hints");
    let mut child = Command::new("bash");
    child
        .args(["-c", script])
        .env(
            "PATH",
            format!(
                "{}:{}",
                shims.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("VAULT_ADDR", h.server.url())
        .env("VAULT_TOKEN", h.server.root_token())
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .current_dir(dir)
        .stdin(std::process::Stdio::null());
    for proxy in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ] {
        child.env_remove(proxy);
    }
    child.env("NO_PROXY", "*").env("no_proxy", "*");
    for (k, v) in env {
        child.env(k, v);
    }
    child
}
