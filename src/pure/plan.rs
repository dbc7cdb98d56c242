//! The plan: what writing `auth/<mount>/config` would change, and the exact body to write.
//!
//! Owns parsing the kubernetes auth config as Vault returned it, the diff against the desired
//! settings, the full request body (carrying over the fields this tool does not manage), what a
//! rollback could restore, and the comparison of a read-back with the body that was written.
//!
//! It must never send, read a file or the clock, or hold a secret. It never puts
//! `token_reviewer_jwt` in a body: this tool has none, and Vault never returns a stored one. Its
//! errors name a location, never the input text.
//!
//! The Vault facts it follows (docs/vault-behaviour.md §3, `path_config.go` of
//! <https://github.com/hashicorp/vault-plugin-auth-kubernetes>):
//! - a config write replaces every field: whatever the body omits is reset to its default, so
//!   the body carries `pem_keys`, `issuer`, `disable_iss_validation` and
//!   `use_annotations_as_alias_metadata` over from the read;
//! - the read returns `kubernetes_host` and `kubernetes_ca_cert` verbatim, so the host is compared
//!   normalised and the CA by its certificates and by whether its bytes are canonical;
//! - `token_reviewer_jwt_set` and `use_annotations_as_alias_metadata` exist from Vault 1.16 on
//!   (plugin v0.18); an older read simply lacks them, which is not the same as `false`;
//! - the config has no DELETE (405) and no check-and-set, so a first write cannot be rolled back
//!   and a rollback can only write the previous values again.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::ca::{fingerprints_of_pem, is_canonical_pem};
use super::host::same_host;
use super::{Diagnostic, ErrorClass};

const KUBERNETES_HOST: &str = "kubernetes_host";
const KUBERNETES_CA_CERT: &str = "kubernetes_ca_cert";
const PEM_KEYS: &str = "pem_keys";
const ISSUER: &str = "issuer";
const DISABLE_ISS_VALIDATION: &str = "disable_iss_validation";
const DISABLE_LOCAL_CA_JWT: &str = "disable_local_ca_jwt";
const TOKEN_REVIEWER_JWT: &str = "token_reviewer_jwt";
const TOKEN_REVIEWER_JWT_SET: &str = "token_reviewer_jwt_set";
const USE_ANNOTATIONS_AS_ALIAS_METADATA: &str = "use_annotations_as_alias_metadata";

/// Every key a current Vault returns in `data` of `GET auth/<mount>/config`.
const KNOWN_READ_FIELDS: [&str; 8] = [
    KUBERNETES_HOST,
    KUBERNETES_CA_CERT,
    PEM_KEYS,
    ISSUER,
    DISABLE_ISS_VALIDATION,
    DISABLE_LOCAL_CA_JWT,
    TOKEN_REVIEWER_JWT_SET,
    USE_ANNOTATIONS_AS_ALIAS_METADATA,
];

/// The body fields a read-back can confirm, in the order mismatches are reported.
/// `token_reviewer_jwt` is not among them: Vault never returns it.
const VERIFIABLE_FIELDS: [&str; 7] = [
    KUBERNETES_HOST,
    KUBERNETES_CA_CERT,
    DISABLE_LOCAL_CA_JWT,
    PEM_KEYS,
    ISSUER,
    DISABLE_ISS_VALIDATION,
    USE_ANNOTATIONS_AS_ALIAS_METADATA,
];

/// The action input that lets a write remove a stored reviewer JWT.
const ALLOW_REVIEWER_JWT_REMOVAL_INPUT: &str = "allow-reviewer-jwt-removal";

/// `data` of `GET auth/<mount>/config`, as Vault returns it.
///
/// Fields a Vault version does not know are `None` (an absent key is not `false`). Build it with
/// [`parse_current_config`], which also fills [`CurrentConfig::unknown_fields`]; deserializing it
/// directly accepts the same shapes but leaves that list empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CurrentConfig {
    /// The API server address, verbatim as written (Vault does not normalise it).
    pub kubernetes_host: String,
    /// The CA PEM, byte for byte as written; `""` when none is stored.
    #[serde(default, deserialize_with = "null_as_default")]
    pub kubernetes_ca_cert: String,
    /// Public keys or certificates that verify ServiceAccount JWT signatures; usually empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pem_keys: Vec<String>,
    /// The deprecated JWT issuer; `""` when unset.
    #[serde(default, deserialize_with = "null_as_default")]
    pub issuer: String,
    /// The deprecated issuer-validation switch; `None` when the read did not return it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_iss_validation: Option<bool>,
    /// True in client JWT mode: Vault does not fall back to its own pod's CA and token.
    #[serde(default)]
    pub disable_local_ca_jwt: bool,
    /// Whether a reviewer JWT is stored (Vault 1.16+); `None` on older Vaults, which do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_reviewer_jwt_set: Option<bool>,
    /// Vault 1.16+ only; `None` when the read did not return it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_annotations_as_alias_metadata: Option<bool>,
    /// Names of keys in the read this module does not know (a newer Vault). A write resets them
    /// to their defaults. Only plain `snake_case` names are kept; anything else is dropped.
    #[serde(skip)]
    pub unknown_fields: Vec<String>,
}

/// What the run wants stored, from the earlier stages.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct DesiredConfig {
    /// The `kubernetes_host` to send, verbatim.
    pub kubernetes_host: String,
    /// The canonical PEM from the CA stage, sent as `kubernetes_ca_cert` byte for byte.
    pub ca_pem: String,
    /// SHA-256 fingerprints of the certificates in `ca_pem` (lowercase hex, no colons). Sorted
    /// and deduplicated again here, so the order given does not matter.
    pub ca_fingerprints: Vec<String>,
    /// `true` for client JWT mode.
    pub disable_local_ca_jwt: bool,
}

/// The caller's opt-ins that change what the plan may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PlanOptions {
    /// Input `allow-reviewer-jwt-removal`: a write may remove a stored `token_reviewer_jwt`.
    pub allow_reviewer_jwt_removal: bool,
}

/// What writing the config would do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The field changes, in a fixed order: host, CA, `disable_local_ca_jwt`, reviewer JWT.
    pub changes: Vec<FieldChange>,
    /// The exact JSON body for `POST auth/<mount>/config`. Computed even when nothing changes
    /// (the caller then does not send it).
    pub body: Map<String, Value>,
    /// What a rollback could restore.
    pub rollback: Rollback,
    /// Facts the person reading the plan should know (lost fields, no rollback, version gaps).
    pub notes: Vec<String>,
}

impl Plan {
    /// True when the config must be written.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// One field the write changes, in public display form (a CA shows as fingerprints, never PEM).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The Vault field name, e.g. `kubernetes_host`.
    pub field: &'static str,
    /// The stored value; `None` when no config was ever written.
    pub before: Option<String>,
    /// The value after the write.
    pub after: String,
    /// Why it changes.
    pub reason: String,
}

/// What a rollback could write back if the new config fails.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Rollback {
    /// Nothing to restore: the config was never written, and it has no DELETE (405).
    FirstWrite,
    /// A body that writes the previous values again: host and CA verbatim,
    /// `disable_local_ca_jwt`, and the carried-over fields. A stored `token_reviewer_jwt` is not
    /// in it and cannot be: Vault never returns it, so a write that removed it is final.
    Restore(Map<String, Value>),
}

impl Rollback {
    /// The body to write for a rollback, if one is possible.
    pub fn body(&self) -> Option<&Map<String, Value>> {
        match self {
            Rollback::FirstWrite => None,
            Rollback::Restore(body) => Some(body),
        }
    }
}

/// Why a plan could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the config read from Vault is not valid JSON (line `{line}`, column `{column}`)")]
    CurrentNotJson { line: usize, column: usize },
    #[error("the config read from Vault is a JSON `{found}`, not an object")]
    CurrentNotObject { found: &'static str },
    #[error("the config read from Vault carries `{count}` errors instead of a config")]
    CurrentHasErrors { count: usize },
    #[error("the config read from Vault has no `{field}`")]
    CurrentFieldMissing { field: String },
    #[error("the config read from Vault has `{field}` of the wrong type (expected {expected})")]
    CurrentFieldType {
        field: String,
        expected: &'static str,
    },
    #[error(
        "the stored config has a `token_reviewer_jwt`, and writing the config would remove it \
         for good (Vault never returns it, so no rollback can restore it)"
    )]
    ReviewerJwtWouldBeRemoved,
    #[error("the desired config has an empty `{field}`")]
    DesiredFieldEmpty { field: &'static str },
}

impl Diagnostic for PlanError {
    fn class(&self) -> ErrorClass {
        match self {
            PlanError::CurrentNotJson { .. }
            | PlanError::CurrentNotObject { .. }
            | PlanError::CurrentHasErrors { .. }
            | PlanError::CurrentFieldMissing { .. }
            | PlanError::CurrentFieldType { .. } => ErrorClass::Remote,
            PlanError::ReviewerJwtWouldBeRemoved => ErrorClass::User,
            PlanError::DesiredFieldEmpty { .. } => ErrorClass::Bug,
        }
    }

    fn hint(&self) -> Option<String> {
        let hint = match self {
            PlanError::CurrentNotJson { .. } | PlanError::CurrentNotObject { .. } => {
                "check that `vault-addr` points at Vault itself, not at a proxy or a login page"
                    .to_string()
            }
            PlanError::CurrentHasErrors { .. } => {
                "the read of `auth/<mount>/config` failed; only a 404 with an empty `errors` \
                 list means the config was never written"
                    .to_string()
            }
            PlanError::CurrentFieldMissing { .. } | PlanError::CurrentFieldType { .. } => {
                "check that the mount is a `kubernetes` auth method (`vault auth list -detailed`)"
                    .to_string()
            }
            PlanError::ReviewerJwtWouldBeRemoved => format!(
                "set input `{ALLOW_REVIEWER_JWT_REMOVAL_INPUT}: true` to switch the mount to \
                 client JWT mode (every ServiceAccount that logs in then needs \
                 `system:auth-delegator`), or keep the reviewer JWT and do not run this action \
                 on this mount"
            ),
            PlanError::DesiredFieldEmpty { .. } => {
                "an earlier stage passed an empty value; please report this".to_string()
            }
        };
        Some(hint)
    }
}

/// A field whose read-back differs from what was written, in public display form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldMismatch {
    /// The Vault field name.
    pub field: &'static str,
    /// What the body held (or, for `token_reviewer_jwt`, what the write implies).
    pub written: String,
    /// What the read returned; `absent` when the key was missing.
    pub read_back: String,
}

/// The config read back after a write is not the config written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the config read back from Vault differs from the one written: {}", MismatchList(.mismatches))]
pub struct ReadBackMismatch {
    /// Every differing field, in a fixed order; never empty.
    pub mismatches: Vec<FieldMismatch>,
}

impl Diagnostic for ReadBackMismatch {
    fn area(&self) -> super::Area {
        super::Area::Vault
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::Remote
    }

    fn hint(&self) -> Option<String> {
        Some(
            "another writer may have changed the config between the write and the read (Vault \
             has no check-and-set); run one job per environment with a `concurrency` group, \
             then re-run"
                .to_string(),
        )
    }
}

/// Formats mismatches as `` `field` written `a`, read back `b` `` joined by `; `.
struct MismatchList<'a>(&'a [FieldMismatch]);

impl fmt::Display for MismatchList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "`{}` written `{}`, read back `{}`",
                m.field, m.written, m.read_back
            )?;
        }
        Ok(())
    }
}

/// Parses the body of `GET auth/<mount>/config`.
///
/// Accepts the whole response envelope (`{"data": {...}, "request_id": ...}`) or the bare `data`
/// object. `null`, `{"errors": []}` (Vault's 404 for a config never written) and an envelope whose
/// `data` is `null` mean "never written" and give `Ok(None)`. Unknown keys are accepted and their
/// names kept in [`CurrentConfig::unknown_fields`]. The envelope's `warnings` are not looked at:
/// surfacing them is the caller's job. Errors give a location, never the input text.
pub fn parse_current_config(json: &str) -> Result<Option<CurrentConfig>, PlanError> {
    // Only the position is kept: serde_json's messages can quote the input.
    let value: Value = serde_json::from_str(json).map_err(|e| PlanError::CurrentNotJson {
        line: e.line(),
        column: e.column(),
    })?;
    let top = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        other => {
            return Err(PlanError::CurrentNotObject {
                found: json_kind(&other),
            })
        }
    };
    if let Some(errors) = top.get("errors") {
        match errors {
            Value::Array(list) if list.is_empty() => {}
            Value::Array(list) => return Err(PlanError::CurrentHasErrors { count: list.len() }),
            _ => {
                return Err(PlanError::CurrentFieldType {
                    field: "errors".to_string(),
                    expected: "an array",
                })
            }
        }
    }
    let (data, prefix) = match top.get("data") {
        Some(Value::Object(data)) => (data, "data."),
        Some(Value::Null) => return Ok(None),
        Some(_) => {
            return Err(PlanError::CurrentFieldType {
                field: "data".to_string(),
                expected: "an object",
            })
        }
        None if top.contains_key("errors") => return Ok(None),
        None => (&top, ""),
    };
    let fields = Fields { map: data, prefix };
    let config = CurrentConfig {
        kubernetes_host: fields.string(KUBERNETES_HOST)?.ok_or_else(|| {
            PlanError::CurrentFieldMissing {
                field: fields.location(KUBERNETES_HOST),
            }
        })?,
        kubernetes_ca_cert: fields.string(KUBERNETES_CA_CERT)?.unwrap_or_default(),
        pem_keys: fields.strings(PEM_KEYS)?.unwrap_or_default(),
        issuer: fields.string(ISSUER)?.unwrap_or_default(),
        disable_iss_validation: fields.boolean(DISABLE_ISS_VALIDATION)?,
        disable_local_ca_jwt: fields.boolean(DISABLE_LOCAL_CA_JWT)?.unwrap_or(false),
        token_reviewer_jwt_set: fields.boolean(TOKEN_REVIEWER_JWT_SET)?,
        use_annotations_as_alias_metadata: fields.boolean(USE_ANNOTATIONS_AS_ALIAS_METADATA)?,
        unknown_fields: data
            .keys()
            .filter(|key| !KNOWN_READ_FIELDS.contains(&key.as_str()))
            .filter(|key| is_plain_field_name(key))
            .cloned()
            .collect(),
    };
    tracing::debug!(
        envelope = !prefix.is_empty(),
        reviewer_jwt_set_known = config.token_reviewer_jwt_set.is_some(),
        unknown_fields = config.unknown_fields.len(),
        "parsed the current kubernetes auth config"
    );
    Ok(Some(config))
}

/// Typed access to the keys of the `data` object; `null` counts as absent, like Go's zero values.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: &'static str,
}

impl Fields<'_> {
    fn location(&self, field: &str) -> String {
        format!("{}{}", self.prefix, field)
    }

    fn wrong_type(&self, field: &str, expected: &'static str) -> PlanError {
        PlanError::CurrentFieldType {
            field: self.location(field),
            expected,
        }
    }

    fn string(&self, field: &str) -> Result<Option<String>, PlanError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong_type(field, "a string")),
        }
    }

    fn boolean(&self, field: &str) -> Result<Option<bool>, PlanError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(field, "a boolean")),
        }
    }

    fn strings(&self, field: &str) -> Result<Option<Vec<String>>, PlanError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.wrong_type(field, "an array of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.wrong_type(field, "an array of strings")),
        }
    }
}

/// The three fields the action manages, as a write body starts.
fn managed_fields(host: &str, ca_pem: &str, disable_local_ca_jwt: bool) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert(KUBERNETES_HOST.to_string(), Value::String(host.to_string()));
    body.insert(
        KUBERNETES_CA_CERT.to_string(),
        Value::String(ca_pem.to_string()),
    );
    body.insert(
        DISABLE_LOCAL_CA_JWT.to_string(),
        Value::Bool(disable_local_ca_jwt),
    );
    body
}

/// Plans the write of `auth/<mount>/config`.
///
/// `current` is `None` when the config was never written. The body always holds the desired
/// `kubernetes_host` (verbatim), `kubernetes_ca_cert` (the canonical PEM) and
/// `disable_local_ca_jwt`, plus the fields carried over from `current`: `pem_keys`, `issuer`,
/// and `disable_iss_validation` and `use_annotations_as_alias_metadata` only when the read
/// returned them (the latter does not exist before Vault 1.16). It never holds
/// `token_reviewer_jwt`, so the write leaves none stored.
///
/// Changes:
/// - host: only when the stored host names another endpoint ([`same_host`]). A stored host that
///   is only spelled differently (`https://VIP:6443/`) is not a change; when the plan writes for
///   another reason the body still carries the desired spelling, and a note says so;
/// - CA: when the stored certificates differ from the desired ones, or are the same certificates
///   in bytes that are not canonical PEM (a BOM, CRLF, a key block, text around the blocks);
/// - `disable_local_ca_jwt`: when it differs;
/// - `token_reviewer_jwt`: when Vault reports one stored. Removing it cannot be undone, so it is
///   refused with [`PlanError::ReviewerJwtWouldBeRemoved`] unless
///   [`PlanOptions::allow_reviewer_jwt_removal`]. This holds even when nothing else changes:
///   client JWT mode means no reviewer JWT, and only a write removes it.
pub fn plan_config(
    current: Option<&CurrentConfig>,
    desired: &DesiredConfig,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    if desired.kubernetes_host.is_empty() {
        return Err(PlanError::DesiredFieldEmpty {
            field: KUBERNETES_HOST,
        });
    }
    let mut want_fingerprints = desired.ca_fingerprints.clone();
    want_fingerprints.sort();
    want_fingerprints.dedup();
    let desired_ca_display = ca_display(&desired.ca_pem, &want_fingerprints);

    let mut body = managed_fields(
        &desired.kubernetes_host,
        &desired.ca_pem,
        desired.disable_local_ca_jwt,
    );

    let Some(current) = current else {
        let reason = "no config has been written on this mount yet".to_string();
        let changes = vec![
            FieldChange {
                field: KUBERNETES_HOST,
                before: None,
                after: desired.kubernetes_host.clone(),
                reason: reason.clone(),
            },
            FieldChange {
                field: KUBERNETES_CA_CERT,
                before: None,
                after: desired_ca_display,
                reason: reason.clone(),
            },
            FieldChange {
                field: DISABLE_LOCAL_CA_JWT,
                before: None,
                after: desired.disable_local_ca_jwt.to_string(),
                reason,
            },
        ];
        let notes = vec![
            "this is the first write of the config: no rollback is possible, because Vault has \
             no DELETE for the config (to undo it, disable the mount)"
                .to_string(),
        ];
        tracing::debug!(
            changes = changes.len(),
            "planned the first write of the kubernetes auth config"
        );
        return Ok(Plan {
            changes,
            body,
            rollback: Rollback::FirstWrite,
            notes,
        });
    };

    if current.token_reviewer_jwt_set == Some(true) && !options.allow_reviewer_jwt_removal {
        tracing::debug!("refused: the write would remove a stored reviewer JWT");
        return Err(PlanError::ReviewerJwtWouldBeRemoved);
    }

    carry_over(&mut body, current);

    let mut changes = Vec::new();
    let mut notes = Vec::new();

    let host_spelled_differently = current.kubernetes_host != desired.kubernetes_host;
    let host_same_endpoint = same_host(&current.kubernetes_host, &desired.kubernetes_host);
    if !host_same_endpoint {
        changes.push(FieldChange {
            field: KUBERNETES_HOST,
            before: Some(current.kubernetes_host.clone()),
            after: desired.kubernetes_host.clone(),
            reason: "the stored host names another endpoint".to_string(),
        });
    }

    if let Some(change) = plan_ca(current, desired, &want_fingerprints, desired_ca_display) {
        changes.push(change);
    }

    if current.disable_local_ca_jwt != desired.disable_local_ca_jwt {
        let reason = if desired.disable_local_ca_jwt {
            "client JWT mode: Vault must not fall back to its own pod's CA and token"
        } else {
            "the desired config lets Vault fall back to its own pod's CA and token"
        };
        changes.push(FieldChange {
            field: DISABLE_LOCAL_CA_JWT,
            before: Some(current.disable_local_ca_jwt.to_string()),
            after: desired.disable_local_ca_jwt.to_string(),
            reason: reason.to_string(),
        });
    }

    match current.token_reviewer_jwt_set {
        Some(true) => {
            // Refused above unless opted in.
            changes.push(FieldChange {
                field: TOKEN_REVIEWER_JWT,
                before: Some("set".to_string()),
                after: "removed".to_string(),
                reason: format!(
                    "client JWT mode stores no reviewer JWT, and a write replaces every field \
                     (opted in with `{ALLOW_REVIEWER_JWT_REMOVAL_INPUT}`)"
                ),
            });
            notes.push(
                "the stored `token_reviewer_jwt` will be removed; a rollback cannot restore it, \
                 because Vault never returns it"
                    .to_string(),
            );
        }
        Some(false) => {}
        None => {
            if !changes.is_empty() {
                notes.push(
                    "this Vault (before 1.16) does not say whether a `token_reviewer_jwt` is \
                     stored; the write clears any"
                        .to_string(),
                );
            }
        }
    }

    if !changes.is_empty() {
        if host_same_endpoint && host_spelled_differently {
            notes.push(format!(
                "the stored `kubernetes_host` `{}` names the same endpoint as `{}`, so it is not \
                 counted as a change; this write stores `{}`",
                current.kubernetes_host, desired.kubernetes_host, desired.kubernetes_host
            ));
        }
        if !current.unknown_fields.is_empty() {
            let names: Vec<String> = current
                .unknown_fields
                .iter()
                .map(|name| format!("`{name}`"))
                .collect();
            notes.push(format!(
                "the stored config has fields this tool does not know ({}); the write resets \
                 them to Vault's defaults",
                names.join(", ")
            ));
        }
    }

    let mut restore = managed_fields(
        &current.kubernetes_host,
        &current.kubernetes_ca_cert,
        current.disable_local_ca_jwt,
    );
    carry_over(&mut restore, current);

    tracing::debug!(
        changes = changes.len(),
        notes = notes.len(),
        "planned the kubernetes auth config"
    );
    Ok(Plan {
        changes,
        body,
        rollback: Rollback::Restore(restore),
        notes,
    })
}

/// Adds the fields this tool does not manage, as the read returned them, so the full-replace
/// write does not reset them. Fields the read lacked stay out (Vault applies its defaults).
fn carry_over(body: &mut Map<String, Value>, current: &CurrentConfig) {
    body.insert(
        PEM_KEYS.to_string(),
        Value::Array(
            current
                .pem_keys
                .iter()
                .map(|key| Value::String(key.clone()))
                .collect(),
        ),
    );
    body.insert(ISSUER.to_string(), Value::String(current.issuer.clone()));
    if let Some(disable) = current.disable_iss_validation {
        body.insert(DISABLE_ISS_VALIDATION.to_string(), Value::Bool(disable));
    }
    // Absent before Vault 1.16 and not in the 1.15 request schema: sent only when read.
    if let Some(use_annotations) = current.use_annotations_as_alias_metadata {
        body.insert(
            USE_ANNOTATIONS_AS_ALIAS_METADATA.to_string(),
            Value::Bool(use_annotations),
        );
    }
}

/// The CA change, if any: other certificates, or the same ones in non-canonical bytes.
fn plan_ca(
    current: &CurrentConfig,
    desired: &DesiredConfig,
    want: &[String],
    desired_display: String,
) -> Option<FieldChange> {
    let stored = &current.kubernetes_ca_cert;
    // The desired PEM is canonical by construction, so equal bytes need no further look.
    if *stored == desired.ca_pem {
        return None;
    }
    let have = fingerprints_of_pem(stored);
    let stored_display = ca_display(stored, &have);
    if have.as_slice() != want {
        let reason = if stored.is_empty() {
            "no CA is stored".to_string()
        } else if have.is_empty() {
            "the stored CA holds no certificate".to_string()
        } else {
            let have_set: BTreeSet<&String> = have.iter().collect();
            let want_set: BTreeSet<&String> = want.iter().collect();
            format!(
                "the CA certificates differ: {} removed, {} added",
                have_set.difference(&want_set).count(),
                want_set.difference(&have_set).count()
            )
        };
        return Some(FieldChange {
            field: KUBERNETES_CA_CERT,
            before: Some(stored_display),
            after: desired_display,
            reason,
        });
    }
    if !is_canonical_pem(stored) {
        return Some(FieldChange {
            field: KUBERNETES_CA_CERT,
            before: Some(format!("{stored_display} (non-canonical PEM)")),
            after: desired_display,
            reason: "same certificates, but the stored PEM is not canonical (a BOM, CRLF line \
                     ends, other blocks or text around them); rewriting it canonically"
                .to_string(),
        });
    }
    // Same certificates, canonical, only ordered differently: the trust pool is the same.
    tracing::trace!("stored CA holds the desired certificates in canonical form");
    None
}

/// A CA in public form: its fingerprints, never its PEM. One or two certificates show in full;
/// more show the first fingerprint's 16 leading hex digits and a count.
fn ca_display(pem: &str, fingerprints: &[String]) -> String {
    if pem.is_empty() {
        return "(none)".to_string();
    }
    match fingerprints {
        [] => "(no certificate)".to_string(),
        [_] | [_, _] => fingerprints.join(", "),
        [first, rest @ ..] => {
            let short: String = first.chars().take(16).collect();
            format!("{short}… (+{} more)", rest.len())
        }
    }
}

/// Checks a read-back against the body that was written.
///
/// Compares `kubernetes_host` (exact), `kubernetes_ca_cert` (byte-exact),
/// `disable_local_ca_jwt` and every carried-over field present in `written`; a field in `written`
/// that the read lacks is a mismatch. Fields `written` lacks are not compared (Vault applied its
/// defaults). A `token_reviewer_jwt_set: true` is a mismatch, since the body held no reviewer JWT;
/// a read without that key (Vault before 1.16) cannot prove the mode and is accepted.
pub fn verify_read_back(
    written: &Map<String, Value>,
    read_back: &CurrentConfig,
) -> Result<(), ReadBackMismatch> {
    let mut mismatches = Vec::new();
    for field in VERIFIABLE_FIELDS {
        let Some(value) = written.get(field) else {
            continue;
        };
        let observed = read_back_value(read_back, field);
        if observed.as_ref() != Some(value) {
            mismatches.push(FieldMismatch {
                field,
                written: display_value(field, Some(value)),
                read_back: display_value(field, observed.as_ref()),
            });
        }
    }
    let wrote_reviewer_jwt = matches!(
        written.get(TOKEN_REVIEWER_JWT),
        Some(Value::String(s)) if !s.is_empty()
    );
    if read_back.token_reviewer_jwt_set == Some(true) && !wrote_reviewer_jwt {
        mismatches.push(FieldMismatch {
            field: TOKEN_REVIEWER_JWT,
            written: "not set".to_string(),
            read_back: "set".to_string(),
        });
    }
    tracing::debug!(
        mismatches = mismatches.len(),
        "compared the read-back config"
    );
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(ReadBackMismatch { mismatches })
    }
}

/// The read-back value of a body field, as the JSON the body would hold; `None` when absent.
fn read_back_value(read: &CurrentConfig, field: &str) -> Option<Value> {
    match field {
        KUBERNETES_HOST => Some(Value::String(read.kubernetes_host.clone())),
        KUBERNETES_CA_CERT => Some(Value::String(read.kubernetes_ca_cert.clone())),
        DISABLE_LOCAL_CA_JWT => Some(Value::Bool(read.disable_local_ca_jwt)),
        PEM_KEYS => Some(Value::Array(
            read.pem_keys
                .iter()
                .map(|key| Value::String(key.clone()))
                .collect(),
        )),
        ISSUER => Some(Value::String(read.issuer.clone())),
        DISABLE_ISS_VALIDATION => read.disable_iss_validation.map(Value::Bool),
        USE_ANNOTATIONS_AS_ALIAS_METADATA => {
            read.use_annotations_as_alias_metadata.map(Value::Bool)
        }
        _ => None,
    }
}

/// A body or read-back value in public form: a CA as fingerprints and length, keys as a count.
fn display_value(field: &str, value: Option<&Value>) -> String {
    match (field, value) {
        (_, None) => "absent".to_string(),
        (KUBERNETES_CA_CERT, Some(Value::String(pem))) => format!(
            "{} ({} bytes)",
            ca_display(pem, &fingerprints_of_pem(pem)),
            pem.len()
        ),
        (PEM_KEYS, Some(Value::Array(keys))) => format!("{} keys", keys.len()),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(Value::Bool(b))) => b.to_string(),
        (_, Some(other)) => format!("a JSON {}", json_kind(other)),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Vault's config keys are short `snake_case`; anything else is not worth repeating in a note.
fn is_plain_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Reads `null` as the type's default, as Go's JSON encoder writes a nil slice as `null`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-a`
    const CERT_A: &str = "\
-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUeOzTla3bI0SDx+sdXZZ+PVolPvIwCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdC1hMB4XDTI2MTEyODA3NTEyM1oXDTM2MTEyNTA3NTEy
M1owETEPMA0GA1UEAwwGdGVzdC1hMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
1oWWs/IvNKJsY/1qiiiQfn0pI8bqKaO914WIseALF8mrVsV3zQDP6roLwZdxxHD5
SjgyLL49Zu6J/1w3KgPjaKNTMFEwHQYDVR0OBBYEFH+anvwcxeiSLDh5Bopt84KW
jEkOMB8GA1UdIwQYMBaAFH+anvwcxeiSLDh5Bopt84KWjEkOMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgGl9vJxcLXZs2oqp7uP5o1QAdHYTnNaFr
YM52BZ/4NtwCIQCTcix/56c7y9nZkXkGL9Aoi4Zj3bPRta9eygtC+IZDow==
-----END CERTIFICATE-----
";
    /// `openssl x509 -in a.pem -outform DER | sha256sum`
    const FP_A: &str = "250049eaacf4d37a26ed6493f1c4c32ca52cbc25f8f91b1dedd819f8ebd36cb7";

    /// The same command with `/CN=test-b`.
    const CERT_B: &str = "\
-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUUJz3CorOhmYFd/oxV+tBqpQHo+0wCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdC1iMB4XDTI2MTEyODA3NTEyM1oXDTM2MTEyNTA3NTEy
M1owETEPMA0GA1UEAwwGdGVzdC1iMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
0Ny6zefPx0IZss4RqxhHiTTmo7E6Uk2yLTt1EQNxt8ZwsqikICYdLvyxN+fpeZJq
qZScK9JlMpPVw3QtF8UJjqNTMFEwHQYDVR0OBBYEFNYwCTcc2apShf53DTlKb5rL
UPaNMB8GA1UdIwQYMBaAFNYwCTcc2apShf53DTlKb5rLUPaNMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgVlEud50CAG5YyxrluKuAN/j3WlOAx/6X
h82FUOr9VSQCIQCNMYZsLN85eYYelihOe5iQRpnQR1BrGWeHUWXk3s1haA==
-----END CERTIFICATE-----
";
    const FP_B: &str = "3b9da8fe76ed3468bc4c51e455e9e22b7068c88b7261dff01e71d32a05bdbd2c";

    /// The public key of CERT_A (`openssl x509 -pubkey -noout`): a key block, not a certificate.
    const PUBLIC_KEY_A: &str = "\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1oWWs/IvNKJsY/1qiiiQfn0pI8bq
KaO914WIseALF8mrVsV3zQDP6roLwZdxxHD5SjgyLL49Zu6J/1w3KgPjaA==
-----END PUBLIC KEY-----
";

    const HOST: &str = "https://10.69.1.110:6443";
    const OTHER_HOST: &str = "https://10.69.1.111:6443";

    fn desired(host: &str, ca_pem: &str, fingerprints: &[&str]) -> DesiredConfig {
        DesiredConfig {
            kubernetes_host: host.to_string(),
            ca_pem: ca_pem.to_string(),
            ca_fingerprints: fingerprints.iter().map(|s| s.to_string()).collect(),
            disable_local_ca_jwt: true,
        }
    }

    fn desired_a() -> DesiredConfig {
        desired(HOST, CERT_A, &[FP_A])
    }

    /// A Vault 1.16+ read of a config this tool wrote before.
    fn stored(host: &str, ca: &str) -> CurrentConfig {
        CurrentConfig {
            kubernetes_host: host.to_string(),
            kubernetes_ca_cert: ca.to_string(),
            pem_keys: Vec::new(),
            issuer: String::new(),
            disable_iss_validation: Some(true),
            disable_local_ca_jwt: true,
            token_reviewer_jwt_set: Some(false),
            use_annotations_as_alias_metadata: Some(false),
            unknown_fields: Vec::new(),
        }
    }

    fn plan(current: Option<&CurrentConfig>, desired: &DesiredConfig) -> Plan {
        plan_config(current, desired, &PlanOptions::default()).unwrap()
    }

    fn fields(plan: &Plan) -> Vec<&'static str> {
        plan.changes.iter().map(|c| c.field).collect()
    }

    #[test]
    fn first_write_changes_every_managed_field_and_has_no_rollback() {
        let plan = plan(None, &desired_a());
        assert!(plan.has_changes());
        assert_eq!(
            plan.changes,
            vec![
                FieldChange {
                    field: "kubernetes_host",
                    before: None,
                    after: HOST.to_string(),
                    reason: "no config has been written on this mount yet".to_string(),
                },
                FieldChange {
                    field: "kubernetes_ca_cert",
                    before: None,
                    after: FP_A.to_string(),
                    reason: "no config has been written on this mount yet".to_string(),
                },
                FieldChange {
                    field: "disable_local_ca_jwt",
                    before: None,
                    after: "true".to_string(),
                    reason: "no config has been written on this mount yet".to_string(),
                },
            ]
        );
        assert_eq!(
            Value::Object(plan.body.clone()),
            json!({
                "kubernetes_host": HOST,
                "kubernetes_ca_cert": CERT_A,
                "disable_local_ca_jwt": true,
            })
        );
        assert_eq!(plan.rollback, Rollback::FirstWrite);
        assert_eq!(plan.rollback.body(), None);
        assert_eq!(plan.notes.len(), 1);
        assert!(plan.notes[0].contains("no rollback is possible"));
        assert!(plan.notes[0].contains("no DELETE"));
    }

    #[test]
    fn unchanged_config_has_no_changes_but_a_body() {
        let current = stored(HOST, CERT_A);
        let plan = plan(Some(&current), &desired_a());
        assert!(!plan.has_changes());
        assert!(plan.notes.is_empty());
        assert_eq!(plan.body["kubernetes_host"], json!(HOST));
        assert_eq!(plan.body["kubernetes_ca_cert"], json!(CERT_A));
    }

    #[test]
    fn host_changed() {
        let current = stored(OTHER_HOST, CERT_A);
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(
            plan.changes,
            vec![FieldChange {
                field: "kubernetes_host",
                before: Some(OTHER_HOST.to_string()),
                after: HOST.to_string(),
                reason: "the stored host names another endpoint".to_string(),
            }]
        );
        assert_eq!(plan.body["kubernetes_host"], json!(HOST));
        assert_eq!(
            plan.rollback.body().unwrap()["kubernetes_host"],
            json!(OTHER_HOST)
        );
    }

    #[test]
    fn host_normalised_equal_is_unchanged() {
        let desired = desired("https://api.example.com:6443", CERT_A, &[FP_A]);
        for spelling in [
            "https://api.example.com:6443/",
            "https://API.Example.com:6443",
        ] {
            let current = stored(spelling, CERT_A);
            let plan = plan(Some(&current), &desired);
            assert!(!plan.has_changes(), "{spelling}: {:?}", plan.changes);
            assert!(plan.notes.is_empty(), "{spelling}: {:?}", plan.notes);
            // The body (not sent) still carries the desired spelling.
            assert_eq!(
                plan.body["kubernetes_host"],
                json!("https://api.example.com:6443")
            );
        }
    }

    #[test]
    fn host_spelled_differently_is_noted_when_written_anyway() {
        let desired = desired(HOST, CERT_A, &[FP_A]);
        let mut current = stored("https://10.69.1.110:6443/", CERT_A);
        current.disable_local_ca_jwt = false;
        let plan = plan(Some(&current), &desired);
        assert_eq!(fields(&plan), ["disable_local_ca_jwt"]);
        assert_eq!(plan.body["kubernetes_host"], json!(HOST));
        assert_eq!(
            plan.notes,
            [format!(
                "the stored `kubernetes_host` `https://10.69.1.110:6443/` names the same endpoint \
                 as `{HOST}`, so it is not counted as a change; this write stores `{HOST}`"
            )]
        );
    }

    #[test]
    fn ca_rotated() {
        let current = stored(HOST, CERT_A);
        let bundle = format!("{CERT_A}{CERT_B}");
        // Order given does not matter: sorted again by the plan.
        let desired = desired(HOST, &bundle, &[FP_B, FP_A]);
        let plan = plan(Some(&current), &desired);
        assert_eq!(
            plan.changes,
            vec![FieldChange {
                field: "kubernetes_ca_cert",
                before: Some(FP_A.to_string()),
                after: format!("{FP_A}, {FP_B}"),
                reason: "the CA certificates differ: 0 removed, 1 added".to_string(),
            }]
        );
        assert_eq!(plan.body["kubernetes_ca_cert"], json!(bundle));
        assert_eq!(
            plan.rollback.body().unwrap()["kubernetes_ca_cert"],
            json!(CERT_A)
        );
    }

    #[test]
    fn ca_replaced() {
        let current = stored(HOST, CERT_A);
        let plan = plan(Some(&current), &desired(HOST, CERT_B, &[FP_B]));
        assert_eq!(fields(&plan), ["kubernetes_ca_cert"]);
        assert_eq!(
            plan.changes[0].reason,
            "the CA certificates differ: 1 removed, 1 added"
        );
        assert_eq!(plan.changes[0].before.as_deref(), Some(FP_A));
        assert_eq!(plan.changes[0].after, FP_B);
    }

    #[test]
    fn ca_missing_from_stored_config() {
        let current = stored(HOST, "");
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(fields(&plan), ["kubernetes_ca_cert"]);
        assert_eq!(plan.changes[0].before.as_deref(), Some("(none)"));
        assert_eq!(plan.changes[0].reason, "no CA is stored");
    }

    const NON_CANONICAL_REASON: &str = "same certificates, but the stored PEM is not canonical (a \
         BOM, CRLF line ends, other blocks or text around them); rewriting it canonically";

    #[test]
    fn ca_same_fingerprints_but_crlf_is_changed_as_non_canonical() {
        let current = stored(HOST, &CERT_A.replace('\n', "\r\n"));
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(
            plan.changes,
            vec![FieldChange {
                field: "kubernetes_ca_cert",
                before: Some(format!("{FP_A} (non-canonical PEM)")),
                after: FP_A.to_string(),
                reason: NON_CANONICAL_REASON.to_string(),
            }]
        );
    }

    #[test]
    fn ca_same_fingerprints_but_trailing_key_block_is_changed_as_non_canonical() {
        let current = stored(HOST, &format!("{CERT_A}{PUBLIC_KEY_A}"));
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(fields(&plan), ["kubernetes_ca_cert"]);
        assert_eq!(plan.changes[0].reason, NON_CANONICAL_REASON);
        assert_eq!(plan.body["kubernetes_ca_cert"], json!(CERT_A));
    }

    #[test]
    fn ca_display_shortens_more_than_two_certificates() {
        let fps: Vec<String> = ["a", "b", "c"].iter().map(|c| c.repeat(64)).collect();
        assert_eq!(ca_display("pem", &fps), "aaaaaaaaaaaaaaaa… (+2 more)");
        assert_eq!(
            ca_display("pem", &fps[..2]),
            format!("{}, {}", fps[0], fps[1])
        );
        assert_eq!(ca_display("pem", &[]), "(no certificate)");
        assert_eq!(ca_display("", &[]), "(none)");
    }

    #[test]
    fn disable_local_ca_jwt_false_to_true() {
        let mut current = stored(HOST, CERT_A);
        current.disable_local_ca_jwt = false;
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(
            plan.changes,
            vec![FieldChange {
                field: "disable_local_ca_jwt",
                before: Some("false".to_string()),
                after: "true".to_string(),
                reason: "client JWT mode: Vault must not fall back to its own pod's CA and token"
                    .to_string(),
            }]
        );
        assert_eq!(plan.body["disable_local_ca_jwt"], json!(true));
        assert_eq!(
            plan.rollback.body().unwrap()["disable_local_ca_jwt"],
            json!(false)
        );
    }

    #[test]
    fn carried_fields_are_preserved_in_body_and_rollback() {
        let current = CurrentConfig {
            kubernetes_host: OTHER_HOST.to_string(),
            kubernetes_ca_cert: CERT_B.to_string(),
            pem_keys: vec![PUBLIC_KEY_A.to_string()],
            issuer: "https://kubernetes.default.svc.cluster.local".to_string(),
            disable_iss_validation: Some(false),
            disable_local_ca_jwt: false,
            token_reviewer_jwt_set: Some(false),
            use_annotations_as_alias_metadata: Some(true),
            unknown_fields: Vec::new(),
        };
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(
            fields(&plan),
            [
                "kubernetes_host",
                "kubernetes_ca_cert",
                "disable_local_ca_jwt"
            ]
        );
        assert_eq!(
            Value::Object(plan.body.clone()),
            json!({
                "kubernetes_host": HOST,
                "kubernetes_ca_cert": CERT_A,
                "disable_local_ca_jwt": true,
                "pem_keys": [PUBLIC_KEY_A],
                "issuer": "https://kubernetes.default.svc.cluster.local",
                "disable_iss_validation": false,
                "use_annotations_as_alias_metadata": true,
            })
        );
        assert_eq!(
            plan.rollback,
            Rollback::Restore(
                json!({
                    "kubernetes_host": OTHER_HOST,
                    "kubernetes_ca_cert": CERT_B,
                    "disable_local_ca_jwt": false,
                    "pem_keys": [PUBLIC_KEY_A],
                    "issuer": "https://kubernetes.default.svc.cluster.local",
                    "disable_iss_validation": false,
                    "use_annotations_as_alias_metadata": true,
                })
                .as_object()
                .unwrap()
                .clone()
            )
        );
        assert!(!plan.body.contains_key("token_reviewer_jwt"));
    }

    #[test]
    fn use_annotations_as_alias_metadata_is_sent_only_when_read() {
        let mut current = stored(OTHER_HOST, CERT_A);
        current.use_annotations_as_alias_metadata = Some(false);
        let plan_16 = plan(Some(&current), &desired_a());
        assert_eq!(
            plan_16.body["use_annotations_as_alias_metadata"],
            json!(false)
        );

        current.use_annotations_as_alias_metadata = None;
        let plan_15 = plan(Some(&current), &desired_a());
        assert!(!plan_15
            .body
            .contains_key("use_annotations_as_alias_metadata"));
        assert!(!plan_15
            .rollback
            .body()
            .unwrap()
            .contains_key("use_annotations_as_alias_metadata"));

        current.disable_iss_validation = None;
        let plan_old = plan(Some(&current), &desired_a());
        assert!(!plan_old.body.contains_key("disable_iss_validation"));
    }

    #[test]
    fn reviewer_jwt_set_is_refused_without_opt_in() {
        let mut current = stored(OTHER_HOST, CERT_A);
        current.token_reviewer_jwt_set = Some(true);
        let err = plan_config(Some(&current), &desired_a(), &PlanOptions::default()).unwrap_err();
        assert_eq!(err, PlanError::ReviewerJwtWouldBeRemoved);
        assert_eq!(
            err.to_string(),
            "the stored config has a `token_reviewer_jwt`, and writing the config would remove \
             it for good (Vault never returns it, so no rollback can restore it)"
        );
        let hint = err.hint().unwrap();
        assert!(
            hint.starts_with("set input `allow-reviewer-jwt-removal: true`"),
            "{hint}"
        );
        assert_eq!(err.class(), ErrorClass::User);

        // Also when nothing else differs: the stored reviewer JWT is itself off the desired mode.
        let mut same = stored(HOST, CERT_A);
        same.token_reviewer_jwt_set = Some(true);
        assert_eq!(
            plan_config(Some(&same), &desired_a(), &PlanOptions::default()),
            Err(PlanError::ReviewerJwtWouldBeRemoved)
        );
    }

    #[test]
    fn reviewer_jwt_set_is_removed_with_opt_in() {
        let mut current = stored(HOST, CERT_A);
        current.token_reviewer_jwt_set = Some(true);
        let options = PlanOptions {
            allow_reviewer_jwt_removal: true,
        };
        let plan = plan_config(Some(&current), &desired_a(), &options).unwrap();
        assert!(plan.has_changes());
        assert_eq!(fields(&plan), ["token_reviewer_jwt"]);
        assert_eq!(plan.changes[0].before.as_deref(), Some("set"));
        assert_eq!(plan.changes[0].after, "removed");
        assert!(plan.changes[0]
            .reason
            .contains("`allow-reviewer-jwt-removal`"));
        assert_eq!(
            plan.notes,
            [
                "the stored `token_reviewer_jwt` will be removed; a rollback cannot restore it, \
              because Vault never returns it"
            ]
        );
        assert!(!plan.body.contains_key("token_reviewer_jwt"));
        assert!(!plan
            .rollback
            .body()
            .unwrap()
            .contains_key("token_reviewer_jwt"));
    }

    const UNKNOWN_REVIEWER_NOTE: &str = "this Vault (before 1.16) does not say whether a \
         `token_reviewer_jwt` is stored; the write clears any";

    #[test]
    fn vault_1_15_read_notes_that_any_reviewer_jwt_is_cleared() {
        let json = format!(
            r#"{{"kubernetes_host":"{OTHER_HOST}","kubernetes_ca_cert":{},"pem_keys":[],
               "issuer":"","disable_iss_validation":true,"disable_local_ca_jwt":true}}"#,
            json!(CERT_A)
        );
        let current = parse_current_config(&json).unwrap().unwrap();
        assert_eq!(current.token_reviewer_jwt_set, None);
        assert_eq!(current.use_annotations_as_alias_metadata, None);

        let plan = plan(Some(&current), &desired_a());
        assert_eq!(fields(&plan), ["kubernetes_host"]);
        assert_eq!(plan.notes, [UNKNOWN_REVIEWER_NOTE]);
        assert!(!plan.body.contains_key("use_annotations_as_alias_metadata"));
    }

    #[test]
    fn vault_1_15_read_without_changes_has_no_note() {
        let mut current = stored(HOST, CERT_A);
        current.token_reviewer_jwt_set = None;
        current.use_annotations_as_alias_metadata = None;
        let plan = plan(Some(&current), &desired_a());
        assert!(!plan.has_changes());
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn unknown_read_fields_are_noted_when_written() {
        let json = format!(
            r#"{{"kubernetes_host":"{OTHER_HOST}","kubernetes_ca_cert":"","pem_keys":[],
               "issuer":"","disable_iss_validation":true,"disable_local_ca_jwt":true,
               "token_reviewer_jwt_set":false,"use_annotations_as_alias_metadata":false,
               "future_knob":true,"Not A Name":1}}"#
        );
        let current = parse_current_config(&json).unwrap().unwrap();
        assert_eq!(current.unknown_fields, ["future_knob"]);
        let plan = plan(Some(&current), &desired_a());
        assert_eq!(
            plan.notes,
            [
                "the stored config has fields this tool does not know (`future_knob`); the write \
              resets them to Vault's defaults"
            ]
        );
    }

    #[test]
    fn empty_desired_host_is_a_bug() {
        let err =
            plan_config(None, &desired("", CERT_A, &[FP_A]), &PlanOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the desired config has an empty `kubernetes_host`"
        );
        assert_eq!(err.class(), ErrorClass::Bug);
    }

    fn data_json() -> Value {
        json!({
            "kubernetes_host": HOST,
            "kubernetes_ca_cert": CERT_A,
            "pem_keys": [],
            "issuer": "",
            "disable_iss_validation": true,
            "disable_local_ca_jwt": true,
            "token_reviewer_jwt_set": false,
            "use_annotations_as_alias_metadata": false,
        })
    }

    #[test]
    fn parse_current_config_accepts_the_envelope() {
        let envelope = json!({
            "request_id": "2f7c2a57-0d5c-4b55-9a6c-0f0c2f0b6a11",
            "lease_id": "",
            "renewable": false,
            "lease_duration": 0,
            "data": data_json(),
            "wrap_info": null,
            "warnings": null,
            "auth": null,
            "mount_type": "kubernetes",
        });
        let parsed = parse_current_config(&envelope.to_string()).unwrap();
        assert_eq!(parsed, Some(stored(HOST, CERT_A)));
    }

    #[test]
    fn parse_current_config_accepts_bare_data() {
        let parsed = parse_current_config(&data_json().to_string()).unwrap();
        assert_eq!(parsed, Some(stored(HOST, CERT_A)));
    }

    #[test]
    fn parse_current_config_reads_null_as_never_written() {
        assert_eq!(parse_current_config("null"), Ok(None));
        assert_eq!(parse_current_config(" null\n"), Ok(None));
        assert_eq!(parse_current_config(r#"{"data":null}"#), Ok(None));
    }

    #[test]
    fn parse_current_config_reads_empty_errors_as_never_written() {
        assert_eq!(parse_current_config(r#"{"errors":[]}"#), Ok(None));
    }

    #[test]
    fn parse_current_config_reads_null_pem_keys_as_empty() {
        let mut data = data_json();
        data["pem_keys"] = Value::Null;
        let parsed = parse_current_config(&data.to_string()).unwrap().unwrap();
        assert!(parsed.pem_keys.is_empty());
        let direct: CurrentConfig = serde_json::from_value(data).unwrap();
        assert_eq!(direct, parsed);
    }

    #[test]
    fn parse_current_config_rejects_malformed_json_without_quoting_it() {
        let err = parse_current_config("{\"kubernetes_host\": \"https://secret-ish.example\",")
            .unwrap_err();
        assert_eq!(
            err,
            PlanError::CurrentNotJson {
                line: 1,
                column: 49
            }
        );
        let message = err.to_string();
        assert_eq!(
            message,
            "the config read from Vault is not valid JSON (line `1`, column `49`)"
        );
        assert!(!message.contains("secret-ish"));
        assert_eq!(err.class(), ErrorClass::Remote);
        assert!(err.hint().unwrap().contains("`vault-addr`"));
    }

    #[test]
    fn parse_current_config_rejects_other_shapes() {
        let cases: &[(&str, &str)] = &[
            (
                "[1]",
                "the config read from Vault is a JSON `array`, not an object",
            ),
            (
                r#""https://secret-ish.example""#,
                "the config read from Vault is a JSON `string`, not an object",
            ),
            (
                r#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#,
                "the config read from Vault carries `1` errors instead of a config",
            ),
            (
                r#"{"data":"secret-ish"}"#,
                "the config read from Vault has `data` of the wrong type (expected an object)",
            ),
            (
                r#"{"data":{"kubernetes_ca_cert":""}}"#,
                "the config read from Vault has no `data.kubernetes_host`",
            ),
            ("{}", "the config read from Vault has no `kubernetes_host`"),
            (
                r#"{"kubernetes_host":"h","disable_local_ca_jwt":"secret-ish"}"#,
                "the config read from Vault has `disable_local_ca_jwt` of the wrong type \
                 (expected a boolean)",
            ),
            (
                r#"{"data":{"kubernetes_host":"h","pem_keys":["ok",7]}}"#,
                "the config read from Vault has `data.pem_keys` of the wrong type (expected an \
                 array of strings)",
            ),
            (
                r#"{"kubernetes_host":["secret-ish"]}"#,
                "the config read from Vault has `kubernetes_host` of the wrong type (expected a \
                 string)",
            ),
        ];
        for (input, expected) in cases {
            let err = parse_current_config(input).unwrap_err();
            assert_eq!(err.to_string(), *expected, "input {input}");
            assert!(!err.to_string().contains("secret-ish"), "input {input}");
            assert_eq!(err.class(), ErrorClass::Remote, "input {input}");
            assert!(err.hint().is_some(), "input {input}");
        }
    }

    /// The body of a plan against a 1.16+ config with a different host, and its exact read-back.
    fn written_and_read_back() -> (Map<String, Value>, CurrentConfig) {
        let plan = plan(Some(&stored(OTHER_HOST, CERT_B)), &desired_a());
        (plan.body, stored(HOST, CERT_A))
    }

    #[test]
    fn verify_read_back_accepts_what_was_written() {
        let (written, read_back) = written_and_read_back();
        assert_eq!(verify_read_back(&written, &read_back), Ok(()));

        // A first write: Vault's defaults for the fields the body left out are not compared.
        let first = plan(None, &desired_a());
        let mut read_back_15 = stored(HOST, CERT_A);
        read_back_15.token_reviewer_jwt_set = None;
        read_back_15.use_annotations_as_alias_metadata = None;
        assert_eq!(verify_read_back(&first.body, &read_back_15), Ok(()));
    }

    fn single_mismatch(read_back: &CurrentConfig) -> FieldMismatch {
        let (written, _) = written_and_read_back();
        let err = verify_read_back(&written, read_back).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Remote);
        assert!(err.hint().unwrap().contains("`concurrency`"));
        assert_eq!(err.mismatches.len(), 1, "{err}");
        err.mismatches[0].clone()
    }

    #[test]
    fn verify_read_back_reports_a_different_host() {
        let (written, mut read_back) = written_and_read_back();
        read_back.kubernetes_host = format!("{HOST}/");
        let err = verify_read_back(&written, &read_back).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the config read back from Vault differs from the one written: \
                 `kubernetes_host` written `{HOST}`, read back `{HOST}/`"
            )
        );
        assert_eq!(single_mismatch(&read_back).field, "kubernetes_host");
    }

    #[test]
    fn verify_read_back_reports_ca_bytes_that_differ() {
        let (_, mut read_back) = written_and_read_back();
        read_back.kubernetes_ca_cert = CERT_A.replace('\n', "\r\n");
        let mismatch = single_mismatch(&read_back);
        assert_eq!(
            mismatch,
            FieldMismatch {
                field: "kubernetes_ca_cert",
                written: format!("{FP_A} ({} bytes)", CERT_A.len()),
                read_back: format!("{FP_A} ({} bytes)", CERT_A.len() + 10),
            }
        );
    }

    #[test]
    fn verify_read_back_reports_disable_local_ca_jwt() {
        let (_, mut read_back) = written_and_read_back();
        read_back.disable_local_ca_jwt = false;
        assert_eq!(
            single_mismatch(&read_back),
            FieldMismatch {
                field: "disable_local_ca_jwt",
                written: "true".to_string(),
                read_back: "false".to_string(),
            }
        );
    }

    #[test]
    fn verify_read_back_reports_a_stored_reviewer_jwt() {
        let (_, mut read_back) = written_and_read_back();
        read_back.token_reviewer_jwt_set = Some(true);
        assert_eq!(
            single_mismatch(&read_back),
            FieldMismatch {
                field: "token_reviewer_jwt",
                written: "not set".to_string(),
                read_back: "set".to_string(),
            }
        );
    }

    #[test]
    fn verify_read_back_reports_carried_fields() {
        let (_, base) = written_and_read_back();

        let mut read_back = base.clone();
        read_back.pem_keys = vec![PUBLIC_KEY_A.to_string()];
        assert_eq!(
            single_mismatch(&read_back),
            FieldMismatch {
                field: "pem_keys",
                written: "0 keys".to_string(),
                read_back: "1 keys".to_string(),
            }
        );

        let mut read_back = base.clone();
        read_back.issuer = "kubernetes/serviceaccount".to_string();
        assert_eq!(single_mismatch(&read_back).field, "issuer");

        let mut read_back = base.clone();
        read_back.disable_iss_validation = Some(false);
        assert_eq!(single_mismatch(&read_back).field, "disable_iss_validation");

        let mut read_back = base;
        read_back.use_annotations_as_alias_metadata = None;
        assert_eq!(
            single_mismatch(&read_back),
            FieldMismatch {
                field: "use_annotations_as_alias_metadata",
                written: "false".to_string(),
                read_back: "absent".to_string(),
            }
        );
    }

    #[test]
    fn verify_read_back_lists_every_mismatch_in_order() {
        let (written, mut read_back) = written_and_read_back();
        read_back.disable_local_ca_jwt = false;
        read_back.kubernetes_host = OTHER_HOST.to_string();
        read_back.token_reviewer_jwt_set = Some(true);
        let err = verify_read_back(&written, &read_back).unwrap_err();
        let fields: Vec<&str> = err.mismatches.iter().map(|m| m.field).collect();
        assert_eq!(
            fields,
            [
                "kubernetes_host",
                "disable_local_ca_jwt",
                "token_reviewer_jwt"
            ]
        );
    }
}
