//! The three faces of the input contract never drift: `action.yml`, the README tables and the
//! CLI flags are the tables in src/pure/contract.rs, and the parser reads every declared input.
//! `UPDATE_GENERATED=1 cargo test --test contract` rewrites the generated files.

use std::path::{Path, PathBuf};

use vault_k8s_handshake::pure::contract::{
    is_release_tag, is_repository, is_sha256_hex, parse_settings, render_action_yml,
    render_composite_action_yml, render_inputs_markdown, render_node_action_yml,
    render_outputs_markdown, render_reusable_workflow_inputs, render_reusable_workflow_keys,
    render_reusable_workflow_record, render_reusable_workflow_with, render_stamped_action_yml,
    ActionImage, Purpose, RawInputs, ReleaseStamp, BINARY_TARGETS, INPUTS, OUTPUTS,
    PER_ENVIRONMENT_INPUTS,
};

/// The checkout under test: this crate, or the stamped copy `.ci/release-check` made
/// (`VKH_CONTRACT_ROOT`), so the same test proves a release commit without building it again.
fn root() -> PathBuf {
    match std::env::var_os("VKH_CONTRACT_ROOT") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    }
}

fn update() -> bool {
    std::env::var("UPDATE_GENERATED").is_ok_and(|v| v == "1")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).unwrap()
}

/// The image a stamped `action.yml` names; `None` when it is the unstamped form.
fn stamped_image(text: &str) -> Option<ActionImage> {
    let yml = yaml(text);
    if yml["runs"]["using"].as_str() != Some("docker") {
        return None;
    }
    let image = yml["runs"]["image"].as_str().unwrap_or_default();
    Some(ActionImage::parse(image).unwrap_or_else(|| {
        panic!("action.yml runs `{image}`: a release pins `docker://<image>@sha256:<hex>`")
    }))
}

/// What `action.yml` must be: the unstamped form, or exactly the stamped form of the image it
/// names (anything else, e.g. an image by tag, fails).
fn expected_action_yml(got: &str) -> String {
    match stamped_image(got) {
        Some(image) => render_stamped_action_yml(&image),
        None => render_action_yml(),
    }
}

#[test]
fn action_yml_is_generated_from_the_contract() {
    let path = root().join("action.yml");
    if update() {
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        let want = if got.is_empty() {
            render_action_yml()
        } else {
            expected_action_yml(&got)
        };
        std::fs::write(&path, &want).unwrap();
    }
    let got = read(&path);
    assert!(got == expected_action_yml(&got), "action.yml drifted from src/pure/contract.rs; run UPDATE_GENERATED=1 cargo test --test contract");
}

#[test]
fn the_reusable_workflows_action_is_action_yml() {
    // `$/.github/actions/container` is how the reusable workflow runs the container action of its
    // own commit (`$/` needs a path); it is action.yml, stamped with it.
    let path = root().join(".github/actions/container/action.yml");
    let want = read(&root().join("action.yml"));
    if update() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    assert!(
        read(&path) == want,
        ".github/actions/container/action.yml differs from action.yml; run UPDATE_GENERATED=1 cargo test --test contract"
    );
}

#[test]
fn the_node_action_is_generated_from_the_contract() {
    let path = root().join("node/action.yml");
    if update() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, render_node_action_yml()).unwrap();
    }
    let got = read(&path);
    assert!(
        got == render_node_action_yml(),
        "node/action.yml drifted; run UPDATE_GENERATED=1 cargo test --test contract"
    );
    let yml = yaml(&got);
    assert_eq!(yml["runs"]["using"].as_str(), Some("node24"));
    assert!(root()
        .join("node")
        .join(yml["runs"]["main"].as_str().unwrap())
        .is_file());
    for spec in INPUTS {
        assert!(!yml["inputs"][spec.name].is_null(), "{} missing", spec.name);
    }
    for spec in OUTPUTS {
        assert!(
            !yml["outputs"][spec.name].is_null(),
            "{} missing",
            spec.name
        );
    }
}

/// The stamp `binary/action.yml` carries; `None` when unstamped.
fn binary_stamp(text: &str) -> Option<ReleaseStamp> {
    let yml = yaml(text);
    let env = &yml["runs"]["steps"][0]["env"];
    let get = |k: &str| {
        env[k]
            .as_str()
            .unwrap_or_else(|| panic!("binary/action.yml lacks {k}"))
    };
    let tag = get("RELEASE_TAG");
    if tag.is_empty() {
        for (_, _, _, var) in BINARY_TARGETS {
            assert_eq!(get(var), "", "{var} is set but RELEASE_TAG is not");
        }
        assert_eq!(get("RELEASE_REPOSITORY"), "");
        return None;
    }
    let repository = get("RELEASE_REPOSITORY");
    assert!(is_release_tag(tag), "RELEASE_TAG `{tag}` is not vX.Y.Z");
    assert!(
        is_repository(repository),
        "RELEASE_REPOSITORY `{repository}` is not owner/name"
    );
    let binaries = BINARY_TARGETS
        .iter()
        .map(|(target, _, _, var)| {
            let sha = get(var);
            assert!(is_sha256_hex(sha), "{var} `{sha}` is not a SHA-256");
            (target.to_string(), sha.to_string())
        })
        .collect();
    Some(ReleaseStamp {
        repository: repository.into(),
        tag: tag.into(),
        binaries,
    })
}

#[test]
fn the_binary_action_is_generated_from_the_contract() {
    let path = root().join("binary/action.yml");
    if update() {
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        // A file from before stamping existed (or none) is rewritten unstamped.
        let stamp = if got.contains("RELEASE_TAG:") {
            binary_stamp(&got)
        } else {
            None
        };
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, render_composite_action_yml(stamp.as_ref())).unwrap();
    }
    let got = read(&path);
    let stamp = binary_stamp(&got);
    assert!(
        got == render_composite_action_yml(stamp.as_ref()),
        "binary/action.yml drifted; run UPDATE_GENERATED=1 cargo test --test contract"
    );
    let yml = yaml(&got);
    let env = &yml["runs"]["steps"][1]["env"];
    for spec in INPUTS {
        let key = format!("INPUT_{}", spec.name.to_uppercase());
        assert_eq!(
            env[key.as_str()].as_str(),
            Some(format!("${{{{ inputs.{} }}}}", spec.name).as_str())
        );
    }
    // A release stamps both actions, or neither: the container action may also name the local
    // Dockerfile (the end-to-end workflow's build of this checkout) without a release.
    let image = stamped_image(&read(&root().join("action.yml")));
    let published = matches!(image, Some(ActionImage::Published { .. }));
    assert_eq!(
        published,
        stamp.is_some(),
        "action.yml and binary/action.yml are not stamped together"
    );
}

#[test]
fn both_forms_of_the_actions_are_well_formed() {
    let stamp = ReleaseStamp {
        repository: "acme/vault-k8s-handshake".into(),
        tag: "v1.2.3".into(),
        binaries: BINARY_TARGETS
            .iter()
            .map(|(t, ..)| (t.to_string(), "ab".repeat(32)))
            .collect(),
    };
    let image = ActionImage::Published {
        name: "ghcr.io/acme/vault-k8s-handshake".into(),
        digest: format!("sha256:{}", "cd".repeat(32)),
    };
    assert_eq!(ActionImage::parse(&image.as_image()), Some(image.clone()));
    assert_eq!(
        ActionImage::parse("dist/Dockerfile"),
        Some(ActionImage::LocalDockerfile)
    );
    for bad in [
        "docker://ghcr.io/acme/x:v1",
        "docker://ghcr.io/acme/x@sha256:00",
        "Dockerfile",
    ] {
        assert_eq!(ActionImage::parse(bad), None, "{bad}");
    }
    assert_eq!(
        binary_stamp(&render_composite_action_yml(Some(&stamp))),
        Some(stamp.clone())
    );
    assert_eq!(binary_stamp(&render_composite_action_yml(None)), None);
    assert!(!is_repository("OWNER/vault-k8s-handshake"));
    assert!(is_release_tag("v1.2.3-rc.1") && !is_release_tag("v1.2") && !is_release_tag("1.2.3"));
    for text in [render_action_yml(), render_stamped_action_yml(&image)] {
        let yml = yaml(&text);
        assert_eq!(yml["inputs"].as_mapping().unwrap().len(), INPUTS.len());
    }
    // The unstamped action stops with an error naming what to do; the stamped one runs `run`.
    let unstamped = render_action_yml();
    assert!(unstamped.contains("::error title=") && unstamped.contains("Reference a release"));
    assert!(render_stamped_action_yml(&image).contains("    - \"run\"\n"));
}

#[test]
fn action_yml_parses_and_declares_every_input() {
    let yml: serde_yaml::Value = serde_yaml::from_str(&render_action_yml()).unwrap();
    assert_eq!(yml["runs"]["using"].as_str(), Some("composite"));
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
    let got = read(&path);
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

/// Replaces the text between every `# contract:<name>:start` line and the next
/// `# contract:<name>:end` line (whatever their indentation) with `body`. `None` when the
/// markers are missing.
fn replace_generated(text: &str, name: &str, body: &str) -> Option<String> {
    let start = format!("# contract:{name}:start\n");
    let end = format!("# contract:{name}:end");
    let mut out = String::new();
    let mut rest = text;
    let mut found = false;
    while let Some(a) = rest.find(&start) {
        let a = a + start.len();
        let b = rest[a..].find(&end)? + a;
        let line_start = rest[..b].rfind('\n').map_or(0, |i| i + 1);
        out.push_str(&rest[..a]);
        out.push_str(body);
        out.push_str(&rest[line_start..b]);
        rest = &rest[b..];
        found = true;
    }
    out.push_str(rest);
    found.then_some(out)
}

/// A twin of the container action's job (from `  handshake:` to the first twin's marker) that
/// runs another action of the same commit: `kind` is `binary` or `node`, `uses` its path.
fn twin_job(text: &str, kind: &str, uses: &str) -> Option<String> {
    let start = text.find("\n  handshake:\n")? + 1;
    let end = text.find("  # contract:binary-job:start\n")?;
    let job = &text[start..end];
    let swaps = [
        ("  handshake:\n".to_string(), format!("  handshake-{kind}:\n")),
        (
            "    name: handshake (${{ matrix.environment.name }})\n".to_string(),
            format!("    name: handshake (${{{{ matrix.environment.name }}}}, {kind})\n"),
        ),
        (
            "    if: inputs.action == 'container'\n".to_string(),
            format!("    if: inputs.action == '{kind}'\n"),
        ),
        (
            "        uses: $/.github/actions/container\n".to_string(),
            format!("        uses: {uses}\n"),
        ),
        (
            "      - name: Vault kubernetes auth handshake (${{ matrix.environment.name }}, container)\n"
                .to_string(),
            format!(
                "      - name: Vault kubernetes auth handshake (${{{{ matrix.environment.name }}}}, {kind})\n"
            ),
        ),
    ];
    let mut out = job.to_string();
    for (from, to) in swaps {
        if out.matches(from.as_str()).count() != 1 {
            return None;
        }
        out = out.replace(from.as_str(), &to);
    }
    // Comments above the container job describe it; the twin keeps only its body.
    let body_at = out.find(&format!("  handshake-{kind}:\n"))?;
    let action = if kind == "node" {
        "the Node action"
    } else {
        "the binary action"
    };
    Some(format!(
        "  # Generated from the job above by tests/contract.rs: {action}.\n{}",
        &out[body_at..]
    ))
}

/// The twins of the container job, with the action each runs.
const TWINS: [(&str, &str); 2] = [("binary", "$/binary"), ("node", "$/node")];

#[test]
fn the_reusable_workflow_passes_every_input() {
    let path = root().join(".github/workflows/handshake.yml");
    let got = read(&path);
    let (inputs, secrets) = render_reusable_workflow_inputs();
    let want = replace_generated(&got, "inputs", &inputs)
        .and_then(|t| replace_generated(&t, "secrets", &secrets))
        .and_then(|t| replace_generated(&t, "with", &render_reusable_workflow_with()))
        .and_then(|t| replace_generated(&t, "keys", &render_reusable_workflow_keys()))
        .and_then(|t| replace_generated(&t, "record", &render_reusable_workflow_record()))
        .and_then(|t| {
            TWINS.iter().try_fold(t.clone(), |t, (kind, uses)| {
                let job = twin_job(&t, kind, uses)?;
                replace_generated(&t, &format!("{kind}-job"), &job)
            })
        })
        .expect("handshake.yml has its jobs and the # contract:… markers");
    if update() && want != got {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        got == want,
        "handshake.yml drifted from src/pure/contract.rs; run UPDATE_GENERATED=1 cargo test --test contract"
    );
    // Every input reaches the action step of both jobs, and nothing else does.
    let yml = yaml(&got);
    let names: Vec<&str> = INPUTS.iter().map(|s| s.name).collect();
    for (job, uses) in [
        ("handshake", "$/.github/actions/container"),
        ("handshake-binary", "$/binary"),
        ("handshake-node", "$/node"),
    ] {
        let steps = yml["jobs"][job]["steps"].as_sequence().unwrap();
        let action: Vec<_> = steps
            .iter()
            .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("$/")))
            .collect();
        assert_eq!(action.len(), 1, "{job}: one action step");
        assert_eq!(action[0]["uses"].as_str(), Some(uses));
        let keys: Vec<&str> = action[0]["with"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .collect();
        assert_eq!(keys, names, "{job}");
    }
    for name in PER_ENVIRONMENT_INPUTS {
        assert!(
            INPUTS.iter().any(|s| s.name == *name),
            "{name} is not an input"
        );
    }
}

/// Which action a `uses:` names: this project's container action, its binary action, its
/// reusable workflow, or something else.
#[derive(Debug, PartialEq)]
enum Uses {
    Action,
    Workflow,
    Other,
}

fn classify(uses: &str) -> Uses {
    // `<owner>/vault-k8s-handshake[/<path>]@<ref>`, whatever the owner (a placeholder on
    // branches, the repository in a release commit).
    let remote_path = uses.split_once('@').and_then(|(name, _)| {
        let (_, rest) = name.split_once('/')?;
        rest.strip_prefix("vault-k8s-handshake")
    });
    match remote_path {
        Some("/.github/workflows/handshake.yml" | "/.github/workflows/handshake-post.yml") => {
            Uses::Workflow
        }
        Some("" | "/binary") => Uses::Action,
        _ if uses.starts_with("./.github/workflows/handshake")
            || uses.starts_with("$/.github/workflows/handshake") =>
        {
            Uses::Workflow
        }
        _ if ["./", "./binary", "$/.github/actions/container", "$/binary"].contains(&uses) => {
            Uses::Action
        }
        _ => Uses::Other,
    }
}

/// Checks every `with:` (and `secrets:`) given to this project's action or reusable workflow in
/// one workflow document; returns the problems found.
fn check_with_keys(doc: &serde_yaml::Value, what: &str, problems: &mut Vec<String>) {
    let inputs: Vec<&str> = INPUTS.iter().map(|s| s.name).collect();
    let workflow = yaml(&read(&root().join(".github/workflows/handshake.yml")));
    let call = &workflow["on"]["workflow_call"];
    let keys_of = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_mapping()
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let wf_inputs = keys_of(&call["inputs"]);
    let wf_secrets = keys_of(&call["secrets"]);
    let Some(jobs) = doc["jobs"].as_mapping() else {
        return;
    };
    for (name, job) in jobs {
        let job_name = name.as_str().unwrap_or("?");
        if let Some(uses) = job["uses"].as_str() {
            if classify(uses) == Uses::Workflow {
                for key in keys_of(&job["with"]) {
                    if !wf_inputs.contains(&key) {
                        problems.push(format!(
                            "{what}: job {job_name}: `{key}` is not an input of handshake.yml"
                        ));
                    }
                }
                for key in keys_of(&job["secrets"]) {
                    if !wf_secrets.contains(&key) {
                        problems.push(format!("{what}: job {job_name}: secret `{key}` is not declared by handshake.yml"));
                    }
                }
            }
        }
        for step in job["steps"].as_sequence().into_iter().flatten() {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            if classify(uses) != Uses::Action {
                continue;
            }
            for key in keys_of(&step["with"]) {
                if !inputs.contains(&key.as_str()) {
                    problems.push(format!(
                        "{what}: job {job_name}: `{key}` is not an input of the action"
                    ));
                }
            }
        }
    }
}

/// The ```yaml blocks of a Markdown file that are whole workflows (they have `jobs:`).
fn markdown_workflows(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(a) = rest.find("```yaml\n") {
        let body = &rest[a + 8..];
        let Some(b) = body.find("\n```") else { break };
        let block = &body[..b + 1];
        if block.contains("\njobs:") || block.starts_with("jobs:") {
            out.push(block.to_string());
        }
        rest = &body[b..];
    }
    out
}

#[test]
fn every_with_key_names_an_input() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join(".github/workflows")).unwrap() {
        let path = entry.unwrap().path();
        let doc = yaml(&read(&path));
        check_with_keys(&doc, &path.display().to_string(), &mut problems);
        checked += 1;
    }
    for md in ["README.md", "CONTRIBUTING.md"] {
        let path = root().join(md);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (i, block) in markdown_workflows(&text).iter().enumerate() {
            let doc: serde_yaml::Value = serde_yaml::from_str(block)
                .unwrap_or_else(|e| panic!("{md}: workflow snippet {}: {e}", i + 1));
            check_with_keys(&doc, &format!("{md} snippet {}", i + 1), &mut problems);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} workflows found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check itself sees a wrong key.
    let mut own = Vec::new();
    let bad = yaml(
        "jobs:\n  a:\n    steps:\n      - uses: $/binary\n        with:\n          vault_addr: x\n",
    );
    check_with_keys(&bad, "canary", &mut own);
    assert_eq!(own.len(), 1, "{own:?}");
}

/// handshake-post.yml: handshake.yml with the two permissions posting needs. A separate file
/// because a called job's permissions are static and a job asking for more than its caller
/// granted fails the whole call: a caller that does not post must not have to grant them.
fn posting_twin(text: &str) -> Option<String> {
    let actions = "      actions: read # `ca-artifact`: list and download this run's artifacts\n";
    let posting = "      checks: write # `post: check-run`\n      \
                   pull-requests: write # `post: pr-comment` (one sticky comment per environment)\n";
    // One per environment job: the container job and its twins.
    if text.matches(actions).count() != 1 + TWINS.len()
        || text.matches("\nname: vault-k8s-handshake\n").count() != 1
    {
        return None;
    }
    let header = "# Generated from handshake.yml by tests/contract.rs (`UPDATE_GENERATED=1 cargo test --test\n\
                  # contract`): the same workflow, whose environment jobs may also post check runs and\n\
                  # pull-request comments. Edit handshake.yml, never this file.\n#\n";
    Some(format!(
        "{header}{}",
        text.replace(actions, &format!("{actions}{posting}"))
            .replace(
                "\nname: vault-k8s-handshake\n",
                "\nname: vault-k8s-handshake (posting)\n"
            )
    ))
}

#[test]
fn the_posting_workflow_is_the_reusable_workflow_with_posting_permissions() {
    let base = read(&root().join(".github/workflows/handshake.yml"));
    let want =
        posting_twin(&base).expect("handshake.yml has its `actions: read` line and its name");
    let path = root().join(".github/workflows/handshake-post.yml");
    if update() {
        std::fs::write(&path, &want).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == want,
        "handshake-post.yml drifted from handshake.yml; run UPDATE_GENERATED=1 cargo test --test contract"
    );
    let yml = yaml(&want);
    for job in ["handshake", "handshake-binary", "handshake-node"] {
        let permissions = &yml["jobs"][job]["permissions"];
        assert_eq!(permissions["checks"].as_str(), Some("write"), "{job}");
        assert_eq!(
            permissions["pull-requests"].as_str(),
            Some("write"),
            "{job}"
        );
    }
    let plain = yaml(&base);
    assert!(plain["jobs"]["handshake"]["permissions"]["checks"].is_null());
}
