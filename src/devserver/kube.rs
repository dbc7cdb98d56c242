//! A kube-apiserver stand-in, so that the dev server's kubernetes auth logins perform a real
//! TokenReview over TLS, as Vault does in client JWT mode (docs/vault-behaviour.md §3.7, §3.8).
//!
//! Owns: a serving certificate shaped like RKE2's `serving-kube-apiserver.crt` and signed by a
//! cluster CA (docs/cluster-behaviour.md), a ServiceAccount token signer standing in for RKE2's
//! `service.key` (RSA-2048, RS256), an in-memory set of service accounts, a minimal RBAC model
//! (ClusterRoleBindings, [`rbac`]), the request log tests assert on, and the endpoints the
//! handshake and its printed `kubectl` and `curl` fixes reach, answered with the bodies a real
//! kube-apiserver sends:
//! - `POST /apis/authentication.k8s.io/v1/tokenreviews` (Vault's review; RBAC-checked, so a
//!   client-JWT-mode review by an account without `system:auth-delegator` is a 403);
//! - `GET`/`POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings` and `GET …/{name}`
//!   (`kubectl create clusterrolebinding`);
//! - `POST /api/v1/namespaces/{ns}/serviceaccounts/{sa}/token`, the TokenRequest API (`kubectl
//!   create token`);
//! - `GET /version` (`curl --cacert … /version`; any authenticated user, as
//!   `system:public-info-viewer` grants).
//!
//! Every shape below names the source it was copied from.
//!
//! It is a test double, never a cluster: it binds loopback addresses only, makes no outbound
//! calls, keeps everything in memory, and never stores a raw token in its review log (a
//! [`ReviewRecord`] holds subjects and audiences, not credentials). The only place a token is
//! repeated is the TokenReview response's `spec.token`, because a real server echoes it there.
//!
//! Not modelled: RBAC beyond [`rbac`]'s ClusterRoles and bindings, client-certificate
//! authentication (the operator's credential is a ServiceAccount token, [`operator_token`]),
//! ServiceAccount objects' API, discovery and every other API path (404), protobuf bodies,
//! HTTP/2, legacy secret-based tokens, pod- or node-bound tokens, and the `managedFields` a real
//! server adds to objects' metadata.
//!
//! [`operator_token`]: KubeApiServer::operator_token

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::Rng;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::RsaPrivateKey;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

mod rbac;

use self::rbac::{Attributes, ClusterRoleBinding, Rbac, Subject, RBAC_GROUP};
use super::cluster::{self, ClusterCa};
use super::lifecycle::ServerThread;
use super::tls;

/// The ServiceAccount token issuer RKE2 configures: k3s `pkg/daemons/control/server.go` sets
/// `service-account-issuer` to `https://kubernetes.default.svc.<cluster domain>`.
pub const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The API server's audiences under RKE2: the same k3s file sets `api-audiences` to
/// `https://kubernetes.default.svc.<cluster domain>,<program>`. A bearer token must carry one of
/// them, and a TokenReview without `spec.audiences` is checked against them.
pub const API_AUDIENCES: [&str; 2] = ["https://kubernetes.default.svc.cluster.local", "rke2"];

/// The TokenReview API.
pub const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

/// The ClusterRoleBinding collection.
pub const CLUSTER_ROLE_BINDINGS_PATH: &str =
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";

/// The ClusterRole client JWT mode needs (docs/vault-behaviour.md §3.7).
pub const AUTH_DELEGATOR: &str = "system:auth-delegator";

/// The TokenRequest API's bounds on `spec.expirationSeconds` (kubernetes
/// `pkg/apis/authentication/validation/validation.go` ValidateTokenRequest: at least 10
/// minutes, at most 2^32 seconds) and its default (`SetDefaults_TokenRequestSpec`: one hour).
const TOKEN_REQUEST_MIN_SECONDS: i64 = 600;
const TOKEN_REQUEST_MAX_SECONDS: i64 = 1 << 32;
const TOKEN_REQUEST_DEFAULT_SECONDS: i64 = 3600;

/// RKE2's `service.key` is RSA-2048 (docs/cluster-behaviour.md §1; k3s `genServiceAccount`).
const SIGNING_KEY_BITS: usize = 2048;

/// go-jose's `jwt.DefaultLeeway` (one minute), which kube-apiserver's `Validate` applies to
/// `nbf`, `exp` and `iat` (kubernetes `pkg/serviceaccount/claims.go`).
const JWT_LEEWAY_SECONDS: i64 = 60;

/// kube-apiserver's default limit on a request body (`MaxRequestBodyBytes`, 3 MiB).
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// One subject alternative name of the serving certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

/// The validity window of the serving certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// RKE2's leaf shape: notBefore one hour back, valid for 365 days.
    Valid,
    /// Expired a day ago (a year and a day old).
    Expired,
    /// Becomes valid tomorrow.
    NotYetValid,
}

/// How to start the stand-in. `KubeOptions::default()` is an RKE2-like server on 127.0.0.1.
pub struct KubeOptions {
    /// Must be a loopback address (127.0.0.0/8 or ::1); anything else is refused at start.
    pub ip: IpAddr,
    /// The serving certificate's SANs, used exactly as given (so a test can leave the bound
    /// address out). [`rke2_sans`] builds the usual list.
    pub sans: Vec<San>,
    pub serving_validity: Validity,
    /// The CA that signs the serving certificate; `None` makes a fresh RKE2 server CA.
    pub ca: Option<ClusterCa>,
    /// Serve plain HTTP instead of TLS (to stage a wrong scheme).
    pub plain_http: bool,
}

impl KubeOptions {
    /// RKE2-like options for a server bound to `ip`, its SANs including `ip`.
    pub fn at(ip: IpAddr) -> Self {
        KubeOptions {
            ip,
            sans: rke2_sans(ip),
            serving_validity: Validity::Valid,
            ca: None,
            plain_http: false,
        }
    }
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions::at(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// The SANs of RKE2's kube-apiserver serving certificate, plus `ip`: the four service names
/// k3s `genServerCerts` (`pkg/daemons/control/deps/deps.go`) always puts in, the loopback names
/// k3s adds to every server's SAN list, and the cluster service IP 10.43.0.1 (the first address
/// of RKE2's default service CIDR 10.43.0.0/16).
pub fn rke2_sans(ip: IpAddr) -> Vec<San> {
    let mut sans: Vec<San> = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
    ]
    .iter()
    .map(|name| San::Dns((*name).to_string()))
    .collect();
    sans.push(San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    sans.push(San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    sans.push(San::Ip(IpAddr::V4(Ipv4Addr::new(10, 43, 0, 1))));
    if !sans.contains(&San::Ip(ip)) {
        sans.push(San::Ip(ip));
    }
    sans
}

// ---------------------------------------------------------------------------------------------
// The review log
// ---------------------------------------------------------------------------------------------

/// One request the stand-in answered. Holds no credential: subjects are `<namespace>/<name>`,
/// read from the tokens' claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewRecord {
    pub method: String,
    pub path: String,
    /// The authenticated bearer as `<namespace>/<name>`, or `unknown`.
    pub bearer: String,
    /// The subject `spec.token` claims (read without verification), as `<namespace>/<name>`
    /// for a ServiceAccount token or the raw `sub` otherwise; `None` without a readable token.
    pub reviewed: Option<String>,
    /// `spec.audiences` as sent.
    pub audiences: Vec<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// `status.authenticated` of a completed review; `None` when no review happened.
    pub authenticated: Option<bool>,
    /// `status.error` of a completed review.
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// The ServiceAccount signing key. `Debug` is not derived: the private key must not reach a log.
struct TokenSigner {
    signing: rsa::pkcs1v15::SigningKey<Sha256>,
    verifying: rsa::pkcs1v15::VerifyingKey<Sha256>,
    kid: String,
    public_pem: String,
}

impl TokenSigner {
    fn generate() -> Result<Self, String> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), SIGNING_KEY_BITS)
            .map_err(|e| format!("cannot generate the service account key: {e}"))?;
        let public = private.to_public_key();
        let der = public
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the service account key: {e}"))?;
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the service account key: {e}"))?;
        // kubernetes `pkg/serviceaccount/jwt.go` keyIDFromPublicKey: base64url (no padding) of
        // the SHA-256 of the PKIX DER of the public key.
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_bytes()));
        Ok(TokenSigner {
            signing: rsa::pkcs1v15::SigningKey::new(private),
            verifying: rsa::pkcs1v15::VerifyingKey::new(public),
            kid,
            public_pem,
        })
    }

    /// A compact RS256 JWS with the header kube-apiserver writes: `{"alg":"RS256","kid":…}`
    /// (seen decoding a real `kubectl create token` output).
    fn sign(&self, claims: &Value) -> String {
        let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, self.kid);
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // `Signer::sign` panics only if the PKCS#1 v1.5 SHA-256 DigestInfo does not fit the
        // modulus; the key is always RSA-2048 (`generate`), far larger than the 62 bytes needed.
        let signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

#[derive(Default)]
struct ClusterState {
    /// (namespace, name) → uid.
    service_accounts: HashMap<(String, String), String>,
    /// ClusterRoleBindings. A binding names its subjects and outlives their deletion.
    rbac: Rbac,
    reviews: Vec<ReviewRecord>,
}

struct Inner {
    signer: TokenSigner,
    state: Mutex<ClusterState>,
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, ClusterState> {
        // A panic in a handler cannot leave the maps half-updated (each update is one insert
        // or remove), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running kube-apiserver stand-in on its own thread and runtime. Stops when dropped.
pub struct KubeApiServer {
    addr: SocketAddr,
    plain_http: bool,
    ca_pem: String,
    serving_cert_pem: String,
    inner: Arc<Inner>,
    _thread: ServerThread,
}

impl fmt::Debug for KubeApiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeApiServer")
            .field("addr", &self.addr)
            .field("plain_http", &self.plain_http)
            .finish_non_exhaustive()
    }
}

impl KubeApiServer {
    /// Binds `options.ip:0`, makes the certificates and the signing key, and starts serving.
    pub fn start(options: KubeOptions) -> io::Result<KubeApiServer> {
        if !options.ip.is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the kube-apiserver stand-in binds loopback only: `{}` is not in 127.0.0.0/8 \
                     or ::1",
                    options.ip
                ),
            ));
        }
        let now = OffsetDateTime::now_utc();
        let ca = match options.ca {
            Some(ca) => ca,
            None => cluster::rke2_ca("rke2-server", now)
                .map_err(|e| io::Error::other(format!("cannot make the cluster CA: {e}")))?,
        };
        let serving = tls::serving_certificate(
            &ca,
            "kube-apiserver",
            &options.sans,
            options.serving_validity,
            now,
        )
        .map_err(|e| io::Error::other(format!("cannot make the serving certificate: {e}")))?;
        let signer = TokenSigner::generate().map_err(io::Error::other)?;

        let tls = if options.plain_http {
            None
        } else {
            Some(tls::server_config(&serving, &ca.pem)?)
        };

        let listener = std::net::TcpListener::bind((options.ip, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            signer,
            state: Mutex::new(ClusterState::default()),
        });
        let state = inner.clone();
        let thread = ServerThread::spawn("kube-apiserver", move |shutdown| async move {
            let Ok(tcp) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let app = Router::new().fallback(handle).with_state(state);
            match tls {
                None => {
                    let _ = axum::serve(tcp, app)
                        .with_graceful_shutdown(shutdown.wait())
                        .await;
                }
                Some(config) => {
                    let Ok(listener) = tls::TlsListener::spawn(tcp, config) else {
                        return;
                    };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown.wait())
                        .await;
                }
            }
        })?;
        Ok(KubeApiServer {
            addr,
            plain_http: options.plain_http,
            ca_pem: ca.pem.clone(),
            serving_cert_pem: serving.pem,
            inner,
            _thread: thread,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<ip>:<port>` (IPv6 bracketed); `http://…` when serving plain HTTP, so the URL
    /// always names what is actually served.
    pub fn url(&self) -> String {
        let scheme = if self.plain_http { "http" } else { "https" };
        format!("{scheme}://{}", self.addr)
    }

    /// The cluster CA that signed the serving certificate: what Vault's `kubernetes_ca_cert`
    /// must hold.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The serving certificate alone (the TLS handshake sends it followed by the CA).
    pub fn serving_cert_pem(&self) -> String {
        self.serving_cert_pem.clone()
    }

    /// The ServiceAccount signing key's public half as SPKI PEM (what Vault's `pem_keys` takes).
    pub fn service_account_public_pem(&self) -> String {
        self.inner.signer.public_pem.clone()
    }

    /// The uid of a service account, while it exists.
    pub fn service_account_uid(&self, namespace: &str, service_account: &str) -> Option<String> {
        self.inner
            .state()
            .service_accounts
            .get(&(namespace.to_string(), service_account.to_string()))
            .cloned()
    }

    /// A projected ServiceAccount token as `kubectl create token <sa> -n <ns> [--audience …]
    /// [--duration …]` mints it: RS256 with header `{"alg":"RS256","kid":…}` and the claims
    /// `aud`, `exp`, `iat`, `iss`, `jti`, `kubernetes.io` {`namespace`, `serviceaccount`
    /// {`name`, `uid`}}, `nbf`, `sub` (kubernetes `pkg/serviceaccount/claims.go` `Claims`, and
    /// a decoded real token). Empty `audiences` means the API audiences, as the TokenRequest
    /// API defaults them. Creates the service account if it does not exist (a new uid), which
    /// a real cluster would refuse; and unlike the TokenRequest API (10 minutes minimum) any
    /// TTL is accepted, a negative one minting an expired token.
    ///
    /// The result is a credential: hand it to a secret type or straight to the code under test.
    pub fn issue_token(
        &self,
        namespace: &str,
        service_account: &str,
        audiences: &[&str],
        ttl_seconds: i64,
    ) -> String {
        let uid = {
            let mut state = self.inner.state();
            state
                .service_accounts
                .entry((namespace.to_string(), service_account.to_string()))
                .or_insert_with(random_uid)
                .clone()
        };
        let audiences: Vec<String> = audiences.iter().map(|a| a.to_string()).collect();
        mint_token(
            &self.inner.signer,
            namespace,
            service_account,
            &uid,
            &audiences,
            unix_now(),
            ttl_seconds,
        )
    }

    /// Creates the service account if it does not exist yet (as installing ESO's chart does),
    /// so that the TokenRequest API can mint its tokens.
    pub fn create_service_account(&self, namespace: &str, service_account: &str) {
        self.inner
            .state()
            .service_accounts
            .entry((namespace.to_string(), service_account.to_string()))
            .or_insert_with(random_uid);
    }

    /// A ClusterRoleBinding `auth-delegator:<namespace>:<name>` of the service account to
    /// `system:auth-delegator`: it may then create TokenReviews. What `kubectl create
    /// clusterrolebinding` does through the API, without a request.
    pub fn bind_auth_delegator(&self, namespace: &str, service_account: &str) {
        let binding = ClusterRoleBinding {
            name: format!("auth-delegator:{namespace}:{service_account}"),
            uid: random_uid(),
            resource_version: 0,
            created: rfc3339(unix_now()),
            role: AUTH_DELEGATOR.into(),
            subjects: vec![Subject::service_account(namespace, service_account)],
        };
        // An existing binding of that name already binds the account.
        let _ = self.inner.state().rbac.create(binding);
    }

    /// Removes the service account from every `system:auth-delegator` binding.
    pub fn unbind_auth_delegator(&self, namespace: &str, service_account: &str) {
        self.inner.state().rbac.unbind(
            AUTH_DELEGATOR,
            &(namespace.to_string(), service_account.to_string()),
        );
    }

    /// The name of every ClusterRoleBinding, in name order.
    pub fn cluster_role_bindings(&self) -> Vec<String> {
        self.inner
            .state()
            .rbac
            .list()
            .map(|b| b.name.clone())
            .collect()
    }

    /// A one-hour token of an operator's ServiceAccount bound to `cluster-admin`
    /// (`kube-system/cluster-operator`, binding `cluster-operator`): the credential a person's
    /// kubeconfig carries when they paste a `kubectl` fix. RKE2's `rke2.yaml` carries a client
    /// certificate in `system:masters` instead; the stand-in authenticates bearer tokens only.
    pub fn operator_token(&self) -> String {
        let binding = ClusterRoleBinding {
            name: "cluster-operator".into(),
            uid: random_uid(),
            resource_version: 0,
            created: rfc3339(unix_now()),
            role: "cluster-admin".into(),
            subjects: vec![Subject::service_account("kube-system", "cluster-operator")],
        };
        let _ = self.inner.state().rbac.create(binding);
        self.issue_token("kube-system", "cluster-operator", &[], 3600)
    }

    /// Deletes the service account: its tokens stop authenticating, as bearer and as reviewed
    /// token. Its auth-delegator binding stays, as a ClusterRoleBinding would.
    pub fn delete_service_account(&self, namespace: &str, service_account: &str) {
        self.inner
            .state()
            .service_accounts
            .remove(&(namespace.to_string(), service_account.to_string()));
    }

    /// Every request answered so far, in order.
    pub fn reviews(&self) -> Vec<ReviewRecord> {
        self.inner.state().reviews.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Response bodies
// ---------------------------------------------------------------------------------------------

/// A `meta/v1` Status, fields in Go's declaration order so the bytes match a real server's:
/// Vault puts a 403 body verbatim into its error (docs/vault-behaviour.md §3.7 step 7).
#[derive(Serialize)]
struct StatusBody {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: EmptyObject,
    status: &'static str,
    message: String,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<StatusDetails>,
    code: u16,
}

#[derive(Serialize)]
struct EmptyObject {}

/// `meta/v1` StatusDetails, fields in Go order (`name`, `group`, `kind`, `uid`, `causes`).
#[derive(Serialize, Default)]
struct StatusDetails {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    group: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<StatusCause>,
}

#[derive(Serialize)]
struct StatusCause {
    reason: &'static str,
    message: String,
    field: String,
}

fn status_body(code: u16, reason: &'static str, message: String) -> StatusBody {
    StatusBody {
        kind: "Status",
        api_version: "v1",
        metadata: EmptyObject {},
        status: "Failure",
        message,
        reason,
        details: None,
        code,
    }
}

/// The answer to a request that did not authenticate. The body is what the brief and real
/// servers show: apimachinery `NewUnauthorized("Unauthorized")`, no details.
fn unauthorized() -> StatusBody {
    status_body(401, "Unauthorized", "Unauthorized".into())
}

/// RBAC's denial, as apimachinery `NewForbidden` wraps apiserver's `forbiddenMessage`:
/// `<resource>[.<group>] ["<name>"] is forbidden: User "…" cannot …`. For `create tokenreviews`
/// this is verbatim what Vault logs (docs/vault-behaviour.md §3.7 step 7;
/// argoproj-labs/argocd-vault-plugin#102 shows the whole body).
fn forbidden(username: &str, request: &Attributes<'_>) -> StatusBody {
    let reason = rbac::forbidden_message(username, request);
    let (message, details) = match request {
        Attributes::NonResource { .. } => {
            (format!("forbidden: {reason}"), StatusDetails::default())
        }
        Attributes::Resource {
            group,
            resource,
            name,
            ..
        } => {
            // The qualified resource has no subresource: `serviceaccounts`, not `…/token`.
            let base: &'static str = resource.split('/').next().unwrap_or(resource);
            let qualified = if group.is_empty() {
                base.to_string()
            } else {
                format!("{base}.{group}")
            };
            let message = if name.is_empty() {
                format!("{qualified} is forbidden: {reason}")
            } else {
                format!("{qualified} \"{name}\" is forbidden: {reason}")
            };
            let details = StatusDetails {
                name: name.to_string(),
                group,
                kind: base,
                ..StatusDetails::default()
            };
            (message, details)
        }
    };
    let mut body = status_body(403, "Forbidden", message);
    body.details = Some(details);
    body
}

/// apimachinery `NewNotFound`: `<resource>[.<group>] "<name>" not found`.
fn object_not_found(group: &'static str, resource: &'static str, name: &str) -> StatusBody {
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    let mut body = status_body(404, "NotFound", format!("{qualified} \"{name}\" not found"));
    body.details = Some(StatusDetails {
        name: name.to_string(),
        group,
        kind: resource,
        ..StatusDetails::default()
    });
    body
}

/// apimachinery `NewAlreadyExists`.
fn already_exists(group: &'static str, resource: &'static str, name: &str) -> StatusBody {
    let mut body = status_body(
        409,
        "AlreadyExists",
        format!("{resource}.{group} \"{name}\" already exists"),
    );
    body.details = Some(StatusDetails {
        name: name.to_string(),
        group,
        kind: resource,
        ..StatusDetails::default()
    });
    body
}

/// apimachinery `NewInvalid`: `<Kind>.<group> "<name>" is invalid: <field>: <message>`, the
/// errors in brackets and comma-joined when more than one (`ErrorList.ToAggregate`).
fn invalid(
    group: &'static str,
    kind: &'static str,
    name: &str,
    errors: &[rbac::FieldError],
) -> StatusBody {
    let texts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    let joined = match texts.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut body = status_body(
        422,
        "Invalid",
        format!("{kind}.{group} \"{name}\" is invalid: {joined}"),
    );
    body.details = Some(StatusDetails {
        name: name.to_string(),
        group,
        kind,
        causes: errors
            .iter()
            .map(|e| StatusCause {
                reason: e.reason,
                message: e.message.clone(),
                field: e.field.clone(),
            })
            .collect(),
    });
    body
}

/// An unrouted path: apimachinery `NewGenericServerResponse(404, …)` text, empty details.
fn not_found() -> StatusBody {
    let mut body = status_body(
        404,
        "NotFound",
        "the server could not find the requested resource".into(),
    );
    body.details = Some(StatusDetails::default());
    body
}

/// A method the route does not have: apimachinery `NewGenericServerResponse(405, …)` text.
fn method_not_allowed() -> StatusBody {
    let mut body = status_body(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource".into(),
    );
    body.details = Some(StatusDetails::default());
    body
}

fn bad_request(message: String) -> StatusBody {
    status_body(400, "BadRequest", message)
}

/// `authentication.k8s.io/v1` TokenReview as kube-apiserver returns it, fields in Go order with
/// Go's `omitempty` (k8s.io/api `authentication/v1/types.go`): `status.authenticated` is left
/// out when false and `status.user` is `{}` when nobody was authenticated. Checked against a
/// real 201 response body logged by kube-rbac-proxy.
#[derive(Serialize)]
struct TokenReviewBody<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: CreationMeta,
    spec: ReviewSpec<'a>,
    status: ReviewStatus,
}

#[derive(Serialize)]
struct CreationMeta {
    #[serde(rename = "creationTimestamp")]
    creation_timestamp: Option<String>,
}

#[derive(Serialize)]
struct ReviewSpec<'a> {
    token: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    audiences: &'a [String],
}

#[derive(Serialize, Default)]
struct ReviewStatus {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    authenticated: bool,
    user: UserInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    audiences: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
}

#[derive(Serialize, Default)]
struct UserInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extra: std::collections::BTreeMap<String, Vec<String>>,
}

/// An answer: status and body text.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(status: u16, body: &impl Serialize) -> Answer {
        // Go's `json.Encoder.Encode`, which the apiserver's serializer uses, ends the document
        // with a newline.
        match serde_json::to_string(body) {
            Ok(text) => Answer {
                status,
                body: text + "\n",
            },
            // Serialising these plain structs cannot fail; should it, answer as the server would.
            Err(e) => Answer {
                status: 500,
                body: json!({
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": format!("Internal error occurred: {e}"),
                    "reason": "InternalError",
                    "code": 500,
                })
                .to_string()
                    + "\n",
            },
        }
    }

    fn status(status: StatusBody) -> Answer {
        Answer::json(status.code, &status)
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let answer = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => {
            let authorization = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let bearer = authorization.and_then(bearer_token);
            respond(
                &inner,
                &parts.method,
                &path,
                bearer.as_deref(),
                &body,
                unix_now(),
            )
        }
        Err(_) => {
            let answer = Answer::status(status_body(
                413,
                "RequestEntityTooLarge",
                format!("Request entity too large: limit is {MAX_BODY_BYTES}"),
            ));
            inner.state().reviews.push(ReviewRecord {
                method,
                path,
                bearer: "unknown".into(),
                reviewed: None,
                audiences: Vec::new(),
                status: answer.status,
                authenticated: None,
                error: None,
            });
            answer
        }
    };
    let code = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [
            (header::CONTENT_TYPE, "application/json"),
            // What a real kube-apiserver sends on API responses.
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        answer.body,
    )
        .into_response()
}

/// The token of an `Authorization: Bearer …` header, parsed as kube-apiserver's
/// `bearertoken.AuthenticateRequest` does: trimmed, split on spaces, scheme case-insensitive.
fn bearer_token(authorization: &str) -> Option<String> {
    let mut parts = authorization.trim().splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// The routes served, with what each asks of RBAC.
enum Route<'a> {
    TokenReview,
    ClusterRoleBindings,
    ClusterRoleBinding(&'a str),
    ServiceAccountToken { namespace: &'a str, name: &'a str },
    Version,
}

fn route(path: &str) -> Option<Route<'_>> {
    if path == TOKEN_REVIEW_PATH {
        return Some(Route::TokenReview);
    }
    if path == CLUSTER_ROLE_BINDINGS_PATH {
        return Some(Route::ClusterRoleBindings);
    }
    if path == "/version" || path == "/version/" {
        return Some(Route::Version);
    }
    if let Some(name) = path
        .strip_prefix(CLUSTER_ROLE_BINDINGS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|name| !name.is_empty() && !name.contains('/'))
    {
        return Some(Route::ClusterRoleBinding(name));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if let ["", "api", "v1", "namespaces", namespace, "serviceaccounts", name, "token"] =
        segments[..]
    {
        if !namespace.is_empty() && !name.is_empty() {
            return Some(Route::ServiceAccountToken { namespace, name });
        }
    }
    None
}

impl Route<'_> {
    /// The request attributes RBAC decides on (apiserver `RequestInfoFactory`: GET of a
    /// collection is `list`, of an item `get`, POST is `create`); `None` for a method the route
    /// does not have.
    fn attributes(&self, method: &Method) -> Option<Attributes<'_>> {
        let resource = |verb, group, resource, namespace, name| Attributes::Resource {
            verb,
            group,
            resource,
            namespace,
            name,
        };
        match (self, method.as_str()) {
            (Route::TokenReview, "POST") => Some(resource(
                "create",
                "authentication.k8s.io",
                "tokenreviews",
                "",
                "",
            )),
            (Route::ClusterRoleBindings, "POST") => Some(resource(
                "create",
                RBAC_GROUP,
                "clusterrolebindings",
                "",
                "",
            )),
            (Route::ClusterRoleBindings, "GET") => {
                Some(resource("list", RBAC_GROUP, "clusterrolebindings", "", ""))
            }
            (Route::ClusterRoleBinding(name), "GET") => {
                Some(resource("get", RBAC_GROUP, "clusterrolebindings", "", name))
            }
            (Route::ServiceAccountToken { namespace, name }, "POST") => Some(resource(
                "create",
                "",
                "serviceaccounts/token",
                namespace,
                name,
            )),
            (Route::Version, "GET") => Some(Attributes::NonResource {
                verb: "get",
                path: "/version",
            }),
            _ => None,
        }
    }
}

/// Answers one request and records it. Order as in kube-apiserver's filter chain, simplified:
/// authentication (401: k3s `server.go` starts kube-apiserver with `anonymous-auth=false`),
/// routing (404, 405), RBAC (403), decoding (400), validation (422), then the handler. A real
/// server authorizes before routing, so a GET of the TokenReview path would be a 403 for a bound
/// account (auth-delegator grants only `create`); the 405 is kept for clarity.
fn respond(
    inner: &Inner,
    method: &Method,
    path: &str,
    bearer: Option<&str>,
    body: &[u8],
    now: i64,
) -> Answer {
    let mut state = inner.state();
    let mut record = ReviewRecord {
        method: method.as_str().to_string(),
        path: path.to_string(),
        bearer: "unknown".into(),
        reviewed: None,
        audiences: Vec::new(),
        status: 0,
        authenticated: None,
        error: None,
    };
    let api_audiences: Vec<String> = API_AUDIENCES.iter().map(|a| a.to_string()).collect();
    let caller = bearer
        .and_then(|token| authenticate(&inner.signer, &state, token, &api_audiences, now).ok());
    let answer = match caller {
        None => Answer::status(unauthorized()),
        Some(caller) => {
            record.bearer = format!("{}/{}", caller.namespace, caller.name);
            answer_request(
                inner,
                &mut state,
                &caller,
                method,
                path,
                body,
                now,
                &mut record,
            )
        }
    };
    record.status = answer.status;
    state.reviews.push(record);
    answer
}

#[allow(clippy::too_many_arguments)]
fn answer_request(
    inner: &Inner,
    state: &mut ClusterState,
    caller: &Identity,
    method: &Method,
    path: &str,
    body: &[u8],
    now: i64,
    record: &mut ReviewRecord,
) -> Answer {
    let Some(route) = route(path) else {
        return Answer::status(not_found());
    };
    let Some(attributes) = route.attributes(method) else {
        return Answer::status(method_not_allowed());
    };
    let account = (caller.namespace.clone(), caller.name.clone());
    if !state.rbac.allows(&account, &attributes) {
        return Answer::status(forbidden(
            &service_account_username(&caller.namespace, &caller.name),
            &attributes,
        ));
    }
    match route {
        Route::TokenReview => create_token_review(inner, state, body, now, record),
        Route::ClusterRoleBindings if method == Method::GET => {
            Answer::json(200, &rbac::list_json(&state.rbac))
        }
        Route::ClusterRoleBindings => create_binding(state, body, now),
        Route::ClusterRoleBinding(name) => match state.rbac.get(name) {
            Some(binding) => Answer::json(200, &rbac::binding_json(binding)),
            None => Answer::status(object_not_found(RBAC_GROUP, "clusterrolebindings", name)),
        },
        Route::ServiceAccountToken { namespace, name } => {
            create_token_request(inner, state, namespace, name, body, now)
        }
        Route::Version => Answer::json(200, &version_info()),
    }
}

/// `/version` as RKE2 answers it (`kubectl version -o json` shows the same `serverVersion`).
fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "31",
        "gitVersion": "v1.31.4+rke2r1",
        "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
        "gitTreeState": "clean",
        "buildDate": "2024-12-10T20:24:19Z",
        "goVersion": "go1.22.9 X:boringcrypto",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `POST …/clusterrolebindings`: 201 with the stored object, 409 when the name is taken, 422
/// for an invalid object (apiserver's create handler and the RBAC registry's strategy).
fn create_binding(state: &mut ClusterState, body: &[u8], now: i64) -> Answer {
    let (name, role, subjects) = match rbac::parse_binding(body) {
        Ok(parsed) => parsed,
        Err(rbac::ParseError::Decode(message)) => return Answer::status(bad_request(message)),
        Err(rbac::ParseError::Invalid { name, errors }) => {
            return Answer::status(invalid(RBAC_GROUP, "ClusterRoleBinding", &name, &errors))
        }
    };
    let binding = ClusterRoleBinding {
        name: name.clone(),
        uid: random_uid(),
        resource_version: 0,
        created: rfc3339(now),
        role,
        subjects,
    };
    match state.rbac.create(binding) {
        Ok(stored) => Answer::json(201, &rbac::binding_json(&stored)),
        Err(()) => Answer::status(already_exists(RBAC_GROUP, "clusterrolebindings", &name)),
    }
}

/// `POST /api/v1/namespaces/{ns}/serviceaccounts/{sa}/token`, the TokenRequest API (kubernetes
/// `pkg/registry/core/serviceaccount/storage/token.go`): the ServiceAccount must exist (404
/// `serviceaccounts "<sa>" not found`), `spec.expirationSeconds` defaults to an hour and must lie
/// within [10 minutes, 2^32 s] (422), empty `spec.audiences` become the API audiences; the 201
/// answer echoes the request with the defaults filled in (`spec.boundObjectRef` null when
/// unbound, metadata `name`, `namespace`, `creationTimestamp`) and carries `status.token` and
/// `status.expirationTimestamp`.
fn create_token_request(
    inner: &Inner,
    state: &ClusterState,
    namespace: &str,
    name: &str,
    body: &[u8],
    now: i64,
) -> Answer {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Answer::status(bad_request(format!(
                "couldn't get version/kind; json parse error: {e}"
            )))
        }
    };
    let spec = value.get("spec");
    let audiences: Vec<String> = spec
        .and_then(|s| s.get("audiences"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let audiences = if audiences.is_empty() {
        API_AUDIENCES.iter().map(|a| a.to_string()).collect()
    } else {
        audiences
    };
    let seconds = spec
        .and_then(|s| s.get("expirationSeconds"))
        .and_then(Value::as_i64)
        .unwrap_or(TOKEN_REQUEST_DEFAULT_SECONDS);
    let bound = if seconds < TOKEN_REQUEST_MIN_SECONDS {
        Some("may not specify a duration less than 10 minutes")
    } else if seconds > TOKEN_REQUEST_MAX_SECONDS {
        Some("may not specify a duration larger than 2^32 seconds")
    } else {
        None
    };
    if let Some(message) = bound {
        let error = rbac::FieldError {
            reason: "FieldValueInvalid",
            field: "spec.expirationSeconds".into(),
            message: format!("Invalid value: {seconds}: {message}"),
        };
        return Answer::status(invalid(
            "authentication.k8s.io",
            "TokenRequest",
            name,
            &[error],
        ));
    }
    let Some(uid) = state
        .service_accounts
        .get(&(namespace.to_string(), name.to_string()))
    else {
        return Answer::status(object_not_found("", "serviceaccounts", name));
    };
    let token = mint_token(
        &inner.signer,
        namespace,
        name,
        uid,
        &audiences,
        now,
        seconds,
    );
    Answer::json(
        201,
        &json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": rfc3339(now),
            },
            "spec": {
                "audiences": audiences,
                "expirationSeconds": seconds,
                "boundObjectRef": null,
            },
            "status": {
                "token": token,
                "expirationTimestamp": rfc3339(now.saturating_add(seconds)),
            },
        }),
    )
}

/// `POST /apis/authentication.k8s.io/v1/tokenreviews`, once RBAC allowed it.
fn create_token_review(
    inner: &Inner,
    state: &ClusterState,
    body: &[u8],
    now: i64,
    record: &mut ReviewRecord,
) -> Answer {
    let spec = match parse_review(body) {
        Ok(spec) => spec,
        Err(message) => return Answer::status(bad_request(message)),
    };
    record.reviewed = unverified_subject(&spec.token);
    record.audiences = spec.audiences.clone();
    // pkg/registry/authentication/tokenreview/storage.go: no `spec.audiences` means the API
    // server's own audiences.
    let requested: Vec<String> = if spec.audiences.is_empty() {
        API_AUDIENCES.iter().map(|a| a.to_string()).collect()
    } else {
        spec.audiences.clone()
    };
    let status = match authenticate(&inner.signer, state, &spec.token, &requested, now) {
        Ok(id) => {
            let mut extra = std::collections::BTreeMap::new();
            if let Some(jti) = id.jti.as_ref().filter(|j| !j.is_empty()) {
                // ServiceAccountTokenJTI: the token's jti becomes the credential id (seen in
                // real TokenReview responses and `kubectl auth whoami`).
                extra.insert(
                    "authentication.kubernetes.io/credential-id".to_string(),
                    vec![format!("JTI={jti}")],
                );
            }
            ReviewStatus {
                authenticated: true,
                user: UserInfo {
                    username: service_account_username(&id.namespace, &id.name),
                    uid: id.uid.clone(),
                    // apiserver serviceaccount.MakeGroupNames, then the authenticated-group
                    // adder of the request authenticator chain.
                    groups: vec![
                        "system:serviceaccounts".to_string(),
                        format!("system:serviceaccounts:{}", id.namespace),
                        "system:authenticated".to_string(),
                    ],
                    extra,
                },
                audiences: id.audiences,
                error: String::new(),
            }
        }
        Err(reason) => ReviewStatus {
            error: review_error(reason),
            ..ReviewStatus::default()
        },
    };
    record.authenticated = Some(status.authenticated);
    record.error = (!status.error.is_empty()).then(|| status.error.clone());
    Answer::json(
        201,
        &TokenReviewBody {
            kind: "TokenReview",
            api_version: "authentication.k8s.io/v1",
            metadata: CreationMeta {
                creation_timestamp: None,
            },
            spec: ReviewSpec {
                token: &spec.token,
                audiences: &spec.audiences,
            },
            status,
        },
    )
}

struct ReviewRequest {
    token: String,
    audiences: Vec<String>,
}

/// Decodes a TokenReview body. Missing `kind`/`apiVersion` default to the endpoint's, as the
/// apiserver's create handler decodes with the endpoint's group-version-kind as default.
fn parse_review(body: &[u8]) -> Result<ReviewRequest, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("couldn't get version/kind; json parse error: {e}"))?;
    if let Some(version) = value.get("apiVersion").and_then(Value::as_str) {
        if version != "authentication.k8s.io/v1" {
            return Err(format!(
                "the API version in the data ({version}) does not match the expected API version \
                 (authentication.k8s.io/v1)"
            ));
        }
    }
    if let Some(kind) = value.get("kind").and_then(Value::as_str) {
        if kind != "TokenReview" {
            return Err(format!(
                "the kind in the data ({kind}) does not match the expected kind (TokenReview)"
            ));
        }
    }
    let spec = value.get("spec");
    let token = spec
        .and_then(|s| s.get("token"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if token.is_empty() {
        // tokenreview/storage.go.
        return Err("token is required for TokenReview in authentication".into());
    }
    let audiences = match spec.and_then(|s| s.get("audiences")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| a.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                "TokenReview in version \"v1\" cannot be handled as a TokenReview: spec.audiences \
                 must be a list of strings"
                    .to_string()
            })?,
        Some(_) => {
            return Err(
                "TokenReview in version \"v1\" cannot be handled as a TokenReview: spec.audiences \
                 must be a list of strings"
                    .into(),
            )
        }
    };
    Ok(ReviewRequest { token, audiences })
}

// ---------------------------------------------------------------------------------------------
// Token authentication
// ---------------------------------------------------------------------------------------------

/// Who a token authenticated as, and the audiences it was accepted for.
struct Identity {
    namespace: String,
    name: String,
    uid: String,
    jti: Option<String>,
    audiences: Vec<String>,
}

/// The `status.error` of a failed review. Real servers report the request authenticators'
/// aggregated errors: the bearer-token authenticator's `invalid bearer token` first, then the
/// service account authenticator's reason, e.g. `[invalid bearer token, service account token
/// has expired]` (kube-apiserver logs) or `[invalid bearer token, Token has been invalidated]`
/// (hashicorp/vault#16123); apimachinery's aggregate drops duplicate messages and the brackets
/// when one message remains.
fn review_error(reason: Option<String>) -> String {
    const INVALID: &str = "invalid bearer token";
    match reason {
        None => INVALID.to_string(),
        Some(reason) if reason == INVALID => reason,
        Some(reason) => format!("[{INVALID}, {reason}]"),
    }
}

/// kubernetes `pkg/serviceaccount/jwt.go` `AuthenticateToken` followed by `claims.go`
/// `Validate`, for one signing key and issuer. `Err(None)`: not a token of this issuer (the
/// authenticator passes); `Err(Some(_))`: this issuer's token, rejected for that reason, worded
/// as Kubernetes words it.
fn authenticate(
    signer: &TokenSigner,
    state: &ClusterState,
    token: &str,
    requested: &[String],
    now: i64,
) -> Result<Identity, Option<String>> {
    // hasCorrectIssuer: a compact JWS whose unverified `iss` is ours, else not ours to judge.
    if token.trim_start().starts_with('{') {
        return Err(None);
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(None);
    };
    let decode_json = |part: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok()
    };
    let Some(claims) = decode_json(payload_b64) else {
        return Err(None);
    };
    if claims.get("iss").and_then(Value::as_str) != Some(SERVICE_ACCOUNT_ISSUER) {
        return Err(None);
    }
    // jwt.ParseSigned with the allowed algorithms: a parse failure passes the token on.
    let Some(header) = decode_json(header_b64) else {
        return Err(None);
    };
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(None);
    }
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature_b64) else {
        return Err(None);
    };
    // Keys are looked up by `kid`; a token signed by another cluster names a key not held here.
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !kid.is_empty() && kid != signer.kid {
        return Err(Some("invalid signature, no keys found".into()));
    }
    let signed_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let verified = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
        .map(|sig| {
            signer
                .verifying
                .verify(signed_input.as_bytes(), &sig)
                .is_ok()
        })
        .unwrap_or(false);
    if !verified {
        // go-jose's ErrCryptoFailure, as the fork Kubernetes vendors words it.
        return Err(Some(
            "go-jose/go-jose: error in cryptographic primitive".into(),
        ));
    }

    let token_audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    // Only API audiences are allowed for tokens without `aud` (legacy tokens).
    let token_audiences = if token_audiences.is_empty() {
        API_AUDIENCES.iter().map(|a| a.to_string()).collect()
    } else {
        token_audiences
    };
    // authenticator.Audiences(token).Intersect(requested): requested order, token membership.
    let audiences: Vec<String> = requested
        .iter()
        .filter(|r| token_audiences.contains(r))
        .cloned()
        .collect();
    if audiences.is_empty() {
        return Err(Some(format!(
            "token audiences {} is invalid for the target audiences {}",
            go_quote_list(&token_audiences),
            go_quote_list(requested)
        )));
    }

    // go-jose Claims.ValidateWithLeeway order: nbf, exp, iat.
    let numeric = |name: &str| claims.get(name).and_then(Value::as_f64).map(|v| v as i64);
    if numeric("nbf").is_some_and(|nbf| now + JWT_LEEWAY_SECONDS < nbf) {
        return Err(Some("service account token is not valid yet".into()));
    }
    if numeric("exp").is_some_and(|exp| now - JWT_LEEWAY_SECONDS > exp) {
        return Err(Some("service account token has expired".into()));
    }
    if numeric("iat").is_some_and(|iat| now + JWT_LEEWAY_SECONDS < iat) {
        return Err(Some(
            "service account token claims could not be validated due to unexpected validation \
             error"
                .into(),
        ));
    }

    let private = claims.get("kubernetes.io");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let namespace = text(private.and_then(|k| k.get("namespace")));
    let account = private.and_then(|k| k.get("serviceaccount"));
    let name = text(account.and_then(|a| a.get("name")));
    let claimed_uid = text(account.and_then(|a| a.get("uid")));
    // The service account must still exist with the same uid. A missing one fails with the
    // getter's NotFound text (apimachinery NewNotFound for resource `serviceaccounts`).
    let Some(uid) = state
        .service_accounts
        .get(&(namespace.clone(), name.clone()))
    else {
        return Err(Some(format!("serviceaccounts \"{name}\" not found")));
    };
    if *uid != claimed_uid {
        return Err(Some(format!(
            "service account UID ({uid}) does not match claim ({claimed_uid})"
        )));
    }
    Ok(Identity {
        namespace,
        name,
        uid: claimed_uid,
        jti: claims
            .get("jti")
            .and_then(Value::as_str)
            .map(str::to_string),
        audiences,
    })
}

/// The subject a token claims, read without verification, for the review log.
fn unverified_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    match sub
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name)) => Some(format!("{namespace}/{name}")),
        None => Some(sub.to_string()),
    }
}

/// A projected ServiceAccount token (see [`KubeApiServer::issue_token`] for the shape). Empty
/// `audiences` means the API audiences, as the TokenRequest API defaults them.
fn mint_token(
    signer: &TokenSigner,
    namespace: &str,
    service_account: &str,
    uid: &str,
    audiences: &[String],
    now: i64,
    ttl_seconds: i64,
) -> String {
    let audiences: Vec<String> = if audiences.is_empty() {
        API_AUDIENCES.iter().map(|a| a.to_string()).collect()
    } else {
        audiences.to_vec()
    };
    // serde_json's map keeps keys sorted, the order Go's encoder gives the merged claims.
    let claims = json!({
        "aud": audiences,
        "exp": now.saturating_add(ttl_seconds),
        "iat": now,
        "iss": SERVICE_ACCOUNT_ISSUER,
        "jti": random_uid(),
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": { "name": service_account, "uid": uid },
        },
        "nbf": now,
        "sub": service_account_username(namespace, service_account),
    });
    signer.sign(&claims)
}

fn rfc3339(seconds: i64) -> String {
    crate::pure::ca::Timestamp(seconds).to_string()
}

/// apiserver serviceaccount.MakeUsername.
fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `strconv.Quote` for the characters audiences can hold.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A random version-4 UUID string, the shape of Kubernetes uids and token ids.
fn random_uid() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const EXPIRED_BODY_ERROR: &str = "[invalid bearer token, service account token has expired]";

    fn client_trusting(ca_pem: &str) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        for der in crate::pure::ca::certificate_ders(ca_pem.as_bytes()) {
            roots
                .add(rustls_pki_types::CertificateDer::from(der))
                .unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// The error and its sources, joined: reqwest hides the TLS reason in the chain.
    fn error_chain(error: &reqwest::Error) -> String {
        let mut chain = vec![error.to_string()];
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        chain.join(": ")
    }

    fn review_body(token: &str, audiences: &[&str]) -> Value {
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": { "token": token, "audiences": audiences },
        })
    }

    /// Sends one TokenReview; returns status, content type and body text.
    async fn post_review(
        client: &reqwest::Client,
        server: &KubeApiServer,
        bearer: &str,
        body: &Value,
    ) -> (u16, String, String) {
        let response = client
            .post(format!("{}{TOKEN_REVIEW_PATH}", server.url()))
            .bearer_auth(bearer)
            .header("Accept", "application/json")
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        (status, content_type, response.text().await.unwrap())
    }

    fn decode_part(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_bound_service_account_reviews_its_own_token() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        assert!(server.url().starts_with("https://127.0.0.1:"));
        let token = server.issue_token("ci", "deployer", &[], 3600);
        server.bind_auth_delegator("ci", "deployer");
        let uid = server.service_account_uid("ci", "deployer").unwrap();

        // The token has the shape `kubectl create token` gives.
        let header = decode_part(&token, 0);
        assert_eq!(
            header.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["alg", "kid"]
        );
        assert_eq!(header["alg"], "RS256");
        let claims = decode_part(&token, 1);
        assert_eq!(
            claims.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "aud",
                "exp",
                "iat",
                "iss",
                "jti",
                "kubernetes.io",
                "nbf",
                "sub"
            ]
        );
        assert_eq!(claims["iss"], SERVICE_ACCOUNT_ISSUER);
        assert_eq!(claims["sub"], "system:serviceaccount:ci:deployer");
        assert_eq!(claims["aud"], json!(API_AUDIENCES));
        assert_eq!(
            claims["kubernetes.io"],
            json!({"namespace": "ci", "serviceaccount": {"name": "deployer", "uid": uid}})
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );

        // Client JWT mode: the login JWT is both bearer and reviewed token, audiences its own.
        let client = client_trusting(&server.ca_pem());
        let (status, content_type, text) = post_review(
            &client,
            &server,
            &token,
            &review_body(&token, &API_AUDIENCES),
        )
        .await;
        assert_eq!(status, 201, "{text}");
        assert_eq!(content_type, "application/json");
        assert!(text.ends_with("}\n"));
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["kind"], "TokenReview");
        assert_eq!(body["apiVersion"], "authentication.k8s.io/v1");
        assert_eq!(body["metadata"], json!({"creationTimestamp": null}));
        assert_eq!(body["spec"]["token"], token.as_str());
        let jti = claims["jti"].as_str().unwrap();
        assert_eq!(
            body["status"],
            json!({
                "authenticated": true,
                "user": {
                    "username": "system:serviceaccount:ci:deployer",
                    "uid": uid,
                    "groups": [
                        "system:serviceaccounts",
                        "system:serviceaccounts:ci",
                        "system:authenticated"
                    ],
                    "extra": {"authentication.kubernetes.io/credential-id": [format!("JTI={jti}")]},
                },
                "audiences": API_AUDIENCES,
            })
        );

        // No `spec.audiences`: the API audiences are checked and echoed.
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                          "spec": {"token": token}});
        let (status, _, text) = post_review(&client, &server, &token, &body).await;
        assert_eq!(status, 201);
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["status"]["audiences"], json!(API_AUDIENCES));
        assert!(body["spec"].get("audiences").is_none());

        let reviews = server.reviews();
        assert_eq!(reviews.len(), 2);
        assert_eq!(
            reviews[0],
            ReviewRecord {
                method: "POST".into(),
                path: TOKEN_REVIEW_PATH.into(),
                bearer: "ci/deployer".into(),
                reviewed: Some("ci/deployer".into()),
                audiences: API_AUDIENCES.iter().map(|a| a.to_string()).collect(),
                status: 201,
                authenticated: Some(true),
                error: None,
            }
        );
        assert!(!format!("{reviews:?}").contains(&token));
    }

    #[tokio::test]
    async fn a_bearer_without_auth_delegator_gets_the_rbac_denial() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        let token = server.issue_token("apps", "web", &[], 600);
        let client = client_trusting(&server.ca_pem());
        let expected = concat!(
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
            r#""message":"tokenreviews.authentication.k8s.io is forbidden: User "#,
            r#"\"system:serviceaccount:apps:web\" cannot create resource \"tokenreviews\" "#,
            r#"in API group \"authentication.k8s.io\" at the cluster scope","#,
            r#""reason":"Forbidden","#,
            r#""details":{"group":"authentication.k8s.io","kind":"tokenreviews"},"#,
            r#""code":403}"#,
            "\n"
        );
        let (status, content_type, text) =
            post_review(&client, &server, &token, &review_body(&token, &[])).await;
        assert_eq!((status, content_type.as_str()), (403, "application/json"));
        assert_eq!(text, expected);

        // Binding allows it; unbinding takes it away again.
        server.bind_auth_delegator("apps", "web");
        let (status, _, _) = post_review(&client, &server, &token, &review_body(&token, &[])).await;
        assert_eq!(status, 201);
        server.unbind_auth_delegator("apps", "web");
        let (status, _, text) =
            post_review(&client, &server, &token, &review_body(&token, &[])).await;
        assert_eq!((status, text.as_str()), (403, expected));

        let reviews = server.reviews();
        assert_eq!(reviews[0].bearer, "apps/web");
        assert_eq!(reviews[0].authenticated, None);
        assert_eq!(
            reviews.iter().map(|r| r.status).collect::<Vec<_>>(),
            [403, 201, 403]
        );
    }

    #[tokio::test]
    async fn an_unknown_bearer_is_unauthorized() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        let other = KubeApiServer::start(KubeOptions::default()).unwrap();
        server.bind_auth_delegator("ci", "deployer");
        let valid = server.issue_token("ci", "deployer", &[], 600);
        let expected = concat!(
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
            r#""message":"Unauthorized","reason":"Unauthorized","code":401}"#,
            "\n"
        );
        let client = client_trusting(&server.ca_pem());
        let foreign = other.issue_token("ci", "deployer", &[], 600);
        let expired = server.issue_token("ci", "deployer", &[], -3600);
        let custom_audience_only = server.issue_token("ci", "deployer", &["vault"], 600);
        for bearer in [
            "not-a-token",
            foreign.as_str(),
            expired.as_str(),
            custom_audience_only.as_str(),
        ] {
            let (status, content_type, text) =
                post_review(&client, &server, bearer, &review_body(&valid, &[])).await;
            assert_eq!((status, content_type.as_str()), (401, "application/json"));
            assert_eq!(text, expected);
        }
        // No Authorization header at all: anonymous auth is off.
        let response = client
            .post(format!("{}{TOKEN_REVIEW_PATH}", server.url()))
            .json(&review_body(&valid, &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(response.text().await.unwrap(), expected);

        let reviews = server.reviews();
        assert_eq!(reviews.len(), 5);
        assert!(reviews
            .iter()
            .all(|r| r.bearer == "unknown" && r.status == 401 && r.reviewed.is_none()));
    }

    #[tokio::test]
    async fn rejected_reviewed_tokens_are_201_with_the_kubernetes_error() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        let other = KubeApiServer::start(KubeOptions::default()).unwrap();
        // A reviewer with its own bearer token (the `token_reviewer_jwt` mode).
        server.bind_auth_delegator("vault", "reviewer");
        let reviewer = server.issue_token("vault", "reviewer", &[], 3600);
        let client = client_trusting(&server.ca_pem());
        let review = |token: String, audiences: Vec<&'static str>| {
            let client = client.clone();
            let reviewer = reviewer.clone();
            let server = &server;
            async move {
                let (status, _, text) =
                    post_review(&client, server, &reviewer, &review_body(&token, &audiences)).await;
                assert_eq!(status, 201, "{text}");
                serde_json::from_str::<Value>(&text).unwrap()["status"].clone()
            }
        };

        // Expired (a negative TTL, well past the one-minute leeway).
        let expired = server.issue_token("ci", "deployer", &[], -3600);
        assert_eq!(
            review(expired, API_AUDIENCES.to_vec()).await,
            json!({"user": {}, "error": EXPIRED_BODY_ERROR})
        );

        // Audience mismatch: minted for `vault` only, reviewed for the API audiences.
        let vault_only = server.issue_token("ci", "deployer", &["vault"], 600);
        assert_eq!(
            review(vault_only.clone(), API_AUDIENCES.to_vec()).await["error"],
            "[invalid bearer token, token audiences [\"vault\"] is invalid for the target \
             audiences [\"https://kubernetes.default.svc.cluster.local\" \"rke2\"]]"
        );
        // ...and accepted for `vault`, which is the only audience echoed.
        let status = review(vault_only, vec!["vault", "other"]).await;
        assert_eq!(status["authenticated"], true);
        assert_eq!(status["audiences"], json!(["vault"]));

        // Signed by another cluster's key.
        let foreign = other.issue_token("ci", "deployer", &[], 600);
        assert_eq!(
            review(foreign, vec![]).await["error"],
            "[invalid bearer token, invalid signature, no keys found]"
        );

        // Not a JWT at all.
        assert_eq!(
            review("opaque".into(), vec![]).await,
            json!({"user": {}, "error": "invalid bearer token"})
        );

        // Deleted service account, then recreated under the same name (a new uid).
        let app = server.issue_token("apps", "app", &[], 600);
        let old_uid = server.service_account_uid("apps", "app").unwrap();
        server.delete_service_account("apps", "app");
        assert_eq!(server.service_account_uid("apps", "app"), None);
        assert_eq!(
            review(app.clone(), vec![]).await["error"],
            "[invalid bearer token, serviceaccounts \"app\" not found]"
        );
        let _new = server.issue_token("apps", "app", &[], 600);
        let new_uid = server.service_account_uid("apps", "app").unwrap();
        assert_eq!(
            review(app, vec![]).await["error"],
            format!(
                "[invalid bearer token, service account UID ({new_uid}) does not match claim \
                 ({old_uid})]"
            )
        );

        let reviews = server.reviews();
        assert_eq!(reviews[0].bearer, "vault/reviewer");
        assert_eq!(reviews[0].reviewed.as_deref(), Some("ci/deployer"));
        assert_eq!(reviews[0].authenticated, Some(false));
        assert_eq!(reviews[0].error.as_deref(), Some(EXPIRED_BODY_ERROR));
        assert_eq!(reviews[4].reviewed, None);
    }

    #[tokio::test]
    async fn a_deleted_bearer_is_unauthorized() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        server.bind_auth_delegator("ci", "deployer");
        let token = server.issue_token("ci", "deployer", &[], 600);
        server.delete_service_account("ci", "deployer");
        let client = client_trusting(&server.ca_pem());
        let (status, _, _) = post_review(&client, &server, &token, &review_body(&token, &[])).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn other_paths_and_methods_get_kubernetes_statuses() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        server.bind_auth_delegator("ci", "deployer");
        let token = server.issue_token("ci", "deployer", &[], 600);
        let client = client_trusting(&server.ca_pem());

        let response = client
            .post(format!("{}/api/v1/tokenreviews", server.url()))
            .bearer_auth(&token)
            .json(&review_body(&token, &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(
            response.text().await.unwrap(),
            concat!(
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
                r#""message":"the server could not find the requested resource","#,
                r#""reason":"NotFound","details":{},"code":404}"#,
                "\n"
            )
        );

        let response = client
            .get(format!("{}{TOKEN_REVIEW_PATH}", server.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["reason"], "MethodNotAllowed");
        assert_eq!(body["code"], 405);

        // A body without a token.
        let response = client
            .post(format!("{}{TOKEN_REVIEW_PATH}", server.url()))
            .bearer_auth(&token)
            .json(
                &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                          "spec": {}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["message"],
            "token is required for TokenReview in authentication"
        );
        assert_eq!(body["reason"], "BadRequest");

        let statuses: Vec<(String, u16)> = server
            .reviews()
            .into_iter()
            .map(|r| (r.method, r.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("POST".into(), 404),
                ("GET".into(), 405),
                ("POST".into(), 400)
            ]
        );
    }

    #[tokio::test]
    async fn other_loopback_addresses_work_and_carry_their_san() {
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let server = KubeApiServer::start(KubeOptions::at(ip)).unwrap();
        assert_eq!(server.addr().ip(), ip);
        assert!(server.url().starts_with("https://127.0.0.2:"));
        server.bind_auth_delegator("ci", "deployer");
        let token = server.issue_token("ci", "deployer", &[], 600);
        let client = client_trusting(&server.ca_pem());
        let (status, _, _) = post_review(&client, &server, &token, &review_body(&token, &[])).await;
        assert_eq!(status, 201);

        // Without the IP SAN the same client refuses the server.
        let sans = vec![San::Dns("kubernetes".into())];
        let server = KubeApiServer::start(KubeOptions {
            sans,
            ..KubeOptions::at(ip)
        })
        .unwrap();
        let client = client_trusting(&server.ca_pem());
        let sent = client
            .post(format!("{}{TOKEN_REVIEW_PATH}", server.url()))
            .send()
            .await;
        let chain = error_chain(&sent.unwrap_err());
        assert!(chain.contains("not valid for name"), "{chain}");
    }

    #[test]
    fn non_loopback_addresses_are_refused() {
        for ip in ["10.0.0.1", "0.0.0.0", "192.168.1.10", "::"] {
            let options = KubeOptions::at(ip.parse().unwrap());
            let err = KubeApiServer::start(options).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains(&format!("`{ip}`")), "{err}");
        }
    }

    #[tokio::test]
    async fn the_serving_certificate_has_the_configured_sans_and_validity() {
        use x509_parser::extensions::GeneralName;
        use x509_parser::prelude::{FromDer, X509Certificate};

        let ca = cluster::rke2_ca("rke2-server", OffsetDateTime::now_utc()).unwrap();
        let ca_pem = ca.pem.clone();
        let sans = vec![
            San::Dns("kubernetes".into()),
            San::Dns("kubernetes.default".into()),
            San::Dns("localhost".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
            San::Ip("10.43.0.1".parse().unwrap()),
        ];
        let server = KubeApiServer::start(KubeOptions {
            sans: sans.clone(),
            ca: Some(ca),
            ..KubeOptions::default()
        })
        .unwrap();
        assert_eq!(server.ca_pem(), ca_pem);
        let ders = crate::pure::ca::certificate_ders(server.serving_cert_pem().as_bytes());
        assert_eq!(ders.len(), 1);
        let (_, cert) = X509Certificate::from_der(&ders[0]).unwrap();
        assert_eq!(cert.subject().to_string(), "CN=kube-apiserver");
        let ca_ders = crate::pure::ca::certificate_ders(ca_pem.as_bytes());
        let (_, ca_cert) = X509Certificate::from_der(&ca_ders[0]).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
        assert!(cert.basic_constraints().unwrap().is_none());
        let found: Vec<San> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => San::Dns(dns.to_string()),
                GeneralName::IPAddress(bytes) => San::Ip(match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap()),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap()),
                }),
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(found, sans);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let not_before = cert.validity().not_before.timestamp();
        let not_after = cert.validity().not_after.timestamp();
        assert!(not_before <= now - 3000 && not_before >= now - 3600 - 600);
        assert_eq!(not_after - not_before, 365 * 86_400 + 3600);

        // The default SANs: RKE2's service names and addresses plus the bound address.
        let defaults = rke2_sans("127.0.0.3".parse().unwrap());
        for expected in [
            San::Dns("kubernetes".into()),
            San::Dns("kubernetes.default".into()),
            San::Dns("localhost".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
            San::Ip("10.43.0.1".parse().unwrap()),
            San::Ip("127.0.0.3".parse().unwrap()),
        ] {
            assert!(defaults.contains(&expected), "{expected:?}");
        }
        assert_eq!(
            rke2_sans("127.0.0.1".parse().unwrap()).len(),
            defaults.len() - 1
        );

        // Expired and not-yet-valid certificates: windows as asked, and a client refuses them.
        for (validity, expired) in [(Validity::Expired, true), (Validity::NotYetValid, false)] {
            let server = KubeApiServer::start(KubeOptions {
                serving_validity: validity,
                ..KubeOptions::default()
            })
            .unwrap();
            let ders = crate::pure::ca::certificate_ders(server.serving_cert_pem().as_bytes());
            let (_, cert) = X509Certificate::from_der(&ders[0]).unwrap();
            let now = OffsetDateTime::now_utc().unix_timestamp();
            if expired {
                assert!(cert.validity().not_after.timestamp() < now);
            } else {
                assert!(cert.validity().not_before.timestamp() > now);
            }
            let sent = client_trusting(&server.ca_pem())
                .post(format!("{}{TOKEN_REVIEW_PATH}", server.url()))
                .send()
                .await;
            let chain = error_chain(&sent.unwrap_err());
            let reason = if expired { "expired" } else { "not valid yet" };
            assert!(chain.contains(reason), "{chain}");
        }
    }

    #[tokio::test]
    async fn plain_http_mode_answers_plain_http() {
        let server = KubeApiServer::start(KubeOptions {
            plain_http: true,
            ..KubeOptions::default()
        })
        .unwrap();
        assert!(server.url().starts_with("http://127.0.0.1:"));
        server.bind_auth_delegator("ci", "deployer");
        let token = server.issue_token("ci", "deployer", &[], 600);
        // The same client speaks plain HTTP to an http:// URL...
        let client = client_trusting(&server.ca_pem());
        let (status, _, _) = post_review(&client, &server, &token, &review_body(&token, &[])).await;
        assert_eq!(status, 201);

        // ...and fails the handshake against https://: the wrong-scheme symptom.
        let sent = client
            .post(format!("https://{}{TOKEN_REVIEW_PATH}", server.addr()))
            .send()
            .await;
        let chain = error_chain(&sent.unwrap_err());
        assert!(chain.contains("InvalidContentType"), "{chain}");
    }

    /// Sends one request as `bearer`; returns status and the JSON body.
    async fn call(
        client: &reqwest::Client,
        server: &KubeApiServer,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = client
            .request(method, format!("{}{path}", server.url()))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    fn binding_body(name: &str, role: &str, namespace: &str, sa: &str) -> Value {
        // What `kubectl create clusterrolebinding NAME --clusterrole=ROLE
        // --serviceaccount=NS:SA` sends (decoded from its protobuf request).
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}],
        })
    }

    #[tokio::test]
    async fn a_created_auth_delegator_binding_lets_the_account_review() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        let client = client_trusting(&server.ca_pem());
        let operator = server.operator_token();
        let eso = server.issue_token("external-secrets", "external-secrets", &[], 600);
        let (status, _, _) = post_review(&client, &server, &eso, &review_body(&eso, &[])).await;
        assert_eq!(status, 403);

        // The account itself may not bind itself.
        let body = binding_body(
            "external-secrets-auth-delegator",
            AUTH_DELEGATOR,
            "external-secrets",
            "external-secrets",
        );
        let (status, denial) = call(
            &client,
            &server,
            Method::POST,
            CLUSTER_ROLE_BINDINGS_PATH,
            &eso,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(
            denial["message"],
            "clusterrolebindings.rbac.authorization.k8s.io is forbidden: User \
             \"system:serviceaccount:external-secrets:external-secrets\" cannot create resource \
             \"clusterrolebindings\" in API group \"rbac.authorization.k8s.io\" at the cluster \
             scope"
        );
        assert_eq!(
            denial["details"],
            json!({"group": "rbac.authorization.k8s.io", "kind": "clusterrolebindings"})
        );

        let (status, created) = call(
            &client,
            &server,
            Method::POST,
            CLUSTER_ROLE_BINDINGS_PATH,
            &operator,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["kind"], "ClusterRoleBinding");
        assert_eq!(
            created["metadata"]["name"],
            "external-secrets-auth-delegator"
        );
        assert_eq!(created["roleRef"]["name"], AUTH_DELEGATOR);
        assert_eq!(
            created["subjects"],
            json!([{"kind": "ServiceAccount", "name": "external-secrets",
                    "namespace": "external-secrets"}])
        );
        let (status, _, _) = post_review(&client, &server, &eso, &review_body(&eso, &[])).await;
        assert_eq!(status, 201, "the binding takes effect at once");

        // The same name again: AlreadyExists.
        let (status, exists) = call(
            &client,
            &server,
            Method::POST,
            CLUSTER_ROLE_BINDINGS_PATH,
            &operator,
            Some(body),
        )
        .await;
        assert_eq!(status, 409);
        assert_eq!(
            exists,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "clusterrolebindings.rbac.authorization.k8s.io \
                               \"external-secrets-auth-delegator\" already exists",
                   "reason": "AlreadyExists",
                   "details": {"name": "external-secrets-auth-delegator",
                               "group": "rbac.authorization.k8s.io",
                               "kind": "clusterrolebindings"},
                   "code": 409})
        );

        // Get and list.
        let path = format!("{CLUSTER_ROLE_BINDINGS_PATH}/external-secrets-auth-delegator");
        let (status, got) = call(&client, &server, Method::GET, &path, &operator, None).await;
        assert_eq!((status, &got), (200, &created));
        let (status, list) = call(
            &client,
            &server,
            Method::GET,
            CLUSTER_ROLE_BINDINGS_PATH,
            &operator,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list["kind"], "ClusterRoleBindingList");
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["cluster-operator", "external-secrets-auth-delegator"]
        );
        let missing = format!("{CLUSTER_ROLE_BINDINGS_PATH}/nope");
        let (status, body) = call(&client, &server, Method::GET, &missing, &operator, None).await;
        assert_eq!(status, 404);
        assert_eq!(
            body["message"],
            "clusterrolebindings.rbac.authorization.k8s.io \"nope\" not found"
        );

        // An invalid object: every field error, in kube-apiserver's aggregate form.
        let (status, body) = call(
            &client,
            &server,
            Method::POST,
            CLUSTER_ROLE_BINDINGS_PATH,
            &operator,
            Some(
                json!({"metadata": {"name": "x"}, "roleRef": {"kind": "ClusterRole"},
                        "subjects": [{"kind": "ServiceAccount", "name": "a"}]}),
            ),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(
            body["message"],
            "ClusterRoleBinding.rbac.authorization.k8s.io \"x\" is invalid: [roleRef.name: \
             Required value, subjects[0].namespace: Required value]"
        );
        assert_eq!(body["reason"], "Invalid");
    }

    #[tokio::test]
    async fn the_token_request_api_mints_tokens_as_kubectl_create_token_asks() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        let client = client_trusting(&server.ca_pem());
        let operator = server.operator_token();
        let path = "/api/v1/namespaces/external-secrets/serviceaccounts/external-secrets/token";
        // `kubectl create token external-secrets -n external-secrets --duration 10m`.
        let request = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {"expirationSeconds": 600}});

        // No such ServiceAccount yet.
        let (status, body) = call(
            &client,
            &server,
            Method::POST,
            path,
            &operator,
            Some(request.clone()),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "serviceaccounts \"external-secrets\" not found",
                   "reason": "NotFound",
                   "details": {"name": "external-secrets", "kind": "serviceaccounts"},
                   "code": 404})
        );

        server.create_service_account("external-secrets", "external-secrets");
        let (status, body) = call(
            &client,
            &server,
            Method::POST,
            path,
            &operator,
            Some(request.clone()),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["kind"], "TokenRequest");
        assert_eq!(body["metadata"]["name"], "external-secrets");
        assert_eq!(body["metadata"]["namespace"], "external-secrets");
        assert_eq!(
            body["spec"],
            json!({"audiences": API_AUDIENCES, "expirationSeconds": 600, "boundObjectRef": null})
        );
        let token = body["status"]["token"].as_str().unwrap();
        let claims = decode_part(token, 1);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            600,
            "expirationSeconds is honoured"
        );
        assert_eq!(
            claims["sub"],
            "system:serviceaccount:external-secrets:external-secrets"
        );
        assert_eq!(
            body["status"]["expirationTimestamp"],
            rfc3339(claims["exp"].as_i64().unwrap())
        );
        assert_eq!(
            decode_part(token, 0)["kid"],
            decode_part(&operator, 0)["kid"],
            "signed by the cluster's key"
        );
        // The minted token authenticates (its own review is refused by RBAC, not by 401).
        let (status, _, _) = post_review(&client, &server, token, &review_body(token, &[])).await;
        assert_eq!(status, 403);

        // No duration: the API's default hour; an audience as asked.
        let (_, body) = call(
            &client,
            &server,
            Method::POST,
            path,
            &operator,
            Some(json!({"spec": {"audiences": ["vault"]}})),
        )
        .await;
        assert_eq!(body["spec"]["expirationSeconds"], 3600);
        assert_eq!(body["spec"]["audiences"], json!(["vault"]));

        // Under ten minutes: Invalid.
        let (status, body) = call(
            &client,
            &server,
            Method::POST,
            path,
            &operator,
            Some(json!({"spec": {"expirationSeconds": 599}})),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(
            body["message"],
            "TokenRequest.authentication.k8s.io \"external-secrets\" is invalid: \
             spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 \
             minutes"
        );

        // A ServiceAccount may not mint tokens for itself.
        let eso = server.issue_token("external-secrets", "external-secrets", &[], 600);
        let (status, body) = call(&client, &server, Method::POST, path, &eso, Some(request)).await;
        assert_eq!(status, 403);
        assert_eq!(
            body["message"],
            "serviceaccounts \"external-secrets\" is forbidden: User \
             \"system:serviceaccount:external-secrets:external-secrets\" cannot create resource \
             \"serviceaccounts/token\" in API group \"\" in the namespace \"external-secrets\""
        );
        assert_eq!(
            body["details"],
            json!({"name": "external-secrets", "kind": "serviceaccounts"})
        );
    }

    #[tokio::test]
    async fn version_answers_authenticated_callers_only() {
        let server = KubeApiServer::start(KubeOptions::default()).unwrap();
        let client = client_trusting(&server.ca_pem());
        let eso = server.issue_token("external-secrets", "external-secrets", &[], 600);
        let (status, body) = call(&client, &server, Method::GET, "/version", &eso, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["major"], "1");
        let response = client
            .get(format!("{}/version", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "anonymous-auth=false");
    }

    #[test]
    fn go_quoting_matches_fmt_q() {
        assert_eq!(
            go_quote_list(&["a".into(), "b\"c".into()]),
            r#"["a" "b\"c"]"#
        );
        assert_eq!(go_quote_list(&[]), "[]");
    }

    #[test]
    fn bearer_header_parsing_follows_kube_apiserver() {
        assert_eq!(bearer_token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(bearer_token("  bearer abc  ").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Bearer abc extra").as_deref(), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
