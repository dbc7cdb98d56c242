//! The three faces of the input contract never drift: `action.yml`, the README tables and the
//! CLI flags are the tables in src/pure/contract.rs, and the parser reads every declared input.
//! `UPDATE_GENERATED=1 cargo test --test contract` rewrites the generated files.

use std::path::Path;

use vault_k8s_handshake::pure::contract::{
    parse_settings, render_action_yml, render_inputs_markdown, render_outputs_markdown, Purpose,
    RawInputs, INPUTS,
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn update() -> bool {
    std::env::var("UPDATE_GENERATED").is_ok_and(|v| v == "1")
}

#[test]
fn action_yml_is_generated_from_the_contract() {
    let path = root().join("action.yml");
    let want = render_action_yml();
    if update() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(got == want, "action.yml drifted from src/pure/contract.rs; run UPDATE_GENERATED=1 cargo test --test contract");
}

#[test]
fn the_binary_action_is_generated_from_the_contract() {
    let path = root().join("binary/action.yml");
    let want = vault_k8s_handshake::pure::contract::render_composite_action_yml();
    if update() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "binary/action.yml drifted; run UPDATE_GENERATED=1 cargo test --test contract"
    );
    let yml: serde_yaml::Value = serde_yaml::from_str(&want).unwrap();
    let env = &yml["runs"]["steps"][1]["env"];
    for spec in INPUTS {
        let key = format!("INPUT_{}", spec.name.to_uppercase());
        assert_eq!(
            env[key.as_str()].as_str(),
            Some(format!("${{{{ inputs.{} }}}}", spec.name).as_str())
        );
    }
}

#[test]
fn action_yml_parses_and_declares_every_input() {
    let yml: serde_yaml::Value = serde_yaml::from_str(&render_action_yml()).unwrap();
    let inputs = yml["inputs"].as_mapping().unwrap();
    assert_eq!(inputs.len(), INPUTS.len());
    for spec in INPUTS {
        let entry = &inputs[spec.name];
        assert!(
            entry["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            spec.name
        );
        assert_eq!(
            entry["required"].as_bool(),
            Some(spec.required),
            "{}",
            spec.name
        );
    }
    assert_eq!(yml["runs"]["using"].as_str(), Some("docker"));
}

fn replace_between(text: &str, name: &str, body: &str) -> Option<String> {
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let a = text.find(&start)? + start.len();
    let b = text[a..].find(&end)? + a;
    Some(format!("{}{}{}", &text[..a], body, &text[b..]))
}

#[test]
fn readme_tables_are_generated_from_the_contract() {
    let path = root().join("README.md");
    let got = std::fs::read_to_string(&path).unwrap();
    let want = replace_between(&got, "inputs", &render_inputs_markdown())
        .and_then(|t| replace_between(&t, "outputs", &render_outputs_markdown()))
        .expect("README.md has <!-- inputs:start/end --> and <!-- outputs:start/end --> markers");
    if update() && want != got {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        got == want,
        "README tables drifted; run UPDATE_GENERATED=1 cargo test --test contract"
    );
}

#[test]
fn every_declared_input_is_read_by_the_parser() {
    let mut base = RawInputs::default();
    for (k, v) in [
        ("vault-addr", "https://vault.example.com:8200"),
        ("environment", "dev"),
        ("jwt-role", "gitops-dev"),
        ("ca-file", "k8s-ca.crt"),
    ] {
        base.set(k, v);
    }
    let baseline = format!("{:?}", parse_settings(&base, Purpose::Run).unwrap());
    for spec in INPUTS {
        // A value no input accepts as-is: the parser must either refuse it naming the input, or
        // produce different settings. Either shows it read the input.
        let mut raw = base.clone();
        assert!(raw.set(spec.name, "odd value\n"));
        match parse_settings(&raw, Purpose::Run) {
            Err(e) => assert!(
                e.to_string().contains(&format!("`{}`", spec.name)),
                "{}: {e}",
                spec.name
            ),
            Ok(s) => assert_ne!(
                format!("{s:?}"),
                baseline,
                "input `{}` is ignored by the parser",
                spec.name
            ),
        }
    }
}

#[cfg(feature = "native")]
#[test]
fn every_input_is_a_cli_flag_of_run() {
    let cmd = vault_k8s_handshake::cli::command();
    let run = cmd.find_subcommand("run").unwrap();
    for spec in INPUTS {
        let flag = run
            .get_arguments()
            .find(|a| a.get_long() == Some(spec.name));
        let flag = flag.unwrap_or_else(|| panic!("--{} is not a flag of run", spec.name));
        assert!(!flag.is_hide_set(), "--{}", spec.name);
    }
}

#[test]
fn plan_offers_the_inputs_a_plan_reads_and_hides_the_rest() {
    use vault_k8s_handshake::cli::PLAN_INPUTS;
    let cmd = vault_k8s_handshake::cli::command();
    let plan = cmd.find_subcommand("plan").unwrap();
    for name in PLAN_INPUTS {
        assert!(INPUTS.iter().any(|s| s.name == *name), "{name} is no input");
    }
    for spec in INPUTS {
        // Hidden flags exist so that `plan` can refuse a run's input by name.
        let flag = plan
            .get_arguments()
            .find(|a| a.get_long() == Some(spec.name))
            .unwrap_or_else(|| panic!("--{} is not a flag of plan", spec.name));
        assert_eq!(
            !flag.is_hide_set(),
            PLAN_INPUTS.contains(&spec.name),
            "--{}",
            spec.name
        );
    }
}

/// What an offline plan takes from its settings (see `plan` in src/cli.rs).
fn plan_view(s: &vault_k8s_handshake::pure::contract::Settings) -> String {
    format!(
        "{:?}",
        (
            &s.environment,
            &s.kubernetes_mount,
            &s.host,
            &s.ca,
            s.disable_local_ca_jwt,
            s.allow_reviewer_jwt_removal,
        )
    )
}

#[test]
fn plan_flags_are_exactly_the_inputs_that_change_a_plan() {
    use vault_k8s_handshake::cli::PLAN_INPUTS;
    let mut base = RawInputs::default();
    for (k, v) in [
        ("environment", "dev"),
        ("kubernetes-host", "https://10.69.1.110:6443"),
        ("ca-file", "k8s-ca.crt"),
    ] {
        base.set(k, v);
    }
    let baseline = plan_view(&parse_settings(&base, Purpose::Plan).unwrap());
    for spec in INPUTS {
        let mut raw = base.clone();
        if spec.name == "ca-data" {
            // One CA source at a time.
            raw.set("ca-file", "");
        }
        raw.set(spec.name, "odd value\n");
        let result = parse_settings(&raw, Purpose::Plan);
        if PLAN_INPUTS.contains(&spec.name) {
            // Read: refused by name, or a different plan.
            match result {
                Err(e) => assert!(e.to_string().contains(&format!("`{}`", spec.name)), "{e}"),
                Ok(s) => assert_ne!(plan_view(&s), baseline, "--{} changes nothing", spec.name),
            }
        } else if let Ok(s) = result {
            // Not offered: whatever it holds, the plan is the same.
            assert_eq!(plan_view(&s), baseline, "--{} changes the plan", spec.name);
        }
    }
}
