//! Vault ACL policies for the dev server: parsing policy text (the HCL subset and the JSON form
//! Vault accepts, optionally base64-encoded), the built-in `default` policy, and deciding whether
//! a set of policies allows an operation on a path.
//!
//! This module owns Vault's matching rules: exact paths, trailing `*` prefix globs, `+` segment
//! wildcards, the priority order between overlapping rules, the merge of one path across
//! policies, and `deny`. It mirrors `vault/policy.go` (`parsePaths`) and `vault/acl.go`
//! (`NewACL`, `AllowOperation`, `CheckAllowedFromNonExactPaths`, `Capabilities`) of
//! hashicorp/vault.
//!
//! It must never touch storage, HTTP, tokens or the clock; it does not decide which logical
//! operation a request is (an existence check turning a write into `create` or `update` is the
//! server's choice), does not know which paths are root-protected (the server asks
//! [`Acl::allows_sudo`] for those), and never logs policy text.
//!
//! The policy text is parsed by our own HCL 1 reader (`hcl`), not by a crate. The maintained
//! Rust HCL crate (hcl-rs 0.20) implements HCL 2's native syntax, while Vault parses policies
//! with hashicorp/hcl v1, and the two disagree on what a policy writer meets: HCL 2 refuses a
//! block that repeats an attribute (`policy = "read"` twice, which v1 and so Vault accept), it
//! does not read the JSON form through the same entry point, and its errors are not v1's
//! (`At 1:35: error parsing list, expected comma or list end, got: STRING`), which the dev
//! server repeats in its 400s. The tests below hold the reader to the shapes Vault's own policy
//! tests accept and to v1's rejections and texts.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

mod hcl;

use hcl::*;

/// Name of the built-in policy every non-root token carries unless `token_no_default_policy`.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// Name of the policy that allows everything; it has no text and cannot be written.
pub const ROOT_POLICY_NAME: &str = "root";

/// The text of Vault's built-in `default` policy, byte for byte as `vault policy read default`
/// prints it on current Vault (1.1x CE; the `sys/control-group/request` and OIDC `authorize`
/// blocks were added over time). Kept verbatim so `GET sys/policies/acl/default` answers what a
/// real server answers. The two `identity/entity/...{{...}}` blocks are templated: they only
/// apply to tokens with an entity and [`Acl`] skips them (see [`PathRule::is_templated`]).
pub const DEFAULT_POLICY_TEXT: &str = r#"
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"#;

// ---------------------------------------------------------------------------------------------
// Capabilities and operations

/// A capability a policy grants on a path, as written in `capabilities = [...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    Create,
    Read,
    Update,
    Delete,
    List,
    Patch,
    Sudo,
    Deny,
    /// Only ever reported by [`Acl::capabilities`] for a root token (Vault answers `["root"]`
    /// from `sys/capabilities-self`); `"root"` in policy text is an invalid capability.
    Root,
}

impl Capability {
    /// The name Vault uses in policy text and in `sys/capabilities*` answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Patch => "patch",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
            Capability::Root => "root",
        }
    }

    /// A capability name as policy text may contain it; exact and case-sensitive like Vault's
    /// `switch cap` in `parsePaths`. Newer Vault also knows `subscribe` and `recover`; the dev
    /// server does not, so they are rejected as unknown.
    fn parse_policy_name(name: &str) -> Option<Capability> {
        Some(match name {
            "create" => Capability::Create,
            "read" => Capability::Read,
            "update" => Capability::Update,
            "delete" => Capability::Delete,
            "list" => Capability::List,
            "patch" => Capability::Patch,
            "sudo" => Capability::Sudo,
            "deny" => Capability::Deny,
            _ => return None,
        })
    }

    fn bit(self) -> u16 {
        match self {
            Capability::Deny => 1,
            Capability::Create => 1 << 1,
            Capability::Read => 1 << 2,
            Capability::Update => 1 << 3,
            Capability::Delete => 1 << 4,
            Capability::List => 1 << 5,
            Capability::Sudo => 1 << 6,
            Capability::Patch => 1 << 7,
            Capability::Root => 1 << 8,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request's logical operation, as the server decided it (after any existence check).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
    List,
    Patch,
}

impl Operation {
    /// The capability that allows this operation (`AllowOperation`'s switch in `vault/acl.go`).
    pub fn capability(self) -> Capability {
        match self {
            Operation::Create => Capability::Create,
            Operation::Read => Capability::Read,
            Operation::Update => Capability::Update,
            Operation::Delete => Capability::Delete,
            Operation::List => Capability::List,
            Operation::Patch => Capability::Patch,
        }
    }
}

/// A set of capabilities, kept as Vault keeps it: a bitmap where `deny` excludes everything else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CapSet(u16);

impl CapSet {
    const DENY: CapSet = CapSet(1);

    fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    fn insert(&mut self, capability: Capability) {
        self.0 |= capability.bit();
    }

    fn is_deny(self) -> bool {
        self.contains(Capability::Deny)
    }

    /// Merge the same path string from another policy (`NewACL`): an existing deny stays, a new
    /// deny replaces everything, otherwise the union.
    fn merge(&mut self, other: CapSet) {
        if self.is_deny() {
            return;
        }
        if other.is_deny() {
            *self = CapSet::DENY;
            return;
        }
        self.0 |= other.0;
    }

    /// In the order `ACL.Capabilities` reports them.
    fn to_vec(self) -> Vec<Capability> {
        const ORDER: [Capability; 8] = [
            Capability::Sudo,
            Capability::Read,
            Capability::List,
            Capability::Update,
            Capability::Delete,
            Capability::Create,
            Capability::Patch,
            Capability::Deny,
        ];
        ORDER.into_iter().filter(|c| self.contains(*c)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Policies

/// One `path "<pattern>" { ... }` block of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRule {
    /// The pattern as written, minus one leading `/` (Vault strips it: API paths start after it).
    pattern: String,
    kind: RuleKind,
    capabilities: CapSet,
    templated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleKind {
    /// Matches the path exactly.
    Exact,
    /// Trailing `*` without any `+` segment: matches every path starting with the rest.
    Prefix,
    /// Contains a `+` segment (possibly also a trailing `*`): matched segment by segment.
    Segment,
}

impl PathRule {
    /// The path pattern, as written in the policy without a leading `/`.
    pub fn path(&self) -> &str {
        &self.pattern
    }

    /// The capabilities this block grants; `[Deny]` alone when it denies.
    pub fn capabilities(&self) -> Vec<Capability> {
        self.capabilities.to_vec()
    }

    /// Whether the path uses ACL templating (`{{identity.entity.id}}`). Vault renders such paths
    /// per token entity and drops them when that fails; the dev server has no entities to render
    /// with, so [`Acl`] always drops them.
    pub fn is_templated(&self) -> bool {
        self.templated
    }

    /// The key this rule is stored under in its [`Acl`] table: prefix rules lose their `*`.
    fn key(&self) -> &str {
        match self.kind {
            RuleKind::Prefix => self.pattern.strip_suffix('*').unwrap_or(&self.pattern),
            RuleKind::Exact | RuleKind::Segment => &self.pattern,
        }
    }
}

/// A named ACL policy, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    name: String,
    text: String,
    rules: Vec<PathRule>,
}

impl Policy {
    /// The name given to [`parse_policy`] (lower-casing it is the server's business).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy text as Vault stores and returns it: after base64 decoding, if that applied.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The path blocks in the order they were written.
    pub fn rules(&self) -> &[PathRule] {
        &self.rules
    }
}

/// Why policy text was refused. Display is the text Vault puts in its 400 `errors` list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `handlePoliciesSet` in `vault/logical_system.go`.
    #[error("'policy' parameter not supplied or empty")]
    Empty,
    /// The text is neither HCL nor JSON. Vault's HCL parser prefixes most messages with
    /// `At line:column:` but not all of them, hence the optional position.
    #[error("failed to parse policy: {}", render_at(*.position, .message))]
    Syntax {
        position: Option<Position>,
        message: String,
    },
    /// Keys Vault does not know, at the top level (`path: None`) or in a path block. Vault
    /// reports these through go-multierror, so the text is multi-line, exactly like Vault's.
    #[error("failed to parse policy: {}", render_invalid_keys(.path.as_deref(), .keys))]
    InvalidKeys {
        path: Option<String>,
        keys: Vec<InvalidKey>,
    },
    /// A key's value has the wrong shape, e.g. `capabilities = "read"`.
    #[error(
        "failed to parse policy: path {path:?}: {}",
        render_at(Some(*.position), &format!("{key}: expected {expected}"))
    )]
    InvalidValue {
        path: String,
        key: String,
        position: Position,
        expected: &'static str,
    },
    /// A path block whose body is not an object (`path "x" = "read"` in HCL, or JSON alike).
    #[error("failed to parse policy: path {path:?}: cannot check HCL keys of type {node_type}")]
    BlockNotObject {
        path: String,
        node_type: &'static str,
    },
    #[error("failed to parse policy: path {path:?}: invalid capability {capability:?}")]
    InvalidCapability { path: String, capability: String },
    /// The pre-0.5 `policy = "read"` form with a value other than deny, read, write or sudo.
    #[error("failed to parse policy: path {path:?}: invalid policy {policy:?}")]
    InvalidLegacyPolicy { path: String, policy: String },
    #[error("failed to parse policy: path {path:?}: invalid use of wildcards ('+*' is forbidden)")]
    WildcardMisuse { path: String },
}

/// A key Vault does not accept, with the line of its `=` (Vault reports line 0 for blocks,
/// which have no `=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidKey {
    pub key: String,
    pub line: usize,
}

/// A 1-based line and column in the policy text, counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl PolicyError {
    /// How to fix it, for whoever wrote the policy.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            PolicyError::Empty => "send the policy text in the `policy` field of the request body",
            PolicyError::Syntax { .. } => {
                "write blocks as `path \"<path>\" { capabilities = [\"read\"] }`, or send JSON"
            }
            PolicyError::InvalidKeys { .. } => {
                "top-level keys are `path` and `name`; a path block takes `capabilities` and a few \
                 parameter and wrapping keys"
            }
            PolicyError::InvalidValue { .. } | PolicyError::BlockNotObject { .. } => {
                "give `capabilities` a list of strings: `capabilities = [\"read\", \"update\"]`"
            }
            PolicyError::InvalidCapability { .. } => {
                "capabilities are create, read, update, patch, delete, list, sudo and deny"
            }
            PolicyError::InvalidLegacyPolicy { .. } => {
                "use `capabilities = [...]` instead of the legacy `policy = \"...\"`"
            }
            PolicyError::WildcardMisuse { .. } => {
                "use `+` for one whole segment or `*` at the very end, not `+*`"
            }
        })
    }
}

fn render_at(position: Option<Position>, message: &str) -> String {
    match position {
        Some(p) => format!("At {}:{}: {message}", p.line, p.column),
        None => message.to_owned(),
    }
}

/// go-multierror's `ListFormatFunc`, with `multierror.Prefix`'s `path "x": ` on each entry.
fn render_invalid_keys(path: Option<&str>, keys: &[InvalidKey]) -> String {
    let points: Vec<String> = keys
        .iter()
        .map(|k| {
            let prefix = path.map(|p| format!("path {p:?}: ")).unwrap_or_default();
            format!("{prefix}invalid key {:?} on line {}", k.key, k.line)
        })
        .collect();
    if points.len() == 1 {
        format!("1 error occurred:\n\t* {}\n\n", points[0])
    } else {
        let joined: Vec<String> = points.iter().map(|p| format!("* {p}")).collect();
        format!(
            "{} errors occurred:\n\t{}\n\n",
            points.len(),
            joined.join("\n\t")
        )
    }
}

/// Go's `base64.StdEncoding`: padding required, stray bits after the last byte tolerated.
const GO_STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Parse policy text the way `POST sys/policies/acl/<name>` does: refuse empty text, decode it
/// if it is valid base64, then parse HCL (or JSON, when the text starts with `{`).
pub fn parse_policy(name: &str, text: &str) -> Result<Policy, PolicyError> {
    if text.is_empty() {
        return Err(PolicyError::Empty);
    }
    // `handlePoliciesSet` tries base64 first and keeps the decoded text when that works. Go's
    // decoder skips `\r` and `\n`, so those are dropped before decoding too.
    let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let text = match GO_STD_ENCODING.decode(compact.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => text.to_owned(),
    };
    let json = text.trim_start().starts_with('{');
    let items = if json {
        flatten(Parser::new(&text, true).json_document()?)
    } else {
        Parser::new(&text, false).hcl_document()?
    };
    let rules = decode_rules(&items)?;
    Ok(Policy {
        name: name.to_owned(),
        text,
        rules,
    })
}

/// Vault's built-in `default` policy, parsed from [`DEFAULT_POLICY_TEXT`].
pub fn default_policy() -> Policy {
    match parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY_TEXT) {
        Ok(policy) => policy,
        // Invariant: DEFAULT_POLICY_TEXT is a constant that parses; the test
        // `default_policy_text_parses` holds this line to it.
        Err(error) => unreachable!("the built-in default policy does not parse: {error}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding parsed items into rules (`parseACLPolicyWithTemplating` and `parsePaths`)

const TOP_LEVEL_KEYS: [&str; 2] = ["name", "path"];
const PATH_KEYS: [&str; 10] = [
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "control_group",
];

fn invalid_keys(items: &[Item], valid: &[&str]) -> Vec<InvalidKey> {
    items
        .iter()
        .filter(|item| !valid.contains(&item.keys[0].as_str()))
        .map(|item| InvalidKey {
            key: item.keys[0].clone(),
            line: item.assign.map_or(0, |p| p.line),
        })
        .collect()
}

fn decode_rules(items: &[Item]) -> Result<Vec<PathRule>, PolicyError> {
    let invalid = invalid_keys(items, &TOP_LEVEL_KEYS);
    if !invalid.is_empty() {
        return Err(PolicyError::InvalidKeys {
            path: None,
            keys: invalid,
        });
    }
    // `name` is accepted and ignored: the URL names the policy.
    items
        .iter()
        .filter(|item| item.keys[0] == "path")
        .map(decode_rule)
        .collect()
}

fn decode_rule(item: &Item) -> Result<PathRule, PolicyError> {
    // `path { ... }` without a label is a rule for the literal path "path", as in Vault; extra
    // labels after the first are ignored, as in Vault.
    let key = item.keys.get(1).map_or("path", String::as_str).to_owned();
    let body = match &item.value {
        Node::Object(body, _) => body,
        other => {
            return Err(PolicyError::BlockNotObject {
                path: key,
                node_type: other.go_type(),
            })
        }
    };
    let invalid = invalid_keys(body, &PATH_KEYS);
    if !invalid.is_empty() {
        return Err(PolicyError::InvalidKeys {
            path: Some(key),
            keys: invalid,
        });
    }

    let mut names: Vec<String> = Vec::new();
    let mut legacy: Option<String> = None;
    for field in body {
        match field.keys[0].as_str() {
            "capabilities" => names.extend(string_list(&key, field)?),
            "policy" => legacy = Some(string_value(&key, field)?),
            // Parameter constraints, wrapping TTLs, MFA and control groups are accepted so that
            // real policies load, but the dev server does not enforce them.
            _ => {}
        }
    }

    let templated = key.contains("{{");
    let pattern = key.strip_prefix('/').unwrap_or(&key).to_owned();
    if pattern.contains("+*") {
        return Err(PolicyError::WildcardMisuse { path: pattern });
    }
    // Vault's test, kept as is: `a/+b` counts as a segment-wildcard path (it then matches only
    // literally), while `a+` does not.
    let segment = pattern == "+" || pattern.contains("/+") || pattern.starts_with("+/");
    let kind = if segment {
        RuleKind::Segment
    } else if pattern.ends_with('*') {
        RuleKind::Prefix
    } else {
        RuleKind::Exact
    };

    if let Some(policy) = legacy {
        // Pre-capabilities policies (`policy = "write"`), mapped as `parsePaths` maps them.
        let mapped: &[&str] = match policy.as_str() {
            "deny" => {
                names.clear();
                &["deny"]
            }
            "read" => &["read", "list"],
            "write" => &["create", "read", "update", "delete", "list"],
            "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
            _ => return Err(PolicyError::InvalidLegacyPolicy { path: key, policy }),
        };
        names.extend(mapped.iter().map(|s| (*s).to_owned()));
    }

    let mut capabilities = CapSet::default();
    for name in &names {
        match Capability::parse_policy_name(name) {
            // Vault stops at the first `deny` (`goto PathFinished`): the block denies, and any
            // name after it is not even checked.
            Some(Capability::Deny) => {
                capabilities = CapSet::DENY;
                break;
            }
            Some(capability) => capabilities.insert(capability),
            None => {
                return Err(PolicyError::InvalidCapability {
                    path: key,
                    capability: name.clone(),
                })
            }
        }
    }

    Ok(PathRule {
        pattern,
        kind,
        capabilities,
        templated,
    })
}

/// A list of strings, as HCL's decoder reads `[]string` (numbers are turned into text).
fn string_list(path: &str, field: &Item) -> Result<Vec<String>, PolicyError> {
    let bad = |position| PolicyError::InvalidValue {
        path: path.to_owned(),
        key: field.keys[0].clone(),
        position,
        expected: "a list of strings",
    };
    match &field.value {
        Node::List(elements, _) => elements
            .iter()
            .map(|element| match element {
                Node::Literal(Literal::Str(s) | Literal::Number(s), _) => Ok(s.clone()),
                other => Err(bad(other.position())),
            })
            .collect(),
        other => Err(bad(other.position())),
    }
}

fn string_value(path: &str, field: &Item) -> Result<String, PolicyError> {
    match &field.value {
        Node::Literal(Literal::Str(s), _) => Ok(s.clone()),
        other => Err(PolicyError::InvalidValue {
            path: path.to_owned(),
            key: field.keys[0].clone(),
            position: other.position(),
            expected: "a string",
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// The compiled ACL (`NewACL` and `AllowOperation` in `vault/acl.go`)

/// The rules of a token's policies, merged and ready to answer for any path.
#[derive(Clone, Debug, Default)]
pub struct Acl {
    root: bool,
    /// Exact paths.
    exact: BTreeMap<String, CapSet>,
    /// Trailing-`*` paths, keyed without the `*`.
    prefix: BTreeMap<String, CapSet>,
    /// Paths with `+` segments, keyed as written (a trailing `*` kept).
    segment: BTreeMap<String, CapSet>,
}

/// One candidate rule in `CheckAllowedFromNonExactPaths`.
struct Candidate<'a> {
    first_wildcard: usize,
    is_prefix: bool,
    wildcards: usize,
    path: &'a str,
    capabilities: CapSet,
}

impl Candidate<'_> {
    /// Vault's priority when several non-exact rules match, lowest first (the "P1 and P2"
    /// matching criteria under "Policy syntax" in
    /// https://developer.hashicorp.com/vault/docs/concepts/policies, and the `less` function of
    /// `CheckAllowedFromNonExactPaths` in `vault/acl.go`, introduced by hashicorp/vault#6532):
    /// 1. the later the first `+` or `*`, the higher (`foo/a*` beats `foo/+`);
    /// 2. not ending in `*` beats ending in `*` (`foo/+` beats `foo/*`);
    /// 3. fewer `+` segments beat more (`foo/bar/+/baz` beats `foo/+/+/baz`);
    /// 4. longer beats shorter (`foo/+/bar/ba*` beats `foo/+/bar/b*`);
    /// 5. lexically greater beats smaller (an arbitrary last resort).
    ///
    /// Exact rules never get here: an exact match always wins.
    fn priority(&self, other: &Candidate<'_>) -> std::cmp::Ordering {
        self.first_wildcard
            .cmp(&other.first_wildcard)
            .then(other.is_prefix.cmp(&self.is_prefix))
            .then(other.wildcards.cmp(&self.wildcards))
            .then(self.path.len().cmp(&other.path.len()))
            .then(self.path.cmp(other.path))
    }
}

impl Acl {
    /// Compile the given policies. `root` (or a policy named `root` among them) allows
    /// everything, as the `root` policy does.
    pub fn new(policies: &[&Policy], root: bool) -> Acl {
        let mut acl = Acl {
            root: root || policies.iter().any(|p| p.name == ROOT_POLICY_NAME),
            ..Acl::default()
        };
        for rule in policies.iter().flat_map(|p| p.rules.iter()) {
            if rule.templated {
                continue;
            }
            let table = match rule.kind {
                RuleKind::Exact => &mut acl.exact,
                RuleKind::Prefix => &mut acl.prefix,
                RuleKind::Segment => &mut acl.segment,
            };
            // The same path string in several policies (or twice in one) is one rule whose
            // capabilities are merged; only then does priority between different strings apply.
            table
                .entry(rule.key().to_owned())
                .and_modify(|existing| existing.merge(rule.capabilities))
                .or_insert(rule.capabilities);
        }
        acl
    }

    /// Whether `op` on `path` (no `/v1/` prefix) is allowed.
    pub fn allows(&self, path: &str, op: Operation) -> bool {
        let allowed = self.root
            || self
                .lookup(path, op)
                .is_some_and(|caps| !caps.is_deny() && caps.contains(op.capability()));
        // The path stays out of the log: a few legacy endpoints carry a token in the path.
        tracing::trace!(?op, allowed, "acl decision");
        allowed
    }

    /// Whether the rule that decides `op` on `path` also grants `sudo`, which root-protected
    /// paths (e.g. `sys/auth/<path>`) need on top of [`Acl::allows`]. Root always has it.
    pub fn allows_sudo(&self, path: &str, op: Operation) -> bool {
        self.root
            || self
                .lookup(path, op)
                .is_some_and(|caps| !caps.is_deny() && caps.contains(Capability::Sudo))
    }

    /// What `sys/capabilities-self` answers for `path`: `[Root]` for root, `[Deny]` when
    /// nothing is granted or the deciding rule denies, else the granted capabilities in Vault's
    /// order (sudo, read, list, update, delete, create, patch).
    pub fn capabilities(&self, path: &str) -> Vec<Capability> {
        if self.root {
            return vec![Capability::Root];
        }
        // Vault looks up with a List operation so that the trailing-slash fallbacks apply.
        match self.lookup(path, Operation::List) {
            Some(caps) if !caps.is_deny() && caps != CapSet::default() => caps.to_vec(),
            _ => vec![Capability::Deny],
        }
    }

    /// `hasMountAccess` (`vault/logical_system.go`), which `sys/internal/ui/mounts/<path>`
    /// asks before it describes a mount: whether any rule grants something at `mount` (its
    /// path with the trailing `/`) or anywhere under it. A deny rule grants nothing; a `+`
    /// rule counts when its leading segments match the mount's (Vault's
    /// `CheckAllowedFromNonExactPaths` with `bareMount`).
    pub fn has_mount_access(&self, mount: &str) -> bool {
        let granted = |caps: &CapSet| !caps.is_deny() && *caps != CapSet::default();
        if self.root
            || self
                .lookup(mount, Operation::List)
                .is_some_and(|c| granted(&c))
        {
            return true;
        }
        if self
            .exact
            .iter()
            .chain(&self.prefix)
            .any(|(path, caps)| path.starts_with(mount) && granted(caps))
        {
            return true;
        }
        let mount_parts: Vec<&str> = mount.trim_end_matches('/').split('/').collect();
        self.segment.iter().any(|(pattern, caps)| {
            let parts: Vec<&str> = pattern.trim_end_matches('*').split('/').collect();
            granted(caps)
                && parts.len() > mount_parts.len()
                && mount_parts
                    .iter()
                    .zip(&parts)
                    .all(|(m, p)| *p == "+" || p == m)
        })
    }

    /// The capabilities of the one rule that decides `path`, if any rule matches.
    fn lookup(&self, path: &str, op: Operation) -> Option<CapSet> {
        let path = path.trim_start_matches('/');
        if let Some(caps) = self.exact.get(path) {
            return Some(*caps);
        }
        // A LIST of `secret/` is allowed by a rule for `secret`, and since Vault 1.15
        // (hashicorp/vault#23874) wildcard rules without the trailing slash match it too.
        let trimmed = path.strip_suffix('/');
        if op == Operation::List {
            if let Some(caps) = self.exact.get(trimmed.unwrap_or(path)) {
                return Some(*caps);
            }
            if let Some(caps) = trimmed.and_then(|t| self.non_exact(t)) {
                return Some(caps);
            }
        }
        self.non_exact(path)
    }

    /// `CheckAllowedFromNonExactPaths`: the longest matching prefix rule competes with every
    /// matching segment rule under [`Candidate::priority`].
    fn non_exact(&self, path: &str) -> Option<CapSet> {
        let longest_prefix = self
            .prefix
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len());
        if self.segment.is_empty() {
            return longest_prefix.map(|(_, caps)| *caps);
        }
        let mut best = longest_prefix.map(|(prefix, caps)| Candidate {
            first_wildcard: prefix.len(),
            is_prefix: true,
            wildcards: 0,
            path: prefix,
            capabilities: *caps,
        });

        let path_parts: Vec<&str> = path.split('/').collect();
        for (pattern, caps) in &self.segment {
            let (is_prefix, stem) = match pattern.strip_suffix('*') {
                Some(stem) => (true, stem),
                None => (false, pattern.as_str()),
            };
            let rule_parts: Vec<&str> = stem.split('/').collect();
            if path_parts.len() < rule_parts.len()
                || (!is_prefix && path_parts.len() != rule_parts.len())
            {
                continue;
            }
            // `split` yields at least one part, so this does not underflow.
            let last = rule_parts.len() - 1;
            let mut wildcards = 0;
            let matched = rule_parts.iter().enumerate().all(|(i, part)| {
                if *part == "+" {
                    wildcards += 1;
                    true
                } else {
                    *part == path_parts[i]
                        || (is_prefix && i == last && path_parts[i].starts_with(part))
                }
            });
            if !matched {
                continue;
            }
            let candidate = Candidate {
                first_wildcard: pattern.find('+').unwrap_or(pattern.len()),
                is_prefix,
                wildcards,
                path: stem,
                capabilities: *caps,
            };
            if best
                .as_ref()
                .is_none_or(|b| candidate.priority(b) == std::cmp::Ordering::Greater)
            {
                best = Some(candidate);
            }
        }
        best.map(|b| b.capabilities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn policy(name: &str, text: &str) -> Policy {
        parse_policy(name, text).unwrap_or_else(|e| panic!("policy {name} should parse: {e}"))
    }

    fn acl(texts: &[&str]) -> Acl {
        let policies: Vec<Policy> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| policy(&format!("p{i}"), t))
            .collect();
        let refs: Vec<&Policy> = policies.iter().collect();
        Acl::new(&refs, false)
    }

    fn rules(p: &Policy) -> Vec<(&str, Vec<Capability>)> {
        p.rules()
            .iter()
            .map(|r| (r.path(), r.capabilities()))
            .collect()
    }

    use Capability as C;
    use Operation as Op;

    /// The shapes Vault's own parser tests accept (hashicorp/vault `vault/policy_test.go`,
    /// restated here): a top-level `name`, the legacy `policy = "…"` form, a leading `/`
    /// stripped, wrapping TTLs as a number and as a duration string, one path in two blocks
    /// (combined when compiled), and a block that repeats an attribute, which HCL 1 takes and
    /// HCL 2 refuses (one reason the module keeps its own parser).
    #[test]
    fn the_shapes_vaults_policy_tests_accept() {
        let text = r#"
name = "dev"
path "*" { policy = "deny" }
path "stage/*" { policy = "sudo" }
path "/foo/bar" {
  policy = "read"
  min_wrapping_ttl = 300
  max_wrapping_ttl = "1h"
}
path "foo/bar" { capabilities = ["create", "sudo"] }
path "twice" {
  policy = "read"
  policy = "write"
}
"#;
        let p = parse_policy("dev", text).expect("Vault accepts this policy");
        let paths: Vec<&str> = p.rules().iter().map(|r| r.path()).collect();
        assert!(
            paths.contains(&"foo/bar"),
            "leading slash stripped: {paths:?}"
        );
        assert!(!paths.contains(&"/foo/bar"));
        let acl = Acl::new(&[&p], false);
        let foo = acl.capabilities("foo/bar");
        for c in [C::Read, C::List, C::Create, C::Sudo] {
            assert!(foo.contains(&c), "{c:?} in {foo:?}: both blocks combine");
        }
        assert_eq!(acl.capabilities("prod/x"), vec![C::Deny]);
        assert!(acl.allows("stage/x", Op::Update));
        assert!(!acl.capabilities("twice").contains(&C::Deny));
    }

    #[test]
    fn default_policy_text_parses() {
        let p = parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY_TEXT);
        assert!(p.is_ok(), "{p:?}");
        assert_eq!(default_policy().name(), "default");
        assert_eq!(default_policy().text(), DEFAULT_POLICY_TEXT);
    }

    #[test]
    fn rejected_policy_texts() {
        let cases: &[(&str, &str)] = &[
            ("", "'policy' parameter not supplied or empty"),
            (
                r#"path "a" { capabilities = ["read"]"#,
                "failed to parse policy: object expected closing RBRACE got: EOF",
            ),
            (
                r#"path "a" { capabilities = ["read" "update"] }"#,
                "failed to parse policy: At 1:35: error parsing list, expected comma or list end, \
                 got: STRING",
            ),
            (
                r#"path "a" ; "#,
                "failed to parse policy: At 1:10: illegal char",
            ),
            (
                "path \"a { capabilities = [] }",
                "failed to parse policy: At 1:6: literal not terminated",
            ),
            (
                "/* never closed\npath \"a\" {}",
                "failed to parse policy: At 1:1: comment not terminated",
            ),
            (
                r#"path "a""#,
                "failed to parse policy: key 'path \"a\"' expected start of object ('{') or \
                 assignment ('=')",
            ),
            (
                r#"path "a" "b" = {}"#,
                "failed to parse policy: At 1:14: nested object expected: LBRACE got: ASSIGN",
            ),
            (
                r#"path "secret/foo" { capabilities = ["read", "write"] }"#,
                "failed to parse policy: path \"secret/foo\": invalid capability \"write\"",
            ),
            (
                r#"path "/secret/foo" { capabilities = ["Read"] }"#,
                "failed to parse policy: path \"/secret/foo\": invalid capability \"Read\"",
            ),
            (
                r#"path "a" { capabilities = ["root"] }"#,
                "failed to parse policy: path \"a\": invalid capability \"root\"",
            ),
            (
                "path \"a\" {\n  capabilities = [\"read\"]\n  capabilites = [\"list\"]\n}",
                "failed to parse policy: 1 error occurred:\n\t* path \"a\": invalid key \
                 \"capabilites\" on line 3\n\n",
            ),
            (
                "paths \"a\" {}\nfoo = 1",
                "failed to parse policy: 2 errors occurred:\n\t* invalid key \"paths\" on line \
                 0\n\t* invalid key \"foo\" on line 2\n\n",
            ),
            (
                r#"path "secret/+*" { capabilities = ["read"] }"#,
                "failed to parse policy: path \"secret/+*\": invalid use of wildcards ('+*' is \
                 forbidden)",
            ),
            (
                r#"path "a" { policy = "admin" }"#,
                "failed to parse policy: path \"a\": invalid policy \"admin\"",
            ),
            (
                r#"path "a" { capabilities = "read" }"#,
                "failed to parse policy: path \"a\": At 1:27: capabilities: expected a list of \
                 strings",
            ),
            (
                r#"path = "read""#,
                "failed to parse policy: path \"path\": cannot check HCL keys of type \
                 *ast.LiteralType",
            ),
            (
                r#"{"path": {"a": "read"}}"#,
                "failed to parse policy: 1 error occurred:\n\t* path \"path\": invalid key \"a\" \
                 on line 1\n\n",
            ),
            (
                r#"{"path": {"a": {"capabilities": ["read", "bogus"]}}}"#,
                "failed to parse policy: path \"a\": invalid capability \"bogus\"",
            ),
            (
                "{\"path\": {\"a\": {\n\"capabilities\": [\"read\"], \"oops\": 1}}}",
                "failed to parse policy: 1 error occurred:\n\t* path \"a\": invalid key \"oops\" \
                 on line 2\n\n",
            ),
            (
                r#"{"path": {"a": {"capabilities": ["read"]}}"#,
                "failed to parse policy: At 1:43: expected: COMMA | RBRACE got: EOF",
            ),
        ];
        for (text, want) in cases {
            match parse_policy("p", text) {
                Ok(p) => panic!("{text:?} parsed: {p:?}"),
                Err(e) => {
                    assert_eq!(e.to_string(), *want, "for {text:?}");
                    assert!(e.hint().is_some(), "hint for {text:?}");
                }
            }
        }
    }

    #[test]
    fn hcl_with_comments_and_several_blocks() {
        let p = policy(
            "dev",
            r#"
            # the action's write
            path "auth/dev-kubernetes/config" {
                capabilities = ["read", "update"] // read-back
            }
            /* the secret,
               read only */
            path "kv/dev/data/*" { capabilities = ["read",] }
            path "secret/+/teamb" { capabilities = ["list", "read"] }
            path "/sys/auth" { capabilities = ["read"], comment = "listing mounts" }
            path "legacy/*" { policy = "write" }
            path "x" { capabilities = ["deny", "not-checked-after-deny"] }
            name = "ignored"
            "#,
        );
        assert_eq!(
            rules(&p),
            vec![
                ("auth/dev-kubernetes/config", vec![C::Read, C::Update]),
                ("kv/dev/data/*", vec![C::Read]),
                ("secret/+/teamb", vec![C::Read, C::List]),
                ("sys/auth", vec![C::Read]),
                (
                    "legacy/*",
                    vec![C::Read, C::List, C::Update, C::Delete, C::Create]
                ),
                ("x", vec![C::Deny]),
            ]
        );
    }

    #[test]
    fn json_forms() {
        let nested = policy(
            "j",
            r#"{"path": {"auth/dev-kubernetes/config": {"capabilities": ["read", "update"]},
                        "kv/dev/data/*": {"capabilities": ["read"]}}}"#,
        );
        assert_eq!(
            rules(&nested),
            vec![
                ("auth/dev-kubernetes/config", vec![C::Read, C::Update]),
                ("kv/dev/data/*", vec![C::Read]),
            ]
        );
        let listed = policy(
            "j",
            r#"{"path": [{"a": {"capabilities": ["read"]}}, {"b": {"capabilities": ["list"]}}]}"#,
        );
        assert_eq!(
            rules(&listed),
            vec![("a", vec![C::Read]), ("b", vec![C::List])]
        );
    }

    #[test]
    fn base64_text_is_decoded_first() {
        let text = "path \"auth/dev-kubernetes/config\" {\n  capabilities = [\"read\"]\n}\n";
        let encoded = STANDARD.encode(text);
        let p = policy("b", &encoded);
        assert_eq!(p.text(), text, "Vault stores and returns the decoded text");
        assert_eq!(
            rules(&p),
            vec![("auth/dev-kubernetes/config", vec![C::Read])]
        );
        // Go's decoder skips line breaks, so wrapped base64 decodes too.
        let (head, tail) = encoded.split_at(8);
        assert_eq!(policy("b", &format!("{head}\n{tail}\r\n")).text(), text);
    }

    #[test]
    fn blank_text_is_an_empty_policy() {
        assert!(policy("blank", "  \n# nothing\n").rules().is_empty());
    }

    #[test]
    fn exact_glob_and_segment_matching() {
        let a = acl(&[r#"
            path "auth/dev-kubernetes/config" { capabilities = ["read", "update"] }
            path "kv/dev/data/*" { capabilities = ["read"] }
            path "secret/+/teamb" { capabilities = ["read"] }
            path "team/+/*" { capabilities = ["list"] }
            path "lit/a+b" { capabilities = ["read"] }
        "#]);
        let cases: &[(&str, Op, bool)] = &[
            ("auth/dev-kubernetes/config", Op::Read, true),
            ("/auth/dev-kubernetes/config", Op::Update, true),
            ("auth/dev-kubernetes/config/extra", Op::Read, false),
            ("auth/dev-kubernetes", Op::Read, false),
            ("kv/dev/data/ip", Op::Read, true),
            ("kv/dev/data/deep/ip", Op::Read, true),
            ("kv/dev/data/", Op::Read, true),
            ("kv/dev/data", Op::Read, false),
            ("kv/dev/data/ip", Op::Update, false),
            ("secret/x/teamb", Op::Read, true),
            ("secret//teamb", Op::Read, true),
            ("secret/x/y/teamb", Op::Read, false),
            ("secret/x/teamb/more", Op::Read, false),
            ("team/a/b", Op::List, true),
            ("team/a/", Op::List, true),
            ("team/a", Op::List, false),
            ("lit/a+b", Op::Read, true),
            ("lit/aab", Op::Read, false),
            ("elsewhere", Op::Read, false),
        ];
        for (path, op, want) in cases {
            assert_eq!(a.allows(path, *op), *want, "{op:?} {path}");
        }
    }

    #[test]
    fn priority_between_overlapping_rules() {
        let a = acl(&[r#"
            path "secret/*" { capabilities = ["deny"] }
            path "secret/foo" { capabilities = ["read"] }
            path "kv/+/data/ip" { capabilities = ["update"] }
            path "kv/dev/*" { capabilities = ["read"] }
            path "s/+/teamb" { capabilities = ["update"] }
            path "s/*" { capabilities = ["read"] }
            path "f/+/bar" { capabilities = ["read"] }
            path "f/+/ba*" { capabilities = ["update"] }
            path "g/bar/+/baz" { capabilities = ["read"] }
            path "g/+/+/baz" { capabilities = ["update"] }
            path "h/+/b/c" { capabilities = ["read"] }
            path "h/+/+/c" { capabilities = ["update"] }
            path "l/+/bar/ba*" { capabilities = ["read"] }
            path "l/+/bar/b*" { capabilities = ["update"] }
            path "p/a*" { capabilities = ["read"] }
            path "p/+" { capabilities = ["update"] }
            path "d/*" { capabilities = ["read"] }
            path "d/+/+/foo/*" { capabilities = ["update"] }
        "#]);
        let cases: &[(&str, Op, bool, &str)] = &[
            (
                "secret/foo",
                Op::Read,
                true,
                "an exact rule beats any glob, even a deny",
            ),
            (
                "secret/bar",
                Op::Read,
                false,
                "the deny glob decides the rest",
            ),
            (
                "kv/dev/data/ip",
                Op::Read,
                true,
                "`*` at 7 comes later than `+` at 3",
            ),
            (
                "kv/dev/data/ip",
                Op::Update,
                false,
                "so `kv/+/data/ip` loses",
            ),
            (
                "kv/prod/data/ip",
                Op::Update,
                true,
                "where the glob does not match, `+` decides",
            ),
            (
                "s/x/teamb",
                Op::Update,
                true,
                "same position: no trailing `*` wins",
            ),
            (
                "s/x/teamb",
                Op::Read,
                false,
                "and the glob's read is not merged in",
            ),
            ("f/x/bar", Op::Read, true, "`f/+/bar` beats `f/+/ba*`"),
            ("f/x/bar", Op::Update, false, "only one rule decides"),
            (
                "g/bar/x/baz",
                Op::Read,
                true,
                "later first wildcard beats more wildcards",
            ),
            ("h/x/b/c", Op::Read, true, "fewer `+` segments win"),
            ("h/x/b/c", Op::Update, false, "the two-`+` rule does not"),
            ("l/x/bar/bat", Op::Read, true, "the longer glob wins"),
            (
                "p/abc",
                Op::Read,
                true,
                "`p/a*` (glob at 3) beats `p/+` (at 2)",
            ),
            (
                "p/xyz",
                Op::Update,
                true,
                "`p/+` where `p/a*` does not match",
            ),
            (
                "d/a/b/foo/x",
                Op::Read,
                true,
                "the docs' example: `d/*` beats `d/+/+/foo/*`",
            ),
            (
                "d/a/b/foo/x",
                Op::Update,
                false,
                "rule 3: more `+` segments lose",
            ),
        ];
        for (path, op, want, why) in cases {
            assert_eq!(a.allows(path, *op), *want, "{op:?} {path}: {why}");
        }
    }

    #[test]
    fn longest_prefix_glob_wins_among_globs() {
        let a = acl(&[r#"
            path "*" { capabilities = ["read"] }
            path "secret/*" { capabilities = ["deny"] }
            path "secret/open/*" { capabilities = ["read"] }
        "#]);
        assert!(a.allows("anything/at/all", Op::Read));
        assert!(!a.allows("secret/x", Op::Read));
        assert!(a.allows("secret/open/x", Op::Read));
    }

    #[test]
    fn deny_wins_on_the_same_path() {
        let a = acl(&[
            r#"path "kv/dev/data/ip" { capabilities = ["read", "update"] }"#,
            r#"path "kv/dev/data/ip" { capabilities = ["deny"] }"#,
            r#"path "kv/dev/data/ip" { capabilities = ["list"] }"#,
        ]);
        assert!(!a.allows("kv/dev/data/ip", Op::Read));
        assert!(!a.allows("kv/dev/data/ip", Op::List));
        assert_eq!(a.capabilities("kv/dev/data/ip"), vec![C::Deny]);
        let within_block = acl(&[r#"path "a" { capabilities = ["read", "deny", "sudo"] }"#]);
        assert!(!within_block.allows("a", Op::Read));
        assert!(!within_block.allows_sudo("a", Op::Read));
    }

    #[test]
    fn the_same_path_is_merged_across_policies() {
        let a = acl(&[
            r#"path "auth/dev-kubernetes/config" { capabilities = ["read"] }"#,
            r#"path "auth/dev-kubernetes/config" { capabilities = ["update"] }"#,
            r#"path "secret/*" { capabilities = ["list"] }"#,
            r#"path "secret/*" { capabilities = ["read"] }"#,
        ]);
        assert!(a.allows("auth/dev-kubernetes/config", Op::Read));
        assert!(a.allows("auth/dev-kubernetes/config", Op::Update));
        assert_eq!(
            a.capabilities("auth/dev-kubernetes/config"),
            vec![C::Read, C::Update]
        );
        assert_eq!(a.capabilities("secret/x"), vec![C::Read, C::List]);
    }

    #[test]
    fn default_policy_allows_only_the_token_self_paths() {
        let default = default_policy();
        let a = Acl::new(&[&default], false);
        let cases: &[(&str, Op, bool)] = &[
            ("auth/token/lookup-self", Op::Read, true),
            ("auth/token/lookup-self", Op::Update, false),
            ("auth/token/renew-self", Op::Update, true),
            ("auth/token/revoke-self", Op::Update, true),
            ("sys/capabilities-self", Op::Update, true),
            ("cubbyhole/anything", Op::Create, true),
            ("identity/oidc/provider/p/authorize", Op::Read, true),
            ("auth/dev-kubernetes/config", Op::Read, false),
            ("auth/dev-kubernetes/config", Op::Update, false),
            ("kv/dev/data/ip", Op::Read, false),
            ("sys/auth", Op::Read, false),
            ("identity/entity/id/{{identity.entity.id}}", Op::Read, false),
        ];
        for (path, op, want) in cases {
            assert_eq!(a.allows(path, *op), *want, "{op:?} {path}");
        }
        assert!(default.rules().iter().filter(|r| r.is_templated()).count() == 2);
    }

    #[test]
    fn read_without_update_refuses_the_config_write() {
        let a = acl(&[r#"path "auth/dev-kubernetes/config" { capabilities = ["read"] }"#]);
        assert!(a.allows("auth/dev-kubernetes/config", Op::Read));
        assert!(!a.allows("auth/dev-kubernetes/config", Op::Update));
        let create_only =
            acl(&[r#"path "auth/dev-kubernetes/config" { capabilities = ["create"] }"#]);
        assert!(!create_only.allows("auth/dev-kubernetes/config", Op::Update));
    }

    #[test]
    fn root_allows_everything() {
        let a = Acl::new(&[], true);
        for op in [
            Op::Create,
            Op::Read,
            Op::Update,
            Op::Delete,
            Op::List,
            Op::Patch,
        ] {
            assert!(a.allows("sys/auth/dev-kubernetes", op));
        }
        assert!(a.allows_sudo("sys/auth/dev-kubernetes", Op::Update));
        assert_eq!(a.capabilities("anything"), vec![C::Root]);
        let named_root = Policy {
            name: ROOT_POLICY_NAME.to_owned(),
            text: String::new(),
            rules: Vec::new(),
        };
        assert!(Acl::new(&[&named_root], false).allows("x", Op::Delete));
    }

    #[test]
    fn sudo_comes_from_the_deciding_rule() {
        let a = acl(&[r#"
            path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }
            path "sys/auth/plain" { capabilities = ["update"] }
        "#]);
        assert!(a.allows_sudo("sys/auth/dev-kubernetes", Op::Update));
        assert!(a.allows("sys/auth/plain", Op::Update));
        assert!(!a.allows_sudo("sys/auth/plain", Op::Update));
        assert_eq!(
            a.capabilities("sys/auth/x"),
            vec![C::Sudo, C::Update, C::Create]
        );
    }

    #[test]
    fn list_falls_back_to_the_path_without_its_trailing_slash() {
        let a = acl(&[r#"
            path "kv/dev/metadata" { capabilities = ["list"] }
            path "+/sys/policies/acl" { capabilities = ["list"] }
        "#]);
        assert!(a.allows("kv/dev/metadata/", Op::List));
        assert!(!a.allows("kv/dev/metadata/", Op::Read));
        assert!(a.allows("ns1/sys/policies/acl/", Op::List));
        assert!(!a.allows("ns1/sys/policies/acl/", Op::Read));
    }

    #[test]
    fn capabilities_report_deny_when_nothing_matches() {
        let a = acl(&[r#"path "a" { capabilities = [] }"#]);
        assert_eq!(a.capabilities("a"), vec![C::Deny]);
        assert_eq!(a.capabilities("b"), vec![C::Deny]);
    }

    #[test]
    fn mount_access_is_any_grant_at_or_under_the_mount() {
        let under = acl(&["path \"kv/dev/data/ip\" { capabilities = [\"read\"] }"]);
        assert!(under.has_mount_access("kv/dev/"));
        assert!(under.has_mount_access("kv/"), "a rule under a mount above");
        assert!(!under.has_mount_access("secret/"));
        let above = acl(&["path \"kv/*\" { capabilities = [\"list\"] }"]);
        assert!(above.has_mount_access("kv/dev/"));
        let segment = acl(&["path \"kv/+/data/ip\" { capabilities = [\"read\"] }"]);
        assert!(segment.has_mount_access("kv/dev/"));
        assert!(!segment.has_mount_access("secret/dev/"));
        let denied = acl(&["path \"kv/dev/data/ip\" { capabilities = [\"deny\"] }"]);
        assert!(!denied.has_mount_access("kv/dev/"));
        assert!(Acl::new(&[], true).has_mount_access("anything/"));
    }
}
