//! Every environment variable the program reads, in one place.
//!
//! Only these count: ambient `VAULT_*` variables (`VAULT_TOKEN`, `VAULT_SKIP_VERIFY`,
//! `VAULT_CACERT`…) are never read, so a runner's environment cannot change where the action
//! connects or whether it verifies TLS. Action inputs arrive as `INPUT_<NAME>`, the input name
//! upper-cased with hyphens kept (`vault-addr` → `INPUT_VAULT-ADDR`).

use std::path::PathBuf;

use crate::pure::contract::{RawInputs, INPUTS};
use crate::source::FileRules;

/// `true` inside a GitHub Actions runner.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// The workspace (`/github/workspace` inside a container action).
pub const GITHUB_WORKSPACE: &str = "GITHUB_WORKSPACE";
/// The runner's temp folder (`/github/runner_temp` inside a container action).
pub const RUNNER_TEMP: &str = "RUNNER_TEMP";

/// The variable an input arrives in: `INPUT_` + the name upper-cased, hyphens kept.
pub fn input_variable(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// Collects every declared input from `INPUT_*` variables. A value that is not UTF-8 is
/// recorded as such and refused by the input parser, never decoded lossily or dropped.
pub fn read_inputs() -> RawInputs {
    let mut raw = RawInputs::default();
    for spec in INPUTS {
        match std::env::var(input_variable(spec.name)) {
            Ok(value) => {
                raw.set(spec.name, value);
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                raw.set_not_utf8(spec.name);
            }
            Err(std::env::VarError::NotPresent) => {}
        }
    }
    raw
}

/// True when running inside a GitHub Actions runner.
pub fn in_runner() -> bool {
    std::env::var(GITHUB_ACTIONS).is_ok_and(|v| v == "true")
}

/// The file rules for this process: confined to the workspace and temp folder in a runner.
pub fn read_file_rules() -> FileRules {
    if !in_runner() {
        return FileRules::anywhere();
    }
    let folders: Vec<PathBuf> = [GITHUB_WORKSPACE, RUNNER_TEMP]
        .iter()
        .filter_map(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .collect();
    FileRules::confined_to(&folders)
}

/// The event that triggered the workflow (`push`, `pull_request`, …).
pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
/// The step's output file.
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// The step's Markdown summary file.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// Run context for the audit trail.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
pub const GITHUB_RUN_ATTEMPT: &str = "GITHUB_RUN_ATTEMPT";
pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
pub const GITHUB_SHA: &str = "GITHUB_SHA";
pub const GITHUB_REF: &str = "GITHUB_REF";
pub const GITHUB_WORKFLOW: &str = "GITHUB_WORKFLOW";
/// Set by the runner only for jobs with `permissions: id-token: write`.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// The event payload (`/github/workflow/event.json` in a container action).
pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// The REST API base (`https://api.github.com`, or `https://<ghes>/api/v3`).
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// `1` when the run has debug logging on.
pub const RUNNER_DEBUG: &str = "RUNNER_DEBUG";

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Set (to anything but empty) to turn colour off: <https://no-color.org>.
pub const NO_COLOR: &str = "NO_COLOR";

/// Whether stdout is a terminal, and whether to colour it: only a terminal, and only when
/// `NO_COLOR` is unset or empty.
pub fn read_terminal() -> (bool, bool) {
    use std::io::IsTerminal as _;
    let tty = std::io::stdout().is_terminal();
    (
        tty,
        wants_colour(tty, std::env::var_os(NO_COLOR).as_deref()),
    )
}

/// no-color.org: colour only on a terminal, and not when `NO_COLOR` is present and not empty
/// (whatever its value, UTF-8 or not).
pub fn wants_colour(tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    tty && no_color.is_none_or(|v| v.is_empty())
}

/// The paths the run writes to.
#[cfg(feature = "native")]
pub fn read_runner_paths() -> crate::shell::runner::RunnerPaths {
    let in_runner = in_runner();
    let (tty, colour) = read_terminal();
    crate::shell::runner::RunnerPaths {
        in_runner,
        output: non_empty(GITHUB_OUTPUT).map(PathBuf::from),
        step_summary: non_empty(GITHUB_STEP_SUMMARY).map(PathBuf::from),
        temp: non_empty(RUNNER_TEMP).map(PathBuf::from),
        person: !in_runner || tty,
        colour,
        temp_removed: false,
    }
}

/// The run's public context for the audit trail.
pub fn read_run_context(started_at: String) -> crate::pure::summary::RunContext {
    let server = non_empty(GITHUB_SERVER_URL).unwrap_or_else(|| "https://github.com".into());
    let repository = non_empty(GITHUB_REPOSITORY);
    let run_url = match (&repository, non_empty(GITHUB_RUN_ID)) {
        (Some(repo), Some(id)) => Some(match non_empty(GITHUB_RUN_ATTEMPT) {
            Some(attempt) => format!("{server}/{repo}/actions/runs/{id}/attempts/{attempt}"),
            None => format!("{server}/{repo}/actions/runs/{id}"),
        }),
        _ => None,
    };
    crate::pure::summary::RunContext {
        run_url,
        repository,
        actor: non_empty(GITHUB_ACTOR),
        sha: non_empty(GITHUB_SHA),
        git_ref: non_empty(GITHUB_REF),
        event_name: non_empty(GITHUB_EVENT_NAME),
        workflow: non_empty(GITHUB_WORKFLOW),
        started_at,
    }
}

/// The OIDC request variables, when the runner offers a token.
#[cfg(feature = "native")]
pub fn read_oidc_request() -> Option<crate::shell::oidc::OidcRequest> {
    let url = non_empty(ACTIONS_ID_TOKEN_REQUEST_URL)?;
    let token = non_empty(ACTIONS_ID_TOKEN_REQUEST_TOKEN)?;
    Some(crate::shell::oidc::OidcRequest {
        url,
        token: crate::pure::secret::Secret::new(token),
    })
}

/// What the event payload says about the pull request and head commit (empty when unreadable).
pub fn read_event() -> crate::pure::publish::EventFacts {
    let name = non_empty(GITHUB_EVENT_NAME).unwrap_or_default();
    let Some(path) = non_empty(GITHUB_EVENT_PATH) else {
        return crate::pure::publish::EventFacts::default();
    };
    let rules = crate::source::FileRules::anywhere();
    match crate::source::read_file("`GITHUB_EVENT_PATH`", std::path::Path::new(&path), &rules) {
        Ok(bytes) => crate::pure::publish::parse_event(&name, &String::from_utf8_lossy(&bytes)),
        Err(_) => crate::pure::publish::EventFacts::default(),
    }
}

/// `GITHUB_API_URL`, or github.com's.
pub fn read_api_url() -> String {
    non_empty(GITHUB_API_URL).unwrap_or_else(|| "https://api.github.com".into())
}

/// `GITHUB_RUN_ID` as a number.
pub fn read_run_id() -> Option<u64> {
    non_empty(GITHUB_RUN_ID).and_then(|v| v.parse().ok())
}

/// The proxy variables of https requests, in the order the HTTP client reads them (hyper-util's
/// system matcher: the first one set wins, upper case first). The client reads these and
/// `NO_PROXY`/`no_proxy` itself; the program reads them only to name the proxy in a message.
pub const HTTPS_PROXY_VARIABLES: [&str; 4] =
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// The hosts that bypass the proxy (read by the HTTP client only).
pub const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The proxy https requests go through, as set (it may hold a password: pass it only to
/// `pure::transport::proxy_address`, never to a message).
pub fn read_https_proxy() -> Option<String> {
    HTTPS_PROXY_VARIABLES
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .filter(|v| !v.trim().is_empty())
}

/// A name for the run's JSON report: environment, run id and attempt keep reruns apart.
pub fn report_file_name(environment: &str) -> String {
    let id = non_empty(GITHUB_RUN_ID).unwrap_or_else(|| "local".into());
    let attempt = non_empty(GITHUB_RUN_ATTEMPT).unwrap_or_else(|| "1".into());
    format!("vault-k8s-handshake-{environment}-{id}-{attempt}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(true, Some(OsStr::new("0"))));
        assert!(!wants_colour(false, None));
    }

    #[test]
    fn input_names_keep_hyphens() {
        assert_eq!(input_variable("vault-addr"), "INPUT_VAULT-ADDR");
        assert_eq!(
            input_variable("allow-loopback-host"),
            "INPUT_ALLOW-LOOPBACK-HOST"
        );
    }
}
