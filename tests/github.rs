//! Posting where people look, and the CA from the run's artifact, against the GitHub REST API
//! stand-in (contract-checked against GitHub's published OpenAPI description).

mod common;

use common::*;
use vault_k8s_handshake::devserver::github::{GithubOptions, GithubServer, Permissions};

const TOKEN: &str = "ghs_PLANTEDgithubTOKEN0123456789abcdef";

fn github(permissions: Permissions) -> GithubServer {
    GithubServer::start(GithubOptions {
        owner: "acme".into(),
        repo: "gitops".into(),
        run_id: 4242,
        tokens: vec![(TOKEN.into(), permissions)],
        tls: None,
    })
    .unwrap()
}

fn gh_env(gh: &GithubServer) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_API_URL", gh.api_url()),
        ("GITHUB_RUN_ID", "4242".into()),
    ]
}

fn run(h: &Harness, gh: &GithubServer, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Outcome {
    let mut all_inputs = vec![("github-token", TOKEN)];
    all_inputs.extend_from_slice(inputs);
    let owned = gh_env(gh);
    let mut all_env: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all_env.extend_from_slice(env);
    h.run(&all_inputs, &all_env)
}

fn pull_request_event(h: &Harness, number: u64, head: &str) -> String {
    let path = h.runner_temp.join("event.json");
    std::fs::write(
        &path,
        format!(r#"{{"pull_request":{{"number":{number},"head":{{"sha":"{head}"}}}}}}"#),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn a_check_run_per_attempt_on_the_commit() {
    let h = harness();
    let gh = github(Permissions::ALL);
    for attempt in 1..=2 {
        let o = run(&h, &gh, &[("post", "step-summary,check-run")], &[]);
        assert_eq!(o.code, 0, "{}", o.stdout);
        let runs = gh.check_runs();
        assert_eq!(runs.len(), attempt, "one new check run per attempt");
        let last = runs.last().unwrap();
        assert_eq!(last["name"], "vault-k8s-handshake (dev)");
        assert_eq!(last["head_sha"], "0123456789abcdef0123456789abcdef01234567");
        // Written but not proven (no `proof-jwt`): neutral, never a success it did not earn.
        assert_eq!(last["conclusion"], "neutral");
        assert!(last["output"]["summary"]
            .as_str()
            .unwrap()
            .contains("auth/dev-kubernetes/config"));
        assert!(o.summary.contains("check run posted"), "{}", o.summary);
    }
    for r in gh.requests() {
        assert!(
            r.contract.is_ok(),
            "{} {}: {:?}",
            r.method,
            r.path,
            r.contract
        );
    }
}

#[test]
fn the_sticky_comment_is_created_once_then_edited_in_place_on_the_pr_head() {
    let h = harness();
    let gh = github(Permissions::ALL);
    // Someone else's comment carrying the marker is never touched.
    gh.add_comment(
        7,
        "mallory",
        "<!-- vault-k8s-handshake sticky comment: dev -->\nforged",
    );
    let event = pull_request_event(&h, 7, "feedfacefeedfacefeedfacefeedfacefeedface");
    for _ in 0..2 {
        let o = run(
            &h,
            &gh,
            &[("post", "pr-comment,check-run")],
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", &event),
            ],
        );
        assert_eq!(o.code, 0, "{}", o.stdout);
        assert_eq!(o.output("result"), "planned", "pull requests run dry");
    }
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2, "the forged one and ours: {comments:?}");
    assert_eq!(
        comments[0]["body"].as_str().unwrap(),
        "<!-- vault-k8s-handshake sticky comment: dev -->\nforged"
    );
    assert_eq!(comments[1]["user"]["login"], "github-actions[bot]");
    let edits = gh
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("/issues/comments/"))
        .count();
    assert_eq!(edits, 1, "the second run edits the first one's comment");
    assert_eq!(
        gh.check_runs().last().unwrap()["head_sha"],
        "feedfacefeedfacefeedfacefeedfacefeedface"
    );
    assert_eq!(gh.check_runs().last().unwrap()["conclusion"], "neutral");
}

#[test]
fn a_refused_post_leaves_a_successful_handshake_green_with_a_warning() {
    let h = harness();
    let gh = github(Permissions::NONE);
    let event = pull_request_event(&h, 3, "abcabcabcabcabcabcabcabcabcabcabcabcabca");
    let o = run(
        &h,
        &gh,
        &[
            ("post", "check-run,pr-comment,step-summary"),
            ("allow-pull-request-writes", "true"),
        ],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &event),
        ],
    );
    assert_ok(&o, "changed");
    assert!(
        o.stdout.contains("::warning::") && o.stdout.contains("`permissions: checks: write`"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("pull-requests: write"), "{}", o.stdout);
    assert!(o.summary.contains("unaffected"), "{}", o.summary);
    assert!(gh.check_runs().is_empty());
}

#[test]
fn without_a_pull_request_the_comment_is_skipped_with_a_note() {
    let h = harness();
    let gh = github(Permissions::ALL);
    let o = run(&h, &gh, &[("post", "step-summary,pr-comment")], &[]);
    assert_ok(&o, "changed");
    assert!(
        o.summary.contains("not for a pull request"),
        "{}",
        o.summary
    );
    assert!(gh.requests().is_empty());
}

#[test]
fn the_ca_comes_from_the_runs_artifact_without_the_token_on_the_blob() {
    let h = harness();
    let gh = github(Permissions::ALL);
    gh.add_artifact(
        "k8s-ca",
        zip(&[("k8s-ca.crt", h.ca_pem.as_bytes())]),
        "application/zip",
        false,
    );
    let o = run(&h, &gh, &[("ca-file", ""), ("ca-artifact", "k8s-ca")], &[]);
    assert_ok(&o, "changed");
    assert_eq!(
        h.stored("", "dev-kubernetes").unwrap().kubernetes_ca_cert,
        h.ca_pem.replace("\r\n", "\n")
    );
    let requests = gh.requests();
    let blob: Vec<_> = requests.iter().filter(|r| r.origin == "blob").collect();
    assert_eq!(blob.len(), 1);
    assert!(
        !blob[0].had_authorization,
        "the token never goes to blob storage"
    );
    assert!(requests
        .iter()
        .filter(|r| r.origin == "api")
        .all(|r| r.had_authorization));
    for r in &requests {
        assert!(
            r.contract.is_ok(),
            "{} {}: {:?}",
            r.method,
            r.path,
            r.contract
        );
    }
}

#[test]
fn artifact_refusals_name_the_cause() {
    let h = harness();
    let key_kubeconfig = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rke2.yaml"),
    )
    .unwrap();
    let bomb_entry = vec![b'A'; 2 * 1024 * 1024];
    // (label, artifact bytes (empty: a good one), content type, inputs, expected message)
    type Row<'a> = (&'a str, Vec<u8>, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let rows: Vec<Row> = vec![
        (
            "missing",
            Vec::new(),
            "application/zip",
            vec![("ca-artifact", "nope")],
            "`k8s-ca`",
        ),
        (
            "wrong path",
            zip(&[("k8s-ca.crt", h.ca_pem.as_bytes())]),
            "application/zip",
            vec![("ca-artifact", "k8s-ca"), ("ca-artifact-path", "other.crt")],
            "k8s-ca.crt",
        ),
        (
            "dot-dot entry",
            zip(&[("../evil.crt", h.ca_pem.as_bytes())]),
            "application/zip",
            vec![("ca-artifact", "k8s-ca")],
            "..",
        ),
        (
            "oversized entry",
            zip(&[("k8s-ca.crt", &bomb_entry)]),
            "application/zip",
            vec![("ca-artifact", "k8s-ca")],
            "-byte limit per file",
        ),
        (
            "kubeconfig with credentials",
            zip(&[("rke2.yaml", &key_kubeconfig)]),
            "application/zip",
            vec![("ca-artifact", "k8s-ca")],
            "client credentials",
        ),
    ];
    for (label, bytes, content_type, inputs, message) in rows {
        let gh = github(Permissions::ALL);
        if !bytes.is_empty() {
            gh.add_artifact("k8s-ca", bytes, content_type, false);
        } else {
            gh.add_artifact(
                "k8s-ca",
                zip(&[("k8s-ca.crt", h.ca_pem.as_bytes())]),
                "application/zip",
                false,
            );
        }
        let mut all = vec![("ca-file", "")];
        all.extend(inputs);
        let o = run(&h, &gh, &all, &[]);
        assert_eq!(o.code, 2, "{label}: {}", o.stdout);
        let text = o.output("error-message");
        assert!(text.contains(message), "{label}: {text}");
        assert!(h.stored("", "dev-kubernetes").is_none(), "{label}");
    }
}

#[test]
fn a_raw_upload_is_read_by_content_type() {
    let h = harness();
    let gh = github(Permissions::ALL);
    gh.add_artifact(
        "k8s-ca.crt",
        h.ca_pem.as_bytes().to_vec(),
        "application/x-pem-file",
        false,
    );
    let o = run(
        &h,
        &gh,
        &[("ca-file", ""), ("ca-artifact", "k8s-ca.crt")],
        &[],
    );
    assert_ok(&o, "changed");
}

#[test]
fn a_missing_actions_read_permission_is_named() {
    let h = harness();
    let gh = github(Permissions {
        actions_read: false,
        ..Permissions::ALL
    });
    gh.add_artifact(
        "k8s-ca",
        zip(&[("k8s-ca.crt", h.ca_pem.as_bytes())]),
        "application/zip",
        false,
    );
    let o = run(&h, &gh, &[("ca-file", ""), ("ca-artifact", "k8s-ca")], &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.output("error-message").contains("actions: read"),
        "{:?}",
        o.outputs
    );
}

#[test]
fn the_github_token_reaches_github_and_nothing_else() {
    let h = harness();
    let gh = github(Permissions::ALL);
    gh.add_artifact(
        "k8s-ca",
        zip(&[("k8s-ca.crt", h.ca_pem.as_bytes())]),
        "application/zip",
        false,
    );
    let o = run(
        &h,
        &gh,
        &[
            ("ca-file", ""),
            ("ca-artifact", "k8s-ca"),
            ("post", "step-summary,check-run"),
        ],
        &[],
    );
    assert_ok(&o, "changed");
    // Positive control: the planted token really was sent to the API.
    assert!(gh
        .requests()
        .iter()
        .any(|r| r.headers.iter().any(|(_, v)| v.contains(TOKEN))));
    assert!(o.stdout.contains("::add-mask::"));
    for text in [&o.stdout, &o.stderr, &o.summary] {
        let unmasked: String = text
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!unmasked.contains(TOKEN), "the token leaked");
    }
    for value in o.outputs.values() {
        assert!(!value.contains(TOKEN));
    }
}
