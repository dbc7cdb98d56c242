//! The report of one run as plain text for a person at a terminal: what `run` prints outside a
//! runner, and what the demo shows.
//!
//! The runner renders Markdown from the step summary file; a terminal does not, so `<code>`,
//! table pipes and backslash escapes would only be noise there. This renderer lays the same
//! facts out in aligned columns and colours them only when asked. It never decides whether to
//! colour (`env.rs` reads `NO_COLOR` and whether stdout is a terminal and passes the answer),
//! and never reads anything but the report.
//!
//! Plain text is not inert by itself: the runner's command parser also reads the output of a
//! run whose stdout is piped into a job's log. So every text that came from a certificate, a
//! kubeconfig, Vault or an input goes through [`escape_log_line`]: no line break, no control
//! character (so no colour code either), no `##[` and no line that starts a workflow command.
//! Colour codes are only ever the ones written here.

use super::command::{defuse, escape_log_line};
use super::contract::Outcome;
use super::summary::{RunReport, StepStatus};

/// The ANSI colours the renderer uses (SGR parameters).
#[derive(Clone, Copy)]
enum Paint {
    Bold,
    Dim,
    Green,
    Yellow,
    Red,
    Cyan,
}

impl Paint {
    fn sgr(self) -> &'static str {
        match self {
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Green => "32",
            Paint::Yellow => "33",
            Paint::Red => "31",
            Paint::Cyan => "36",
        }
    }
}

/// Builds the text line by line; `colour` decides whether `paint` adds escape codes.
struct Text {
    colour: bool,
    lines: Vec<String>,
}

impl Text {
    fn paint(&self, paint: Paint, text: &str) -> String {
        if self.colour && !text.is_empty() {
            format!("\u{1b}[{}m{text}\u{1b}[0m", paint.sgr())
        } else {
            text.to_string()
        }
    }

    fn push(&mut self, line: String) {
        // The pieces are escaped one by one; the joined line is defused again so that two
        // pieces side by side can never spell `##[` between them.
        self.lines.push(defuse(line.trim_end()));
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn heading(&mut self, title: &str) {
        self.blank();
        let line = self.paint(Paint::Bold, title);
        self.push(line);
    }

    /// Rows of `label  value` with the values in one column. Labels are ours; values are
    /// escaped. A value of several parts puts each part on its own line in the value column.
    fn columns(&mut self, indent: &str, rows: &[(String, Vec<String>)]) {
        let width = rows
            .iter()
            .map(|(label, _)| label.chars().count())
            .max()
            .unwrap_or(0);
        for (label, parts) in rows {
            for (i, part) in parts.iter().enumerate() {
                let shown = if i == 0 { label.as_str() } else { "" };
                let pad = " ".repeat(width - shown.chars().count());
                let line = format!("{indent}{shown}{pad}  {}", escape_log_line(part));
                self.push(line);
            }
        }
    }
}

fn status_word(status: StepStatus) -> (&'static str, Paint) {
    match status {
        StepStatus::Done => ("done", Paint::Green),
        StepStatus::Warned => ("warned", Paint::Yellow),
        StepStatus::Skipped => ("skipped", Paint::Dim),
        StepStatus::Failed => ("failed", Paint::Red),
    }
}

/// The verdict line's mark, colour and words: the wording of `summary::verdict_parts`, the
/// one every renderer shares (how much was verified included), escaped for a log line.
fn verdict(report: &RunReport) -> (&'static str, Paint, String) {
    let (icon, text) = super::summary::verdict_parts(report);
    let (mark, paint) = match icon {
        "✅" => ("✔", Paint::Green),
        "🔐" => ("✔", Paint::Cyan),
        "⚠️" => ("!", Paint::Yellow),
        "📝" => ("•", Paint::Cyan),
        "🚫" => ("!", Paint::Yellow),
        "↩️" => ("↩", Paint::Red),
        "🛑" => ("■", Paint::Yellow),
        _ => ("✘", Paint::Red),
    };
    let subject = super::summary::verdict_subject(report);
    (
        mark,
        paint,
        escape_log_line(&format!("{subject}: {}", text.replace('`', ""))),
    )
}

/// The title over the list of changes, by outcome (the Markdown summary's words).
fn changes_title(report: &RunReport) -> &'static str {
    match report.outcome {
        Outcome::Changed => "Changed",
        Outcome::Planned => "Would change",
        Outcome::RolledBack => "Written, then restored",
        Outcome::Failed | Outcome::Cancelled if report.changed => "Written (and left in place)",
        _ => "Planned changes",
    }
}

/// The report as plain text: verdict, failure and fix, facts, changes, steps, warnings, notes
/// and the audit trail, each section only when it has something to say. ANSI colour codes
/// appear only when `colour` is true. Ends with a line break.
pub fn render_text(report: &RunReport, colour: bool) -> String {
    let mut t = Text {
        colour,
        lines: Vec::new(),
    };
    let title = format!(
        "vault-k8s-handshake · {}{}",
        escape_log_line(&super::summary::verdict_subject(report)),
        if report.dry_run { " · dry run" } else { "" }
    );
    let title = t.paint(Paint::Bold, &title);
    t.push(title);
    let (mark, paint, words) = verdict(report);
    let line = format!("{} {words}", t.paint(paint, mark));
    t.push(line);

    if let Some(f) = &report.failure {
        t.blank();
        let label = t.paint(Paint::Red, "error:");
        t.push(format!("{label} {}", escape_log_line(&f.message)));
        if let Some(h) = &f.hint {
            let label = t.paint(Paint::Cyan, "fix:");
            t.push(format!("{label}   {}", escape_log_line(h)));
        }
    }
    if let Some(reason) = &report.dry_run_reason {
        t.blank();
        let label = t.paint(Paint::Cyan, "note:");
        t.push(format!("{label} {}", escape_log_line(reason)));
    }
    if let Some(fix) = &report.write_refused {
        t.blank();
        let label = t.paint(Paint::Yellow, "refused:");
        t.push(format!(
            "{label} a real run would be refused: {}",
            escape_log_line(fix)
        ));
    }

    let mut facts: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(addr) = &report.vault_addr {
        facts.push(("Vault".into(), vec![addr.clone()]));
    }
    if let Some(ns) = &report.namespace {
        facts.push(("Namespace".into(), vec![ns.clone()]));
    }
    facts.push(("Mount".into(), vec![format!("auth/{}", report.mount)]));
    if let Some(host) = &report.host {
        facts.push(("kubernetes_host".into(), vec![host.clone()]));
    }
    if let Some(ca) = &report.ca {
        if !ca.fingerprints.is_empty() {
            facts.push(("CA (sha256)".into(), ca.fingerprints.clone()));
        }
        facts.push(("CA expires".into(), vec![ca.not_after.clone()]));
        if !ca.subjects.is_empty() {
            facts.push(("CA subjects".into(), ca.subjects.clone()));
        }
    }
    t.blank();
    t.columns("  ", &facts);

    if !report.changes.is_empty() {
        t.heading(changes_title(report));
        let rows: Vec<(String, Vec<String>)> = report
            .changes
            .iter()
            .map(|c| {
                let before = c.before.as_deref().unwrap_or("(unset)");
                (
                    c.field.to_string(),
                    vec![
                        format!("{before} → {}", c.after),
                        format!("why: {}", c.reason),
                    ],
                )
            })
            .collect();
        t.columns("  ", &rows);
    }

    if !report.steps.is_empty() {
        t.heading("Steps");
        let name_width = report
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0);
        let status_width = "skipped".len();
        for s in &report.steps {
            let (word, paint) = status_word(s.status);
            // Padding is added outside the colour codes, so columns line up either way.
            let status = format!(
                "{}{}",
                t.paint(paint, word),
                " ".repeat(status_width - word.len())
            );
            let line = format!(
                "  {}{}  {status}  {}",
                s.name,
                " ".repeat(name_width - s.name.chars().count()),
                escape_log_line(&s.detail)
            );
            t.push(line);
        }
    }

    for (title, items, paint) in [
        ("Warnings", &report.warnings, Paint::Yellow),
        ("Notes", &report.notes, Paint::Dim),
    ] {
        if items.is_empty() {
            continue;
        }
        let heading = t.paint(paint, title);
        t.blank();
        t.push(heading);
        for item in items {
            t.push(format!("  - {}", escape_log_line(item)));
        }
    }

    let mut trail = Vec::new();
    if let Some(url) = &report.context.run_url {
        trail.push(format!("run {}", escape_log_line(url)));
    }
    if let Some(actor) = &report.context.actor {
        trail.push(format!("actor {}", escape_log_line(actor)));
    }
    if let Some(sha) = &report.context.sha {
        let short: String = sha.chars().take(12).collect();
        trail.push(format!("commit {}", escape_log_line(&short)));
    }
    if let Some(path) = &report.report_path {
        trail.push(format!("report {}", escape_log_line(path)));
    }
    if !trail.is_empty() {
        t.blank();
        let line = t.paint(Paint::Dim, &trail.join(" · "));
        t.push(line);
    }
    let mut out = t.lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::plan::FieldChange;
    use crate::pure::summary::{CaRecord, FailureRecord, RunContext};
    use crate::pure::ErrorClass;

    fn sample() -> RunReport {
        let mut r = crate::pure::summary::test_report();
        r.vault_addr = Some("https://vault.example.com:8200".into());
        r.host = Some("https://10.69.1.110:6443".into());
        r.ca = Some(CaRecord {
            fingerprints: vec!["e596ad".into(), "9f86d0".into()],
            subjects: vec!["CN=rke2-server-ca@1764300000".into()],
            not_after: "2036-11-25T07:52:26Z".into(),
            origin: "`ca-file` `k8s-ca.crt`".into(),
        });
        r.changes = vec![FieldChange {
            field: "kubernetes_host",
            before: None,
            after: "https://10.69.1.110:6443".into(),
            reason: "first write".into(),
        }];
        r.step("inputs", StepStatus::Done, "environment `dev`");
        r.step(
            "probe",
            StepStatus::Warned,
            "`https://10.69.1.110:6443` unreachable",
        );
        r.step("read-back", StepStatus::Skipped, "dry run");
        r
    }

    /// The column where the text after the label starts, for each line that has `label`.
    fn value_column(text: &str, label: &str) -> usize {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no line for {label}:\n{text}"));
        let rest = &line[line.find(label).unwrap() + label.len()..];
        line.len() - rest.trim_start().len()
    }

    #[test]
    fn plain_text_has_no_markdown_and_lines_up() {
        let text = render_text(&sample(), false);
        let head = "vault-k8s-handshake · dev\n\
                    ! dev: auth/dev-kubernetes/config written and read back; verification \
                    unverified";
        assert!(text.starts_with(head), "{text}");
        for markup in [
            "<code>",
            "</code>",
            "\\",
            "| ",
            "**",
            "<details>",
            "<sub>",
            "&#64;",
        ] {
            assert!(!text.contains(markup), "{markup:?} in\n{text}");
        }
        assert!(
            !text.contains('\u{1b}'),
            "colour codes without colour:\n{text}"
        );
        // The facts' values share one column, as do the steps' statuses and details.
        let col = value_column(&text, "Vault");
        for label in [
            "Mount",
            "kubernetes_host",
            "CA (sha256)",
            "CA expires",
            "CA subjects",
        ] {
            assert_eq!(value_column(&text, label), col, "{label}:\n{text}");
        }
        assert!(
            text.contains(&format!("\n{}9f86d0\n", " ".repeat(col))),
            "{text}"
        );
        let status_col = value_column(&text, "inputs");
        assert_eq!(value_column(&text, "read-back"), status_col, "{text}");
        assert!(
            text.contains("  inputs     done     environment `dev`\n"),
            "{text}"
        );
        assert!(
            text.contains("  probe      warned   `https://10.69.1.110:6443` unreachable\n"),
            "{text}"
        );
        assert!(text.contains("  read-back  skipped  dry run\n"), "{text}");
        let changed = [
            "Changed",
            "  kubernetes_host  (unset) → https://10.69.1.110:6443",
            "                   why: first write",
        ];
        assert!(text.contains(&changed.join("\n")), "{text}");
        let trail = "run https://github.com/acme/infra/actions/runs/42 · actor octocat · \
                     commit 0123456789ab\n";
        assert!(text.ends_with(trail), "{text}");
    }

    #[test]
    fn sections_without_content_are_left_out() {
        let mut r = RunReport::new("dev", "dev-kubernetes", RunContext::default());
        r.outcome = Outcome::Failed;
        let text = render_text(&r, false);
        assert_eq!(
            text,
            "vault-k8s-handshake · dev\n✘ dev: the handshake failed\n\n  \
             Mount  auth/dev-kubernetes\n"
        );
        for heading in ["Steps", "Warnings", "Notes", "Changed", "error:"] {
            assert!(!text.contains(heading), "{heading}");
        }
    }

    #[test]
    fn the_failure_and_its_fix_come_first() {
        let mut r = sample();
        r.outcome = Outcome::Failed;
        r.changes.clear();
        r.failure = Some(FailureRecord {
            class: ErrorClass::User,
            area: crate::pure::Area::Input,
            message: "the API server at `https://10.69.1.110:6443` lacks `10.69.1.110` in its SANs"
                .into(),
            hint: Some("add the VIP to RKE2's `tls-san`".into()),
        });
        r.warnings.push("the CA expires in 20 days".into());
        let text = render_text(&r, false);
        let top = [
            "✘ dev: the handshake failed",
            "",
            "error: the API server at `https://10.69.1.110:6443` lacks `10.69.1.110` in its SANs",
            "fix:   add the VIP to RKE2's `tls-san`",
            "",
            "  Vault",
        ];
        assert!(text.contains(&top.join("\n")), "{text}");
        assert!(
            text.contains("\n\nWarnings\n  - the CA expires in 20 days\n"),
            "{text}"
        );
    }

    #[test]
    fn colour_codes_only_when_asked() {
        let plain = render_text(&sample(), false);
        let coloured = render_text(&sample(), true);
        assert!(!plain.contains('\u{1b}'));
        assert!(coloured.contains("\u{1b}[32mdone\u{1b}[0m"), "{coloured}");
        assert!(coloured.contains("\u{1b}[33mwarned\u{1b}[0m"), "{coloured}");
        // Without the codes the two are the same text: colour never moves a column.
        let mut stripped = String::new();
        let mut rest = coloured.as_str();
        while let Some(i) = rest.find('\u{1b}') {
            stripped.push_str(&rest[..i]);
            let after = &rest[i..];
            rest = &after[after.find('m').unwrap() + 1..];
        }
        stripped.push_str(rest);
        assert_eq!(stripped, plain);
    }

    #[test]
    fn untrusted_text_is_inert() {
        let mut r = sample();
        r.environment = "dev".into();
        r.ca.as_mut().unwrap().subjects = vec![
            "CN=x ##[stop-commands]y".into(),
            "::add-mask::z".into(),
            "CN=a\n::error::b\r\u{1b}[31mred".into(),
        ];
        r.failure = Some(FailureRecord {
            class: ErrorClass::Remote,
            area: crate::pure::Area::Input,
            message: "Vault said `##[error]no`\n::warning::x".into(),
            hint: None,
        });
        r.notes.push("#".into());
        r.notes.push("#[x]".into());
        for colour in [false, true] {
            let text = render_text(&r, colour);
            assert!(text.contains("CN=x ##\\[stop-commands]y"), "{text}");
            assert!(text.contains("CN=a ::error::b  [31mred"), "{text}");
            assert!(!text.contains("##["), "{text}");
            assert!(!text.contains('\r'), "{text}");
            for line in text.lines() {
                assert!(!line.trim_start().starts_with("::"), "{line:?}");
                if !colour {
                    assert!(!line.contains(char::is_control), "{line:?}");
                }
            }
        }
        let coloured = render_text(&r, true);
        // The only escape codes are the renderer's own: none from the subject survives.
        assert!(!coloured.contains("\u{1b}[31mred"), "{coloured}");
    }
}
