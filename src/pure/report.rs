//! Renderers for what the offline commands print: the CA inspection and the plan, as plain text
//! for a terminal and as JSON for machines.
//!
//! Pure functions from typed values to strings. Certificate subjects are untrusted text: the
//! plain renderers print them through `escape_log_line` so they cannot form a workflow command
//! when the CLI runs inside a runner. Never renders a secret (none reaches these types).

use serde_json::{json, Value};

use super::ca::{CaBundle, CaCert, DroppedCert};
use super::command::escape_log_line;
use super::plan::{Plan, Rollback};

/// The public facts of one CA, as JSON.
fn cert_json(cert: &CaCert) -> Value {
    json!({
        "position": cert.position,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "self_signed": cert.is_self_signed(),
        "serial": cert.serial,
        "not_before": cert.not_before.to_string(),
        "not_after": cert.not_after.to_string(),
        "key_algorithm": cert.key_algorithm,
        "sha256": cert.fingerprint,
    })
}

fn dropped_json(d: &DroppedCert) -> Value {
    json!({
        "position": d.position,
        "subject": d.subject,
        "sha256": d.fingerprint,
        "reason": d.reason.to_string(),
    })
}

/// `inspect-ca --json`: every CA to upload, what was dropped, warnings, and the canonical PEM.
pub fn render_ca_json(origin: &str, bundle: &CaBundle, warnings: &[String]) -> String {
    let value = json!({
        "source": origin,
        "encoding": bundle.encoding.as_str(),
        "checked_at": bundle.checked_at.to_string(),
        "certificates": bundle.certs.iter().map(cert_json).collect::<Vec<_>>(),
        "dropped": bundle.dropped.iter().map(dropped_json).collect::<Vec<_>>(),
        "fingerprints": bundle.fingerprints(),
        "not_after": bundle.earliest_not_after().to_string(),
        "warnings": warnings,
        "pem": bundle.to_pem(),
    });
    pretty(&value)
}

/// `inspect-ca`: one block per CA to upload.
pub fn render_ca_text(origin: &str, bundle: &CaBundle) -> String {
    let mut out = format!(
        "{} CA certificate{} to upload from {} ({}), checked at {}\n",
        bundle.certs.len(),
        if bundle.certs.len() == 1 { "" } else { "s" },
        escape_log_line(origin),
        bundle.encoding.as_str(),
        bundle.checked_at
    );
    for cert in &bundle.certs {
        let issuer = if cert.is_self_signed() {
            "(self-signed)".to_string()
        } else {
            escape_log_line(&cert.issuer)
        };
        out.push_str(&format!(
            "\ncertificate {}\n  subject     {}\n  issuer      {}\n  serial      {}\n  \
             not before  {}\n  not after   {}\n  key         {}\n  sha256      {}\n",
            cert.position,
            escape_log_line(&cert.subject),
            issuer,
            cert.serial,
            cert.not_before,
            cert.not_after,
            cert.key_algorithm,
            cert.fingerprint
        ));
    }
    out
}

/// `plan --format json`.
pub fn render_plan_json(mount: &str, plan: &Plan) -> String {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(
            |c| json!({"field": c.field, "before": c.before, "after": c.after, "reason": c.reason}),
        )
        .collect();
    let rollback = match &plan.rollback {
        Rollback::FirstWrite => {
            json!({"possible": false, "reason": "first write: config has no DELETE"})
        }
        Rollback::Restore(body) => json!({"possible": true, "body": body}),
    };
    let value = json!({
        "mount": mount,
        "path": format!("auth/{mount}/config"),
        "changed": plan.has_changes(),
        "changes": changes,
        "body": plan.body,
        "rollback": rollback,
        "notes": plan.notes,
    });
    pretty(&value)
}

/// `plan`: a table of field changes, then notes.
pub fn render_plan_text(mount: &str, plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.has_changes() {
        out.push_str(&format!(
            "auth/{mount}/config is already as desired: nothing to write\n"
        ));
    } else {
        out.push_str(&format!(
            "auth/{mount}/config: {} field{} to change\n\n",
            plan.changes.len(),
            if plan.changes.len() == 1 { "" } else { "s" }
        ));
        let rows: Vec<[String; 4]> = plan
            .changes
            .iter()
            .map(|c| {
                [
                    c.field.to_string(),
                    escape_log_line(c.before.as_deref().unwrap_or("(unset)")),
                    escape_log_line(&c.after),
                    escape_log_line(&c.reason),
                ]
            })
            .collect();
        out.push_str(&render_table(["field", "before", "after", "why"], &rows));
    }
    if matches!(plan.rollback, Rollback::FirstWrite) {
        out.push_str("\nrollback: not possible (first write; config has no DELETE)\n");
    }
    for note in &plan.notes {
        out.push_str(&format!("note: {}\n", escape_log_line(note)));
    }
    out
}

fn render_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn pretty(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its map keys are strings.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let rows = [
            ["a".to_string(), "long value".to_string()],
            ["bbb".to_string(), "x".to_string()],
        ];
        assert_eq!(
            render_table(["k", "v"], &rows),
            "k    v\n---  ----------\na    long value\nbbb  x\n"
        );
    }
}
