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

/// Collects every declared input from `INPUT_*` variables.
pub fn read_inputs() -> RawInputs {
    let mut raw = RawInputs::default();
    for spec in INPUTS {
        if let Ok(value) = std::env::var(input_variable(spec.name)) {
            raw.set(spec.name, value);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names_keep_hyphens() {
        assert_eq!(input_variable("vault-addr"), "INPUT_VAULT-ADDR");
        assert_eq!(
            input_variable("allow-loopback-host"),
            "INPUT_ALLOW-LOOPBACK-HOST"
        );
    }
}
