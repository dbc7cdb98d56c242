//! The report of one run: its model, and its renderers (the Markdown step summary a person reads
//! at a glance, the JSON audit report, the action's outputs).
//!
//! The handshake (`pure::machine`) fills a `RunReport` as it proceeds and renders it on every
//! exit path.
//! Everything in it is public (the CA, fingerprints, hosts, Vault's messages): no type here can
//! hold a secret. Text from certificates, kubeconfigs and Vault is escaped for Markdown and HTML
//! on the way out, never trusted.

use serde::Serialize;

use super::command::{escape_markdown, escape_markdown_code};
use super::contract::Outcome;
use super::plan::{CurrentConfig, FieldChange};
use super::ErrorClass;

/// How a step of the handshake ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Done,
    Warned,
    Skipped,
    Failed,
}

impl StepStatus {
    fn icon(self) -> &'static str {
        match self {
            StepStatus::Done => "✅",
            StepStatus::Warned => "⚠️",
            StepStatus::Skipped => "⏭️",
            StepStatus::Failed => "❌",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Warned => "warned",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "failed",
        }
    }
}

/// How much of the trust path a run proved. Never more than the evidence: a verdict is ✅ only
/// for `Proven`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verification {
    /// A ServiceAccount login through the written config succeeded (the proof).
    Proven,
    /// The probe connected and the live API server's certificate verifies with the uploaded CA
    /// for the host; no login was proven.
    TlsVerified,
    /// Neither: the probe was off or could not reach the API server, and no proof ran.
    #[default]
    Unverified,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Proven => "proven",
            Verification::TlsVerified => "tls-verified",
            Verification::Unverified => "unverified",
        }
    }
}

/// What the probe did, as the verdict must say it (`probe: off` is never "could not reach").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeSeen {
    /// The run ended before the probe step.
    #[default]
    NotRun,
    /// `probe: off`.
    Off,
    /// The API server presented a certificate from the uploaded CA with a matching SAN.
    Verified,
    /// The runner could not open a connection (refused, timed out, no route).
    Unreachable,
    /// The probe connected and found a definite problem (wrong CA, SAN, expiry).
    Finding,
}

/// One row of the steps table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    pub name: &'static str,
    pub status: StepStatus,
    pub detail: String,
}

/// Who ran it, where: the audit trail's context (all from `GITHUB_*`, public).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunContext {
    pub run_url: Option<String>,
    pub repository: Option<String>,
    pub actor: Option<String>,
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    pub event_name: Option<String>,
    pub workflow: Option<String>,
    pub started_at: String,
}

/// The failure, as shown in the summary, the annotation and the `error-message` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    pub class: ErrorClass,
    pub area: super::Area,
    pub message: String,
    pub hint: Option<String>,
}

impl FailureRecord {
    /// `message` and `hint: …` on one string, for the `error-message` output.
    pub fn one_line(&self) -> String {
        match &self.hint {
            Some(h) => format!("{} (hint: {h})", self.message),
            None => self.message.clone(),
        }
    }
}

/// The CA as uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaRecord {
    pub fingerprints: Vec<String>,
    pub subjects: Vec<String>,
    pub not_after: String,
    pub origin: String,
}

/// Everything one run did and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    pub environment: String,
    pub mount: String,
    pub namespace: Option<String>,
    pub vault_addr: Option<String>,
    pub outcome: Outcome,
    pub changed: bool,
    pub dry_run: bool,
    /// Why the run did not write although it might have (e.g. a pull_request event).
    pub dry_run_reason: Option<String>,
    pub host: Option<String>,
    pub ca: Option<CaRecord>,
    pub previous: Option<CurrentConfig>,
    pub written: Option<CurrentConfig>,
    pub changes: Vec<FieldChange>,
    pub steps: Vec<StepRecord>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub failure: Option<FailureRecord>,
    pub context: RunContext,
    pub report_path: Option<String>,
    pub verification: Verification,
    pub probe: ProbeSeen,
    /// On a dry run: the policy change a real run would need, when this token may not write.
    pub write_refused: Option<String>,
}

impl RunReport {
    pub fn new(environment: &str, mount: &str, context: RunContext) -> Self {
        RunReport {
            environment: environment.to_string(),
            mount: mount.to_string(),
            namespace: None,
            vault_addr: None,
            outcome: Outcome::Failed,
            changed: false,
            dry_run: false,
            dry_run_reason: None,
            host: None,
            ca: None,
            previous: None,
            written: None,
            changes: Vec::new(),
            steps: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            failure: None,
            context,
            report_path: None,
            verification: Verification::Unverified,
            probe: ProbeSeen::NotRun,
            write_refused: None,
        }
    }

    pub fn step(&mut self, name: &'static str, status: StepStatus, detail: impl Into<String>) {
        self.steps.push(StepRecord {
            name,
            status,
            detail: detail.into(),
        });
    }
}

/// The action's outputs, in `OUTPUTS` order.
pub fn render_outputs(report: &RunReport) -> Vec<(&'static str, String)> {
    vec![
        ("result", report.outcome.as_str().to_string()),
        ("changed", report.changed.to_string()),
        (
            "ca-fingerprint",
            report
                .ca
                .as_ref()
                .map(|c| c.fingerprints.join(","))
                .unwrap_or_default(),
        ),
        (
            "ca-not-after",
            report
                .ca
                .as_ref()
                .map(|c| c.not_after.clone())
                .unwrap_or_default(),
        ),
        ("kubernetes-host", report.host.clone().unwrap_or_default()),
        ("mount", report.mount.clone()),
        (
            "error-message",
            report
                .failure
                .as_ref()
                .map(FailureRecord::one_line)
                .unwrap_or_default(),
        ),
        (
            "report-path",
            report.report_path.clone().unwrap_or_default(),
        ),
        ("verification", report.verification.as_str().to_string()),
    ]
}

fn verdict(report: &RunReport) -> String {
    let (icon, text) = verdict_parts(report);
    format!(
        "{icon} **{}**: {}",
        escape_markdown(&verdict_subject(report)),
        escape_markdown_code(&text)
    )
}

/// Who the verdict is about: the environment, or "this run" when it was rejected.
pub fn verdict_subject(report: &RunReport) -> String {
    if report.environment.is_empty() {
        "this run".to_string()
    } else {
        report.environment.clone()
    }
}

/// The verdict line as plain text (values in backticks) with its icon, after the subject
/// ([`verdict_subject`]): the one wording every renderer uses (step summary, check run, comment,
/// terminal). It says how much was verified, and never claims more: ✅ only when a login through
/// the config was proven.
pub fn verdict_parts(report: &RunReport) -> (&'static str, String) {
    let config = format!("`auth/{}/config`", report.mount);
    let what = match report.outcome {
        Outcome::Unchanged => format!("{config} already as desired, nothing written"),
        Outcome::Changed => format!("{config} written and read back"),
        Outcome::Planned if report.changed => format!("dry run, {config} would change"),
        Outcome::Planned => format!("dry run, {config} already as desired"),
        Outcome::RolledBack => {
            return (
                "↩️",
                format!("{config} written, then restored; the run failed"),
            )
        }
        Outcome::Failed => return ("❌", "the handshake failed".to_string()),
        Outcome::Cancelled if report.changed => {
            return (
                "🛑",
                format!("cancelled after {config} was written and read back; the token is revoked"),
            )
        }
        Outcome::Cancelled => {
            return (
                "🛑",
                "cancelled before anything was written; the token is revoked".to_string(),
            )
        }
    };
    let dry = report.outcome == Outcome::Planned;
    if dry && report.write_refused.is_some() {
        return (
            "🚫",
            format!(
                "{what}, but a real run would be refused: this token may not `update` {config} \
                 (the fix is below)"
            ),
        );
    }
    match report.verification {
        Verification::Proven => (
            if dry { "📝" } else { "✅" },
            format!("{what}; verification `proven`: ESO's login through it succeeded"),
        ),
        Verification::TlsVerified => (
            if dry { "📝" } else { "🔐" },
            format!(
                "{what}; verification `tls-verified`: the API server's certificate verifies with \
                 the uploaded CA, but no login was proven, so `system:auth-delegator`, the role's \
                 bindings and Vault's reach to the API server are unchecked (add `proof-jwt`)"
            ),
        ),
        Verification::Unverified => {
            let why = match report.probe {
                ProbeSeen::Off => "the probe was off (`probe: off`) and no proof ran",
                ProbeSeen::Unreachable => {
                    "this runner could not reach the API server and no proof ran"
                }
                _ => "no probe result and no proof",
            };
            let add = match report.probe {
                ProbeSeen::Off => "add `proof-jwt`, or turn the probe on (`probe: auto`)",
                _ => {
                    "add `proof-jwt`, or run on a runner that reaches the API server \
                      (`probe: require` makes that a failure)"
                }
            };
            (
                if dry { "📝" } else { "⚠️" },
                format!(
                    "{what}; verification `unverified`: {why}, so nothing about the trust path \
                     was checked ({add})"
                ),
            )
        }
    }
}

/// Untrusted text as an inline code element (HTML, so Markdown escapes still apply inside).
fn code(text: &str) -> String {
    format!("<code>{}</code>", escape_markdown(text))
}

/// The Markdown step summary.
pub fn render_summary(report: &RunReport) -> String {
    let mut out = format!(
        "### vault-k8s-handshake · {}{}\n\n{}\n\n",
        escape_markdown(&verdict_subject(report)),
        if report.dry_run { " · dry run" } else { "" },
        verdict(report)
    );
    if let Some(reason) = &report.dry_run_reason {
        out.push_str(&format!(
            "> [!NOTE]\n> {}\n\n",
            escape_markdown_code(reason)
        ));
    }
    if let Some(fix) = &report.write_refused {
        out.push_str(&format!(
            "> [!WARNING]\n> **A real run would be refused.** {}\n\n",
            escape_markdown_code(fix)
        ));
    }
    if let Some(f) = &report.failure {
        out.push_str(&format!(
            "> [!CAUTION]\n> **{}**\n",
            escape_markdown_code(&f.message)
        ));
        if let Some(h) = &f.hint {
            out.push_str(&format!(">\n> **Fix:** {}\n", escape_markdown_code(h)));
        }
        out.push('\n');
    }
    let mut facts = Vec::new();
    if let Some(addr) = &report.vault_addr {
        facts.push(("Vault", code(addr)));
    }
    if let Some(ns) = &report.namespace {
        facts.push(("Namespace", code(ns)));
    }
    facts.push(("Mount", code(&format!("auth/{}", report.mount))));
    if let Some(host) = &report.host {
        facts.push(("kubernetes_host", code(host)));
    }
    if let Some(ca) = &report.ca {
        let fps: Vec<String> = ca.fingerprints.iter().map(|f| format!("`{f}`")).collect();
        facts.push(("CA (sha256)", fps.join("<br>")));
        facts.push(("CA expires", escape_markdown(&ca.not_after)));
        let subjects: Vec<String> = ca.subjects.iter().map(|s| escape_markdown(s)).collect();
        facts.push(("CA subjects", subjects.join("<br>")));
    }
    out.push_str("| | |\n| --- | --- |\n");
    for (k, v) in facts {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    out.push('\n');
    if !report.changes.is_empty() {
        let title = match report.outcome {
            Outcome::Changed => "Changed",
            Outcome::Planned => "Would change",
            Outcome::RolledBack => "Written, then restored",
            Outcome::Failed | Outcome::Cancelled if report.changed => "Written (and left in place)",
            _ => "Planned changes",
        };
        out.push_str(&format!(
            "**{title}**\n\n| field | before | after | why |\n| --- | --- | --- | --- |\n"
        ));
        for c in &report.changes {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                c.field,
                escape_markdown(c.before.as_deref().unwrap_or("(unset)")),
                escape_markdown(&c.after),
                escape_markdown_code(&c.reason)
            ));
        }
        out.push('\n');
    }
    out.push_str("<details><summary>Steps</summary>\n\n| step | | detail |\n| --- | --- | --- |\n");
    for s in &report.steps {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            s.name,
            s.status.icon(),
            escape_markdown_code(&s.detail)
        ));
    }
    out.push_str("\n</details>\n\n");
    if !report.warnings.is_empty() {
        out.push_str("**Warnings**\n\n");
        for w in &report.warnings {
            out.push_str(&format!("- {}\n", escape_markdown_code(w)));
        }
        out.push('\n');
    }
    if !report.notes.is_empty() {
        out.push_str("**Notes**\n\n");
        for n in &report.notes {
            out.push_str(&format!("- {}\n", escape_markdown_code(n)));
        }
        out.push('\n');
    }
    let mut trail = Vec::new();
    if let Some(url) = &report.context.run_url {
        trail.push(format!("[run]({})", url.replace(')', "%29")));
    }
    if let Some(actor) = &report.context.actor {
        trail.push(format!("actor {}", escape_markdown(actor)));
    }
    if let Some(sha) = &report.context.sha {
        trail.push(format!(
            "commit `{}`",
            escape_markdown(&sha.chars().take(12).collect::<String>())
        ));
    }
    if let Some(path) = &report.report_path {
        trail.push(format!("report {}", code(path)));
    }
    if !trail.is_empty() {
        out.push_str(&format!("<sub>{}</sub>\n", trail.join(" · ")));
    }
    out
}

/// The report's view of a stored config: its public fields and the CA's fingerprints.
#[derive(Serialize)]
struct ConfigJson<'a> {
    ca_fingerprints: Vec<String>,
    disable_iss_validation: Option<bool>,
    disable_local_ca_jwt: bool,
    issuer: &'a str,
    kubernetes_ca_cert: &'a str,
    kubernetes_host: &'a str,
    pem_keys: &'a [String],
    token_reviewer_jwt_set: Option<bool>,
    use_annotations_as_alias_metadata: Option<bool>,
}

fn config_json(config: &Option<CurrentConfig>) -> Option<ConfigJson<'_>> {
    config.as_ref().map(|c| ConfigJson {
        ca_fingerprints: super::ca::fingerprints_of_pem(&c.kubernetes_ca_cert),
        disable_iss_validation: c.disable_iss_validation,
        disable_local_ca_jwt: c.disable_local_ca_jwt,
        issuer: &c.issuer,
        kubernetes_ca_cert: &c.kubernetes_ca_cert,
        kubernetes_host: &c.kubernetes_host,
        pem_keys: &c.pem_keys,
        token_reviewer_jwt_set: c.token_reviewer_jwt_set,
        use_annotations_as_alias_metadata: c.use_annotations_as_alias_metadata,
    })
}

// The report's JSON, field by field. Keys are declared in alphabetical order, the order the
// report has always had (it was built as a `serde_json::Value`, whose maps sort their keys);
// a derived serializer writes it directly, without building a map per object first.
#[derive(Serialize)]
struct ReportJson<'a> {
    ca: Option<CaJson<'a>>,
    changed: bool,
    changes: Vec<ChangeJson<'a>>,
    context: ContextJson<'a>,
    dry_run: bool,
    dry_run_reason: &'a Option<String>,
    environment: &'a str,
    failure: Option<FailureJson<'a>>,
    kubernetes_host: &'a Option<String>,
    mount: &'a str,
    namespace: &'a Option<String>,
    notes: &'a [String],
    previous: Option<ConfigJson<'a>>,
    result: &'static str,
    steps: Vec<StepJson<'a>>,
    tool: &'static str,
    vault_addr: &'a Option<String>,
    verification: &'static str,
    version: &'static str,
    warnings: &'a [String],
    write_refused: &'a Option<String>,
    written: Option<ConfigJson<'a>>,
}

#[derive(Serialize)]
struct CaJson<'a> {
    fingerprints: &'a [String],
    not_after: &'a str,
    origin: &'a str,
    subjects: &'a [String],
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    after: &'a str,
    before: &'a Option<String>,
    field: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct StepJson<'a> {
    detail: &'a str,
    name: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    class: String,
    hint: &'a Option<String>,
    message: &'a str,
}

#[derive(Serialize)]
struct ContextJson<'a> {
    actor: &'a Option<String>,
    event_name: &'a Option<String>,
    #[serde(rename = "ref")]
    git_ref: &'a Option<String>,
    repository: &'a Option<String>,
    run_url: &'a Option<String>,
    sha: &'a Option<String>,
    started_at: &'a str,
    workflow: &'a Option<String>,
}

/// The JSON audit report: previous and new public config, fingerprints, context.
pub fn render_report_json(report: &RunReport) -> String {
    let c = &report.context;
    let json = ReportJson {
        ca: report.ca.as_ref().map(|c| CaJson {
            fingerprints: &c.fingerprints,
            not_after: &c.not_after,
            origin: &c.origin,
            subjects: &c.subjects,
        }),
        changed: report.changed,
        changes: report
            .changes
            .iter()
            .map(|c| ChangeJson {
                after: &c.after,
                before: &c.before,
                field: c.field,
                reason: &c.reason,
            })
            .collect(),
        context: ContextJson {
            actor: &c.actor,
            event_name: &c.event_name,
            git_ref: &c.git_ref,
            repository: &c.repository,
            run_url: &c.run_url,
            sha: &c.sha,
            started_at: &c.started_at,
            workflow: &c.workflow,
        },
        dry_run: report.dry_run,
        dry_run_reason: &report.dry_run_reason,
        environment: &report.environment,
        failure: report.failure.as_ref().map(|f| FailureJson {
            class: format!("{:?}", f.class).to_lowercase(),
            hint: &f.hint,
            message: &f.message,
        }),
        kubernetes_host: &report.host,
        mount: &report.mount,
        namespace: &report.namespace,
        notes: &report.notes,
        previous: config_json(&report.previous),
        result: report.outcome.as_str(),
        steps: report
            .steps
            .iter()
            .map(|s| StepJson {
                detail: &s.detail,
                name: s.name,
                status: s.status.as_str(),
            })
            .collect(),
        tool: "vault-k8s-handshake",
        vault_addr: &report.vault_addr,
        verification: report.verification.as_str(),
        version: env!("CARGO_PKG_VERSION"),
        warnings: &report.warnings,
        write_refused: &report.write_refused,
        written: config_json(&report.written),
    };
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}

/// A written `dev` run with a fixed context: the base the renderers' unit tests add to.
#[cfg(test)]
pub(crate) fn test_report() -> RunReport {
    let mut r = RunReport::new(
        "dev",
        "dev-kubernetes",
        RunContext {
            run_url: Some("https://github.com/acme/infra/actions/runs/42".into()),
            actor: Some("octocat".into()),
            sha: Some("0123456789abcdef0123".into()),
            started_at: "2027-01-01T00:00:00Z".into(),
            ..RunContext::default()
        },
    );
    r.outcome = Outcome::Changed;
    r.changed = true;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn sample() -> RunReport {
        let mut r = test_report();
        r.host = Some("https://10.69.1.110:6443".into());
        r.ca = Some(CaRecord {
            fingerprints: vec!["e596".into()],
            subjects: vec!["CN=<script>@evil | x".into()],
            not_after: "2036-11-25T07:52:26Z".into(),
            origin: "`ca-file` `k8s-ca.crt`".into(),
        });
        r.step(
            "login",
            StepStatus::Done,
            "GitHub OIDC → auth/jwt (role gitops)",
        );
        r
    }

    #[test]
    fn summary_escapes_untrusted_text_and_shows_the_verdict() {
        let md = render_summary(&sample());
        assert!(
            md.contains(
                "⚠️ **dev**: <code>auth/dev-kubernetes/config</code> written and read back; \
                 verification <code>unverified</code>"
            ),
            "{md}"
        );
        assert!(md.contains("CN=&lt;script&gt;&#64;evil \\| x"), "{md}");
        assert!(!md.contains("<script>"));
        assert!(md.contains("[run](https://github.com/acme/infra/actions/runs/42)"));
        assert!(md.contains("commit `0123456789ab`"), "{md}");
    }

    #[test]
    fn the_verdict_never_claims_more_than_was_proven() {
        let mut r = sample();
        r.verification = Verification::Proven;
        assert!(verdict(&r).starts_with("✅ **dev**"), "{}", verdict(&r));
        r.verification = Verification::TlsVerified;
        let v = verdict(&r);
        assert!(
            v.starts_with("🔐") && v.contains("auth-delegator") && v.contains("proof-jwt"),
            "{v}"
        );
        r.verification = Verification::Unverified;
        r.probe = ProbeSeen::Off;
        let v = verdict(&r);
        assert!(v.starts_with("⚠️") && v.contains("probe: off"), "{v}");
        assert!(
            !v.contains("reach"),
            "`probe: off` is not a failure to reach: {v}"
        );
        r.probe = ProbeSeen::Unreachable;
        assert!(verdict(&r).contains("could not reach the API server"));
        r.outcome = Outcome::Planned;
        assert!(verdict(&r).starts_with("📝") && verdict(&r).contains("dry run"));
        let outputs = render_outputs(&r);
        assert!(outputs.contains(&("verification", "unverified".to_string())));
        // A rejected environment never shows as an empty or masked subject.
        r.environment = String::new();
        assert!(verdict(&r).contains("**this run**"), "{}", verdict(&r));
    }

    #[test]
    fn failure_appears_in_summary_outputs_and_json() {
        let mut r = sample();
        r.outcome = Outcome::Failed;
        r.changed = false;
        r.failure = Some(FailureRecord {
            class: ErrorClass::User,
            area: crate::pure::Area::Input,
            message: "bad".into(),
            hint: Some("fix it".into()),
        });
        let md = render_summary(&r);
        assert!(
            md.contains("> **bad**") && md.contains("**Fix:** fix it"),
            "{md}"
        );
        let outputs = render_outputs(&r);
        assert_eq!(outputs[0], ("result", "failed".to_string()));
        assert_eq!(
            outputs[6],
            ("error-message", "bad (hint: fix it)".to_string())
        );
        let names: Vec<&str> = outputs.iter().map(|(n, _)| *n).collect();
        let declared: Vec<&str> = super::super::contract::OUTPUTS
            .iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, declared);
        let json: Value = serde_json::from_str(&render_report_json(&r)).unwrap();
        assert_eq!(json["failure"]["class"], "user");
        assert_eq!(json["context"]["actor"], "octocat");
    }

    /// Every field of the report filled, so each key and nesting is compared.
    fn full() -> RunReport {
        let mut r = sample();
        r.namespace = Some("team-a".into());
        r.vault_addr = Some("https://vault.example.com:8200".into());
        r.dry_run_reason = Some("pull_request".into());
        r.write_refused = Some("grant `update`".into());
        r.warnings.push("w".into());
        r.notes.push("n".into());
        r.context.repository = Some("acme/infra".into());
        r.context.git_ref = Some("refs/heads/main".into());
        r.context.event_name = Some("push".into());
        r.context.workflow = Some("bootstrap".into());
        let config = CurrentConfig {
            kubernetes_host: "https://10.69.1.110:6443".into(),
            kubernetes_ca_cert: String::new(),
            pem_keys: vec!["k".into()],
            issuer: "iss".into(),
            disable_iss_validation: Some(true),
            disable_local_ca_jwt: true,
            token_reviewer_jwt_set: None,
            use_annotations_as_alias_metadata: Some(false),
            unknown_fields: Vec::new(),
        };
        r.previous = Some(config.clone());
        r.written = Some(config);
        r.changes.push(FieldChange {
            field: "kubernetes_host",
            before: None,
            after: "https://10.69.1.110:6443".into(),
            reason: "first write".into(),
        });
        r.failure = Some(FailureRecord {
            class: ErrorClass::User,
            area: crate::pure::Area::Vault,
            message: "m".into(),
            hint: Some("h".into()),
        });
        r
    }

    /// The report as it was built before (a `serde_json::Value`, keys sorted by its maps): the
    /// derived serializer must write the very same text, so readers of the file see no change.
    #[test]
    fn the_report_json_is_the_value_it_always_was() {
        let r = full();
        let config = |c: &CurrentConfig| {
            json!({
                "kubernetes_host": c.kubernetes_host,
                "kubernetes_ca_cert": c.kubernetes_ca_cert,
                "ca_fingerprints": crate::pure::ca::fingerprints_of_pem(&c.kubernetes_ca_cert),
                "disable_local_ca_jwt": c.disable_local_ca_jwt,
                "pem_keys": c.pem_keys,
                "issuer": c.issuer,
                "disable_iss_validation": c.disable_iss_validation,
                "token_reviewer_jwt_set": c.token_reviewer_jwt_set,
                "use_annotations_as_alias_metadata": c.use_annotations_as_alias_metadata,
            })
        };
        let ca = r.ca.as_ref().expect("sample has a CA");
        let f = r.failure.as_ref().expect("full has a failure");
        let value = json!({
            "tool": "vault-k8s-handshake",
            "version": env!("CARGO_PKG_VERSION"),
            "result": r.outcome.as_str(),
            "verification": r.verification.as_str(),
            "write_refused": r.write_refused,
            "changed": r.changed,
            "dry_run": r.dry_run,
            "dry_run_reason": r.dry_run_reason,
            "environment": r.environment,
            "vault_addr": r.vault_addr,
            "namespace": r.namespace,
            "mount": r.mount,
            "kubernetes_host": r.host,
            "ca": { "fingerprints": ca.fingerprints, "subjects": ca.subjects,
                    "not_after": ca.not_after, "origin": ca.origin },
            "previous": r.previous.as_ref().map(config),
            "written": r.written.as_ref().map(config),
            "changes": r.changes.iter().map(|c| json!({
                "field": c.field, "before": c.before, "after": c.after, "reason": c.reason,
            })).collect::<Vec<_>>(),
            "steps": r.steps.iter().map(|s| json!({
                "name": s.name, "status": s.status.as_str(), "detail": s.detail,
            })).collect::<Vec<_>>(),
            "warnings": r.warnings,
            "notes": r.notes,
            "failure": { "class": "user", "message": f.message, "hint": f.hint },
            "context": {
                "run_url": r.context.run_url, "repository": r.context.repository,
                "actor": r.context.actor, "sha": r.context.sha, "ref": r.context.git_ref,
                "event_name": r.context.event_name, "workflow": r.context.workflow,
                "started_at": r.context.started_at,
            },
        });
        let before = serde_json::to_string_pretty(&value).unwrap() + "\n";
        assert_eq!(render_report_json(&r), before);
        // And with the optional parts absent.
        let bare = test_report();
        let text = render_report_json(&bare);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        for key in ["ca", "previous", "written", "failure", "kubernetes_host"] {
            assert_eq!(parsed[key], Value::Null, "{key}");
        }
    }
}
