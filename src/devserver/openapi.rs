//! The OpenAPI contract check the dev server applies to every request it receives.
//!
//! Owns the table derived from Vault 1.15's OpenAPI spec (`openapi_table.json`, written by
//! `tools/derive-openapi-table.py`; a test keeps it in step with the spec), the binding of a
//! request path to a spec template through the server's mount table, and the check of method,
//! query parameter names and body field names against the matched operation. Fields newer than
//! the 1.15 spec enter only through [`NEWER_BODY_FIELDS`] and [`UNDECLARED_QUERY_PARAMS`], each
//! entry citing where it comes from.
//!
//! It must never answer a request, touch the server's state, or decide what Vault would reply
//! (status codes, error text): it only says whether a real Vault could have understood the
//! request. It looks at names, never at values, so the tokens and JWTs in bodies stay unseen.
//!
//! Matching rules, in the order they apply:
//! - Methods: `PUT` is checked as the spec's `post` (Vault treats both as "update"); `LIST`, and
//!   `GET` with the query pair `list=true` (exactly the spec's `enum: ["true"]`), is checked as
//!   the spec's list operation, which the table records as `list` on the template ending in `/`.
//!   A list request's single trailing `/` is dropped before matching, as Vault adds one.
//! - Mounts: the request routes to the mount with the longest path that prefixes it at a
//!   segment boundary, as Vault's router does (auth mounts sit under `auth/`). A
//!   `{<engine>_mount_path}` segment binds only that mount, and only if its [`MountKind`] is the
//!   engine's and its `auth` flag agrees with the template (`/auth/{…}/…` for auth methods).
//!   A mount path may span segments (`kv/dev`). Engines that are not mounted never match.
//! - Literal templates (`/sys/…`, `/auth/token/…`, `/identity/…`, `/cubbyhole/…`) match as
//!   written: Vault mounts them itself at reserved paths no user mount can take.
//! - Ordinary `{param}` binds one non-empty segment. `{path}`, `{prefix}` and `{url_lease_id}`
//!   ([`MULTI_SEGMENT_PARAMS`]) bind one or more: Vault's patterns for them are `.+`/`.*`
//!   (`sys/mounts/(?P<path>.+?)`, `data/(?P<path>.*)`, lease ids such as
//!   `auth/token/create/<id>`), and every mount or secret path they carry may contain `/`. As
//!   the last segment of a list template they may also bind none (`LIST kv/dev/metadata/`).
//! - Several matches: the most specific wins, comparing segment by segment from the left:
//!   literal (or mount) beats a one-segment param, which beats a multi-segment one. A method
//!   missing on the winner is `MethodNotAllowed`, even if a vaguer template has it, close to
//!   how Vault answers 405 from the first pattern that matches.
//! - `Token` and `System` mounts may be passed (the server can hand over its whole table); they
//!   only take part in routing, as the spec reaches them by literal paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

/// The table, generated; see `tools/derive-openapi-table.py` for its shape.
const TABLE_JSON: &str = include_str!("openapi_table.json");

/// Trailing-or-inner template parameters that bind one or more segments. Every other ordinary
/// parameter binds exactly one (names, roles, accessors, ids never contain `/`).
pub const MULTI_SEGMENT_PARAMS: &[&str] = &["path", "prefix", "url_lease_id"];

const GET: &str = "get";
const POST: &str = "post";
const DELETE: &str = "delete";
const LIST: &str = "list";

/// A body field that a Vault newer than the 1.15 spec accepts and that the action, its printed
/// fixes or the dev server's seeding send.
pub struct NewerField {
    /// The request schema (`#/components/schemas/<name>`) that lacks it.
    pub schema: &'static str,
    pub field: &'static str,
    /// The release that added it.
    pub since: &'static str,
}

/// Body fields newer than the 1.15 spec. Keep it short: each entry is a field the action or a
/// fix it prints sends.
pub const NEWER_BODY_FIELDS: &[NewerField] = &[
    NewerField {
        // `POST auth/<kubernetes>/config`. Vault 1.15 and older drop it silently with a 204
        // (docs/vault-behaviour.md §1.3, §3.1), so the action may send it to every version.
        schema: "KubernetesConfigureAuthRequest",
        field: "use_annotations_as_alias_metadata",
        since: "Vault 1.16.0, kubernetes auth plugin v0.18.0",
    },
    NewerField {
        // `POST auth/<kubernetes>/role/<name>`: the printed role fixes send the role's current
        // selector, since 1.16+ resets it on every write that leaves it out (§3.6); 1.15 drops
        // the unknown field (§1.3).
        schema: "KubernetesWriteAuthRoleRequest",
        field: "bound_service_account_namespace_selector",
        since: "Vault 1.16.0, kubernetes auth plugin v0.18.0",
    },
];

/// A query parameter Vault reads on an operation although the spec does not declare it.
pub struct UndeclaredQuery {
    pub template: &'static str,
    pub method: &'static str,
    pub param: &'static str,
    /// The release that added it, and why the spec misses it.
    pub since: &'static str,
}

/// Query parameters Vault reads but the 1.15 spec omits. `sys/health` is served by
/// `http/sys_health.go` outside the logical framework, so the spec generator never saw its
/// parameters (api-docs/system/health.mdx lists them); KV v2 reads take `version` as a path field
/// that the generator emitted only into the write schema.
pub const UNDECLARED_QUERY_PARAMS: &[UndeclaredQuery] = &[
    UndeclaredQuery {
        template: "/sys/health",
        method: GET,
        param: "standbyok",
        since: "Vault 0.2.0",
    },
    UndeclaredQuery {
        template: "/sys/health",
        method: GET,
        param: "perfstandbyok",
        since: "Vault 0.11.0 with performance standbys (documented in hashicorp/vault#5870)",
    },
    UndeclaredQuery {
        template: "/{kv_v2_mount_path}/data/{path}",
        method: GET,
        param: "version",
        since: "Vault 0.10.0 (KV v2); the spec has it only in `KvV2WriteRequest`",
    },
];

/// A mount the server has, for binding `{x_mount_path}` parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountRef<'a> {
    /// Relative to the namespace, without leading or trailing `/` (`kv/dev`,
    /// `dev-kubernetes`); auth mounts WITHOUT the `auth/` prefix.
    pub path: &'a str,
    pub kind: MountKind,
    /// An auth method (enabled under `sys/auth`) rather than a secrets engine.
    pub auth: bool,
}

/// What is mounted, as far as the spec's templates can tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// `kubernetes`: the auth method (`/auth/{kubernetes_mount_path}/…`) or the secrets
    /// engine (`/{kubernetes_mount_path}/…`), told apart by [`MountRef::auth`].
    Kubernetes,
    /// `jwt` or `oidc`: one plugin, and the spec gives both the `jwt_mount_path` templates.
    Jwt,
    /// `kv` with `options.version` `2`.
    KvV2,
    /// `kv` version 1 (or `generic`).
    KvV1,
    /// The token store, always at `auth/token`; the spec addresses it by literal paths.
    Token,
    /// `sys`; the spec addresses it by literal paths.
    System,
    /// Anything else. Takes part in routing (requests under it match nothing), binds no
    /// template.
    Other,
}

impl MountKind {
    /// The spec's path parameter naming a mount of this kind, when it has one.
    pub fn param(self) -> Option<&'static str> {
        match self {
            MountKind::Kubernetes => Some("kubernetes_mount_path"),
            MountKind::Jwt => Some("jwt_mount_path"),
            MountKind::KvV2 => Some("kv_v2_mount_path"),
            MountKind::KvV1 => Some("kv_v1_mount_path"),
            MountKind::Token | MountKind::System | MountKind::Other => None,
        }
    }

    fn from_param(name: &str) -> Option<MountKind> {
        [
            MountKind::Kubernetes,
            MountKind::Jwt,
            MountKind::KvV2,
            MountKind::KvV1,
        ]
        .into_iter()
        .find(|kind| kind.param() == Some(name))
    }
}

impl fmt::Display for MountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MountKind::Kubernetes => "kubernetes",
            MountKind::Jwt => "jwt",
            MountKind::KvV2 => "kv-v2",
            MountKind::KvV1 => "kv-v1",
            MountKind::Token => "token",
            MountKind::System => "system",
            MountKind::Other => "other",
        })
    }
}

/// The spec operation a request was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matched {
    /// The spec's path template, e.g. `/auth/{kubernetes_mount_path}/config`.
    pub template: &'static str,
    /// `get`, `post`, `delete` or `list`.
    pub method: &'static str,
}

/// A request a Vault 1.15 (plus the allow-lists) would not understand as sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error(
        "no template of the Vault `{spec}` API spec matches `{method} {path}` \
         with mounts `{mounts}`"
    )]
    UnknownPath {
        /// The spec's version, e.g. `1.15.0`.
        spec: &'static str,
        method: String,
        path: String,
        /// The mounts given, rendered `auth/jwt=jwt, kv/dev=kv-v2`.
        mounts: String,
    },
    #[error("method `{method}` is not allowed on `{template}`, which has `{allowed}`")]
    MethodNotAllowed {
        template: &'static str,
        method: String,
        allowed: String,
    },
    #[error("`{field}` is not a body field of `{method} {template}`")]
    UnknownBodyField {
        template: &'static str,
        method: &'static str,
        field: String,
    },
    #[error("`{param}` is not a query parameter of `{method} {template}`")]
    UnknownQueryParam {
        template: &'static str,
        method: &'static str,
        param: String,
    },
    #[error("the body of `{method} {template}` is a JSON {found}, not an object")]
    BodyNotObject {
        template: &'static str,
        method: &'static str,
        found: &'static str,
    },
}

impl Violation {
    /// The fix, for the line after the violation.
    pub fn hint(&self) -> Option<String> {
        match self {
            Violation::UnknownPath { .. } => Some(
                "check the path and that the mount it addresses is in the server's mount table \
                 with the right kind"
                    .to_owned(),
            ),
            Violation::MethodNotAllowed { .. } => None,
            Violation::UnknownBodyField { .. } | Violation::UnknownQueryParam { .. } => Some(
                "fix the request, or if a newer Vault accepts the name, add it to the \
                 allow-list in src/devserver/openapi.rs with the release that added it"
                    .to_owned(),
            ),
            Violation::BodyNotObject { .. } => {
                Some("send a JSON object, or no body at all".to_owned())
            }
        }
    }
}

/// Checks one request against the spec, by the rules in the module docs. `method` is the HTTP
/// verb (`GET`, `POST`, `PUT`, `DELETE`, `LIST`, any case; others are `MethodNotAllowed`);
/// `path` is relative to the namespace without `/v1/` (`auth/dev-kubernetes/config`); `query`
/// is the decoded query string; `body` the parsed JSON body, `None` when empty; `mounts` the
/// server's mount table. The first violation found is returned.
pub fn check_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&serde_json::Value>,
    mounts: &[MountRef<'_>],
) -> Result<Matched, Violation> {
    let verb = method.to_ascii_uppercase();
    let list_flag = |(k, v): &(String, String)| k == "list" && v == "true";
    let spec_method = match verb.as_str() {
        "GET" if query.iter().any(list_flag) => Some(LIST),
        "GET" => Some(GET),
        "POST" | "PUT" => Some(POST),
        "DELETE" => Some(DELETE),
        "LIST" => Some(LIST),
        _ => None,
    };
    let is_list = spec_method == Some(LIST);
    // Vault appends the `/` itself for a list; the table's list templates end in one.
    let trimmed = match path.strip_suffix('/') {
        Some(stripped) if is_list => stripped,
        _ => path,
    };
    let segments: Vec<&str> = trimmed.split('/').collect();
    let routed = route(&segments, mounts);

    let unknown_path = || Violation::UnknownPath {
        spec: table().spec_version.as_str(),
        method: verb.clone(),
        path: path.to_owned(),
        mounts: render_mounts(mounts),
    };
    let candidates = best_matches(&segments, routed.as_ref());
    let Some(first) = candidates.first() else {
        return Err(unknown_path());
    };
    let found = spec_method.and_then(|m| {
        candidates
            .iter()
            .find_map(|t| t.ops.get(m).map(|op| (*t, m, op)))
    });
    let Some((template, spec_method, op)) = found else {
        let allowed: BTreeSet<&str> = candidates
            .iter()
            .flat_map(|t| t.ops.keys().map(String::as_str))
            .collect();
        return Err(Violation::MethodNotAllowed {
            // Prefer the plain form over the list form for naming the resource.
            template: candidates
                .iter()
                .find(|t| !t.raw.ends_with('/'))
                .unwrap_or(first)
                .raw
                .as_str(),
            method: verb,
            allowed: allowed.into_iter().collect::<Vec<_>>().join(", "),
        });
    };
    let template_str = template.raw.as_str();

    for pair @ (name, _) in query {
        let consumed = is_list && list_flag(pair);
        let declared = op.query.iter().any(|q| q == name);
        let allowed = UNDECLARED_QUERY_PARAMS
            .iter()
            .any(|u| u.template == template_str && u.method == spec_method && u.param == name);
        if !(consumed || declared || allowed) {
            return Err(Violation::UnknownQueryParam {
                template: template_str,
                method: spec_method,
                param: name.clone(),
            });
        }
    }

    if let Some(body) = body {
        let Some(fields) = body.as_object() else {
            return Err(Violation::BodyNotObject {
                template: template_str,
                method: spec_method,
                found: json_kind(body),
            });
        };
        if !op.open {
            for field in fields.keys() {
                let declared = op.body.as_ref().is_some_and(|b| b.contains(field));
                let newer = NEWER_BODY_FIELDS
                    .iter()
                    .any(|n| op.schema.as_deref() == Some(n.schema) && n.field == field);
                // A body field named like one of the template's path parameters is a field
                // Vault's framework declares (the spec lists path parameters apart from the
                // body); the path's value wins over the body's. hvac sends `name` on role
                // writes, for one.
                let path_param = template_str.contains(&format!("{{{field}}}"));
                if !(declared || newer || path_param) {
                    return Err(Violation::UnknownBodyField {
                        template: template_str,
                        method: spec_method,
                        field: field.clone(),
                    });
                }
            }
        }
    }

    Ok(Matched {
        template: template_str,
        method: spec_method,
    })
}

/// The table as the generator writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    spec_version: String,
    paths: BTreeMap<String, BTreeMap<String, Operation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Operation {
    #[serde(default)]
    query: Vec<String>,
    /// `None`: the operation declares no request body, so no field is known.
    #[serde(default)]
    body: Option<Vec<String>>,
    /// The request schema's name, which [`NEWER_BODY_FIELDS`] is keyed by.
    #[serde(default)]
    schema: Option<String>,
    /// The schema takes any property (KV v1, cubbyhole).
    #[serde(default)]
    open: bool,
}

enum Segment {
    Literal(String),
    /// `{<engine>_mount_path}`; `None` for an engine without a [`MountKind`] (never binds).
    Mount(Option<MountKind>),
    Param {
        multi: bool,
    },
}

struct Template {
    raw: String,
    segments: Vec<Segment>,
    /// Ends in `/`: the list form.
    list_form: bool,
    ops: BTreeMap<String, Operation>,
}

struct Table {
    spec_version: String,
    templates: Vec<Template>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Invariant: the table is generated by tools/derive-openapi-table.py and compiled in;
        // `table_parses` and `committed_table_matches_the_spec` fail before a bad one ships.
        let raw: RawTable = serde_json::from_str(TABLE_JSON).expect("openapi_table.json parses");
        let templates = raw
            .paths
            .into_iter()
            .map(|(raw, ops)| Template {
                segments: parse_template(&raw),
                list_form: raw.ends_with('/'),
                raw,
                ops,
            })
            .collect();
        Table {
            spec_version: raw.spec_version,
            templates,
        }
    })
}

fn parse_template(raw: &str) -> Vec<Segment> {
    let trimmed = raw.trim_start_matches('/');
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if name.ends_with("_mount_path") => {
                    Segment::Mount(MountKind::from_param(name))
                }
                Some(name) => Segment::Param {
                    multi: MULTI_SEGMENT_PARAMS.contains(&name),
                },
                None => Segment::Literal(seg.to_owned()),
            },
        )
        .collect()
}

/// The mount a request path routes to: the longest whose full path prefixes it.
struct Routed {
    kind: MountKind,
    auth: bool,
    /// Segments of the mount path itself (without `auth/`).
    len: usize,
}

fn route(segments: &[&str], mounts: &[MountRef<'_>]) -> Option<Routed> {
    mounts
        .iter()
        .filter_map(|m| {
            let path = m.path.trim_matches('/');
            if path.is_empty() {
                return None;
            }
            let own: Vec<&str> = path.split('/').collect();
            let prefix = if m.auth { &["auth"][..] } else { &[][..] };
            let full: Vec<&str> = prefix.iter().copied().chain(own.iter().copied()).collect();
            segments.starts_with(&full).then_some(Routed {
                kind: m.kind,
                auth: m.auth,
                len: own.len(),
            })
        })
        .max_by_key(|r| r.len + usize::from(r.auth))
}

/// The templates that match, all equally specific and more specific than any other match,
/// ordered by template text.
fn best_matches(segments: &[&str], routed: Option<&Routed>) -> Vec<&'static Template> {
    let mut best: Option<Vec<u8>> = None;
    let mut found = Vec::new();
    for template in &table().templates {
        let Some(rank) =
            match_segments(&template.segments, segments, 0, template.list_form, routed)
        else {
            continue;
        };
        match best.as_ref().map(|b| rank.cmp(b)) {
            Some(std::cmp::Ordering::Less) => {}
            Some(std::cmp::Ordering::Equal) => found.push(template),
            None | Some(std::cmp::Ordering::Greater) => {
                best = Some(rank);
                found = vec![template];
            }
        }
    }
    found
}

// Per-request-segment specificity; compared left to right.
const RANK_LITERAL: u8 = 2;
const RANK_PARAM: u8 = 1;
const RANK_MULTI: u8 = 0;

/// Matches `pattern` against `request` (which starts at request segment `at`); on success the
/// rank of every request segment consumed, the best over all ways a multi-segment param can
/// split.
fn match_segments(
    pattern: &[Segment],
    request: &[&str],
    at: usize,
    list_form: bool,
    routed: Option<&Routed>,
) -> Option<Vec<u8>> {
    let Some((head, rest)) = pattern.split_first() else {
        return request.is_empty().then(Vec::new);
    };
    let prepend = |n: usize, rank: u8, tail: Vec<u8>| {
        let mut ranks = vec![rank; n];
        ranks.extend(tail);
        ranks
    };
    match head {
        Segment::Literal(lit) => {
            let first = request.first()?;
            (first == lit)
                .then(|| match_segments(rest, &request[1..], at + 1, list_form, routed))
                .flatten()
                .map(|tail| prepend(1, RANK_LITERAL, tail))
        }
        Segment::Mount(kind) => {
            let routed = routed?;
            // The mount must be the one the path routes to and of this engine. Its own path
            // starts right after `auth/` for an auth mount, at the root otherwise; requiring
            // the param to sit exactly there is what keeps an auth mount out of engine
            // templates (`/{kubernetes_mount_path}/…`) and an engine out of `/auth/{…}/…`,
            // since the routed mount's full path already prefixes the request.
            let own_start = usize::from(routed.auth);
            if Some(routed.kind) != *kind || at != own_start || request.len() < routed.len {
                return None;
            }
            match_segments(
                rest,
                &request[routed.len..],
                at + routed.len,
                list_form,
                Some(routed),
            )
            .map(|tail| prepend(routed.len, RANK_LITERAL, tail))
        }
        Segment::Param { multi: false } => {
            let first = request.first()?;
            if first.is_empty() {
                return None;
            }
            match_segments(rest, &request[1..], at + 1, list_form, routed)
                .map(|tail| prepend(1, RANK_PARAM, tail))
        }
        Segment::Param { multi: true } => {
            // Zero segments only as the tail of a list template (listing a mount's root).
            let min = if rest.is_empty() && list_form { 0 } else { 1 };
            (min..=request.len())
                .take_while(|&n| n == 0 || !request[n - 1].is_empty())
                .filter_map(|n| {
                    match_segments(rest, &request[n..], at + n, list_form, routed)
                        .map(|tail| prepend(n, RANK_MULTI, tail))
                })
                .max()
        }
    }
}

fn render_mounts(mounts: &[MountRef<'_>]) -> String {
    if mounts.is_empty() {
        return "none".to_owned();
    }
    mounts
        .iter()
        .map(|m| {
            let prefix = if m.auth { "auth/" } else { "" };
            format!("{prefix}{}={}", m.path.trim_matches('/'), m.kind)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mounts() -> Vec<MountRef<'static>> {
        vec![
            MountRef {
                path: "jwt",
                kind: MountKind::Jwt,
                auth: true,
            },
            MountRef {
                path: "dev-kubernetes",
                kind: MountKind::Kubernetes,
                auth: true,
            },
            MountRef {
                path: "kv/dev",
                kind: MountKind::KvV2,
                auth: false,
            },
            MountRef {
                path: "token",
                kind: MountKind::Token,
                auth: true,
            },
        ]
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn check(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
        mounts: &[MountRef<'_>],
    ) -> Result<Matched, Violation> {
        check_request(method, path, &q(query), body.as_ref(), mounts)
    }

    fn matched(template: &'static str, method: &'static str) -> Result<Matched, Violation> {
        Ok(Matched { template, method })
    }

    #[test]
    fn table_parses() {
        let t = table();
        assert_eq!(t.spec_version, "1.15.0");
        assert!(t.templates.len() > 200, "{} templates", t.templates.len());
    }

    #[test]
    fn every_mount_param_in_the_table_has_a_kind() {
        for t in &table().templates {
            for seg in &t.segments {
                assert!(
                    !matches!(seg, Segment::Mount(None)),
                    "`{}` has a mount param no MountKind maps to",
                    t.raw
                );
            }
        }
    }

    /// Every request the action and the dev server's seeding send, one row each.
    #[test]
    fn every_request_the_action_and_the_seeding_send_passes() {
        const K8S_CONFIG: &str = r#"{"kubernetes_host": "https://10.0.0.1:6443",
            "kubernetes_ca_cert": "-----BEGIN CERTIFICATE-----", "disable_local_ca_jwt": true,
            "pem_keys": [], "issuer": "", "disable_iss_validation": true,
            "use_annotations_as_alias_metadata": false}"#;
        const JWT_ROLE: &str = r#"{"role_type": "jwt", "user_claim": "repository",
            "bound_audiences": ["a"], "bound_claims": {"repository": "o/r"},
            "bound_claims_type": "string", "token_policies": ["p"], "token_ttl": 300,
            "token_max_ttl": 600}"#;
        const K8S_ROLE: &str = r#"{"bound_service_account_names": ["s"],
            "bound_service_account_namespaces": ["n"], "token_policies": ["p"],
            "token_ttl": 300, "token_max_ttl": 600, "audience": "vault"}"#;
        const LOGIN: Option<&str> = Some(r#"{"role": "r", "jwt": "x"}"#);
        const EMPTY: Option<&str> = Some("{}");
        type Row = (
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
        );
        #[rustfmt::skip]
        let rows: [(Row, Option<&str>, &str, &str); 21] = [
            // The action.
            (("POST", "auth/jwt/login", &[]), LOGIN, "/auth/{jwt_mount_path}/login", POST),
            (("POST", "auth/dev-kubernetes/config", &[]), Some(K8S_CONFIG),
             "/auth/{kubernetes_mount_path}/config", POST),
            (("GET", "auth/dev-kubernetes/config", &[]), None,
             "/auth/{kubernetes_mount_path}/config", GET),
            (("GET", "kv/dev/data/ip", &[]), None, "/{kv_v2_mount_path}/data/{path}", GET),
            (("GET", "kv/dev/data/clusters/dev/ip", &[("version", "2")]), None,
             "/{kv_v2_mount_path}/data/{path}", GET),
            (("GET", "sys/health", &[("standbyok", "true"), ("perfstandbyok", "true")]), None,
             "/sys/health", GET),
            (("GET", "sys/auth", &[]), None, "/sys/auth", GET),
            (("GET", "auth/token/lookup-self", &[]), None, "/auth/token/lookup-self", GET),
            (("POST", "auth/token/revoke-self", &[]), None, "/auth/token/revoke-self", POST),
            (("PUT", "auth/token/revoke-self", &[]), EMPTY, "/auth/token/revoke-self", POST),
            (("POST", "auth/dev-kubernetes/login", &[]), LOGIN,
             "/auth/{kubernetes_mount_path}/login", POST),
            // The seeding, shaped like Terraform's.
            (("POST", "sys/auth/dev-kubernetes", &[]),
             Some(r#"{"type": "kubernetes", "description": "d"}"#), "/sys/auth/{path}", POST),
            (("POST", "sys/auth/team/jwt", &[]), Some(r#"{"type": "jwt", "description": "d"}"#),
             "/sys/auth/{path}", POST),
            (("POST", "sys/mounts/kv/dev", &[]),
             Some(r#"{"type": "kv", "options": {"version": "2"}}"#), "/sys/mounts/{path}", POST),
            (("POST", "sys/policies/acl/handshake", &[]),
             Some(r#"{"policy": "path \"kv/*\" {}"}"#), "/sys/policies/acl/{name}", POST),
            (("POST", "auth/jwt/config", &[]),
             Some(r#"{"jwt_validation_pubkeys": ["k"], "bound_issuer": "https://i"}"#),
             "/auth/{jwt_mount_path}/config", POST),
            (("POST", "auth/jwt/role/handshake", &[]), Some(JWT_ROLE),
             "/auth/{jwt_mount_path}/role/{name}", POST),
            (("POST", "auth/dev-kubernetes/role/smoke", &[]), Some(K8S_ROLE),
             "/auth/{kubernetes_mount_path}/role/{name}", POST),
            (("POST", "kv/dev/data/ip", &[]), Some(r#"{"data": {"ip": "10.0.0.1"}}"#),
             "/{kv_v2_mount_path}/data/{path}", POST),
            // Enterprise only; the 1.15 CE spec has it as a stub without a request body.
            (("POST", "sys/namespaces/team-a", &[]), None, "/sys/namespaces/{path}", POST),
            (("PUT", "sys/namespaces/team-a", &[]), EMPTY, "/sys/namespaces/{path}", POST),
        ];
        let m = mounts();
        for ((method, path, query), body, template, spec_method) in rows {
            let body = body.map(|b| serde_json::from_str(b).expect("test body is JSON"));
            assert_eq!(
                check(method, path, query, body, &m),
                matched(template, spec_method),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn only_the_kubernetes_config_field_needs_the_newer_field_allow_list() {
        let body = json!({"kubernetes_host": "h", "use_annotations_as_alias_metadata": true});
        assert!(check(
            "POST",
            "auth/dev-kubernetes/config",
            &[],
            Some(body),
            &mounts()
        )
        .is_ok());
        // The allow-list is per template: the same name on the jwt config is still unknown.
        let body = json!({"use_annotations_as_alias_metadata": true});
        assert_eq!(
            check("POST", "auth/jwt/config", &[], Some(body), &mounts()),
            Err(Violation::UnknownBodyField {
                template: "/auth/{jwt_mount_path}/config",
                method: POST,
                field: "use_annotations_as_alias_metadata".to_owned(),
            })
        );
    }

    #[test]
    fn a_body_field_named_like_a_path_parameter_is_accepted() {
        let body = json!({"name": "dev-handshake", "role_type": "jwt"});
        assert!(check(
            "POST",
            "auth/jwt/role/dev-handshake",
            &[],
            Some(body),
            &mounts()
        )
        .is_ok());
        let body = json!({"name": "x", "kubernetes_host": "h"});
        assert!(matches!(
            check(
                "POST",
                "auth/dev-kubernetes/config",
                &[],
                Some(body),
                &mounts()
            ),
            Err(Violation::UnknownBodyField { .. })
        ));
    }

    #[test]
    fn unknown_body_field_is_named() {
        let body = json!({"kubernetes_host": "h", "token_reviewer_jwt_set": true});
        let err = check(
            "POST",
            "auth/dev-kubernetes/config",
            &[],
            Some(body),
            &mounts(),
        )
        .expect_err("a read-only field is not a write field");
        assert_eq!(
            err.to_string(),
            "`token_reviewer_jwt_set` is not a body field of \
             `post /auth/{kubernetes_mount_path}/config`"
        );
        assert!(err.hint().is_some_and(|h| h.contains("allow-list")));
    }

    #[test]
    fn unknown_path_fails() {
        let err = check("GET", "auth/dev-kubernetes/nope", &[], None, &mounts())
            .expect_err("no such path");
        assert_eq!(
            err.to_string(),
            "no template of the Vault `1.15.0` API spec matches \
             `GET auth/dev-kubernetes/nope` with mounts `auth/jwt=jwt, \
             auth/dev-kubernetes=kubernetes, kv/dev=kv-v2, auth/token=token`"
        );
        for path in [
            "",
            "sys",
            "sys/healthz",
            "kv/dev/data/",
            "kv//dev/data/ip",
            "v1/sys/health",
        ] {
            assert!(
                matches!(
                    check("GET", path, &[], None, &mounts()),
                    Err(Violation::UnknownPath { .. })
                ),
                "{path:?}"
            );
        }
    }

    #[test]
    fn kubernetes_fields_on_a_jwt_mount_fail() {
        let body = json!({"kubernetes_host": "h", "disable_local_ca_jwt": true});
        assert_eq!(
            check("POST", "auth/jwt/config", &[], Some(body), &mounts()),
            Err(Violation::UnknownBodyField {
                template: "/auth/{jwt_mount_path}/config",
                method: POST,
                field: "disable_local_ca_jwt".to_owned(),
            })
        );
    }

    #[test]
    fn kv_v2_paths_need_a_kv_v2_mount() {
        let mut m = mounts();
        m[2].kind = MountKind::KvV1;
        // On KV v1 `data/ip` is just a secret's name, so the plain read is a KV v1 read ...
        assert_eq!(
            check("GET", "kv/dev/data/ip", &[], None, &m),
            matched("/{kv_v1_mount_path}/{path}", GET)
        );
        // ... and the KV v2 shape of it is not.
        assert_eq!(
            check("GET", "kv/dev/data/ip", &[("version", "1")], None, &m),
            Err(Violation::UnknownQueryParam {
                template: "/{kv_v1_mount_path}/{path}",
                method: GET,
                param: "version".to_owned(),
            })
        );
        assert!(matches!(
            check("GET", "kv/dev/metadata/ip", &[], None, &m),
            Ok(Matched {
                template: "/{kv_v1_mount_path}/{path}",
                ..
            })
        ));
        // Not mounted at all, or mounted elsewhere.
        m.remove(2);
        assert!(matches!(
            check("GET", "kv/dev/data/ip", &[], None, &m),
            Err(Violation::UnknownPath { .. })
        ));
        m.push(MountRef {
            path: "kv",
            kind: MountKind::KvV2,
            auth: false,
        });
        assert!(matches!(
            check("GET", "kv/dev/data/ip", &[], None, &m),
            Err(Violation::UnknownPath { .. })
        ));
    }

    #[test]
    fn the_longest_mount_wins_routing() {
        let m = [
            MountRef {
                path: "kv",
                kind: MountKind::KvV1,
                auth: false,
            },
            MountRef {
                path: "kv/dev",
                kind: MountKind::KvV2,
                auth: false,
            },
        ];
        assert_eq!(
            check("GET", "kv/dev/data/ip", &[], None, &m),
            matched("/{kv_v2_mount_path}/data/{path}", GET)
        );
        assert_eq!(
            check("GET", "kv/other/ip", &[], None, &m),
            matched("/{kv_v1_mount_path}/{path}", GET)
        );
    }

    #[test]
    fn auth_templates_need_an_auth_mount() {
        let none: [MountRef<'_>; 0] = [];
        assert!(matches!(
            check("GET", "auth/dev-kubernetes/config", &[], None, &none),
            Err(Violation::UnknownPath { .. })
        ));
        // The same name as a secrets engine is not the auth method ...
        let engine = [MountRef {
            path: "dev-kubernetes",
            kind: MountKind::Kubernetes,
            auth: false,
        }];
        assert!(matches!(
            check("GET", "auth/dev-kubernetes/config", &[], None, &engine),
            Err(Violation::UnknownPath { .. })
        ));
        // ... it is the kubernetes secrets engine, whose config has other fields.
        assert_eq!(
            check(
                "POST",
                "dev-kubernetes/config",
                &[],
                Some(json!({"kubernetes_host": "h", "pem_keys": []})),
                &engine
            ),
            Err(Violation::UnknownBodyField {
                template: "/{kubernetes_mount_path}/config",
                method: POST,
                field: "pem_keys".to_owned(),
            })
        );
        // And an auth mount does not serve the engine's paths.
        assert!(matches!(
            check("GET", "dev-kubernetes/config", &[], None, &mounts()),
            Err(Violation::UnknownPath { .. })
        ));
        // Nor does a mount of another kind at the same path.
        let other = [MountRef {
            path: "dev-kubernetes",
            kind: MountKind::Other,
            auth: true,
        }];
        assert!(matches!(
            check("GET", "auth/dev-kubernetes/config", &[], None, &other),
            Err(Violation::UnknownPath { .. })
        ));
    }

    #[test]
    fn mount_paths_bind_at_segment_boundaries() {
        let m = [MountRef {
            path: "dev",
            kind: MountKind::Kubernetes,
            auth: true,
        }];
        assert!(matches!(
            check("GET", "auth/dev-kubernetes/config", &[], None, &m),
            Err(Violation::UnknownPath { .. })
        ));
        let nested = [MountRef {
            path: "team/dev-kubernetes/",
            kind: MountKind::Kubernetes,
            auth: true,
        }];
        assert_eq!(
            check("GET", "auth/team/dev-kubernetes/config", &[], None, &nested),
            matched("/auth/{kubernetes_mount_path}/config", GET)
        );
    }

    #[test]
    fn method_not_allowed() {
        let err = check("DELETE", "auth/dev-kubernetes/config", &[], None, &mounts())
            .expect_err("the config has no delete");
        assert_eq!(
            err,
            Violation::MethodNotAllowed {
                template: "/auth/{kubernetes_mount_path}/config",
                method: "DELETE".to_owned(),
                allowed: "get, post".to_owned(),
            }
        );
        assert_eq!(
            err.to_string(),
            "method `DELETE` is not allowed on `/auth/{kubernetes_mount_path}/config`, which \
             has `get, post`"
        );
        for method in ["GET", "PATCH", "HEAD"] {
            assert!(
                matches!(
                    check(method, "auth/jwt/login", &[], None, &mounts()),
                    Err(Violation::MethodNotAllowed { .. })
                ),
                "{method}"
            );
        }
        // The most specific template decides, even when a vaguer one has the method.
        assert!(matches!(
            check("DELETE", "sys/mounts/kv/dev/tune", &[], None, &mounts()),
            Err(Violation::MethodNotAllowed {
                template: "/sys/mounts/{path}/tune",
                ..
            })
        ));
    }

    #[test]
    fn put_is_checked_as_post() {
        let body = json!({"kubernetes_host": "h"});
        assert_eq!(
            check(
                "PUT",
                "auth/dev-kubernetes/config",
                &[],
                Some(body.clone()),
                &mounts()
            ),
            matched("/auth/{kubernetes_mount_path}/config", POST)
        );
        assert_eq!(
            check(
                "put",
                "auth/dev-kubernetes/config",
                &[],
                Some(body),
                &mounts()
            ),
            matched("/auth/{kubernetes_mount_path}/config", POST)
        );
        assert!(matches!(
            check(
                "PUT",
                "auth/dev-kubernetes/config",
                &[],
                Some(json!({"x": 1})),
                &mounts()
            ),
            Err(Violation::UnknownBodyField { method: "post", .. })
        ));
    }

    #[test]
    fn list_verb_and_list_query_are_the_list_operation() {
        let m = mounts();
        let role_list = matched("/auth/{jwt_mount_path}/role/", LIST);
        assert_eq!(check("LIST", "auth/jwt/role", &[], None, &m), role_list);
        assert_eq!(check("LIST", "auth/jwt/role/", &[], None, &m), role_list);
        assert_eq!(
            check("GET", "auth/jwt/role", &[("list", "true")], None, &m),
            role_list
        );
        assert_eq!(
            check("LIST", "auth/jwt/role", &[("list", "true")], None, &m),
            role_list
        );
        // A listing of a KV v2 mount's root binds `{path}` to nothing.
        assert_eq!(
            check("LIST", "kv/dev/metadata", &[], None, &m),
            matched("/{kv_v2_mount_path}/metadata/{path}/", LIST)
        );
        assert_eq!(
            check("LIST", "kv/dev/metadata/team/", &[], None, &m),
            matched("/{kv_v2_mount_path}/metadata/{path}/", LIST)
        );
        // Only the spec's exact `true` makes a list; anything else is an unknown parameter.
        assert!(matches!(
            check("GET", "auth/jwt/role/x", &[("list", "false")], None, &m),
            Err(Violation::UnknownQueryParam { .. })
        ));
        // A listing where the spec has none, and a read where it has only a listing.
        assert!(matches!(
            check("LIST", "auth/dev-kubernetes/config", &[], None, &m),
            Err(Violation::MethodNotAllowed { .. })
        ));
        assert_eq!(
            check("GET", "sys/policies/acl", &[], None, &m),
            Err(Violation::MethodNotAllowed {
                template: "/sys/policies/acl/",
                method: "GET".to_owned(),
                allowed: "list".to_owned(),
            })
        );
    }

    #[test]
    fn multi_segment_params_bind_the_rest() {
        let m = mounts();
        assert_eq!(
            check("GET", "sys/auth/team/a/jwt", &[], None, &m),
            matched("/sys/auth/{path}", GET)
        );
        assert_eq!(
            check("POST", "sys/mounts/kv/dev/tune", &[], Some(json!({})), &m),
            matched("/sys/mounts/{path}/tune", POST)
        );
        // Literal segments win over a param that could swallow them.
        assert_eq!(
            check("POST", "sys/namespaces/api-lock/lock", &[], None, &m),
            matched("/sys/namespaces/api-lock/lock", POST)
        );
        // Ordinary params bind exactly one segment.
        assert!(matches!(
            check("GET", "auth/jwt/role/a/b", &[], None, &m),
            Err(Violation::UnknownPath { .. })
        ));
        assert!(matches!(
            check("GET", "sys/policies/acl/a/b", &[], None, &m),
            Err(Violation::UnknownPath { .. })
        ));
    }

    #[test]
    fn unknown_query_param_fails() {
        assert_eq!(
            check(
                "GET",
                "sys/health",
                &[("standbyok", "true"), ("bogus", "1")],
                None,
                &mounts()
            ),
            Err(Violation::UnknownQueryParam {
                template: "/sys/health",
                method: GET,
                param: "bogus".to_owned(),
            })
        );
        // `version` is allowed on KV v2 reads only, not on writes.
        assert!(matches!(
            check(
                "POST",
                "kv/dev/data/ip",
                &[("version", "1")],
                Some(json!({"data": {}})),
                &mounts()
            ),
            Err(Violation::UnknownQueryParam { .. })
        ));
        // Declared ones pass.
        assert_eq!(
            check(
                "GET",
                "auth/token/lookup",
                &[("token", "t")],
                None,
                &mounts()
            ),
            matched("/auth/token/lookup", GET)
        );
    }

    #[test]
    fn body_must_be_an_object() {
        for (body, kind) in [
            (json!([]), "array"),
            (json!("x"), "string"),
            (json!(null), "null"),
            (json!(1), "number"),
        ] {
            assert_eq!(
                check("POST", "auth/jwt/login", &[], Some(body), &mounts()),
                Err(Violation::BodyNotObject {
                    template: "/auth/{jwt_mount_path}/login",
                    method: POST,
                    found: kind,
                })
            );
        }
        let err = check("POST", "auth/jwt/login", &[], Some(json!([])), &mounts())
            .expect_err("array body");
        assert_eq!(
            err.to_string(),
            "the body of `post /auth/{jwt_mount_path}/login` is a JSON array, not an object"
        );
    }

    #[test]
    fn operations_without_a_request_body_take_no_fields() {
        assert!(matches!(
            check(
                "POST",
                "auth/token/revoke-self",
                &[],
                Some(json!({"token": "t"})),
                &mounts()
            ),
            Err(Violation::UnknownBodyField { .. })
        ));
        assert!(matches!(
            check("GET", "sys/auth", &[], Some(json!({"x": 1})), &mounts()),
            Err(Violation::UnknownBodyField { .. })
        ));
    }

    #[test]
    fn open_schemas_take_any_field() {
        let m = [MountRef {
            path: "secret",
            kind: MountKind::KvV1,
            auth: false,
        }];
        assert_eq!(
            check("POST", "secret/a/b", &[], Some(json!({"anything": 1})), &m),
            matched("/{kv_v1_mount_path}/{path}", POST)
        );
        assert_eq!(
            check("LIST", "secret", &[], None, &m),
            matched("/{kv_v1_mount_path}/{path}/", LIST)
        );
    }

    #[test]
    fn allow_list_entries_name_real_operations_the_spec_lacks() {
        let ops = || table().templates.iter().flat_map(|t| t.ops.values());
        for n in NEWER_BODY_FIELDS {
            let op = ops()
                .find(|op| op.schema.as_deref() == Some(n.schema))
                .unwrap_or_else(|| panic!("schema `{}` is not in the table", n.schema));
            assert!(
                !op.body
                    .as_ref()
                    .is_some_and(|b| b.iter().any(|f| f == n.field)),
                "`{}` is in the spec now: drop it from NEWER_BODY_FIELDS",
                n.field
            );
            assert!(n.since.starts_with("Vault "), "{}", n.since);
        }
        for u in UNDECLARED_QUERY_PARAMS {
            let op = table()
                .templates
                .iter()
                .find(|t| t.raw == u.template)
                .and_then(|t| t.ops.get(u.method))
                .unwrap_or_else(|| panic!("`{} {}` is not in the table", u.method, u.template));
            assert!(
                !op.query.iter().any(|p| p == u.param),
                "`{}` is declared now: drop it from UNDECLARED_QUERY_PARAMS",
                u.param
            );
            assert!(u.since.starts_with("Vault "), "{}", u.since);
        }
    }

    /// Runs `tools/derive-openapi-table.py --check` against Vault 1.15's OpenAPI spec: the file
    /// `VAULT_OPENAPI_SPEC` names, else the reference copy beside the repository. Without the
    /// spec (or python3) it skips with a note, except under `CI=true`, where it fails.
    #[test]
    fn committed_table_matches_the_spec() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let spec = std::env::var_os("VAULT_OPENAPI_SPEC")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join("../shared/reference/vault-openapi-1.15.json"));
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if !spec.is_file() {
            assert!(!ci, "CI=true but the spec `{}` is missing", spec.display());
            eprintln!(
                "note: skipping the table check, `{}` is missing",
                spec.display()
            );
            return;
        }
        let output = std::process::Command::new("python3")
            .arg(root.join("tools/derive-openapi-table.py"))
            .arg(&spec)
            .arg("--check")
            .output();
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                assert!(!ci, "CI=true but python3 cannot run: {e}");
                eprintln!("note: skipping the table check, python3 cannot run: {e}");
                return;
            }
        };
        assert!(
            output.status.success(),
            "the committed table is stale ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
