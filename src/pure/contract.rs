//! The action's contract: every input and output in one table, and the parse of raw input
//! values into typed settings.
//!
//! The tables below are the single list of inputs and outputs. `action.yml`, the CLI flags and
//! the README tables are generated from (or checked against) them, so the three faces cannot
//! drift apart. Parsing happens before anything else and reports the first problem with the
//! input's name, the shape expected and the fix. This module never reads the environment: the
//! driver collects `INPUT_<NAME>` values (`env.rs`, or CLI flags) into a `RawInputs` map.

use std::collections::BTreeMap;

use super::host::{self, HostError, KubernetesHost, VaultAddr};
use super::probe::ProbeMode;
use super::secret::Secret;
use super::{Diagnostic, ErrorClass};

/// How an input's default is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputDefault {
    /// No default: unset means absent.
    None,
    /// A literal default, declared in `action.yml`.
    Literal(&'static str),
    /// Computed from other inputs by the parser (shown in docs only, not in `action.yml`).
    Derived(&'static str),
}

/// One action input.
#[derive(Clone, Copy, Debug)]
pub struct InputSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub default: InputDefault,
    /// Required for `run`. The runner does not enforce `required`, so the parser does.
    pub required: bool,
    /// Holds a credential: masked, never echoed, never a CLI flag value in logs.
    pub secret: bool,
    /// The value may be echoed in error messages (false for secrets and for CA text, which may
    /// be a key pasted by mistake).
    pub echo: bool,
}

const fn input(name: &'static str, description: &'static str) -> InputSpec {
    InputSpec {
        name,
        description,
        default: InputDefault::None,
        required: false,
        secret: false,
        echo: true,
    }
}

const fn with_default(mut spec: InputSpec, default: InputDefault) -> InputSpec {
    spec.default = default;
    spec
}

const fn required(mut spec: InputSpec) -> InputSpec {
    spec.required = true;
    spec
}

const fn secret(mut spec: InputSpec) -> InputSpec {
    spec.secret = true;
    spec.echo = false;
    spec
}

const fn quiet(mut spec: InputSpec) -> InputSpec {
    spec.echo = false;
    spec
}

/// Every input the action reads, in the order `action.yml` and the README list them.
pub const INPUTS: &[InputSpec] = &[
    required(input(
        "vault-addr",
        "Vault address, e.g. `https://vault.example.com:8200`. `http://` is accepted only for a \
         Vault on loopback.",
    )),
    input(
        "vault-namespace",
        "Vault Enterprise/HCP namespace sent with every request (e.g. `admin`). Empty for \
         Vault CE.",
    ),
    // Vault Enterprise namespaces, never Kubernetes ones: each name starts with
    // `vault-namespace` so that it cannot be read as a cluster namespace.
    input(
        "vault-namespace-jwt",
        "Vault namespace of the JWT auth mount, when it differs from `vault-namespace` (e.g. \
         log in in `admin`, configure a cluster in `admin/team`). A Vault Enterprise namespace, \
         not a Kubernetes one.",
    ),
    input(
        "vault-namespace-kubernetes",
        "Vault namespace of the kubernetes auth mount, when it differs from `vault-namespace`. \
         A Vault Enterprise namespace, not a Kubernetes one.",
    ),
    input(
        "vault-namespace-vip",
        "Vault namespace of the KV mount holding the VIP, when it differs from \
         `vault-namespace`. A Vault Enterprise namespace, not a Kubernetes one.",
    ),
    quiet(input(
        "vault-ca-cert",
        "PEM of a private CA that signs Vault's TLS certificate, or base64 of PEM or DER (as \
         vault-action's `caCertificate`). It is added to the public roots compiled into the \
         action, not a replacement for them.",
    )),
    quiet(input(
        "extra-ca-certs",
        "PEM (or base64 of PEM or DER) of CAs every client trusts in addition to the public \
         roots: Vault, GitHub (GHES) and the OIDC token service. For TLS-intercepting proxies \
         and private CAs. `HTTPS_PROXY` and `NO_PROXY` are honoured as well.",
    )),
    required(input(
        "environment",
        "Environment name (e.g. `dev`). Picks the default kubernetes mount and VIP location.",
    )),
    with_default(
        input(
            "jwt-mount",
            "Path of the JWT auth method that trusts GitHub's OIDC issuer.",
        ),
        InputDefault::Literal("jwt"),
    ),
    input(
        "jwt-role",
        "JWT auth role to log in with (`role_type: jwt`). Required unless `vault-token` is set.",
    ),
    input(
        "jwt-audience",
        "Audience requested for the GitHub OIDC token. Empty means GitHub's default, the \
         owner's URL (`https://github.com/<owner>`). The role's `bound_audiences` must contain \
         exactly this value.",
    ),
    secret(input(
        "vault-token",
        "Vault token for runners without GitHub OIDC. When `jwt-role` is also set, the OIDC \
         login wins and this token is used only where the runner offers no OIDC token. A \
         supplied token is not revoked unless `revoke-vault-token` is `true`.",
    )),
    with_default(
        input(
            "revoke-vault-token",
            "Revoke a supplied `vault-token` at the end of the run. The token the action mints \
             through OIDC is always revoked.",
        ),
        InputDefault::Literal("false"),
    ),
    with_default(
        input(
            "kubernetes-mount",
            "Path of the kubernetes auth method to configure.",
        ),
        InputDefault::Derived("<environment>-kubernetes"),
    ),
    input(
        "kubernetes-host",
        "API server URL Vault calls, e.g. `https://10.0.0.10:6443`. Empty: read the VIP from \
         Vault KV (`vip-mount`, `vip-secret`, `vip-key`) and use `https://<vip>:<vip-port>`.",
    ),
    with_default(
        input("vip-mount", "KV mount (version 2, or 1) holding the VIP."),
        InputDefault::Derived("kv/<environment>"),
    ),
    with_default(
        input("vip-secret", "Secret in `vip-mount` holding the VIP."),
        InputDefault::Literal("ip"),
    ),
    with_default(
        input("vip-key", "Key of `vip-secret` whose value is the VIP."),
        InputDefault::Literal("vip"),
    ),
    with_default(
        input("vip-port", "API server port added to the VIP."),
        InputDefault::Literal("6443"),
    ),
    input(
        "ca-file",
        "Path to the cluster CA: PEM, DER, base64 of either, or a kubeconfig (its \
         current-context's cluster). In a runner it must lie under the workspace or the \
         runner's temp folder.",
    ),
    input(
        "ca-artifact",
        "Name of a workflow artifact of this run holding the cluster CA (a zip of the uploaded \
         files, or a raw upload). Needs `permissions: actions: read`. A kubeconfig with client \
         credentials in an artifact is refused.",
    ),
    input(
        "ca-artifact-path",
        "File inside `ca-artifact` to read (relative, no `..`). Empty: the only file, or the only \
         one named like a CA.",
    ),
    quiet(input(
        "ca-data",
        "The cluster CA inline: PEM, or base64 of PEM or DER (e.g. a kubeconfig's \
         `certificate-authority-data`). Exactly one of `ca-file`, `ca-data` and `ca-artifact` is set.",
    )),
    with_default(
        input(
            "disable-local-ca-jwt",
            "Vault's `disable_local_ca_jwt`. `true` is client JWT mode: Vault reviews each \
             login with the client's own JWT, so the client's ServiceAccount needs \
             `system:auth-delegator`.",
        ),
        InputDefault::Literal("true"),
    ),
    with_default(
        input(
            "dry-run",
            "Plan only: read Vault, show the changes, write nothing.",
        ),
        InputDefault::Literal("false"),
    ),
    with_default(
        input(
            "allow-loopback-host",
            "Accept a loopback `kubernetes-host` or VIP (127.0.0.0/8, `::1`, `localhost`). For \
             local trials only; loud in the log and the summary.",
        ),
        InputDefault::Literal("false"),
    ),
    with_default(
        input(
            "post",
            "Where the verification summary goes, a list of `step-summary`, `check-run` (needs \
             `permissions: checks: write`), `pr-comment` (one sticky comment per environment; \
             needs `pull-requests: write`). A refused post is a warning, never a failed handshake.",
        ),
        InputDefault::Literal("step-summary"),
    ),
    secret(with_default(
        input(
            "github-token",
            "Token for `post` and `ca-artifact`. The runner does not pass `GITHUB_TOKEN` into a \
             container, so the default hands over the job's token explicitly.",
        ),
        InputDefault::Literal("${{ github.token }}"),
    )),
    with_default(
        input(
            "probe",
            "Before writing, open TLS to the API server trusting only the uploaded CA. `auto`: a \
             wrong CA, a missing SAN or an expired certificate fails the run, an unreachable host \
             only warns (Vault may reach what the runner cannot). `require`: any failure fails. \
             `off`: no probe.",
        ),
        InputDefault::Literal("auto"),
    ),
    with_default(
        input(
            "probe-timeout-seconds",
            "Seconds the TLS probe may take (decimals allowed).",
        ),
        InputDefault::Literal("10"),
    ),
    secret(input(
        "proof-jwt",
        "A short-lived ServiceAccount JWT (e.g. `kubectl create token external-secrets -n \
         external-secrets --duration 10m`). After the write the action logs in with it as ESO \
         would, reports the policies Vault granted, and revokes that token; a failed proof rolls \
         the write back. A token without `exp` is refused.",
    )),
    input(
        "proof-jwt-file",
        "Path of a file holding the proof's ServiceAccount JWT, written by an earlier step of \
         the same job (e.g. `kubectl create token … > eso.jwt` right after the CA is exported). \
         Read like `ca-file` (in a runner, only under the workspace or the runner's temp \
         folder), masked at once, and the file is removed after reading unless \
         `keep-proof-jwt-file` is `true`. Exclusive with `proof-jwt`.",
    ),
    with_default(
        input(
            "keep-proof-jwt-file",
            "Leave `proof-jwt-file` in place after reading it (it is removed by default: the \
             token is a credential).",
        ),
        InputDefault::Literal("false"),
    ),
    with_default(
        input("proof-role", "Kubernetes auth role for the login proof."),
        InputDefault::Literal("external-secrets"),
    ),
    with_default(
        input(
            "proof-window-seconds",
            "How long a failing proof login is retried: a new CA can reach Vault Enterprise \
             performance standbys up to ~30 s after the write.",
        ),
        InputDefault::Literal("30"),
    ),
    with_default(
        input(
            "request-timeout-seconds",
            "Seconds each Vault call may take (decimals allowed).",
        ),
        InputDefault::Literal("30"),
    ),
    with_default(
        input(
            "allow-pull-request-writes",
            "Write Vault on every event. By default only `push`, `workflow_dispatch`, `schedule`, \
             `release`, `merge_group` and `repository_dispatch` write; every other event \
             (`pull_request`, `pull_request_target`, `issue_comment`, `workflow_run`, …) and any \
             unknown one runs as a dry run, because its code or trigger may come from outside the \
             repository. In a reusable workflow the event is the caller's.",
        ),
        InputDefault::Literal("false"),
    ),
    with_default(
        input(
            "allow-reviewer-jwt-removal",
            "Allow the write when Vault stores a `token_reviewer_jwt`: client JWT mode removes \
             it, and it can never be restored.",
        ),
        InputDefault::Literal("false"),
    ),
];

/// One action output.
#[derive(Clone, Copy, Debug)]
pub struct OutputSpec {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every output the action sets.
pub const OUTPUTS: &[OutputSpec] = &[
    OutputSpec {
        name: "result",
        description:
            "One of `unchanged`, `changed`, `planned`, `rolled-back`, `failed`, `cancelled`.",
    },
    OutputSpec {
        name: "changed",
        description: "`true` when this run left Vault's config different from how it found \
                      it; on a dry run, `true` when a real run would write.",
    },
    OutputSpec {
        name: "ca-fingerprint",
        description: "SHA-256 fingerprints (lowercase hex of the DER) of the CAs uploaded, \
                      comma-separated.",
    },
    OutputSpec {
        name: "ca-not-after",
        description: "The earliest expiry among the uploaded CAs (RFC 3339, UTC): when the \
                      first of them stops being valid.",
    },
    OutputSpec {
        name: "kubernetes-host",
        description: "The `kubernetes_host` written (or planned).",
    },
    OutputSpec {
        name: "mount",
        description: "The kubernetes auth mount configured.",
    },
    OutputSpec {
        name: "error-message",
        description: "The failure and its fix, when the run failed; empty otherwise.",
    },
    OutputSpec {
        name: "report-path",
        description: "Path of the JSON report (audit trail) under the runner's temp folder, as \
                      the action saw it: the container action says `/github/runner_temp/<file>`, \
                      which later steps open as `$RUNNER_TEMP/<file>` (same file name).",
    },
    OutputSpec {
        name: "verification",
        description: "How much of the trust path this run proved: `proven` (a ServiceAccount \
                      login through the config succeeded), `tls-verified` (the API server's \
                      certificate verifies with the uploaded CA for the host; RBAC, role \
                      bindings and Vault's reach unchecked), or `unverified` (neither).",
    },
];

/// The `result` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Vault already held the desired config; nothing was written.
    Unchanged,
    /// The config was written and read back as written.
    Changed,
    /// Dry run: the plan was made and shown, nothing written.
    Planned,
    /// A write was undone after its read-back or proof failed; the run failed.
    RolledBack,
    /// The run failed before or without a complete write.
    Failed,
    /// The runner cancelled the step (SIGINT/SIGTERM); the run stopped at a safe point, revoked
    /// its token and says what it had written.
    Cancelled,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Unchanged,
        Outcome::Changed,
        Outcome::Planned,
        Outcome::RolledBack,
        Outcome::Failed,
        Outcome::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Changed => "changed",
            Outcome::Planned => "planned",
            Outcome::RolledBack => "rolled-back",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
        }
    }
}

/// Raw input values by input name, as the runner or the CLI gave them. An empty value is unset,
/// as in the runner, where every declared input arrives and an omitted one is `""`.
#[derive(Clone, Default)]
pub struct RawInputs {
    values: BTreeMap<&'static str, String>,
    /// Inputs whose bytes were not UTF-8: refused by `parse_settings`, never decoded lossily.
    not_utf8: Vec<&'static str>,
}

impl std::fmt::Debug for RawInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for spec in INPUTS {
            if let Some(value) = self.values.get(spec.name) {
                if spec.echo {
                    map.entry(&spec.name, value);
                } else {
                    map.entry(&spec.name, &"<redacted>");
                }
            }
        }
        map.finish()
    }
}

impl RawInputs {
    /// Sets an input by name. Returns false for a name that is not in `INPUTS`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> bool {
        match spec(name) {
            Some(spec) => {
                self.values.insert(spec.name, value.into());
                true
            }
            None => false,
        }
    }

    /// Records an input whose value is not valid UTF-8: it is refused, never silently dropped.
    pub fn set_not_utf8(&mut self, name: &str) -> bool {
        match spec(name) {
            Some(spec) => {
                self.values.remove(spec.name);
                self.not_utf8.push(spec.name);
                true
            }
            None => false,
        }
    }

    /// The raw value as given (for masking secrets before parsing, and for names in reports).
    pub fn raw_value(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// The value, or `None` when unset or empty.
    fn value(&self, name: &'static str) -> Option<&str> {
        debug_assert!(spec(name).is_some(), "input `{name}` is not in INPUTS");
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value, else the literal default.
    fn value_or_default(&self, name: &'static str) -> Option<&str> {
        self.value(name).or_else(|| match spec(name)?.default {
            InputDefault::Literal(d) => Some(d),
            _ => None,
        })
    }
}

/// The JSON form a driver hands over: `{"values": {name: value}, "not_utf8": [name]}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct RawInputsWire {
    values: BTreeMap<String, String>,
    #[serde(default)]
    not_utf8: Vec<String>,
}

impl serde::Serialize for RawInputs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawInputsWire {
            values: self
                .values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            not_utf8: self.not_utf8.iter().map(|n| n.to_string()).collect(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for RawInputs {
    /// Names not in `INPUTS` are ignored, as the runner's unknown `INPUT_*` variables are.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = RawInputsWire::deserialize(d)?;
        let mut raw = RawInputs::default();
        for (name, value) in wire.values {
            raw.set(&name, value);
        }
        for name in wire.not_utf8 {
            raw.set_not_utf8(&name);
        }
        Ok(raw)
    }
}

/// The spec of an input by name.
pub fn spec(name: &str) -> Option<&'static InputSpec> {
    INPUTS.iter().find(|s| s.name == name)
}

/// What the parsed settings are for: `run` needs Vault and a login, `plan` works offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Run,
    Plan,
}

/// How the action logs in to Vault.
#[derive(Clone, Debug)]
pub struct Auth {
    /// GitHub OIDC → JWT auth, when `jwt-role` is set.
    pub oidc: Option<OidcLogin>,
    /// `vault-token`: used when there is no OIDC login, or the runner offers no OIDC token.
    pub token: Option<Secret>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcLogin {
    pub mount: MountPath,
    pub role: String,
    /// `None`: GitHub's default audience (the owner's URL).
    pub audience: Option<String>,
}

/// A Vault mount path without leading or trailing `/` (`jwt`, `dev-kubernetes`, `kv/dev`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MountPath(String);

impl MountPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MountPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the API server address comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostSource {
    /// `kubernetes-host`, validated.
    Input(KubernetesHost),
    /// The VIP kept in Vault KV: `GET <mount>/data/<secret>` (v2) or `GET <mount>/<secret>`
    /// (v1), key `key`.
    Vip {
        mount: MountPath,
        secret: String,
        key: String,
        port: u16,
    },
}

/// Where the CA comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaSource {
    /// `ca-file`: a path (PEM, DER, base64, or kubeconfig).
    File(String),
    /// `ca-data`: inline text.
    Data(String),
    /// `ca-artifact`: an artifact of this run, and optionally the file inside it.
    Artifact { name: String, path: Option<String> },
}

/// Every input, parsed and checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub vault_addr: Option<VaultAddr>,
    pub vault_namespace: Option<String>,
    /// Namespaces of the three mounts (each defaults to `vault_namespace`).
    pub jwt_namespace: Option<String>,
    pub kubernetes_namespace: Option<String>,
    pub vip_namespace: Option<String>,
    /// PEM text trusted for Vault's TLS in addition to the public roots; parsed by the shell.
    pub vault_ca_cert: Option<String>,
    /// PEM trusted by every client (Vault, GitHub, OIDC) on top of the public roots.
    pub extra_ca_certs: Option<String>,
    pub environment: String,
    pub auth: Auth,
    pub kubernetes_mount: MountPath,
    pub host: HostSource,
    pub ca: CaSource,
    pub disable_local_ca_jwt: bool,
    pub dry_run: bool,
    pub allow_loopback_host: bool,
    pub allow_pull_request_writes: bool,
    pub allow_reviewer_jwt_removal: bool,
    pub revoke_vault_token: bool,
    pub probe: ProbeMode,
    pub probe_timeout: std::time::Duration,
    /// The ServiceAccount JWT for the login proof (checked against the clock by `pure::proof`).
    pub proof_jwt: Option<Secret>,
    /// Where the handshake reads the proof JWT from (a `read-file` effect), when it comes from a
    /// file.
    pub proof_jwt_file: Option<String>,
    pub keep_proof_jwt_file: bool,
    pub proof_role: String,
    pub proof_window: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub post: Vec<super::publish::Target>,
    /// For `post` and `ca-artifact`; `None` when empty (outside Actions).
    pub github_token: Option<Secret>,
}

/// A bad input. Display names the input and what was wrong; `hint()` gives the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("input `{input}` is required{why}")]
    Missing {
        input: &'static str,
        why: &'static str,
        fix: String,
    },
    #[error("input `{input}` is {shown}, expected {expected}")]
    Invalid {
        input: &'static str,
        shown: String,
        expected: &'static str,
        fix: String,
    },
    #[error("inputs {} are all set, but only one may be", list(.inputs))]
    Conflict {
        inputs: Vec<&'static str>,
        fix: String,
    },
    #[error("{0}")]
    Host(HostError),
}

fn list(names: &[&'static str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" and ")
}

impl Diagnostic for InputError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        match self {
            InputError::Missing { fix, .. }
            | InputError::Invalid { fix, .. }
            | InputError::Conflict { fix, .. } => Some(fix.clone()),
            InputError::Host(e) => e.hint(),
        }
    }
}

impl From<HostError> for InputError {
    fn from(e: HostError) -> Self {
        InputError::Host(e)
    }
}

fn invalid(
    raw: &RawInputs,
    input: &'static str,
    expected: &'static str,
    fix: String,
) -> InputError {
    let shown = match (spec(input), raw.value(input)) {
        // Echoed only when it cannot break the backticks that mark it or the line it is on;
        // every renderer escapes it as data besides.
        (Some(s), Some(v))
            if s.echo
                && v.chars().count() <= 80
                && !v.contains('`')
                && !v.contains(char::is_control) =>
        {
            format!("`{v}`")
        }
        _ => "not valid".to_string(),
    };
    InputError::Invalid {
        input,
        shown,
        expected,
        fix,
    }
}

/// Parses every input into settings. The first problem found is returned.
pub fn parse_settings(raw: &RawInputs, purpose: Purpose) -> Result<Settings, InputError> {
    if let Some(input) = raw.not_utf8.first() {
        return Err(InputError::Invalid {
            input,
            shown: "not valid UTF-8".into(),
            expected: "UTF-8 text",
            fix: format!(
                "check what feeds `{input}`: a value from a file or a secret may carry another \
                 encoding (re-save it as UTF-8)"
            ),
        });
    }
    let environment = parse_environment(raw)?;
    let vault_addr = match (raw.value("vault-addr"), purpose) {
        (Some(v), _) => Some(host::parse_vault_addr("vault-addr", v)?),
        (None, Purpose::Run) => {
            return Err(InputError::Missing {
                input: "vault-addr",
                why: "",
                fix: "set `vault-addr: https://vault.example.com:8200`".into(),
            })
        }
        (None, Purpose::Plan) => None,
    };
    let vault_namespace = parse_namespace(raw, "vault-namespace")?;
    let mount_namespace = |input: &'static str| -> Result<Option<String>, InputError> {
        Ok(parse_namespace(raw, input)?.or_else(|| vault_namespace.clone()))
    };
    let jwt_namespace = mount_namespace("vault-namespace-jwt")?;
    let kubernetes_namespace = mount_namespace("vault-namespace-kubernetes")?;
    let vip_namespace = mount_namespace("vault-namespace-vip")?;
    let vault_ca_cert = match raw.value("vault-ca-cert") {
        Some(text) => Some(super::ca::trust_pem(text).ok_or_else(|| {
            invalid(
                raw,
                "vault-ca-cert",
                "PEM text with at least one `-----BEGIN CERTIFICATE-----` block, or base64 of \
                 PEM or DER",
                "paste the PEM of the CA that signs Vault's certificate (a file's content, not \
                 its path), or its base64 as a Kubernetes secret or vault-action's \
                 `caCertificate` holds it"
                    .into(),
            )
        })?),
        None => None,
    };
    let extra_ca_certs = match raw.value("extra-ca-certs") {
        Some(text) => Some(super::ca::trust_pem(text).ok_or_else(|| {
            invalid(
                raw,
                "extra-ca-certs",
                "PEM text with at least one `-----BEGIN CERTIFICATE-----` block, or base64 of \
                 PEM or DER",
                "paste the PEM of the proxy's or the private CA (a file's content, not its path), \
                 or its base64"
                    .into(),
            )
        })?),
        None => None,
    };
    let auth = parse_auth(raw, purpose, jwt_namespace.as_deref())?;
    let kubernetes_mount = match raw.value("kubernetes-mount") {
        Some(m) => parse_mount(raw, "kubernetes-mount", m)?,
        None => MountPath(format!("{environment}-kubernetes")),
    };
    let allow_loopback_host = parse_bool(raw, "allow-loopback-host")?;
    let host = match raw.value("kubernetes-host") {
        Some(h) => HostSource::Input(host::parse_kubernetes_host(
            "kubernetes-host",
            h,
            allow_loopback_host,
        )?),
        None if purpose == Purpose::Plan => {
            return Err(InputError::Missing {
                input: "kubernetes-host",
                why: " for an offline plan (only `run` reads the VIP from Vault KV)",
                fix: "pass `--kubernetes-host https://<vip>:6443`".into(),
            })
        }
        None => HostSource::Vip {
            mount: match raw.value("vip-mount") {
                Some(m) => parse_mount(raw, "vip-mount", m)?,
                None => MountPath(format!("kv/{environment}")),
            },
            secret: parse_kv_name(raw, "vip-secret", true)?,
            key: parse_kv_name(raw, "vip-key", false)?,
            port: parse_port(raw)?,
        },
    };
    let ca = parse_ca_source(raw)?;
    Ok(Settings {
        vault_addr,
        vault_namespace,
        jwt_namespace,
        kubernetes_namespace,
        vip_namespace,
        vault_ca_cert,
        extra_ca_certs,
        environment,
        auth,
        kubernetes_mount,
        host,
        ca,
        disable_local_ca_jwt: parse_bool(raw, "disable-local-ca-jwt")?,
        dry_run: parse_bool(raw, "dry-run")?,
        allow_loopback_host,
        allow_pull_request_writes: parse_bool(raw, "allow-pull-request-writes")?,
        allow_reviewer_jwt_removal: parse_bool(raw, "allow-reviewer-jwt-removal")?,
        revoke_vault_token: parse_bool(raw, "revoke-vault-token")?,
        probe: ProbeMode::parse(raw.value_or_default("probe").unwrap_or("auto")).map_err(|_| {
            invalid(
                raw,
                "probe",
                "`auto`, `require` or `off`",
                "use `probe: require` to fail on an unreachable API server too".into(),
            )
        })?,
        probe_timeout: parse_seconds(raw, "probe-timeout-seconds")?,
        proof_jwt: raw
            .value("proof-jwt")
            .map(|j| Secret::new(j.trim().to_string())),
        proof_jwt_file: match (raw.value("proof-jwt"), raw.value("proof-jwt-file")) {
            (Some(_), Some(_)) => {
                return Err(InputError::Conflict {
                    inputs: vec!["proof-jwt", "proof-jwt-file"],
                    fix: "keep one: `proof-jwt` for the token from a secret or an output, \
                          `proof-jwt-file` for a file an earlier step wrote"
                        .into(),
                })
            }
            (_, file) => file.map(str::to_string),
        },
        keep_proof_jwt_file: parse_bool(raw, "keep-proof-jwt-file")?,
        proof_role: {
            let role = raw
                .value_or_default("proof-role")
                .unwrap_or("external-secrets");
            if !is_role_name(role) {
                return Err(invalid(
                    raw,
                    "proof-role",
                    "a Vault role name (letters, digits, `_`, `-`, `.`, `@`)",
                    "use the kubernetes auth role ESO logs in with, e.g. `external-secrets`".into(),
                ));
            }
            role.to_string()
        },
        proof_window: parse_seconds(raw, "proof-window-seconds")?,
        request_timeout: parse_seconds(raw, "request-timeout-seconds")?,
        post: parse_post(raw)?,
        github_token: parse_github_token(raw),
    })
}

impl Settings {
    /// CA PEMs the Vault client trusts beyond the public roots.
    pub fn vault_trust(&self) -> Vec<&str> {
        self.vault_ca_cert
            .iter()
            .chain(self.extra_ca_certs.iter())
            .map(String::as_str)
            .collect()
    }

    /// CA PEMs the GitHub and OIDC clients trust beyond the public roots.
    pub fn extra_trust(&self) -> Vec<&str> {
        self.extra_ca_certs.iter().map(String::as_str).collect()
    }
}

/// The `post` input.
fn parse_post(raw: &RawInputs) -> Result<Vec<super::publish::Target>, InputError> {
    super::publish::parse_targets(raw.value_or_default("post").unwrap_or_default()).map_err(|_| {
        invalid(
            raw,
            "post",
            "a list of `step-summary`, `check-run` and `pr-comment`",
            "e.g. `post: step-summary,check-run`".into(),
        )
    })
}

/// The `github-token` input; an unevaluated `${{ … }}` means it did not come from a runner.
fn parse_github_token(raw: &RawInputs) -> Option<Secret> {
    raw.value("github-token")
        .filter(|t| !t.contains("${{"))
        .map(|t| Secret::new(t.trim().to_string()))
}

/// Where to post and with which token, read on its own so that a run whose other inputs are bad
/// still reports its failure where people look. A bad `post` falls back to the step summary.
pub fn parse_publishing(raw: &RawInputs) -> (Vec<super::publish::Target>, Option<Secret>) {
    let targets = parse_post(raw).unwrap_or_else(|_| vec![super::publish::Target::StepSummary]);
    (targets, parse_github_token(raw))
}

fn parse_ca_source(raw: &RawInputs) -> Result<CaSource, InputError> {
    let given: Vec<&'static str> = ["ca-file", "ca-data", "ca-artifact"]
        .into_iter()
        .filter(|name| raw.value(name).is_some())
        .collect();
    if given.len() > 1 {
        return Err(InputError::Conflict {
            inputs: given,
            fix: "keep one: `ca-file` for a path, `ca-data` for inline PEM or base64, \
                  `ca-artifact` for an artifact of this run"
                .into(),
        });
    }
    if raw.value("ca-artifact-path").is_some() && raw.value("ca-artifact").is_none() {
        return Err(InputError::Missing {
            input: "ca-artifact",
            why: " when `ca-artifact-path` is set",
            fix: "set `ca-artifact` to the artifact's name, or drop `ca-artifact-path`".into(),
        });
    }
    Ok(match (raw.value("ca-file"), raw.value("ca-data"), raw.value("ca-artifact")) {
        (Some(path), _, _) => CaSource::File(path.to_string()),
        (_, Some(data), _) => CaSource::Data(data.to_string()),
        (_, _, Some(name)) => {
            let path = match raw.value("ca-artifact-path") {
                Some(p) => Some(super::artifact::parse_artifact_path(p).map_err(|_| {
                    invalid(
                        raw,
                        "ca-artifact-path",
                        "a relative path inside the artifact, without `..`",
                        "write the path as it appears in the artifact, e.g. `k8s-ca.crt`".into(),
                    )
                })?),
                None => None,
            };
            CaSource::Artifact { name: name.to_string(), path }
        }
        (None, None, None) => {
            return Err(InputError::Missing {
                input: "ca-file",
                why: " (or `ca-data`, or `ca-artifact`): the cluster CA is what this action uploads",
                fix: "set `ca-file: k8s-ca.crt` (the file Ansible fetched from \
                      `/var/lib/rancher/rke2/server/tls/server-ca.crt`), `ca-data`, or `ca-artifact`"
                    .into(),
            })
        }
    })
}

/// The `environment` input, checked: it names mounts, files, check runs and comment markers, so
/// nothing may use it before this passes.
pub fn parse_environment(raw: &RawInputs) -> Result<String, InputError> {
    let Some(env) = raw.value("environment") else {
        return Err(InputError::Missing {
            input: "environment",
            why: "",
            fix: "set `environment: dev` (it names the `dev-kubernetes` mount and `kv/dev`)".into(),
        });
    };
    let ok = env.len() <= 64
        && env
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        return Err(invalid(
            raw,
            "environment",
            "a name of letters, digits, `-`, `_` or `.` (at most 64, starting with a letter or digit)",
            "use the short environment name, e.g. `dev`, `staging`, `prod`".into(),
        ));
    }
    Ok(env.to_string())
}

/// `jwt_namespace` is where the JWT mount lives, for the commands a fix prints.
fn parse_auth(
    raw: &RawInputs,
    purpose: Purpose,
    jwt_namespace: Option<&str>,
) -> Result<Auth, InputError> {
    let token = raw.value("vault-token").map(|t| Secret::new(t.to_string()));
    if let Some(t) = &token {
        let t = t.expose_secret();
        if t.trim() != t || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                raw,
                "vault-token",
                "a Vault token without whitespace",
                "check the secret that feeds `vault-token` (a trailing newline is a common cause)"
                    .into(),
            ));
        }
    }
    let mount = parse_mount(
        raw,
        "jwt-mount",
        raw.value_or_default("jwt-mount").unwrap_or("jwt"),
    )?;
    let oidc = match raw.value("jwt-role") {
        Some(role) => {
            if !is_role_name(role) {
                return Err(invalid(
                    raw,
                    "jwt-role",
                    "a Vault role name (letters, digits, `_`, `-`, `.`, `@`)",
                    // The mount's characters are shell-safe (`is_vault_path`): pasted as is.
                    crate::pure::vault_api::namespaced(
                        &format!("use one of the role names `vault list auth/{mount}/role` prints"),
                        jwt_namespace,
                    ),
                ));
            }
            let audience = raw.value("jwt-audience").map(str::to_string);
            if let Some(aud) = &audience {
                if aud.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(invalid(
                        raw,
                        "jwt-audience",
                        "one audience string without whitespace",
                        "use the exact value in the role's `bound_audiences`".into(),
                    ));
                }
            }
            Some(OidcLogin {
                mount,
                role: role.to_string(),
                audience,
            })
        }
        None => None,
    };
    if purpose == Purpose::Run && oidc.is_none() && token.is_none() {
        return Err(InputError::Missing {
            input: "jwt-role",
            why: " (or `vault-token`): the action needs a way to log in to Vault",
            fix: "set `jwt-role` to a JWT auth role bound to this repository, and give the job \
                  `permissions: id-token: write`"
                .into(),
        });
    }
    Ok(Auth { oidc, token })
}

/// `a/b/c` of letters, digits, `-`, `_`, `.`: no empty, `.` or `..` segment (mount paths and
/// namespaces are both of this shape).
fn is_vault_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

/// Vault's role names: `\w(([\w-.@]+)?\w)?` (framework.GenericNameWithAtRegex).
fn is_role_name(role: &str) -> bool {
    role.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
        && role
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && role
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A positive number of seconds, decimals allowed (tests use milliseconds), at most ten minutes.
fn parse_seconds(raw: &RawInputs, input: &'static str) -> Result<std::time::Duration, InputError> {
    let value = raw.value_or_default(input).unwrap_or("0");
    match value.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 600.0 => {
            Ok(std::time::Duration::from_secs_f64(secs))
        }
        _ => Err(invalid(
            raw,
            input,
            "a number of seconds greater than 0 and at most 600",
            format!("e.g. `{input}: {}`", raw_default(input)),
        )),
    }
}

fn parse_namespace(raw: &RawInputs, input: &'static str) -> Result<Option<String>, InputError> {
    let Some(ns) = raw.value(input) else {
        return Ok(None);
    };
    let trimmed = ns.trim_matches('/');
    let ok = is_vault_path(trimmed);
    if !ok {
        return Err(invalid(
            raw,
            input,
            "a namespace path such as `admin` or `admin/team`",
            "use the namespace path as `vault namespace list` shows it, without spaces".into(),
        ));
    }
    Ok(Some(trimmed.to_string()))
}

fn parse_mount(raw: &RawInputs, input: &'static str, value: &str) -> Result<MountPath, InputError> {
    let trimmed = value.trim_matches('/');
    if input != "vip-mount" && (trimmed == "auth" || trimmed.starts_with("auth/")) {
        return Err(invalid(
            raw,
            input,
            "the mount path without the `auth/` prefix",
            format!(
                "drop `auth/`: e.g. `{}`",
                trimmed.trim_start_matches("auth").trim_start_matches('/')
            ),
        ));
    }
    let ok = is_vault_path(trimmed);
    if !ok {
        return Err(invalid(
            raw,
            input,
            "a Vault mount path such as `jwt`, `dev-kubernetes` or `kv/dev`",
            "use the path as `vault auth list` or `vault secrets list` shows it".into(),
        ));
    }
    Ok(MountPath(trimmed.to_string()))
}

fn parse_kv_name(raw: &RawInputs, input: &'static str, path: bool) -> Result<String, InputError> {
    let value = raw.value_or_default(input).unwrap_or_default();
    let ok = !value.is_empty()
        && !value.starts_with('/')
        && !value.ends_with('/')
        && (path || !value.contains('/'))
        && value
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "?#%".contains(c));
    if !ok {
        return Err(invalid(
            raw,
            input,
            if path {
                "a KV secret path such as `ip`"
            } else {
                "a key name such as `vip`"
            },
            format!(
                "see `vault kv get -mount=kv/<environment> ip`; the default is `{}`",
                raw_default(input)
            ),
        ));
    }
    Ok(value.to_string())
}

fn raw_default(input: &'static str) -> &'static str {
    match spec(input).map(|s| s.default) {
        Some(InputDefault::Literal(d)) | Some(InputDefault::Derived(d)) => d,
        _ => "",
    }
}

fn parse_port(raw: &RawInputs) -> Result<u16, InputError> {
    let value = raw.value_or_default("vip-port").unwrap_or("6443");
    match value.parse::<u16>() {
        Ok(p) if p > 0 && value.chars().all(|c| c.is_ascii_digit()) => Ok(p),
        _ => Err(invalid(
            raw,
            "vip-port",
            "a TCP port (1-65535)",
            "RKE2 and kubeadm serve the API on `6443`".into(),
        )),
    }
}

/// Booleans as the Actions toolkit reads them: `true|True|TRUE|false|False|FALSE`.
fn parse_bool(raw: &RawInputs, input: &'static str) -> Result<bool, InputError> {
    match raw.value_or_default(input) {
        Some("true" | "True" | "TRUE") => Ok(true),
        Some("false" | "False" | "FALSE") | None => Ok(false),
        Some(_) => Err(invalid(
            raw,
            input,
            "`true` or `false`",
            format!(
                "write `{input}: true` or `{input}: false` (YAML `yes`/`on` are not booleans here)"
            ),
        )),
    }
}

/// Quotes text as a YAML double-quoted scalar.
fn yaml_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An input's description with its derived default spelled out, as docs show it.
pub fn describe_input(spec: &InputSpec) -> String {
    match spec.default {
        InputDefault::Derived(d) => format!("{} Default: `{d}`.", spec.description),
        _ => spec.description.to_string(),
    }
}

/// The `inputs:` entries of an action's metadata, from `INPUTS`.
fn push_inputs(out: &mut String) {
    for spec in INPUTS {
        out.push_str(&format!("  {}:\n", spec.name));
        out.push_str(&format!(
            "    description: {}\n",
            yaml_quote(&describe_input(spec))
        ));
        out.push_str(&format!("    required: {}\n", spec.required));
        if let InputDefault::Literal(d) = spec.default {
            out.push_str(&format!("    default: {}\n", yaml_quote(d)));
        }
    }
}

/// The `outputs:` block of an action that sets its outputs itself (container, Node).
fn push_outputs(out: &mut String) {
    out.push_str("outputs:\n");
    for spec in OUTPUTS {
        out.push_str(&format!(
            "  {}:\n    description: {}\n",
            spec.name,
            yaml_quote(spec.description)
        ));
    }
}

/// What a release commit pins: written into `action.yml`, `.github/actions/container/action.yml`
/// and `binary/action.yml` by `tools/release-stamp.py`, and read back from them by the contract
/// test, which renders the stamped form from these values and requires the files to equal it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseStamp {
    /// `owner/name` of the repository the release is published from.
    pub repository: String,
    /// The release tag, `vX.Y.Z` (or `vX.Y.Z-pre`).
    pub tag: String,
    /// SHA-256 (lowercase hex) of each static binary, by target triple; see `BINARY_TARGETS`.
    pub binaries: Vec<(String, String)>,
}

/// The image a stamped `action.yml` runs: a published image pinned by digest, or, for a run of
/// this checkout's own image (the end-to-end workflow), the Dockerfile beside the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionImage {
    /// `docker://<name>@sha256:<hex>`.
    Published { name: String, digest: String },
    /// `dist/Dockerfile`, built by the runner from this checkout (the binary must be in `dist/`).
    LocalDockerfile,
}

impl ActionImage {
    /// The value of `runs.image`.
    pub fn as_image(&self) -> String {
        match self {
            ActionImage::Published { name, digest } => format!("docker://{name}@{digest}"),
            ActionImage::LocalDockerfile => LOCAL_DOCKERFILE.to_string(),
        }
    }

    /// Parses a `runs.image` value of a stamped `action.yml`; `None` for any other shape.
    pub fn parse(image: &str) -> Option<ActionImage> {
        if image == LOCAL_DOCKERFILE {
            return Some(ActionImage::LocalDockerfile);
        }
        let rest = image.strip_prefix("docker://")?;
        let (name, digest) = rest.rsplit_once('@')?;
        let hex = digest.strip_prefix("sha256:")?;
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "./-_:".contains(c));
        (name_ok && is_sha256_hex(hex)).then(|| ActionImage::Published {
            name: name.to_string(),
            digest: digest.to_string(),
        })
    }
}

const LOCAL_DOCKERFILE: &str = "dist/Dockerfile";

/// The release binaries `binary/action.yml` can run: (target triple, `runner.os`, `runner.arch`,
/// the stamped variable holding its SHA-256). Releases build Linux musl binaries only.
pub const BINARY_TARGETS: &[(&str, &str, &str, &str)] = &[
    (
        "x86_64-unknown-linux-musl",
        "Linux",
        "X64",
        "SHA256_X86_64_LINUX",
    ),
    (
        "aarch64-unknown-linux-musl",
        "Linux",
        "ARM64",
        "SHA256_AARCH64_LINUX",
    ),
];

/// Lowercase hex of 32 bytes.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// A release tag: `v` and a semantic version, optionally with a prerelease suffix.
pub fn is_release_tag(tag: &str) -> bool {
    let Some(version) = tag.strip_prefix('v') else {
        return false;
    };
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && pre.is_none_or(|p| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        })
}

/// `owner/name` as GitHub allows them.
pub fn is_repository(text: &str) -> bool {
    let Some((owner, name)) = text.split_once('/') else {
        return false;
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    part(owner) && part(name) && owner != "OWNER"
}

/// The header both forms of `action.yml` share.
fn action_yml_header() -> String {
    String::from(
        "# Generated from src/pure/contract.rs: edit the tables there, then run\n\
         # `UPDATE_GENERATED=1 cargo test --test contract` to rewrite this file and the README tables.\n\
         # On a release commit `runs:` names the published image, pinned by digest (stamped by\n\
         # tools/release-stamp.py). On any other commit the action stops at once with an error\n\
         # that says to use a release: no image is built when a workflow starts.\n\
         name: \"Vault Kubernetes handshake\"\n\
         description: \"Write a cluster's Vault kubernetes auth config (CA, API server address, client \
         JWT mode), read it back and prove it, logging in with GitHub OIDC.\"\n\
         author: \"vault-k8s-handshake\"\n\
         branding:\n  icon: \"lock\"\n  color: \"blue\"\n\
         inputs:\n",
    )
}

/// The error a commit that is not a release prints, in both actions.
const UNRELEASED_ERROR: &str = "::error title=vault-k8s-handshake is not released at this \
    commit::This commit is not a release, so its action names no image or binary. Reference a \
    release instead: uses: <owner>/vault-k8s-handshake@<release commit SHA> # vX.Y.Z (the \
    release page lists each tag and its commit). To run this checkout's own code, build it as \
    CONTRIBUTING.md describes.";

/// `action.yml` as committed on branches: every input and output, and a `runs:` that stops with
/// a clear error. The file in the repository, unless stamped, must equal this.
pub fn render_action_yml() -> String {
    let mut out = action_yml_header();
    push_inputs(&mut out);
    out.push_str("outputs:\n");
    for spec in OUTPUTS {
        out.push_str(&format!(
            "  {}:\n    description: {}\n    value: \"\"\n",
            spec.name,
            yaml_quote(spec.description)
        ));
    }
    out.push_str(&format!(
        "runs:\n  using: \"composite\"\n  steps:\n\
         \x20   - name: \"Not a release: stop\"\n\
         \x20     shell: bash\n\
         \x20     run: |\n\
         \x20       echo {}\n\
         \x20       exit 1\n",
        shell_single_quote(UNRELEASED_ERROR)
    ));
    out
}

/// `action.yml` of a release commit (or, with `ActionImage::LocalDockerfile`, of a checkout
/// whose image the runner builds): the container action.
pub fn render_stamped_action_yml(image: &ActionImage) -> String {
    let mut out = action_yml_header();
    push_inputs(&mut out);
    push_outputs(&mut out);
    out.push_str(&format!(
        "runs:\n  using: \"docker\"\n  image: {}\n  args:\n    - \"run\"\n",
        yaml_quote(&image.as_image())
    ));
    out
}

/// `node/action.yml`: the same contract as a JavaScript action (`node24`) that runs the
/// committed bundle, the core compiled to WebAssembly with a Node driver (`node/`). It needs no
/// Docker and runs on any runner OS and architecture; the bundle is committed, so every commit
/// is runnable as it is.
pub fn render_node_action_yml() -> String {
    let mut out = String::from(
        "# Generated from src/pure/contract.rs: edit the tables there, then run\n\
         # `UPDATE_GENERATED=1 cargo test --test contract` to rewrite this file.\n\
         # The Node action: the handshake's core compiled to WebAssembly (dist/core.wasm), driven by\n\
         # dist/index.js with Node's built-ins. Both are built by node/build.sh and committed.\n\
         name: \"Vault Kubernetes handshake (Node)\"\n\
         description: \"The Vault Kubernetes handshake as a JavaScript action: no Docker, any runner OS and architecture.\"\n\
         author: \"vault-k8s-handshake\"\n\
         branding:\n  icon: \"lock\"\n  color: \"blue\"\n\
         inputs:\n",
    );
    push_inputs(&mut out);
    push_outputs(&mut out);
    out.push_str("runs:\n  using: \"node24\"\n  main: \"dist/index.js\"\n");
    out
}

fn shell_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `binary/action.yml`: the same contract as a composite action that runs the release's static
/// binary on the runner itself, for self-hosted runners without Docker. Unstamped (`None`), it
/// stops with the same error as `action.yml`; a release commit stamps the repository, the tag and
/// each binary's SHA-256, so it never depends on `github.action_repository` (empty for a local
/// `uses:`, the outer action's inside another composite action) nor on a checksum file fetched
/// from the same place as the binary.
pub fn render_composite_action_yml(stamp: Option<&ReleaseStamp>) -> String {
    let mut out = String::from(
        "# Generated from src/pure/contract.rs: edit the tables there, then run\n\
         # `UPDATE_GENERATED=1 cargo test --test contract` to rewrite this file.\n\
         # For runners without Docker: downloads the release's static binary for the runner's OS and\n\
         # architecture, checks its SHA-256 against the value stamped here by the release commit\n\
         # (tools/release-stamp.py), and runs it with the inputs. On any other commit it stops with\n\
         # an error that says to use a release.\n\
         name: \"Vault Kubernetes handshake (binary)\"\n\
         description: \"The Vault Kubernetes handshake as a static binary on the runner, for \
         self-hosted runners without Docker.\"\n\
         author: \"vault-k8s-handshake\"\n\
         branding:\n  icon: \"lock\"\n  color: \"blue\"\n\
         inputs:\n",
    );
    push_inputs(&mut out);
    out.push_str("outputs:\n");
    for spec in OUTPUTS {
        out.push_str(&format!(
            "  {}:\n    description: {}\n    value: ${{{{ steps.run.outputs.{} }}}}\n",
            spec.name,
            yaml_quote(spec.description),
            spec.name
        ));
    }
    let stamped = |value: Option<&str>| yaml_quote(value.unwrap_or(""));
    out.push_str(
        "runs:\n  using: \"composite\"\n  steps:\n\
         \x20   - name: Download the release binary\n\
         \x20     shell: bash\n\
         \x20     env:\n",
    );
    out.push_str(&format!(
        "        RELEASE_REPOSITORY: {}\n        RELEASE_TAG: {}\n",
        stamped(stamp.map(|s| s.repository.as_str())),
        stamped(stamp.map(|s| s.tag.as_str())),
    ));
    for (target, _, _, var) in BINARY_TARGETS {
        let sha = stamp.and_then(|s| {
            s.binaries
                .iter()
                .find(|(t, _)| t == target)
                .map(|(_, sha)| sha.as_str())
        });
        out.push_str(&format!("        {var}: {}\n", stamped(sha)));
    }
    out.push_str(&format!(
        "        UNRELEASED_ERROR: {}\n\
         \x20       RUNNER_OS_NAME: ${{{{ runner.os }}}}\n\
         \x20       RUNNER_ARCH_NAME: ${{{{ runner.arch }}}}\n\
         \x20     run: |\n\
         \x20       set -euo pipefail\n\
         \x20       if [ -z \"$RELEASE_TAG\" ]; then echo \"$UNRELEASED_ERROR\"; exit 1; fi\n\
         \x20       case \"$RUNNER_OS_NAME/$RUNNER_ARCH_NAME\" in\n",
        yaml_quote(UNRELEASED_ERROR)
    ));
    for (target, os, arch, var) in BINARY_TARGETS {
        out.push_str(&format!(
            "          {os}/{arch}) target={target} want=${var} ;;\n"
        ));
    }
    let supported: Vec<String> = BINARY_TARGETS
        .iter()
        .map(|(_, os, arch, _)| format!("{os}/{arch}"))
        .collect();
    out.push_str(&format!(
        "          *)\n\
         \x20           echo \"::error title=no release binary for $RUNNER_OS_NAME/$RUNNER_ARCH_NAME::Releases ship static binaries for {} only. Run this job on such a runner (or use the container action on Linux with Docker).\"\n\
         \x20           exit 1 ;;\n\
         \x20       esac\n\
         \x20       dir=\"$RUNNER_TEMP/vault-k8s-handshake-bin\"\n\
         \x20       mkdir -p \"$dir\"\n\
         \x20       file=\"vault-k8s-handshake-$target\"\n\
         \x20       url=\"https://github.com/$RELEASE_REPOSITORY/releases/download/$RELEASE_TAG/$file\"\n\
         \x20       curl -fsSL --retry 3 -o \"$dir/$file\" \"$url\"\n\
         \x20       got=$(sha256sum \"$dir/$file\" | cut -d' ' -f1)\n\
         \x20       if [ \"$got\" != \"$want\" ]; then\n\
         \x20         echo \"::error title=release binary does not match::$url has SHA-256 $got, but release $RELEASE_TAG pinned $want. Do not run it; report it (SECURITY.md).\"\n\
         \x20         exit 1\n\
         \x20       fi\n\
         \x20       install -m 0755 \"$dir/$file\" \"$dir/vault-k8s-handshake\"\n\
         \x20   - name: Run the handshake\n\
         \x20     id: run\n\
         \x20     shell: bash\n\
         \x20     env:\n",
        supported.join(" and ")
    ));
    for spec in INPUTS {
        // The same variable names a container action receives: `INPUT_<NAME>`, hyphens kept.
        out.push_str(&format!(
            "        INPUT_{}: ${{{{ inputs.{} }}}}\n",
            spec.name.to_uppercase(),
            spec.name
        ));
    }
    out.push_str("      run: '\"$RUNNER_TEMP/vault-k8s-handshake-bin/vault-k8s-handshake\" run'\n");
    out
}

/// Inputs whose value may differ per environment: in the reusable workflow, `{0}` in them stands
/// for the environment's name, and an entry of `environments` may set them.
pub const PER_ENVIRONMENT_INPUTS: &[&str] = &[
    "vault-addr",
    "vault-namespace",
    "vault-namespace-jwt",
    "vault-namespace-kubernetes",
    "vault-namespace-vip",
    "jwt-mount",
    "jwt-role",
    "jwt-audience",
    "kubernetes-mount",
    "kubernetes-host",
    "vip-mount",
    "vip-secret",
    "vip-key",
    "vip-port",
    "ca-file",
    "ca-artifact",
    "ca-artifact-path",
    "proof-role",
];

/// Defaults the reusable workflow gives where the action has none (or another).
pub const REUSABLE_WORKFLOW_DEFAULTS: &[(&str, &str)] =
    &[("jwt-role", "{0}-handshake"), ("ca-artifact", "k8s-ca-{0}")];

fn is_boolean_input(spec: &InputSpec) -> bool {
    matches!(spec.default, InputDefault::Literal("true" | "false"))
}

/// The reusable workflow's `on.workflow_call.inputs` entries for the action's inputs (between
/// `# contract:inputs:start` and `# contract:inputs:end` in `.github/workflows/handshake.yml`),
/// and its `secrets` entries (between `# contract:secrets:start/end`). Secret inputs are
/// `secrets:`, everything else an input of the same name, so a caller can pass every input.
pub fn render_reusable_workflow_inputs() -> (String, String) {
    let mut inputs = String::new();
    let mut secrets = String::new();
    for spec in INPUTS {
        if spec.name == "environment" {
            continue;
        }
        let description = if PER_ENVIRONMENT_INPUTS.contains(&spec.name) {
            format!(
                "{} `{{0}}` stands for the environment; an `environments` entry may set it.",
                describe_input(spec)
            )
        } else {
            describe_input(spec)
        };
        if spec.secret {
            secrets.push_str(&format!(
                "      {}:\n        description: {}\n        required: false\n",
                spec.name,
                yaml_quote(&description)
            ));
            continue;
        }
        let default = REUSABLE_WORKFLOW_DEFAULTS
            .iter()
            .find(|(n, _)| *n == spec.name)
            .map(|(_, d)| *d);
        inputs.push_str(&format!(
            "      {}:\n        description: {}\n",
            spec.name,
            yaml_quote(&description)
        ));
        if is_boolean_input(spec) {
            let InputDefault::Literal(d) = spec.default else {
                unreachable!("is_boolean_input checked the literal default")
            };
            inputs.push_str(&format!("        type: boolean\n        default: {d}\n"));
        } else {
            let d = default.unwrap_or(match spec.default {
                InputDefault::Literal(d) if !d.contains("${{") => d,
                _ => "",
            });
            inputs.push_str(&format!(
                "        type: string\n        default: {}\n",
                yaml_quote(d)
            ));
        }
    }
    (inputs, secrets)
}

/// The `with:` of the reusable workflow's action steps (between `# contract:with:start` and
/// `# contract:with:end`, once per step), indented for a step in a job.
pub fn render_reusable_workflow_with() -> String {
    let mut out = String::new();
    for spec in INPUTS {
        let value = match spec.name {
            "environment" => "${{ matrix.environment.name }}".to_string(),
            // Picked by event in the job's env: the plan role where the run cannot write.
            "jwt-role" => "${{ env.JWT_ROLE }}".to_string(),
            "vault-addr" => "${{ matrix.environment.vault-addr || format(inputs.vault-addr, \
                             matrix.environment.name) || vars.VAULT_ADDR }}"
                .to_string(),
            "jwt-audience" => "${{ matrix.environment.jwt-audience || format(inputs.jwt-audience, \
                               matrix.environment.name) || vars.VAULT_JWT_AUDIENCE }}"
                .to_string(),
            // The environment's K8S_CA_DATA variable when no other CA source is set.
            "ca-data" => "${{ inputs.ca-data || (!(matrix.environment.ca-file || inputs.ca-file) \
                          && !(matrix.environment.ca-artifact || inputs.ca-artifact) \
                          && vars.K8S_CA_DATA) || '' }}"
                .to_string(),
            // The artifact (by default `k8s-ca-{0}`) only when no other CA source is given, so
            // setting `ca-file` or `ca-data` is enough to switch.
            "ca-artifact" => "${{ !(matrix.environment.ca-file || inputs.ca-file || inputs.ca-data) \
                              && (matrix.environment.ca-artifact || format(inputs.ca-artifact, \
                              matrix.environment.name)) || '' }}"
                .to_string(),
            "github-token" => "${{ secrets.github-token || github.token }}".to_string(),
            name if spec.secret => format!("${{{{ secrets.{name} }}}}"),
            name if PER_ENVIRONMENT_INPUTS.contains(&name) => format!(
                "${{{{ matrix.environment.{name} || format(inputs.{name}, matrix.environment.name) }}}}"
            ),
            name => format!("${{{{ inputs.{name} }}}}"),
        };
        out.push_str(&format!("          {}: {value}\n", spec.name));
    }
    out
}

/// The keys an `environments` entry may hold, as the validating job's list (between
/// `# contract:keys:start` and `# contract:keys:end`).
pub fn render_reusable_workflow_keys() -> String {
    let mut keys = vec!["name", "runs-on", "plan-role"];
    keys.extend(PER_ENVIRONMENT_INPUTS);
    let mut out = String::from("          KEYS = [\n");
    for k in keys {
        out.push_str(&format!("              \"{k}\",\n"));
    }
    out.push_str("          ]\n");
    out
}

/// The outputs the reusable workflow's `results` map carries per environment, of those the
/// action declares (`verification` joins once the action has it).
pub const REUSABLE_WORKFLOW_RESULT_OUTPUTS: &[&str] =
    &["result", "changed", "verification", "kubernetes-host"];

/// The `env:` and `run:` of the step that records one environment's outputs (between
/// `# contract:record:start` and `# contract:record:end`).
pub fn render_reusable_workflow_record() -> String {
    let names: Vec<&str> = REUSABLE_WORKFLOW_RESULT_OUTPUTS
        .iter()
        .copied()
        .filter(|n| OUTPUTS.iter().any(|o| o.name == *n))
        .collect();
    let var = |n: &str| format!("OUT_{}", n.to_uppercase().replace('-', "_"));
    let mut out =
        String::from("        env:\n          ENVIRONMENT: ${{ matrix.environment.name }}\n");
    for n in &names {
        out.push_str(&format!(
            "          {}: ${{{{ steps.handshake.outputs.{n} }}}}\n",
            var(n)
        ));
    }
    let fields: Vec<String> = names.iter().map(|n| format!("\"{n}\":%s")).collect();
    let args: Vec<String> = names
        .iter()
        .map(|n| format!("\"$(json \"${}\")\"", var(n)))
        .collect();
    out.push_str(&format!(
        "        run: |\n\
         \x20         json() {{ local s=${{1//\\\\/\\\\\\\\}}; printf '\"%s\"' \"${{s//\\\"/\\\\\\\"}}\"; }}\n\
         \x20         dir=\"$RUNNER_TEMP/vault-k8s-handshake-result\"\n\
         \x20         mkdir -p \"$dir\"\n\
         \x20         printf '{{%s:{{{}}}}}\\n' \"$(json \"$ENVIRONMENT\")\" \\\n\
         \x20           {} \\\n\
         \x20           >\"$dir/$ENVIRONMENT.json\"\n",
        fields.join(","),
        args.join(" ")
    ));
    out
}

/// The README's inputs table.
pub fn render_inputs_markdown() -> String {
    let mut out =
        String::from("| input | required | default | description |\n| --- | --- | --- | --- |\n");
    for spec in INPUTS {
        let default = match spec.default {
            InputDefault::None => String::new(),
            InputDefault::Literal(d) | InputDefault::Derived(d) => format!("`{d}`"),
        };
        let secret = if spec.secret {
            " Secret: masked, never logged."
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {}{} |\n",
            spec.name,
            if spec.required { "yes" } else { "no" },
            default,
            spec.description.replace('|', "\\|"),
            secret
        ));
    }
    out
}

/// The README's outputs table.
pub fn render_outputs_markdown() -> String {
    let mut out = String::from("| output | meaning |\n| --- | --- |\n");
    for spec in OUTPUTS {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            spec.name,
            spec.description.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        let mut raw = RawInputs::default();
        for (k, v) in [
            ("vault-addr", "https://vault.example.com:8200"),
            ("environment", "dev"),
            ("jwt-role", "gitops-dev"),
            ("ca-file", "k8s-ca.crt"),
        ] {
            raw.set(k, v);
        }
        for (k, v) in pairs {
            assert!(raw.set(k, *v), "unknown input {k}");
        }
        raw
    }

    #[test]
    fn defaults_follow_the_environment() {
        let s = parse_settings(&raw(&[]), Purpose::Run).unwrap();
        assert_eq!(s.environment, "dev");
        assert_eq!(s.kubernetes_mount.as_str(), "dev-kubernetes");
        assert_eq!(
            s.host,
            HostSource::Vip {
                mount: MountPath("kv/dev".into()),
                secret: "ip".into(),
                key: "vip".into(),
                port: 6443
            }
        );
        let oidc = s.auth.oidc.unwrap();
        assert_eq!(oidc.mount.as_str(), "jwt");
        assert_eq!(oidc.role, "gitops-dev");
        assert_eq!(oidc.audience, None);
        assert!(s.disable_local_ca_jwt);
        assert!(!s.dry_run && !s.allow_loopback_host && !s.allow_reviewer_jwt_removal);
        assert_eq!(s.ca, CaSource::File("k8s-ca.crt".into()));
        assert_eq!(
            s.vault_addr.unwrap().as_str(),
            "https://vault.example.com:8200"
        );
    }

    #[test]
    fn explicit_values_win() {
        let s = parse_settings(
            &raw(&[
                ("kubernetes-mount", "/auth-cluster-a/"),
                ("vip-mount", "secret/infra"),
                ("vip-secret", "clusters/dev"),
                ("vip-key", "address"),
                ("vip-port", "16443"),
                ("jwt-mount", "github"),
                ("jwt-audience", "https://vault.example.com"),
                ("vault-namespace", "/admin/team/"),
                ("disable-local-ca-jwt", "FALSE"),
                ("dry-run", "True"),
            ]),
            Purpose::Run,
        )
        .unwrap();
        assert_eq!(s.kubernetes_mount.as_str(), "auth-cluster-a");
        assert_eq!(s.vault_namespace.as_deref(), Some("admin/team"));
        assert_eq!(
            s.jwt_namespace.as_deref(),
            Some("admin/team"),
            "defaults to vault-namespace"
        );
        assert!(!s.disable_local_ca_jwt && s.dry_run);
        assert_eq!(
            s.host,
            HostSource::Vip {
                mount: MountPath("secret/infra".into()),
                secret: "clusters/dev".into(),
                key: "address".into(),
                port: 16443
            }
        );
        let oidc = s.auth.oidc.unwrap();
        assert_eq!(oidc.mount.as_str(), "github");
        assert_eq!(oidc.audience.as_deref(), Some("https://vault.example.com"));
    }

    #[test]
    fn host_input_and_loopback_opt_in() {
        let s = parse_settings(
            &raw(&[("kubernetes-host", "https://10.69.1.110:6443")]),
            Purpose::Run,
        )
        .unwrap();
        assert!(matches!(s.host, HostSource::Input(h) if h.as_str() == "https://10.69.1.110:6443"));
        let s = parse_settings(
            &raw(&[
                ("kubernetes-host", "https://127.0.0.2:6443"),
                ("allow-loopback-host", "true"),
            ]),
            Purpose::Run,
        )
        .unwrap();
        assert!(matches!(s.host, HostSource::Input(h) if h.is_loopback()));
    }

    #[test]
    fn token_fallback_and_plan_purpose() {
        let mut r = raw(&[("vault-token", "hvs.SECRETMARKER")]);
        r.set("jwt-role", "");
        let s = parse_settings(&r, Purpose::Run).unwrap();
        assert!(s.auth.oidc.is_none());
        assert_eq!(
            s.auth.token.as_ref().unwrap().expose_secret(),
            "hvs.SECRETMARKER"
        );
        assert!(!format!("{s:?} {r:?}").contains("SECRETMARKER"));

        let mut r = RawInputs::default();
        r.set("environment", "dev");
        r.set("kubernetes-host", "https://10.69.1.110:6443");
        r.set("ca-data", "-----BEGIN CERTIFICATE-----");
        let s = parse_settings(&r, Purpose::Plan).unwrap();
        assert!(s.vault_addr.is_none() && s.auth.oidc.is_none() && s.auth.token.is_none());
    }

    #[test]
    fn refused_inputs() {
        type Row<'a> = (&'a [(&'a str, &'a str)], Purpose, &'a str, &'a str);
        let rows: &[Row] = &[
            (
                &[("vault-addr", "")],
                Purpose::Run,
                "input `vault-addr` is required",
                "vault-addr: https://",
            ),
            (
                &[("vault-addr", "vault:8200")],
                Purpose::Run,
                "`vault-addr` has no scheme",
                "https://",
            ),
            (
                &[("vault-addr", "http://vault.example.com:8200")],
                Purpose::Run,
                "in clear text",
                "http://127.0.0.1:8200",
            ),
            (
                &[("environment", "")],
                Purpose::Run,
                "input `environment` is required",
                "environment: dev",
            ),
            (
                &[("environment", "dev env")],
                Purpose::Run,
                "input `environment` is `dev env`, expected a name of letters",
                "`staging`",
            ),
            (
                &[("environment", "../x")],
                Purpose::Run,
                "expected a name",
                "`prod`",
            ),
            (
                &[("jwt-role", "")],
                Purpose::Run,
                "input `jwt-role` is required (or `vault-token`)",
                "id-token: write",
            ),
            (
                &[("jwt-role", "a/b")],
                Purpose::Run,
                "input `jwt-role` is `a/b`, expected a Vault role name",
                "auth/jwt/role",
            ),
            (
                &[("jwt-mount", "auth/jwt")],
                Purpose::Run,
                "expected the mount path without the `auth/` prefix",
                "drop `auth/`: e.g. `jwt`",
            ),
            (
                &[("kubernetes-mount", "auth/dev-kubernetes/")],
                Purpose::Run,
                "`kubernetes-mount`",
                "e.g. `dev-kubernetes`",
            ),
            (
                &[("kubernetes-mount", "a//b")],
                Purpose::Run,
                "expected a Vault mount path",
                "vault auth list",
            ),
            (
                &[("vip-mount", "kv/../x")],
                Purpose::Run,
                "input `vip-mount`",
                "vault secrets list",
            ),
            (
                &[("vip-secret", "/ip")],
                Purpose::Run,
                "input `vip-secret` is `/ip`, expected a KV secret path",
                "the default is `ip`",
            ),
            (
                &[("vip-key", "a/b")],
                Purpose::Run,
                "expected a key name",
                "the default is `vip`",
            ),
            (
                &[("vip-port", "0")],
                Purpose::Run,
                "input `vip-port` is `0`, expected a TCP port",
                "`6443`",
            ),
            (
                &[("vip-port", "six")],
                Purpose::Run,
                "expected a TCP port",
                "`6443`",
            ),
            (
                &[("dry-run", "yes")],
                Purpose::Run,
                "input `dry-run` is `yes`, expected `true` or `false`",
                "dry-run: true",
            ),
            (
                &[("disable-local-ca-jwt", "1")],
                Purpose::Run,
                "`disable-local-ca-jwt`",
                "not booleans",
            ),
            (
                &[("ca-file", "")],
                Purpose::Run,
                "input `ca-file` is required (or `ca-data`, or `ca-artifact`)",
                "server-ca.crt",
            ),
            (
                &[("ca-data", "x")],
                Purpose::Run,
                "inputs `ca-file` and `ca-data` are all set",
                "keep one",
            ),
            (
                &[("kubernetes-host", "https://127.0.0.1:6443")],
                Purpose::Run,
                "loopback",
                "rke2.yaml",
            ),
            (
                &[("kubernetes-host", "10.69.1.110:6443")],
                Purpose::Run,
                "`kubernetes-host` has no scheme",
                "https://",
            ),
            (
                &[("vault-namespace", "admin team")],
                Purpose::Run,
                "input `vault-namespace`",
                "vault namespace list",
            ),
            (
                &[("vault-ca-cert", "/etc/ssl/vault-ca.pem")],
                Purpose::Run,
                "input `vault-ca-cert` is not valid, expected PEM text",
                "not its path",
            ),
            (
                &[("jwt-audience", "a b")],
                Purpose::Run,
                "input `jwt-audience`",
                "bound_audiences",
            ),
            (
                &[("vault-token", "hvs.SECRETMARKER\n")],
                Purpose::Run,
                "input `vault-token` is not valid",
                "trailing newline",
            ),
            (
                &[],
                Purpose::Plan,
                "input `kubernetes-host` is required for an offline plan",
                "--kubernetes-host",
            ),
        ];
        for (pairs, purpose, message, hint) in rows {
            let err = parse_settings(&raw(pairs), *purpose).expect_err(message);
            let shown = err.to_string();
            assert!(
                shown.contains(message),
                "{pairs:?}: {shown:?} lacks {message:?}"
            );
            let h = err.hint().unwrap();
            assert!(h.contains(hint), "{pairs:?}: hint {h:?} lacks {hint:?}");
            assert!(!format!("{shown}{h}{err:?}").contains("SECRETMARKER"));
            assert_eq!(err.class(), ErrorClass::User);
        }
    }

    #[test]
    fn tables_are_well_formed() {
        let mut names: Vec<&str> = INPUTS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), INPUTS.len(), "duplicate input");
        for spec in INPUTS {
            assert!(
                spec.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                spec.name
            );
            assert!(spec.description.ends_with('.'), "{}", spec.name);
            assert!(
                !(spec.required && spec.default != InputDefault::None),
                "{}",
                spec.name
            );
        }
        let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        for o in outcomes {
            assert!(OUTPUTS[0].description.contains(&format!("`{o}`")), "{o}");
        }
    }
}
