//! The handshake, step by step: inputs, CA, login, host, probe, plan, apply, proof; then, on
//! every path (a failure, a cancel), revoke, publish and report.
//!
//! One straight-line `async` function does the work and records every step in a `RunReport`;
//! [`wrapup`] runs after it whatever happened, so the token the action minted is revoked and the
//! report, outputs and summary are written. Decisions about Vault live in `pure::plan` and
//! `pure::vault_api`; this module orders them and asks its driver for each exchange.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::out::{Out, RunnerPaths};
use super::vault::{CallError, VaultClient};
use super::wire::{self, ProbeRequest, WireSecret};
use super::{both, github, oidc, proof, Io, Jitter};
use crate::pure::cafile::{self, LoadedCa, SourceError, Staged};
use crate::pure::contract::{
    self, CaSource, HostSource, OidcLogin, Outcome, Purpose, RawInputs, Settings,
};
use crate::pure::host::{self, HostName, KubernetesHost};
use crate::pure::plan::{self, CurrentConfig, DesiredConfig, PlanOptions, Rollback};
use crate::pure::probe::{ProbeFinding, ProbeMode, ProbeOutcome};
use crate::pure::proof::{ProofFailure, ProofJwtFacts, Unseen};
use crate::pure::publish::{self, EventFacts, Target};
use crate::pure::secret::Secret;
use crate::pure::summary::{
    CaRecord, FailureRecord, ProbeSeen, RunContext, RunReport, StepStatus, Verification,
};
use crate::pure::vault_api;
use crate::pure::{Area, Diagnostic, ErrorClass};

/// Everything a run needs from its environment, gathered by the driver before it starts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub raw: RawInputs,
    /// The runner's OIDC token service, when it offers one (`ACTIONS_ID_TOKEN_REQUEST_*`).
    pub oidc: Option<oidc::OidcRequest>,
    pub context: RunContext,
    /// Unix seconds, for CA validity.
    pub now: i64,
    pub report_file_name: String,
    /// What the event payload says (PR number, head commit).
    pub event: EventFacts,
    /// `GITHUB_API_URL` (`https://api.github.com` when unset).
    pub github_api_url: String,
    pub run_id: Option<u64>,
    pub paths: RunnerPaths,
    /// `host:port` of the runner's https proxy (`HTTPS_PROXY`…), never its credentials: named
    /// in a proxy failure, and by a probe that cannot connect (the probe never uses it).
    #[serde(default)]
    pub https_proxy: Option<String>,
}

/// What the TLS probe found, as the proof's diagnosis needs it.
pub(super) struct ProbeState {
    /// The API server presented a certificate from the uploaded CA with a matching SAN.
    pub verified: bool,
    /// The probe got a definite answer from the API server's TLS (not a failed connection).
    pub reached: bool,
    pub message: String,
    pub hint: String,
}

/// The Vault token in use and whether the action must revoke it.
struct Session {
    client: VaultClient,
    token: Secret,
    revoke: bool,
    /// Revoke-self is routed to the token's own namespace.
    namespace: Option<String>,
    how: &'static str,
    /// The token's policies, as Vault reported them at login or lookup.
    policies: Vec<String>,
}

/// One run's state, shared by its steps and its wrap-up.
pub struct Run {
    pub(super) io: Io,
    pub(super) out: Out,
    pub(super) jitter: Jitter,
    pub(super) report: RefCell<RunReport>,
    session: RefCell<Option<Session>>,
    pub(super) snap: Snapshot,
    pub(super) publishing: github::Publishing,
}

pub(super) fn failure(e: &dyn Diagnostic) -> FailureRecord {
    FailureRecord {
        class: e.class(),
        area: e.area(),
        message: e.to_string(),
        hint: e.hint(),
    }
}

impl Run {
    /// `seed`: the driver's random bytes ([`super::SEED_BYTES`]), for the output delimiter and
    /// the backoff jitter.
    pub fn new(snap: Snapshot, seed: &[u8]) -> Run {
        let out = Out::new(snap.paths.clone());
        out.seed(&seed[..seed.len().min(16)]);
        // Secrets first: nothing may be logged before they are masked.
        for name in ["vault-token", "proof-jwt"] {
            if let Some(secret) = snap.raw.raw_value(name).filter(|v| !v.is_empty()) {
                out.mask(&Secret::new(secret));
            }
        }
        if let Some(request) = &snap.oidc {
            out.mask(&request.token.0);
        }
        let (targets, github_token) = contract::parse_publishing(&snap.raw);
        if let Some(token) = &github_token {
            out.mask(token);
        }
        let publishing = github::Publishing {
            targets,
            token: github_token,
            extra_ca_certs: snap
                .raw
                .raw_value("extra-ca-certs")
                .and_then(|v| crate::pure::ca::trust_pem(&v)),
            api_url: snap.github_api_url.clone(),
            event: snap.event.clone(),
        };
        // A rejected `environment` is used nowhere (not in the report's name, the check run's
        // name or the comment marker): the failure names the input instead.
        let environment = contract::parse_environment(&snap.raw).unwrap_or_default();
        let mount = if environment.is_empty() {
            String::new()
        } else {
            format!("{environment}-kubernetes")
        };
        let report = RunReport::new(&environment, &mount, snap.context.clone());
        Run {
            io: Io::default(),
            out,
            jitter: Jitter::new(seed.get(16..).unwrap_or_default()),
            report: RefCell::new(report),
            session: RefCell::new(None),
            snap,
            publishing,
        }
    }

    async fn send(
        &self,
        client: &VaultClient,
        request: &vault_api::Request,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<super::vault::Answer, CallError> {
        client
            .send(&self.io, &self.jitter, request, token, body)
            .await
    }

    fn step(&self, name: &'static str, status: StepStatus, detail: impl Into<String>) {
        self.report.borrow_mut().step(name, status, detail);
    }

    fn warn(&self, text: String) {
        self.out.warning(&text);
        self.report.borrow_mut().warnings.push(text);
    }
}

/// The steps, recorded in the report; a failure ends them, and the wrap-up follows.
pub async fn steps(run: Rc<Run>) {
    let result = handshake(&run).await;
    let mut r = run.report.borrow_mut();
    if let Err(f) = result {
        if r.outcome != Outcome::RolledBack {
            r.outcome = Outcome::Failed;
        }
        r.failure = Some(f);
    }
}

/// The runner stopped the steps at a safe point: say where, and that the token is revoked next.
pub fn record_cancel(run: &Run, signal: &str) {
    let mut r = run.report.borrow_mut();
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

/// A panic inside the steps: recorded as a bug; the wrap-up still revokes and reports.
pub fn record_panic(run: &Run) {
    let mut r = run.report.borrow_mut();
    r.outcome = Outcome::Failed;
    r.failure = Some(FailureRecord {
        class: ErrorClass::Bug,
        area: Area::Runner,
        message: "the handshake panicked".into(),
        hint: Some("please report this with the run's log".into()),
    });
}

/// Revoke, publish, report; returns the exit code.
pub async fn wrapup(run: Rc<Run>) -> u8 {
    revoke(&run).await;
    if run.publishing.posts() {
        cold(github::publish(&run)).await;
    }
    finish(&run).await
}

macro_rules! record {
    ($run:expr, $step:expr, $result:expr) => {
        match $result {
            Ok(v) => v,
            Err(e) => {
                let f = failure(&e);
                $run.step($step, StepStatus::Failed, f.message.clone());
                return Err(f);
            }
        }
    };
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A step not every run takes, as a future of its own: kept out of the caller's state machine,
/// its code is compiled only when a run takes it (the Node action's engine compiles each
/// WebAssembly function on its first call, and that time is most of the action's start-up).
fn cold<'a, T>(step: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(step)
}

async fn handshake(run: &Run) -> Result<(), FailureRecord> {
    let env = &run.snap;
    let out = &run.out;
    // 1. Inputs. Whether this is a dry run is known before the phase opens, so every line of
    // it says so.
    let parsed = contract::parse_settings(&env.raw, Purpose::Run);
    let event = env.context.event_name.clone().unwrap_or_default();
    let trust = publish::event_trust(&event, out.in_runner());
    let dry_run = parsed
        .as_ref()
        .map(|s| s.dry_run || (!trust.may_write() && !s.allow_pull_request_writes))
        .unwrap_or(false);
    if dry_run {
        out.set_dry_run();
    }
    out.group("Inputs");
    let mut settings = record!(run, "inputs", parsed);
    if let Some(path) = settings.proof_jwt_file.clone() {
        // Read, masked and (unless kept) removed before anything else is printed.
        let jwt = cold(read_proof_jwt_file(run, &path))
            .await
            .inspect_err(|f| run.step("inputs", StepStatus::Failed, f.message.clone()))?;
        if !settings.keep_proof_jwt_file {
            let note = match run.io.remove_file(&path).await {
                Ok(()) => format!("`proof-jwt-file` `{path}` was removed after reading"),
                Err(e) => format!("`proof-jwt-file` `{path}` could not be removed: {e}"),
            };
            run.report.borrow_mut().notes.push(note);
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
        let mut r = run.report.borrow_mut();
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
    if dry_run && !settings.dry_run {
        let reason = trust.dry_run_reason(&event);
        out.notice(&reason);
        let mut r = run.report.borrow_mut();
        r.dry_run = true;
        r.dry_run_reason = Some(reason);
    }
    out.end_group();

    let proof_facts = match &settings.proof_jwt {
        Some(jwt) => Some(record!(
            run,
            "inputs",
            crate::pure::proof::parse_proof_jwt(jwt.expose_secret(), env.now)
        )),
        None => None,
    };

    // 2. CA.
    out.group("Cluster CA");
    let loaded = match &settings.ca {
        CaSource::Artifact { name, path } => {
            record!(
                run,
                "ca",
                cold(github::load_artifact_ca(
                    run,
                    &settings,
                    name,
                    path.as_deref()
                ))
                .await
            )
        }
        other => record!(run, "ca", load_ca(run, other).await),
    };
    for w in &loaded.warnings {
        out.warning(w);
    }
    let bundle = &loaded.bundle;
    for cert in &bundle.certs {
        out.info(&format!(
            "CA {} `{}` sha256 {} expires {}",
            cert.position, cert.subject, cert.fingerprint, cert.not_after
        ));
    }
    {
        let mut r = run.report.borrow_mut();
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
    out.end_group();

    // 3. Login.
    out.group("Vault login");
    let client = record!(
        run,
        "login",
        VaultClient::new(
            &addr,
            &settings.vault_trust(),
            ms(settings.request_timeout),
            env.https_proxy.clone()
        )
    );
    // Vault's health and the GitHub OIDC token do not depend on each other. On a runner they go
    // to two servers (GitHub's token service is not Vault), and both are asked at once: one wait
    // instead of two. Vault's answer is judged first, as if it had come first. To one server
    // (a stand-in that serves both) they are asked one after the other: a server that serves one
    // connection at a time, as a single-threaded HTTP/1.1 server does, keeps the first connection
    // for its next request and would never take the second.
    let health = vault_api::health(settings.vault_namespace.as_deref());
    let apart = env
        .oidc
        .as_ref()
        .is_some_and(|o| super::url::origin_of(&o.url) != super::url::origin_of(addr.as_str()));
    let fetched = if apart {
        let (healthy, fetched) = both(
            run.send(&client, &health, None, None),
            oidc_token(run, &settings),
        )
        .await;
        health_verdict(run, healthy)?;
        fetched
    } else {
        let healthy = run.send(&client, &health, None, None).await;
        health_verdict(run, healthy)?;
        oidc_token(run, &settings).await
    };
    let (session, minting) = login(run, &settings, &client, fetched)
        .await
        .inspect_err(|f| run.step("login", StepStatus::Failed, f.message.clone()))?;
    run.step("login", StepStatus::Done, session.how.to_string());
    let token = session.token.clone();
    let policies = vault_api::TokenPolicies {
        names: session.policies.clone(),
        namespace: session.namespace.clone(),
    };
    *run.session.borrow_mut() = Some(session);
    // The token is in the session now: a cancel that waited for the login may stop the run,
    // and the wrap-up revokes it.
    drop(minting);
    out.end_group();

    // 4. Host.
    out.group("Kubernetes host");
    let (host, from) = resolve_host(run, &settings, &client, &token, &policies)
        .await
        .inspect_err(|f| run.step("host", StepStatus::Failed, f.message.clone()))?;
    for w in host.warnings() {
        out.warning(w);
    }
    {
        let mut r = run.report.borrow_mut();
        r.host = Some(host.as_str().to_string());
        r.warnings.extend(host.warnings().iter().cloned());
        let status = if host.warnings().is_empty() {
            StepStatus::Done
        } else {
            StepStatus::Warned
        };
        r.step("host", status, format!("`{}` {from}", host.as_str()));
    }
    out.info(&format!("kubernetes_host: {}", host.as_str()));
    out.end_group();

    // 5. Probe.
    let ca_ders: Vec<Vec<u8>> = bundle.certs.iter().map(|c| c.der().to_vec()).collect();
    let probed = if settings.probe == ProbeMode::Off {
        let mut r = run.report.borrow_mut();
        r.probe = ProbeSeen::Off;
        r.step(
            "probe",
            StepStatus::Skipped,
            "`probe: off`: the API server was not checked",
        );
        None
    } else {
        Some(
            cold(probe_step(
                run,
                &settings,
                &host,
                &ca_ders,
                !trust.may_write(),
            ))
            .await?,
        )
    };

    // 6. Plan.
    out.group("Plan");
    let mount = settings.kubernetes_mount.as_str();
    let k8s_ns = settings.kubernetes_namespace.as_deref();
    let current = record!(
        run,
        "plan",
        read_config(run, &client, &token, mount, k8s_ns).await
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
    let planned = match plan::plan_config(current.as_ref(), &desired, &options) {
        Ok(planned) => planned,
        Err(e) => {
            let mut f = failure(&e);
            // A command it prints (`vault auth list`) looks where the config is.
            f.hint = f.hint.map(|h| vault_api::namespaced(&h, k8s_ns));
            run.step("plan", StepStatus::Failed, f.message.clone());
            return Err(f);
        }
    };
    {
        let mut r = run.report.borrow_mut();
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
        out.info(&format!(
            "{}: {} → {} ({})",
            c.field,
            c.before.as_deref().unwrap_or("(unset)"),
            c.after,
            c.reason
        ));
    }
    out.end_group();

    // 7. Apply.
    out.group("Apply");
    if dry_run {
        // Would the real run be allowed to write? Ask, without trying (`default` grants it).
        if planned.has_changes() {
            cold(check_write_allowed(
                run, &client, &token, mount, k8s_ns, &policies,
            ))
            .await;
        }
        let mut r = run.report.borrow_mut();
        r.outcome = Outcome::Planned;
        r.changed = planned.has_changes();
        r.step("apply", StepStatus::Skipped, "dry run: nothing written");
        if settings.proof_jwt.is_some() {
            r.step("proof", StepStatus::Skipped, "dry run: no proof login");
        }
        drop(r);
        out.end_group();
        return Ok(());
    }
    let wrote = planned.has_changes();
    // Restores what was there before this run's write, if no one else wrote since.
    let undo = || {
        cold(rollback(
            run,
            &client,
            &token,
            mount,
            k8s_ns,
            &planned.body,
            &planned.rollback,
        ))
    };
    if !wrote {
        let mut r = run.report.borrow_mut();
        r.outcome = Outcome::Unchanged;
        r.changed = false;
        r.written = current;
        r.step(
            "apply",
            StepStatus::Skipped,
            "already as desired: nothing written",
        );
    } else {
        cold(write_and_read_back(
            run, &client, &token, mount, k8s_ns, &planned, &policies,
        ))
        .await?;
    }
    out.end_group();

    // 8. Prove.
    if let (Some(jwt), Some(facts)) = (&settings.proof_jwt, &proof_facts) {
        out.group("Login proof");
        let proved = cold(prove(
            run,
            &settings,
            &client,
            jwt,
            facts,
            &host,
            bundle,
            probed.as_ref(),
        ))
        .await;
        out.end_group();
        if let Err(f) = proved {
            if wrote {
                undo().await;
            }
            return Err(f);
        }
    }
    Ok(())
}

/// The write and its read-back: the config is written, read again, and compared with what was
/// sent; a read-back that differs rolls the write back.
async fn write_and_read_back(
    run: &Run,
    client: &VaultClient,
    token: &Secret,
    mount: &str,
    k8s_ns: Option<&str>,
    planned: &plan::Plan,
    policies: &vault_api::TokenPolicies,
) -> Result<(), FailureRecord> {
    // From here to the read-back's verdict (and any rollback), a cancel waits.
    let _critical = run.io.critical();
    let body = Value::Object(planned.body.clone());
    let write = vault_api::write_config(mount, k8s_ns);
    let sent = run.send(client, &write, Some(token), Some(&body)).await;
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
                hint: Some(vault_api::config_write_policy_fix(mount, k8s_ns, policies)),
            };
            run.step("apply", StepStatus::Failed, record.message.clone());
            return Err(record);
        }
        other => record!(run, "apply", other),
    };
    for w in &answer.warnings {
        run.warn(format!("Vault: {w}"));
    }
    {
        let mut r = run.report.borrow_mut();
        r.changed = true;
        r.step(
            "apply",
            StepStatus::Done,
            format!("wrote `auth/{mount}/config`"),
        );
    }
    let read_back = record!(
        run,
        "read-back",
        read_config(run, client, token, mount, k8s_ns).await
    );
    let verified = match &read_back {
        Some(stored) => plan::verify_read_back(&planned.body, stored).map_err(|e| failure(&e)),
        None => Err(FailureRecord {
            class: ErrorClass::Remote,
            area: Area::Vault,
            message: format!("`auth/{mount}/config` reads as never written right after the write"),
            hint: Some("another writer or a replication lag; run again".into()),
        }),
    };
    if let Err(f) = verified {
        run.step("read-back", StepStatus::Failed, f.message.clone());
        cold(rollback(
            run,
            client,
            token,
            mount,
            k8s_ns,
            &planned.body,
            &planned.rollback,
        ))
        .await;
        run.out.end_group();
        return Err(f);
    }
    let mut r = run.report.borrow_mut();
    r.outcome = Outcome::Changed;
    r.written = read_back;
    r.step(
        "read-back",
        StepStatus::Done,
        "the stored config is what was written",
    );
    Ok(())
}

/// A dry run's question: would the real run be allowed to write the config? Asked of Vault
/// (`sys/capabilities-self`) without trying; the answer is a note, or a warning with the fix.
async fn check_write_allowed(
    run: &Run,
    client: &VaultClient,
    token: &Secret,
    mount: &str,
    k8s_ns: Option<&str>,
    policies: &vault_api::TokenPolicies,
) {
    let out = &run.out;
    let path = format!("auth/{mount}/config");
    let asked = run
        .send(
            client,
            &vault_api::capabilities_self(&path, k8s_ns),
            Some(token),
            Some(&serde_json::json!({ "paths": [path] })),
        )
        .await;
    let caps = asked.map(|answer| {
        answer
            .body
            .as_ref()
            .and_then(|b| vault_api::parse_capabilities(b, &path))
    });
    match caps {
        // An answer that lists no capabilities for the path says nothing either way.
        Ok(None) => run.report.borrow_mut().notes.push(format!(
            "could not check whether this token may write `{path}`: Vault's answer to \
             `sys/capabilities-self` lists no capabilities for it"
        )),
        Ok(Some(caps)) => {
            if vault_api::allows_config_write(&caps) {
                run.report.borrow_mut().notes.push(format!(
                    "this token may write `{path}` (capabilities: {}): a real run would \
                     be allowed",
                    caps.join(", ")
                ));
            } else {
                let fix = vault_api::config_write_policy_fix(mount, k8s_ns, policies);
                out.warning(&format!("dry run: a real run would be refused: {fix}"));
                let mut r = run.report.borrow_mut();
                r.write_refused = Some(fix.clone());
                r.warnings
                    .push(format!("a real run would be refused: {fix}"));
            }
        }
        Err(e) => run.report.borrow_mut().notes.push(format!(
            "could not check whether this token may write `{path}`: {e}"
        )),
    }
}

/// The CA from a file or inline data (an artifact is `github::load_artifact_ca`).
async fn load_ca(run: &Run, source: &CaSource) -> Result<LoadedCa, SourceError> {
    let now = run.snap.now;
    let staged = match source {
        CaSource::File(path) => {
            let origin = format!("`ca-file` `{path}`");
            let bytes = run
                .io
                .read_file(&origin, path)
                .await
                .map_err(|f| SourceError::from_file(&origin, f))?;
            let folder = Some(cafile::folder_of(path));
            cafile::stage(&origin, &bytes, folder, now)?
        }
        CaSource::Data(text) => cafile::stage("`ca-data`", text.as_bytes(), None, now)?,
        CaSource::Artifact { name, .. } => {
            return Err(SourceError::NeedsNetwork { name: name.clone() })
        }
    };
    stage_reference(run, staged).await
}

/// A kubeconfig whose CA is another file: read it, then finish.
pub(super) async fn stage_reference(run: &Run, staged: Staged) -> Result<LoadedCa, SourceError> {
    let (origin, path) = match &staged {
        Staged::Loaded(_) => return cafile::finish_reference(staged, &[], run.snap.now),
        Staged::Reference { origin, path, .. } => (origin.clone(), path.clone()),
    };
    let bytes = run
        .io
        .read_file(&origin, &path)
        .await
        .map_err(|f| SourceError::from_file(&origin, f))?;
    cafile::finish_reference(staged, &bytes, run.snap.now)
}

/// The probe's step: the TLS probe, what it found said in the log and the report, and whether
/// the run may go on. `public`: the log is one anyone may read, so internal names stay out.
async fn probe_step(
    run: &Run,
    settings: &Settings,
    host: &KubernetesHost,
    ca_ders: &[Vec<u8>],
    public: bool,
) -> Result<ProbeState, FailureRecord> {
    let out = &run.out;
    out.group("Probe");
    let finding = probe(run, host, ca_ders, ms(settings.probe_timeout), run.snap.now).await;
    // On events whose log and summary anyone may read (pull requests), internal names,
    // addresses and SANs stay out.
    let (said, hint) = if public {
        (finding.public_message(), finding.public_hint())
    } else {
        (finding.message(), finding.hint())
    };
    let message = format!("probe of `{}`: {said}", host.as_str());
    let verified = finding.kind() == "verified";
    {
        let mut r = run.report.borrow_mut();
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
    out.info(&message);
    out.end_group();
    match finding.outcome(settings.probe) {
        ProbeOutcome::Pass | ProbeOutcome::Skipped => {
            run.step("probe", StepStatus::Done, message.clone())
        }
        ProbeOutcome::Warn => {
            let text = match &hint {
                Some(h) => format!("{message} ({h})"),
                None => message.clone(),
            };
            run.warn(text);
            run.step("probe", StepStatus::Warned, message.clone());
        }
        ProbeOutcome::Fail => {
            run.step("probe", StepStatus::Failed, message.clone());
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
    Ok(ProbeState {
        verified,
        reached: finding.reached(),
        message,
        hint: hint.unwrap_or_default(),
    })
}

/// The TLS probe through the driver, classified here.
async fn probe(
    run: &Run,
    host: &KubernetesHost,
    ca_ders: &[Vec<u8>],
    timeout_ms: u64,
    now: i64,
) -> ProbeFinding {
    let wanted = match host.host() {
        HostName::Ip(ip) => ip.to_string(),
        HostName::Dns(name) => name.clone(),
    };
    let report = run
        .io
        .probe(ProbeRequest {
            host: host.as_str().to_string(),
            connect_host: wanted.clone(),
            port: host.port(),
            server_name: wanted.clone(),
            ca_ders: ca_ders.iter().map(|d| wire::Bytes(d.clone())).collect(),
            timeout_ms,
            now,
        })
        .await;
    crate::pure::probe::classify_report(report, ca_ders, &wanted, now)
        .noting_proxy(run.snap.https_proxy.clone())
}

/// The login ESO will make, with its policies reported and its token revoked; on failure, the
/// cause as precisely as the evidence allows.
#[allow(clippy::too_many_arguments)]
async fn prove(
    run: &Run,
    settings: &Settings,
    client: &VaultClient,
    jwt: &Secret,
    facts: &ProofJwtFacts,
    host: &KubernetesHost,
    bundle: &crate::pure::ca::CaBundle,
    probed: Option<&ProbeState>,
) -> Result<(), FailureRecord> {
    let mount = settings.kubernetes_mount.as_str();
    let ns = settings.kubernetes_namespace.as_deref();
    let role = settings.proof_role.as_str();
    let sa = format!("{}/{}", facts.namespace, facts.service_account);
    let attempt =
        proof::prove_login(run, client, mount, ns, role, jwt, ms(settings.proof_window)).await;
    match attempt {
        Ok(login) => {
            let revoked = run
                .send(
                    client,
                    &vault_api::revoke_self(ns),
                    Some(&login.token),
                    None,
                )
                .await;
            // The proof's token is revoked (or reported): a waiting cancel may stop the run.
            drop(login.minting);
            {
                let mut r = run.report.borrow_mut();
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
            }
            if let Err(e) = revoked {
                run.warn(format!(
                    "could not revoke the proof login's token: {e}; it expires with the role's TTL"
                ));
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
                namespace: ns.map(str::to_string),
                role: role.to_string(),
                facts: facts.clone(),
            };
            run.step("proof", StepStatus::Failed, cause.to_string());
            Err(failure(&cause))
        }
        Err(CallError::Vault(_)) => {
            // A bare `permission denied`: Vault hides the reason. Ask the evidence in order.
            let hidden = |unseen| ProofFailure::Hidden {
                host: host.as_str().to_string(),
                unseen,
                facts: facts.clone(),
            };
            let cause = match probed {
                // Only a definite finding (wrong CA, SAN, dates) may be named as the cause.
                Some(p) if !p.reached => hidden(Unseen::Unreachable),
                Some(p) if !p.verified => ProofFailure::TrustPath {
                    finding: p.message.clone(),
                    hint: p.hint.clone(),
                },
                Some(_) => {
                    let review = proof::send_token_review(
                        run,
                        host,
                        &bundle.to_pem(),
                        jwt,
                        &facts.audiences,
                        ms(settings.probe_timeout),
                    )
                    .await;
                    match review {
                        Ok(verdict) => ProofFailure::Review {
                            verdict,
                            facts: facts.clone(),
                        },
                        Err(_) => hidden(Unseen::Unreachable),
                    }
                }
                None => hidden(if settings.probe == ProbeMode::Off {
                    Unseen::ProbeOff
                } else {
                    Unseen::Unreachable
                }),
            };
            run.step("proof", StepStatus::Failed, cause.to_string());
            Err(failure(&cause))
        }
        Err(e) => {
            run.step("proof", StepStatus::Failed, e.to_string());
            Err(failure(&e))
        }
    }
}

/// Restores the previous config after a failed check, only if the stored config is still what
/// this run wrote (no CAS exists: never overwrite another writer).
#[allow(clippy::too_many_arguments)]
async fn rollback(
    run: &Run,
    client: &VaultClient,
    token: &Secret,
    mount: &str,
    namespace: Option<&str>,
    written: &serde_json::Map<String, Value>,
    rollback: &Rollback,
) {
    // Read again right before restoring: no CAS exists, so this is the only guard against
    // overwriting a writer that came in after this run.
    let stored = read_config(run, client, token, mount, namespace).await;
    let still_ours = matches!(&stored, Ok(Some(s)) if plan::verify_read_back(written, s).is_ok());
    match rollback {
        Rollback::FirstWrite => {
            let mut r = run.report.borrow_mut();
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
            let mut r = run.report.borrow_mut();
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
    let Some(body) = rollback.body() else { return };
    let request = vault_api::write_config(mount, namespace);
    let result = run
        .send(
            client,
            &request,
            Some(token),
            Some(&Value::Object(body.clone())),
        )
        .await;
    let mut r = run.report.borrow_mut();
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

/// What Vault's health check says. Vault answers `sys/health` with a code of its own (200, 429,
/// 472-474, 501, 503, 530); a 403, 404 or 405 comes from something else at `vault-addr`: a proxy
/// or load balancer that does not pass `sys/health`, or a stand-in without it. That is no
/// verdict on Vault: the run warns and goes on, and the login tells whether Vault is there.
/// Any other failure ends the login step.
fn health_verdict<T>(run: &Run, healthy: Result<T, CallError>) -> Result<(), FailureRecord> {
    match healthy {
        Ok(_) => Ok(()),
        Err(CallError::Vault(f)) if (403..=405).contains(&f.status) => {
            run.warn(format!(
                "{f}: no answer Vault gives there, so something in front of Vault does not \
                 pass the health check; the run goes on, and the login tells whether \
                 `vault-addr` is Vault's API"
            ));
            Ok(())
        }
        Err(e) => {
            let f = failure(&e);
            run.step("login", StepStatus::Failed, f.message.clone());
            Err(f)
        }
    }
}

/// The workflow's GitHub OIDC token with the login it is for, when this run logs in with one
/// (`jwt-role` set, and the runner offers a token); masked the moment it arrives.
async fn oidc_token<'s>(
    run: &Run,
    settings: &'s Settings,
) -> Option<(&'s OidcLogin, Result<Secret, oidc::OidcError>)> {
    let login = settings.auth.oidc.as_ref()?;
    let request = run.snap.oidc.as_ref()?;
    let audience = login.audience.as_deref();
    let fetched = oidc::request_token(run, request, audience, &settings.extra_trust()).await;
    if let Ok(jwt) = &fetched {
        run.out.mask(jwt);
    }
    Some((login, fetched))
}

/// Logs in, with the OIDC token [`oidc_token`] fetched if there is one; with an OIDC login, also
/// the critical section the login's answer is in (a cancel waits for a token Vault is minting,
/// so the wrap-up can revoke it).
async fn login<'a>(
    run: &'a Run,
    settings: &Settings,
    client: &VaultClient,
    fetched: Option<(&OidcLogin, Result<Secret, oidc::OidcError>)>,
) -> Result<(Session, Option<super::Critical<'a>>), FailureRecord> {
    let env = &run.snap;
    let out = &run.out;
    match (fetched, &settings.auth.token) {
        (Some((login, fetched)), supplied) => {
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
            let jwt = fetched.map_err(|e| unused_token(failure(&e)))?;
            // The job's own claims (none secret): a wrong `environment` input reads later as a
            // missing policy, so it is named now, before any KV or config path can fail.
            let claims = crate::pure::proof::jwt_claims(jwt.expose_secret()).unwrap_or_default();
            let job_claims = crate::pure::proof::render_job_claims(&claims);
            match claims.get("environment").and_then(Value::as_str) {
                Some(claimed) if claimed != settings.environment => out.warning(&format!(
                    "input `environment` is `{}`, but this job's OIDC token says `environment={claimed}`: \
                     a role bound to the job's environment grants the policies of `{claimed}`",
                    settings.environment
                )),
                None => out.notice(
                    "this job's OIDC token has no `environment` claim (the job sets no \
                     `environment:`): a role that binds `environment` will refuse it",
                ),
                _ => {}
            }
            let shown_audience = audience.clone().unwrap_or_else(|| default_audience(env));
            let ns = settings.jwt_namespace.as_deref();
            let call = vault_api::jwt_login(login.mount.as_str(), &login.role, &shown_audience, ns);
            let body = serde_json::json!({"role": login.role, "jwt": jwt.expose_secret()});
            let minting = run.io.critical();
            let answer = run
                .send(client, &call, None, Some(&body))
                .await
                .map_err(|e| {
                    let mut record = unused_token(failure(&e));
                    // Refused for claims or audience: show what this job presented.
                    if matches!(&e, CallError::Vault(f) if f.status == 400 || f.status == 403)
                        && !job_claims.is_empty()
                    {
                        record.message =
                            format!("{}; this job's claims: {job_claims}", record.message);
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
            out.mask(&token);
            let policies = string_list(answer.body.as_ref(), "/auth/policies");
            out.info(&format!(
                "logged in with GitHub OIDC at auth/{} as role {} (policies: {})",
                login.mount,
                login.role,
                policies.join(", ")
            ));
            Ok((
                Session {
                    client: client.clone(),
                    token,
                    revoke: true,
                    namespace: settings.jwt_namespace.clone(),
                    how: "GitHub OIDC → JWT auth (token minted, revoked at the end)",
                    policies,
                },
                Some(minting),
            ))
        }
        (None, Some(token)) => {
            if settings.auth.oidc.is_some() {
                out.notice("the runner offers no OIDC token: using `vault-token`");
            }
            let looked_up = run
                .send(
                    client,
                    &vault_api::lookup_self(settings.vault_namespace.as_deref()),
                    Some(token),
                    None,
                )
                .await
                .map_err(|e| failure(&e))?;
            let policies = string_list(looked_up.body.as_ref(), "/data/policies");
            Ok((
                Session {
                    client: client.clone(),
                    token: token.clone(),
                    revoke: settings.revoke_vault_token,
                    namespace: settings.vault_namespace.clone(),
                    how: if settings.revoke_vault_token {
                        "`vault-token` (revoked at the end, as asked)"
                    } else {
                        "`vault-token` (supplied, not revoked)"
                    },
                    policies,
                },
                None,
            ))
        }
        (None, None) if settings.auth.oidc.is_some() => Err(failure(&oidc::OidcError::NotOffered)),
        (None, None) => Err(FailureRecord {
            class: ErrorClass::Bug,
            area: Area::Input,
            message: "no login method after input parsing".into(),
            hint: None,
        }),
    }
}

/// The proof's ServiceAccount JWT from `proof-jwt-file`, under the same file rules as
/// `ca-file`, trimmed and masked the moment it is read.
async fn read_proof_jwt_file(run: &Run, path: &str) -> Result<Secret, FailureRecord> {
    let origin = format!("`proof-jwt-file` `{path}`");
    let bytes = run
        .io
        .read_file(&origin, path)
        .await
        .map_err(|f| failure(&SourceError::from_file(&origin, f)))?;
    let text = String::from_utf8(bytes).map_err(|_| FailureRecord {
        class: ErrorClass::User,
        area: Area::Input,
        message: format!("{origin} is not UTF-8 text, so it holds no JWT"),
        hint: Some("write the token with `kubectl create token … > file`".into()),
    })?;
    let jwt = Secret::new(text.trim().to_string());
    run.out.mask(&jwt);
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
pub(super) fn string_list(body: Option<&Value>, pointer: &str) -> Vec<String> {
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

fn default_audience(env: &Snapshot) -> String {
    let owner = env
        .context
        .repository
        .as_deref()
        .and_then(|r| r.split('/').next())
        .unwrap_or("<owner>");
    // GitHub's default audience when `jwt-audience` is empty.
    format!("https://github.com/{owner}")
}

/// The API server's address, and where it came from for the host step's line.
async fn resolve_host(
    run: &Run,
    settings: &Settings,
    client: &VaultClient,
    token: &Secret,
    policies: &vault_api::TokenPolicies,
) -> Result<(KubernetesHost, String), FailureRecord> {
    match &settings.host {
        HostSource::Input(h) => Ok((h.clone(), "from `kubernetes-host`".to_string())),
        HostSource::Vip {
            mount,
            secret,
            key,
            port,
        } => {
            let mount = mount.as_str();
            let read = VipRead {
                run,
                client,
                token,
                policies,
                ns: settings.vip_namespace.as_deref(),
                mount,
                secret,
                key,
            };
            let (value, kv_version) = read.read().await?;
            let location = vault_api::vip_location(mount, secret, key, kv_version);
            let host = host::host_from_vip(&location, &value, *port, settings.allow_loopback_host)
                .map_err(|e| failure(&e))?;
            Ok((host, format!("VIP from `{location}`")))
        }
    }
}

/// One read of the VIP from Vault KV: where it is asked, and with which token.
struct VipRead<'a> {
    run: &'a Run,
    client: &'a VaultClient,
    token: &'a Secret,
    policies: &'a vault_api::TokenPolicies,
    /// The KV mount's namespace (`vault-namespace-vip`).
    ns: Option<&'a str>,
    mount: &'a str,
    secret: &'a str,
    key: &'a str,
}

impl VipRead<'_> {
    /// Read as KV v2; a bare 404 there is also what a KV v1 mount, a mount that begins above
    /// `vip-mount`, or another engine answers (and a 403 what a v1 mount answers when the
    /// policy grants the v1 path), so the mount's own description (the lookup the `vault kv`
    /// commands make) tells them apart from a missing secret or a missing grant. Answers the
    /// value and the KV version it was read from.
    async fn read(&self) -> Result<(String, u8), FailureRecord> {
        let v2 = vault_api::read_vip(self.mount, self.secret, self.key, 2, self.ns);
        match self
            .run
            .send(self.client, &v2, Some(self.token), None)
            .await
        {
            Ok(answer) => self.value(2, answer.body.as_ref()).map(|v| (v, 2)),
            Err(CallError::Vault(f)) if (f.status == 404 && !f.no_route()) || f.status == 403 => {
                cold(self.not_at_v2_path(f)).await
            }
            Err(e) => Err(self.failure(e)),
        }
    }

    /// After a bare 404 or a 403 on the KV v2 path: asks Vault which mount serves
    /// `vip-mount`, then reads the KV v1 path, or says how the inputs miss the mount, or
    /// reports the v2 answer (a missing secret, or the policy fix).
    async fn not_at_v2_path(
        &self,
        refused: vault_api::VaultFailure,
    ) -> Result<(String, u8), FailureRecord> {
        let (run, mount, secret) = (self.run, self.mount, self.secret);
        let lookup = vault_api::mount_info(mount, self.ns);
        let info = run
            .send(self.client, &lookup, Some(self.token), None)
            .await
            .ok()
            .and_then(|a| a.body.as_ref().and_then(vault_api::parse_mount_info));
        let Some(info) = info else {
            // No description: the v2 answer is the likeliest cause, and its fix is printed.
            return Err(self.failure(CallError::Vault(refused)));
        };
        match vault_api::vip_mount_verdict(&info, mount, secret) {
            vault_api::VipMount::KvV1 => {
                let v1 = vault_api::read_vip(mount, secret, self.key, 1, self.ns);
                let answer = run
                    .send(self.client, &v1, Some(self.token), None)
                    .await
                    .map_err(|e| self.failure(e))?;
                run.report.borrow_mut().notes.push(format!(
                    "the VIP was read from `{}`: `{}` is a KV version 1 mount",
                    vault_api::kv_secret_path(mount, secret, 1),
                    info.path
                ));
                self.value(1, answer.body.as_ref()).map(|v| (v, 1))
            }
            vault_api::VipMount::Missing => Err(self.failure(CallError::Vault(refused))),
            vault_api::VipMount::Wrong { message, hint } => Err(FailureRecord {
                class: ErrorClass::User,
                area: Area::Vault,
                message,
                hint: Some(hint),
            }),
        }
    }

    /// A failed read: a refusal names the token's policies and the block that grants the read.
    fn failure(&self, e: CallError) -> FailureRecord {
        match e {
            CallError::Vault(f) if f.status == 403 => {
                let mut record = failure(&CallError::Vault(f.clone()));
                record.hint = Some(vault_api::policy_fix(
                    &f.path,
                    f.namespace.as_deref(),
                    &["read"],
                    "`read`",
                    self.policies,
                ));
                record
            }
            other => failure(&other),
        }
    }

    /// The string at `key` of a KV read's data (`data.data` on v2, `data` on v1); the fixes for
    /// a missing key act in the KV mount's namespace.
    fn value(&self, kv_version: u8, body: Option<&Value>) -> Result<String, FailureRecord> {
        let pointer = if kv_version == 1 {
            "/data"
        } else {
            "/data/data"
        };
        let data = body.and_then(|b| b.pointer(pointer));
        data.and_then(|d| d.get(self.key))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                let (message, hint) =
                    vault_api::vip_key_missing(self.mount, self.secret, self.key, kv_version, data);
                FailureRecord {
                    class: ErrorClass::User,
                    area: Area::Vault,
                    message,
                    hint: Some(vault_api::namespaced(&hint, self.ns)),
                }
            })
    }
}

async fn read_config(
    run: &Run,
    client: &VaultClient,
    token: &Secret,
    mount: &str,
    ns: Option<&str>,
) -> Result<Option<CurrentConfig>, CallError> {
    let call = vault_api::read_config(mount, ns);
    match run.send(client, &call, Some(token), None).await {
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

async fn revoke(run: &Run) {
    let taken = run.session.borrow_mut().take();
    let Some(session) = taken else { return };
    if !session.revoke {
        return;
    }
    let call = vault_api::revoke_self(session.namespace.as_deref());
    let result = run
        .send(&session.client, &call, Some(&session.token), None)
        .await;
    match result {
        Ok(_) => run.step(
            "revoke",
            StepStatus::Done,
            "the action's Vault token is revoked",
        ),
        // A second revoke answers 403: the token is already gone.
        Err(CallError::Vault(f)) if f.status == 403 => {
            run.step("revoke", StepStatus::Done, "the token was already revoked")
        }
        Err(e) => {
            let text =
                format!("could not revoke the action's Vault token: {e}; it expires with its TTL");
            run.warn(text.clone());
            run.step("revoke", StepStatus::Warned, text);
        }
    }
}

/// Writes the report, outputs and summary, emits the failure annotation, returns the exit code.
async fn finish(run: &Run) -> u8 {
    let out = &run.out;
    let name = &run.snap.report_file_name;
    let path = out.report_path(name);
    run.report.borrow_mut().report_path = path.clone();
    let json = out.redact(&crate::pure::summary::render_report_json(
        &run.report.borrow(),
    ));
    let written = match &path {
        Some(p) => run.io.write_file(p, json).await,
        None => Err("not a plain file name".into()),
    };
    if let Err(e) = written {
        run.report.borrow_mut().report_path = None;
        out.warning(&format!("could not write the JSON report: {e}"));
    }
    let failed = run.report.borrow().failure.clone();
    if let Some(f) = &failed {
        out.error(f.area.title(f.class), &f.message, f.hint.as_deref());
    }
    let outputs = crate::pure::summary::render_outputs(&run.report.borrow());
    match out.outputs(&outputs) {
        Ok(Some((path, text))) => {
            if let Err(e) = run.io.append_file(&path, text).await {
                out.warning(&format!("could not write the outputs: {e}"));
            }
        }
        Ok(None) => {}
        Err(e) => out.warning(&format!("could not write the outputs: {e}")),
    }
    let step_summary = run.publishing.targets.contains(&Target::StepSummary);
    let summary = out.summary(&run.report.borrow(), step_summary);
    if let Some((path, text)) = summary {
        if let Err(e) = run.io.append_file(&path, text).await {
            out.warning(&format!("could not write the step summary: {e}"));
        }
    }
    match failed {
        Some(f) => f.class.exit_code(),
        None => 0,
    }
}

/// Keeps the wire types' secret wrapper in one place for the modules beside this one.
pub(super) fn wire_secret(secret: &Secret) -> WireSecret {
    WireSecret(secret.clone())
}
