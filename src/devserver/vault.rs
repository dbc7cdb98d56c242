//! The in-memory Vault: namespaces, mounts, tokens, ACL, and the backends the handshake and its
//! operators use (sys, token, KV v2, JWT auth, kubernetes auth). The `sys/` backend lives in
//! `sys` and the KV engines in `kv`; token, JWT and kubernetes routing stays here.
//!
//! Synchronous and deterministic: one `Vault` value behind the HTTP glue, `handle` takes a
//! request and returns status and body. Behaviour, status codes and error strings follow
//! docs/vault-behaviour.md (section numbers in comments); where a version changed them, the
//! `Profile` chosen at start decides. Never reachable from outside loopback: the HTTP glue binds
//! 127.0.0.1 only.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use serde_json::{json, Map, Value};

use super::acl::{self, Acl, Operation, Policy};
use super::jwt::{self, JwtAuthConfig, JwtRole};
use super::openapi::{self, MountKind, MountRef};

mod kv;
mod sys;

use kv::{kv1, kv2};

/// The Vault release whose behaviour the server follows where versions differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    /// 1.15: no `token_reviewer_jwt_set` or `use_annotations_as_alias_metadata`; client JWT mode
    /// without a CA refused.
    V1_15,
    /// 1.16: `token_reviewer_jwt_set` on read; client JWT mode without a CA still refused.
    V1_16,
    /// 1.17+: CA optional in client JWT mode, PEM checked on write, `invalid token` on bad tokens.
    V1_17,
}

impl Profile {
    pub fn parse(text: &str) -> Option<Profile> {
        match text {
            "1.15" => Some(Profile::V1_15),
            "1.16" => Some(Profile::V1_16),
            "1.17" | "1.18" | "1.19" | "1.20" | "1.21" => Some(Profile::V1_17),
            _ => None,
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Profile::V1_15 => "1.15.6",
            Profile::V1_16 => "1.16.3",
            Profile::V1_17 => "1.17.6",
        }
    }

    fn k8s_plugin(self) -> &'static str {
        match self {
            Profile::V1_15 => "v0.17.1+builtin",
            Profile::V1_16 => "v0.18.0+builtin",
            Profile::V1_17 => "v0.19.0+builtin",
        }
    }
}

/// One request, as the HTTP glue parsed it.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// GET, POST, PUT, DELETE or LIST (a GET with `list=true` is turned into LIST).
    pub method: String,
    /// After `/v1/`, without a trailing `?query`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub namespace: String,
    pub token: Option<String>,
    pub body: Option<Value>,
}

/// The answer: status and JSON body (None for 204).
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub status: u16,
    pub body: Option<Value>,
}

fn errors(status: u16, messages: &[&str]) -> Outgoing {
    Outgoing {
        status,
        body: Some(json!({ "errors": messages })),
    }
}

/// Vault wraps errors on the normal request path with go-multierror (§1.4).
fn multierror(status: u16, messages: &[&str]) -> Outgoing {
    let mut text = format!(
        "{} error{} occurred:\n",
        messages.len(),
        if messages.len() == 1 { "" } else { "s" }
    );
    for m in messages {
        text.push_str(&format!("\t* {m}\n"));
    }
    text.push('\n');
    errors(status, &[&text])
}

fn no_content() -> Outgoing {
    Outgoing {
        status: 204,
        body: None,
    }
}

/// A write's answer: 204, or 200 with a body when there are warnings (§1.3).
fn written(warnings: Vec<String>) -> Outgoing {
    if warnings.is_empty() {
        return no_content();
    }
    Outgoing {
        status: 200,
        body: Some(envelope(Value::Null, None, Some(warnings))),
    }
}

/// A mount: secrets engine or auth method.
#[derive(Clone, Debug)]
struct Mount {
    kind: MountKind,
    type_name: String,
    accessor: String,
    kv_version: Option<u8>,
    /// `options` as `sys/mounts` shows them: `{"version": …}` when the mount was enabled with
    /// one (or as `kv-v2`), null for a plain `kv`, which is KV v1.
    options: Value,
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Kv(BTreeMap<String, Vec<KvVersion>>),
    Jwt {
        config: Option<JwtAuthConfig>,
        roles: BTreeMap<String, JwtRole>,
    },
    Kubernetes {
        config: Option<K8sConfig>,
        roles: BTreeMap<String, Map<String, Value>>,
    },
    Token,
}

#[derive(Clone, Debug)]
struct KvVersion {
    data: Option<Value>,
    created: String,
    deleted: String,
    destroyed: bool,
}

/// The kubernetes auth config as stored (§3.1). The reviewer JWT is kept but never returned.
#[derive(Clone, Debug, PartialEq)]
pub struct K8sConfig {
    pub kubernetes_host: String,
    pub kubernetes_ca_cert: String,
    pub token_reviewer_jwt: String,
    pub pem_keys: Vec<String>,
    pub issuer: String,
    pub disable_iss_validation: bool,
    pub disable_local_ca_jwt: bool,
    pub use_annotations_as_alias_metadata: bool,
}

#[derive(Clone, Debug)]
struct TokenEntry {
    namespace: String,
    policies: Vec<String>,
    accessor: String,
    display_name: String,
    path: String,
    meta: Map<String, Value>,
    created: i64,
    expires: Option<i64>,
    ttl: i64,
}

/// The whole server state.
pub struct Vault {
    profile: Profile,
    pub(super) now: fn() -> i64,
    namespaces: Vec<String>,
    /// (namespace, path without trailing slash; auth mounts prefixed `auth/`) → mount.
    mounts: BTreeMap<(String, String), Mount>,
    policies: BTreeMap<(String, String), Policy>,
    tokens: HashMap<String, TokenEntry>,
    revoked: Vec<String>,
    root_token: String,
    counter: u64,
    debug_log: Vec<String>,
    monitor_lines: Vec<MonitorLine>,
}

/// What a successful login grants, for minting its token.
struct LoginGrant<'a> {
    namespace: &'a str,
    mount: &'a str,
    accessor_prefix: &'a str,
    policies: Vec<String>,
    display_name: String,
    meta: Map<String, Value>,
    /// Seconds; 0 for the mount's default.
    ttl: i64,
}

/// A kubernetes login waiting for its TokenReview. Holds the login JWT: never printed.
/// hclog's levels, lowest first; the monitor sends lines at or above the level asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MonitorLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One server log line at debug level, as `vault monitor` would receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorLine {
    pub time: i64,
    /// The logger's name, e.g. `auth.kubernetes.auth_kubernetes_1a2b3c4d`.
    pub module: String,
    /// The message, e.g. `login unauthorized`.
    pub message: String,
    /// The key-value pairs logged with it, e.g. `err` and the reason.
    pub pairs: Vec<(String, String)>,
}

impl MonitorLine {
    /// As hashicorp/go-hclog writes it. Standard format: `<time> [DEBUG] <module>: <message>:
    /// <key>=<value> …`, the time as `2006-01-02T15:04:05.000Z0700`, a value quoted as Go's
    /// `strconv.Quote` does when it holds anything beyond letters, digits and `-._/@^+`. JSON
    /// format: `@level`, `@message`, `@module`, `@timestamp` (`…05.000000Z07:00`), then the
    /// pairs.
    pub fn render(&self, json: bool) -> String {
        let when = time::OffsetDateTime::from_unix_timestamp(self.time)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let stamp = |digits_6: bool| {
            let text = if digits_6 {
                when.format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
                ))
            } else {
                when.format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
                ))
            };
            text.unwrap_or_default()
        };
        if json {
            let mut object = serde_json::Map::new();
            object.insert("@level".into(), "debug".into());
            object.insert("@message".into(), self.message.clone().into());
            object.insert("@module".into(), self.module.clone().into());
            object.insert("@timestamp".into(), stamp(true).into());
            for (key, value) in &self.pairs {
                object.insert(key.clone(), value.clone().into());
            }
            return serde_json::Value::Object(object).to_string();
        }
        let pairs: Vec<String> = self
            .pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", hclog_value(value)))
            .collect();
        let mut line = format!("{} [DEBUG] {}: {}", stamp(false), self.module, self.message);
        if !pairs.is_empty() {
            line.push_str(": ");
            line.push_str(&pairs.join(" "));
        }
        line
    }
}

/// go-hclog `needsQuoting`, then Go's `strconv.Quote` for the characters an error holds.
fn hclog_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub struct PendingReview {
    namespace: String,
    mount: String,
    role: String,
    /// `<kubernetes_host>/apis/authentication.k8s.io/v1/tokenreviews`.
    pub url: String,
    /// The stored `kubernetes_ca_cert` (empty: the system roots).
    pub ca_pem: String,
    /// The reviewer JWT if one is stored, else the login JWT itself (client JWT mode).
    pub bearer: String,
    /// The JWT under review.
    pub token: String,
    pub audiences: Vec<String>,
    pub sa_namespace: String,
    pub sa_name: String,
    pub sa_uid: String,
    policies: Vec<String>,
    ttl: i64,
}

impl std::fmt::Debug for PendingReview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingReview")
            .field("url", &self.url)
            .field("sa", &self.sa_name)
            .finish_non_exhaustive()
    }
}

/// The payload of a JWT, unverified (Vault checks signatures locally only with `pem_keys`).
fn decode_jwt_claims(jwt: &str) -> Option<Map<String, Value>> {
    use base64::Engine as _;
    let mut parts = jwt.split('.');
    let header = parts.next()?;
    let payload = parts.next()?;
    parts.next()?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value =
        serde_json::from_slice(&engine.decode(header.trim_end_matches('=')).ok()?).ok()?;
    // HS* and `none` are never accepted (§3.7 step 5).
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ![
        "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
    ]
    .contains(&alg)
    {
        return None;
    }
    match serde_json::from_slice(&engine.decode(payload.trim_end_matches('=')).ok()?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// (namespace, name, uid) from a projected token's `kubernetes.io` claim or a legacy secret token.
fn service_account_of(claims: &Map<String, Value>) -> (String, String, String) {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(k) = claims.get("kubernetes.io") {
        return (
            s(k.get("namespace")),
            s(k.pointer("/serviceaccount/name")),
            s(k.pointer("/serviceaccount/uid")),
        );
    }
    (
        s(claims.get("kubernetes.io/serviceaccount/namespace")),
        s(claims.get("kubernetes.io/serviceaccount/service-account.name")),
        s(claims.get("kubernetes.io/serviceaccount/service-account.uid")),
    )
}

fn string_list(role: &Map<String, Value>, key: &str) -> Vec<String> {
    match role.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => comma_string_slice(s),
        _ => Vec::new(),
    }
}

/// `parseutil.ParseCommaStringSlice`, how Vault reads a comma-separated list field: an empty
/// string is an empty list; otherwise every item between commas, trimmed, empty ones kept
/// (`",b"` is `["", "b"]`).
fn comma_string_slice(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|x| x.trim().to_string()).collect()
}

/// Vault's role globs: `*` alone matches anything; otherwise `*` wildcards within the value.
fn glob_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let mut rest = value;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rfc3339(secs: i64) -> String {
    crate::pure::ca::Timestamp(secs).to_string()
}

impl Vault {
    pub fn new(profile: Profile, root_token: String) -> Vault {
        let mut vault = Vault {
            profile,
            now: system_now,
            namespaces: vec![String::new()],
            mounts: BTreeMap::new(),
            policies: BTreeMap::new(),
            tokens: HashMap::new(),
            revoked: Vec::new(),
            root_token: root_token.clone(),
            counter: 0,
            debug_log: Vec::new(),
            monitor_lines: Vec::new(),
        };
        vault.add_namespace_defaults("");
        vault.tokens.insert(
            root_token,
            TokenEntry {
                namespace: String::new(),
                policies: vec!["root".into()],
                accessor: "root-accessor".into(),
                display_name: "root".into(),
                path: "auth/token/root".into(),
                meta: Map::new(),
                created: system_now(),
                expires: None,
                ttl: 0,
            },
        );
        vault
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    fn add_namespace_defaults(&mut self, ns: &str) {
        let accessor = self.accessor("auth_token");
        self.mounts.insert(
            (ns.to_string(), "auth/token".into()),
            Mount {
                kind: MountKind::Token,
                type_name: "token".into(),
                accessor,
                kv_version: None,
                options: Value::Null,
                backend: Backend::Token,
            },
        );
        self.policies
            .insert((ns.to_string(), "default".into()), acl::default_policy());
    }

    fn accessor(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let random: u32 = rand::thread_rng().gen();
        format!("{prefix}_{:08x}", random ^ self.counter as u32)
    }

    fn new_token(&mut self) -> String {
        let random: u128 = rand::thread_rng().gen();
        format!("hvs.dev{random:032x}")
    }

    /// Whether a token is still valid (revoked and expired tokens are not).
    pub fn token_is_live(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|t| t.expires.is_none_or(|e| e > (self.now)()))
    }

    /// Tokens revoked so far, for tests to assert on.
    pub fn revoked_tokens(&self) -> &[String] {
        &self.revoked
    }

    /// Live tokens minted by logins (not the root token).
    pub fn live_login_tokens(&self) -> Vec<String> {
        let now = (self.now)();
        self.tokens
            .iter()
            .filter(|(_, t)| t.path.ends_with("/login") && t.expires.is_none_or(|e| e > now))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The stored kubernetes config of a mount, reviewer JWT included (for tests).
    pub fn k8s_config(&self, namespace: &str, mount: &str) -> Option<K8sConfig> {
        match &self
            .mounts
            .get(&(namespace.to_string(), format!("auth/{mount}")))?
            .backend
        {
            Backend::Kubernetes { config, .. } => config.clone(),
            _ => None,
        }
    }

    /// Removes a mount (tests stage a missing mount; `path` with `auth/` for auth methods).
    pub fn disable_mount(&mut self, namespace: &str, path: &str) -> bool {
        self.mounts
            .remove(&(namespace.to_string(), path.trim_matches('/').to_string()))
            .is_some()
    }

    /// Creates a token directly, as `vault token create -policy=…` would (for `vault-token` runs).
    pub fn create_token(&mut self, namespace: &str, policies: &[&str], ttl: i64) -> String {
        let token = self.new_token();
        let accessor = self.accessor("token");
        let now = (self.now)();
        let mut all: Vec<String> = policies.iter().map(|p| p.to_string()).collect();
        all.push("default".into());
        self.tokens.insert(
            token.clone(),
            TokenEntry {
                namespace: namespace.to_string(),
                policies: all,
                accessor,
                display_name: "token".into(),
                path: "auth/token/create".into(),
                meta: Map::new(),
                created: now,
                expires: Some(now + ttl),
                ttl,
            },
        );
        token
    }

    /// Sets the stored kubernetes config directly (tests stage broken or foreign states).
    pub fn set_k8s_config(&mut self, namespace: &str, mount: &str, new: K8sConfig) -> bool {
        match self
            .mounts
            .get_mut(&(namespace.to_string(), format!("auth/{mount}")))
        {
            Some(Mount {
                backend: Backend::Kubernetes { config, .. },
                ..
            }) => {
                *config = Some(new);
                true
            }
            _ => false,
        }
    }

    fn mount_refs(&self, ns: &str) -> Vec<(String, MountKind, bool)> {
        self.mounts
            .iter()
            .filter(|((n, _), _)| n == ns)
            .map(|((_, path), m)| match path.strip_prefix("auth/") {
                Some(p) => (p.to_string(), m.kind, true),
                None => (path.clone(), m.kind, false),
            })
            .collect()
    }

    /// The OpenAPI contract check for a request (tests fail on any violation).
    pub fn check_contract(&self, req: &Incoming) -> Result<String, String> {
        let refs = self.mount_refs(&req.namespace);
        let mounts: Vec<MountRef<'_>> = refs
            .iter()
            .map(|(p, k, a)| MountRef {
                path: p,
                kind: *k,
                auth: *a,
            })
            .collect();
        match openapi::check_request(
            &req.method,
            &req.path,
            &req.query,
            req.body.as_ref(),
            &mounts,
        ) {
            Ok(m) => Ok(m.template.to_string()),
            // A path under no mount at all is not a malformed request: the caller named a mount
            // that does not exist, and Vault answers it (403 or `no handler for route`, §1.8).
            // A path under a mount of another kind is still a violation.
            Err(openapi::Violation::UnknownPath { .. })
                if !req.path.starts_with("sys/")
                    && self.route(&req.namespace, &req.path).is_none() =>
            {
                Ok("(under no mount: answered as Vault does)".to_string())
            }
            // A path a KV v2 engine has no route for (`kv/dev/ip`, or `kv/dev/data/ip` when the
            // mount is `kv`): the engine answers it, 404 with a warning (§6).
            Err(openapi::Violation::UnknownPath { .. }) if self.kv2_has_no_route(req) => Ok(
                "(a path the KV v2 engine has no route for: answered as Vault does)".to_string(),
            ),
            Err(v) => Err(v.to_string()),
        }
    }

    /// Whether `req` names a path under a KV v2 mount whose first segment is none of the
    /// engine's routes (`path_data.go` and its siblings).
    fn kv2_has_no_route(&self, req: &Incoming) -> bool {
        let Some((mount, rest)) = self.route(&req.namespace, &req.path) else {
            return false;
        };
        let v2 = self
            .mounts
            .get(&(req.namespace.clone(), mount))
            .is_some_and(|m| m.kv_version == Some(2));
        let first = rest.split('/').next().unwrap_or_default();
        v2 && !matches!(
            first,
            "data" | "metadata" | "delete" | "undelete" | "destroy" | "config" | "subkeys"
        )
    }

    /// Handles one request.
    pub fn handle(&mut self, req: &Incoming) -> Outgoing {
        if req.path.ends_with('/') && matches!(req.method.as_str(), "POST" | "PUT") {
            return errors(400, &["cannot write to a path ending in '/'"]);
        }
        if !self.namespaces.contains(&req.namespace) {
            return errors(
                404,
                &[&format!(
                    "no handler for route \"{}\". route entry not found.",
                    req.path
                )],
            );
        }
        if req.path == "sys/health" {
            return self.health(req);
        }
        if let Some(out) = self.try_login(req) {
            return out;
        }
        if let Some(path) = req.path.strip_prefix("sys/internal/ui/mounts/") {
            if req.method == "GET" {
                return self.ui_mount(req, path);
            }
        }
        // Every other path needs a token, and the ACL runs before routing (§1.8).
        let token = match req.token.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => t.to_string(),
            None => return multierror(403, &["permission denied"]),
        };
        if !self.token_is_live(&token) {
            // 1.17+ adds `invalid token` for unknown, revoked or expired tokens (GH-25953).
            return if self.profile >= Profile::V1_17 {
                multierror(403, &["permission denied", "invalid token"])
            } else {
                multierror(403, &["permission denied"])
            };
        }
        let entry = self.tokens[&token].clone();
        let Some(acl_path) = relative_to(&entry.namespace, &req.namespace, &req.path) else {
            return multierror(403, &["permission denied"]);
        };
        let op = self.operation(req);
        if !self.allowed(&entry, &acl_path, op, &req.path) {
            return multierror(403, &["permission denied"]);
        }
        match req.path.as_str() {
            "auth/token/lookup-self" => return self.lookup_self(&token),
            "auth/token/revoke-self" => return self.revoke_self(&token),
            _ => {}
        }
        if let Some(rest) = req.path.strip_prefix("sys/") {
            return self.sys(req, rest, &token);
        }
        let Some((mount_path, rest)) = self.route(&req.namespace, &req.path) else {
            return errors(
                404,
                &[&format!(
                    "no handler for route \"{}\". route entry not found.",
                    req.path
                )],
            );
        };
        self.backend(req, &mount_path, &rest)
    }

    /// `GET sys/internal/ui/mounts/<path>` (`pathInternalUIMountRead`): the mount serving
    /// `path` (longest prefix), described as in `sys/mounts` plus its `path`. The route is
    /// unauthenticated, but it answers only a token with some capability under that mount
    /// (`hasMountAccess`); no mount, no token or no access all get the same 403, so the route
    /// cannot be used to find out which mounts exist (§6).
    fn ui_mount(&self, req: &Incoming, path: &str) -> Outgoing {
        let path = path.trim_matches('/');
        let refused = errors(
            403,
            &[&format!(
                "preflight capability check returned 403, please ensure client's policies \
                 grant access to path \"{path}/\""
            )],
        );
        let Some((mount_path, _)) = self.route(&req.namespace, path) else {
            return refused;
        };
        let Some(entry) = req
            .token
            .as_deref()
            .filter(|t| self.token_is_live(t))
            .map(|t| self.tokens[t].clone())
        else {
            return refused;
        };
        let Some(acl_path) =
            relative_to(&entry.namespace, &req.namespace, &format!("{mount_path}/"))
        else {
            return refused;
        };
        if !self.acl_of(&entry).has_mount_access(&acl_path) {
            return refused;
        }
        let mount = &self.mounts[&(req.namespace.clone(), mount_path.clone())];
        let mut data = mount_info(mount, self.profile);
        data["path"] = json!(format!("{mount_path}/"));
        Outgoing {
            status: 200,
            body: Some(envelope(data, None, None)),
        }
    }

    fn operation(&self, req: &Incoming) -> Operation {
        match req.method.as_str() {
            "GET" => Operation::Read,
            "LIST" => Operation::List,
            "DELETE" => Operation::Delete,
            _ => {
                // Only KV data paths have an existence check: a new secret is a `create`.
                // Everything else here (auth config, roles, policies) is an `update` (§3.2).
                if let Some((mount, rest)) = self.route(&req.namespace, &req.path) {
                    if let Some(Mount {
                        backend: Backend::Kv(secrets),
                        kv_version: Some(2),
                        ..
                    }) = self.mounts.get(&(req.namespace.clone(), mount))
                    {
                        if let Some(key) = rest.strip_prefix("data/") {
                            if !secrets.contains_key(key) {
                                return Operation::Create;
                            }
                        }
                    }
                }
                Operation::Update
            }
        }
    }

    /// The compiled ACL of a token's policies (those stored in its namespace; `root` allows
    /// everything).
    fn acl_of(&self, entry: &TokenEntry) -> Acl {
        let policies: Vec<&Policy> = entry
            .policies
            .iter()
            .filter_map(|name| self.policies.get(&(entry.namespace.clone(), name.clone())))
            .collect();
        Acl::new(
            &policies,
            entry.policies.iter().any(|p| p == acl::ROOT_POLICY_NAME),
        )
    }

    fn allowed(&self, entry: &TokenEntry, acl_path: &str, op: Operation, path: &str) -> bool {
        if entry.policies.iter().any(|p| p == acl::ROOT_POLICY_NAME) {
            return true;
        }
        let acl = self.acl_of(entry);
        if !acl.allows(acl_path, op) {
            return false;
        }
        // Everything under `sys/auth/<path>` is root-protected, reads included (§4.1: the sys
        // backend lists `auth/*` as a root path); `sys/mounts/<path>` writes need sudo here too.
        let sudo_path = path.starts_with("sys/auth/")
            || (path.starts_with("sys/mounts/") && op != Operation::Read);
        !sudo_path || acl.capabilities(acl_path).contains(&acl::Capability::Sudo)
    }

    /// Longest-prefix mount match: (mount path, rest of the path).
    fn route(&self, ns: &str, path: &str) -> Option<(String, String)> {
        self.mounts
            .keys()
            .filter(|(n, m)| n == ns && (path == m || path.starts_with(&format!("{m}/"))))
            .max_by_key(|(_, m)| m.len())
            .map(|(_, m)| {
                (
                    m.clone(),
                    path[m.len()..].trim_start_matches('/').to_string(),
                )
            })
    }

    fn health(&self, req: &Incoming) -> Outgoing {
        for (k, v) in &req.query {
            if (k == "standbyok" || k == "perfstandbyok") && v != "true" && v != "false" {
                return errors(400, &[]);
            }
        }
        Outgoing {
            status: 200,
            body: Some(json!({
                "initialized": true,
                "sealed": false,
                "standby": false,
                "performance_standby": false,
                "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled",
                "server_time_utc": (self.now)(),
                "version": self.profile.version(),
                "cluster_name": "vault-k8s-handshake-dev",
                "cluster_id": "00000000-0000-4000-8000-000000000000",
            })),
        }
    }

    /// Logins are unauthenticated, but only on a mount that exists: otherwise Vault cannot know
    /// the path is a login and answers 403 (§1.8, Vault ≥1.10).
    fn try_login(&mut self, req: &Incoming) -> Option<Outgoing> {
        let rest = req.path.strip_prefix("auth/")?;
        let mount = rest.strip_suffix("/login")?;
        let key = (req.namespace.clone(), format!("auth/{mount}"));
        let kind = self.mounts.get(&key)?.kind;
        if !matches!(req.method.as_str(), "POST" | "PUT") {
            return Some(multierror(405, &["unsupported operation"]));
        }
        let body = req.body.clone().unwrap_or(Value::Null);
        Some(match kind {
            MountKind::Jwt => self.jwt_login(&req.namespace, mount, &body),
            // Kubernetes logins need a TokenReview over the network: the HTTP glue runs them
            // through `k8s_login_begin` / `k8s_login_finish` instead.
            MountKind::Kubernetes => errors(
                500,
                &["dev-server: kubernetes login outside the async path"],
            ),
            _ => errors(404, &["unsupported path"]),
        })
    }

    /// True when the request is a login on a kubernetes auth mount.
    pub fn is_k8s_login(&self, req: &Incoming) -> bool {
        let Some(mount) = req
            .path
            .strip_prefix("auth/")
            .and_then(|r| r.strip_suffix("/login"))
        else {
            return false;
        };
        matches!(
            self.mounts
                .get(&(req.namespace.clone(), format!("auth/{mount}"))),
            Some(Mount {
                kind: MountKind::Kubernetes,
                ..
            })
        ) && matches!(req.method.as_str(), "POST" | "PUT")
    }

    /// The local part of a kubernetes login (§3.7 steps 1–5): what Vault checks before it calls
    /// the TokenReview API. `Err` is the answer to send now.
    pub fn k8s_login_begin(&mut self, req: &Incoming) -> Result<PendingReview, Outgoing> {
        let mount = req
            .path
            .trim_start_matches("auth/")
            .trim_end_matches("/login")
            .to_string();
        let key = (req.namespace.clone(), format!("auth/{mount}"));
        let body = req.body.clone().unwrap_or(Value::Null);
        let role_name = body
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        let jwt = body
            .get("jwt")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if role_name.is_empty() {
            return Err(errors(400, &["missing role"]));
        }
        if jwt.is_empty() {
            return Err(errors(400, &["missing jwt"]));
        }
        let Some(Mount {
            backend: Backend::Kubernetes { config, roles },
            ..
        }) = self.mounts.get(&key)
        else {
            return Err(errors(500, &["internal error"]));
        };
        let Some(role) = roles.get(&role_name).cloned() else {
            return Err(errors(
                400,
                &[&format!("invalid role name \"{role_name}\"")],
            ));
        };
        let Some(config) = config.clone() else {
            return Err(errors(500, &["could not load backend configuration"]));
        };
        let claims = match decode_jwt_claims(&jwt) {
            Some(c) => c,
            // Vault's go-jose parse failure on the login path surfaces as a 403.
            None => return Err(errors(403, &["permission denied"])),
        };
        let now = (self.now)();
        let auds: Vec<String> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let role_audience = role
            .get("audience")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !role_audience.is_empty() && !auds.contains(&role_audience) {
            return Err(errors(403, &["invalid audience (aud) claim: audience claim does not match any expected audience"]));
        }
        // The plugin's default leeway for time claims is 60 s.
        if claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp + 60 < now)
        {
            return Err(errors(
                403,
                &["invalid expiration time (exp) claim: token is expired"],
            ));
        }
        let (sa_namespace, sa_name, sa_uid) = service_account_of(&claims);
        let names = string_list(&role, "bound_service_account_names");
        if !names.iter().any(|n| glob_match(n, &sa_name)) {
            return Err(errors(403, &["service account name not authorized"]));
        }
        let namespaces = string_list(&role, "bound_service_account_namespaces");
        if !namespaces.iter().any(|n| glob_match(n, &sa_namespace)) {
            // A selector needs the namespace's labels, which the plugin reads with the
            // reviewer JWT: in client JWT mode it cannot (§3.7). Labels themselves are not
            // modelled, so with a reviewer JWT the selector matches nothing.
            let selector = role
                .get("bound_service_account_namespace_selector")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !selector.is_empty() && config.token_reviewer_jwt.is_empty() {
                return Err(errors(
                    403,
                    &[
                        "namespace not authorized err=namespace lookup failed: TokenReviewer JWT \
                       needs to be configured to use namespace selectors",
                    ],
                ));
            }
            return Err(errors(403, &["namespace not authorized"]));
        }
        if sa_uid.is_empty() {
            return Err(errors(500, &["could not parse UID from claims"]));
        }
        let bearer = if config.token_reviewer_jwt.is_empty() {
            jwt.clone()
        } else {
            config.token_reviewer_jwt.clone()
        };
        Ok(PendingReview {
            namespace: req.namespace.clone(),
            mount,
            role: role_name,
            url: format!(
                "{}/apis/authentication.k8s.io/v1/tokenreviews",
                config.kubernetes_host.trim_end_matches('/')
            ),
            ca_pem: config.kubernetes_ca_cert.clone(),
            bearer,
            token: jwt,
            audiences: if role_audience.is_empty() {
                auds
            } else {
                vec![role_audience]
            },
            sa_namespace,
            sa_name,
            sa_uid,
            policies: string_list(&role, "token_policies"),
            ttl: role
                .get("token_ttl")
                .map(|v| jwt::parse_duration_seconds(v).unwrap_or(0))
                .unwrap_or(0),
        })
    }

    /// Completes a kubernetes login with the TokenReview's verdict. Every failure is a bare 403
    /// to the client; the reason goes to the debug log only, as in Vault (§3.7 step 7).
    pub fn k8s_login_finish(
        &mut self,
        pending: PendingReview,
        review: Result<(), String>,
    ) -> Outgoing {
        if let Err(reason) = review {
            let message = format!("login unauthorized: err=\"{reason}\"");
            // The plugin's logger is named after its mount's accessor, as Vault names it
            // (`auth.kubernetes.auth_kubernetes_<hex>`).
            let module = self
                .mounts
                .get(&(pending.namespace.clone(), format!("auth/{}", pending.mount)))
                .map(|m| format!("auth.kubernetes.{}", m.accessor))
                .unwrap_or_else(|| "auth.kubernetes".into());
            self.monitor_lines.push(MonitorLine {
                time: (self.now)(),
                module,
                message: "login unauthorized".into(),
                // The body's final newline (Go's JSON encoder ends the Status with one) is not
                // part of the error as the plugin wraps it.
                pairs: vec![("err".into(), reason.trim_end().to_string())],
            });
            self.debug_log.push(message);
            return errors(403, &["permission denied"]);
        }
        let mut policies = pending.policies.clone();
        policies.push("default".into());
        let mut meta = Map::new();
        meta.insert("role".into(), json!(pending.role));
        meta.insert("service_account_name".into(), json!(pending.sa_name));
        meta.insert(
            "service_account_namespace".into(),
            json!(pending.sa_namespace),
        );
        meta.insert("service_account_secret_name".into(), json!(""));
        meta.insert("service_account_uid".into(), json!(pending.sa_uid));
        let display_name = format!(
            "{}-{}-{}",
            pending.mount.replace('/', "-"),
            pending.sa_namespace,
            pending.sa_name
        );
        self.mint_login_token(LoginGrant {
            namespace: &pending.namespace,
            mount: &pending.mount,
            accessor_prefix: "kubernetes",
            policies,
            display_name,
            meta,
            ttl: pending.ttl,
        })
    }

    /// What the server logged at debug level (TokenReview failures), for tests.
    pub fn debug_log(&self) -> &[String] {
        &self.debug_log
    }

    /// The debug lines a `sys/monitor` stream carries, oldest first.
    pub fn monitor_lines(&self) -> &[MonitorLine] {
        &self.monitor_lines
    }

    /// `GET sys/monitor` up to where Vault starts streaming (vault/logical_system.go
    /// `handleMonitor`): a live token whose ACL grants `read` with `sudo` on `sys/monitor` (a
    /// root-protected path), `log_level` one of hclog's levels (default `info`, else 400
    /// `unknown log level`), `log_format` `standard` or `json` (else 400 `unknown log
    /// format`). `Ok((level, json))`: the lowest level to send, and whether lines are JSON.
    pub fn monitor_begin(&self, req: &Incoming) -> Result<(MonitorLevel, bool), Outgoing> {
        let token = match req.token.as_deref().filter(|t| !t.is_empty()) {
            Some(t) if self.token_is_live(t) => t.to_string(),
            _ => return Err(multierror(403, &["permission denied"])),
        };
        let entry = self.tokens[&token].clone();
        let root = entry.policies.iter().any(|p| p == acl::ROOT_POLICY_NAME);
        let sudo = root || {
            let acl = self.acl_of(&entry);
            acl.allows("sys/monitor", Operation::Read)
                && acl
                    .capabilities("sys/monitor")
                    .contains(&acl::Capability::Sudo)
        };
        if !sudo || !entry.namespace.is_empty() || !req.namespace.is_empty() {
            return Err(multierror(403, &["permission denied"]));
        }
        let query = |name: &str| {
            req.query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_ascii_lowercase())
                .unwrap_or_default()
        };
        let level = match query("log_level").as_str() {
            "" | "info" => MonitorLevel::Info,
            "trace" => MonitorLevel::Trace,
            "debug" => MonitorLevel::Debug,
            "warn" => MonitorLevel::Warn,
            "error" => MonitorLevel::Error,
            _ => return Err(errors(400, &["unknown log level"])),
        };
        let json = match query("log_format").as_str() {
            "" | "standard" => false,
            "json" => true,
            _ => return Err(errors(400, &["unknown log format"])),
        };
        Ok((level, json))
    }

    fn jwt_login(&mut self, ns: &str, mount: &str, body: &Value) -> Outgoing {
        let key = (ns.to_string(), format!("auth/{mount}"));
        let (config, roles) = match &self.mounts[&key].backend {
            Backend::Jwt { config, roles } => (config.clone(), roles.clone()),
            _ => return errors(500, &["internal error"]),
        };
        // The dev server listens on loopback only: every client is 127.0.0.1.
        let client = Some(std::net::IpAddr::from([127, 0, 0, 1]));
        match jwt::validate_login(config.as_ref(), &roles, mount, body, (self.now)(), client) {
            Err(e) => errors(e.status, &[&e.message]),
            Ok(outcome) => {
                let meta = outcome
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                self.mint_login_token(LoginGrant {
                    namespace: ns,
                    mount,
                    accessor_prefix: "jwt",
                    policies: outcome.policies.clone(),
                    display_name: outcome.display_name.clone(),
                    meta,
                    ttl: outcome.ttl as i64,
                })
            }
        }
    }

    /// Mints a login's token and answers with Vault's login envelope (§2.4).
    fn mint_login_token(&mut self, grant: LoginGrant<'_>) -> Outgoing {
        let token = self.new_token();
        let accessor = self.accessor(grant.accessor_prefix);
        let now = (self.now)();
        // 0 means the mount's default TTL: Vault's system default is 768 h.
        let ttl = if grant.ttl > 0 { grant.ttl } else { 768 * 3600 };
        self.tokens.insert(
            token.clone(),
            TokenEntry {
                namespace: grant.namespace.to_string(),
                policies: grant.policies.clone(),
                accessor: accessor.clone(),
                display_name: grant.display_name,
                path: format!("auth/{}/login", grant.mount),
                meta: grant.meta.clone(),
                created: now,
                expires: Some(now + ttl),
                ttl,
            },
        );
        Outgoing {
            status: 200,
            body: Some(envelope(
                Value::Null,
                Some(json!({
                    "client_token": token,
                    "accessor": accessor,
                    "policies": grant.policies,
                    "token_policies": grant.policies,
                    "identity_policies": [],
                    "metadata": grant.meta,
                    "lease_duration": ttl,
                    "renewable": true,
                    "entity_id": "",
                    "token_type": "service",
                    "orphan": true,
                    "mfa_requirement": null,
                    "num_uses": 0,
                })),
                None,
            )),
        }
    }

    fn lookup_self(&self, token: &str) -> Outgoing {
        let t = &self.tokens[token];
        let now = (self.now)();
        Outgoing {
            status: 200,
            body: Some(envelope(
                json!({
                    "accessor": t.accessor,
                    "creation_time": t.created,
                    "creation_ttl": t.ttl,
                    "display_name": t.display_name,
                    "entity_id": "",
                    "expire_time": t.expires.map(rfc3339),
                    "explicit_max_ttl": 0,
                    "id": token,
                    "identity_policies": [],
                    "issue_time": rfc3339(t.created),
                    "meta": t.meta,
                    "num_uses": 0,
                    "orphan": true,
                    "path": t.path,
                    "policies": t.policies,
                    "renewable": t.expires.is_some(),
                    "ttl": t.expires.map(|e| e - now).unwrap_or(0),
                    "type": "service",
                }),
                None,
                None,
            )),
        }
    }

    fn revoke_self(&mut self, token: &str) -> Outgoing {
        self.tokens.remove(token);
        self.revoked.push(token.to_string());
        no_content()
    }

    fn backend(&mut self, req: &Incoming, mount_path: &str, rest: &str) -> Outgoing {
        let now = (self.now)();
        let profile = self.profile;
        let key = (req.namespace.clone(), mount_path.to_string());
        let method = req.method.clone();
        let body = req.body.clone().unwrap_or(Value::Null);
        let Some(mount) = self.mounts.get_mut(&key) else {
            return errors(
                404,
                &[&format!(
                    "no handler for route \"{}\". route entry not found.",
                    req.path
                )],
            );
        };
        let kv_version = mount.kv_version;
        match &mut mount.backend {
            Backend::Kv(secrets) if kv_version == Some(2) => {
                kv2(secrets, &method, rest, &body, now)
            }
            Backend::Kv(secrets) => kv1(secrets, &method, rest, &body),
            Backend::Jwt { config, roles } => match (method.as_str(), rest) {
                ("POST" | "PUT", "config") => match jwt::parse_config_write(&body) {
                    Ok(c) => {
                        *config = Some(c);
                        no_content()
                    }
                    Err(e) => errors(e.status, &[&e.message]),
                },
                ("GET", "config") => match config {
                    Some(c) => Outgoing {
                        status: 200,
                        body: Some(envelope(c.to_read_data(), None, None)),
                    },
                    None => errors(404, &[]),
                },
                ("POST" | "PUT", r) if r.starts_with("role/") => {
                    let name = r["role/".len()..].to_lowercase();
                    match jwt::parse_role_write(&name, &body, roles.get(&name)) {
                        Ok((role, warnings)) => {
                            roles.insert(name, role);
                            written(warnings)
                        }
                        Err(e) => errors(e.status, &[&e.message]),
                    }
                }
                ("GET", r) if r.starts_with("role/") => {
                    match roles.get(&r["role/".len()..].to_lowercase()) {
                        Some(role) => Outgoing {
                            status: 200,
                            body: Some(envelope(role.to_read_data(), None, None)),
                        },
                        None => errors(404, &[]),
                    }
                }
                ("LIST", "role" | "role/") => sys::listing(roles.keys().cloned().collect()),
                ("DELETE", r) if r.starts_with("role/") => {
                    roles.remove(&r["role/".len()..].to_lowercase());
                    no_content()
                }
                _ => multierror(405, &["unsupported operation"]),
            },
            Backend::Kubernetes { config, roles } => match (method.as_str(), rest) {
                ("LIST", "role" | "role/") => sys::listing(roles.keys().cloned().collect()),
                ("DELETE", r) if r.starts_with("role/") => {
                    roles.remove(&r["role/".len()..].to_lowercase());
                    no_content()
                }
                ("POST" | "PUT", "config") => match k8s_config_write(&body, profile) {
                    Ok(c) => {
                        *config = Some(c);
                        no_content()
                    }
                    Err(message) => errors(400, &[&message]),
                },
                ("GET", "config") => match config {
                    Some(c) => Outgoing {
                        status: 200,
                        body: Some(envelope(k8s_config_read(c, profile), None, None)),
                    },
                    None => errors(404, &[]),
                },
                ("POST" | "PUT", r) if r.starts_with("role/") => {
                    let name = r["role/".len()..].to_lowercase();
                    k8s_role_write(roles, &name, &body, profile)
                }
                ("GET", r) if r.starts_with("role/") => {
                    match roles.get(&r["role/".len()..].to_lowercase()) {
                        Some(role) => Outgoing {
                            status: 200,
                            body: Some(envelope(Value::Object(role.clone()), None, None)),
                        },
                        None => errors(404, &[]),
                    }
                }
                (_, "config") => multierror(405, &["unsupported operation"]),
                _ => sys::unsupported_path(),
            },
            Backend::Token => sys::unsupported_path(),
        }
    }
}

/// The request path as seen from the token's namespace: `team/auth/x/config` for a token of
/// `admin` calling `auth/x/config` in `admin/team`. `None` when the request's namespace is not
/// the token's or below it.
fn relative_to(token_ns: &str, request_ns: &str, path: &str) -> Option<String> {
    if token_ns == request_ns {
        return Some(path.to_string());
    }
    let below = if token_ns.is_empty() {
        Some(request_ns)
    } else {
        request_ns
            .strip_prefix(token_ns)
            .and_then(|r| r.strip_prefix('/'))
    }?;
    Some(format!("{below}/{path}"))
}

/// The success envelope (§1.3).
fn envelope(data: Value, auth: Option<Value>, warnings: Option<Vec<String>>) -> Value {
    let random: u128 = rand::thread_rng().gen();
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (random >> 96) as u32,
        (random >> 80) as u16,
        (random >> 68) as u16 & 0xfff,
        (random >> 56) as u16 & 0xfff,
        random as u64 & 0xffff_ffff_ffff
    );
    json!({
        "request_id": id,
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": if data.is_null() { Value::Null } else { data },
        "wrap_info": null,
        "warnings": warnings,
        "auth": auth,
    })
}

fn mount_info(m: &Mount, profile: Profile) -> Value {
    let running = match m.kind {
        MountKind::Kubernetes => profile.k8s_plugin().to_string(),
        _ => format!("v{}+builtin.vault", profile.version()),
    };
    json!({
        "accessor": m.accessor,
        "type": m.type_name,
        "description": "",
        "config": {"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": false, "token_type": "default-service"},
        "local": false,
        "seal_wrap": false,
        "external_entropy_access": false,
        "options": m.options,
        "uuid": "",
        "plugin_version": "",
        "running_plugin_version": running,
        "running_sha256": "",
    })
}

fn bool_field(body: &Value, name: &str, default: bool) -> Result<bool, String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
            "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
            _ => Err(format!("Field validation failed: error converting input {s} for field \"{name}\": strconv.ParseBool: parsing \"{s}\": invalid syntax")),
        },
        Some(_) => Err(format!("Field validation failed: error converting input for field \"{name}\"")),
    }
}

fn string_field(body: &Value, name: &str) -> String {
    body.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A config write replaces every field (§3.2) and validates as the profile's plugin does (§3.3).
fn k8s_config_write(body: &Value, profile: Profile) -> Result<K8sConfig, String> {
    let host = string_field(body, "kubernetes_host");
    if host.is_empty() {
        return Err("no host provided".into());
    }
    let ca = string_field(body, "kubernetes_ca_cert");
    let disable_local_ca_jwt = bool_field(body, "disable_local_ca_jwt", false)?;
    let pem_keys: Vec<String> = match body.get("pem_keys") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => s.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    if profile >= Profile::V1_17 {
        // v0.19+: a CA must hold at least one decodable PEM block (armour only, not X.509).
        if !ca.is_empty() && !ca.contains("-----BEGIN") {
            return Err("The provided CA PEM data contains no valid certificates".into());
        }
    } else if ca.is_empty() && disable_local_ca_jwt {
        // v0.11.4 – v0.18 (Vault 1.9.3 – 1.16).
        return Err("kubernetes_ca_cert must be given when disable_local_ca_jwt is true".into());
    }
    if ca.is_empty() && !disable_local_ca_jwt {
        // Not running in a pod: the local CA file does not exist (§3.3 rule 4).
        return Err(
            "open /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: no such file or directory"
                .into(),
        );
    }
    Ok(K8sConfig {
        kubernetes_host: host,
        kubernetes_ca_cert: ca,
        token_reviewer_jwt: string_field(body, "token_reviewer_jwt"),
        pem_keys,
        issuer: string_field(body, "issuer"),
        disable_iss_validation: bool_field(body, "disable_iss_validation", true)?,
        disable_local_ca_jwt,
        use_annotations_as_alias_metadata: profile >= Profile::V1_16
            && bool_field(body, "use_annotations_as_alias_metadata", false)?,
    })
}

fn k8s_config_read(c: &K8sConfig, profile: Profile) -> Value {
    let mut data = json!({
        "kubernetes_host": c.kubernetes_host,
        "kubernetes_ca_cert": c.kubernetes_ca_cert,
        "pem_keys": c.pem_keys,
        "issuer": c.issuer,
        "disable_iss_validation": c.disable_iss_validation,
        "disable_local_ca_jwt": c.disable_local_ca_jwt,
    });
    if profile >= Profile::V1_16 {
        data["token_reviewer_jwt_set"] = json!(!c.token_reviewer_jwt.is_empty());
        data["use_annotations_as_alias_metadata"] = json!(c.use_annotations_as_alias_metadata);
    }
    data
}

/// Role writes merge: only provided fields change (§3.6), except the namespace selector, which
/// plugin v0.18.0 (Vault 1.16) added and every write resets; 1.15 does not know the field and
/// drops it (§1.3).
fn k8s_role_write(
    roles: &mut BTreeMap<String, Map<String, Value>>,
    name: &str,
    body: &Value,
    profile: Profile,
) -> Outgoing {
    const SELECTOR: &str = "bound_service_account_namespace_selector";
    let selectors = profile >= Profile::V1_16;
    let mut role = roles.get(name).cloned().unwrap_or_default();
    let Some(fields) = body.as_object() else {
        return errors(400, &["invalid request"]);
    };
    for (k, v) in fields {
        if k == SELECTOR {
            continue;
        }
        let value = match v {
            Value::String(s)
                if k.starts_with("bound_") || k == "token_policies" || k == "policies" =>
            {
                json!(comma_string_slice(s))
            }
            other => other.clone(),
        };
        role.insert(k.clone(), value);
    }
    if selectors {
        role.insert(
            SELECTOR.into(),
            body.get(SELECTOR).cloned().unwrap_or(json!("")),
        );
    }
    let names = role
        .get("bound_service_account_names")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if names.is_empty() {
        return errors(400, &["\"bound_service_account_names\" can not be empty"]);
    }
    if names.len() > 1 && names.iter().any(|n| n == "*") {
        return errors(400, &["can not mix \"*\" with values"]);
    }
    let namespaces = role
        .get("bound_service_account_namespaces")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    let selector = role
        .get(SELECTOR)
        .and_then(Value::as_str)
        .unwrap_or_default();
    if namespaces == 0 && !selectors {
        return errors(
            400,
            &["\"bound_service_account_namespaces\" can not be empty"],
        );
    }
    if namespaces == 0 && selector.is_empty() {
        return errors(400, &["\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set"]);
    }
    let has_audience = role
        .get("audience")
        .and_then(Value::as_str)
        .is_some_and(|a| !a.is_empty());
    roles.insert(name.to_string(), role);
    if has_audience {
        no_content()
    } else {
        Outgoing {
            status: 200,
            body: Some(envelope(Value::Null, None, Some(vec![format!(
                "Role {name} does not have an audience configured. While audiences are not required, consider specifying one if your use case would benefit from additional JWT claim verification."
            )]))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines_are_written_as_hclog_writes_them() {
        let line = MonitorLine {
            time: 1_700_000_000,
            module: "auth.kubernetes.auth_kubernetes_0a1b2c3d".into(),
            message: "login unauthorized".into(),
            pairs: vec![("err".into(), "a \"quoted\" reason\n".into())],
        };
        assert_eq!(
            line.render(false),
            "2023-11-14T22:13:20.000Z [DEBUG] auth.kubernetes.auth_kubernetes_0a1b2c3d: login \
             unauthorized: err=\"a \\\"quoted\\\" reason\\n\""
        );
        let json: Value = serde_json::from_str(&line.render(true)).unwrap();
        assert_eq!(
            json,
            json!({"@level": "debug", "@message": "login unauthorized",
                   "@module": "auth.kubernetes.auth_kubernetes_0a1b2c3d",
                   "@timestamp": "2023-11-14T22:13:20.000000Z",
                   "err": "a \"quoted\" reason\n"})
        );
        assert_eq!(hclog_value("plain-value_1.2"), "plain-value_1.2");
    }

    #[test]
    fn monitor_needs_sudo_and_known_level_and_format() {
        let mut vault = Vault::new(Profile::V1_17, "root-token".into());
        // `default` grants nothing on `sys/monitor`, let alone `sudo`.
        let plain = vault.create_token("", &["default"], 600);
        let ask = |token: Option<&str>, query: &[(&str, &str)]| {
            vault.monitor_begin(&Incoming {
                method: "GET".into(),
                path: "sys/monitor".into(),
                query: query
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                namespace: String::new(),
                token: token.map(str::to_string),
                body: None,
            })
        };
        assert_eq!(
            ask(Some("root-token"), &[("log_level", "debug")]).unwrap(),
            (MonitorLevel::Debug, false)
        );
        assert_eq!(
            ask(Some("root-token"), &[("log_format", "JSON")]).unwrap(),
            (MonitorLevel::Info, true)
        );
        assert_eq!(ask(None, &[]).unwrap_err().status, 403);
        assert_eq!(ask(Some("nope"), &[]).unwrap_err().status, 403);
        assert_eq!(ask(Some(&plain), &[]).unwrap_err().status, 403);
        let bad = ask(Some("root-token"), &[("log_level", "loud")]).unwrap_err();
        assert_eq!(
            (bad.status, bad.body),
            (400, Some(json!({"errors": ["unknown log level"]})))
        );
        let bad = ask(Some("root-token"), &[("log_format", "xml")]).unwrap_err();
        assert_eq!(bad.body, Some(json!({"errors": ["unknown log format"]})));
    }

    #[test]
    fn namespace_relative_acl_paths() {
        assert_eq!(
            relative_to("", "", "auth/x/config").as_deref(),
            Some("auth/x/config")
        );
        assert_eq!(
            relative_to("admin", "admin/team", "auth/x/config").as_deref(),
            Some("team/auth/x/config")
        );
        assert_eq!(
            relative_to("", "admin", "kv/data/ip").as_deref(),
            Some("admin/kv/data/ip")
        );
        assert_eq!(relative_to("admin/team", "admin", "x"), None);
        assert_eq!(relative_to("admin", "administration", "x"), None);
    }

    #[test]
    fn config_write_validation_follows_the_profile() {
        let no_ca =
            json!({"kubernetes_host": "https://10.0.0.1:6443", "disable_local_ca_jwt": true});
        assert_eq!(
            k8s_config_write(&no_ca, Profile::V1_16).unwrap_err(),
            "kubernetes_ca_cert must be given when disable_local_ca_jwt is true"
        );
        assert!(k8s_config_write(&no_ca, Profile::V1_17).is_ok());
        let b64 = json!({"kubernetes_host": "h", "kubernetes_ca_cert": "LS0tLS1CRUdJTg==", "disable_local_ca_jwt": true});
        assert_eq!(
            k8s_config_write(&b64, Profile::V1_17).unwrap_err(),
            "The provided CA PEM data contains no valid certificates"
        );
        assert!(
            k8s_config_write(&b64, Profile::V1_16).is_ok(),
            "older plugins store base64 as given"
        );
        assert_eq!(
            k8s_config_write(&json!({}), Profile::V1_17).unwrap_err(),
            "no host provided"
        );
        let c = k8s_config_write(&json!({"kubernetes_host": "h", "kubernetes_ca_cert": "-----BEGIN CERTIFICATE-----", "token_reviewer_jwt": "x"}), Profile::V1_17).unwrap();
        assert!(
            c.disable_iss_validation && !c.disable_local_ca_jwt,
            "omitted fields reset to defaults"
        );
        let read = k8s_config_read(&c, Profile::V1_17);
        assert_eq!(read["token_reviewer_jwt_set"], true);
        assert!(read.get("token_reviewer_jwt").is_none());
        assert!(k8s_config_read(&c, Profile::V1_15)
            .get("token_reviewer_jwt_set")
            .is_none());
    }
}
