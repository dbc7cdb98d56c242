//! The handshake, step by step: inputs, CA, login, host, plan, apply, report, revoke.
//!
//! One straight-line async function does the work and records every step in a `RunReport`; a
//! wrapper makes sure that, whatever happens inside (an error, a panic), the token the action
//! minted is revoked and the report, outputs and summary are written. Decisions about Vault live
//! in the core (`pure::plan`, `pure::vault_api`); this module sends, reads and records.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::pure::contract::{self, CaSource, HostSource, Outcome, Purpose, RawInputs, Settings};
use crate::pure::host::{self, KubernetesHost};
use crate::pure::plan::{self, CurrentConfig, DesiredConfig, PlanOptions, Rollback};
use crate::pure::probe::{ProbeMode, ProbeOutcome};
use crate::pure::proof::{ProofFailure, ProofJwtFacts, Unseen};
use crate::pure::publish::{self, EventFacts, Target};
use crate::pure::secret::Secret;
use crate::pure::summary::{
    self, CaRecord, FailureRecord, ProbeSeen, RunContext, RunReport, StepStatus, Verification,
};
use crate::pure::vault_api;
use crate::pure::{Area, Diagnostic, ErrorClass};
use crate::shell::github::GithubClient;
use crate::shell::oidc::{self, OidcError, OidcRequest};
use crate::shell::proof;
use crate::shell::runner::Runner;
use crate::shell::vault::{CallError, VaultClient};
use crate::source::{self, FileRules};

/// Everything a run needs from its environment, gathered by the caller.
pub struct RunEnv {
    pub raw: RawInputs,
    pub oidc: Option<OidcRequest>,
    pub rules: FileRules,
    pub context: RunContext,
    /// Unix seconds, for CA validity.
    pub now: i64,
    pub report_file_name: String,
    /// What the event payload says (PR number, head commit).
    pub event: EventFacts,
    /// `GITHUB_API_URL` (`https://api.github.com` when unset).
    pub github_api_url: String,
    pub run_id: Option<u64>,
}

/// What the TLS probe found, as the proof's diagnosis needs it.
struct ProbeState {
    /// The API server presented a certificate from the uploaded CA with a matching SAN.
    verified: bool,
    /// The probe got a definite answer from the API server's TLS (not a failed connection).
    reached: bool,
    message: String,
    hint: String,
}

/// The Vault token in use and whether the action must revoke it.
struct Session {
    client: Arc<VaultClient>,
    token: Secret,
    revoke: bool,
    /// Revoke-self is routed to the token's own namespace.
    namespace: Option<String>,
    how: &'static str,
    /// The token's policies, as Vault reported them at login or lookup.
    policies: Vec<String>,
}

type Shared<T> = Arc<Mutex<T>>;

fn failure(e: &dyn Diagnostic) -> FailureRecord {
    FailureRecord {
        class: e.class(),
        area: e.area(),
        message: e.to_string(),
        hint: e.hint(),
    }
}

/// Runs the handshake and returns the process exit code.
pub async fn run(env: RunEnv, runner: Arc<Runner>) -> u8 {
    // Secrets first: nothing may be logged before they are masked.
    if let Some(token) = env.raw_secret("vault-token") {
        runner.mask(&token);
    }
    if let Some(jwt) = env.raw_secret("proof-jwt") {
        runner.mask(&jwt);
    }
    if let Some(request) = &env.oidc {
        runner.mask(&request.token);
    }
    let (targets, github_token) = contract::parse_publishing(&env.raw);
    if let Some(token) = &github_token {
        runner.mask(token);
    }
    let publishing = Publishing {
        targets,
        token: github_token,
        extra_ca_certs: env
            .raw
            .raw_value("extra-ca-certs")
            .and_then(|v| crate::pure::ca::trust_pem(&v)),
        api_url: env.github_api_url.clone(),
        event: env.event.clone(),
    };
    // A rejected `environment` is used nowhere (not in the report's name, the check run's name
    // or the comment marker): the failure names the input instead.
    let environment = contract::parse_environment(&env.raw).unwrap_or_default();
    let mount = if environment.is_empty() {
        String::new()
    } else {
        format!("{environment}-kubernetes")
    };
    let report: Shared<RunReport> = Arc::new(Mutex::new(RunReport::new(
        &environment,
        &mount,
        env.context.clone(),
    )));
    let session: Shared<Option<Session>> = Arc::new(Mutex::new(None));

    let report_file_name = env.report_file_name.clone();
    // Held from a config write until its read-back (and any rollback) is done: a cancel waits
    // for it, so the run never stops between a write and knowing what it wrote.
    let critical = Arc::new(tokio::sync::Mutex::new(()));
    let mut task = tokio::spawn(steps(
        env,
        runner.clone(),
        report.clone(),
        session.clone(),
        critical.clone(),
    ));
    tokio::select! {
        joined = &mut task => {
            if let Err(e) = joined {
                let mut r = lock(&report);
                r.outcome = Outcome::Failed;
                r.failure = Some(FailureRecord {
                    class: ErrorClass::Bug,
                    area: Area::Runner,
                    message: if e.is_panic() {
                        "the handshake panicked".into()
                    } else {
                        "the handshake stopped unexpectedly".into()
                    },
                    hint: Some("please report this with the run's log".into()),
                });
            }
        }
        signal = cancel_signal() => {
            // The runner cancels with SIGINT, then SIGTERM, then SIGKILL: stop at a safe point,
            // then revoke and report below while there is time.
            let _safe_point = critical.lock().await;
            task.abort();
            let _ = (&mut task).await;
            let mut r = lock(&report);
            let written = r.changed;
            let last = r.steps.last().map(|s| s.name).unwrap_or("start");
            r.outcome = Outcome::Cancelled;
            r.step(
                "cancel",
                StepStatus::Failed,
                format!("the runner sent {signal}; stopped after the `{last}` step"),
            );
            r.failure = Some(FailureRecord {
                class: ErrorClass::Remote,
                area: Area::Runner,
                message: format!(
                    "cancelled by the runner ({signal}) after the `{last}` step; {}",
                    if written {
                        "the config was written and read back before the cancel"
                    } else {
                        "nothing was written"
                    }
                ),
                hint: Some("re-run the job; the token of this run is revoked".into()),
            });
        }
    }

    revoke(&runner, &report, &session).await;
    publish(&runner, &report, &publishing).await;
    finish(
        &runner,
        &report,
        &report_file_name,
        publishing.targets.contains(&Target::StepSummary),
    )
}

/// Waits for SIGINT or SIGTERM (the runner's cancel) and names it. A container's PID 1 gets no
/// default action for SIGTERM, so without this the step would only end at SIGKILL, token alive.
#[cfg(unix)]
async fn cancel_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        // Without handlers the process keeps the default behaviour; wait forever here.
        _ => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn cancel_signal() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(_) => std::future::pending().await,
    }
}

/// Where the finished report is posted.
struct Publishing {
    targets: Vec<Target>,
    token: Option<Secret>,
    extra_ca_certs: Option<String>,
    api_url: String,
    event: EventFacts,
}

/// Posts the check run and the sticky comment. A refusal is a warning and a note in the step
/// summary; it never changes the handshake's verdict or exit code.
async fn publish(runner: &Runner, report: &Shared<RunReport>, p: &Publishing) {
    let wants = |t: Target| p.targets.contains(&t);
    if !wants(Target::CheckRun) && !wants(Target::PrComment) {
        return;
    }
    let (summary, outcome, verification, environment, changed, repository, sha, run_url) = {
        let r = lock(report);
        (
            // Redacted here: these bodies leave the process through GitHub, not the runner.
            runner.redact(&summary::render_summary(&r)),
            r.outcome,
            r.verification,
            r.environment.clone(),
            r.changed,
            r.context.repository.clone(),
            r.context.sha.clone(),
            r.context.run_url.clone(),
        )
    };
    let note = |text: String, warn: bool| {
        if warn {
            runner.warning(&text);
            lock(report).warnings.push(text);
        } else {
            lock(report).notes.push(text);
        }
    };
    let (Some(token), Some(repository)) = (&p.token, &repository) else {
        note(
            "posting skipped: `github-token` or `GITHUB_REPOSITORY` is empty (outside Actions)"
                .into(),
            true,
        );
        return;
    };
    let extra: Vec<&str> = p.extra_ca_certs.iter().map(String::as_str).collect();
    let client = match GithubClient::new(
        &p.api_url,
        repository,
        token,
        std::time::Duration::from_secs(30),
        &extra,
    ) {
        Ok(c) => c,
        Err(e) => return note(format!("posting skipped: {e}"), true),
    };
    if wants(Target::CheckRun) {
        match p.event.head_sha.clone().or(sha) {
            None => note(
                "check run skipped: no commit SHA (`GITHUB_SHA`)".into(),
                true,
            ),
            Some(head) => {
                let body =
                    publish::truncate(&summary, publish::CHECK_OUTPUT_LIMIT, run_url.as_deref());
                let posted = client
                    .create_check_run(
                        &publish::check_run_name(&environment),
                        &head,
                        publish::conclusion(outcome, verification),
                        &publish::title(outcome, verification, &environment, changed),
                        &body,
                        run_url.as_deref(),
                    )
                    .await;
                match posted {
                    Ok(url) => note(format!("check run posted on `{head}`: {url}"), false),
                    Err(e) => note(
                        publish::refused_post(Target::CheckRun, e.status(), &e.message()),
                        true,
                    ),
                }
            }
        }
    }
    if wants(Target::PrComment) {
        match p.event.pull_request {
            _ if environment.is_empty() => note(
                "pr-comment skipped: the `environment` input was rejected, so no comment of \
                 this environment can be found"
                    .into(),
                true,
            ),
            None => note(
                "pr-comment skipped: this run is not for a pull request".into(),
                false,
            ),
            Some(number) => {
                let body = publish::comment_body(&environment, &summary, run_url.as_deref());
                let result = async {
                    let comments = client.list_comments(number).await?;
                    match publish::find_sticky(&comments, &environment, publish::ACTIONS_BOT) {
                        Some(id) => client
                            .update_comment(id, &body)
                            .await
                            .map(|u| (u, "updated")),
                        None => client
                            .create_comment(number, &body)
                            .await
                            .map(|u| (u, "posted")),
                    }
                }
                .await;
                match result {
                    Ok((url, how)) => note(format!("pull request comment {how}: {url}"), false),
                    Err(e) => note(
                        publish::refused_post(Target::PrComment, e.status(), &e.message()),
                        true,
                    ),
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere; the data is still the best record there is.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RunEnv {
    fn raw_secret(&self, name: &'static str) -> Option<Secret> {
        self.raw
            .raw_value(name)
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    }
}

async fn steps(
    env: RunEnv,
    runner: Arc<Runner>,
    report: Shared<RunReport>,
    session: Shared<Option<Session>>,
    critical: Arc<tokio::sync::Mutex<()>>,
) {
    let result = handshake(&env, &runner, &report, &session, &critical).await;
    let mut r = lock(&report);
    if let Err(f) = result {
        if r.outcome != Outcome::RolledBack {
            r.outcome = Outcome::Failed;
        }
        r.failure = Some(f);
    }
}

macro_rules! record {
    ($report:expr, $step:expr, $result:expr) => {
        match $result {
            Ok(v) => v,
            Err(e) => {
                let f = failure(&e);
                lock($report).step($step, StepStatus::Failed, f.message.clone());
                return Err(f);
            }
        }
    };
}

async fn handshake(
    env: &RunEnv,
    runner: &Runner,
    report: &Shared<RunReport>,
    session_slot: &Shared<Option<Session>>,
    critical: &tokio::sync::Mutex<()>,
) -> Result<(), FailureRecord> {
    // 1. Inputs.
    runner.group("Inputs");
    let mut settings = record!(
        report,
        "inputs",
        contract::parse_settings(&env.raw, Purpose::Run)
    );
    if let Some(path) = settings.proof_jwt_file.clone() {
        // Read, masked and (unless kept) removed before anything else is printed.
        let jwt = read_proof_jwt_file(&path, &env.rules, runner).inspect_err(|f| {
            lock(report).step("inputs", StepStatus::Failed, f.message.clone());
        })?;
        if !settings.keep_proof_jwt_file {
            let note = match std::fs::remove_file(&path) {
                Ok(()) => format!("`proof-jwt-file` `{path}` was removed after reading"),
                Err(e) => format!("`proof-jwt-file` `{path}` could not be removed: {e}"),
            };
            lock(report).notes.push(note);
        }
        settings.proof_jwt = Some(jwt);
    }
    let addr = settings.vault_addr.clone().ok_or_else(|| FailureRecord {
        class: ErrorClass::Bug,
        area: Area::Input,
        message: "vault-addr missing after parsing".into(),
        hint: None,
    })?;
    {
        let mut r = lock(report);
        r.mount = settings.kubernetes_mount.to_string();
        r.namespace = settings.kubernetes_namespace.clone();
        r.vault_addr = Some(addr.to_string());
        r.dry_run = settings.dry_run;
        r.step(
            "inputs",
            StepStatus::Done,
            format!("environment `{}`", settings.environment),
        );
    }
    let event = env.context.event_name.clone().unwrap_or_default();
    let trust = publish::event_trust(&event, runner.in_runner());
    let dry_run = settings.dry_run || (!trust.may_write() && !settings.allow_pull_request_writes);
    if dry_run {
        runner.set_dry_run();
    }
    if dry_run && !settings.dry_run {
        let reason = trust.dry_run_reason(&event);
        runner.notice(&reason);
        let mut r = lock(report);
        r.dry_run = true;
        r.dry_run_reason = Some(reason);
    }
    runner.end_group();

    let proof_facts = match &settings.proof_jwt {
        Some(jwt) => Some(record!(
            report,
            "inputs",
            crate::pure::proof::parse_proof_jwt(jwt.expose_secret(), env.now)
        )),
        None => None,
    };

    // 2. CA.
    runner.group("Cluster CA");
    let loaded = match &settings.ca {
        CaSource::Artifact { name, path } => {
            let from = crate::shell::artifact::ArtifactSource {
                name,
                path: path.as_deref(),
                api_url: &env.github_api_url,
                repository: env.context.repository.as_deref(),
                run_id: env.run_id,
                token: settings.github_token.as_ref(),
                timeout: settings.request_timeout,
                extra_ca_pems: &settings.extra_trust(),
            };
            record!(
                report,
                "ca",
                crate::shell::artifact::load_ca(&from, &env.rules, env.now).await
            )
        }
        other => record!(report, "ca", source::load_ca(other, &env.rules, env.now)),
    };
    for w in &loaded.warnings {
        runner.warning(w);
    }
    let bundle = &loaded.bundle;
    for cert in &bundle.certs {
        runner.info(&format!(
            "CA {} `{}` sha256 {} expires {}",
            cert.position, cert.subject, cert.fingerprint, cert.not_after
        ));
    }
    {
        let mut r = lock(report);
        r.warnings.extend(loaded.warnings.iter().cloned());
        r.ca = Some(CaRecord {
            fingerprints: bundle.fingerprints(),
            subjects: bundle.certs.iter().map(|c| c.subject.clone()).collect(),
            not_after: bundle.earliest_not_after().to_string(),
            origin: loaded.origin.clone(),
        });
        let n = bundle.certs.len();
        let status = if loaded.warnings.is_empty() {
            StepStatus::Done
        } else {
            StepStatus::Warned
        };
        r.step(
            "ca",
            status,
            format!(
                "{n} CA certificate{} from {}",
                if n == 1 { "" } else { "s" },
                loaded.origin
            ),
        );
    }
    runner.end_group();

    // 3. Login.
    runner.group("Vault login");
    let client = Arc::new(record!(
        report,
        "login",
        VaultClient::new(&addr, &settings.vault_trust(), settings.request_timeout)
    ));
    record!(
        report,
        "login",
        client
            .send(
                &vault_api::health(settings.vault_namespace.as_deref()),
                None,
                None
            )
            .await
    );
    let session = login(env, &settings, &client, runner)
        .await
        .inspect_err(|f| {
            lock(report).step("login", StepStatus::Failed, f.message.clone());
        })?;
    lock(report).step("login", StepStatus::Done, session.how.to_string());
    let token = session.token.clone();
    let policies = session.policies.clone();
    *lock(session_slot) = Some(session);
    runner.end_group();

    // 4. Host.
    runner.group("Kubernetes host");
    let host = resolve_host(&settings, &client, &token, &policies)
        .await
        .inspect_err(|f| {
            lock(report).step("host", StepStatus::Failed, f.message.clone());
        })?;
    for w in host.warnings() {
        runner.warning(w);
    }
    {
        let mut r = lock(report);
        r.host = Some(host.as_str().to_string());
        r.warnings.extend(host.warnings().iter().cloned());
        let from = match &settings.host {
            HostSource::Input(_) => "from `kubernetes-host`".to_string(),
            HostSource::Vip {
                mount, secret, key, ..
            } => {
                format!(
                    "VIP from `{}`",
                    HostSource::vip_location(mount, secret, key)
                )
            }
        };
        let status = if host.warnings().is_empty() {
            StepStatus::Done
        } else {
            StepStatus::Warned
        };
        r.step("host", status, format!("`{}` {from}", host.as_str()));
    }
    runner.info(&format!("kubernetes_host: {}", host.as_str()));
    runner.end_group();

    // 5. Probe.
    let probed = if settings.probe == ProbeMode::Off {
        let mut r = lock(report);
        r.probe = ProbeSeen::Off;
        r.step(
            "probe",
            StepStatus::Skipped,
            "`probe: off`: the API server was not checked",
        );
        None
    } else {
        runner.group("Probe");
        let ders: Vec<Vec<u8>> = bundle.certs.iter().map(|c| c.der().to_vec()).collect();
        let finding =
            crate::shell::probe::probe(&host, &ders, settings.probe_timeout, env.now).await;
        // On events whose log and summary anyone may read (pull requests), internal names,
        // addresses and SANs stay out.
        let public = !trust.may_write();
        let (said, hint) = if public {
            (finding.public_message(), finding.public_hint())
        } else {
            (finding.message(), finding.hint())
        };
        let message = format!("probe of `{}`: {said}", host.as_str());
        let verified = finding.kind() == "verified";
        {
            let mut r = lock(report);
            r.probe = if verified {
                ProbeSeen::Verified
            } else if finding.reached() {
                ProbeSeen::Finding
            } else {
                ProbeSeen::Unreachable
            };
            if verified {
                r.verification = Verification::TlsVerified;
            }
        }
        runner.info(&message);
        runner.end_group();
        match finding.outcome(settings.probe) {
            ProbeOutcome::Pass | ProbeOutcome::Skipped => {
                lock(report).step("probe", StepStatus::Done, message.clone())
            }
            ProbeOutcome::Warn => {
                let text = match &hint {
                    Some(h) => format!("{message} ({h})"),
                    None => message.clone(),
                };
                runner.warning(&text);
                let mut r = lock(report);
                r.warnings.push(text);
                r.step("probe", StepStatus::Warned, message.clone());
            }
            ProbeOutcome::Fail => {
                lock(report).step("probe", StepStatus::Failed, message.clone());
                return Err(FailureRecord {
                    class: finding.class().unwrap_or(ErrorClass::User),
                    // A definite certificate finding is TLS; no connection is the cluster's side.
                    area: if finding.reached() {
                        Area::Tls
                    } else {
                        Area::Kubernetes
                    },
                    message,
                    hint,
                });
            }
        }
        Some(ProbeState {
            verified,
            reached: finding.reached(),
            message,
            hint: hint.unwrap_or_default(),
        })
    };

    // 6. Plan.
    runner.group("Plan");
    let mount = settings.kubernetes_mount.as_str();
    let k8s_ns = settings.kubernetes_namespace.as_deref();
    let current = record!(
        report,
        "plan",
        read_config(&client, &token, mount, k8s_ns).await
    );
    let desired = DesiredConfig {
        kubernetes_host: host.as_str().to_string(),
        ca_pem: bundle.to_pem(),
        ca_fingerprints: bundle.fingerprints(),
        disable_local_ca_jwt: settings.disable_local_ca_jwt,
    };
    let options = PlanOptions {
        allow_reviewer_jwt_removal: settings.allow_reviewer_jwt_removal,
    };
    let planned = record!(
        report,
        "plan",
        plan::plan_config(current.as_ref(), &desired, &options)
    );
    {
        let mut r = lock(report);
        r.previous = current.clone();
        r.changes = planned.changes.clone();
        r.notes.extend(planned.notes.iter().cloned());
        let detail = if planned.has_changes() {
            let fields: Vec<&str> = planned.changes.iter().map(|c| c.field).collect();
            format!("{} to change: {}", fields.len(), fields.join(", "))
        } else {
            "nothing to change".to_string()
        };
        r.step("plan", StepStatus::Done, detail);
    }
    for c in &planned.changes {
        runner.info(&format!(
            "{}: {} → {} ({})",
            c.field,
            c.before.as_deref().unwrap_or("(unset)"),
            c.after,
            c.reason
        ));
    }
    runner.end_group();

    // 7. Apply.
    runner.group("Apply");
    if dry_run {
        // Would the real run be allowed to write? Ask, without trying (`default` grants it).
        if planned.has_changes() {
            let path = format!("auth/{mount}/config");
            let asked = client
                .send(
                    &vault_api::capabilities_self(&path, k8s_ns),
                    Some(&token),
                    Some(&serde_json::json!({ "paths": [path] })),
                )
                .await;
            let mut r = lock(report);
            match asked {
                Ok(answer) => {
                    let caps = answer
                        .body
                        .as_ref()
                        .and_then(|b| vault_api::parse_capabilities(b, &path))
                        .unwrap_or_default();
                    if vault_api::allows_config_write(&caps) {
                        r.notes.push(format!(
                            "this token may write `{path}` (capabilities: {}): a real run would \
                             be allowed",
                            caps.join(", ")
                        ));
                    } else {
                        let fix = vault_api::config_write_policy_fix(mount, &policies);
                        r.write_refused = Some(fix.clone());
                        runner.warning(&format!("dry run: a real run would be refused: {fix}"));
                        r.warnings
                            .push(format!("a real run would be refused: {fix}"));
                    }
                }
                Err(e) => r.notes.push(format!(
                    "could not check whether this token may write `{path}`: {e}"
                )),
            }
        }
        let mut r = lock(report);
        r.outcome = Outcome::Planned;
        r.changed = planned.has_changes();
        r.step("apply", StepStatus::Skipped, "dry run: nothing written");
        if settings.proof_jwt.is_some() {
            r.step("proof", StepStatus::Skipped, "dry run: no proof login");
        }
        runner.end_group();
        return Ok(());
    }
    let wrote = planned.has_changes();
    if !wrote {
        let mut r = lock(report);
        r.outcome = Outcome::Unchanged;
        r.changed = false;
        r.written = current;
        r.step(
            "apply",
            StepStatus::Skipped,
            "already as desired: nothing written",
        );
    } else {
        // From here to the read-back's verdict (and any rollback), a cancel waits.
        let _critical = critical.lock().await;
        let body = Value::Object(planned.body.clone());
        let write = vault_api::write_config(mount, k8s_ns);
        let sent = client.send(&write, Some(&token), Some(&body)).await;
        let answer = match sent {
            // Vault refused the write itself: name the token's policies and the block to add.
            Err(CallError::Vault(f)) if f.status == 403 => {
                let record = FailureRecord {
                    class: ErrorClass::User,
                    area: Area::Vault,
                    message: format!(
                        "Vault refused the write of `auth/{mount}/config`: 403 `{}`",
                        f.errors.join("; ")
                    ),
                    hint: Some(vault_api::config_write_policy_fix(mount, &policies)),
                };
                lock(report).step("apply", StepStatus::Failed, record.message.clone());
                return Err(record);
            }
            other => record!(report, "apply", other),
        };
        for w in &answer.warnings {
            runner.warning(&format!("Vault: {w}"));
            lock(report).warnings.push(format!("Vault: {w}"));
        }
        {
            let mut r = lock(report);
            r.changed = true;
            r.step(
                "apply",
                StepStatus::Done,
                format!("wrote `auth/{mount}/config`"),
            );
        }
        let read_back = record!(
            report,
            "read-back",
            read_config(&client, &token, mount, k8s_ns).await
        );
        let verified = match &read_back {
            Some(stored) => plan::verify_read_back(&planned.body, stored).map_err(|e| failure(&e)),
            None => Err(FailureRecord {
                class: ErrorClass::Remote,
                area: Area::Vault,
                message: format!(
                    "`auth/{mount}/config` reads as never written right after the write"
                ),
                hint: Some("another writer or a replication lag; run again".into()),
            }),
        };
        if let Err(f) = verified {
            lock(report).step("read-back", StepStatus::Failed, f.message.clone());
            rollback(
                &client,
                &token,
                mount,
                k8s_ns,
                &planned.body,
                &planned.rollback,
                report,
            )
            .await;
            runner.end_group();
            return Err(f);
        }
        let mut r = lock(report);
        r.outcome = Outcome::Changed;
        r.written = read_back;
        r.step(
            "read-back",
            StepStatus::Done,
            "the stored config is what was written",
        );
    }
    runner.end_group();

    // 8. Prove.
    if let (Some(jwt), Some(facts)) = (&settings.proof_jwt, &proof_facts) {
        runner.group("Login proof");
        let proved = prove(
            &settings,
            &client,
            jwt,
            facts,
            &host,
            bundle,
            probed.as_ref(),
            runner,
            report,
        )
        .await;
        runner.end_group();
        if let Err(f) = proved {
            if wrote {
                rollback(
                    &client,
                    &token,
                    mount,
                    k8s_ns,
                    &planned.body,
                    &planned.rollback,
                    report,
                )
                .await;
            }
            return Err(f);
        }
    }
    Ok(())
}

/// The login ESO will make, with its policies reported and its token revoked; on failure, the
/// cause as precisely as the evidence allows.
#[allow(clippy::too_many_arguments)]
async fn prove(
    settings: &Settings,
    client: &VaultClient,
    jwt: &Secret,
    facts: &ProofJwtFacts,
    host: &KubernetesHost,
    bundle: &crate::pure::ca::CaBundle,
    probed: Option<&ProbeState>,
    runner: &Runner,
    report: &Shared<RunReport>,
) -> Result<(), FailureRecord> {
    let mount = settings.kubernetes_mount.as_str();
    let ns = settings.kubernetes_namespace.as_deref();
    let role = settings.proof_role.as_str();
    let sa = format!("{}/{}", facts.namespace, facts.service_account);
    let attempt = proof::prove_login(client, mount, ns, role, jwt, settings.proof_window, |t| {
        runner.mask(t)
    })
    .await;
    match attempt {
        Ok(login) => {
            let revoked = client
                .send(&vault_api::revoke_self(ns), Some(&login.token), None)
                .await;
            let mut r = lock(report);
            r.verification = Verification::Proven;
            let retried = if login.attempts > 1 {
                format!(" after {} attempts", login.attempts)
            } else {
                String::new()
            };
            r.step(
                "proof",
                StepStatus::Done,
                format!(
                    "`{sa}` logged in at `auth/{mount}` as role `{role}`{retried}; policies: {}",
                    login.policies.join(", ")
                ),
            );
            if let Err(e) = revoked {
                let text = format!(
                    "could not revoke the proof login's token: {e}; it expires with the role's TTL"
                );
                runner.warning(&text);
                r.warnings.push(text);
            }
            Ok(())
        }
        Err(CallError::Vault(f))
            if !(f.status == 403 && f.errors.iter().all(|e| e == "permission denied")) =>
        {
            let cause = ProofFailure::VaultSaid {
                status: f.status,
                message: f.errors.join("; "),
                mount: mount.to_string(),
                role: role.to_string(),
                facts: facts.clone(),
            };
            lock(report).step("proof", StepStatus::Failed, cause.to_string());
            Err(failure(&cause))
        }
        Err(CallError::Vault(_)) => {
            // A bare `permission denied`: Vault hides the reason. Ask the evidence in order.
            let cause = match probed {
                // Only a definite finding (wrong CA, SAN, dates) may be named as the cause.
                Some(p) if !p.reached => ProofFailure::Hidden {
                    host: host.as_str().to_string(),
                    unseen: Unseen::Unreachable,
                    facts: facts.clone(),
                },
                Some(p) if !p.verified => ProofFailure::TrustPath {
                    finding: p.message.clone(),
                    hint: p.hint.clone(),
                },
                Some(_) => {
                    let review = proof::send_token_review(
                        host,
                        &bundle
                            .certs
                            .iter()
                            .map(|c| c.der().to_vec())
                            .collect::<Vec<_>>(),
                        jwt,
                        &facts.audiences,
                        settings.probe_timeout,
                    )
                    .await;
                    match review {
                        Ok(verdict) => ProofFailure::Review {
                            verdict,
                            facts: facts.clone(),
                        },
                        Err(_) => ProofFailure::Hidden {
                            host: host.as_str().to_string(),
                            unseen: Unseen::Unreachable,
                            facts: facts.clone(),
                        },
                    }
                }
                None => ProofFailure::Hidden {
                    host: host.as_str().to_string(),
                    unseen: if settings.probe == ProbeMode::Off {
                        Unseen::ProbeOff
                    } else {
                        Unseen::Unreachable
                    },
                    facts: facts.clone(),
                },
            };
            lock(report).step("proof", StepStatus::Failed, cause.to_string());
            Err(failure(&cause))
        }
        Err(e) => {
            lock(report).step("proof", StepStatus::Failed, e.to_string());
            Err(failure(&e))
        }
    }
}

/// Restores the previous config after a failed check, only if the stored config is still what
/// this run wrote (no CAS exists: never overwrite another writer).
#[allow(clippy::too_many_arguments)]
async fn rollback(
    client: &VaultClient,
    token: &Secret,
    mount: &str,
    namespace: Option<&str>,
    written: &serde_json::Map<String, Value>,
    rollback: &Rollback,
    report: &Shared<RunReport>,
) {
    // Read again right before restoring: no CAS exists, so this is the only guard against
    // overwriting a writer that came in after this run.
    let stored = read_config(client, token, mount, namespace).await;
    let still_ours = matches!(&stored, Ok(Some(s)) if plan::verify_read_back(written, s).is_ok());
    let mut r = lock(report);
    match rollback {
        Rollback::FirstWrite => {
            r.step(
                "rollback",
                StepStatus::Skipped,
                "not possible: this was the first write and the config has no DELETE",
            );
            r.notes.push(format!(
                "the config this run wrote stays in `auth/{mount}/config`: it was the first one \
                 and cannot be removed (disable the mount to undo it)"
            ));
            return;
        }
        Rollback::Restore(_) if !still_ours => {
            r.step(
                "rollback",
                StepStatus::Skipped,
                "the stored config is no longer what this run wrote: another writer got there, \
                 and it is not overwritten",
            );
            r.notes.push(format!(
                "`auth/{mount}/config` changed after this run's write; this run wrote the fields \
                 listed above and left the other writer's config in place"
            ));
            return;
        }
        Rollback::Restore(_) => {}
    }
    drop(r);
    let Some(body) = rollback.body() else { return };
    let request = vault_api::write_config(mount, namespace);
    let result = client
        .send(&request, Some(token), Some(&Value::Object(body.clone())))
        .await;
    let mut r = lock(report);
    match result {
        Ok(_) => {
            r.outcome = Outcome::RolledBack;
            r.changed = false;
            r.step(
                "rollback",
                StepStatus::Done,
                "the previous config is restored",
            );
        }
        Err(e) => r.step(
            "rollback",
            StepStatus::Failed,
            format!("restoring failed: {e}"),
        ),
    }
}

async fn login(
    env: &RunEnv,
    settings: &Settings,
    client: &VaultClient,
    runner: &Runner,
) -> Result<Session, FailureRecord> {
    let client = Arc::new(client.clone());
    match (&settings.auth.oidc, &env.oidc, &settings.auth.token) {
        (Some(login), Some(request), supplied) => {
            // With both `jwt-role` and `vault-token`, OIDC wins where the runner offers it, and
            // a failed OIDC login fails the run: it never falls back to the token silently.
            let unused_token = |mut record: FailureRecord| {
                if supplied.is_some() {
                    record.message = format!(
                        "{}; `vault-token` is set but not used, because the OIDC login wins \
                         where the runner offers it (leave `jwt-role` empty to log in with the \
                         token)",
                        record.message
                    );
                }
                record
            };
            let audience = login.audience.clone();
            let jwt = oidc::request_token(request, audience.as_deref(), &settings.extra_trust())
                .await
                .map_err(|e| unused_token(failure(&e)))?;
            runner.mask(&jwt);
            // The job's own claims (none secret): a wrong `environment` input reads later as a
            // missing policy, so it is named now, before any KV or config path can fail.
            let claims = crate::pure::proof::jwt_claims(jwt.expose_secret()).unwrap_or_default();
            let job_claims = crate::pure::proof::render_job_claims(&claims);
            match claims.get("environment").and_then(Value::as_str) {
                Some(claimed) if claimed != settings.environment => runner.warning(&format!(
                    "input `environment` is `{}`, but this job's OIDC token says `environment={claimed}`: \
                     a role bound to the job's environment grants the policies of `{claimed}`",
                    settings.environment
                )),
                None => runner.notice(
                    "this job's OIDC token has no `environment` claim (the job sets no \
                     `environment:`): a role that binds `environment` will refuse it",
                ),
                _ => {}
            }
            let shown_audience = audience.clone().unwrap_or_else(|| default_audience(env));
            let ns = settings.jwt_namespace.as_deref();
            let call = vault_api::jwt_login(login.mount.as_str(), &login.role, &shown_audience, ns);
            let body = serde_json::json!({"role": login.role, "jwt": jwt.expose_secret()});
            let answer = client.send(&call, None, Some(&body)).await.map_err(|e| {
                let mut record = unused_token(failure(&e));
                // Refused for claims or audience: show what this job presented.
                if matches!(&e, CallError::Vault(f) if f.status == 400 || f.status == 403)
                    && !job_claims.is_empty()
                {
                    record.message = format!("{}; this job's claims: {job_claims}", record.message);
                }
                record
            })?;
            let token = answer
                .body
                .as_ref()
                .and_then(|b| b.pointer("/auth/client_token"))
                .and_then(Value::as_str)
                .map(|t| Secret::new(t.to_string()))
                .ok_or_else(|| FailureRecord {
                    class: ErrorClass::Remote,
                    area: Area::Vault,
                    message: "the login answer has no `auth.client_token`".into(),
                    hint: Some("check that `vault-addr` is Vault's API".into()),
                })?;
            runner.mask(&token);
            let policies = string_list(answer.body.as_ref(), "/auth/policies");
            runner.info(&format!(
                "logged in with GitHub OIDC at auth/{} as role {} (policies: {})",
                login.mount,
                login.role,
                policies.join(", ")
            ));
            Ok(Session {
                client,
                token,
                revoke: true,
                namespace: settings.jwt_namespace.clone(),
                how: "GitHub OIDC → JWT auth (token minted, revoked at the end)",
                policies,
            })
        }
        (_, _, Some(token)) => {
            if settings.auth.oidc.is_some() {
                runner.notice("the runner offers no OIDC token: using `vault-token`");
            }
            let looked_up = client
                .send(
                    &vault_api::lookup_self(settings.vault_namespace.as_deref()),
                    Some(token),
                    None,
                )
                .await
                .map_err(|e| failure(&e))?;
            let policies = string_list(looked_up.body.as_ref(), "/data/policies");
            Ok(Session {
                client,
                token: token.clone(),
                revoke: settings.revoke_vault_token,
                namespace: settings.vault_namespace.clone(),
                how: if settings.revoke_vault_token {
                    "`vault-token` (revoked at the end, as asked)"
                } else {
                    "`vault-token` (supplied, not revoked)"
                },
                policies,
            })
        }
        (Some(_), None, None) => Err(failure(&OidcError::NotOffered)),
        (None, _, None) => Err(FailureRecord {
            class: ErrorClass::Bug,
            area: Area::Input,
            message: "no login method after input parsing".into(),
            hint: None,
        }),
    }
}

/// The proof's ServiceAccount JWT from `proof-jwt-file`, under the same file rules as
/// `ca-file`, trimmed and masked the moment it is read.
fn read_proof_jwt_file(
    path: &str,
    rules: &FileRules,
    runner: &Runner,
) -> Result<Secret, FailureRecord> {
    let origin = format!("`proof-jwt-file` `{path}`");
    let bytes =
        source::read_file(&origin, std::path::Path::new(path), rules).map_err(|e| failure(&e))?;
    let text = String::from_utf8(bytes).map_err(|_| FailureRecord {
        class: ErrorClass::User,
        area: Area::Input,
        message: format!("{origin} is not UTF-8 text, so it holds no JWT"),
        hint: Some("write the token with `kubectl create token … > file`".into()),
    })?;
    let jwt = Secret::new(text.trim().to_string());
    runner.mask(&jwt);
    if jwt.expose_secret().is_empty() {
        return Err(FailureRecord {
            class: ErrorClass::User,
            area: Area::Input,
            message: format!("{origin} is empty"),
            hint: Some(
                "mint the token into it in an earlier step of this job: `kubectl create token \
                 external-secrets -n external-secrets --duration 10m > eso.jwt`"
                    .into(),
            ),
        });
    }
    Ok(jwt)
}

/// The strings of a JSON list at `pointer` (a token's policies), empty when absent.
fn string_list(body: Option<&Value>, pointer: &str) -> Vec<String> {
    body.and_then(|b| b.pointer(pointer))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn default_audience(env: &RunEnv) -> String {
    let owner = env
        .context
        .repository
        .as_deref()
        .and_then(|r| r.split('/').next())
        .unwrap_or("<owner>");
    // GitHub's default audience when `jwt-audience` is empty.
    format!("https://github.com/{owner}")
}

async fn resolve_host(
    settings: &Settings,
    client: &VaultClient,
    token: &Secret,
    policies: &[String],
) -> Result<KubernetesHost, FailureRecord> {
    match &settings.host {
        HostSource::Input(h) => Ok(h.clone()),
        HostSource::Vip {
            mount,
            secret,
            key,
            port,
        } => {
            let ns = settings.vip_namespace.as_deref();
            let call = vault_api::read_vip(mount.as_str(), secret, key, ns);
            let answer = client
                .send(&call, Some(token), None)
                .await
                .map_err(|e| match e {
                    // Refused: name the token's policies and the block that grants the read.
                    CallError::Vault(f) if f.status == 403 => {
                        let mut record = failure(&CallError::Vault(f.clone()));
                        record.hint = Some(vault_api::policy_fix(
                            &f.path,
                            &["read"],
                            "`read`",
                            policies,
                        ));
                        record
                    }
                    other => failure(&other),
                })?;
            let location = HostSource::vip_location(mount, secret, key);
            let data = answer.body.as_ref().and_then(|b| b.pointer("/data/data"));
            let value = data
                .and_then(|d| d.get(key.as_str()))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    let (message, hint) =
                        vault_api::vip_key_missing(&location, mount.as_str(), secret, key, data);
                    FailureRecord {
                        class: ErrorClass::User,
                        area: Area::Vault,
                        message,
                        hint: Some(hint),
                    }
                })?;
            host::host_from_vip(&location, value, *port, settings.allow_loopback_host)
                .map_err(|e| failure(&e))
        }
    }
}

async fn read_config(
    client: &VaultClient,
    token: &Secret,
    mount: &str,
    ns: Option<&str>,
) -> Result<Option<CurrentConfig>, CallError> {
    let call = vault_api::read_config(mount, ns);
    match client.send(&call, Some(token), None).await {
        Ok(answer) => {
            let text = answer
                .body
                .map(|b| b.to_string())
                .unwrap_or_else(|| "null".into());
            plan::parse_current_config(&text).map_err(|e| {
                CallError::Vault(vault_api::VaultFailure {
                    method: call.method,
                    path: call.path.clone(),
                    namespace: call.namespace.clone(),
                    status: 200,
                    errors: vec![e.to_string()],
                    purpose: call.purpose.clone(),
                })
            })
        }
        // A config never written reads as 404 with an empty `errors` list (§3.1).
        Err(CallError::Vault(f)) if f.status == 404 && f.errors.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn revoke(runner: &Runner, report: &Shared<RunReport>, session: &Shared<Option<Session>>) {
    let taken = lock(session).take();
    let Some(session) = taken else { return };
    if !session.revoke {
        return;
    }
    let call = vault_api::revoke_self(session.namespace.as_deref());
    let result = session.client.send(&call, Some(&session.token), None).await;
    let mut r = lock(report);
    match result {
        Ok(_) => r.step(
            "revoke",
            StepStatus::Done,
            "the action's Vault token is revoked",
        ),
        // A second revoke answers 403: the token is already gone.
        Err(CallError::Vault(f)) if f.status == 403 => {
            r.step("revoke", StepStatus::Done, "the token was already revoked")
        }
        Err(e) => {
            let text =
                format!("could not revoke the action's Vault token: {e}; it expires with its TTL");
            runner.warning(&text);
            r.warnings.push(text.clone());
            r.step("revoke", StepStatus::Warned, text);
        }
    }
}

/// Writes the report, outputs and summary, emits the failure annotation, returns the exit code.
fn finish(runner: &Runner, report: &Shared<RunReport>, json_name: &str, step_summary: bool) -> u8 {
    let mut r = lock(report);
    r.report_path = runner
        .report_path(json_name)
        .map(|p| p.display().to_string());
    if let Err(e) = runner.write_report(json_name, &summary::render_report_json(&r)) {
        r.report_path = None;
        runner.warning(&format!("could not write the JSON report: {e}"));
    }
    if let Some(f) = &r.failure {
        runner.error(f.area.title(f.class), &f.message, f.hint.as_deref());
    }
    if let Err(e) = runner.write_outputs(&summary::render_outputs(&r)) {
        runner.warning(&format!("could not write the outputs: {e}"));
    }
    if let Err(e) = runner.write_summary(&r, step_summary) {
        runner.warning(&format!("could not write the step summary: {e}"));
    }
    match &r.failure {
        Some(f) => f.class.exit_code(),
        None => 0,
    }
}
