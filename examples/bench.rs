//! Benchmark of the release binary's `run` against the dev server on loopback: wall time and
//! peak RSS from process start to exit, median of repeated runs, for a first write, a no-change
//! run, and a dry run (OIDC → login → VIP and config reads, no write). Not a test: it prints a
//! Markdown table for the README and asserts nothing about time.
//!
//! `bash bench/run.sh` builds the release binary and runs this. Peak RSS comes from GNU time
//! (`/usr/bin/time -f %M`), which measures the child alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vault_k8s_handshake::devserver::seed::{self, Seed};
use vault_k8s_handshake::devserver::{cluster, job_claims, DevServer, ServerOptions};
use vault_k8s_handshake::pure::contract::{InputDefault, INPUTS};

struct Sample {
    wall_ms: f64,
    rss_kib: u64,
}

/// How each run is started: the native binary, the Node action's bundle, or hashicorp/vault-action.
#[derive(Clone)]
enum Driver {
    Native(PathBuf),
    Node { node: PathBuf, bundle: PathBuf },
    VaultAction { node: PathBuf, script: PathBuf },
}

impl Driver {
    fn label(&self) -> String {
        match self {
            Driver::Native(_) => "native binary".into(),
            Driver::Node { bundle, .. } if *bundle == committed_bundle() => {
                "Node action (node 24)".into()
            }
            Driver::Node { bundle, .. } => format!("Node action (node 24, {})", bundle.display()),
            Driver::VaultAction { .. } => "hashicorp/vault-action v3.4.0 (node 24)".into(),
        }
    }

    /// The driver's command line, under GNU time when it exists (for the peak RSS).
    fn command(&self) -> Command {
        let (program, arg): (&Path, &std::ffi::OsStr) = match self {
            Driver::Native(binary) => (binary, "run".as_ref()),
            Driver::Node { node, bundle } => (node, bundle.as_os_str()),
            Driver::VaultAction { node, script } => (node, script.as_os_str()),
        };
        if Path::new("/usr/bin/time").exists() {
            let mut cmd = Command::new("/usr/bin/time");
            cmd.args(["-f", "%M", "--"]).arg(program).arg(arg);
            cmd
        } else {
            let mut cmd = Command::new(program);
            cmd.arg(arg);
            cmd
        }
    }
}

/// What a run does.
#[derive(Clone, Copy, PartialEq)]
enum Work {
    FirstWrite,
    NoChange,
    /// OIDC, login, VIP and config reads, `sys/capabilities-self`, revoke: no write.
    DryRun,
    /// vault-action's share of the job: OIDC token, JWT login, KV read of the VIP.
    OidcLoginKv,
}

impl Work {
    fn label(self) -> &'static str {
        match self {
            Work::FirstWrite => "first write",
            Work::NoChange => "no change",
            Work::DryRun => "dry run: OIDC, login, VIP and config reads, capabilities, revoke",
            Work::OidcLoginKv => "OIDC, JWT login, KV read of the VIP",
        }
    }
}

/// `bench [--runs N] <native binary>`; `VKH_NODE24` (a Node 24 binary) adds the Node action,
/// and with it `VAULT_ACTION_JS` (vault-action's `dist/index.js`, never downloaded by the bench)
/// adds vault-action on the workload both share.
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 15;
    if args.first().map(String::as_str) == Some("--runs") {
        runs = args.get(1).and_then(|n| n.parse().ok()).expect("--runs N");
        args.drain(..2);
    }
    let binary = args.first().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/vault-k8s-handshake")
    });
    assert!(
        binary.exists(),
        "build the release binary first: {}",
        binary.display()
    );
    let mut plan = vec![
        (Driver::Native(binary.clone()), Work::FirstWrite),
        (Driver::Native(binary.clone()), Work::NoChange),
        (Driver::Native(binary.clone()), Work::DryRun),
    ];
    if let Some(node) = std::env::var_os("VKH_NODE24").map(PathBuf::from) {
        let mut bundles = vec![committed_bundle()];
        // `BENCH_COMPARE=<index.js>[:<index.js>…]`: changed drivers (each with its core.wasm
        // beside it), measured against the committed one in the same interleaved runs.
        if let Some(others) = std::env::var_os("BENCH_COMPARE") {
            bundles.extend(std::env::split_paths(&others));
        }
        for bundle in bundles {
            let driver = Driver::Node {
                node: node.clone(),
                bundle,
            };
            for work in [Work::FirstWrite, Work::NoChange, Work::DryRun] {
                plan.push((driver.clone(), work));
            }
        }
        if let Some(script) = std::env::var_os("VAULT_ACTION_JS").map(PathBuf::from) {
            plan.push((Driver::VaultAction { node, script }, Work::OidcLoginKv));
        } else {
            println!("(VAULT_ACTION_JS unset: vault-action is not measured)");
        }
    } else {
        println!("(VKH_NODE24 unset: the Node action is not measured)");
    }
    // `BENCH_ONLY=node`, `BENCH_ONLY=dry run`: only the rows whose driver and run labels hold that
    // text (case-insensitive); `a|b` keeps the rows that hold either.
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        let only = only.to_lowercase();
        plan.retain(|(driver, work)| {
            let label = format!("{} {}", driver.label(), work.label()).to_lowercase();
            only.split('|').any(|part| label.contains(part))
        });
    }
    // Runs are interleaved, one of each row in turn, so a machine that slows down or speeds up
    // during the bench weighs on every row alike and the ratios between rows stay fair.
    let mut samples: Vec<Vec<Sample>> = plan.iter().map(|_| Vec::new()).collect();
    let mut kept: Vec<Option<(DevServer, tempfile::TempDir)>> = plan.iter().map(|_| None).collect();
    for _ in 0..runs {
        for (i, (driver, work)) in plan.iter().enumerate() {
            let work = *work;
            let fresh_each_time = work != Work::NoChange;
            if fresh_each_time || kept[i].is_none() {
                // GitHub's token service is another server than Vault, as on a runner.
                let options = ServerOptions {
                    issuer_apart: true,
                    ..ServerOptions::default()
                };
                let server = DevServer::start(options).expect("dev server");
                seed::seed(&server, &Seed::new("dev", "127.0.0.10")).expect("seed");
                let dir = tempfile::tempdir().expect("temp dir");
                cluster::write_bootstrap_output(dir.path(), time::OffsetDateTime::now_utc())
                    .expect("CA");
                if !fresh_each_time {
                    // The first run of the no-change series writes; it is not measured.
                    run_once(driver, &server, dir.path(), Work::FirstWrite);
                }
                kept[i] = Some((server, dir));
            }
            let (server, dir) = kept[i].as_ref().expect("set above");
            samples[i].push(run_once(driver, server, dir.path(), work));
            if fresh_each_time {
                kept[i] = None;
            }
        }
    }
    let rows: Vec<_> = plan
        .iter()
        .zip(&samples)
        .map(|((driver, work), samples)| {
            (
                driver.label(),
                work.label(),
                median(samples.iter().map(|s| s.wall_ms).collect()),
                median(samples.iter().map(|s| s.rss_kib as f64).collect()),
            )
        })
        .collect();
    let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
    println!("| driver | run ({runs} each, median) | wall time | peak RSS |");
    println!("| --- | --- | --- | --- |");
    for (driver, work, wall, rss) in rows {
        let rss = if rss > 0.0 {
            format!("{:.1} MiB", rss / 1024.0)
        } else {
            "n/a (no GNU time)".to_string()
        };
        println!("| {driver} | {work} | {wall:.0} ms | {rss} |");
    }
    paired_comparisons(&plan, &samples);
    let wasm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node/dist/core.wasm");
    let wasm_size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
    println!(
        "\nbinary: {} ({size} bytes); node/dist/core.wasm: {wasm_size} bytes",
        binary.display()
    );
    hostile_kubeconfigs();
}

/// Comparisons within each round: a round runs every row once, close together, so a ratio or a
/// difference taken inside a round cancels most of what the machine's load does to both. Prints
/// the Node action's dry run against vault-action (the ratio the README's goal is about) and
/// each `BENCH_COMPARE` bundle against the committed one, as the median over the rounds.
fn paired_comparisons(plan: &[(Driver, Work)], samples: &[Vec<Sample>]) {
    let row = |wanted: &dyn Fn(&Driver, Work) -> bool| {
        plan.iter().position(|(driver, work)| wanted(driver, *work))
    };
    let committed =
        |d: &Driver| matches!(d, Driver::Node { bundle, .. } if *bundle == committed_bundle());
    let per_round = |a: usize, b: usize, f: &dyn Fn(f64, f64) -> f64| {
        median(
            samples[a]
                .iter()
                .zip(&samples[b])
                .map(|(x, y)| f(x.wall_ms, y.wall_ms))
                .collect(),
        )
    };
    let mut lines = Vec::new();
    let node_dry = row(&|d, w| committed(d) && w == Work::DryRun);
    let vault_action = row(&|d, _| matches!(d, Driver::VaultAction { .. }));
    if let (Some(a), Some(b)) = (node_dry, vault_action) {
        lines.push(format!(
            "Node action dry run / vault-action, per round: {:.2}x",
            per_round(a, b, &|x, y| x / y)
        ));
    }
    for (i, (driver, work)) in plan.iter().enumerate() {
        if matches!(driver, Driver::Node { .. }) && !committed(driver) {
            if let Some(base) = row(&|d, w| committed(d) && w == *work) {
                lines.push(format!(
                    "{} {} minus the committed bundle, per round: {:+.1} ms",
                    driver.label(),
                    work.label(),
                    per_round(i, base, &|x, y| x - y)
                ));
            }
        }
    }
    if !lines.is_empty() {
        println!();
        for line in lines {
            println!("{line}");
        }
    }
}

/// The worst kubeconfigs that pass the nesting check, at the 1 MiB file limit: how long the
/// parser takes on them (the YAML parser's cost grows with the square of the nesting depth, so
/// the check caps depth before parsing), and how fast a far deeper one is refused.
fn hostile_kubeconfigs() {
    use vault_k8s_handshake::pure::kubeconfig::parse_kubeconfig;
    const MIB: usize = 1024 * 1024;
    // 31 inside the outer list: 32 levels, the most the check admits.
    let flow_unit = format!("{}{}, ", "[".repeat(31), "]".repeat(31));
    let flow = format!("a: [{}]\n", flow_unit.repeat((MIB - 16) / flow_unit.len()));
    // Distinct keys at 198 columns, so the parser reads the whole file.
    let mut indent = String::from("a:\n");
    let mut i = 0;
    while indent.len() < MIB - 256 {
        indent.push_str(&format!("{}x{i}: 1\n", " ".repeat(198)));
        i += 1;
    }
    let refused = format!(
        "a: {}{}\n",
        "[".repeat(MIB / 2 - 8),
        "]".repeat(MIB / 2 - 8)
    );
    println!("\n| hostile kubeconfig (1 MiB) | parse time |");
    println!("| --- | --- |");
    for (label, text) in [
        ("flow nesting 32 deep, repeated", &flow),
        ("block indentation 198 columns, repeated", &indent),
        ("flow nesting 524,280 deep (refused)", &refused),
    ] {
        let started = Instant::now();
        let result = parse_kubeconfig(text);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        // Both admitted shapes lack a current context, so they end in that error after a full
        // parse; the deep one ends at the nesting check. Errors never quote the input.
        let verdict = match result {
            Ok(_) => "parsed".to_string(),
            Err(e) => e.to_string(),
        };
        println!("| {label} | {ms:.0} ms: {verdict} |");
    }
}

/// The Node action as committed: `node/dist/index.js`.
fn committed_bundle() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node/dist/index.js")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn run_once(driver: &Driver, server: &DevServer, workspace: &Path, work: Work) -> Sample {
    let seed = Seed::new("dev", "127.0.0.10");
    let grant = server.grant_oidc(job_claims("acme/gitops", "dev", "refs/heads/main", "push"));
    let out = workspace.join("output");
    let github_env = workspace.join("env");
    std::fs::write(&out, "").expect("output file");
    std::fs::write(&github_env, "").expect("env file");
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut input = |k: &str, v: String| {
        vars.insert(format!("INPUT_{}", k.to_uppercase()), v);
    };
    if let Driver::VaultAction { .. } = driver {
        // vault-action's inputs for the same job: OIDC → `auth/jwt` → the VIP from KV.
        for (k, v) in [
            ("url", server.url()),
            ("method", "jwt".into()),
            ("path", "jwt".into()),
            ("role", seed.jwt_role()),
            ("jwtGithubAudience", seed.audience()),
            ("secrets", "kv/dev/data/ip vip | VIP".into()),
            ("exportEnv", "true".into()),
            ("exportToken", "false".into()),
            ("outputToken", "false".into()),
            ("tlsSkipVerify", "false".into()),
            ("ignoreNotFound", "false".into()),
            ("jwtTtl", "3600".into()),
            (
                "kubernetesTokenPath",
                "/var/run/secrets/kubernetes.io/serviceaccount/token".into(),
            ),
        ] {
            input(k, v);
        }
    } else {
        for spec in INPUTS {
            if let InputDefault::Literal(d) = spec.default {
                if !d.contains("${{") {
                    input(spec.name, d.to_string());
                }
            }
        }
        for (k, v) in [
            ("vault-addr", server.url()),
            ("environment", "dev".into()),
            ("jwt-role", seed.jwt_role()),
            ("ca-file", "k8s-ca.crt".into()),
            ("allow-loopback-host", "true".into()),
            ("probe", "off".into()),
            ("dry-run", (work == Work::DryRun).to_string()),
        ] {
            input(k, v);
        }
    }
    vars.insert("GITHUB_ACTIONS".into(), "true".into());
    // Only the repository's own events write; a runner without one plans.
    vars.insert("GITHUB_EVENT_NAME".into(), "push".into());
    vars.insert("GITHUB_WORKSPACE".into(), workspace.display().to_string());
    vars.insert("RUNNER_TEMP".into(), workspace.display().to_string());
    vars.insert("GITHUB_OUTPUT".into(), out.display().to_string());
    vars.insert("GITHUB_ENV".into(), github_env.display().to_string());
    vars.insert("GITHUB_REPOSITORY".into(), "acme/gitops".into());
    vars.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), grant.request_url);
    vars.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), grant.request_token);
    let started = Instant::now();
    let result = driver
        .command()
        .env_clear()
        .envs(&vars)
        .current_dir(workspace)
        .output()
        .expect("GNU time runs the driver");
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        result.status.success(),
        "{} failed: {}{}",
        driver.label(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    if let Driver::VaultAction { .. } = driver {
        // The VIP must have arrived, or the comparison measures a failure.
        let exported = std::fs::read_to_string(&github_env).unwrap_or_default();
        assert!(
            exported.contains("127.0.0.10"),
            "vault-action read no VIP: {exported}"
        );
    }
    let stderr = String::from_utf8_lossy(&result.stderr);
    let rss_kib = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Sample { wall_ms, rss_kib }
}
