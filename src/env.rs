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

/// One variable as the environment holds it.
pub enum Var {
    Unset,
    Value(String),
    /// Set, but its bytes are not UTF-8.
    NotUtf8,
}

/// Where variables are read from: the process's environment natively, or the map the Node
/// driver hands over. Every reader below takes one, so both drivers read the same variables the
/// same way.
pub trait Env {
    fn var(&self, name: &str) -> Var;
}

/// This process's environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Var {
        match std::env::var(name) {
            Ok(value) => Var::Value(value),
            Err(std::env::VarError::NotUnicode(_)) => Var::NotUtf8,
            Err(std::env::VarError::NotPresent) => Var::Unset,
        }
    }
}

impl Env for std::collections::BTreeMap<String, String> {
    fn var(&self, name: &str) -> Var {
        match self.get(name) {
            Some(value) => Var::Value(value.clone()),
            None => Var::Unset,
        }
    }
}

fn non_empty_in(env: &dyn Env, name: &str) -> Option<String> {
    match env.var(name) {
        Var::Value(v) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// Collects every declared input from `INPUT_*` variables. A value that is not UTF-8 is
/// recorded as such and refused by the input parser, never decoded lossily or dropped.
pub fn read_inputs() -> RawInputs {
    inputs_from(&ProcessEnv)
}

pub fn inputs_from(env: &dyn Env) -> RawInputs {
    let mut raw = RawInputs::default();
    for spec in INPUTS {
        match env.var(&input_variable(spec.name)) {
            Var::Value(value) => {
                raw.set(spec.name, value);
            }
            Var::NotUtf8 => {
                raw.set_not_utf8(spec.name);
            }
            Var::Unset => {}
        }
    }
    raw
}

/// True when running inside a GitHub Actions runner.
pub fn in_runner() -> bool {
    in_runner_from(&ProcessEnv)
}

pub fn in_runner_from(env: &dyn Env) -> bool {
    matches!(env.var(GITHUB_ACTIONS), Var::Value(v) if v == "true")
}

/// The folders files may be read from in a runner (the workspace and the runner's temp
/// folder), as given; `None` outside a runner, where any path may be read.
pub fn file_roots_from(env: &dyn Env) -> Option<Vec<String>> {
    in_runner_from(env).then(|| {
        [GITHUB_WORKSPACE, RUNNER_TEMP]
            .iter()
            .filter_map(|name| non_empty_in(env, name))
            .collect()
    })
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
    non_empty_in(&ProcessEnv, name)
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
pub fn read_runner_paths() -> crate::pure::machine::RunnerPaths {
    let (tty, _) = read_terminal();
    runner_paths_from(
        &ProcessEnv,
        tty,
        &std::env::temp_dir().display().to_string(),
    )
}

/// The paths the run writes to; `tty`: stdout is a terminal; `temp`: the system's temp folder.
pub fn runner_paths_from(
    env: &dyn Env,
    tty: bool,
    temp: &str,
) -> crate::pure::machine::RunnerPaths {
    let in_runner = in_runner_from(env);
    let no_color = match env.var(NO_COLOR) {
        Var::Value(v) => Some(v),
        Var::NotUtf8 => Some("x".into()),
        Var::Unset => None,
    };
    crate::pure::machine::RunnerPaths {
        in_runner,
        output: non_empty_in(env, GITHUB_OUTPUT),
        step_summary: non_empty_in(env, GITHUB_STEP_SUMMARY),
        temp: non_empty_in(env, RUNNER_TEMP).unwrap_or_else(|| temp.to_string()),
        person: !in_runner || tty,
        colour: wants_colour(tty, no_color.as_deref().map(std::ffi::OsStr::new)),
        temp_removed: false,
    }
}

/// The run's public context for the audit trail.
pub fn run_context_from(env: &dyn Env, started_at: String) -> crate::pure::summary::RunContext {
    let non_empty = |name: &str| non_empty_in(env, name);
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
pub fn oidc_request_from(env: &dyn Env) -> Option<crate::pure::machine::OidcRequest> {
    let url = non_empty_in(env, ACTIONS_ID_TOKEN_REQUEST_URL)?;
    let token = non_empty_in(env, ACTIONS_ID_TOKEN_REQUEST_TOKEN)?;
    Some(crate::pure::machine::OidcRequest {
        url,
        token: crate::pure::machine::wire::WireSecret(crate::pure::secret::Secret::new(token)),
    })
}

/// The text of the event payload (`GITHUB_EVENT_PATH`), when it can be read.
pub fn read_event_payload() -> Option<String> {
    let path = non_empty(GITHUB_EVENT_PATH)?;
    let rules = crate::source::FileRules::anywhere();
    crate::source::read_file("`GITHUB_EVENT_PATH`", std::path::Path::new(&path), &rules)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// `GITHUB_API_URL`, or github.com's.
pub fn api_url_from(env: &dyn Env) -> String {
    non_empty_in(env, GITHUB_API_URL).unwrap_or_else(|| "https://api.github.com".into())
}

/// `GITHUB_RUN_ID` as a number.
pub fn run_id_from(env: &dyn Env) -> Option<u64> {
    non_empty_in(env, GITHUB_RUN_ID).and_then(|v| v.parse().ok())
}

/// The proxy variables of https requests, in the order the HTTP client reads them (hyper-util's
/// system matcher: the first one set wins, upper case first). The client reads these and
/// `NO_PROXY`/`no_proxy` itself; the program reads them only to name the proxy in a message.
pub const HTTPS_PROXY_VARIABLES: [&str; 4] =
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
/// The hosts that bypass the proxy (read by the HTTP client only).
pub const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// `host:port` of the proxy https requests go through, without the user and password the
/// variable may hold (`pure::transport::proxy_address`).
pub fn https_proxy_from(env: &dyn Env) -> Option<String> {
    HTTPS_PROXY_VARIABLES
        .iter()
        .find_map(|name| match env.var(name) {
            Var::Value(v) => Some(v),
            _ => None,
        })
        .filter(|v| !v.trim().is_empty())
        .and_then(|url| crate::pure::transport::proxy_address(&url))
}

/// A name for the run's JSON report: environment, run id and attempt keep reruns apart.
pub fn report_file_name_from(env: &dyn Env, environment: &str) -> String {
    let id = non_empty_in(env, GITHUB_RUN_ID).unwrap_or_else(|| "local".into());
    let attempt = non_empty_in(env, GITHUB_RUN_ATTEMPT).unwrap_or_else(|| "1".into());
    format!("vault-k8s-handshake-{environment}-{id}-{attempt}.json")
}

/// Everything a run reads from its environment, as the machine takes it. `raw` are the inputs
/// (from `INPUT_*`, plus any flags); `event_payload` the text of `GITHUB_EVENT_PATH`, read by
/// the driver; `tty`: stdout is a terminal; `temp`: the system's temp folder.
pub fn snapshot_from(
    env: &dyn Env,
    raw: RawInputs,
    now: i64,
    tty: bool,
    temp: &str,
    event_payload: Option<&str>,
) -> crate::pure::machine::Snapshot {
    // Only a valid environment names the report file (a rejected one is used nowhere).
    let environment = crate::pure::contract::parse_environment(&raw)
        .unwrap_or_else(|_| "invalid-environment".into());
    let event_name = non_empty_in(env, GITHUB_EVENT_NAME).unwrap_or_default();
    crate::pure::machine::Snapshot {
        oidc: oidc_request_from(env),
        context: run_context_from(env, crate::pure::ca::Timestamp(now).to_string()),
        now,
        report_file_name: report_file_name_from(env, &environment),
        event: event_payload
            .map(|p| crate::pure::publish::parse_event(&event_name, p))
            .unwrap_or_default(),
        github_api_url: api_url_from(env),
        run_id: run_id_from(env),
        paths: runner_paths_from(env, tty, temp),
        https_proxy: https_proxy_from(env),
        raw,
    }
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
