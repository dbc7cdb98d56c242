//! JWT roles (`auth/<mount>/role/<name>`): parsing a role write with the plugin's
//! validation and defaults, and the read-back shape.
//!
//! Pure: the server stores what this returns; it never verifies a token.

use super::*;

/// `jwt` roles log in with a JWT; `oidc` roles only through the browser flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoleType {
    /// Roles stored without a type read back as `jwt` (legacy roles, path_role.go `role()`).
    #[default]
    Jwt,
    Oidc,
}

impl RoleType {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Jwt => "jwt",
            RoleType::Oidc => "oidc",
        }
    }
}

/// How `bound_claims` values are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BoundClaimsType {
    /// Exact equality.
    #[default]
    String,
    /// ryanuber/go-glob: `*` only, matching any run of characters including `/` and `:`.
    Glob,
}

impl BoundClaimsType {
    pub fn as_str(self) -> &'static str {
        match self {
            BoundClaimsType::String => "string",
            BoundClaimsType::Glob => "glob",
        }
    }
}

/// `token_type` of the tokens a role issues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenType {
    /// The mount's default (a service token unless tuned).
    #[default]
    Default,
    Service,
    Batch,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Default => "default",
            TokenType::Service => "service",
            TokenType::Batch => "batch",
        }
    }
}

/// One `token_bound_cidrs` entry: an address, or an address with a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CidrBlock {
    pub(super) addr: IpAddr,
    pub(super) prefix: u8,
}

impl CidrBlock {
    /// Parses `10.0.0.0/8`, `192.0.2.7` (a single host), `2001:db8::/32`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fail = || {
            format!(
                "error parsing address {}: Unable to convert {text} to an IPv4 or IPv6 address, \
                 or a UNIX Socket",
                go_quote(text)
            )
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| fail())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(fail)?,
            None => max,
        };
        Ok(CidrBlock { addr, prefix })
    }

    /// Whether `ip` lies inside the block (same address family only).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, candidate, width) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let host_bits = width - u32::from(self.prefix);
        if host_bits >= 128 {
            return true;
        }
        (net >> host_bits) == (candidate >> host_bits)
    }
}

impl fmt::Display for CidrBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// The standard token parameters (`tokenutil.TokenParams`). Durations in seconds, 0 = unset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenParams {
    pub policies: Vec<String>,
    pub ttl: u64,
    pub max_ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub num_uses: u64,
    pub no_default_policy: bool,
    pub token_type: TokenType,
    pub bound_cidrs: Vec<CidrBlock>,
}

/// The deprecated aliases (`policies`, `ttl`, …) kept as Vault keeps them, for read-back.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct LegacyTokenParams {
    pub(super) policies: Vec<String>,
    pub(super) bound_cidrs: Vec<CidrBlock>,
    pub(super) num_uses: u64,
    pub(super) ttl: u64,
    pub(super) max_ttl: u64,
    pub(super) period: u64,
}

/// A stored role. Build it with [`parse_role_write`]; store it under [`normalize_role_name`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JwtRole {
    pub role_type: RoleType,
    pub bound_audiences: Vec<String>,
    pub bound_subject: String,
    pub bound_claims_type: BoundClaimsType,
    /// Claim (or `/json/pointer`) → a value or a list of values (string, bool, number).
    pub bound_claims: Map<String, Value>,
    /// Claim (or `/json/pointer`) → metadata key.
    pub claim_mappings: BTreeMap<String, String>,
    pub user_claim: String,
    pub user_claim_json_pointer: bool,
    pub groups_claim: String,
    pub oidc_scopes: Vec<String>,
    pub allowed_redirect_uris: Vec<String>,
    pub verbose_oidc_logging: bool,
    pub max_age: u64,
    /// Seconds; 0 = cap's default (150), negative = no leeway.
    pub expiration_leeway: i64,
    /// Seconds; 0 = cap's default (150), negative = no leeway.
    pub not_before_leeway: i64,
    /// Seconds; 0 = the default (60), negative = no leeway.
    pub clock_skew_leeway: i64,
    pub token: TokenParams,
    pub(super) legacy: LegacyTokenParams,
}

impl JwtRole {
    /// The `data` of `GET auth/<mount>/role/<name>` (path_role.go `pathRoleRead`).
    pub fn to_read_data(&self) -> Value {
        let cidrs: Vec<String> = self
            .token
            .bound_cidrs
            .iter()
            .map(|c| c.to_string())
            .collect();
        let bound_claims = null_if_empty(self.bound_claims.is_empty(), json!(self.bound_claims));
        let claim_mappings =
            null_if_empty(self.claim_mappings.is_empty(), json!(self.claim_mappings));
        let mut data = json!({
            "role_type": self.role_type.as_str(),
            "expiration_leeway": self.expiration_leeway,
            "not_before_leeway": self.not_before_leeway,
            "clock_skew_leeway": self.clock_skew_leeway,
            "bound_audiences": self.bound_audiences,
            "bound_subject": self.bound_subject,
            "bound_claims_type": self.bound_claims_type.as_str(),
            "bound_claims": bound_claims,
            "claim_mappings": claim_mappings,
            "user_claim": self.user_claim,
            "user_claim_json_pointer": self.user_claim_json_pointer,
            "groups_claim": self.groups_claim,
            "allowed_redirect_uris": self.allowed_redirect_uris,
            "oidc_scopes": self.oidc_scopes,
            "verbose_oidc_logging": self.verbose_oidc_logging,
            "max_age": self.max_age,
            "token_bound_cidrs": cidrs,
            "token_explicit_max_ttl": self.token.explicit_max_ttl,
            "token_max_ttl": self.token.max_ttl,
            "token_no_default_policy": self.token.no_default_policy,
            "token_period": self.token.period,
            "token_policies": self.token.policies,
            "token_type": self.token.token_type.as_str(),
            "token_ttl": self.token.ttl,
            "token_num_uses": self.token.num_uses,
        });
        if let Some(map) = data.as_object_mut() {
            if !self.legacy.policies.is_empty() {
                map.insert("policies".to_string(), json!(self.token.policies));
            }
            if !self.legacy.bound_cidrs.is_empty() {
                map.insert("bound_cidrs".to_string(), json!(cidrs));
            }
            if self.legacy.ttl > 0 {
                map.insert("ttl".to_string(), json!(self.legacy.ttl));
            }
            if self.legacy.max_ttl > 0 {
                map.insert("max_ttl".to_string(), json!(self.legacy.max_ttl));
            }
            if self.legacy.period > 0 {
                map.insert("period".to_string(), json!(self.legacy.period));
            }
            if self.legacy.num_uses > 0 {
                map.insert("num_uses".to_string(), json!(self.legacy.num_uses));
            }
        }
        data
    }
}

/// Go marshals an empty (nil) map as `null`.
pub(super) fn null_if_empty(empty: bool, value: Value) -> Value {
    if empty {
        Value::Null
    } else {
        value
    }
}

/// Role names are `TypeLowerCaseString` on write and at login: store roles under this key.
pub fn normalize_role_name(name: &str) -> String {
    name.to_lowercase()
}

pub(super) const ROLE_FIELDS: &[(&str, FieldType)] = &[
    ("name", FieldType::LowerStr),
    ("role_type", FieldType::Str),
    ("policies", FieldType::CommaList),
    ("num_uses", FieldType::Int),
    ("ttl", FieldType::DurationSecond),
    ("max_ttl", FieldType::DurationSecond),
    ("period", FieldType::DurationSecond),
    ("bound_cidrs", FieldType::CommaList),
    ("expiration_leeway", FieldType::SignedDurationSecond),
    ("not_before_leeway", FieldType::SignedDurationSecond),
    ("clock_skew_leeway", FieldType::SignedDurationSecond),
    ("bound_subject", FieldType::Str),
    ("bound_audiences", FieldType::CommaList),
    ("bound_claims_type", FieldType::Str),
    ("bound_claims", FieldType::Map),
    ("claim_mappings", FieldType::KvPairs),
    ("user_claim", FieldType::Str),
    ("user_claim_json_pointer", FieldType::Bool),
    ("groups_claim", FieldType::Str),
    ("oidc_scopes", FieldType::CommaList),
    ("allowed_redirect_uris", FieldType::CommaList),
    ("verbose_oidc_logging", FieldType::Bool),
    ("max_age", FieldType::DurationSecond),
    ("token_bound_cidrs", FieldType::CommaList),
    ("token_explicit_max_ttl", FieldType::DurationSecond),
    ("token_max_ttl", FieldType::DurationSecond),
    ("token_no_default_policy", FieldType::Bool),
    ("token_period", FieldType::DurationSecond),
    ("token_policies", FieldType::CommaList),
    ("token_type", FieldType::Str),
    ("token_ttl", FieldType::DurationSecond),
    ("token_num_uses", FieldType::Int),
];

/// Parses a write to `auth/<mount>/role/<name>` onto `existing` (an update) or a fresh role,
/// with path_role.go's checks in its order. Returns the role and the response warnings.
///
/// Vault semantics kept on purpose, though surprising: `role_type` becomes `oidc` whenever the
/// write omits it (also on update), and `bound_claims_type` falls back to `string` whenever the
/// write omits it.
pub fn parse_role_write(
    name: &str,
    body: &Value,
    existing: Option<&JwtRole>,
) -> Result<(JwtRole, Vec<String>), VaultError> {
    let fields = Fields::parse(body, ROLE_FIELDS)?;
    if name.is_empty() {
        return Err(bad("missing role name"));
    }
    let mut role = existing.cloned().unwrap_or_default();

    role.role_type = match fields.str("role_type").unwrap_or_default() {
        "" | "oidc" => RoleType::Oidc,
        "jwt" => RoleType::Jwt,
        other => return Err(bad(format!("invalid 'role_type': {other}"))),
    };

    parse_token_fields(&mut role.token, &fields).map_err(bad)?;
    upgrade_legacy_token_fields(&mut role, &fields).map_err(bad)?;

    if role.token.period > SYSTEM_MAX_LEASE_TTL_SECS {
        return Err(bad(format!(
            "'period' of '{}' is greater than the backend's maximum lease TTL of '{}'",
            go_quote(&go_duration_string(role.token.period)),
            go_quote(&go_duration_string(SYSTEM_MAX_LEASE_TTL_SECS))
        )));
    }

    if let Some(v) = fields.int("expiration_leeway") {
        role.expiration_leeway = v;
    }
    if let Some(v) = fields.int("not_before_leeway") {
        role.not_before_leeway = v;
    }
    if let Some(v) = fields.int("clock_skew_leeway") {
        role.clock_skew_leeway = v;
    }
    if let Some(v) = fields.list("bound_audiences") {
        role.bound_audiences = v.to_vec();
    }
    if let Some(v) = fields.str("bound_subject") {
        role.bound_subject = v.to_string();
    }
    if let Some(v) = fields.bool("verbose_oidc_logging") {
        role.verbose_oidc_logging = v;
    }
    if let Some(v) = fields.secs("max_age") {
        role.max_age = v;
    }

    // `data.Get` returns the schema default, so an omitted type resets an existing glob role.
    role.bound_claims_type = match fields.str("bound_claims_type").unwrap_or("string") {
        "string" => BoundClaimsType::String,
        "glob" => BoundClaimsType::Glob,
        other => return Err(bad(format!("invalid 'bound_claims_type': {other}"))),
    };

    if let Some(claims) = fields.map("bound_claims") {
        if role.bound_claims_type == BoundClaimsType::Glob {
            for value in claims.values() {
                let items = match value {
                    Value::Array(items) => items.clone(),
                    Value::String(_) | Value::Bool(_) | Value::Number(_) => vec![value.clone()],
                    other => {
                        return Err(bad(format!(
                            "claim is not a string or list: {}",
                            go_fmt(other)
                        )))
                    }
                };
                if let Some(item) = items.iter().find(|item| !item.is_string()) {
                    return Err(bad(format!("claim is not a string: {}", go_fmt(item))));
                }
            }
        }
        role.bound_claims = claims.clone();
    }

    if let Some(mappings) = fields.kv("claim_mappings") {
        let mut targets: Vec<&str> = Vec::new();
        for target in mappings.values() {
            if target == "role" {
                return Err(bad(format!(
                    "metadata key {} is reserved and may not be a mapping destination",
                    go_quote(target)
                )));
            }
            if targets.contains(&target.as_str()) {
                return Err(bad(format!(
                    "multiple keys are mapped to metadata key {}",
                    go_quote(target)
                )));
            }
            targets.push(target);
        }
        role.claim_mappings = mappings.clone();
    }

    if let Some(v) = fields.str("user_claim") {
        role.user_claim = v.to_string();
    }
    if role.user_claim.is_empty() {
        return Err(bad("a user claim must be defined on the role"));
    }
    if let Some(v) = fields.bool("user_claim_json_pointer") {
        role.user_claim_json_pointer = v;
    }
    if let Some(v) = fields.str("groups_claim") {
        role.groups_claim = v.to_string();
    }
    if let Some(v) = fields.list("oidc_scopes") {
        role.oidc_scopes = v.to_vec();
    }
    if let Some(v) = fields.list("allowed_redirect_uris") {
        role.allowed_redirect_uris = v.to_vec();
    }

    if role.role_type == RoleType::Oidc && role.allowed_redirect_uris.is_empty() {
        return Err(bad(
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
        ));
    }
    if role.role_type == RoleType::Jwt
        && role.bound_audiences.is_empty()
        && role.token.bound_cidrs.is_empty()
        && role.bound_subject.is_empty()
        && role.bound_claims.is_empty()
    {
        return Err(bad(
            "must have at least one bound constraint when creating/updating a role",
        ));
    }
    if role.token.max_ttl > 0 && role.token.ttl > role.token.max_ttl {
        return Err(bad("ttl should not be greater than max ttl"));
    }

    let mut warnings = Vec::new();
    if role.token.max_ttl > SYSTEM_MAX_LEASE_TTL_SECS {
        warnings.push(
            "token max ttl is greater than the system or backend mount's maximum TTL value; \
             issued tokens' max TTL value will be truncated"
                .to_string(),
        );
    }
    if role.verbose_oidc_logging {
        warnings.push(
            "verbose_oidc_logging has been enabled for this role. This is not recommended in \
             production since sensitive information may be present in OIDC responses."
                .to_string(),
        );
    }
    // The framework reports unknown fields only on a non-empty response, and the handler
    // returns one only when it has warnings (docs/vault-behaviour.md §1.3).
    if !warnings.is_empty() && !fields.unknown.is_empty() {
        warnings.push(format!(
            "Endpoint ignored these unrecognized parameters: [{}]",
            fields.unknown.join(" ")
        ));
    }
    tracing::debug!(role_type = role.role_type.as_str(), "jwt role written");
    Ok((role, warnings))
}

/// `tokenutil.ParseTokenFields`: runs before the role's own checks, so its errors win.
pub(super) fn parse_token_fields(t: &mut TokenParams, fields: &Fields) -> Result<(), String> {
    if let Some(cidrs) = fields.list("token_bound_cidrs") {
        t.bound_cidrs = parse_cidrs(cidrs)?;
    }
    if let Some(v) = fields.secs("token_explicit_max_ttl") {
        t.explicit_max_ttl = v;
    }
    if let Some(v) = fields.secs("token_max_ttl") {
        t.max_ttl = v;
    }
    if let Some(v) = fields.bool("token_no_default_policy") {
        t.no_default_policy = v;
    }
    if let Some(v) = fields.secs("token_period") {
        t.period = v;
    }
    if let Some(v) = fields.list("token_policies") {
        t.policies = v.to_vec();
    }
    if let Some(v) = fields.str("token_type") {
        t.token_type = match v {
            "" | "default" => TokenType::Default,
            "service" => TokenType::Service,
            "batch" => TokenType::Batch,
            other => return Err(format!("invalid 'token_type' value {}", go_quote(other))),
        };
    }
    if let Some(v) = fields.int("token_num_uses") {
        t.num_uses = u64::try_from(v).map_err(|_| "'token_num_uses' cannot be negative")?;
    }
    if t.token_type == TokenType::Batch {
        if t.period != 0 {
            return Err(
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate \
                        periodic tokens"
                    .to_string(),
            );
        }
        if t.num_uses != 0 {
            return Err(
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate \
                        tokens with limited use count"
                    .to_string(),
            );
        }
    }
    if let Some(v) = fields.secs("token_ttl") {
        t.ttl = v;
    }
    if t.ttl > 0 && t.max_ttl > 0 && t.ttl > t.max_ttl {
        return Err("'token_ttl' cannot be greater than 'token_max_ttl'".to_string());
    }
    Ok(())
}

pub(super) fn parse_cidrs(items: &[String]) -> Result<Vec<CidrBlock>, String> {
    items.iter().map(|item| CidrBlock::parse(item)).collect()
}

/// `tokenutil.UpgradeValue` for each deprecated alias: the `token_*` field wins when both are
/// sent; the alias alone sets both.
pub(super) fn upgrade_legacy_token_fields(
    role: &mut JwtRole,
    fields: &Fields,
) -> Result<(), String> {
    fn upgrade<T: Clone + Default>(
        fields: &Fields,
        old_key: &str,
        new_key: &str,
        old_value: Option<T>,
        old: &mut T,
        new: &mut T,
    ) {
        if !fields.has(new_key) {
            if let Some(v) = old_value {
                *old = v.clone();
                *new = v;
            }
        } else if fields.has(old_key) {
            *old = new.clone();
        } else {
            *old = T::default();
        }
    }
    let (legacy, token) = (&mut role.legacy, &mut role.token);
    // policyutil.ParsePolicies sanitises the legacy list (lower-case, sorted, no duplicates).
    let policies = fields.list("policies").map(|p| sanitize_policies(p, false));
    upgrade(
        fields,
        "policies",
        "token_policies",
        policies,
        &mut legacy.policies,
        &mut token.policies,
    );
    let cidrs = fields.list("bound_cidrs").map(parse_cidrs).transpose()?;
    upgrade(
        fields,
        "bound_cidrs",
        "token_bound_cidrs",
        cidrs,
        &mut legacy.bound_cidrs,
        &mut token.bound_cidrs,
    );
    let num_uses = fields
        .int("num_uses")
        .map(|n| u64::try_from(n).unwrap_or(0));
    upgrade(
        fields,
        "num_uses",
        "token_num_uses",
        num_uses,
        &mut legacy.num_uses,
        &mut token.num_uses,
    );
    upgrade(
        fields,
        "ttl",
        "token_ttl",
        fields.secs("ttl"),
        &mut legacy.ttl,
        &mut token.ttl,
    );
    upgrade(
        fields,
        "max_ttl",
        "token_max_ttl",
        fields.secs("max_ttl"),
        &mut legacy.max_ttl,
        &mut token.max_ttl,
    );
    upgrade(
        fields,
        "period",
        "token_period",
        fields.secs("period"),
        &mut legacy.period,
        &mut token.period,
    );
    Ok(())
}

/// `policyutil.SanitizePolicies`: trimmed, lower-cased, `root` alone wins, `default` added when
/// asked, then sorted without duplicates or empties.
pub(super) fn sanitize_policies(policies: &[String], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut default_found = false;
    for policy in policies {
        let policy = policy.trim().to_lowercase();
        if policy.is_empty() {
            continue;
        }
        if policy == "root" {
            out = vec![policy];
            default_found = true;
            break;
        }
        if policy == "default" {
            default_found = true;
        }
        out.push(policy);
    }
    if add_default && (out.is_empty() || !default_found) {
        out.push("default".to_string());
    }
    out.sort();
    out.dedup();
    out
}
