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
//!
//! Laid out by responsibility: this file holds the errors, the issuer key, the GitHub-shaped
//! claims and the config write/read; [`fields`] reads request fields with Vault's weak typing,
//! [`role`] parses role writes and reads, and [`login`] validates a login.

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

pub mod fields;
pub mod login;
pub mod role;

pub use fields::*;
pub use login::*;
pub use role::*;

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

    /// `validate_login` logs a refusal's message at debug level: no message may carry the
    /// token or any of its three parts, whatever was wrong with it.
    #[test]
    fn refusal_messages_never_carry_the_token() {
        let good = good_token();
        let parts: Vec<&str> = good.split('.').collect();
        let foreign = stranger().sign(&github().to_claims(GITHUB_ISSUER, Some(AUD), NOW));
        let cases = [
            (dev_roles(), token_with(json!({ "exp": NOW - 3600 }))),
            (dev_roles(), token_with(json!({ "aud": "someone-else" }))),
            (
                dev_roles(),
                token_with(json!({ "repository": ["not", "a", "string"] })),
            ),
            (dev_roles(), foreign),
            (dev_roles(), format!("{}.{}.", parts[0], parts[1])),
            (
                dev_roles(),
                format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
            ),
            (
                dev_roles(),
                unsigned_token(json!(["not", "an", "object"]), b"sig"),
            ),
            (dev_roles(), "only-one-part".to_string()),
            (
                dev_roles_with(json!({ "bound_claims": { "repository": "acme/other" } })),
                good.clone(),
            ),
        ];
        for (roles, jwt) in cases {
            let error = refusal(login(&roles, &jwt));
            let message = error.message;
            for part in jwt.split('.').filter(|p| p.len() > 8) {
                assert!(!message.contains(part), "{message}");
            }
            for part in &parts {
                assert!(!message.contains(part), "{message}");
            }
        }
    }
}
