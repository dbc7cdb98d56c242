//! JWT login (`auth/<mount>/login`): signature and claim validation in the jwt plugin's
//! order, bound claims (string and glob), claim mappings, and the token grant the server mints.
//!
//! Pure: the clock is passed in; it never stores anything or mints the Vault token itself.

use super::*;

/// Where [`validate_login`] finds roles, keyed by [`normalize_role_name`].
pub trait RoleLookup {
    fn role(&self, name: &str) -> Option<&JwtRole>;
}

impl<S: BuildHasher> RoleLookup for HashMap<String, JwtRole, S> {
    fn role(&self, name: &str) -> Option<&JwtRole> {
        self.get(name)
    }
}

impl RoleLookup for BTreeMap<String, JwtRole> {
    fn role(&self, name: &str) -> Option<&JwtRole> {
        self.get(name)
    }
}

/// What a successful login grants: the caller mints the token from it. Holds no credential.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginOutcome {
    /// The role logged in against (lower-cased).
    pub role: String,
    /// `token_policies` sanitised as Vault core does, with `default` unless
    /// `token_no_default_policy`. Also the response's `token_policies`.
    pub policies: Vec<String>,
    /// Seconds; 0 = the mount's default TTL.
    pub ttl: u64,
    /// Seconds; 0 = the mount's max TTL.
    pub max_ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub num_uses: u64,
    pub token_type: TokenType,
    pub renewable: bool,
    /// `role` plus the `claim_mappings` targets (alias metadata and token `meta`).
    pub metadata: BTreeMap<String, String>,
    /// The `user_claim` value: the identity alias name.
    pub alias_name: String,
    pub group_aliases: Vec<String>,
    /// `<mount with / → ->` + alias, e.g. `jwt-octo-org/app`.
    pub display_name: String,
    pub bound_cidrs: Vec<CidrBlock>,
}

pub(super) const LOGIN_FIELDS: &[(&str, FieldType)] = &[
    ("role", FieldType::LowerStr),
    ("jwt", FieldType::Str),
    ("distributed_claim_access_token", FieldType::Str),
];

/// A `POST auth/<mount>/login` with body `{"role": …, "jwt": …}`, checked in path_login.go's
/// order with its exact messages (docs/vault-behaviour.md §2.3). `mount` is the auth mount path
/// (`jwt`, `jwt/`, or `auth/jwt/`), used for the display name. `remote_addr` is the client's
/// address for `token_bound_cidrs`; without it a role with bound CIDRs refuses, as Vault does
/// when it has no connection information.
pub fn validate_login<R: RoleLookup + ?Sized>(
    config: Option<&JwtAuthConfig>,
    roles: &R,
    mount: &str,
    body: &Value,
    now: i64,
    remote_addr: Option<IpAddr>,
) -> Result<LoginOutcome, VaultError> {
    let result = login(config, roles, mount, body, now, remote_addr);
    match &result {
        Ok(outcome) => {
            let (role, alias) = (&outcome.role, &outcome.alias_name);
            tracing::debug!(%role, %alias, "jwt login accepted");
        }
        // Messages never carry the token, so the reason is safe to log.
        Err(error) => {
            tracing::debug!(status = error.status, reason = %error.message, "jwt login refused")
        }
    }
    result
}

pub(super) fn login<R: RoleLookup + ?Sized>(
    config: Option<&JwtAuthConfig>,
    roles: &R,
    mount: &str,
    body: &Value,
    now: i64,
    remote_addr: Option<IpAddr>,
) -> Result<LoginOutcome, VaultError> {
    let mut fields = Fields::parse(body, LOGIN_FIELDS)?;
    let token = Secret::new(fields.take_str("jwt").unwrap_or_default());

    let config = config.ok_or_else(|| bad("could not load configuration"))?;
    let role_name = match fields.str("role") {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => config.default_role.clone(),
    };
    if role_name.is_empty() {
        return Err(bad("missing role"));
    }
    let role = roles
        .role(&role_name)
        .ok_or_else(|| bad(format!("role {} could not be found", go_quote(&role_name))))?;
    if role.role_type == RoleType::Oidc {
        return Err(bad("role with oidc role_type is not allowed"));
    }
    if token.expose_secret().is_empty() {
        return Err(bad("missing token"));
    }
    if !role.token.bound_cidrs.is_empty() {
        let allowed =
            remote_addr.is_some_and(|ip| role.token.bound_cidrs.iter().any(|c| c.contains(ip)));
        if !allowed {
            return Err(VaultError::permission_denied());
        }
    }

    let claims = validate_token(config, role, token.expose_secret(), now)
        .map_err(|e| bad(format!("error validating token: {e}")))?;
    drop(token);

    if role.bound_audiences.is_empty() {
        let has_aud = match claims.get("aud") {
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::String(s)) => !s.is_empty(),
            _ => false,
        };
        if has_aud {
            return Err(bad(
                "audience claim found in JWT but no audiences bound to the role",
            ));
        }
    }

    let Identity {
        alias_name,
        mut metadata,
        groups: group_aliases,
    } = create_identity(&claims, role).map_err(bad)?;
    metadata.insert("role".to_string(), role_name.clone());

    validate_bound_claims(role, &claims)
        .map_err(|e| bad(format!("error validating claims: {e}")))?;

    let policies = sanitize_policies(&role.token.policies, !role.token.no_default_policy);
    if policies.iter().any(|p| p == "root") {
        return Err(bad("auth methods cannot create root tokens"));
    }
    let display_name = format!("{}{alias_name}", login_source(mount))
        .trim_end_matches('-')
        .to_string();
    Ok(LoginOutcome {
        role: role_name,
        policies,
        ttl: role.token.ttl,
        max_ttl: role.token.max_ttl,
        explicit_max_ttl: role.token.explicit_max_ttl,
        period: role.token.period,
        num_uses: role.token.num_uses,
        token_type: role.token.token_type,
        renewable: true,
        metadata,
        alias_name,
        group_aliases,
        display_name,
        bound_cidrs: role.token.bound_cidrs.clone(),
    })
}

/// Vault core's login source: the mount path without `auth/`, `/` → `-` (`jwt/` → `jwt-`).
pub(super) fn login_source(mount: &str) -> String {
    let mount = mount.trim_start_matches('/');
    let mount = mount.strip_prefix("auth/").unwrap_or(mount);
    let mut source = mount.replace('/', "-");
    if !source.ends_with('-') {
        source.push('-');
    }
    source
}

/// The signature and registered-claim checks of cap's `Validator.Validate` with a static key
/// set. The error is the text after `error validating token: `.
pub(super) fn validate_token(
    config: &JwtAuthConfig,
    role: &JwtRole,
    token: &str,
    now: i64,
) -> Result<Value, String> {
    let claims = verify_signature(config, token)
        .map_err(|e| format!("error verifying token signature: {e}"))?;

    let allowed: Vec<&str> = if config.jwt_supported_algs.is_empty() {
        DEFAULT_SIGNING_ALGS.to_vec()
    } else {
        config
            .jwt_supported_algs
            .iter()
            .map(String::as_str)
            .collect()
    };
    if !allowed.contains(&claims.alg.as_str()) {
        return Err(
            "invalid algorithm (alg) header parameter: token signed with unexpected \
                    algorithm"
                .to_string(),
        );
    }

    let registered = RegisteredClaims::parse(&claims.payload)?;
    if !config.bound_issuer.is_empty() && config.bound_issuer != registered.iss {
        return Err("invalid issuer (iss) claim".to_string());
    }
    if !role.bound_subject.is_empty() && role.bound_subject != registered.sub {
        return Err("invalid subject (sub) claim".to_string());
    }
    if !role.bound_audiences.is_empty()
        && !role
            .bound_audiences
            .iter()
            .any(|a| registered.aud.contains(a))
    {
        return Err(
            "invalid audience (aud) claim: audience claim does not match any expected audience"
                .to_string(),
        );
    }
    check_time_claims(role, &registered, now)?;
    Ok(claims.payload)
}

/// cap's time rules: a missing `exp` is the latest start plus `expiration_leeway`, a missing
/// `nbf` is `iat` (or `exp - not_before_leeway`); the checks themselves allow only the clock
/// skew leeway. So `expiration_leeway` does not stretch a present `exp` — as in Vault.
pub(super) fn check_time_claims(
    role: &JwtRole,
    claims: &RegisteredClaims,
    now: i64,
) -> Result<(), String> {
    fn leeway(configured: i64, default: i64) -> i64 {
        match configured {
            v if v < 0 => 0,
            0 => default,
            v => v,
        }
    }
    let (iat, mut exp, mut nbf) = (claims.iat, claims.exp, claims.nbf);
    if iat == 0 && exp == 0 && nbf == 0 {
        return Err(
            "no issued at (iat), not before (nbf), or expiration time (exp) claims in token"
                .to_string(),
        );
    }
    if exp == 0 {
        exp = iat.max(nbf) + leeway(role.expiration_leeway, DEFAULT_LEEWAY_SECS);
    }
    if nbf == 0 {
        nbf = if iat != 0 {
            iat
        } else {
            exp - leeway(role.not_before_leeway, DEFAULT_LEEWAY_SECS)
        };
    }
    let skew = leeway(role.clock_skew_leeway, DEFAULT_CLOCK_SKEW_SECS);
    if now + skew < nbf {
        return Err("invalid not before (nbf) claim: token not yet valid".to_string());
    }
    if now - skew > exp {
        return Err("invalid expiration time (exp) claim: token is expired".to_string());
    }
    if iat != 0 && now + skew < iat {
        return Err("invalid issued at (iat) claim: token issued in the future".to_string());
    }
    Ok(())
}

pub(super) struct VerifiedToken {
    pub(super) alg: String,
    pub(super) payload: Value,
}

/// go-jose's compact JWS parse and cap's static key set: every configured key is tried; a token
/// no key verifies (wrong key, `none`, `HS256`, a payload that is not a JSON object) gets the
/// same answer. `kid` is not consulted, as in cap.
pub(super) fn verify_signature(
    config: &JwtAuthConfig,
    token: &str,
) -> Result<VerifiedToken, String> {
    let compact: String = token.chars().filter(|c| !c.is_whitespace()).collect();
    let parts: Vec<&str> = compact.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err("go-jose/go-jose: compact JWS format must have three parts".to_string());
    };
    let header = decode_jws_part(header_b64)?;
    let payload = decode_jws_part(payload_b64)?;
    let signature = decode_jws_part(signature_b64)?;
    let header: Value = serde_json::from_slice(&header).map_err(|e| e.to_string())?;
    let Value::Object(header) = header else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type jose.rawHeader",
            json_kind(&header)
        ));
    };
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => String::new(),
    };
    let signing_input = format!("{header_b64}.{payload_b64}");
    let verified = config
        .keys
        .iter()
        .any(|key| verify_rsa(key, &alg, signing_input.as_bytes(), &signature));
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(claims @ Value::Object(_)) if verified => claims,
        _ => return Err("no known key successfully validated the token signature".to_string()),
    };
    Ok(VerifiedToken {
        alg,
        payload: claims,
    })
}

pub(super) fn decode_jws_part(part: &str) -> Result<Vec<u8>, String> {
    JWS_BASE64.decode(part.trim_end_matches('=')).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => at,
            base64::DecodeError::InvalidLength(len) => len,
            base64::DecodeError::InvalidPadding => part.len(),
        };
        format!("illegal base64 data at input byte {at}")
    })
}

pub(super) fn verify_rsa(key: &RsaPublicKey, alg: &str, input: &[u8], signature: &[u8]) -> bool {
    match alg {
        "RS256" => verify_pkcs1::<Sha256>(key, input, signature),
        "RS384" => verify_pkcs1::<Sha384>(key, input, signature),
        "RS512" => verify_pkcs1::<Sha512>(key, input, signature),
        "PS256" => verify_pss::<Sha256>(key, input, signature),
        "PS384" => verify_pss::<Sha384>(key, input, signature),
        "PS512" => verify_pss::<Sha512>(key, input, signature),
        _ => false,
    }
}

pub(super) fn verify_pkcs1<D>(key: &RsaPublicKey, input: &[u8], signature: &[u8]) -> bool
where
    D: Digest + rsa::pkcs8::AssociatedOid,
{
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone())
        .verify(input, &signature)
        .is_ok()
}

pub(super) fn verify_pss<D>(key: &RsaPublicKey, input: &[u8], signature: &[u8]) -> bool
where
    D: Digest + sha2::digest::FixedOutputReset,
{
    let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
        return false;
    };
    rsa::pss::VerifyingKey::<D>::new(key.clone())
        .verify(input, &signature)
        .is_ok()
}

/// go-jose's `jwt.Claims`: the registered claims with their types enforced. Times are whole
/// seconds, 0 when absent (as a zero `NumericDate` is treated).
pub(super) struct RegisteredClaims {
    pub(super) iss: String,
    pub(super) sub: String,
    pub(super) aud: Vec<String>,
    pub(super) exp: i64,
    pub(super) iat: i64,
    pub(super) nbf: i64,
}

impl RegisteredClaims {
    pub(super) fn parse(claims: &Value) -> Result<Self, String> {
        const NOT_DATE: &str =
            "go-jose/go-jose/jwt: expected number value to unmarshal NumericDate";
        let date = |name: &str| -> Result<i64, String> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(0),
                // NumericDate(float) truncates toward zero.
                Some(Value::Number(n)) => Ok(n
                    .as_i64()
                    .or_else(|| n.as_f64().map(|f| f as i64))
                    .unwrap_or(0)),
                Some(_) => Err(NOT_DATE.to_string()),
            }
        };
        let text = |name: &str| -> Result<String, String> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(format!(
                    "json: cannot unmarshal {} into Go struct field Claims.{name} of type string",
                    json_kind(other)
                )),
            }
        };
        let aud =
            match claims.get("aud") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect(),
                Some(_) => return Err(
                    "go-jose/go-jose/jwt: expected string or array value to unmarshal to Audience"
                        .to_string(),
                ),
            };
        // Fields in the order encoding/json meets them after the claims map is re-marshalled
        // (sorted keys): aud, exp, iat, iss, jti, nbf, sub.
        let exp = date("exp")?;
        let iat = date("iat")?;
        let iss = text("iss")?;
        text("jti")?;
        let nbf = date("nbf")?;
        let sub = text("sub")?;
        Ok(RegisteredClaims {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
        })
    }
}

/// A claim as claims.go `getClaim` returns it: top-level numbers become `json.Number` of their
/// integer part; JSON `null` is missing.
pub(super) enum Claim<'a> {
    Number(String),
    Other(&'a Value),
}

pub(super) fn get_claim<'a>(claims: &'a Value, name: &str) -> Option<Claim<'a>> {
    let value = if name.starts_with('/') {
        claims.pointer(name)?
    } else {
        claims.get(name)?
    };
    match value {
        Value::Null => None,
        Value::Number(n) => Some(Claim::Number(go_int_text(n))),
        other => Some(Claim::Other(other)),
    }
}

/// Go's `strconv.Itoa(int(f))` of a float64 claim.
pub(super) fn go_int_text(n: &serde_json::Number) -> String {
    n.as_i64()
        .or_else(|| n.as_f64().map(|f| f as i64))
        .unwrap_or_default()
        .to_string()
}

/// Who the token says the caller is.
pub(super) struct Identity {
    pub(super) alias_name: String,
    pub(super) metadata: BTreeMap<String, String>,
    pub(super) groups: Vec<String>,
}

/// path_login.go `createIdentity`: the alias name, the mapped metadata, the group aliases.
pub(super) fn create_identity(claims: &Value, role: &JwtRole) -> Result<Identity, String> {
    let user = if role.user_claim_json_pointer {
        get_claim(claims, &role.user_claim)
    } else {
        claims
            .get(&role.user_claim)
            .filter(|v| !v.is_null())
            .map(Claim::Other)
    };
    let alias_name = match user {
        None => {
            return Err(format!(
                "claim {} not found in token",
                go_quote(&role.user_claim)
            ))
        }
        Some(Claim::Other(Value::String(s))) => s.clone(),
        Some(_) => {
            return Err(format!(
                "claim {} could not be converted to string",
                go_quote(&role.user_claim)
            ))
        }
    };

    let mut metadata = BTreeMap::new();
    for (source, target) in &role.claim_mappings {
        match get_claim(claims, source) {
            None => {}
            Some(Claim::Other(Value::String(s))) => {
                metadata.insert(target.clone(), s.clone());
            }
            Some(_) => return Err(format!("error converting claim '{source}' to string")),
        }
    }

    let mut groups = Vec::new();
    if !role.groups_claim.is_empty() {
        let name = go_quote(&role.groups_claim);
        // Each item is its name, or (when it is not a string) how Go's `%v` shows it.
        let items: Vec<Result<String, String>> = match get_claim(claims, &role.groups_claim) {
            None => {
                return Err(format!(
                    "failed to fetch groups: {name} claim not found in token"
                ))
            }
            Some(Claim::Number(n)) => vec![Err(n)],
            Some(Claim::Other(Value::String(s))) => vec![Ok(s.clone())],
            Some(Claim::Other(Value::Bool(b))) => vec![Err(b.to_string())],
            Some(Claim::Other(Value::Array(items))) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(go_fmt(other)),
                })
                .collect(),
            Some(Claim::Other(_)) => {
                return Err(format!(
                    "{name} claim could not be converted to string list"
                ))
            }
        };
        for item in items {
            match item {
                Ok(group) if group.is_empty() => {}
                Ok(group) => groups.push(group),
                Err(shown) => {
                    return Err(format!(
                        "value {shown} in groups claim could not be parsed as string"
                    ))
                }
            }
        }
    }
    Ok(Identity {
        alias_name,
        metadata,
        groups,
    })
}

/// One comparable item of a bound or received claim (claims.go `normalizeList`). `Opaque` never
/// matches: in Go it is a float64 inside a list or a nested value, which equals nothing that a
/// role can hold.
pub(super) enum ClaimItem {
    Str(String),
    Bool(bool),
    Number(String),
    Opaque,
}

impl ClaimItem {
    pub(super) fn matches(&self, other: &ClaimItem) -> bool {
        match (self, other) {
            (ClaimItem::Str(a), ClaimItem::Str(b)) => a == b,
            (ClaimItem::Bool(a), ClaimItem::Bool(b)) => a == b,
            (ClaimItem::Number(a), ClaimItem::Number(b)) => a == b,
            _ => false,
        }
    }
}

/// A role's value: numbers keep their JSON text, as Vault keeps `json.Number`.
pub(super) fn bound_items(value: &Value) -> Option<Vec<ClaimItem>> {
    let item = |v: &Value| match v {
        Value::String(s) => ClaimItem::Str(s.clone()),
        Value::Bool(b) => ClaimItem::Bool(*b),
        Value::Number(n) => ClaimItem::Number(n.to_string()),
        _ => ClaimItem::Opaque,
    };
    match value {
        Value::Array(items) => Some(items.iter().map(item).collect()),
        Value::String(_) | Value::Bool(_) | Value::Number(_) => Some(vec![item(value)]),
        _ => None,
    }
}

/// A token's value: a top-level number is its integer text; numbers inside lists stay floats.
pub(super) fn received_items(claim: &Claim<'_>) -> Option<Vec<ClaimItem>> {
    match claim {
        Claim::Number(n) => Some(vec![ClaimItem::Number(n.clone())]),
        Claim::Other(Value::String(s)) => Some(vec![ClaimItem::Str(s.clone())]),
        Claim::Other(Value::Bool(b)) => Some(vec![ClaimItem::Bool(*b)]),
        Claim::Other(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => ClaimItem::Str(s.clone()),
                    Value::Bool(b) => ClaimItem::Bool(*b),
                    _ => ClaimItem::Opaque,
                })
                .collect(),
        ),
        Claim::Other(_) => None,
    }
}

/// claims.go `validateBoundClaims`: every bound claim must be present and match one of its
/// values. Go walks the map in random order; this walks it sorted, so the first failing claim
/// in name order is the one reported.
pub(super) fn validate_bound_claims(role: &JwtRole, claims: &Value) -> Result<(), String> {
    let glob = role.bound_claims_type == BoundClaimsType::Glob;
    let mut names: Vec<&String> = role.bound_claims.keys().collect();
    names.sort();
    for name in names {
        let expected = &role.bound_claims[name.as_str()];
        let Some(actual) = get_claim(claims, name) else {
            return Err(format!("claim {} is missing", go_quote(name)));
        };
        let Some(actual_items) = received_items(&actual) else {
            let shown = match &actual {
                Claim::Number(n) => n.clone(),
                Claim::Other(v) => go_fmt(v),
            };
            return Err(format!(
                "received claim is not a string, bool, int or list: {shown}"
            ));
        };
        let Some(expected_items) = bound_items(expected) else {
            return Err(format!(
                "bound claim is not a string, bool, int or list: {}",
                go_fmt(expected)
            ));
        };
        let mut found = false;
        'search: for want in &expected_items {
            for got in &actual_items {
                if glob {
                    let ClaimItem::Str(pattern) = want else {
                        // claims.go's own format string (`%expVal`) renders like this.
                        let (kind, shown) = match want {
                            ClaimItem::Bool(b) => ("bool", b.to_string()),
                            ClaimItem::Number(n) => ("json.Number", n.clone()),
                            _ => ("[]interface {}", String::new()),
                        };
                        return Err(format!(
                            "received claim is not a glob string: %!e({kind}={shown})xpVal"
                        ));
                    };
                    if let ClaimItem::Str(subject) = got {
                        if glob_match(pattern, subject) {
                            found = true;
                            break 'search;
                        }
                    }
                } else if want.matches(got) {
                    found = true;
                    break 'search;
                }
            }
        }
        if !found {
            return Err(format!(
                "claim {} does not match any associated bound claim values",
                go_quote(name)
            ));
        }
    }
    Ok(())
}

/// ryanuber/go-glob `Glob`: `*` is the only wildcard and matches any run of characters,
/// including `/` and `:`.
pub(super) fn glob_match(pattern: &str, subject: &str) -> bool {
    if pattern.is_empty() {
        return subject.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return subject == pattern;
    }
    let leading_glob = pattern.starts_with('*');
    let trailing_glob = pattern.ends_with('*');
    let end = parts.len() - 1;
    let mut rest = subject;
    for (i, part) in parts[..end].iter().enumerate() {
        let Some(at) = rest.find(part) else {
            return false;
        };
        if i == 0 && !leading_glob && at != 0 {
            return false;
        }
        rest = &rest[at + part.len()..];
    }
    trailing_glob || rest.ends_with(parts[end])
}
