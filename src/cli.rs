//! The command line: what the user typed, then ready-to-use values, then one command run.
//!
//! Owns argument parsing (clap), the mapping of failures to exit codes and the `error:`/`hint:`
//! lines. The offline commands (`inspect-ca`, `plan`) build for wasm32-wasip1 too; network
//! commands join behind the `native` feature. Input flags are generated from the contract's
//! input table, so a flag and an action input can never differ in name.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::env;
use crate::pure::contract::{
    self, CaSource, HostSource, InputDefault, InputSpec, Purpose, RawInputs, INPUTS,
};
use crate::pure::plan::{self, DesiredConfig, PlanOptions};
use crate::pure::report;
use crate::pure::{Diagnostic, ErrorClass};
use crate::source;

/// A failure of the CLI itself (arguments and files it reads for its own use).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("`--now` is `{0}`, expected an RFC 3339 time such as `2027-01-01T00:00:00Z`")]
    BadNow(String),
    #[error("the system clock is before 1970")]
    Clock,
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::ErrorKind),
    #[error("`--{0}` is an input of `run` only: an offline plan reads neither Vault nor GitHub")]
    RunOnly(&'static str),
}

impl Diagnostic for CliError {
    fn class(&self) -> ErrorClass {
        match self {
            CliError::BadNow(_) | CliError::RunOnly(_) => ErrorClass::User,
            CliError::Clock | CliError::Stdout(_) => ErrorClass::Remote,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            CliError::BadNow(_) => Some("omit `--now` to use the system clock".into()),
            CliError::Clock => Some("set the system clock".into()),
            CliError::Stdout(_) => None,
            CliError::RunOnly(name) => Some(format!(
                "drop `--{name}`; `plan --help` lists the inputs a plan reads"
            )),
        }
    }
}

type Failure = Box<dyn Diagnostic>;

impl<E: Diagnostic + 'static> From<E> for Box<dyn Diagnostic> {
    fn from(e: E) -> Self {
        Box::new(e)
    }
}

/// The clap command: every subcommand, with input flags from the contract.
pub fn command() -> Command {
    let now = Arg::new("now")
        .long("now")
        .global(true)
        .value_name("RFC3339")
        .overrides_with("now")
        .help("Check validity at this time instead of the system clock (for reproducible output)");
    let inspect = Command::new("inspect-ca")
        .about("Show the CA certificates a file would upload, or why it is refused")
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print JSON"),
        )
        .arg(
            Arg::new("path")
                .required(true)
                .value_name("PATH")
                .help("PEM, DER, base64 of either, or a kubeconfig"),
        );
    let mut plan = Command::new("plan")
        .about("Plan the kubernetes auth config write against a config read from Vault")
        .arg(
            Arg::new("current")
                .long("current")
                .required(true)
                .value_name("CONFIG_JSON")
                .help(
                    "A file holding the output of `vault read -format=json auth/<mount>/config` \
                     (or its `data`), or the word `null` for a mount never configured (no file \
                     needed; write `./null` for a file of that name)",
                ),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_parser(["table", "json"])
                .default_value("table")
                .help("Output format"),
        );
    plan = with_input_flags(plan, Purpose::Plan);
    let root = Command::new("vault-k8s-handshake")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Write a cluster's Vault kubernetes auth config and prove it, in one verified step")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(now)
        .subcommand(inspect)
        .subcommand(plan);
    native_commands(root)
}

/// The inputs an offline `plan` reads, and so the only input flags it offers.
///
/// `plan` parses settings with `Purpose::Plan` and then uses only these: `environment` and
/// `kubernetes-mount` (which config, `auth/<mount>/config`), `kubernetes-host` and
/// `allow-loopback-host` (the desired host; an offline plan cannot read the VIP from KV, so the
/// host is given), `ca-file` and `ca-data` (the desired CA), `disable-local-ca-jwt` (a field of
/// the desired config) and `allow-reviewer-jwt-removal` (without it the plan refuses to drop a
/// stored reviewer JWT). Every other input serves what only `run` does: reaching and trusting
/// Vault or GitHub (address, namespaces, CA certificates, timeouts), logging in (the JWT inputs,
/// `vault-token`), reading the VIP from KV, fetching `ca-artifact`, probing, proving, posting,
/// and the dry-run policy of a run (`dry-run`, `allow-pull-request-writes`; a plan never writes).
pub const PLAN_INPUTS: &[&str] = &[
    "environment",
    "kubernetes-mount",
    "kubernetes-host",
    "allow-loopback-host",
    "ca-file",
    "ca-data",
    "disable-local-ca-jwt",
    "allow-reviewer-jwt-removal",
];

/// The `[default: …]` an input's help ends with, from the contract.
fn default_note(spec: &InputSpec) -> String {
    match spec.default {
        InputDefault::None => String::new(),
        // Only a runner evaluates `${{ … }}`: by hand the input is simply unset.
        InputDefault::Literal(d) if d.contains("${{") => {
            format!(" [default in a workflow: {d}; by hand: none]")
        }
        InputDefault::Literal(d) | InputDefault::Derived(d) => format!(" [default: {d}]"),
    }
}

/// The action's inputs as flags of the same names, with their defaults in the help. `run`
/// offers every input, secrets included (their values are masked like `INPUT_*` values, and
/// clap never echoes them: hyphen values are taken as values, so no part of one is reported as
/// an unknown flag). `plan` offers [`PLAN_INPUTS`]; the other inputs are hidden flags it refuses
/// by name, so a run's flag never meets a "did you mean" that suggests a different input.
fn with_input_flags(mut cmd: Command, purpose: Purpose) -> Command {
    for spec in INPUTS {
        let offered = purpose == Purpose::Run || PLAN_INPUTS.contains(&spec.name);
        let mut help = format!("{}{}", spec.description, default_note(spec));
        if purpose == Purpose::Plan && spec.name == "kubernetes-host" {
            // The input's own text describes `run`, which may read the VIP instead.
            help = "API server URL the config would hold, e.g. `https://10.0.0.10:6443`. \
                    Required: an offline plan cannot read the VIP from Vault KV."
                .into();
        }
        if spec.secret {
            help.push_str(&format!(
                " Secret: prefer the `{}` variable, which stays out of the process list and \
                 the shell's history.",
                env::input_variable(spec.name)
            ));
        }
        cmd = cmd.arg(
            Arg::new(spec.name)
                .long(spec.name)
                .value_name(if spec.secret { "SECRET" } else { "VALUE" })
                .allow_hyphen_values(spec.secret)
                .help(help)
                .hide(!offered)
                .help_heading("Action inputs"),
        );
    }
    cmd
}

#[cfg(not(feature = "native"))]
fn native_commands(root: Command) -> Command {
    root
}

#[cfg(feature = "native")]
fn native_commands(root: Command) -> Command {
    let run = Command::new("run").about(
        "Run the handshake: what the action's container does. Inputs come from `INPUT_*` \
         variables as the runner sets them; flags override them for local use",
    );
    dev_commands(root.subcommand(with_input_flags(run, Purpose::Run)))
}

#[cfg(all(feature = "native", not(feature = "dev-server")))]
fn dev_commands(root: Command) -> Command {
    root
}

#[cfg(feature = "dev-server")]
fn dev_commands(root: Command) -> Command {
    let demo = Command::new("demo")
        .about(
            "Run the whole handshake against an in-process dev server: seed, write, run again, nothing to change",
        )
        .arg(
            Arg::new("node")
                .long("node")
                .value_name("NODE")
                .help("Run each handshake as the Node action (node/dist/index.js) under this `node` binary"),
        );
    let server = Command::new("dev-server")
        .about(
            "Start the Vault-compatible dev server on 127.0.0.1 (in memory; for trials and tests)",
        )
        .arg(
            Arg::new("port")
                .long("port")
                .value_name("PORT")
                .default_value("8200")
                .value_parser(clap::value_parser!(u16)),
        )
        .arg(
            Arg::new("vault-version")
                .long("vault-version")
                .value_name("VERSION")
                .default_value("1.17")
                .value_parser(["1.15", "1.16", "1.17"])
                .help("Follow this Vault release where behaviour differs"),
        )
        .arg(
            Arg::new("seed")
                .long("seed")
                .value_name("ENVIRONMENT")
                .action(ArgAction::Append)
                .help("Seed an environment as the pipeline's Terraform does (repeatable)"),
        )
        .arg(
            Arg::new("vip")
                .long("vip")
                .value_name("VIP")
                .default_value("127.0.0.10")
                .help("The VIP stored in KV for seeded environments"),
        );
    root.subcommand(demo).subcommand(server)
}

#[cfg(feature = "dev-server")]
fn dev_server(matches: &ArgMatches) -> ExitCode {
    use crate::devserver::{seed, DevServer, Profile, ServerOptions};
    let profile = matches
        .get_one::<String>("vault-version")
        .and_then(|v| Profile::parse(v))
        .unwrap_or(Profile::V1_17);
    let port = matches.get_one::<u16>("port").copied().unwrap_or(8200);
    let server = match DevServer::start(ServerOptions {
        profile,
        port,
        ..ServerOptions::default()
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the dev server on 127.0.0.1:{port}: {e}");
            eprintln!("hint: pick another port with `--port`");
            return ExitCode::from(ErrorClass::Remote.exit_code());
        }
    };
    let vip = matches
        .get_one::<String>("vip")
        .cloned()
        .unwrap_or_default();
    for environment in matches.get_many::<String>("seed").into_iter().flatten() {
        if let Err(e) = seed::seed(&server, &seed::Seed::new(environment, &vip)) {
            eprintln!("error: {e}");
            return ExitCode::from(ErrorClass::Bug.exit_code());
        }
    }
    let grant = server.grant_oidc(crate::devserver::job_claims(
        "acme/gitops",
        "dev",
        "refs/heads/main",
        "push",
    ));
    println!(
        "dev server (Vault {} API) listening on {}",
        profile.version(),
        server.url()
    );
    println!("VAULT_ADDR={}", server.url());
    println!(
        "root token: {}  (dev only: everything is in memory)",
        server.root_token()
    );
    println!("OIDC for repository acme/gitops, environment dev:");
    println!("ACTIONS_ID_TOKEN_REQUEST_URL={}", grant.request_url);
    println!("ACTIONS_ID_TOKEN_REQUEST_TOKEN={}", grant.request_token);
    // Public, not a secret: what a JWT mount's `jwt_validation_pubkeys` takes in place of
    // GitHub's discovery URL, which a laptop or a sealed CI machine cannot reach.
    println!(
        "OIDC issuer {} signs with this key (jwt_validation_pubkeys):",
        server.issuer_url()
    );
    print!("{}", server.issuer_public_pem());
    println!("stop it with Ctrl-C");
    loop {
        std::thread::park();
    }
}

/// Input flags given on the command line, over the `INPUT_*` values. For `plan`, a flag of an
/// input a plan does not read is refused by name (its value, perhaps a secret, is never shown).
fn read_input_flags(
    matches: &ArgMatches,
    raw: &mut RawInputs,
    purpose: Purpose,
) -> Result<(), CliError> {
    for spec in INPUTS {
        if let Some(value) = matches.get_one::<String>(spec.name) {
            if purpose == Purpose::Plan && !PLAN_INPUTS.contains(&spec.name) {
                return Err(CliError::RunOnly(spec.name));
            }
            raw.set(spec.name, value.clone());
        }
    }
    Ok(())
}

/// Runs the CLI with the process arguments and returns the exit code.
pub fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ErrorClass::User.exit_code()
            } else {
                0
            });
        }
    };
    #[cfg(feature = "dev-server")]
    match matches.subcommand() {
        Some(("demo", sub)) => {
            let node = sub.get_one::<String>("node").map(std::path::PathBuf::from);
            return match read_now(&matches) {
                Ok(now) => ExitCode::from(crate::devserver::demo::demo(now, node.as_deref())),
                Err(failure) => report_failure(failure.as_ref()),
            };
        }
        Some(("dev-server", sub)) => return dev_server(sub),
        _ => {}
    }
    #[cfg(feature = "native")]
    if let Some(("run", sub)) = matches.subcommand() {
        return match read_now(&matches) {
            Ok(now) => run_action(sub, now),
            Err(failure) => report_failure(failure.as_ref()),
        };
    }
    match run(&matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report_failure(failure.as_ref()),
    }
}

fn report_failure(failure: &dyn Diagnostic) -> ExitCode {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {failure}");
    if let Some(hint) = failure.hint() {
        let _ = writeln!(err, "hint: {hint}");
    }
    ExitCode::from(failure.class().exit_code())
}

fn run(matches: &ArgMatches) -> Result<(), Failure> {
    let now = read_now(matches)?;
    match matches.subcommand() {
        Some(("inspect-ca", sub)) => inspect_ca(sub, now),
        Some(("plan", sub)) => plan(sub, now),
        _ => unreachable!("clap requires a known subcommand"),
    }
}

fn read_now(matches: &ArgMatches) -> Result<i64, Failure> {
    use time::format_description::well_known::Rfc3339;
    match matches.get_one::<String>("now") {
        Some(text) => time::OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| CliError::BadNow(text.clone()).into()),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .map_err(|_| CliError::Clock.into()),
    }
}

fn inspect_ca(matches: &ArgMatches, now: i64) -> Result<(), Failure> {
    let path = matches
        .get_one::<String>("path")
        .cloned()
        .unwrap_or_default();
    let rules = env::read_file_rules();
    let loaded = source::load_ca(&CaSource::File(path), &rules, now)?;
    let out = if matches.get_flag("json") {
        report::render_ca_json(&loaded.origin, &loaded.bundle, &loaded.warnings)
    } else {
        report::render_ca_text(&loaded.origin, &loaded.bundle)
    };
    print_warnings(&loaded.warnings);
    write_stdout(&out)
}

fn plan(matches: &ArgMatches, now: i64) -> Result<(), Failure> {
    let mut raw = RawInputs::default();
    read_input_flags(matches, &mut raw, Purpose::Plan)?;
    let settings = contract::parse_settings(&raw, Purpose::Plan)?;
    let rules = env::read_file_rules();
    let current_path = matches
        .get_one::<String>("current")
        .cloned()
        .unwrap_or_default();
    // `--current null` is Vault's answer for a mount never configured, given as is.
    let current = if current_path == "null" {
        None
    } else {
        let current_origin = format!("`--current` `{current_path}`");
        let current_bytes = source::read_file(&current_origin, Path::new(&current_path), &rules)?;
        plan::parse_current_config(&String::from_utf8_lossy(&current_bytes))?
    };
    let loaded = source::load_ca(&settings.ca, &rules, now)?;
    let HostSource::Input(host) = &settings.host else {
        unreachable!("parse_settings requires kubernetes-host for Purpose::Plan")
    };
    let desired = DesiredConfig {
        kubernetes_host: host.as_str().to_string(),
        ca_pem: loaded.bundle.to_pem(),
        ca_fingerprints: loaded.bundle.fingerprints(),
        disable_local_ca_jwt: settings.disable_local_ca_jwt,
    };
    let options = PlanOptions {
        allow_reviewer_jwt_removal: settings.allow_reviewer_jwt_removal,
    };
    let planned = plan::plan_config(current.as_ref(), &desired, &options)?;
    let mut warnings = loaded.warnings.clone();
    warnings.extend(host.warnings().iter().cloned());
    print_warnings(&warnings);
    let mount = settings.kubernetes_mount.as_str();
    let out = match matches.get_one::<String>("format").map(String::as_str) {
        Some("json") => report::render_plan_json(mount, &planned),
        _ => report::render_plan_text(mount, &planned),
    };
    write_stdout(&out)
}

/// `run`: the handshake reports its own failures (annotation, summary, outputs), so only its
/// exit code comes back.
#[cfg(feature = "native")]
fn run_action(matches: &ArgMatches, now: i64) -> ExitCode {
    let mut raw = env::read_inputs();
    if let Err(e) = read_input_flags(matches, &mut raw, Purpose::Run) {
        return report_failure(&e);
    }
    ExitCode::from(run_handshake(raw, now))
}

/// Runs the handshake on a fresh runtime with inputs already gathered.
#[cfg(feature = "native")]
pub fn run_handshake(raw: RawInputs, now: i64) -> u8 {
    let payload = env::read_event_payload();
    let (tty, _) = env::read_terminal();
    let snapshot = env::snapshot_from(
        &env::ProcessEnv,
        raw,
        now,
        tty,
        &std::env::temp_dir().display().to_string(),
        payload.as_deref(),
    );
    // A panic's message may quote data (a Vault answer, a path): print only where it happened.
    // The handshake's wrapper still revokes the token and reports the failure.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "{}",
            crate::pure::command::render_annotation(
                crate::pure::command::Level::Error,
                Some(ErrorClass::Bug.title()),
                &format!("the action panicked at {at}; please report it with the run's log"),
            )
        );
    }));
    let runtime = match crate::shell::current_thread_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ErrorClass::Bug.exit_code();
        }
    };
    runtime.block_on(crate::shell::driver::drive(
        snapshot,
        env::read_file_rules(),
    ))
}

fn print_warnings(warnings: &[String]) {
    let mut err = std::io::stderr().lock();
    for warning in warnings {
        let _ = writeln!(
            err,
            "warning: {}",
            crate::pure::command::escape_log_line(warning)
        );
    }
}

fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Stdout(e.kind()).into())
}
