//! Text the project did not write, tried as an attacker would: CA subjects, kubeconfig names,
//! Vault errors, KV values and servers that echo the secrets they were sent. Every run here also
//! passes the harness's own checks (the runner's parser over stdout and stderr, every secret
//! absent from every channel); the assertions below add what each scenario must show.

mod common;

use common::runner_log::{assert_runner_safe, RunnerLog};
use common::*;
use vault_k8s_handshake::devserver::github::{
    GithubOptions, GithubServer, Permissions, FAULT_ECHO_TOKEN,
};
use vault_k8s_handshake::devserver::{cluster, seed::Seed, Fault, FaultKind, ServerOptions};

const GH_TOKEN: &str = "ghs_PLANTEDgithubTOKEN0123456789abcdef";

/// The GitHub API stand-in for this run's repository, holding `GH_TOKEN` with every permission.
fn github() -> GithubServer {
    GithubServer::start(GithubOptions {
        owner: "acme".into(),
        repo: "gitops".into(),
        run_id: 4242,
        tokens: vec![(GH_TOKEN.into(), Permissions::ALL)],
        tls: None,
    })
    .unwrap()
}

fn echo(code: u16, error: &str) -> FaultKind {
    FaultKind::Status {
        code,
        retry_after: None,
        errors: vec![error.to_string()],
    }
}

// --- the runner's parser, as the tests emulate it -----------------------------------------------

#[test]
fn the_emulated_runner_obeys_a_legacy_stop_command_anywhere_in_a_line() {
    // The positive control: the attack works on a naive log, so the checks can fail.
    let log = "CA `CN=rke2-server-ca ##[stop-commands]tok-123`\n::add-mask::hvs.SECRETVALUE\n\
               token hvs.SECRETVALUE\n";
    let mut runner = RunnerLog::new();
    runner.feed(log);
    assert!(
        runner.text().contains("hvs.SECRETVALUE"),
        "{}",
        runner.text()
    );
    let caught = std::panic::catch_unwind(|| {
        assert_runner_safe(log, "", &["hvs.SECRETVALUE".to_string()]);
    });
    assert!(
        caught.is_err(),
        "the safety check must catch the unmasked secret"
    );
}

#[test]
fn the_emulated_runner_masks_after_add_mask_and_splits_at_carriage_returns() {
    let mut runner = RunnerLog::new();
    runner.feed("::add-mask::s3cr3t-value\nsaw s3cr3t-value\rx::warning::no\r  ::notice::yes\n");
    assert_eq!(runner.text(), "saw ***\nx::warning::no\nyes");
    assert_eq!(
        runner.commands,
        vec![
            ("add-mask".to_string(), "***".to_string()),
            ("notice".to_string(), "yes".to_string())
        ]
    );
    // The resume token ends a stop; commands before it are printed, not run.
    let mut runner = RunnerLog::new();
    runner.feed(
        "::stop-commands::pause-1234\n::add-mask::abcdef\n::pause-1234::\n::add-mask::ghijkl\n",
    );
    assert!(runner.text().contains("::add-mask::abcdef"));
    assert!(!runner.text().contains("ghijkl"));
}

// --- untrusted text in the log ------------------------------------------------------------------

#[test]
fn a_ca_subject_that_stops_commands_stays_inert() {
    let h = harness();
    let now = time::OffsetDateTime::now_utc();
    let ca = cluster::rke2_ca("rke2-server ##[stop-commands]x", now).unwrap();
    std::fs::write(h.workspace.join("hostile-ca.crt"), &ca.pem).unwrap();
    let o = h.run(&[("ca-file", "hostile-ca.crt")], &[]);
    assert_ok(&o, "changed");
    // The subject is shown (defused), and the login's secrets were masked after it.
    assert!(o.stdout.contains("##\\[stop-commands]x"), "{}", o.stdout);
    assert!(!o.stdout.contains("##[stop-commands]"), "{}", o.stdout);
    let log = assert_runner_safe(&o.stdout, &o.stderr, &h.secrets_seen(&o.requests));
    assert!(log.commands.iter().any(|(n, _)| n == "add-mask"));
}

#[test]
fn a_vault_error_with_commands_and_line_breaks_stays_inert() {
    let h = harness();
    h.server.inject(
        Fault::new(
            "/v1/auth/dev-kubernetes/config",
            echo(
                400,
                "bad\r::add-mask::x\n##[stop-commands]abcdefg\r\n::error::forged",
            ),
            10,
        )
        .method("GET"),
    );
    let o = h.run(&[], &[]);
    assert_ne!(o.code, 0);
    let log = assert_runner_safe(&o.stdout, &o.stderr, &h.secrets_seen(&o.requests));
    let errors: Vec<_> = log.commands.iter().filter(|(n, _)| n == "error").collect();
    assert_eq!(
        errors.len(),
        1,
        "one failure annotation, no forged one: {errors:?}"
    );
    assert!(!o.outputs["error-message"].contains('\r'));
}

#[test]
fn a_kv_value_is_data_wherever_it_is_shown() {
    let mut seed = Seed::new("dev", VIP);
    seed.vip = "127.0.0.10 ##[stop-commands]abcdefgh".into();
    let h = harness_with(seed, ServerOptions::default());
    let o = h.run(&[], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_runner_safe(&o.stdout, &o.stderr, &h.secrets_seen(&o.requests));
    assert!(!o.stdout.contains("##[stop-commands]"), "{}", o.stdout);
}

// --- servers that echo secrets ------------------------------------------------------------------

#[test]
fn a_vault_token_echoed_in_an_error_is_redacted_from_every_channel() {
    let h = harness();
    let gh = github();
    h.server.inject(
        Fault::new(
            "/v1/auth/dev-kubernetes/config",
            echo(
                403,
                "permission denied for token {presented-token} (\"{presented-token}\")",
            ),
            10,
        )
        .method("POST"),
    );
    let api = gh.api_url();
    let event = h.runner_temp.join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request":{"number":7,"head":{"sha":"0123456789abcdef0123456789abcdef01234567"}}}"#,
    )
    .unwrap();
    let event = event.display().to_string();
    let o = h.run(
        &[
            ("github-token", GH_TOKEN),
            ("post", "step-summary,check-run,pr-comment"),
            ("allow-pull-request-writes", "true"),
        ],
        &[
            ("GITHUB_API_URL", api.as_str()),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.as_str()),
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stdout);
    // The positive control: the server did echo the token the action presented.
    let presented: Vec<String> = o
        .requests
        .iter()
        .filter(|r| r.path == "auth/dev-kubernetes/config")
        .flat_map(|r| r.headers.iter())
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-vault-token"))
        .map(|(_, v)| v.clone())
        .collect();
    assert!(!presented.is_empty());
    assert!(o.outputs["error-message"].contains("permission denied for token ***"));
    // GitHub received the check run and the comment, both redacted.
    let bodies = format!("{:?} {:?}", gh.check_runs(), gh.comments(7));
    assert!(
        bodies.contains("permission denied for token ***"),
        "{bodies}"
    );
    for token in &presented {
        assert!(!bodies.contains(token.as_str()), "{bodies}");
    }
}

#[test]
fn a_github_token_echoed_by_the_api_is_redacted() {
    let h = harness();
    let gh = github();
    gh.inject("POST", "/repos/acme/gitops/check-runs", FAULT_ECHO_TOKEN, 1);
    let api = gh.api_url();
    let o = h.run(
        &[
            ("github-token", GH_TOKEN),
            ("post", "step-summary,check-run"),
        ],
        &[("GITHUB_API_URL", api.as_str())],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    // The stand-in echoed it (positive control), and it shows nowhere.
    assert!(o.summary.contains("with token ***"), "{}", o.summary);
    assert!(!o.summary.contains("PLANTEDgithub"), "{}", o.summary);
    // Only the mask registration carries it on stdout, and the runner shows that as `***`.
    let log = assert_runner_safe(&o.stdout, &o.stderr, &[GH_TOKEN.to_string()]);
    assert!(log.text().contains("with token ***"), "{}", log.text());
}

#[test]
fn an_oidc_service_that_echoes_the_request_token_is_redacted() {
    let h = harness();
    h.server.inject(Fault::new(
        "/_github/idtoken/*",
        echo(400, "bad bearer {presented-token}"),
        10,
    ));
    let o = h.run(&[], &[]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    // The request token is in the harness's secret list; its checks ran in `run`.
    assert!(!o.outputs["error-message"].is_empty());
}

// --- network edges ------------------------------------------------------------------------------

/// A one-route HTTP server on `ip` that answers every request with `answer` (then, when
/// `flood` is set, streams that many bytes of `{`), and counts the requests it saw.
fn raw_server(
    ip: &str,
    answer: String,
    flood: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(answer.as_bytes());
            let chunk = vec![b'{'; 64 * 1024];
            let mut sent = 0;
            while sent < flood && stream.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn an_endless_vault_answer_is_cut_off_at_the_cap() {
    let h = harness();
    for (label, head) in [
        ("declared", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 419430400\r\n\r\n"),
        ("chunked", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"),
    ] {
        let (url, seen) = raw_server("127.0.0.1", head.to_string(), 8 * 1024 * 1024);
        let o = h.run(&[("vault-addr", url.as_str())], &[]);
        assert_ne!(o.code, 0, "{label}: {}", o.stdout);
        assert!(
            o.outputs["error-message"].contains("larger than 1048576 bytes"),
            "{label}: {}",
            o.outputs["error-message"]
        );
        assert!(seen.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    }
}

#[test]
fn the_oidc_bearer_never_follows_a_redirect_to_another_origin() {
    let h = harness();
    // The second origin is another loopback address: a different host to the client.
    let (elsewhere, seen_elsewhere) = raw_server(
        "127.0.0.3",
        "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"value\":\"jwt\"}".into(),
        0,
    );
    let (oidc, _) = raw_server(
        "127.0.0.1",
        format!("HTTP/1.1 302 Found\r\nLocation: {elsewhere}/token\r\nContent-Length: 0\r\n\r\n"),
        0,
    );
    let o = h.run(
        &[],
        &[("ACTIONS_ID_TOKEN_REQUEST_URL", &format!("{oidc}/idtoken"))],
    );
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(
        o.outputs["error-message"].contains("HTTP 302"),
        "{}",
        o.outputs["error-message"]
    );
    assert_eq!(seen_elsewhere.load(std::sync::atomic::Ordering::SeqCst), 0);
}

// --- file confinement ---------------------------------------------------------------------------

#[test]
fn a_symlink_flipped_during_the_read_never_yields_a_file_outside_the_workspace() {
    use vault_k8s_handshake::source::{read_file, FileRules};
    let tmp = tempfile::tempdir().unwrap();
    let workspace = tmp.path().join("workspace");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(workspace.join("inside.crt"), "INSIDE").unwrap();
    std::fs::write(outside.join("secret.crt"), "OUTSIDE-SECRET").unwrap();
    let link = workspace.join("k8s-ca.crt");
    std::os::unix::fs::symlink(workspace.join("inside.crt"), &link).unwrap();
    let rules = FileRules::confined_to(std::slice::from_ref(&workspace));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, link, ws, out) = (
            stop.clone(),
            link.clone(),
            workspace.clone(),
            outside.clone(),
        );
        std::thread::spawn(move || {
            let tmp_link = ws.join("k8s-ca.crt.tmp");
            let mut flips = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let target = if flips % 2 == 0 {
                    out.join("secret.crt")
                } else {
                    ws.join("inside.crt")
                };
                let _ = std::fs::remove_file(&tmp_link);
                std::os::unix::fs::symlink(&target, &tmp_link).unwrap();
                std::fs::rename(&tmp_link, &link).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let (mut inside, mut refused) = (0, 0);
    for _ in 0..3000 {
        match read_file("`ca-file`", &link, &rules) {
            Ok(bytes) => {
                assert_eq!(bytes, b"INSIDE", "a file outside the workspace was read");
                inside += 1;
            }
            Err(_) => refused += 1,
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let flips = flipper.join().unwrap();
    assert!(
        flips > 0 && inside + refused == 3000,
        "{flips} flips, {inside} read, {refused} refused"
    );
    // Kernel files are refused however they are reached.
    std::os::unix::fs::symlink("/proc/self/environ", workspace.join("env.crt")).unwrap();
    assert!(read_file(
        "`ca-file`",
        &workspace.join("env.crt"),
        &FileRules::anywhere()
    )
    .is_err());
}

// --- inputs are validated before any use ----------------------------------------------------------

#[test]
fn a_rejected_environment_is_used_nowhere() {
    let h = harness();
    let gh = github();
    let api = gh.api_url();
    for bad in ["dev --><img src=x onerror=alert(1)>", "a/../../x", "dev`x"] {
        let o = h.run(
            &[
                ("environment", bad),
                ("github-token", GH_TOKEN),
                ("post", "step-summary,check-run"),
            ],
            &[("GITHUB_API_URL", api.as_str())],
        );
        assert_eq!(o.code, 2, "{bad}: {}", o.stdout);
        assert!(
            o.outputs["error-message"].contains("input `environment`"),
            "{bad}"
        );
        // Quoted only escaped: the log's annotation is plain text, the summary is Markdown.
        assert!(!o.summary.contains("<img"), "{bad}:\n{}", o.summary);
        // Nothing was written outside the runner's temp folder, and the report is named safely.
        assert!(
            !h.root.join("x").exists() && !h.runner_temp.parent().unwrap().join("x.json").exists()
        );
        assert!(o.outputs["report-path"]
            .ends_with("vault-k8s-handshake-invalid-environment-4242-1.json"));
        let runs = gh.check_runs();
        let last = runs.last().unwrap();
        assert_eq!(last["name"], "vault-k8s-handshake");
        assert!(!last.to_string().contains("<img"));
    }
}

#[test]
fn an_input_that_is_not_utf8_is_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let h = harness();
    // Run by hand through the harness's variables, with one raw byte value added.
    let bin = env!("CARGO_BIN_EXE_vault-k8s-handshake");
    let out = std::process::Command::new(bin)
        .arg("run")
        .env_clear()
        .env("INPUT_VAULT-ADDR", h.server.url())
        .env("INPUT_ENVIRONMENT", "dev")
        .env("INPUT_VAULT-TOKEN", h.server.root_token())
        .env("INPUT_CA-FILE", "k8s-ca.crt")
        .env(
            "INPUT_JWT-ROLE",
            std::ffi::OsStr::from_bytes(b"dev-\xffhandshake"),
        )
        .current_dir(&h.workspace)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("input `jwt-role` is not valid UTF-8"),
        "{stderr}"
    );
}

// --- which events may write -----------------------------------------------------------------------

#[test]
fn only_the_repositorys_own_events_write() {
    for event in [
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "",
        "workflow_call",
        "brand_new_event",
    ] {
        let h = harness();
        // An empty value removes the variable, as a runner without an event would have it.
        let o = h.run(&[], &[("GITHUB_EVENT_NAME", event)]);
        assert_eq!(o.code, 0, "{event}: {}", o.stdout);
        assert_eq!(o.output("result"), "planned", "{event:?} must not write");
        assert!(!o.wrote_config("dev-kubernetes"), "{event:?}");
        assert!(o.summary.contains("dry run"), "{event:?}: {}", o.summary);
        let why = if event.is_empty() {
            "GITHUB_EVENT_NAME"
        } else {
            event
        };
        let shown = vault_k8s_handshake::pure::command::escape_markdown(why);
        assert!(o.summary.contains(&shown), "{event:?}: {}", o.summary);
    }
    for event in [
        "push",
        "workflow_dispatch",
        "schedule",
        "release",
        "merge_group",
        "repository_dispatch",
    ] {
        let h = harness();
        let o = h.run(&[], &[("GITHUB_EVENT_NAME", event)]);
        assert_ok(&o, "changed");
    }
    // The opt-in still writes from an event that others control.
    let h = harness();
    let o = h.run(
        &[("allow-pull-request-writes", "true")],
        &[("GITHUB_EVENT_NAME", "issue_comment")],
    );
    assert_ok(&o, "changed");
}
