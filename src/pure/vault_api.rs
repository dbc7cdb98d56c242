//! The Vault endpoints the handshake calls, described as data, and what their failures mean.
//!
//! Each endpoint is a function returning a `Request` (method, path, namespace, retry policy):
//! describing a call is separate from sending it, so a driver stays a dumb sender and every rule
//! about Vault (which calls may be retried, what a 403 on a config write means, which hint fixes
//! it) is here, testable without a Vault. Request bodies that carry secrets are added by the
//! handshake (`pure::machine::vault`) at send time; this module never sees a secret. Facts:
//! docs/vault-behaviour.md.

use std::fmt;

use super::{Diagnostic, ErrorClass};

/// HTTP methods the handshake uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Whether a failed call may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Reads: retried on connection errors and 412/429/500/502/503/504.
    Idempotent,
    /// The config write is a full replace, so sending it twice is harmless, but a request that
    /// may have been applied is not repeated blindly: only statuses that say "not processed"
    /// (412, 429, 503) are retried, never connection errors after the body was sent.
    ReplaceWrite,
    /// Logins: each attempt mints a token, so a login is never retried.
    Never,
}

/// What a call is for: picks the meaning of its failures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    Health,
    JwtLogin {
        mount: String,
        role: String,
        audience: String,
    },
    LookupSelf,
    /// The VIP's secret: `<mount>/data/<secret>` on KV v2, `<mount>/<secret>` on KV v1.
    ReadVip {
        mount: String,
        secret: String,
        key: String,
        kv_version: u8,
    },
    /// What `sys/internal/ui/mounts/<path>` says of the mount serving `path`.
    MountInfo {
        path: String,
    },
    ReadConfig {
        mount: String,
    },
    WriteConfig {
        mount: String,
    },
    /// The login ESO makes, with the proof JWT.
    ProofLogin {
        mount: String,
        role: String,
    },
    RevokeSelf,
    /// The dry run's question: may this token write the config?
    CapabilitiesSelf {
        path: String,
    },
}

/// One Vault call, without its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Path after `/v1/`, relative to `namespace`.
    pub path: String,
    pub query: Vec<(&'static str, &'static str)>,
    pub namespace: Option<String>,
    pub retry: Retry,
    /// Sent with the action's token (`X-Vault-Token`); false for the login.
    pub authenticated: bool,
    pub purpose: Purpose,
}

/// `GET sys/health?standbyok=true&perfstandbyok=true`: reachable and unsealed, any node role.
pub fn health(namespace: Option<&str>) -> Request {
    Request {
        method: Method::Get,
        path: "sys/health".into(),
        // Without these a standby answers 429 and a performance standby 473 (§1.7).
        query: vec![("standbyok", "true"), ("perfstandbyok", "true")],
        namespace: namespace.map(str::to_string),
        retry: Retry::Idempotent,
        authenticated: false,
        purpose: Purpose::Health,
    }
}

/// `POST auth/<mount>/login` with `{role, jwt}` (the JWT is added at send time).
pub fn jwt_login(mount: &str, role: &str, audience: &str, namespace: Option<&str>) -> Request {
    Request {
        method: Method::Post,
        path: format!("auth/{mount}/login"),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Never,
        authenticated: false,
        purpose: Purpose::JwtLogin {
            mount: mount.into(),
            role: role.into(),
            audience: audience.into(),
        },
    }
}

/// `GET auth/token/lookup-self`: proves a supplied token works and shows its policies.
pub fn lookup_self(namespace: Option<&str>) -> Request {
    Request {
        method: Method::Get,
        path: "auth/token/lookup-self".into(),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Idempotent,
        authenticated: true,
        purpose: Purpose::LookupSelf,
    }
}

/// Where a KV secret is read: `<mount>/<secret>` on KV v1, which keeps a secret at its own
/// path, and `<mount>/data/<secret>` on KV v2 (§6).
pub fn kv_secret_path(mount: &str, secret: &str, kv_version: u8) -> String {
    if kv_version == 1 {
        format!("{mount}/{secret}")
    } else {
        format!("{mount}/data/{secret}")
    }
}

/// `GET` the VIP's secret, at [`kv_secret_path`].
pub fn read_vip(
    mount: &str,
    secret: &str,
    key: &str,
    kv_version: u8,
    namespace: Option<&str>,
) -> Request {
    Request {
        method: Method::Get,
        path: kv_secret_path(mount, secret, kv_version),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Idempotent,
        authenticated: true,
        purpose: Purpose::ReadVip {
            mount: mount.into(),
            secret: secret.into(),
            key: key.into(),
            kv_version,
        },
    }
}

/// `GET sys/internal/ui/mounts/<path>`: the mount serving `path`, its engine and its options,
/// which is how the `vault kv` commands tell KV v1 from v2 before each call. Vault answers it
/// to any token with some capability under that mount, and 403 `preflight capability check
/// returned 403, …` otherwise or when no mount serves the path (§6).
pub fn mount_info(path: &str, namespace: Option<&str>) -> Request {
    Request {
        method: Method::Get,
        path: format!("sys/internal/ui/mounts/{path}"),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Idempotent,
        authenticated: true,
        purpose: Purpose::MountInfo { path: path.into() },
    }
}

/// The mount serving a path, as `sys/internal/ui/mounts/<path>` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountInfo {
    /// The mount's path in its namespace, without the trailing `/`.
    pub path: String,
    /// The engine: `kv` (or the legacy `generic`) for KV, anything else otherwise.
    pub engine: String,
    /// KV's version: `options.version` `"2"`, and 1 when `options` or its `version` is absent
    /// or empty, as the `vault kv` commands read it (`kvPreflightVersionRequest`).
    pub kv_version: u8,
}

impl MountInfo {
    pub fn is_kv(&self) -> bool {
        self.engine == "kv" || self.engine == "generic"
    }
}

/// Reads the answer of [`mount_info`]; `None` when it is not the shape Vault answers. The path
/// and the engine's name are quoted in messages, so only a plain path (letters, digits, `-`,
/// `_`, `.`, `/`) is taken: nothing a reader of the log, or the runner's command parser, could
/// take for more than a name.
pub fn parse_mount_info(body: &serde_json::Value) -> Option<MountInfo> {
    let data = body.get("data")?;
    let path = data
        .get("path")?
        .as_str()?
        .trim_end_matches('/')
        .to_string();
    let engine = data.get("type")?.as_str()?.to_string();
    let version = data
        .get("options")
        .and_then(|o| o.get("version"))
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let kv_version = match version {
        "2" => 2,
        "" | "1" => 1,
        _ => return None,
    };
    let plain = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    };
    if !plain(&path) || !plain(&engine) {
        return None;
    }
    Some(MountInfo {
        path,
        engine,
        kv_version,
    })
}

/// `GET auth/<mount>/config`.
pub fn read_config(mount: &str, namespace: Option<&str>) -> Request {
    Request {
        method: Method::Get,
        path: format!("auth/{mount}/config"),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Idempotent,
        authenticated: true,
        purpose: Purpose::ReadConfig {
            mount: mount.into(),
        },
    }
}

/// `POST auth/<mount>/config` with the plan's body (a full replace).
pub fn write_config(mount: &str, namespace: Option<&str>) -> Request {
    Request {
        method: Method::Post,
        path: format!("auth/{mount}/config"),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::ReplaceWrite,
        authenticated: true,
        purpose: Purpose::WriteConfig {
            mount: mount.into(),
        },
    }
}

/// `POST auth/<mount>/login` with `{role, jwt}` on a kubernetes mount (the JWT is added by the
/// shell). Never retried by the client: the proof loop decides.
pub fn proof_login(mount: &str, role: &str, namespace: Option<&str>) -> Request {
    Request {
        method: Method::Post,
        path: format!("auth/{mount}/login"),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Never,
        authenticated: false,
        purpose: Purpose::ProofLogin {
            mount: mount.into(),
            role: role.into(),
        },
    }
}

/// `POST auth/token/revoke-self`: 204; a second call answers 403 (already gone).
pub fn revoke_self(namespace: Option<&str>) -> Request {
    Request {
        method: Method::Post,
        path: "auth/token/revoke-self".into(),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        retry: Retry::Idempotent,
        authenticated: true,
        purpose: Purpose::RevokeSelf,
    }
}

/// `POST sys/capabilities-self` with `{"paths": [path]}` (the body is added at send time): the
/// token's capabilities on `path`. Vault's `default` policy grants it to every token, so a dry
/// run can ask whether the real run's write would be allowed without trying it.
pub fn capabilities_self(path: &str, namespace: Option<&str>) -> Request {
    Request {
        method: Method::Post,
        path: "sys/capabilities-self".into(),
        query: Vec::new(),
        namespace: namespace.map(str::to_string),
        // Asking changes nothing, so it is retried like a read.
        retry: Retry::Idempotent,
        authenticated: true,
        purpose: Purpose::CapabilitiesSelf { path: path.into() },
    }
}

/// The capabilities of `path` in a `sys/capabilities-self` answer: Vault puts them under the
/// path's own key (in `data` and, for the legacy shape, at the top level), and with a single
/// path also under `capabilities`.
pub fn parse_capabilities(body: &serde_json::Value, path: &str) -> Option<Vec<String>> {
    let list = |v: &serde_json::Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
    };
    [
        body.pointer("/data").and_then(|d| d.get(path)),
        body.get(path),
        body.pointer("/data/capabilities"),
        body.get("capabilities"),
    ]
    .into_iter()
    .flatten()
    .find_map(list)
}

/// True when these capabilities allow the config write: `update` (a config write has no
/// existence check, so `create` alone is not enough), or `root`.
pub fn allows_config_write(capabilities: &[String]) -> bool {
    capabilities.iter().any(|c| c == "update" || c == "root")
}

/// The action's token as a policy fix needs it: its policies, as Vault reported them at login or
/// lookup, and the namespace it (and so each of its policies) lives in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenPolicies {
    pub names: Vec<String>,
    pub namespace: Option<String>,
}

/// The policy change that lets a token write the config, as a command that works when pasted:
/// the policy is read, the `path` block appended, and the policy written back, so nothing it
/// already grants is lost. The first of the token's policies besides `default` is the one to
/// extend (the `default` policy is Vault's and shared by every token). `namespace` is the
/// config's.
pub fn config_write_policy_fix(
    mount: &str,
    namespace: Option<&str>,
    policies: &TokenPolicies,
) -> String {
    policy_fix(
        &format!("auth/{mount}/config"),
        namespace,
        &["read", "update"],
        "`update` (`create` alone is not enough: the path has no existence check)",
        policies,
    )
}

/// `path` of namespace `at` as a policy of namespace `from` names it: a policy reaches its own
/// namespace and the ones below it, by their path relative to its own (`team/auth/k/config`
/// from `admin` for `auth/k/config` in `admin/team`); `None` when `at` is not below `from`.
pub fn path_from_namespace(from: Option<&str>, at: Option<&str>, path: &str) -> Option<String> {
    let (from, at) = (from.unwrap_or(""), at.unwrap_or(""));
    if from == at {
        return Some(path.to_string());
    }
    let below = if from.is_empty() {
        at
    } else {
        at.strip_prefix(from)?.strip_prefix('/')?
    };
    Some(format!("{below}/{path}"))
}

/// The policy change that grants `capabilities` on `path` (of namespace `namespace`), as a
/// command that works when pasted (read the policy, append the `path` block, write it back:
/// nothing it grants is lost), run in the token's namespace, where its policies live. `lack`
/// says what is missing; the first of the token's policies besides `default` is the one to
/// extend (`default` is Vault's and shared by every token).
pub fn policy_fix(
    path: &str,
    namespace: Option<&str>,
    capabilities: &[&str],
    lack: &str,
    policies: &TokenPolicies,
) -> String {
    let names = &policies.names;
    let shown = if names.is_empty() {
        "unknown".to_string()
    } else {
        names
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let token_ns = policies.namespace.as_deref();
    let Some(rule_path) = path_from_namespace(token_ns, namespace, path) else {
        return format!(
            "the token's policies ({shown}) lack {lack} on `{path}` in namespace `{}`, and \
             policies of its namespace `{}` cannot reach it: log in in that namespace or one \
             above it (`vault-namespace-jwt`)",
            namespace.unwrap_or_default(),
            token_ns.unwrap_or_default()
        );
    };
    let caps: Vec<String> = capabilities.iter().map(|c| format!("\"{c}\"")).collect();
    let block = format!(
        "path \"{rule_path}\" {{ capabilities = [{}] }}",
        caps.join(", ")
    );
    let own: Vec<&String> = names
        .iter()
        .filter(|p| *p != "default" && *p != "root")
        .collect();
    let pasteable = is_plain_name(rule_path.replace('/', "").as_str());
    let fix = match own.first() {
        Some(policy) if is_plain_name(policy) && pasteable => format!(
            "the token's policies ({shown}) lack {lack} on `{rule_path}`; add `{block}` to \
             `{policy}`: `vault policy read {policy} > {policy}.hcl && printf '%s\\n' '{block}' \
             >> {policy}.hcl && vault policy write {policy} {policy}.hcl`"
        ),
        _ => format!(
            "the token's policies ({shown}) lack {lack} on `{rule_path}`; add `{block}` to a \
             policy of the role this run logs in with"
        ),
    };
    namespaced(&fix, token_ns)
}

/// The `vault` subcommands that take two words (`vault policy read`, `vault kv put`, …).
const TWO_WORD_SUBCOMMANDS: &[&str] = &["policy", "auth", "kv", "secrets", "token"];

/// `text` with `-namespace=<namespace>` in each `vault` command it quotes (a backticked span,
/// and the commands chained or substituted inside one), so a fix printed for a request sent to
/// a namespace acts there when pasted: the CLI's own flag, which reaches every command of a
/// chain and every `$(…)`, where `VAULT_NAMESPACE=…` in front would reach only the first.
/// `vault monitor` is left alone: the server's log stream is read in the root namespace. The
/// namespace is an input checked to be a Vault path, so it needs no quoting.
pub fn namespaced(text: &str, namespace: Option<&str>) -> String {
    let Some(ns) = namespace.filter(|n| !n.is_empty()) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len() + 32);
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 0 {
            out.push_str(part);
            continue;
        }
        let mut rest = part;
        while let Some(at) = next_vault_command(rest) {
            let (before, command) = rest.split_at(at);
            out.push_str(before);
            let words: Vec<&str> = command.splitn(4, ' ').collect();
            let taken = match words.get(1) {
                Some(&"monitor") | None => 1,
                Some(w) if TWO_WORD_SUBCOMMANDS.contains(w) => 3,
                Some(_) => 2,
            };
            let head: String = words[..taken.min(words.len())].join(" ");
            out.push_str(&head);
            if taken > 1 && !command.contains("-namespace=") {
                out.push_str(&format!(" -namespace={ns}"));
            }
            rest = &command[head.len()..];
        }
        out.push_str(rest);
    }
    out
}

/// Where the next `vault ` command starts in a code span: at its start, or after a shell
/// separator (`$(`, `&& `, `| `, `; `).
fn next_vault_command(span: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = span[from..].find("vault ") {
        let at = from + found;
        let before = &span[..at];
        if at == 0
            || ["$(", "&& ", "| ", "; "]
                .iter()
                .any(|s| before.ends_with(s))
        {
            return Some(at);
        }
        from = at + "vault ".len();
    }
    None
}

/// A `vault write` that adds `value` to the list `field` of `path` and keeps what the list held
/// (a role write replaces each list it names): read, strip the JSON (which the CLI indents over
/// several lines) to one comma list, end it with a comma unless it is empty, append. Vault
/// splits the value on commas and keeps empty items (`ParseCommaStringSlice`), so an empty list
/// must not leave a leading comma. `extra` goes before the field: what the role's writes must
/// carry to change nothing else ([`jwt_role_keep`], [`kubernetes_role_keep`]).
pub fn append_list_command(path: &str, field: &str, value: &str, extra: &str) -> String {
    format!(
        "vault write {path} {extra}{field}=\"$(vault read -field={field} -format=json {path} | \
         tr -d '[]\" \\n' | sed 's/.$/&,/'){value}\""
    )
}

/// What every `vault write` to a kubernetes auth role must carry so the write changes only what
/// it means to: the role's current `bound_service_account_namespace_selector`, which the
/// plugin's role write (v0.18.0, Vault 1.16, on) resets to empty whenever a write leaves it out
/// (`pathRoleCreateUpdate` reads it with `Get`, where the lists use `GetOk`). Before 1.16 the
/// read finds no such field (its complaint is dropped) and the write's empty value is ignored.
pub fn kubernetes_role_keep(role_path: &str) -> String {
    format!(
        "bound_service_account_namespace_selector=\"$(vault read \
         -field=bound_service_account_namespace_selector {role_path} 2>/dev/null)\" "
    )
}

/// What every `vault write` to a JWT role must carry so the write changes only what it means
/// to: `role_type=jwt` (a write without it makes the role `oidc`) and the role's current
/// `bound_claims_type` (a write without it resets a `glob` role to `string`, path_role.go reads
/// the schema default).
pub fn jwt_role_keep(role_path: &str) -> String {
    format!(
        "role_type=jwt bound_claims_type=\"$(vault read -field=bound_claims_type {role_path})\" "
    )
}

/// `kv/dev/data/ip#vip` (v2) or `kv/dev/ip#vip` (v1): where the VIP is read, for messages
/// (which quote it).
pub fn vip_location(mount: &str, secret: &str, key: &str, kv_version: u8) -> String {
    format!("{}#{key}", kv_secret_path(mount, secret, kv_version))
}

/// The failure when the VIP secret exists but `key` is not a string in it: which keys it does
/// hold (KV data, escaped wherever shown), and fixes that keep them: the input naming the right
/// key, or on KV v2 a `kv patch` (a `kv put` would drop every other key). KV v1 has no patch,
/// so there the VIP goes to a secret of its own.
pub fn vip_key_missing(
    mount: &str,
    secret: &str,
    key: &str,
    kv_version: u8,
    data: Option<&serde_json::Value>,
) -> (String, String) {
    let location = vip_location(mount, secret, key, kv_version);
    let keys: Vec<String> = data
        .and_then(|d| d.as_object())
        .map(|m| m.keys().take(20).cloned().collect())
        .unwrap_or_default();
    let held = if keys.is_empty() {
        "it holds no keys".to_string()
    } else {
        format!(
            "it holds {}",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let message = format!("`{location}` has no string value at key `{key}` ({held})");
    let add = if kv_version == 1 {
        let own = format!("{secret}-vip");
        if keys.is_empty() {
            format!(
                "`vault kv put {mount}/{secret} {key}=\"$VIP\"` (with `VIP` set to the address)"
            )
        } else {
            format!(
                "a `kv put` on KV v1 replaces every key, so give the VIP a secret of its own: \
                 `vault kv put {mount}/{own} {key}=\"$VIP\"` (with `VIP` set to the address) \
                 and `vip-secret: {own}`"
            )
        }
    } else {
        format!(
            "`vault kv patch -mount={mount} {secret} {key}=\"$VIP\"` (with `VIP` set to the \
             address; it keeps the other keys)"
        )
    };
    let hint = match keys.first() {
        Some(first) => format!(
            "if one of those keys holds the VIP, name it (`vip-key: {first}`); or add it: {add}"
        ),
        None => format!("add it: {add}"),
    };
    (message, hint)
}

/// What the mount serving the VIP's path means for the read that answered 404 (§6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VipMount {
    /// KV v1: the secret is at `<mount>/<secret>`, whichever mount serves it.
    KvV1,
    /// KV v2 mounted at `vip-mount`: the secret is missing.
    Missing,
    /// Not where the inputs say: another engine, or a KV v2 mount that begins above
    /// `vip-mount` (its data path is then `<that mount>/data/<rest>`).
    Wrong { message: String, hint: String },
}

/// Reads [`MountInfo`] of the mount serving `mount` against the inputs `vip-mount` and
/// `vip-secret`.
pub fn vip_mount_verdict(info: &MountInfo, mount: &str, secret: &str) -> VipMount {
    if !info.is_kv() {
        return VipMount::Wrong {
            message: format!(
                "`vip-mount` `{mount}` is served by the `{}` secrets engine mounted at `{}`, \
                 not by KV",
                info.engine, info.path
            ),
            hint: "set `vip-mount` to the KV mount that holds the VIP, or pass \
                   `kubernetes-host`"
                .to_string(),
        };
    }
    if info.kv_version == 1 {
        return VipMount::KvV1;
    }
    if info.path == mount {
        return VipMount::Missing;
    }
    match mount.strip_prefix(&format!("{}/", info.path)) {
        Some(inner) => VipMount::Wrong {
            message: format!(
                "`vip-mount` `{mount}` is inside the KV v2 mount `{}`, so the VIP's data path \
                 is `{}/data/{inner}/{secret}`, not `{mount}/data/{secret}`",
                info.path, info.path
            ),
            hint: format!(
                "set `vip-mount: {}` and `vip-secret: {inner}/{secret}`",
                info.path
            ),
        },
        // A mount that does not contain `vip-mount` cannot serve its path: the description
        // is not one to act on.
        None => VipMount::Missing,
    }
}

/// A policy name safe to paste unquoted into a shell command.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Whether a response status may be retried under a policy.
pub fn retryable_status(retry: Retry, status: u16) -> bool {
    match retry {
        // Vault's own Go client retries 412 (a performance standby has not caught up yet).
        Retry::Idempotent => matches!(status, 412 | 429 | 500 | 502 | 503 | 504),
        Retry::ReplaceWrite => matches!(status, 412 | 429 | 503),
        Retry::Never => false,
    }
}

/// Whether a connection-level failure may be retried under a policy.
pub fn retryable_connection(retry: Retry) -> bool {
    retry == Retry::Idempotent
}

/// A Vault answer that is not a success, with everything that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultFailure {
    pub method: Method,
    pub path: String,
    pub namespace: Option<String>,
    pub status: u16,
    /// Vault's `errors` list, multierror wrapping removed (`1 error occurred: * x` → `x`).
    pub errors: Vec<String>,
    pub purpose: Purpose,
}

/// Strips go-multierror's wrapping: `"1 error occurred:\n\t* permission denied\n\n"` →
/// `["permission denied"]` (§1.4).
pub fn unwrap_errors(errors: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for e in errors {
        let trimmed = e.trim();
        if trimmed.contains("error occurred:") || trimmed.contains("errors occurred:") {
            for line in trimmed.lines().skip(1) {
                let item = line.trim().trim_start_matches('*').trim();
                if !item.is_empty() {
                    out.push(item.to_string());
                }
            }
        } else if !trimmed.is_empty() {
            out.push(trimmed.to_string());
        }
    }
    out
}

impl VaultFailure {
    fn said(&self, needle: &str) -> bool {
        self.errors.iter().any(|e| e.contains(needle))
    }

    /// Vault's router found no mount for the path (`no handler for route`, §1.8).
    pub fn no_route(&self) -> bool {
        self.said("no handler for route")
    }

    fn location(&self) -> String {
        match &self.namespace {
            Some(ns) => format!(
                "`{} {}` (namespace `{ns}`)",
                self.method.as_str(),
                self.path
            ),
            None => format!("`{} {}`", self.method.as_str(), self.path),
        }
    }
}

impl fmt::Display for VaultFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.purpose {
            Purpose::Health => "Vault's health check failed",
            Purpose::JwtLogin { .. } => "Vault refused the GitHub OIDC login",
            Purpose::LookupSelf => "Vault refused `vault-token`",
            Purpose::ReadVip { .. } => "reading the VIP from Vault KV failed",
            Purpose::MountInfo { .. } => "asking Vault which mount serves the VIP failed",
            Purpose::ReadConfig { .. } => "reading the kubernetes auth config failed",
            Purpose::WriteConfig { .. } => "writing the kubernetes auth config failed",
            Purpose::ProofLogin { .. } => "the proof login failed",
            Purpose::RevokeSelf => "revoking the action's token failed",
            Purpose::CapabilitiesSelf { .. } => "asking Vault for the token's capabilities failed",
        };
        write!(f, "{what}: {} answered {}", self.location(), self.status)?;
        if !self.errors.is_empty() {
            let quoted: Vec<String> = self.errors.iter().map(|e| format!("`{e}`")).collect();
            write!(f, " {}", quoted.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for VaultFailure {}

impl Diagnostic for VaultFailure {
    fn area(&self) -> super::Area {
        super::Area::Vault
    }

    fn class(&self) -> ErrorClass {
        match self.status {
            400 | 403 | 404 | 405 => ErrorClass::User,
            _ => ErrorClass::Remote,
        }
    }

    fn hint(&self) -> Option<String> {
        let no_route = self.no_route();
        let denied = self.status == 403 || self.said("permission denied");
        let hint = match &self.purpose {
            Purpose::Health => match self.status {
                503 => {
                    "Vault is sealed or has no active node: unseal it or wait for leader election"
                        .to_string()
                }
                501 => "Vault is not initialised".to_string(),
                _ => "check `vault-addr` and that Vault is reachable from the runner".to_string(),
            },
            Purpose::JwtLogin {
                mount,
                role,
                audience,
            } => {
                let role_path = format!("auth/{mount}/role/{role}");
                if self.said("invalid audience (aud) claim") {
                    format!(
                        "add the audience this run requested to the role's `bound_audiences`, \
                         keeping the ones it binds: `{}`; or set `jwt-audience` to a bound value",
                        append_list_command(
                            &role_path,
                            "bound_audiences",
                            audience,
                            &jwt_role_keep(&role_path)
                        )
                    )
                } else if self.said("audience claim found in JWT but no audiences bound") {
                    format!(
                        "bind the audience on the role: `vault write {role_path} {}bound_audiences={audience}`",
                        jwt_role_keep(&role_path)
                    )
                } else if self.said("could not be found") || self.said("missing role") {
                    format!("no role `{role}` on `auth/{mount}`: check `jwt-role` and `jwt-mount`")
                } else if self.said("role with oidc role_type is not allowed") {
                    format!(
                        "make it a JWT role again (Vault turns a role into `oidc` when a write \
                         omits `role_type`): `vault write {role_path} {}`",
                        jwt_role_keep(&role_path).trim_end()
                    )
                } else if self.said("error validating claims") {
                    format!(
                        "the role's `bound_claims` do not match this job's claims (listed above): \
                         compare with `vault read {role_path}`; a bound value with `*` matches \
                         only under `bound_claims_type=glob` (any role write that omits it resets \
                         it to `string`, which compares literally), so if yours hold `*`: \
                         `vault write {role_path} role_type=jwt bound_claims_type=glob`"
                    )
                } else if self.said("invalid issuer") {
                    "the JWT auth config's `bound_issuer` must be `https://token.actions.\
                     githubusercontent.com` (GHES: `https://<host>/_services/token`)"
                        .to_string()
                } else if self.said("could not load configuration") {
                    format!("configure `auth/{mount}/config` with GitHub's OIDC discovery URL")
                } else if no_route || denied {
                    format!(
                        "no JWT auth method is mounted at `{mount}` in this namespace: check \
                             `jwt-mount` and `vault-namespace`"
                    )
                } else {
                    format!("check the JWT auth method at `auth/{mount}` and role `{role}`")
                }
            }
            Purpose::LookupSelf => {
                "`vault-token` is expired, revoked or from another Vault/namespace: issue a new one"
                    .to_string()
            }
            Purpose::MountInfo { path } => {
                format!("the action's token needs some capability under the mount serving `{path}`")
            }
            Purpose::ReadVip {
                mount,
                secret,
                key,
                kv_version,
            } => {
                // KV v1 keeps the secret at its own path; v2 under `data/`.
                let v1 = *kv_version == 1;
                if no_route {
                    format!(
                        "no secrets engine is mounted at `{mount}`: set `vip-mount`, or pass \
                             `kubernetes-host` instead of reading the VIP"
                    )
                } else if denied {
                    let path = kv_secret_path(mount, secret, *kv_version);
                    format!(
                        "the action's token needs `read` on `{path}` (capability or mount \
                         missing), or pass `kubernetes-host`"
                    )
                } else if self.status == 404 {
                    // On v1 the path form: `-mount=` would make the CLI write under the mount
                    // it finds, which is not `mount` when `mount` reaches inside one.
                    let put = if v1 {
                        format!("vault kv put {mount}/{secret} {key}=\"$VIP\"")
                    } else {
                        format!("vault kv put -mount={mount} {secret} {key}=\"$VIP\"")
                    };
                    format!(
                        "store the VIP, with `VIP` set to the address: `{put}`, or pass \
                         `kubernetes-host`"
                    )
                } else {
                    format!("check KV v{kv_version} mount `{mount}` and secret `{secret}`")
                }
            }
            Purpose::ReadConfig { mount } | Purpose::WriteConfig { mount } => {
                let capability = if matches!(self.purpose, Purpose::WriteConfig { .. }) {
                    "update"
                } else {
                    "read"
                };
                if no_route {
                    format!(
                        "no auth method is mounted at `auth/{mount}`: enable it (`vault auth \
                             enable -path={mount} kubernetes`) or set `kubernetes-mount`"
                    )
                } else if denied {
                    format!(
                        "the action's token needs `{capability}` on `auth/{mount}/config` \
                             (capability or mount missing; `create` alone is not enough for a \
                             config write)"
                    )
                } else if self.said("kubernetes_ca_cert must be given") {
                    "this Vault (1.9.3–1.16) requires `kubernetes_ca_cert` in client JWT mode"
                        .to_string()
                } else if self.status == 400 {
                    "Vault refused the config: see its message".to_string()
                } else {
                    format!("check the kubernetes auth method at `auth/{mount}`")
                }
            }
            Purpose::ProofLogin { mount, role } => format!(
                "check `auth/{mount}/role/{role}` and the ServiceAccount behind `proof-jwt`"
            ),
            Purpose::RevokeSelf => {
                "the token expires with its TTL; check that the role's policies \
                keep the `default` policy (it grants `auth/token/revoke-self`)"
                    .to_string()
            }
            Purpose::CapabilitiesSelf { .. } => {
                "keep Vault's `default` policy on the role (it grants `sys/capabilities-self`)"
                    .to_string()
            }
        };
        // The fix acts where the request went.
        Some(namespaced(&hint, self.namespace.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(purpose: Purpose, status: u16, errors: &[&str]) -> VaultFailure {
        let raw: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        VaultFailure {
            method: Method::Post,
            path: "auth/dev-kubernetes/config".into(),
            namespace: None,
            status,
            errors: unwrap_errors(&raw),
            purpose,
        }
    }

    #[test]
    fn multierror_wrapping_is_removed() {
        let raw = vec!["1 error occurred:\n\t* permission denied\n\n".to_string()];
        assert_eq!(unwrap_errors(&raw), vec!["permission denied"]);
        let raw =
            vec!["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n".to_string()];
        assert_eq!(
            unwrap_errors(&raw),
            vec!["permission denied", "invalid token"]
        );
        assert!(unwrap_errors(&[]).is_empty());
    }

    #[test]
    fn hints_name_the_fix() {
        let write = Purpose::WriteConfig {
            mount: "dev-kubernetes".into(),
        };
        let login = Purpose::JwtLogin {
            mount: "jwt".into(),
            role: "gitops".into(),
            audience: "https://github.com/acme".into(),
        };
        let vip = Purpose::ReadVip {
            mount: "kv/dev".into(),
            secret: "ip".into(),
            key: "vip".into(),
            kv_version: 2,
        };
        let rows: Vec<(VaultFailure, &str, &str, ErrorClass)> = vec![
            (failure(write.clone(), 403, &["1 error occurred:\n\t* permission denied\n\n"]), "answered 403 `permission denied`", "needs `update` on `auth/dev-kubernetes/config` (capability or mount missing", ErrorClass::User),
            (failure(write.clone(), 404, &["no handler for route \"auth/dev-kubernetes/config\". route entry not found."]), "answered 404", "vault auth enable -path=dev-kubernetes kubernetes", ErrorClass::User),
            (failure(write.clone(), 400, &["kubernetes_ca_cert must be given when disable_local_ca_jwt is true"]), "answered 400", "1.9.3–1.16", ErrorClass::User),
            (failure(write, 503, &["Vault is sealed"]), "answered 503", "check the kubernetes auth method", ErrorClass::Remote),
            (failure(login.clone(), 400, &["error validating token: invalid audience (aud) claim: audience claim does not match any expected audience"]), "Vault refused the GitHub OIDC login", "bound_audiences=\"$(vault read -field=bound_audiences -format=json auth/jwt/role/gitops", ErrorClass::User),
            (failure(login.clone(), 400, &["role \"gitops\" could not be found"]), "could not be found", "check `jwt-role`", ErrorClass::User),
            (failure(login.clone(), 400, &["role with oidc role_type is not allowed"]), "oidc", "role_type=jwt", ErrorClass::User),
            (failure(login.clone(), 400, &["error validating claims: claim \"environment\" does not match any associated bound claim values"]), "bound claim", "`bound_claims`", ErrorClass::User),
            (failure(login, 403, &["permission denied"]), "answered 403", "no JWT auth method is mounted at `jwt`", ErrorClass::User),
            (failure(vip.clone(), 404, &[]), "reading the VIP", "vault kv put -mount=kv/dev ip vip=\"$VIP\"", ErrorClass::User),
            (failure(vip.clone(), 403, &["permission denied"]), "answered 403", "needs `read` on `kv/dev/data/ip`", ErrorClass::User),
            (failure(vip, 404, &["no handler for route \"kv/dev/data/ip\". route entry not found."]), "no handler", "no secrets engine is mounted at `kv/dev`", ErrorClass::User),
        ];
        for (f, message, hint, class) in rows {
            let shown = f.to_string();
            assert!(shown.contains(message), "{shown:?} lacks {message:?}");
            let h = f.hint().unwrap();
            assert!(h.contains(hint), "{h:?} lacks {hint:?}");
            assert_eq!(f.class(), class, "{shown}");
        }
    }

    #[test]
    fn retry_policies() {
        for s in [412, 429, 500, 502, 503, 504] {
            assert!(retryable_status(Retry::Idempotent, s));
        }
        assert!(!retryable_status(Retry::Idempotent, 400));
        assert!(!retryable_status(Retry::Idempotent, 403));
        assert!(
            retryable_status(Retry::ReplaceWrite, 503)
                && !retryable_status(Retry::ReplaceWrite, 500)
        );
        assert!(!retryable_status(Retry::Never, 503));
        assert!(
            retryable_connection(Retry::Idempotent) && !retryable_connection(Retry::ReplaceWrite)
        );
        assert!(!retryable_connection(Retry::Never));
        assert_eq!(jwt_login("jwt", "r", "a", None).retry, Retry::Never);
        assert_eq!(
            health(None).query,
            vec![("standbyok", "true"), ("perfstandbyok", "true")]
        );
    }

    fn described(path: &str, engine: &str, options: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"data": {"path": path, "type": engine, "options": options}})
    }

    #[test]
    fn a_mount_description_reads_the_kv_version_as_the_cli_does() {
        use serde_json::json;
        let read = |body| parse_mount_info(&body).map(|i| (i.path, i.engine, i.kv_version));
        // `vault secrets enable kv` stores no version: v1, as `kvPreflightVersionRequest` reads it.
        for options in [
            json!(null),
            json!({}),
            json!({"version": ""}),
            json!({"version": "1"}),
        ] {
            assert_eq!(
                read(described("kv/dev/", "kv", options.clone())),
                Some(("kv/dev".into(), "kv".into(), 1)),
                "{options}"
            );
        }
        assert_eq!(
            read(described("kv/", "kv", json!({"version": "2"}))),
            Some(("kv".into(), "kv".into(), 2))
        );
        assert_eq!(read(described("kv/", "kv", json!({"version": "3"}))), None);
        assert_eq!(read(json!({"data": {"type": "kv"}})), None, "no path");
        assert_eq!(read(json!({"errors": []})), None);
        // Text quoted in messages: what Vault never puts in a mount's path or type is refused.
        assert_eq!(read(described("kv`/", "kv", json!(null))), None);
        assert_eq!(read(described("kv/", "kv\n::error::x", json!(null))), None);
        assert_eq!(read(described("::warning::x/", "kv", json!(null))), None);
    }

    #[test]
    fn the_mount_serving_the_vip_tells_v1_a_missing_secret_and_inputs_that_miss_it() {
        let info = |path: &str, engine: &str, kv_version| MountInfo {
            path: path.into(),
            engine: engine.into(),
            kv_version,
        };
        assert_eq!(
            vip_mount_verdict(&info("kv/dev", "kv", 1), "kv/dev", "ip"),
            VipMount::KvV1
        );
        // A v1 engine keeps `kv/dev/ip` at that path whichever mount serves it.
        assert_eq!(
            vip_mount_verdict(&info("kv", "generic", 1), "kv/dev", "ip"),
            VipMount::KvV1
        );
        assert_eq!(
            vip_mount_verdict(&info("kv/dev", "kv", 2), "kv/dev", "ip"),
            VipMount::Missing
        );
        let VipMount::Wrong { message, hint } =
            vip_mount_verdict(&info("kv", "kv", 2), "kv/dev", "ip")
        else {
            panic!("a v2 mount above vip-mount misses the secret");
        };
        assert!(
            message.contains("`kv/data/dev/ip`, not `kv/dev/data/ip`"),
            "{message}"
        );
        assert_eq!(hint, "set `vip-mount: kv` and `vip-secret: dev/ip`");
        let VipMount::Wrong { message, .. } =
            vip_mount_verdict(&info("transit", "transit", 1), "transit", "ip")
        else {
            panic!("another engine is not KV");
        };
        assert!(message.contains("`transit` secrets engine"), "{message}");
        // A description of a mount that cannot serve `vip-mount` is not acted on.
        assert_eq!(
            vip_mount_verdict(&info("other", "kv", 2), "kv/dev", "ip"),
            VipMount::Missing
        );
    }

    #[test]
    fn fixes_printed_for_a_namespace_carry_it_in_every_vault_command() {
        let chain = "add it: `vault policy read p > p.hcl && printf '%s\\n' 'x' >> p.hcl && \
                     vault policy write p p.hcl`; or `vault write auth/k/role/r a=\"$(vault read \
                     -field=a auth/k/role/r | tr -d '[]')\"`";
        assert_eq!(
            namespaced(chain, Some("admin/team")),
            "add it: `vault policy read -namespace=admin/team p > p.hcl && printf '%s\\n' 'x' \
             >> p.hcl && vault policy write -namespace=admin/team p p.hcl`; or `vault write \
             -namespace=admin/team auth/k/role/r a=\"$(vault read -namespace=admin/team -field=a \
             auth/k/role/r | tr -d '[]')\"`"
        );
        // No namespace, prose, the root-only log stream, and a flag already there: unchanged.
        assert_eq!(namespaced(chain, None), chain);
        for text in [
            "the vault server is sealed",
            "run `vault monitor -log-level=debug`",
            "`vault auth enable -namespace=a -path=k kubernetes`",
        ] {
            assert_eq!(namespaced(text, Some("a")), text);
        }
        assert_eq!(
            namespaced("`vault kv put -mount=kv/dev ip vip=1`", Some("a")),
            "`vault kv put -namespace=a -mount=kv/dev ip vip=1`"
        );
    }

    #[test]
    fn a_policy_names_paths_of_its_namespace_and_those_below_it() {
        assert_eq!(
            path_from_namespace(None, None, "auth/k/config").unwrap(),
            "auth/k/config"
        );
        assert_eq!(
            path_from_namespace(Some("admin"), Some("admin/team"), "auth/k/config").unwrap(),
            "team/auth/k/config"
        );
        assert_eq!(
            path_from_namespace(None, Some("admin/team"), "kv/x").unwrap(),
            "admin/team/kv/x"
        );
        assert_eq!(
            path_from_namespace(Some("admin"), Some("other"), "kv/x"),
            None
        );
        assert_eq!(
            path_from_namespace(Some("admin"), Some("administration"), "kv/x"),
            None
        );
        let token = TokenPolicies {
            names: vec!["default".into(), "ci".into()],
            namespace: Some("admin".into()),
        };
        let fix = policy_fix("kv/x", Some("other"), &["read"], "`read`", &token);
        assert!(fix.contains("cannot reach it"), "{fix}");
        assert!(!fix.contains("vault policy"), "{fix}");
    }

    #[test]
    fn kv_v1_reads_the_secret_at_its_path_and_its_fixes_have_no_patch() {
        assert_eq!(read_vip("kv/dev", "ip", "vip", 1, None).path, "kv/dev/ip");
        assert_eq!(
            read_vip("kv/dev", "ip", "vip", 2, None).path,
            "kv/dev/data/ip"
        );
        assert_eq!(
            mount_info("kv/dev", Some("team")).path,
            "sys/internal/ui/mounts/kv/dev"
        );
        let data = serde_json::json!({"address": "10.0.0.1"});
        let (message, hint) = vip_key_missing("kv/dev", "ip", "vip", 1, Some(&data));
        assert!(
            message.starts_with("`kv/dev/ip#vip` has no string value"),
            "{message}"
        );
        assert!(!hint.contains("patch"), "{hint}");
        assert!(
            hint.contains("`vault kv put kv/dev/ip-vip vip=\"$VIP\"`"),
            "{hint}"
        );
        let (_, hint) = vip_key_missing("kv/dev", "ip", "vip", 1, None);
        assert!(
            hint.contains("`vault kv put kv/dev/ip vip=\"$VIP\"`"),
            "{hint}"
        );
        let (message, hint) = vip_key_missing("kv/dev", "ip", "vip", 2, Some(&data));
        assert!(message.starts_with("`kv/dev/data/ip#vip`"), "{message}");
        assert!(hint.contains("vault kv patch -mount=kv/dev ip"), "{hint}");
    }
}

/// TLS to Vault failed while verifying its certificate: which input fixes it.
///
/// The shell reads `kind` (and, for a name mismatch, the names the certificate presents) from
/// rustls; the wording and the input to change are decided here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultTlsFailure {
    /// `vault-addr` as given.
    pub addr: String,
    /// The host of `vault-addr`, which the certificate must name.
    pub host: String,
    pub kind: super::probe::TlsFailureKind,
    /// The names in the certificate's subject alternative names, as rustls reports them
    /// (`DnsName("vault.example.internal")`, an IP address); empty when unknown.
    pub presented: Vec<String>,
    /// Certificates added from `vault-ca-cert` and `extra-ca-certs` (0: public roots only).
    pub cas_given: usize,
}

impl VaultTlsFailure {
    /// The presented names, unwrapped from rustls's `DnsName("…")` debug spelling.
    pub fn presented_names(&self) -> Vec<String> {
        self.presented
            .iter()
            .map(|p| match (p.find('"'), p.rfind('"')) {
                (Some(a), Some(b)) if b > a => p[a + 1..b].to_string(),
                _ => p.clone(),
            })
            .collect()
    }

    fn is_untrusted(&self) -> bool {
        use super::probe::TlsFailureKind as K;
        matches!(self.kind, K::UnknownIssuer | K::BadSignature)
    }
}

impl fmt::Display for VaultTlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::probe::TlsFailureKind as K;
        let addr = &self.addr;
        match &self.kind {
            K::UnknownIssuer | K::BadSignature if self.cas_given == 0 => write!(
                f,
                "Vault's certificate at `{addr}` is not signed by a CA the action trusts \
                 (`vault-ca-cert` is not set, so only public CAs are trusted)"
            ),
            K::UnknownIssuer | K::BadSignature => write!(
                f,
                "Vault's certificate at `{addr}` is not signed by a CA the action trusts: \
                 no CA in `vault-ca-cert` or `extra-ca-certs` signs it"
            ),
            K::NotValidForName => {
                let names = self.presented_names();
                if names.is_empty() {
                    write!(
                        f,
                        "Vault's certificate at `{addr}` is not valid for `{}`, the host of \
                         `vault-addr`",
                        self.host
                    )
                } else {
                    write!(
                        f,
                        "Vault's certificate at `{addr}` is not valid for `{}`, the host of \
                         `vault-addr`: its SANs are {}",
                        self.host,
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            }
            K::Expired => write!(f, "Vault's certificate at `{addr}` has expired"),
            K::NotYetValid => write!(f, "Vault's certificate at `{addr}` is not valid yet"),
            K::WrongPurpose => write!(
                f,
                "Vault's certificate at `{addr}` is not a TLS server certificate"
            ),
            K::NotTls { .. } => write!(f, "`{addr}` does not answer TLS"),
            K::ClosedByServer => write!(f, "Vault at `{addr}` closed the TLS handshake"),
            K::Alert(alert) => write!(f, "Vault at `{addr}` refused the TLS handshake ({alert})"),
            K::Other(detail) => write!(f, "TLS to Vault at `{addr}` failed: {detail}"),
        }
    }
}

impl std::error::Error for VaultTlsFailure {}

impl Diagnostic for VaultTlsFailure {
    fn area(&self) -> super::Area {
        super::Area::Vault
    }

    fn class(&self) -> ErrorClass {
        use super::probe::TlsFailureKind as K;
        match self.kind {
            K::UnknownIssuer | K::BadSignature | K::NotValidForName | K::NotTls { .. } => {
                ErrorClass::User
            }
            _ => ErrorClass::Remote,
        }
    }

    fn hint(&self) -> Option<String> {
        use super::probe::TlsFailureKind as K;
        Some(match &self.kind {
            _ if self.is_untrusted() && self.cas_given > 0 => {
                "set `vault-ca-cert` to the CA that signs Vault's certificate (PEM or base64), \
                 not another one; `openssl s_client -showcerts` shows its issuer"
                    .into()
            }
            _ if self.is_untrusted() => {
                "set `vault-ca-cert` to the CA that signs it (PEM or base64)".into()
            }
            K::NotValidForName => format!(
                "set `vault-addr` to a host in the certificate's SANs, or reissue Vault's \
                 certificate with `{}` in its SANs",
                self.host
            ),
            K::Expired | K::NotYetValid => {
                "renew Vault's TLS certificate (or check the runner's clock)".into()
            }
            K::NotTls { .. } => {
                "check `vault-addr`: use `http://` only for a Vault on this machine, or the \
                 port of Vault's TLS listener"
                    .into()
            }
            _ => "check `vault-addr` and Vault's TLS listener".into(),
        })
    }
}

#[cfg(test)]
mod tls_failure_tests {
    use super::*;
    use crate::pure::probe::TlsFailureKind;

    fn failure(kind: TlsFailureKind, cas_given: usize) -> VaultTlsFailure {
        VaultTlsFailure {
            addr: "https://vault.internal:8200".into(),
            host: "vault.internal".into(),
            kind,
            presented: vec![
                "DnsName(\"vault.example.internal\")".into(),
                "IpAddress(10.0.0.5)".into(),
            ],
            cas_given,
        }
    }

    #[test]
    fn an_unknown_issuer_names_vault_ca_cert() {
        let f = failure(TlsFailureKind::UnknownIssuer, 0);
        assert!(f
            .to_string()
            .contains("is not signed by a CA the action trusts"));
        assert_eq!(
            f.hint().unwrap(),
            "set `vault-ca-cert` to the CA that signs it (PEM or base64)"
        );
        assert_eq!(f.class(), ErrorClass::User);
    }

    #[test]
    fn a_wrong_ca_says_vault_ca_cert_does_not_sign_it() {
        let f = failure(TlsFailureKind::UnknownIssuer, 1);
        assert!(f
            .to_string()
            .contains("no CA in `vault-ca-cert` or `extra-ca-certs` signs it"));
        assert!(f.hint().unwrap().contains("`vault-ca-cert`"));
    }

    #[test]
    fn a_name_mismatch_names_vault_addr_and_the_sans() {
        let f = failure(TlsFailureKind::NotValidForName, 1);
        let text = f.to_string();
        assert!(
            text.contains("`vault.internal`, the host of `vault-addr`"),
            "{text}"
        );
        assert!(
            text.contains("`vault.example.internal`, `IpAddress(10.0.0.5)`"),
            "{text}"
        );
        assert!(f.hint().unwrap().starts_with("set `vault-addr`"));
    }
}
