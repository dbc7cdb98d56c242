//! The dev server's `jwt` auth method: a GitHub-shaped OIDC issuer and Vault's JWT login rules.
//!
//! Owns the issuer key that signs GitHub Actions-shaped ID tokens, the parsing of writes to
//! `auth/<mount>/config` and `auth/<mount>/role/<name>`, and login validation with the order of
//! checks and the exact error strings of hashicorp/vault-plugin-auth-jwt (`path_config.go`,
//! `path_role.go`, `path_login.go`, `claims.go`) and hashicorp/cap (`jwt/jwt.go`,
//! `jwt/keyset.go`), as summarised in docs/vault-behaviour.md §2.
//!
//! It is pure logic plus RSA: no sockets, no clock (callers pass `now` as Unix seconds), no
//! storage, and randomness only through the RNG handed to [`IssuerKey::generate`]. It must never
//! put a JWT into an error message, a log line or a `Debug` rendering: the token read from a
//! login body goes straight into a [`Secret`], and no type here that could hold one derives
//! `Debug`.
//!
//! Supported: locally configured RSA keys (`jwt_validation_pubkeys`, SPKI PEM or a certificate's
//! key), RS256/384/512 and PS256/384/512 signatures. Not supported, answered with a 400 that says
//! so: `oidc_discovery_url`, `jwks_url`, `jwks_pairs`. Field-type errors follow Vault's
//! `Field validation failed: …` shape but their detail text is only close to Go's.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::hash::BuildHasher;
use std::net::IpAddr;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::pure::secret::Secret;

/// The issuer of GitHub.com Actions ID tokens (docs/actions-behaviour.md §4.2).
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// `exp - iat` of a GitHub Actions ID token (docs/actions-behaviour.md §4.3: the docs' sample, and
/// what users decoding real tokens report).
pub const GITHUB_TOKEN_LIFETIME_SECS: i64 = 300;
/// `iat - nbf` of a GitHub Actions ID token (docs/actions-behaviour.md §4.3).
pub const GITHUB_NOT_BEFORE_SECS: i64 = 600;

const ISSUER_KEY_BITS: usize = 2048;
/// cap's `DefaultLeewaySeconds`, used for `expiration_leeway` and `not_before_leeway` when 0.
const DEFAULT_LEEWAY_SECS: i64 = 150;
/// go-jose's `jwt.DefaultLeeway`, used for `clock_skew_leeway` when 0.
const DEFAULT_CLOCK_SKEW_SECS: i64 = 60;
/// Vault's system default `max_lease_ttl` (768h). The dev server does not tune mounts, so role
/// writes compare against it like the plugin compares against `b.System().MaxLeaseTTL()`.
const SYSTEM_MAX_LEASE_TTL_SECS: u64 = 768 * 3600;
/// What path_login.go accepts when `jwt_supported_algs` is empty.
const DEFAULT_SIGNING_ALGS: [&str; 10] = [
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
];
const KEY_SOURCE_ERROR: &str =
    "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' \
     must be set";

/// go-jose decodes JWS parts with Go's `base64.RawURLEncoding` after trimming `=`; Go's decoder is
/// not strict about the unused trailing bits, so neither is this one.
const JWS_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A refusal as Vault would send it: the HTTP status and the one string of `{"errors":[…]}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("vault answered {status}: {message}")]
pub struct VaultError {
    pub status: u16,
    pub message: String,
}

impl VaultError {
    /// A handler's `logical.ErrorResponse`: always 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        VaultError {
            status: 400,
            message: message.into(),
        }
    }

    /// `logical.ErrPermissionDenied` on a login path: 403, not multierror-wrapped.
    pub fn permission_denied() -> Self {
        VaultError {
            status: 403,
            message: "permission denied".to_string(),
        }
    }

    /// The JSON body Vault sends with this status.
    pub fn body(&self) -> Value {
        json!({ "errors": [self.message] })
    }
}

fn bad(message: impl Into<String>) -> VaultError {
    VaultError::bad_request(message)
}

/// Why the issuer key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IssuerKeyError {
    #[error("could not generate the dev server's RSA-{ISSUER_KEY_BITS} issuer key: {0}")]
    Generate(rsa::Error),
    #[error("could not encode the issuer public key as SPKI: {0}")]
    Encode(rsa::pkcs8::spki::Error),
}

// ---------------------------------------------------------------------------------------------
// The issuer key
// ---------------------------------------------------------------------------------------------

/// The dev server's OIDC signing key, standing in for GitHub's.
///
/// `Debug` shows the `kid` only: the private key must not reach a log.
pub struct IssuerKey {
    signing: rsa::pkcs1v15::SigningKey<Sha256>,
    public: RsaPublicKey,
    kid: String,
    x5t: String,
    public_pem: String,
}

impl IssuerKey {
    /// Generates a fresh RSA-2048 key (seconds in an unoptimised build; the crate optimises
    /// `rsa` and `num-bigint-dig` in dev for this).
    pub fn generate<R: rand::CryptoRng + rand::RngCore>(
        rng: &mut R,
    ) -> Result<Self, IssuerKeyError> {
        let private = RsaPrivateKey::new(rng, ISSUER_KEY_BITS).map_err(IssuerKeyError::Generate)?;
        let public = private.to_public_key();
        let der = public.to_public_key_der().map_err(IssuerKeyError::Encode)?;
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(IssuerKeyError::Encode)?;
        let digest = Sha256::digest(der.as_bytes());
        // GitHub's `kid` is 40 upper-case hex digits; a truncated SPKI hash has the same shape.
        let kid = digest[..20].iter().fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02X}");
            out
        });
        // Real `x5t` is the SHA-1 of a certificate; there is no certificate here, so it is the
        // SHA-256 of the SPKI. Nothing in Vault's login reads it.
        let x5t = URL_SAFE_NO_PAD.encode(digest);
        Ok(IssuerKey {
            signing: rsa::pkcs1v15::SigningKey::new(private),
            public,
            kid,
            x5t,
            public_pem,
        })
    }

    /// The key id put in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as SPKI PEM, the form Vault's `jwt_validation_pubkeys` takes.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The public key as a JWK (for a JWKS document, should the server publish one).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        })
    }

    /// Signs `claims` into a compact RS256 JWS with a GitHub-shaped header
    /// (`alg`, `typ`, `kid`, `x5t`), base64url without padding.
    ///
    /// The result is a credential: hand it to a [`Secret`] or straight to the code under test.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid, "x5t": self.x5t });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // `Signer::sign` panics only if the padded SHA-256 DigestInfo does not fit the modulus;
        // the key is always RSA-2048 (see `generate`), far larger than the 62 bytes needed.
        let signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions-shaped claims
// ---------------------------------------------------------------------------------------------

/// What a GitHub Actions job's ID token says about the run (docs/actions-behaviour.md §4.2). All
/// custom claims are strings, as in GitHub's tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct GithubClaims {
    /// `owner/repo`.
    pub repository: String,
    pub repository_owner: String,
    pub repository_id: String,
    pub repository_owner_id: String,
    /// `public`, `private` or `internal`.
    pub repository_visibility: String,
    /// `refs/heads/<branch>`, `refs/tags/<tag>` or `refs/pull/<n>/merge`.
    pub ref_: String,
    /// `branch` or `tag`.
    pub ref_type: String,
    pub sha: String,
    /// The job's deployment environment, if it names one.
    pub environment: Option<String>,
    pub event_name: String,
    pub actor: String,
    pub actor_id: String,
    pub workflow: String,
    pub workflow_ref: String,
    pub workflow_sha: String,
    pub job_workflow_ref: String,
    pub job_workflow_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    pub run_id: String,
    pub run_number: String,
    pub run_attempt: String,
    /// `github-hosted` or `self-hosted`.
    pub runner_environment: String,
    /// The `jti`; when `None`, derived from the other claims and `now`.
    pub jti: Option<String>,
    /// Extra claims (e.g. `repo_property_*`), applied last so a test can also override or plant
    /// odd values; a `null` here removes the claim.
    pub extra: Map<String, Value>,
}

impl GithubClaims {
    /// A push to `main` of `repository` (`owner/repo`) by `octocat`, no environment.
    pub fn for_repository(repository: &str) -> Self {
        let owner = repository.split('/').next().unwrap_or_default().to_string();
        let sha = "8f2ad52d1b8c7a2e4a1b9d0e3c4f5a6b7c8d9e0f".to_string();
        let workflow_ref = format!("{repository}/.github/workflows/deploy.yml@refs/heads/main");
        GithubClaims {
            repository: repository.to_string(),
            repository_owner: owner,
            repository_id: "700000001".to_string(),
            repository_owner_id: "9919".to_string(),
            repository_visibility: "private".to_string(),
            ref_: "refs/heads/main".to_string(),
            ref_type: "branch".to_string(),
            sha: sha.clone(),
            environment: None,
            event_name: "push".to_string(),
            actor: "octocat".to_string(),
            actor_id: "583231".to_string(),
            workflow: "deploy".to_string(),
            workflow_ref: workflow_ref.clone(),
            workflow_sha: sha.clone(),
            job_workflow_ref: workflow_ref,
            job_workflow_sha: sha,
            head_ref: String::new(),
            base_ref: String::new(),
            run_id: "9000000001".to_string(),
            run_number: "1".to_string(),
            run_attempt: "1".to_string(),
            runner_environment: "github-hosted".to_string(),
            jti: None,
            extra: Map::new(),
        }
    }

    /// The default `sub` (docs/actions-behaviour.md §4.2): environment wins, then `pull_request`,
    /// then the ref; a `:` inside a value is sent as `%3A`.
    pub fn subject(&self) -> String {
        let repo = &self.repository;
        match &self.environment {
            Some(env) => format!("repo:{repo}:environment:{}", env.replace(':', "%3A")),
            None if self.event_name == "pull_request" => format!("repo:{repo}:pull_request"),
            None => format!("repo:{repo}:ref:{}", self.ref_.replace(':', "%3A")),
        }
    }

    /// The claim set GitHub would sign for this run: `aud` is `audience`, or the owner's URL
    /// (`https://github.com/<owner>`) when none was requested; `iat = now`,
    /// `exp = now + 300`, `nbf = now - 600`.
    pub fn to_claims(&self, issuer: &str, audience: Option<&str>, now: i64) -> Value {
        let aud = match audience {
            Some(aud) => aud.to_string(),
            None => format!("https://github.com/{}", self.repository_owner),
        };
        let sub = self.subject();
        let jti = self.jti.clone().unwrap_or_else(|| {
            let seed = format!("{sub}\n{aud}\n{}\n{}\n{now}", self.run_id, self.run_attempt);
            uuid_shaped(&Sha256::digest(seed.as_bytes()))
        });
        let mut claims = json!({
            "iss": issuer,
            "sub": sub,
            "aud": aud,
            "exp": now + GITHUB_TOKEN_LIFETIME_SECS,
            "iat": now,
            "nbf": now - GITHUB_NOT_BEFORE_SECS,
            "jti": jti,
            "actor": self.actor,
            "actor_id": self.actor_id,
            "base_ref": self.base_ref,
            "event_name": self.event_name,
            "head_ref": self.head_ref,
            "job_workflow_ref": self.job_workflow_ref,
            "job_workflow_sha": self.job_workflow_sha,
            "ref": self.ref_,
            "ref_type": self.ref_type,
            "repository": self.repository,
            "repository_id": self.repository_id,
            "repository_owner": self.repository_owner,
            "repository_owner_id": self.repository_owner_id,
            "repository_visibility": self.repository_visibility,
            "run_attempt": self.run_attempt,
            "run_id": self.run_id,
            "run_number": self.run_number,
            "runner_environment": self.runner_environment,
            "sha": self.sha,
            "workflow": self.workflow,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.workflow_sha,
        });
        if let Some(map) = claims.as_object_mut() {
            if let Some(env) = &self.environment {
                map.insert("environment".to_string(), Value::String(env.clone()));
            }
            for (key, value) in &self.extra {
                if value.is_null() {
                    map.remove(key);
                } else {
                    map.insert(key.clone(), value.clone());
                }
            }
        }
        claims
    }
}

fn uuid_shaped(bytes: &[u8]) -> String {
    let hex = bytes.iter().take(16).fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

// ---------------------------------------------------------------------------------------------
// Request fields, read with Vault's weak typing
// ---------------------------------------------------------------------------------------------

/// The framework field types the jwt plugin's paths use.
#[derive(Clone, Copy)]
enum FieldType {
    Str,
    LowerStr,
    CommaList,
    Bool,
    Int,
    DurationSecond,
    SignedDurationSecond,
    Map,
    KvPairs,
    Slice,
}

enum FieldValue {
    Str(String),
    List(Vec<String>),
    Bool(bool),
    Int(i64),
    Map(Map<String, Value>),
    Kv(BTreeMap<String, String>),
    Slice(Vec<Value>),
}

/// A request body after Vault's `FieldData.Validate`: every known field converted once, before
/// the handler runs (so a type error wins over every handler check). No `Debug`: a login body's
/// `jwt` sits here until it is moved into a [`Secret`].
struct Fields {
    values: BTreeMap<&'static str, FieldValue>,
    unknown: Vec<String>,
}

impl Fields {
    fn parse(body: &Value, schema: &[(&'static str, FieldType)]) -> Result<Self, VaultError> {
        let empty = Map::new();
        let map = match body {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => {
                return Err(VaultError::bad_request(format!(
                    "failed to parse JSON input: json: cannot unmarshal {} into Go value of type \
                     map[string]interface {{}}",
                    json_kind(other)
                )))
            }
        };
        let mut values = BTreeMap::new();
        for &(name, kind) in schema {
            let Some(raw) = map.get(name) else { continue };
            let value = convert_field(raw, kind).map_err(|detail| {
                VaultError::bad_request(format!(
                    "Field validation failed: error converting input for field {}: {detail}",
                    go_quote(name)
                ))
            })?;
            values.insert(name, value);
        }
        let mut unknown: Vec<String> = map
            .keys()
            .filter(|key| !schema.iter().any(|(name, _)| name == key))
            .cloned()
            .collect();
        unknown.sort();
        Ok(Fields { values, unknown })
    }

    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn str(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(FieldValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn take_str(&mut self, name: &str) -> Option<String> {
        match self.values.remove(name) {
            Some(FieldValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn list(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name) {
            Some(FieldValue::List(l)) => Some(l),
            _ => None,
        }
    }

    fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(FieldValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(FieldValue::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// A `TypeDurationSecond` field, known non-negative after conversion.
    fn secs(&self, name: &str) -> Option<u64> {
        self.int(name).map(|i| u64::try_from(i).unwrap_or(0))
    }

    fn map(&self, name: &str) -> Option<&Map<String, Value>> {
        match self.values.get(name) {
            Some(FieldValue::Map(m)) => Some(m),
            _ => None,
        }
    }

    fn kv(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        match self.values.get(name) {
            Some(FieldValue::Kv(m)) => Some(m),
            _ => None,
        }
    }

    fn slice(&self, name: &str) -> Option<&[Value]> {
        match self.values.get(name) {
            Some(FieldValue::Slice(s)) => Some(s),
            _ => None,
        }
    }
}

fn convert_field(raw: &Value, kind: FieldType) -> Result<FieldValue, String> {
    Ok(match kind {
        FieldType::Str => FieldValue::Str(weak_string(raw, "string")?),
        FieldType::LowerStr => FieldValue::Str(weak_string(raw, "string")?.to_lowercase()),
        FieldType::CommaList => FieldValue::List(weak_comma_list(raw)?),
        FieldType::Bool => FieldValue::Bool(weak_bool(raw)?),
        FieldType::Int => FieldValue::Int(weak_int(raw)?),
        FieldType::DurationSecond => {
            let secs = parse_duration_seconds(raw)?;
            if secs < 0 {
                return Err("cannot provide negative value".to_string());
            }
            FieldValue::Int(secs)
        }
        FieldType::SignedDurationSecond => FieldValue::Int(parse_duration_seconds(raw)?),
        FieldType::Map => match raw {
            Value::Object(m) => FieldValue::Map(m.clone()),
            Value::Null => FieldValue::Map(Map::new()),
            other => return Err(format!("'' expected a map, got '{}'", go_kind(other))),
        },
        FieldType::KvPairs => FieldValue::Kv(weak_kv_pairs(raw)?),
        FieldType::Slice => match raw {
            Value::Array(items) => FieldValue::Slice(items.clone()),
            Value::Null => FieldValue::Slice(Vec::new()),
            Value::Object(_) => {
                return Err("'' source data must be an array or slice, got map".to_string())
            }
            single => FieldValue::Slice(vec![single.clone()]),
        },
    })
}

/// mapstructure's weak decode to a string (what `TypeString` does).
fn weak_string(raw: &Value, target: &str) -> Result<String, String> {
    match raw {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(format!(
            "'' expected type '{target}', got unconvertible type '{}'",
            go_kind(other)
        )),
    }
}

/// `TypeCommaStringSlice`: a comma-separated string or a list, each item trimmed.
fn weak_comma_list(raw: &Value) -> Result<Vec<String>, String> {
    let items = match raw {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| weak_string(item, "string"))
            .collect::<Result<_, _>>()?,
        Value::Object(_) => {
            return Err("'' source data must be an array or slice, got map".to_string())
        }
        single => vec![weak_string(single, "string")?],
    };
    Ok(items.into_iter().map(|s| s.trim().to_string()).collect())
}

fn weak_bool(raw: &Value) -> Result<bool, String> {
    match raw {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) if s.is_empty() => Ok(false),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(format!(
                "cannot parse '' as bool: strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(s)
            )),
        },
        other => Err(format!(
            "'' expected type 'bool', got unconvertible type '{}'",
            go_kind(other)
        )),
    }
}

fn weak_int(raw: &Value) -> Result<i64, String> {
    let text = match raw {
        Value::Null => return Ok(0),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => return Ok(0),
        Value::String(s) => s.clone(),
        _ => return Err("could not parse value from input".to_string()),
    };
    text.parse::<i64>().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(&text)
        )
    })
}

/// `TypeKVPairs`: an object of strings, or a list of `key=value` strings.
fn weak_kv_pairs(raw: &Value) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    match raw {
        Value::Null => {}
        Value::Object(map) => {
            for (key, value) in map {
                out.insert(key.clone(), weak_string(value, "string")?);
            }
        }
        Value::Array(items) => {
            for item in items {
                let pair = weak_string(item, "string")?;
                let Some((key, value)) = pair.split_once('=') else {
                    return Err(format!("invalid key value pair {}", go_quote(&pair)));
                };
                out.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
        other => return Err(format!("'' expected a map, got '{}'", go_kind(other))),
    }
    Ok(out)
}

/// A duration field as Vault reads it (`parseutil.ParseDurationSecond`, then whole seconds
/// toward zero): a number or an integer string is seconds, `<n>d` is days, anything else is a
/// Go duration (`90s`, `15m`, `1h30m`, `1.5h`). Numbers go through their JSON text like Vault's
/// `json.Number`, so `1.5` is refused (missing unit) as Vault refuses it.
pub fn parse_duration_seconds(raw: &Value) -> Result<i64, String> {
    match raw {
        Value::Null => Ok(0),
        Value::Number(n) => parse_duration_second_str(&n.to_string()),
        Value::String(s) => parse_duration_second_str(s),
        _ => Err("could not parse duration from input".to_string()),
    }
}

fn parse_duration_second_str(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    if let Some(days) = s.strip_suffix('d') {
        let invalid = || {
            format!(
                "strconv.ParseInt: parsing {}: invalid syntax",
                go_quote(days)
            )
        };
        let days = days.parse::<i64>().map_err(|_| invalid())?;
        return days.checked_mul(86_400).ok_or_else(invalid);
    }
    let nanos = parse_go_duration(s)?;
    // Go's `int(d.Seconds())` truncates toward zero.
    Ok((nanos / 1_000_000_000) as i64)
}

/// Go's `time.ParseDuration`, in nanoseconds, with its error texts.
fn parse_go_duration(orig: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if first != b'.' && !first.is_ascii_digit() {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let whole: u128 = if int_len > 0 {
            s[..int_len].parse::<u64>().map_err(|_| invalid())?.into()
        } else {
            0
        };
        s = &s[int_len..];
        let (mut frac, mut scale, mut frac_len) = (0u128, 1u128, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            frac_len = s.bytes().take_while(u8::is_ascii_digit).count();
            for digit in s[..frac_len].bytes() {
                // Go stops accumulating digits that would overflow; 18 digits is well below it.
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + u128::from(digit - b'0');
                    scale *= 10;
                }
            }
            s = &s[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let unit = &s[..unit_len];
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(orig)
                ))
            }
        };
        s = &s[unit_len..];
        total += whole * nanos_per_unit + frac * nanos_per_unit / scale;
        if total > i64::MAX as u128 + u128::from(negative) {
            return Err(invalid());
        }
    }
    let total = total as i128;
    Ok(if negative { -total } else { total })
}

/// Go's `time.Duration.String()` for whole seconds (`768h0m0s`, `1m30s`, `45s`, `0s`).
fn go_duration_string(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Go's `%q` for the strings that appear in Vault's messages.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 || u32::from(c) == 0x7f => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Roughly Go's `%v` of a decoded JSON value (`map[a:b]`, `[a b]`, `<nil>`).
fn go_fmt(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_fmt).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// The Go type name mapstructure reports for a decoded JSON value.
fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The JSON kind encoding/json names in its unmarshal errors.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

// ---------------------------------------------------------------------------------------------
// Auth method config: auth/<mount>/config
// ---------------------------------------------------------------------------------------------

const CONFIG_FIELDS: &[(&str, FieldType)] = &[
    ("oidc_discovery_url", FieldType::Str),
    ("oidc_discovery_ca_pem", FieldType::Str),
    ("oidc_client_id", FieldType::Str),
    ("oidc_client_secret", FieldType::Str),
    ("oidc_response_mode", FieldType::Str),
    ("oidc_response_types", FieldType::CommaList),
    ("jwks_url", FieldType::Str),
    ("jwks_ca_pem", FieldType::Str),
    ("jwks_pairs", FieldType::Slice),
    ("default_role", FieldType::LowerStr),
    ("jwt_validation_pubkeys", FieldType::CommaList),
    ("jwt_supported_algs", FieldType::CommaList),
    ("bound_issuer", FieldType::Str),
    ("provider_config", FieldType::Map),
    ("namespace_in_state", FieldType::Bool),
    ("unsupported_critical_cert_extensions", FieldType::CommaList),
];

/// A written `auth/<mount>/config`, with its keys parsed. Holds public keys only.
#[derive(Clone, Debug)]
pub struct JwtAuthConfig {
    /// The PEM texts as written (returned on read).
    pub jwt_validation_pubkeys: Vec<String>,
    /// Empty means Vault's default set (RS/ES/PS 256/384/512 and EdDSA).
    pub jwt_supported_algs: Vec<String>,
    /// When set, the only issuer check at login.
    pub bound_issuer: String,
    /// Lower-cased, like the role names it refers to.
    pub default_role: String,
    pub namespace_in_state: bool,
    keys: Vec<RsaPublicKey>,
}

impl JwtAuthConfig {
    /// The `data` of `GET auth/<mount>/config`.
    pub fn to_read_data(&self) -> Value {
        json!({
            "oidc_discovery_url": "",
            "oidc_discovery_ca_pem": "",
            "oidc_client_id": "",
            "oidc_response_mode": "",
            "oidc_response_types": [],
            "default_role": self.default_role,
            "jwt_validation_pubkeys": self.jwt_validation_pubkeys,
            "jwt_supported_algs": self.jwt_supported_algs,
            "jwks_url": "",
            "jwks_pairs": [],
            "jwks_ca_pem": "",
            "bound_issuer": self.bound_issuer,
            "provider_config": {},
            "namespace_in_state": self.namespace_in_state,
            "unsupported_critical_cert_extensions": [],
        })
    }
}

/// Parses a write to `auth/<mount>/config` (a full replace, as in Vault) with path_config.go's
/// checks in its order. Only `jwt_validation_pubkeys` is supported as a key source.
pub fn parse_config_write(body: &Value) -> Result<JwtAuthConfig, VaultError> {
    let fields = Fields::parse(body, CONFIG_FIELDS)?;
    let text = |name: &str| fields.str(name).unwrap_or_default().to_string();
    let discovery_url = text("oidc_discovery_url");
    let jwks_url = text("jwks_url");
    let client_id = text("oidc_client_id");
    let client_secret = text("oidc_client_secret");
    let pubkeys = fields
        .list("jwt_validation_pubkeys")
        .unwrap_or_default()
        .to_vec();
    let jwks_pairs = fields.slice("jwks_pairs").unwrap_or_default();
    let bound_issuer = text("bound_issuer");

    let sources = [
        !discovery_url.is_empty(),
        !pubkeys.is_empty(),
        !jwks_url.is_empty(),
        !jwks_pairs.is_empty(),
    ];
    let unsupported = |what: &str| {
        VaultError::bad_request(format!(
            "'{what}' is not supported by the dev server; set 'jwt_validation_pubkeys' instead"
        ))
    };
    let mut keys = Vec::new();
    if sources.iter().filter(|set| **set).count() != 1 {
        return Err(VaultError::bad_request(KEY_SOURCE_ERROR));
    } else if client_id.is_empty() != client_secret.is_empty() {
        return Err(VaultError::bad_request(
            "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC",
        ));
    } else if !discovery_url.is_empty() {
        return Err(unsupported("oidc_discovery_url"));
    } else if !client_id.is_empty() {
        return Err(VaultError::bad_request(
            "'oidc_discovery_url' must be set for OIDC",
        ));
    } else if !text("jwks_ca_pem").is_empty() && !jwks_pairs.is_empty() {
        return Err(VaultError::bad_request(
            "CA PEMs must be provided as part of the 'jwks_pairs' when using multiple JWKS URLs",
        ));
    } else if !jwks_pairs.is_empty() && !bound_issuer.is_empty() {
        return Err(VaultError::bad_request(
            "Bound issuer is not supported for use with 'jwks_pairs'",
        ));
    } else if !jwks_url.is_empty() {
        return Err(unsupported("jwks_url"));
    } else if !jwks_pairs.is_empty() {
        return Err(unsupported("jwks_pairs"));
    } else {
        for pem in &pubkeys {
            let key = parse_public_key_pem(pem)
                .map_err(|e| VaultError::bad_request(format!("error parsing public key: {e}")))?;
            keys.push(key);
        }
    }

    let algs = fields
        .list("jwt_supported_algs")
        .unwrap_or_default()
        .to_vec();
    if let Some(bad) = algs
        .iter()
        .find(|alg| !DEFAULT_SIGNING_ALGS.contains(&alg.as_str()))
    {
        return Err(VaultError::bad_request(format!(
            "invalid jwt_supported_algs: unsupported signing algorithm {}",
            go_quote(bad)
        )));
    }

    Ok(JwtAuthConfig {
        jwt_validation_pubkeys: pubkeys,
        jwt_supported_algs: algs,
        bound_issuer,
        default_role: text("default_role"),
        namespace_in_state: fields.bool("namespace_in_state").unwrap_or(true),
        keys,
    })
}

/// certutil.ParsePublicKeyPEM: the first PEM block, as SPKI or else as a certificate whose key is
/// taken. Labels are not checked, as in Go.
fn parse_public_key_pem(pem: &str) -> Result<RsaPublicKey, String> {
    const NO_KEY: &str = "data does not contain any valid public keys";
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| NO_KEY.to_string())?;
    let is_spki =
        rsa::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(block.contents.as_slice()).is_ok();
    let spki: Vec<u8> = if is_spki {
        block.contents
    } else {
        match x509_parser::parse_x509_certificate(&block.contents) {
            Ok((_, cert)) => cert.public_key().raw.to_vec(),
            Err(_) => return Err("x509: malformed certificate".to_string()),
        }
    };
    RsaPublicKey::from_public_key_der(&spki).map_err(|_| {
        "the dev server verifies RSA keys only (Vault would also take ECDSA and Ed25519)"
            .to_string()
    })
}

// ---------------------------------------------------------------------------------------------
// Roles: auth/<mount>/role/<name>
// ---------------------------------------------------------------------------------------------

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
    addr: IpAddr,
    prefix: u8,
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
struct LegacyTokenParams {
    policies: Vec<String>,
    bound_cidrs: Vec<CidrBlock>,
    num_uses: u64,
    ttl: u64,
    max_ttl: u64,
    period: u64,
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
    legacy: LegacyTokenParams,
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
fn null_if_empty(empty: bool, value: Value) -> Value {
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

const ROLE_FIELDS: &[(&str, FieldType)] = &[
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
fn parse_token_fields(t: &mut TokenParams, fields: &Fields) -> Result<(), String> {
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

fn parse_cidrs(items: &[String]) -> Result<Vec<CidrBlock>, String> {
    items.iter().map(|item| CidrBlock::parse(item)).collect()
}

/// `tokenutil.UpgradeValue` for each deprecated alias: the `token_*` field wins when both are
/// sent; the alias alone sets both.
fn upgrade_legacy_token_fields(role: &mut JwtRole, fields: &Fields) -> Result<(), String> {
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
fn sanitize_policies(policies: &[String], add_default: bool) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------------
// Login: auth/<mount>/login
// ---------------------------------------------------------------------------------------------

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

const LOGIN_FIELDS: &[(&str, FieldType)] = &[
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

fn login<R: RoleLookup + ?Sized>(
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
fn login_source(mount: &str) -> String {
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
fn validate_token(
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
fn check_time_claims(role: &JwtRole, claims: &RegisteredClaims, now: i64) -> Result<(), String> {
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

struct VerifiedToken {
    alg: String,
    payload: Value,
}

/// go-jose's compact JWS parse and cap's static key set: every configured key is tried; a token
/// no key verifies (wrong key, `none`, `HS256`, a payload that is not a JSON object) gets the
/// same answer. `kid` is not consulted, as in cap.
fn verify_signature(config: &JwtAuthConfig, token: &str) -> Result<VerifiedToken, String> {
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

fn decode_jws_part(part: &str) -> Result<Vec<u8>, String> {
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

fn verify_rsa(key: &RsaPublicKey, alg: &str, input: &[u8], signature: &[u8]) -> bool {
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

fn verify_pkcs1<D>(key: &RsaPublicKey, input: &[u8], signature: &[u8]) -> bool
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

fn verify_pss<D>(key: &RsaPublicKey, input: &[u8], signature: &[u8]) -> bool
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
struct RegisteredClaims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    exp: i64,
    iat: i64,
    nbf: i64,
}

impl RegisteredClaims {
    fn parse(claims: &Value) -> Result<Self, String> {
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
enum Claim<'a> {
    Number(String),
    Other(&'a Value),
}

fn get_claim<'a>(claims: &'a Value, name: &str) -> Option<Claim<'a>> {
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
fn go_int_text(n: &serde_json::Number) -> String {
    n.as_i64()
        .or_else(|| n.as_f64().map(|f| f as i64))
        .unwrap_or_default()
        .to_string()
}

/// Who the token says the caller is.
struct Identity {
    alias_name: String,
    metadata: BTreeMap<String, String>,
    groups: Vec<String>,
}

/// path_login.go `createIdentity`: the alias name, the mapped metadata, the group aliases.
fn create_identity(claims: &Value, role: &JwtRole) -> Result<Identity, String> {
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
enum ClaimItem {
    Str(String),
    Bool(bool),
    Number(String),
    Opaque,
}

impl ClaimItem {
    fn matches(&self, other: &ClaimItem) -> bool {
        match (self, other) {
            (ClaimItem::Str(a), ClaimItem::Str(b)) => a == b,
            (ClaimItem::Bool(a), ClaimItem::Bool(b)) => a == b,
            (ClaimItem::Number(a), ClaimItem::Number(b)) => a == b,
            _ => false,
        }
    }
}

/// A role's value: numbers keep their JSON text, as Vault keeps `json.Number`.
fn bound_items(value: &Value) -> Option<Vec<ClaimItem>> {
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
fn received_items(claim: &Claim<'_>) -> Option<Vec<ClaimItem>> {
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
fn validate_bound_claims(role: &JwtRole, claims: &Value) -> Result<(), String> {
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
fn glob_match(pattern: &str, subject: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use rand::SeedableRng;

    use super::*;

    const NOW: i64 = 1_760_000_000;
    const REPO: &str = "octo-org/octo-repo";
    const AUD: &str = "https://vault.example.com";
    const MOUNT: &str = "jwt";
    const SIGNATURE_ERROR: &str = "error validating token: error verifying token signature: no \
                                   known key successfully validated the token signature";

    /// RSA key generation is the slow part of this module's tests: once per key per run.
    fn issuer() -> &'static IssuerKey {
        static KEY: OnceLock<IssuerKey> = OnceLock::new();
        KEY.get_or_init(|| {
            IssuerKey::generate(&mut rand::rngs::StdRng::seed_from_u64(1)).expect("keygen")
        })
    }

    fn stranger() -> &'static IssuerKey {
        static KEY: OnceLock<IssuerKey> = OnceLock::new();
        KEY.get_or_init(|| {
            IssuerKey::generate(&mut rand::rngs::StdRng::seed_from_u64(2)).expect("keygen")
        })
    }

    fn config_with(extra: Value) -> JwtAuthConfig {
        let mut body = json!({
            "jwt_validation_pubkeys": [issuer().public_pem()],
            "bound_issuer": GITHUB_ISSUER,
        });
        for (key, value) in extra.as_object().expect("object") {
            body[key.as_str()] = value.clone();
        }
        parse_config_write(&body).expect("config")
    }

    fn config() -> JwtAuthConfig {
        config_with(json!({}))
    }

    fn dev_role_body() -> Value {
        json!({
            "role_type": "jwt",
            "user_claim": "repository",
            "bound_audiences": AUD,
            "bound_claims": {
                "repository": REPO,
                "environment": "dev",
                "ref": "refs/heads/main",
            },
            "claim_mappings": { "actor": "actor", "environment": "environment" },
            "token_policies": "dev-reader, CI",
            "token_ttl": "15m",
            "token_max_ttl": "1h",
        })
    }

    fn role(body: Value) -> JwtRole {
        parse_role_write("dev", &body, None).expect("role").0
    }

    fn roles(role: JwtRole) -> BTreeMap<String, JwtRole> {
        BTreeMap::from([(normalize_role_name("dev"), role)])
    }

    fn dev_roles() -> BTreeMap<String, JwtRole> {
        roles(role(dev_role_body()))
    }

    /// A role like `dev` with some fields replaced.
    fn dev_roles_with(changes: Value) -> BTreeMap<String, JwtRole> {
        let mut body = dev_role_body();
        for (key, value) in changes.as_object().expect("object") {
            if value.is_null() {
                body.as_object_mut().expect("object").remove(key);
            } else {
                body[key.as_str()] = value.clone();
            }
        }
        roles(role(body))
    }

    fn github() -> GithubClaims {
        let mut claims = GithubClaims::for_repository(REPO);
        claims.environment = Some("dev".to_string());
        claims
    }

    fn good_token() -> String {
        issuer().sign(&github().to_claims(GITHUB_ISSUER, Some(AUD), NOW))
    }

    /// A good token with claims edited (a `null` removes the claim).
    fn token_with(changes: Value) -> String {
        let mut claims = github().to_claims(GITHUB_ISSUER, Some(AUD), NOW);
        let map = claims.as_object_mut().expect("object");
        for (key, value) in changes.as_object().expect("object") {
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        issuer().sign(&claims)
    }

    /// A token whose header and signature are written by hand.
    fn unsigned_token(header: Value, signature: &[u8]) -> String {
        let claims = github().to_claims(GITHUB_ISSUER, Some(AUD), NOW);
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    fn login(roles: &BTreeMap<String, JwtRole>, jwt: &str) -> Result<LoginOutcome, VaultError> {
        login_with(&config(), roles, jwt)
    }

    fn login_with(
        config: &JwtAuthConfig,
        roles: &BTreeMap<String, JwtRole>,
        jwt: &str,
    ) -> Result<LoginOutcome, VaultError> {
        validate_login(
            Some(config),
            roles,
            MOUNT,
            &json!({ "role": "dev", "jwt": jwt }),
            NOW,
            None,
        )
    }

    fn refusal(result: Result<LoginOutcome, VaultError>) -> VaultError {
        match result {
            Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn github_token_logs_in_against_bound_audiences_and_claims() {
        let outcome = login(&dev_roles(), &good_token()).expect("login");
        assert_eq!(outcome.role, "dev");
        assert_eq!(outcome.policies, ["ci", "default", "dev-reader"]);
        assert_eq!((outcome.ttl, outcome.max_ttl), (900, 3600));
        assert_eq!(outcome.alias_name, REPO);
        assert_eq!(outcome.display_name, "jwt-octo-org/octo-repo");
        assert!(outcome.renewable);
        assert_eq!(outcome.token_type, TokenType::Default);
        let metadata: Vec<(&str, &str)> = outcome
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            metadata,
            [
                ("actor", "octocat"),
                ("environment", "dev"),
                ("role", "dev")
            ]
        );
    }

    #[test]
    fn login_lower_cases_the_role_and_falls_back_to_default_role() {
        let body = json!({ "role": "DEV", "jwt": good_token() });
        let outcome = validate_login(Some(&config()), &dev_roles(), MOUNT, &body, NOW, None);
        assert_eq!(outcome.expect("login").role, "dev");

        let config = config_with(json!({ "default_role": "Dev" }));
        assert_eq!(config.default_role, "dev");
        let body = json!({ "jwt": good_token() });
        let outcome = validate_login(Some(&config), &dev_roles(), MOUNT, &body, NOW, None);
        assert_eq!(outcome.expect("login").role, "dev");
    }

    #[test]
    fn display_name_follows_the_mount_path() {
        for (mount, expected) in [
            ("jwt", "jwt-octo-org/octo-repo"),
            ("jwt/", "jwt-octo-org/octo-repo"),
            ("auth/github/jwt/", "github-jwt-octo-org/octo-repo"),
        ] {
            let body = json!({ "role": "dev", "jwt": good_token() });
            let outcome = validate_login(Some(&config()), &dev_roles(), mount, &body, NOW, None);
            assert_eq!(outcome.expect("login").display_name, expected, "{mount}");
        }
    }

    #[test]
    fn token_has_githubs_header_and_claim_shape() {
        let token = good_token();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(!token.contains('='), "base64url without padding");
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], issuer().kid());
        assert_eq!(issuer().kid().len(), 40);
        assert!(header["x5t"].as_str().is_some_and(|x| !x.is_empty()));
        assert_eq!(issuer().jwk()["kid"], issuer().kid());

        let claims = github().to_claims(GITHUB_ISSUER, None, NOW);
        assert_eq!(claims["iss"], GITHUB_ISSUER);
        assert_eq!(claims["aud"], "https://github.com/octo-org");
        assert_eq!(claims["sub"], "repo:octo-org/octo-repo:environment:dev");
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["exp"], NOW + 300);
        assert_eq!(claims["nbf"], NOW - 600);
        assert_eq!(claims["repository_owner"], "octo-org");
        assert_eq!(claims["environment"], "dev");
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 36));
        for name in [
            "actor",
            "actor_id",
            "base_ref",
            "head_ref",
            "event_name",
            "job_workflow_ref",
            "job_workflow_sha",
            "ref",
            "ref_type",
            "repository",
            "repository_id",
            "repository_owner_id",
            "repository_visibility",
            "run_id",
            "run_number",
            "run_attempt",
            "runner_environment",
            "sha",
            "workflow",
            "workflow_ref",
            "workflow_sha",
        ] {
            assert!(claims[name].is_string(), "{name}");
        }
    }

    #[test]
    fn subject_follows_githubs_rules() {
        let mut claims = GithubClaims::for_repository(REPO);
        assert_eq!(
            claims.subject(),
            "repo:octo-org/octo-repo:ref:refs/heads/main"
        );
        assert!(claims
            .to_claims(GITHUB_ISSUER, None, NOW)
            .get("environment")
            .is_none());
        claims.event_name = "pull_request".to_string();
        claims.ref_ = "refs/pull/7/merge".to_string();
        assert_eq!(claims.subject(), "repo:octo-org/octo-repo:pull_request");
        claims.environment = Some("Production:V1".to_string());
        assert_eq!(
            claims.subject(),
            "repo:octo-org/octo-repo:environment:Production%3AV1"
        );
        claims.extra.insert("jti".to_string(), json!("fixed"));
        claims.extra.insert("workflow".to_string(), Value::Null);
        let rendered = claims.to_claims(GITHUB_ISSUER, None, NOW);
        assert_eq!(rendered["jti"], "fixed");
        assert!(rendered.get("workflow").is_none());
    }

    #[test]
    fn early_login_checks_run_in_vault_order() {
        let token = good_token();
        let oidc_role = role(json!({
            "user_claim": "repository",
            "allowed_redirect_uris": "http://localhost:8250/oidc/callback",
        }));
        let cases: Vec<(&str, Result<LoginOutcome, VaultError>, &str)> = vec![
            (
                "field types are checked before everything",
                validate_login(
                    None,
                    &dev_roles(),
                    MOUNT,
                    &json!({ "role": ["dev"] }),
                    NOW,
                    None,
                ),
                "Field validation failed: error converting input for field \"role\": '' \
                 expected type 'string', got unconvertible type '[]interface {}'",
            ),
            (
                "no config",
                validate_login(None, &dev_roles(), MOUNT, &json!({}), NOW, None),
                "could not load configuration",
            ),
            (
                "no role and no default_role",
                validate_login(Some(&config()), &dev_roles(), MOUNT, &json!({}), NOW, None),
                "missing role",
            ),
            (
                "unknown role",
                validate_login(
                    Some(&config()),
                    &dev_roles(),
                    MOUNT,
                    &json!({ "role": "Nope", "jwt": token }),
                    NOW,
                    None,
                ),
                "role \"nope\" could not be found",
            ),
            (
                "oidc role, before the token is looked at",
                validate_login(
                    Some(&config()),
                    &roles(oidc_role),
                    MOUNT,
                    &json!({ "role": "dev" }),
                    NOW,
                    None,
                ),
                "role with oidc role_type is not allowed",
            ),
            (
                "no token",
                validate_login(
                    Some(&config()),
                    &dev_roles(),
                    MOUNT,
                    &json!({ "role": "dev" }),
                    NOW,
                    None,
                ),
                "missing token",
            ),
            ("empty token", login(&dev_roles(), ""), "missing token"),
        ];
        for (label, result, message) in cases {
            let error = refusal(result);
            assert_eq!(
                (error.status, error.message.as_str()),
                (400, message),
                "{label}"
            );
        }
    }

    #[test]
    fn bound_cidrs_refuse_with_403_before_the_signature() {
        let roles = dev_roles_with(json!({ "token_bound_cidrs": "10.0.0.0/8, 192.0.2.7" }));
        let body = json!({ "role": "dev", "jwt": "not-even-a-jwt" });
        for addr in [
            None,
            Some("192.168.1.1"),
            Some("192.0.2.8"),
            Some("2001:db8::1"),
        ] {
            let addr = addr.map(|a| a.parse().expect("ip"));
            let error = refusal(validate_login(
                Some(&config()),
                &roles,
                MOUNT,
                &body,
                NOW,
                addr,
            ));
            assert_eq!(
                (error.status, error.message.as_str()),
                (403, "permission denied")
            );
        }
        let body = json!({ "role": "dev", "jwt": good_token() });
        for addr in ["10.1.2.3", "192.0.2.7"] {
            let addr = Some(addr.parse().expect("ip"));
            let outcome = validate_login(Some(&config()), &roles, MOUNT, &body, NOW, addr);
            assert_eq!(outcome.expect("login").bound_cidrs.len(), 2);
        }
    }

    #[test]
    fn signature_is_really_verified() {
        let foreign = stranger().sign(&github().to_claims(GITHUB_ISSUER, Some(AUD), NOW));
        let good = good_token();
        let parts: Vec<&str> = good.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            github()
                .to_claims(GITHUB_ISSUER, Some(AUD), NOW + 3600)
                .to_string(),
        );
        let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        let alg_none = unsigned_token(json!({ "alg": "none", "typ": "JWT" }), b"");
        let hs256 = unsigned_token(json!({ "alg": "HS256", "typ": "JWT" }), &[7u8; 32]);
        let unknown_kid = unsigned_token(
            json!({ "alg": "RS256", "typ": "JWT", "kid": "unknown" }),
            &[1u8; 256],
        );
        let cases = [
            (
                "signed by another key",
                foreign,
                SIGNATURE_ERROR.to_string(),
            ),
            ("payload swapped", tampered, SIGNATURE_ERROR.to_string()),
            // cap tries the keys before it looks at `alg`, and no RSA key verifies these.
            ("alg none", alg_none, SIGNATURE_ERROR.to_string()),
            ("alg HS256", hs256, SIGNATURE_ERROR.to_string()),
            (
                "unknown kid, garbage signature",
                unknown_kid,
                SIGNATURE_ERROR.to_string(),
            ),
            (
                "not a JWS",
                "not-a-jwt".to_string(),
                "error validating token: error verifying token signature: go-jose/go-jose: \
                 compact JWS format must have three parts"
                    .to_string(),
            ),
            (
                "bad base64",
                "e30.e30.!!".to_string(),
                "error validating token: error verifying token signature: illegal base64 data \
                 at input byte 0"
                    .to_string(),
            ),
        ];
        for (label, token, message) in cases {
            let error = refusal(login(&dev_roles(), &token));
            assert_eq!((error.status, error.message), (400, message), "{label}");
        }
    }

    #[test]
    fn algorithm_outside_jwt_supported_algs_is_refused_after_the_signature() {
        let config = config_with(json!({ "jwt_supported_algs": ["RS512"] }));
        let error = refusal(login_with(&config, &dev_roles(), &good_token()));
        assert_eq!(
            (error.status, error.message.as_str()),
            (
                400,
                "error validating token: invalid algorithm (alg) header parameter: token signed \
                 with unexpected algorithm"
            )
        );
        let config = config_with(json!({ "jwt_supported_algs": "RS256,RS512" }));
        assert!(login_with(&config, &dev_roles(), &good_token()).is_ok());
    }

    #[test]
    fn claim_checks_run_in_vault_order_with_vaults_messages() {
        let dev = dev_roles();
        let cases: Vec<(&str, BTreeMap<String, JwtRole>, String, &str)> = vec![
            (
                "wrong issuer beats wrong audience and expiry",
                dev.clone(),
                token_with(json!({ "iss": "https://evil.example", "aud": "x", "exp": 1 })),
                "error validating token: invalid issuer (iss) claim",
            ),
            (
                "wrong subject",
                dev_roles_with(json!({ "bound_subject": "repo:octo-org/other:environment:dev" })),
                good_token(),
                "error validating token: invalid subject (sub) claim",
            ),
            (
                "wrong audience beats expiry",
                dev.clone(),
                token_with(json!({ "aud": "https://github.com/octo-org", "exp": 1 })),
                "error validating token: invalid audience (aud) claim: audience claim does not \
                 match any expected audience",
            ),
            (
                "no time claims",
                dev.clone(),
                token_with(json!({ "exp": null, "iat": null, "nbf": null })),
                "error validating token: no issued at (iat), not before (nbf), or expiration \
                 time (exp) claims in token",
            ),
            (
                "nbf beyond the 60 s clock skew",
                dev.clone(),
                token_with(json!({ "nbf": NOW + 61, "iat": NOW - 10 })),
                "error validating token: invalid not before (nbf) claim: token not yet valid",
            ),
            (
                "exp beyond the 60 s clock skew",
                dev.clone(),
                token_with(json!({ "exp": NOW - 61, "iat": NOW - 400, "nbf": NOW - 1000 })),
                "error validating token: invalid expiration time (exp) claim: token is expired",
            ),
            (
                "no exp: iat + 150 s expiration leeway",
                dev.clone(),
                token_with(json!({ "exp": null, "nbf": null, "iat": NOW - 211 })),
                "error validating token: invalid expiration time (exp) claim: token is expired",
            ),
            (
                "iat in the future",
                dev.clone(),
                token_with(json!({ "iat": NOW + 61, "nbf": NOW - 600, "exp": NOW + 400 })),
                "error validating token: invalid issued at (iat) claim: token issued in the \
                 future",
            ),
            (
                "aud present but none bound",
                dev_roles_with(json!({
                    "bound_audiences": null,
                    "bound_subject": "repo:octo-org/octo-repo:environment:dev",
                })),
                good_token(),
                "audience claim found in JWT but no audiences bound to the role",
            ),
            (
                "user claim missing masks a bound-claims mismatch",
                dev_roles_with(json!({ "user_claim": "email" })),
                token_with(json!({ "environment": "prod" })),
                "claim \"email\" not found in token",
            ),
            (
                "user claim not a string",
                dev_roles_with(json!({ "user_claim": "run_number" })),
                token_with(json!({ "run_number": 7 })),
                "claim \"run_number\" could not be converted to string",
            ),
            (
                "mapped claim not a string",
                dev_roles_with(json!({ "claim_mappings": { "run_attempt": "attempt" } })),
                token_with(json!({ "run_attempt": 2 })),
                "error converting claim 'run_attempt' to string",
            ),
            (
                "bound claim missing",
                dev.clone(),
                token_with(json!({ "environment": null })),
                "error validating claims: claim \"environment\" is missing",
            ),
            (
                "bound claim mismatch",
                dev.clone(),
                token_with(json!({ "environment": "prod" })),
                "error validating claims: claim \"environment\" does not match any associated \
                 bound claim values",
            ),
            (
                "a number claim is not the string a role holds",
                dev_roles_with(json!({ "bound_claims": { "run_number": "42" } })),
                token_with(json!({ "run_number": 42 })),
                "error validating claims: claim \"run_number\" does not match any associated \
                 bound claim values",
            ),
            (
                "glob is not a prefix match on another org",
                dev_roles_with(json!({
                    "bound_claims_type": "glob",
                    "bound_claims": { "sub": "repo:octo-org/*" },
                })),
                token_with(json!({ "sub": "repo:evil-org/octo-repo:environment:dev" })),
                "error validating claims: claim \"sub\" does not match any associated bound \
                 claim values",
            ),
            (
                "root policy",
                dev_roles_with(json!({ "token_policies": "root" })),
                good_token(),
                "auth methods cannot create root tokens",
            ),
        ];
        for (label, roles, token, message) in cases {
            let error = refusal(login(&roles, &token));
            assert_eq!(
                (error.status, error.message.as_str()),
                (400, message),
                "{label}"
            );
        }
    }

    #[test]
    fn time_checks_allow_exactly_the_clock_skew() {
        let accepted = [
            json!({ "nbf": NOW + 60, "iat": NOW - 10 }),
            json!({ "exp": NOW - 60, "iat": NOW - 400, "nbf": NOW - 1000 }),
            json!({ "iat": NOW + 60 }),
            json!({ "exp": null, "nbf": null, "iat": NOW - 210 }),
        ];
        for changes in accepted {
            let token = token_with(changes.clone());
            assert!(login(&dev_roles(), &token).is_ok(), "{changes}");
        }
        let strict = dev_roles_with(json!({ "clock_skew_leeway": -1 }));
        let token = token_with(json!({ "exp": NOW - 1, "iat": NOW - 400 }));
        assert!(login(&strict, &token).is_err());
        let lenient = dev_roles_with(json!({ "clock_skew_leeway": "5m" }));
        assert!(login(&lenient, &token_with(json!({ "exp": NOW - 299 }))).is_ok());
    }

    #[test]
    fn issuer_is_checked_only_when_bound() {
        let config = parse_config_write(&json!({
            "jwt_validation_pubkeys": issuer().public_pem(),
        }))
        .expect("config");
        let token = token_with(json!({ "iss": "https://elsewhere.example" }));
        assert!(login_with(&config, &dev_roles(), &token).is_ok());
    }

    #[test]
    fn bound_claims_accept_lists_globs_numbers_and_pointers() {
        let accepted: Vec<(Value, Value)> = vec![
            (
                json!({ "bound_claims": { "environment": ["prod", "dev"] } }),
                json!({}),
            ),
            (
                json!({
                    "bound_claims_type": "glob",
                    "bound_claims": { "sub": "repo:octo-org/*" },
                }),
                json!({}),
            ),
            (
                json!({
                    "bound_claims_type": "glob",
                    "bound_claims": { "sub": "repo:octo-org/octo-repo:*", "ref": "refs/*/main" },
                }),
                json!({}),
            ),
            (
                json!({ "bound_claims": { "run_number": 42 } }),
                json!({ "run_number": 42 }),
            ),
            (
                json!({ "bound_claims": { "/ctx/env": "dev" } }),
                json!({ "ctx": { "env": "dev" } }),
            ),
            (
                json!({ "bound_claims": { "groups": "admins" } }),
                json!({ "groups": ["devs", "admins"] }),
            ),
            (
                json!({ "bound_audiences": ["https://other.example", AUD] }),
                json!({ "aud": ["x", AUD] }),
            ),
        ];
        for (role_changes, claim_changes) in accepted {
            let roles = dev_roles_with(role_changes.clone());
            let result = login(&roles, &token_with(claim_changes.clone()));
            assert!(result.is_ok(), "{role_changes} {claim_changes}: {result:?}");
        }
    }

    #[test]
    fn token_no_default_policy_and_groups_reach_the_outcome() {
        let roles = dev_roles_with(json!({
            "token_no_default_policy": true,
            "groups_claim": "teams",
            "token_type": "batch",
        }));
        let token = token_with(json!({ "teams": ["ops", "", "sre"] }));
        let outcome = login(&roles, &token).expect("login");
        assert_eq!(outcome.policies, ["ci", "dev-reader"]);
        assert_eq!(outcome.group_aliases, ["ops", "sre"]);
        assert_eq!(outcome.token_type, TokenType::Batch);

        let error = refusal(login(&roles, &good_token()));
        assert_eq!(
            error.message,
            "failed to fetch groups: \"teams\" claim not found in token"
        );
        let error = refusal(login(&roles, &token_with(json!({ "teams": [1] }))));
        assert_eq!(
            error.message,
            "value 1 in groups claim could not be parsed as string"
        );
    }

    #[test]
    fn role_write_errors_follow_path_role_order() {
        let cases: Vec<(&str, Value, Option<JwtRole>, &str)> = vec![
            (
                "field types first",
                json!({ "token_ttl": "soon" }),
                None,
                "Field validation failed: error converting input for field \"token_ttl\": time: \
                 invalid duration \"soon\"",
            ),
            (
                "negative durations are refused by the field type",
                json!({ "token_ttl": -5 }),
                None,
                "Field validation failed: error converting input for field \"token_ttl\": \
                 cannot provide negative value",
            ),
            (
                "invalid role_type",
                json!({ "role_type": "saml", "user_claim": "sub" }),
                None,
                "invalid 'role_type': saml",
            ),
            (
                "token field errors come before the role's own",
                json!({ "role_type": "jwt", "token_ttl": "2h", "token_max_ttl": "1h" }),
                None,
                "'token_ttl' cannot be greater than 'token_max_ttl'",
            ),
            (
                "token_ttl against an existing max",
                json!({ "role_type": "jwt", "token_ttl": "2h" }),
                Some(role(dev_role_body())),
                "'token_ttl' cannot be greater than 'token_max_ttl'",
            ),
            (
                "bad cidr",
                json!({ "role_type": "jwt", "token_bound_cidrs": "10.0.0.0/99" }),
                None,
                "error parsing address \"10.0.0.0/99\": Unable to convert 10.0.0.0/99 to an \
                 IPv4 or IPv6 address, or a UNIX Socket",
            ),
            (
                "period above the system max lease",
                json!({ "role_type": "jwt", "token_period": "800h" }),
                None,
                "'period' of '\"800h0m0s\"' is greater than the backend's maximum lease TTL of \
                 '\"768h0m0s\"'",
            ),
            (
                "invalid bound_claims_type",
                json!({ "role_type": "jwt", "bound_claims_type": "regex" }),
                None,
                "invalid 'bound_claims_type': regex",
            ),
            (
                "glob values must be strings",
                json!({
                    "role_type": "jwt",
                    "bound_claims_type": "glob",
                    "bound_claims": { "n": [42] },
                }),
                None,
                "claim is not a string: 42",
            ),
            (
                "role is a reserved metadata key",
                json!({ "role_type": "jwt", "claim_mappings": { "repository": "role" } }),
                None,
                "metadata key \"role\" is reserved and may not be a mapping destination",
            ),
            (
                "duplicate metadata targets",
                json!({ "role_type": "jwt", "claim_mappings": { "actor": "who", "sub": "who" } }),
                None,
                "multiple keys are mapped to metadata key \"who\"",
            ),
            (
                "user_claim is checked before role_type's redirect URIs",
                json!({ "bound_audiences": AUD }),
                None,
                "a user claim must be defined on the role",
            ),
            (
                "role_type omitted means oidc",
                json!({ "user_claim": "repository", "bound_audiences": AUD }),
                None,
                "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
            ),
            (
                "role_type omitted on update also means oidc",
                json!({ "token_ttl": "10m" }),
                Some(role(dev_role_body())),
                "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
            ),
            (
                "jwt roles need a bound constraint",
                json!({ "role_type": "jwt", "user_claim": "repository" }),
                None,
                "must have at least one bound constraint when creating/updating a role",
            ),
            (
                "legacy ttl above legacy max_ttl",
                json!({
                    "role_type": "jwt",
                    "user_claim": "sub",
                    "bound_audiences": AUD,
                    "ttl": "2h",
                    "max_ttl": "1h",
                }),
                None,
                "ttl should not be greater than max ttl",
            ),
        ];
        for (label, body, existing, message) in cases {
            let error = match parse_role_write("dev", &body, existing.as_ref()) {
                Ok((role, _)) => panic!("{label}: expected a refusal, got {role:?}"),
                Err(error) => error,
            };
            assert_eq!(
                (error.status, error.message.as_str()),
                (400, message),
                "{label}"
            );
        }
    }

    #[test]
    fn role_write_reads_fields_like_vault() {
        let (role, warnings) = parse_role_write(
            "dev",
            &json!({
                "role_type": "jwt",
                "user_claim": "repository",
                "bound_audiences": " a , b ",
                "policies": ["Dev-Reader", "ci", "ci"],
                "ttl": 600,
                "max_ttl": "1h",
                "token_explicit_max_ttl": "2d",
                "token_num_uses": "3",
                "token_no_default_policy": "true",
                "expiration_leeway": -1,
                "bogus": 1,
            }),
            None,
        )
        .expect("role");
        assert!(
            warnings.is_empty(),
            "unknown fields are dropped silently: {warnings:?}"
        );
        assert_eq!(role.bound_audiences, ["a", "b"]);
        assert_eq!(role.token.policies, ["ci", "dev-reader"]);
        assert_eq!((role.token.ttl, role.token.max_ttl), (600, 3600));
        assert_eq!(role.token.explicit_max_ttl, 2 * 86_400);
        assert_eq!(role.token.num_uses, 3);
        assert!(role.token.no_default_policy);
        assert_eq!(role.expiration_leeway, -1);
        assert_eq!(role.bound_claims_type, BoundClaimsType::String);

        let data = role.to_read_data();
        assert_eq!(data["role_type"], "jwt");
        assert_eq!(data["token_policies"], json!(["ci", "dev-reader"]));
        assert_eq!(data["policies"], json!(["ci", "dev-reader"]));
        assert_eq!(data["ttl"], 600);
        assert_eq!(data["token_ttl"], 600);
        assert_eq!(data["token_type"], "default");
        assert_eq!(data["bound_claims"], Value::Null);

        // An update keeps what it does not mention (except role_type and bound_claims_type).
        let (updated, _) = parse_role_write(
            "dev",
            &json!({ "role_type": "jwt", "token_ttl": 300 }),
            Some(&role),
        )
        .expect("update");
        assert_eq!(updated.bound_audiences, ["a", "b"]);
        assert_eq!((updated.token.ttl, updated.token.max_ttl), (300, 3600));
        assert_eq!(
            updated.to_read_data().get("ttl"),
            None,
            "token_ttl alone clears the alias"
        );
    }

    #[test]
    fn role_write_warnings_carry_unknown_fields() {
        let (_, warnings) = parse_role_write(
            "dev",
            &json!({
                "role_type": "jwt",
                "user_claim": "repository",
                "bound_audiences": AUD,
                "token_max_ttl": "800h",
                "zeta": 1,
                "alpha": 2,
            }),
            None,
        )
        .expect("role");
        assert_eq!(
            warnings,
            [
                "token max ttl is greater than the system or backend mount's maximum TTL value; \
                 issued tokens' max TTL value will be truncated",
                "Endpoint ignored these unrecognized parameters: [alpha zeta]",
            ]
        );
        assert_eq!(normalize_role_name("Dev-Role"), "dev-role");
    }

    #[test]
    fn config_write_enforces_one_key_source() {
        let pem = issuer().public_pem();
        let cases: Vec<(&str, Value, String)> = vec![
            (
                "nothing",
                json!({ "bound_issuer": GITHUB_ISSUER }),
                KEY_SOURCE_ERROR.to_string(),
            ),
            (
                "two sources",
                json!({ "jwt_validation_pubkeys": pem, "jwks_url": "https://x.example/jwks" }),
                KEY_SOURCE_ERROR.to_string(),
            ),
            (
                "discovery",
                json!({ "oidc_discovery_url": GITHUB_ISSUER }),
                "'oidc_discovery_url' is not supported by the dev server; set \
                 'jwt_validation_pubkeys' instead"
                    .to_string(),
            ),
            (
                "jwks_pairs with bound_issuer",
                json!({ "jwks_pairs": [{ "jwks_url": "https://x.example" }], "bound_issuer": "x" }),
                "Bound issuer is not supported for use with 'jwks_pairs'".to_string(),
            ),
            (
                "client id without secret",
                json!({ "jwt_validation_pubkeys": pem, "oidc_client_id": "abc" }),
                "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC".to_string(),
            ),
            (
                "not a PEM",
                json!({ "jwt_validation_pubkeys": "hello" }),
                "error parsing public key: data does not contain any valid public keys".to_string(),
            ),
            (
                "unsupported algorithm",
                json!({ "jwt_validation_pubkeys": pem, "jwt_supported_algs": ["RS256", "HS256"] }),
                "invalid jwt_supported_algs: unsupported signing algorithm \"HS256\"".to_string(),
            ),
        ];
        for (label, body, message) in cases {
            let error = parse_config_write(&body).expect_err(label);
            assert_eq!((error.status, error.message), (400, message), "{label}");
        }
        let error = parse_config_write(&json!({ "jwt_validation_pubkeys": EC_PUBLIC_KEY }))
            .expect_err("ec key");
        assert!(
            error.message.starts_with("error parsing public key: "),
            "{error}"
        );
        assert!(error.message.contains("RSA"), "{error}");
    }

    const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIICAjCCAWugAwIBAgIUcSIUkHqz7QQYzeLfSVXYUUIeHicwDQYJKoZIhvcNAQEL
BQAwEzERMA8GA1UEAwwIand0LXRlc3QwHhcNMjYxMTI4MDgxMDA5WhcNMzYxMTI1
MDgxMDA5WjATMREwDwYDVQQDDAhqd3QtdGVzdDCBnzANBgkqhkiG9w0BAQEFAAOB
jQAwgYkCgYEA5SmBxGTVl8EQNWjLYqpd5hamhRZebi/FMV+G/rg+s0OcXDtfPSG9
zel7t8cRcehfmSQjaqlcVdoqf7rluHSQUnfxAOnwoYWoigtcDzkcLyR/KEwrfKav
iupBi9DfNsnUDpehiE8SkOzdGL5gYm7SLKpZ5zwS6Uk/m/P3v3xih1cCAwEAAaNT
MFEwHQYDVR0OBBYEFO++U9wdIWmqAuiG6pwbuu4wDRfeMB8GA1UdIwQYMBaAFO++
U9wdIWmqAuiG6pwbuu4wDRfeMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEL
BQADgYEAsYztf2wREnu8rlXOyW6CoR/hOIb+IK+nuZJiX/k07qknWwYqot1iOeiE
keP8QztENo/4MCW7osjyp6l7QTFdk2j7zEsXb0Dw2Yd74BOO4kgTYlrxP6JVOgG+
NMWRo731+FhNdUi+WLUG9oeGzN+6IGY/270dsV28pzMvSVanLhA=
-----END CERTIFICATE-----
";

    const TEST_CERT_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDlKYHEZNWXwRA1aMtiql3mFqaF
Fl5uL8UxX4b+uD6zQ5xcO189Ib3N6Xu3xxFx6F+ZJCNqqVxV2ip/uuW4dJBSd/EA
6fChhaiKC1wPORwvJH8oTCt8pq+K6kGL0N82ydQOl6GITxKQ7N0YvmBibtIsqlnn
PBLpST+b8/e/fGKHVwIDAQAB
-----END PUBLIC KEY-----
";

    const EC_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6DG7kX0tByKsh0u/n+9z7JED/vsD
vNwS+gSrVGgw/YeCjNAu7v3ag6ciuuXB2e90kCS9EiduBTlN7k4gGwlkUQ==
-----END PUBLIC KEY-----
";

    #[test]
    fn config_write_takes_spki_keys_and_certificates() {
        let config = parse_config_write(&json!({
            "jwt_validation_pubkeys": [TEST_CERT, issuer().public_pem()],
            "default_role": "GitHub",
            "bound_issuer": GITHUB_ISSUER,
        }))
        .expect("config");
        let from_spki = parse_public_key_pem(TEST_CERT_PUBLIC_KEY).expect("spki");
        assert_eq!(config.keys, [from_spki, issuer().public.clone()]);
        assert_eq!(config.default_role, "github");
        let data = config.to_read_data();
        assert_eq!(data["bound_issuer"], GITHUB_ISSUER);
        assert_eq!(
            data["jwt_validation_pubkeys"].as_array().map(Vec::len),
            Some(2)
        );
        // Either key may have signed: cap tries them all.
        assert!(login_with(&config, &dev_roles(), &good_token()).is_ok());
    }

    #[test]
    fn durations_parse_like_vault() {
        let accepted: Vec<(Value, i64)> = vec![
            (json!(90), 90),
            (json!("90"), 90),
            (json!("+10s"), 10),
            (json!("15m"), 900),
            (json!("1h"), 3600),
            (json!("24h"), 86_400),
            (json!("1h30m"), 5400),
            (json!("1.5h"), 5400),
            (json!(".5m"), 30),
            (json!("1h0m1s"), 3601),
            (json!("1500ms"), 1),
            (json!("2d"), 172_800),
            (json!("-5s"), -5),
            (json!(""), 0),
            (Value::Null, 0),
            (json!("0"), 0),
        ];
        for (input, expected) in accepted {
            assert_eq!(parse_duration_seconds(&input), Ok(expected), "{input}");
        }
        let refused: Vec<(Value, &str)> = vec![
            (json!("soon"), "time: invalid duration \"soon\""),
            (json!("1x"), "time: unknown unit \"x\" in duration \"1x\""),
            (json!("1.5"), "time: missing unit in duration \"1.5\""),
            (json!(1.5), "time: missing unit in duration \"1.5\""),
            (json!(".s"), "time: invalid duration \".s\""),
            (
                json!("1.5d"),
                "strconv.ParseInt: parsing \"1.5\": invalid syntax",
            ),
            (json!(true), "could not parse duration from input"),
        ];
        for (input, message) in refused {
            assert_eq!(
                parse_duration_seconds(&input),
                Err(message.to_string()),
                "{input}"
            );
        }
        assert_eq!(go_duration_string(0), "0s");
        assert_eq!(go_duration_string(90), "1m30s");
        assert_eq!(go_duration_string(768 * 3600), "768h0m0s");
    }

    #[test]
    fn glob_matches_like_go_glob() {
        let cases = [
            ("*", "anything", true),
            ("repo:octo-org/*", "repo:octo-org/app:environment:dev", true),
            ("repo:octo-org/*", "repo:evil/octo-org/x", false),
            ("*:environment:dev", "repo:a/b:environment:dev", true),
            ("*:environment:dev", "repo:a/b:environment:prod", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXc", false),
            ("a*a", "a", false),
            ("a*", "a", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
        ];
        for (pattern, subject, expected) in cases {
            assert_eq!(
                glob_match(pattern, subject),
                expected,
                "{pattern} ~ {subject}"
            );
        }
    }

    #[test]
    fn cidr_blocks_parse_and_match() {
        let block = CidrBlock::parse("10.0.0.0/8").expect("cidr");
        assert!(block.contains("10.255.0.1".parse().expect("ip")));
        assert!(!block.contains("11.0.0.1".parse().expect("ip")));
        assert!(!block.contains("::1".parse().expect("ip")));
        assert_eq!(block.to_string(), "10.0.0.0/8");
        assert_eq!(
            CidrBlock::parse("192.0.2.7").expect("host").to_string(),
            "192.0.2.7"
        );
        let any = CidrBlock::parse("0.0.0.0/0").expect("any");
        assert!(any.contains("203.0.113.9".parse().expect("ip")));
        let v6 = CidrBlock::parse("2001:db8::/32").expect("v6");
        assert!(v6.contains("2001:db8:1::1".parse().expect("ip")));
        assert!(CidrBlock::parse("nonsense").is_err());
    }

    #[test]
    fn tokens_never_show_in_errors_or_debug() {
        let token = token_with(json!({ "planted": "SECRETMARKER" }));
        let segments: Vec<&str> = token.split('.').collect();
        let mut shown = vec![format!("{:?}", issuer()), format!("{:?}", config())];
        shown.push(format!("{:?}", login(&dev_roles(), &token).expect("login")));
        let refusals = [
            login(
                &dev_roles_with(json!({ "bound_audiences": "other" })),
                &token,
            ),
            login(
                &dev_roles_with(
                    json!({ "user_claim": "actor_id", "bound_claims": {"actor": "x"} }),
                ),
                &token,
            ),
            login_with(
                &config_with(json!({ "jwt_supported_algs": "ES256" })),
                &dev_roles(),
                &token,
            ),
            login(&dev_roles(), &format!("{token}.extra")),
            login(
                &dev_roles(),
                &format!("{}x.{}.{}", segments[0], segments[1], segments[2]),
            ),
            validate_login(
                Some(&config()),
                &dev_roles(),
                MOUNT,
                &json!({ "role": "nope", "jwt": token }),
                NOW,
                None,
            ),
            validate_login(
                Some(&config()),
                &dev_roles(),
                MOUNT,
                &json!({ "role": "dev", "jwt": [token] }),
                NOW,
                None,
            ),
        ];
        for result in refusals {
            let error = refusal(result);
            shown.push(format!("{error} {error:?} {}", error.body()));
        }
        for text in &shown {
            for secret in [
                token.as_str(),
                segments[0],
                segments[1],
                segments[2],
                "SECRETMARKER",
            ] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(!text.contains("PRIVATE KEY"), "{text}");
        }
    }
}
