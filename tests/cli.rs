//! The offline CLI as a user runs it: the real binary, a cleared environment, a fresh temp dir.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2027-01-01T00:00:00Z";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// Expected fingerprints per fixture file, from tests/fixtures/fingerprints.txt (openssl's).
fn fingerprints() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(fixture("fingerprints.txt")).unwrap();
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        map.entry(parts[0].to_string())
            .or_default()
            .push(parts[2].to_string());
    }
    map
}

fn cli(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault-k8s-handshake"));
    cmd.env_clear()
        .current_dir(dir)
        .arg("--now")
        .arg(NOW)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A refusal: exit 2, one `error:` line then one `hint:` line, nothing on stdout, no panic.
fn assert_refused(o: &Output, message: &str, hint: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(message),
        "{err}\nlacks {message:?}"
    );
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains(hint),
        "{err}\nlacks {hint:?}"
    );
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn inspect_ca_reports_every_ca_of_each_real_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let expected = fingerprints();
    let rows: &[(&str, &[usize])] = &[
        ("rke2-server-ca.crt", &[0]),
        ("custom-server-ca-chain.crt", &[0, 1, 2]),
        ("rotation-bundle.crt", &[0, 1, 2, 3]),
        ("kubeadm-ca.crt", &[0]),
        // The leaf is dropped, its CA kept.
        ("serving-kube-apiserver.crt", &[1]),
    ];
    for (name, keep) in rows {
        let o = cli(
            tmp.path(),
            &[],
            &["inspect-ca", "--json", fixture(name).to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let v = json(&o);
        let got: Vec<&str> = v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sha256"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = keep.iter().map(|i| expected[*name][*i].as_str()).collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(v["checked_at"], NOW);
    }
    let o = cli(
        tmp.path(),
        &[],
        &[
            "inspect-ca",
            fixture("rke2-server-ca.crt").to_str().unwrap(),
        ],
    );
    let text = stdout(&o);
    for needle in [
        "serial      00",
        "key         EC P-256",
        "issuer      (self-signed)",
        &expected["rke2-server-ca.crt"][0],
    ] {
        assert!(text.contains(needle), "{text}");
    }
    let leaf = cli(
        tmp.path(),
        &[],
        &[
            "inspect-ca",
            fixture("serving-kube-apiserver.crt").to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&leaf).contains("warning: certificate 1 `CN=kube-apiserver`"),
        "{}",
        stderr(&leaf)
    );
}

#[test]
fn the_canonical_pem_is_what_is_uploaded_whatever_the_input_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let pem = std::fs::read_to_string(fixture("rke2-server-ca.crt")).unwrap();
    let bom_crlf = format!("\u{feff}Bag Attributes\r\n{}", pem.replace('\n', "\r\n"));
    std::fs::write(tmp.path().join("odd.pem"), bom_crlf).unwrap();
    let o = cli(tmp.path(), &[], &["inspect-ca", "--json", "odd.pem"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["pem"], pem);
}

#[test]
fn refused_ca_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("empty.crt"), "").unwrap();
    std::fs::write(d.join("marker.txt"), "SECRETMARKER-not-a-certificate").unwrap();
    std::fs::write(d.join("big.crt"), vec![b'A'; 1024 * 1024 + 1]).unwrap();
    std::fs::create_dir(d.join("folder")).unwrap();
    let fifo = d.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(
        d.join("omitted.yaml"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: DATA+OMITTED\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: REDACTED\n",
    )
    .unwrap();
    let key = fixture("ca-with-key.pem");
    let short = fixture("short-lived-ca.crt");
    let rows: &[(&str, &str, &str)] = &[
        (
            key.to_str().unwrap(),
            "block 2 of the CA input is a private key (`EC PRIVATE KEY`)",
            "never its key",
        ),
        (
            short.to_str().unwrap(),
            "no valid CA certificate",
            "rotate-ca",
        ),
        ("empty.crt", "the CA input is empty", "server-ca.crt"),
        (
            "marker.txt",
            "holds no certificate",
            "kubectl config view --raw",
        ),
        (
            "missing.crt",
            "`ca-file` `missing.crt`: no such file",
            "/github/workspace",
        ),
        (
            "big.crt",
            "is 1048577 bytes, more than the 1048576 bytes",
            "not an archive",
        ),
        (
            "folder",
            "is a directory, not a regular file",
            "not a directory",
        ),
        (
            "pipe",
            "is a pipe, socket or device, not a regular file",
            "not a directory, pipe or device",
        ),
        (
            "/proc/self/status",
            "is a kernel or device file",
            "not a directory, pipe or device",
        ),
        ("omitted.yaml", "DATA+OMITTED", "kubectl config view --raw"),
    ];
    for (path, message, hint) in rows {
        let o = cli(d, &[], &["inspect-ca", path]);
        assert_refused(&o, message, hint);
        assert!(
            !stderr(&o).contains("SECRETMARKER"),
            "input bytes echoed: {}",
            stderr(&o)
        );
    }
}

#[test]
fn kubeconfig_file_references_resolve_against_the_kubeconfig_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("cluster");
    std::fs::create_dir_all(conf.join("tls")).unwrap();
    std::fs::copy(
        fixture("rke2-server-ca.crt"),
        conf.join("tls/server-ca.crt"),
    )
    .unwrap();
    std::fs::write(
        conf.join("admin.kubeconfig"),
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority: tls/server-ca.crt\n    server: https://127.0.0.1:6443\n  name: local\ncontexts:\n- context:\n    cluster: local\n    namespace: default\n    user: user\n  name: Default\ncurrent-context: Default\nkind: Config\npreferences: {}\nusers:\n- name: user\n  user:\n    client-certificate: tls/client-admin.crt\n    client-key: tls/client-admin.key\n",
    )
    .unwrap();
    // Run from elsewhere: the reference must not resolve against the working directory.
    let o = cli(
        tmp.path(),
        &[],
        &["inspect-ca", "--json", "cluster/admin.kubeconfig"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        json(&o)["fingerprints"][0],
        fingerprints()["rke2-server-ca.crt"][0]
    );
    assert!(stdout(&o).contains("cluster/tls/server-ca.crt"));
    assert!(stderr(&o).contains("carries client credentials (`client-certificate`, `client-key`)"));
}

#[test]
fn kubeconfig_with_credentials_gets_a_loud_warning_naming_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    let o = cli(
        tmp.path(),
        &[],
        &["inspect-ca", fixture("rke2.yaml").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("carries client credentials (`client-certificate-data`, `client-key-data`)"),
        "{err}"
    );
    assert!(err.contains("cluster-admin credential"), "{err}");
    assert!(
        err.contains("certificate-authority-data}' | base64 -d > k8s-ca.crt"),
        "{err}"
    );
    // The key in the kubeconfig is never part of the output.
    let yaml = std::fs::read_to_string(fixture("rke2.yaml")).unwrap();
    let key_b64 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-key-data: "))
        .unwrap();
    assert!(!stdout(&o).contains(key_b64) && !err.contains(key_b64));
}

#[test]
fn in_a_runner_files_must_resolve_under_the_workspace_or_temp() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("workspace");
    let rt = tmp.path().join("runner_temp");
    let outside = tmp.path().join("outside");
    for d in [&ws, &rt, &outside] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::copy(fixture("rke2-server-ca.crt"), ws.join("k8s-ca.crt")).unwrap();
    std::fs::copy(fixture("rke2-server-ca.crt"), rt.join("k8s-ca.crt")).unwrap();
    std::fs::copy(fixture("rke2-server-ca.crt"), outside.join("k8s-ca.crt")).unwrap();
    std::os::unix::fs::symlink(outside.join("k8s-ca.crt"), ws.join("link.crt")).unwrap();
    std::fs::write(
        ws.join("kubeconfig"),
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority: {}\ncontexts:\n- name: x\n  context:\n    cluster: c\ncurrent-context: x\n",
            outside.join("k8s-ca.crt").display()
        ),
    )
    .unwrap();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_WORKSPACE", ws.to_str().unwrap()),
        ("RUNNER_TEMP", rt.to_str().unwrap()),
    ];
    for ok in ["k8s-ca.crt", rt.join("k8s-ca.crt").to_str().unwrap()] {
        let o = cli(&ws, &env, &["inspect-ca", ok]);
        assert_eq!(o.status.code(), Some(0), "{ok}: {}", stderr(&o));
    }
    let outside_file = outside.join("k8s-ca.crt");
    for bad in [
        outside_file.to_str().unwrap(),
        "link.crt",
        "kubeconfig",
        "../outside/k8s-ca.crt",
    ] {
        let o = cli(&ws, &env, &["inspect-ca", bad]);
        assert_refused(
            &o,
            "outside the workspace and the runner's temp folder",
            "copy the file there first",
        );
    }
    // By hand, outside a runner, the same files are read.
    let o = cli(&ws, &[], &["inspect-ca", "link.crt"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn plan_args<'a>(current: &'a str, ca: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "plan",
        "--current",
        current,
        "--environment",
        "dev",
        "--kubernetes-host",
        "https://10.69.1.110:6443",
        "--ca-file",
        ca,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn plan_first_write_unchanged_and_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("null.json"), "null\n").unwrap();
    std::fs::write(tmp.path().join("not-found.json"), "{\"errors\":[]}\n").unwrap();
    let current = fixture("vault-config-dev.json");
    let current = current.to_str().unwrap();
    let rke2 = fixture("rke2-server-ca.crt");
    let rotation = fixture("rotation-bundle.crt");
    let pem = std::fs::read_to_string(&rke2).unwrap();

    for never in ["null.json", "not-found.json"] {
        let o = cli(
            tmp.path(),
            &[],
            &plan_args(never, rke2.to_str().unwrap(), &["--format", "json"]),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        assert_eq!(v["changed"], true);
        assert_eq!(v["path"], "auth/dev-kubernetes/config");
        assert_eq!(v["rollback"]["possible"], false);
        assert_eq!(
            v["body"],
            serde_json::json!({
                "kubernetes_host": "https://10.69.1.110:6443",
                "kubernetes_ca_cert": pem,
                "disable_local_ca_jwt": true,
            })
        );
    }

    let o = cli(
        tmp.path(),
        &[],
        &plan_args(current, rke2.to_str().unwrap(), &[]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("auth/dev-kubernetes/config is already as desired"),
        "{}",
        stdout(&o)
    );

    let o = cli(
        tmp.path(),
        &[],
        &plan_args(current, rotation.to_str().unwrap(), &["--format", "json"]),
    );
    let v = json(&o);
    assert_eq!(v["changed"], true);
    let fields: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["kubernetes_ca_cert"]);
    // Fields the action does not manage are carried over; the rollback restores the old CA.
    assert_eq!(v["body"]["disable_iss_validation"], true);
    assert_eq!(v["body"]["use_annotations_as_alias_metadata"], false);
    assert_eq!(v["rollback"]["body"]["kubernetes_ca_cert"], pem);
}

#[test]
fn plan_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let mut stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("vault-config-dev.json")).unwrap())
            .unwrap();
    stored["data"]["token_reviewer_jwt_set"] = serde_json::Value::Bool(true);
    std::fs::write(tmp.path().join("reviewer.json"), stored.to_string()).unwrap();
    std::fs::write(tmp.path().join("broken.json"), "{\"data\": SECRETMARKER").unwrap();
    let rke2 = fixture("rke2-server-ca.crt");
    let rke2 = rke2.to_str().unwrap();

    let o = cli(tmp.path(), &[], &plan_args("reviewer.json", rke2, &[]));
    assert_refused(&o, "token_reviewer_jwt", "allow-reviewer-jwt-removal");
    let o = cli(
        tmp.path(),
        &[],
        &plan_args(
            "reviewer.json",
            rke2,
            &["--allow-reviewer-jwt-removal", "true"],
        ),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = cli(tmp.path(), &[], &plan_args("broken.json", rke2, &[]));
    assert_eq!(
        o.status.code(),
        Some(3),
        "a config Vault returned that cannot be read is remote: {}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("SECRETMARKER"));

    let o = cli(
        tmp.path(),
        &[],
        &[
            "plan",
            "--current",
            "reviewer.json",
            "--environment",
            "dev",
            "--ca-file",
            rke2,
        ],
    );
    assert_refused(
        &o,
        "input `kubernetes-host` is required for an offline plan",
        "--kubernetes-host",
    );
    let o = cli(
        tmp.path(),
        &[],
        &[
            "plan",
            "--current",
            "reviewer.json",
            "--environment",
            "dev",
            "--ca-file",
            rke2,
            "--kubernetes-host",
            "https://127.0.0.1:6443",
        ],
    );
    assert_refused(&o, "loopback", "allow-loopback-host: true");
    let o = cli(
        tmp.path(),
        &[],
        &plan_args("reviewer.json", rke2, &["--disable-local-ca-jwt", "yes"]),
    );
    assert_refused(
        &o,
        "input `disable-local-ca-jwt` is `yes`, expected `true` or `false`",
        "disable-local-ca-jwt: true",
    );
    let o = cli(tmp.path(), &[], &["--now", "tomorrow", "inspect-ca", rke2]);
    assert_refused(&o, "`--now` is `tomorrow`", "system clock");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let o = cli(tmp.path(), &[], &["inspect-ca"]);
    assert_eq!(o.status.code(), Some(2));
    let o = cli(tmp.path(), &[], &["plan", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("--kubernetes-host"));
}

/// The help of `plan` lists the inputs a plan reads, each with its default from the contract,
/// and none of a run's inputs.
#[test]
fn plan_help_shows_defaults_and_only_what_a_plan_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let o = cli(tmp.path(), &[], &["plan", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let help = stdout(&o);
    for (flag, default) in [
        ("--kubernetes-mount", "[default: <environment>-kubernetes]"),
        ("--disable-local-ca-jwt", "[default: true]"),
        ("--allow-loopback-host", "[default: false]"),
        ("--allow-reviewer-jwt-removal", "[default: false]"),
    ] {
        let at = help
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} in\n{help}"));
        let next = help[at + 2..]
            .find("\n      --")
            .map_or(help.len(), |n| at + 2 + n);
        assert!(
            help[at..next].contains(default),
            "{flag} lacks {default}:\n{help}"
        );
    }
    assert!(help.contains("the word `null`"), "{help}");
    for run_only in [
        "--vault-addr",
        "--vault-token",
        "--jwt-role",
        "--dry-run",
        "--probe",
        "--post",
        "--proof-jwt",
        "--github-token",
        "--vip-mount",
        "--ca-artifact",
    ] {
        assert!(!help.contains(run_only), "{run_only} in\n{help}");
    }
}

/// Every input with a default shows it in `run --help`; the secret inputs are flags too.
#[test]
fn run_help_shows_every_input_with_its_default() {
    use vault_k8s_handshake::pure::contract::{InputDefault, INPUTS};
    let tmp = tempfile::tempdir().unwrap();
    let o = cli(tmp.path(), &[], &["run", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let help = stdout(&o);
    for spec in INPUTS {
        let flag = format!("--{} <", spec.name);
        let at = help
            .find(&flag)
            .unwrap_or_else(|| panic!("{flag} in\n{help}"));
        let next = help[at + 2..]
            .find("\n      --")
            .map_or(help.len(), |n| at + 2 + n);
        let entry = &help[at..next];
        match spec.default {
            InputDefault::None => assert!(!entry.contains("[default"), "{entry}"),
            InputDefault::Literal(d) | InputDefault::Derived(d) => {
                assert!(
                    entry.contains(d),
                    "{} lacks its default {d}: {entry}",
                    spec.name
                )
            }
        }
        if spec.secret {
            assert!(entry.contains("<SECRET>"), "{entry}");
        }
    }
}

/// `--current null` is a mount never configured, as the README says: no file is needed.
#[test]
fn plan_current_null_needs_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let rke2 = fixture("rke2-server-ca.crt");
    let o = cli(
        tmp.path(),
        &[],
        &plan_args("null", rke2.to_str().unwrap(), &["--format", "json"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["changed"], true);
    assert_eq!(v["rollback"]["possible"], false);
    // A file that happens to be called `null` is still reachable by a path.
    std::fs::write(tmp.path().join("null"), "{\"errors\":[]}\n").unwrap();
    let o = cli(
        tmp.path(),
        &[],
        &plan_args("./null", rke2.to_str().unwrap(), &["--format", "json"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["changed"], true);
}

/// A run's input given to `plan` is refused by its own name, not met with a "did you mean"
/// another input, and a secret's value is never shown.
#[test]
fn plan_refuses_a_runs_inputs_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let rke2 = fixture("rke2-server-ca.crt");
    let rke2 = rke2.to_str().unwrap();
    for (flag, value) in [
        ("--vault-token", "hvs.PLANTEDSECRET0123"),
        ("--vault-token", "-PLANTEDSECRET0123"),
        ("--dry-run", "true"),
        ("--vault-addr", "https://vault.example.com:8200"),
    ] {
        let o = cli(tmp.path(), &[], &plan_args("null", rke2, &[flag, value]));
        assert_refused(
            &o,
            &format!("`{flag}` is an input of `run` only"),
            "plan --help",
        );
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(!all.contains("PLANTEDSECRET"), "{all}");
        assert!(!all.contains("did you mean"), "{all}");
    }
}

/// `run` outside a runner: the secret inputs are flags, their values never printed, and the
/// summary is plain text for a person, not Markdown.
#[test]
fn run_by_hand_takes_secret_flags_and_prints_plain_text() {
    let tmp = tempfile::tempdir().unwrap();
    let temp = tmp.path().display().to_string();
    let secrets = [
        "hvs.PLANTEDVAULTTOKEN0123",
        "-eyPLANTEDPROOFJWT0123",
        "ghs_PLANTEDGITHUBTOKEN0123",
    ];
    let o = cli(
        tmp.path(),
        &[("TMPDIR", temp.as_str())],
        &[
            "run",
            "--environment",
            "dev",
            "--vault-token",
            secrets[0],
            "--proof-jwt",
            secrets[1],
            "--github-token",
            secrets[2],
            "--ca-file",
            "k8s-ca.crt",
        ],
    );
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains("error: input `vault-addr` is required"),
        "{err}"
    );
    for secret in secrets {
        assert!(
            !out.contains(&secret[1..12]) && !err.contains(&secret[1..12]),
            "{out}{err}"
        );
    }
    assert!(
        out.contains("vault-k8s-handshake · dev\n✘ dev: the handshake failed\n"),
        "{out}"
    );
    assert!(
        out.contains("\nerror: input `vault-addr` is required\n"),
        "{out}"
    );
    for markup in ["<code>", "\\", "| ", "**", "\u{1b}["] {
        assert!(!out.contains(markup), "{markup:?} in\n{out}");
    }
}

/// The demo as a person runs it: plain text, no empty section header, the staged failure
/// labelled as expected, and no path of its scratch folder, which is gone when it ends.
#[cfg(feature = "dev-server")]
#[test]
fn demo_prints_plain_text_and_labels_the_expected_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_vault-k8s-handshake"))
        .env_clear()
        .env("TMPDIR", tmp.path())
        .current_dir(tmp.path())
        .arg("demo")
        .output()
        .unwrap();
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    for markup in [
        "<code>",
        "</code>",
        "\\",
        "| ",
        "**",
        "<details>",
        "\u{1b}[",
    ] {
        assert!(!out.contains(markup), "{markup:?} in\n{out}");
    }
    assert!(
        out.contains("━━━ expected failure: an API server whose certificate lacks the VIP"),
        "{out}"
    );
    assert!(
        out.contains("expected failure: failed (exit 2), nothing written: true"),
        "{out}"
    );
    let scratch = tmp.path().display().to_string();
    assert!(
        !out.contains(&scratch) && !err.contains(&scratch),
        "{out}{err}"
    );
    assert!(!out.contains("/tmp/"), "{out}");
    // A phase's header is followed by a line of its own, never by another header or nothing;
    // a run's title by its phases.
    let lines: Vec<&str> = out.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).copied().unwrap_or_default();
        if line.starts_with("== ") {
            assert!(
                !next.is_empty() && !next.starts_with("== ") && !next.starts_with("━━━"),
                "empty header {line:?}:\n{out}"
            );
        }
        if line.starts_with("━━━") {
            assert!(
                !next.is_empty() && !next.starts_with("━━━"),
                "{line:?}:\n{out}"
            );
        }
    }
    assert_eq!(
        out.matches("✘ dev: the handshake failed").count(),
        1,
        "{out}"
    );
    // The scratch folder is gone.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn demo_runs_end_to_end_as_the_node_action() {
    // The same three runs with the Node action's bundle as the driver (Node from `VKH_NODE`,
    // else the machine's `node`).
    let node = std::env::var("VKH_NODE").unwrap_or_else(|_| "node".into());
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_vault-k8s-handshake"))
        .env_clear()
        .env("TMPDIR", tmp.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(tmp.path())
        .args(["demo", "--node", &node])
        .output()
        .unwrap();
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains(
            "run 1: changed · run 2: unchanged · expected failure: failed (exit 2), nothing \
             written: true · tokens left alive: 0"
        ),
        "{out}"
    );
    assert!(
        out.contains("logged in at `auth/dev-kubernetes` as role `external-secrets`"),
        "{out}"
    );
}
