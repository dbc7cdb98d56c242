//! Where the verification is posted and in what shape: the `post` input, the check run's name,
//! conclusion and output, the sticky PR comment's marker and body, the commit a check belongs
//! to, and what a refused post means.
//!
//! Pure: the handshake sends what this module builds, as `github` effects. A post never decides
//! the handshake's verdict: a refused post becomes a warning that names the permission to add.

use serde_json::Value;

use super::contract::Outcome;
use super::summary::Verification;

/// GitHub's limit for a check run's `output.summary` and `output.text`
/// (docs/actions-behaviour.md §6.1).
pub const CHECK_OUTPUT_LIMIT: usize = 65_535;
/// GitHub refuses comment bodies over 65,536 characters; stay well under (§6.3).
pub const COMMENT_LIMIT: usize = 60_000;

/// One place the summary goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    StepSummary,
    CheckRun,
    PrComment,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::StepSummary => "step-summary",
            Target::CheckRun => "check-run",
            Target::PrComment => "pr-comment",
        }
    }

    /// The permission the job's `GITHUB_TOKEN` needs for this target.
    pub fn permission(self) -> &'static str {
        match self {
            Target::StepSummary => "",
            Target::CheckRun => "checks: write",
            Target::PrComment => "pull-requests: write",
        }
    }
}

/// Parses the `post` input: targets separated by commas, spaces or newlines.
pub fn parse_targets(value: &str) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for word in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        let target = match word {
            "step-summary" => Target::StepSummary,
            "check-run" => Target::CheckRun,
            "pr-comment" => Target::PrComment,
            _ => return Err(word.to_string()),
        };
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out.sort();
    Ok(out)
}

/// What the event payload says about the commit and pull request.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventFacts {
    /// The commit a check run belongs to: the PR head, not the test merge commit.
    pub head_sha: Option<String>,
    pub pull_request: Option<u64>,
}

/// Reads `GITHUB_EVENT_PATH`'s JSON (§6.2): `pull_request.head.sha` and `.number` on pull
/// request events, `workflow_run.head_sha` on `workflow_run`.
pub fn parse_event(event_name: &str, payload: &str) -> EventFacts {
    let json: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    // The payload is text others wrote (a branch name, a title): only a commit id passes.
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| is_commit_sha(s))
            .map(str::to_string)
    };
    match event_name {
        "pull_request"
        | "pull_request_target"
        | "pull_request_review"
        | "pull_request_review_comment" => EventFacts {
            head_sha: text(json.pointer("/pull_request/head/sha")),
            pull_request: json.pointer("/pull_request/number").and_then(Value::as_u64),
        },
        "workflow_run" => EventFacts {
            head_sha: text(json.pointer("/workflow_run/head_sha")),
            pull_request: json
                .pointer("/workflow_run/pull_requests/0/number")
                .and_then(Value::as_u64),
        },
        _ => EventFacts::default(),
    }
}

/// A SHA-1 or SHA-256 commit id in lowercase hex.
pub fn is_commit_sha(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64)
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether an event's code is the repository's own, and so whether a run may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventTrust {
    /// Code and trigger come from people with write access: the run may write.
    Own,
    /// Code or trigger may come from a fork or from anyone who can comment: a dry run.
    Untrusted,
    /// An event this action does not know, or none inside a runner: a dry run.
    Unknown,
    /// Not in a runner at all (a person at a terminal): the operator decides.
    Local,
}

/// Events that write. Each one's code is the repository's and its trigger needs write access:
/// - `push`: commits pushed to this repository (the JWT role's `ref` binding picks branches);
/// - `workflow_dispatch`: started by hand by someone with write access;
/// - `schedule`: the default branch's workflow on a timer;
/// - `release`: a release published by a maintainer;
/// - `merge_group`: the merge queue's commit, made only from approved pull requests;
/// - `repository_dispatch`: sent through the API with a token that has write access.
///
/// `workflow_call` never appears here: a called workflow sees its caller's event name, so a
/// reusable workflow writes exactly when its caller's event would.
pub const WRITING_EVENTS: [&str; 6] = [
    "push",
    "workflow_dispatch",
    "schedule",
    "release",
    "merge_group",
    "repository_dispatch",
];

/// Events whose code or trigger others control: every pull request and review event (a fork's
/// code, or `pull_request_target` acting for one), comments and issues (anyone may write them),
/// `workflow_run` (often a fork's run finishing).
const UNTRUSTED_EVENTS: [&str; 11] = [
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
    "issue_comment",
    "issues",
    "discussion",
    "discussion_comment",
    "workflow_run",
    "fork",
    "watch",
];

/// How far an event's code is the repository's own. `in_runner` is false for a person at a
/// terminal, where no event exists and the operator decides.
pub fn event_trust(event_name: &str, in_runner: bool) -> EventTrust {
    if WRITING_EVENTS.contains(&event_name) {
        EventTrust::Own
    } else if UNTRUSTED_EVENTS.contains(&event_name) {
        EventTrust::Untrusted
    } else if event_name.is_empty() && !in_runner {
        EventTrust::Local
    } else {
        EventTrust::Unknown
    }
}

impl EventTrust {
    pub fn may_write(self) -> bool {
        matches!(self, EventTrust::Own | EventTrust::Local)
    }

    /// Why a run on this event is a dry run, for the log and the summary.
    pub fn dry_run_reason(self, event_name: &str) -> String {
        let opt_in = "Set `allow-pull-request-writes: true` to write from it anyway.";
        let shown: String = event_name.chars().take(64).collect();
        match self {
            EventTrust::Untrusted => format!(
                "`{shown}` events run as a dry run: their code or trigger may come from a fork or \
                 from anyone who can comment. {opt_in}"
            ),
            EventTrust::Unknown if event_name.is_empty() => format!(
                "`GITHUB_EVENT_NAME` is empty, so no event vouches for this run: it runs as a dry \
                 run. {opt_in}"
            ),
            EventTrust::Unknown => format!(
                "`{shown}` is not an event this action writes on (only {}): it runs as a dry run. \
                 {opt_in}",
                WRITING_EVENTS.join(", ")
            ),
            EventTrust::Own | EventTrust::Local => String::new(),
        }
    }
}

/// `vault-k8s-handshake (dev)`: one check per environment.
pub fn check_run_name(environment: &str) -> String {
    if environment.is_empty() {
        // The environment input was rejected and is not repeated here.
        return "vault-k8s-handshake".to_string();
    }
    format!("vault-k8s-handshake ({environment})")
}

/// The check run conclusion for a verdict.
/// `success` only when the trust path was proven; a write that was not proven is `neutral`.
pub fn conclusion(outcome: Outcome, verification: Verification) -> &'static str {
    match outcome {
        Outcome::Unchanged | Outcome::Changed if verification == Verification::Proven => "success",
        Outcome::Unchanged | Outcome::Changed => "neutral",
        Outcome::Planned => "neutral",
        Outcome::RolledBack | Outcome::Failed => "failure",
        Outcome::Cancelled => "cancelled",
    }
}

/// The check run's one-line title.
pub fn title(
    outcome: Outcome,
    verification: Verification,
    environment: &str,
    changed: bool,
) -> String {
    let said: &str = match (outcome, verification) {
        (Outcome::Unchanged, Verification::Proven) => "config already as desired, login proven",
        (Outcome::Unchanged, Verification::TlsVerified) => {
            "config already as desired, TLS verified, login not proven"
        }
        (Outcome::Unchanged, _) => "config already as desired, unverified",
        (Outcome::Changed, Verification::Proven) => "config written, login proven",
        (Outcome::Changed, Verification::TlsVerified) => {
            "config written, TLS verified, login not proven"
        }
        (Outcome::Changed, _) => "config written, unverified",
        (Outcome::Planned, _) if changed => "dry run, the config would change",
        (Outcome::Planned, _) => "dry run, nothing to change",
        (Outcome::RolledBack, _) => "written, failed verification, restored",
        (Outcome::Failed, _) => "the handshake failed",
        (Outcome::Cancelled, _) => "cancelled",
    };
    if environment.is_empty() {
        said.to_string()
    } else {
        format!("{environment}: {said}")
    }
}

/// Cuts Markdown to `limit` characters at a line boundary and says so.
pub fn truncate(markdown: &str, limit: usize, full_at: Option<&str>) -> String {
    if markdown.chars().count() <= limit {
        return markdown.to_string();
    }
    let note = match full_at {
        Some(url) => {
            format!("\n\n_Cut at GitHub's size limit; the full summary is on the [run]({url})._\n")
        }
        None => "\n\n_Cut at GitHub's size limit; the full summary is on the workflow run._\n"
            .to_string(),
    };
    const CLOSE: &str = "\n</details>";
    let budget = limit.saturating_sub(note.chars().count() + CLOSE.len());
    let mut cut: String = markdown.chars().take(budget).collect();
    if let Some(pos) = cut.rfind('\n') {
        cut.truncate(pos);
    }
    // A cut inside <details> would leave it open and swallow the note.
    if cut.matches("<details>").count() > cut.matches("</details>").count() {
        cut.push_str(CLOSE);
    }
    cut + &note
}

/// The hidden line that finds this environment's sticky comment again.
pub fn comment_marker(environment: &str) -> String {
    format!("<!-- vault-k8s-handshake sticky comment: {environment} -->")
}

/// The sticky comment's body: the marker, then the summary (cut to fit).
pub fn comment_body(environment: &str, summary: &str, run_url: Option<&str>) -> String {
    let marker = comment_marker(environment);
    let room = COMMENT_LIMIT - marker.chars().count() - 1;
    format!("{marker}\n{}", truncate(summary, room, run_url))
}

/// The login GitHub shows for comments made with a workflow's `GITHUB_TOKEN`.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

/// Picks the sticky comment to update: the first one by the token's identity carrying the marker
/// (`comments` is the list answer, in order).
pub fn find_sticky(comments: &[Value], environment: &str, author: &str) -> Option<u64> {
    let marker = comment_marker(environment);
    comments
        .iter()
        .find(|c| {
            c.pointer("/user/login").and_then(Value::as_str) == Some(author)
                && c.get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| b.contains(&marker))
        })
        .and_then(|c| c.get("id").and_then(Value::as_u64))
}

/// The warning for a post GitHub refused: the handshake's verdict stands.
pub fn refused_post(target: Target, status: u16, message: &str) -> String {
    let permission = target.permission();
    match status {
        403 | 404 if !permission.is_empty() => format!(
            "posting the {} was refused ({status} `{message}`): add `permissions: {permission}` to \
             the job (pull requests from forks never get it); the handshake itself is unaffected",
            target.as_str()
        ),
        401 => format!(
            "posting the {} was refused (401 `{message}`): check `github-token`; the handshake \
             itself is unaffected",
            target.as_str()
        ),
        _ => format!(
            "posting the {} failed ({status} `{message}`); the handshake itself is unaffected",
            target.as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_from_lists() {
        assert_eq!(
            parse_targets("step-summary").unwrap(),
            vec![Target::StepSummary]
        );
        assert_eq!(
            parse_targets("pr-comment, check-run\nstep-summary check-run").unwrap(),
            vec![Target::StepSummary, Target::CheckRun, Target::PrComment]
        );
        assert_eq!(parse_targets("").unwrap(), vec![]);
        assert_eq!(parse_targets("check-runs").unwrap_err(), "check-runs");
    }

    #[test]
    fn events_give_the_head_commit_and_pull_request() {
        let sha = "abc123".repeat(6) + "abcd";
        let pr =
            format!(r#"{{"pull_request":{{"number":17,"head":{{"sha":"{sha}"}}}},"after":"z"}}"#);
        assert_eq!(
            parse_event("pull_request", &pr),
            EventFacts {
                head_sha: Some(sha.clone()),
                pull_request: Some(17)
            }
        );
        let wr = format!(
            r#"{{"workflow_run":{{"head_sha":"{sha}","pull_requests":[{{"number":3}}]}}}}"#
        );
        assert_eq!(
            parse_event("workflow_run", &wr),
            EventFacts {
                head_sha: Some(sha.clone()),
                pull_request: Some(3)
            }
        );
        assert_eq!(parse_event("push", "{}"), EventFacts::default());
        // A payload's text is not a commit unless it looks like one.
        let forged = r#"{"pull_request":{"number":1,"head":{"sha":"main`<b>"}}}"#;
        assert_eq!(parse_event("pull_request", forged).head_sha, None);
    }

    #[test]
    fn only_the_repositorys_own_events_write() {
        for e in WRITING_EVENTS {
            assert_eq!(event_trust(e, true), EventTrust::Own, "{e}");
        }
        for e in [
            "pull_request",
            "pull_request_review",
            "pull_request_review_comment",
            "issue_comment",
            "workflow_run",
        ] {
            assert_eq!(event_trust(e, true), EventTrust::Untrusted, "{e}");
            assert!(event_trust(e, true).dry_run_reason(e).contains(e));
        }
        for e in ["", "workflow_call", "deployment", "something_new"] {
            assert_eq!(event_trust(e, true), EventTrust::Unknown, "{e}");
            assert!(!event_trust(e, true).may_write());
        }
        assert!(event_trust("", true)
            .dry_run_reason("")
            .contains("GITHUB_EVENT_NAME"));
        // A person at a terminal has no event; the operator decides.
        assert!(event_trust("", false).may_write());
        assert_eq!(
            parse_event("pull_request", "not json"),
            EventFacts::default()
        );
    }

    #[test]
    fn truncation_keeps_a_note_and_closes_details() {
        let long = format!("# t\n<details>\n{}\n</details>\n", "x\n".repeat(50_000));
        let cut = truncate(&long, 1_000, Some("https://github.com/a/b/actions/runs/1"));
        assert!(cut.chars().count() <= 1_000, "{}", cut.chars().count());
        assert!(cut.ends_with(
            "the full summary is on the [run](https://github.com/a/b/actions/runs/1)._\n"
        ));
        assert!(cut.contains("</details>"));
        assert_eq!(truncate("short", 10, None), "short");
        let body = comment_body("dev", &"y\n".repeat(40_000), None);
        assert!(body.chars().count() <= COMMENT_LIMIT);
        assert!(body.starts_with(&comment_marker("dev")));
    }

    #[test]
    fn sticky_comment_is_found_by_marker_and_author() {
        let mine = serde_json::json!({"id": 2, "user": {"login": ACTIONS_BOT}, "body": comment_body("dev", "x", None)});
        let other_env = serde_json::json!({"id": 1, "user": {"login": ACTIONS_BOT}, "body": comment_body("prod", "x", None)});
        let forged = serde_json::json!({"id": 0, "user": {"login": "mallory"}, "body": comment_body("dev", "x", None)});
        assert_eq!(
            find_sticky(
                &[forged.clone(), other_env.clone(), mine],
                "dev",
                ACTIONS_BOT
            ),
            Some(2)
        );
        assert_eq!(find_sticky(&[forged, other_env], "dev", ACTIONS_BOT), None);
    }

    #[test]
    fn refusals_name_the_permission() {
        let w = refused_post(
            Target::CheckRun,
            403,
            "Resource not accessible by integration",
        );
        assert!(
            w.contains("`permissions: checks: write`") && w.contains("unaffected"),
            "{w}"
        );
        assert!(refused_post(Target::PrComment, 403, "x").contains("pull-requests: write"));
        assert_eq!(
            conclusion(Outcome::Planned, Verification::Proven),
            "neutral"
        );
        // Only a proven trust path is a success; a write nobody proved is neutral.
        assert_eq!(
            conclusion(Outcome::Changed, Verification::Proven),
            "success"
        );
        assert_eq!(
            conclusion(Outcome::Changed, Verification::TlsVerified),
            "neutral"
        );
        assert_eq!(
            conclusion(Outcome::Unchanged, Verification::Unverified),
            "neutral"
        );
        assert_eq!(
            conclusion(Outcome::Failed, Verification::Unverified),
            "failure"
        );
        assert_eq!(check_run_name("dev"), "vault-k8s-handshake (dev)");
    }
}
