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

const RUNS: usize = 15;

struct Sample {
    wall_ms: f64,
    rss_kib: u64,
}

fn main() {
    let binary = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/vault-k8s-handshake")
        });
    assert!(
        binary.exists(),
        "build the release binary first: {}",
        binary.display()
    );
    let mut rows = Vec::new();
    for (label, dry_run, fresh_each_time) in [
        ("first write", false, true),
        ("no change", false, false),
        ("dry run: OIDC, login, VIP and config reads", true, true),
    ] {
        let mut samples = Vec::new();
        let mut kept = None;
        for _ in 0..RUNS {
            if fresh_each_time || kept.is_none() {
                let server = DevServer::start(ServerOptions::default()).expect("dev server");
                seed::seed(&server, &Seed::new("dev", "127.0.0.10")).expect("seed");
                let dir = tempfile::tempdir().expect("temp dir");
                cluster::write_bootstrap_output(dir.path(), time::OffsetDateTime::now_utc())
                    .expect("CA");
                if !fresh_each_time {
                    // The first run of the no-change series writes; it is not measured.
                    run_once(&binary, &server, dir.path(), false);
                }
                kept = Some((server, dir));
            }
            let (server, dir) = kept.as_ref().expect("set above");
            samples.push(run_once(&binary, server, dir.path(), dry_run));
            if fresh_each_time {
                kept = None;
            }
        }
        rows.push((
            label,
            median(samples.iter().map(|s| s.wall_ms).collect()),
            median(samples.iter().map(|s| s.rss_kib as f64).collect()),
        ));
    }
    let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
    println!("| run ({RUNS} each, median) | wall time | peak RSS |");
    println!("| --- | --- | --- |");
    for (label, wall, rss) in rows {
        println!("| {label} | {wall:.0} ms | {:.1} MiB |", rss / 1024.0);
    }
    println!("\nbinary: {} ({size} bytes)", binary.display());
    hostile_kubeconfigs();
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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn run_once(binary: &Path, server: &DevServer, workspace: &Path, dry_run: bool) -> Sample {
    let grant = server.grant_oidc(job_claims("acme/gitops", "dev", "refs/heads/main", "push"));
    let out = workspace.join("output");
    std::fs::write(&out, "").expect("output file");
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for spec in INPUTS {
        if let InputDefault::Literal(d) = spec.default {
            if !d.contains("${{") {
                vars.insert(format!("INPUT_{}", spec.name.to_uppercase()), d.to_string());
            }
        }
    }
    for (k, v) in [
        ("vault-addr", server.url()),
        ("environment", "dev".into()),
        ("jwt-role", "dev-handshake".into()),
        ("ca-file", "k8s-ca.crt".into()),
        ("allow-loopback-host", "true".into()),
        ("probe", "off".into()),
        ("dry-run", dry_run.to_string()),
    ] {
        vars.insert(format!("INPUT_{}", k.to_uppercase()), v);
    }
    vars.insert("GITHUB_ACTIONS".into(), "true".into());
    // Only the repository's own events write; a runner without one plans.
    vars.insert("GITHUB_EVENT_NAME".into(), "push".into());
    vars.insert("GITHUB_WORKSPACE".into(), workspace.display().to_string());
    vars.insert("RUNNER_TEMP".into(), workspace.display().to_string());
    vars.insert("GITHUB_OUTPUT".into(), out.display().to_string());
    vars.insert("GITHUB_REPOSITORY".into(), "acme/gitops".into());
    vars.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), grant.request_url);
    vars.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), grant.request_token);
    let started = Instant::now();
    let result = Command::new("/usr/bin/time")
        .args(["-f", "%M", "--"])
        .arg(binary)
        .arg("run")
        .env_clear()
        .envs(&vars)
        .current_dir(workspace)
        .output()
        .expect("GNU time runs the binary");
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        result.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&result.stdout)
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    let rss_kib = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Sample { wall_ms, rss_kib }
}
