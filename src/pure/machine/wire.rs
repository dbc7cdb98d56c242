//! What the handshake asks of a driver ([`Effect`]) and what the driver hands back ([`Reply`]).
//!
//! These are the only shapes that cross the line between the core and the world, so both
//! drivers (the native one, and the Node one through WebAssembly) speak exactly this. They are
//! serde types with a JSON form for the Node driver: bytes travel as base64, enums as objects
//! tagged by `kind` (a [`Reply`] by its one key). Secrets (a Vault token in a header, a JWT in
//! a body) do cross here, since the driver must send them; their `Debug` stays redacted, and no
//! driver prints an effect.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pure::probe::TlsFailureKind;
use crate::pure::secret::Secret;

/// One thing the handshake needs done.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Effect {
    /// Send one HTTP request; answer [`Reply::Http`].
    Http(HttpRequest),
    /// Open a TLS connection to the API server trusting only `ca_ders`, send nothing; answer
    /// [`Reply::Probe`].
    #[serde(serialize_with = "write_apart")]
    Probe(ProbeRequest),
    /// One GitHub REST call; answer [`Reply::Github`].
    #[serde(serialize_with = "write_apart")]
    Github(GithubRequest),
    /// Read a file under the driver's file rules (regular file, size cap, confinement to the
    /// workspace and temp folder in a runner); answer [`Reply::File`].
    ReadFile { origin: String, path: String },
    /// Remove a file; answer [`Reply::Done`].
    RemoveFile { path: String },
    /// Append text to a file, creating it; answer [`Reply::Done`].
    AppendFile { path: String, text: String },
    /// Write a file whole; answer [`Reply::Done`].
    WriteFile { path: String, text: String },
    /// Wait; answer [`Reply::Done`].
    Sleep { ms: u64 },
}

/// What a driver hands back for an effect. In JSON a variant is an object with one key, its
/// name (`{"http": {"ok": …}}`, `{"done": {}}`), or the bare name for `"missing"`:
/// the form serde reads without buffering, which keeps the Node action's decoding of every reply
/// short.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    /// No answer: what an effect gets when a driver's batch of replies is short. No working
    /// driver sends it; the step that waited reports a driver fault.
    Missing,
    Http(WireResult<HttpResponse, HttpFailure>),
    Probe {
        #[serde(deserialize_with = "read_apart")]
        report: ProbeReport,
    },
    #[serde(deserialize_with = "read_apart")]
    Github(WireResult<GithubAnswer, GithubFailure>),
    File(WireResult<Bytes, FileFailure>),
    /// A file effect or a sleep finished; `error` says why a file effect failed.
    Done {
        #[serde(default)]
        error: Option<String>,
    },
}

// The probe's and GitHub's shapes are written and read by functions of their own, not inlined
// into the one that handles every step: the Node action compiles each WebAssembly function when
// it is first called, so a run that neither probes nor posts never compiles their code.

#[inline(never)]
fn write_apart<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    value.serialize(serializer)
}

#[inline(never)]
fn read_apart<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize(deserializer)
}

/// `Result` with a JSON form a person can write by hand: `{"ok": …}` or `{"err": …}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireResult<T, E> {
    Ok(T),
    Err(E),
}

impl<T, E> From<Result<T, E>> for WireResult<T, E> {
    fn from(r: Result<T, E>) -> Self {
        match r {
            Ok(v) => WireResult::Ok(v),
            Err(e) => WireResult::Err(e),
        }
    }
}

impl<T, E> From<WireResult<T, E>> for Result<T, E> {
    fn from(r: WireResult<T, E>) -> Self {
        match r {
            WireResult::Ok(v) => Ok(v),
            WireResult::Err(e) => Err(e),
        }
    }
}

/// Bytes, as base64 in JSON.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies can carry tokens: their length is all a Debug shows.
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

/// A header value the driver sends as is; `Debug` never shows it.
#[derive(Clone)]
pub struct WireSecret(pub Secret);

impl std::fmt::Debug for WireSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for WireSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for WireSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| WireSecret(Secret::new(s)))
    }
}

/// Which redirects a driver may follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Redirects {
    /// None: a 3xx is the answer.
    None,
    /// At most three, and only to the request's own scheme, host and port (a standby's 307
    /// to the active node behind one name), so a token never reaches a host nobody named.
    SameOrigin,
}

/// One HTTP request, fully decided by the core.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    /// Every header the request carries (values may be secrets).
    pub headers: Vec<(String, WireSecret)>,
    pub body: Option<Bytes>,
    /// For the whole exchange, body included.
    pub timeout_ms: u64,
    /// For the TCP connection alone.
    pub connect_timeout_ms: u64,
    /// Trust the public web roots (compiled into the native binary; Node's own list).
    pub public_roots: bool,
    /// PEM certificates trusted as well (`vault-ca-cert`, `extra-ca-certs`, the cluster CA).
    pub extra_ca_pems: Vec<String>,
    pub redirects: Redirects,
    /// Go through `HTTPS_PROXY`/`NO_PROXY` as the environment says; false for this machine
    /// and for the API server (Vault reaches it directly too).
    pub use_proxy: bool,
    /// The most the body may hold: more is [`HttpFailure::TooLarge`], never read whole.
    pub body_cap: u64,
}

/// An answer with any status.
#[derive(Debug, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    /// The headers the core reads, names in lower case (`location`, `retry-after`,
    /// `content-type`); a driver may send all.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    /// The first value of a header (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came back.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HttpFailure {
    /// The whole exchange took longer than `timeout_ms`.
    Timeout,
    /// The server's certificate failed verification; `presented` names the SANs when known.
    Certificate {
        reason: TlsFailureKind,
        #[serde(default)]
        presented: Vec<String>,
    },
    /// The body is larger than `body_cap`.
    TooLarge { cap: u64 },
    /// A redirect that the policy does not allow, or too many.
    Redirect { detail: String },
    /// Anything else that kept an answer from arriving: refused, reset, no route, a proxy, a
    /// TLS handshake that failed for another reason than the certificate. `reason` is what the
    /// driver read from its client's error; `detail` is for a person.
    Transport {
        detail: String,
        #[serde(default)]
        reason: crate::pure::transport::TransportKind,
    },
    /// The request could not be built (a header value, a certificate): a bug or bad input.
    Invalid { detail: String },
}

/// The probe of `kubernetes_host`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeRequest {
    /// `https://host:port` as it will be written to Vault.
    pub host: String,
    /// The address or name to connect to, and the port.
    pub connect_host: String,
    pub port: u16,
    /// The name checked in the certificate (an IP address or a DNS name).
    pub server_name: String,
    pub ca_ders: Vec<Bytes>,
    pub timeout_ms: u64,
    /// Unix seconds the certificates are checked at.
    pub now: i64,
}

/// What the probe's connection found, before the core classifies it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProbeReport {
    /// The handshake completed and the chain verifies with the CAs for the name.
    Verified {
        chain: Vec<Bytes>,
        protocol: String,
    },
    /// The handshake failed; `chain` is what the server presented, if anything.
    Failed {
        reason: TlsFailureKind,
        chain: Vec<Bytes>,
    },
    Refused,
    TimedOut {
        after_ms: u64,
    },
    Unreachable {
        detail: String,
    },
    /// The CAs cannot anchor a handshake at all.
    BadCa {
        detail: String,
    },
}

/// How to reach GitHub's REST API for one repository.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GithubConn {
    /// `GITHUB_API_URL`.
    pub api_url: String,
    /// `owner/name`.
    pub repository: String,
    pub token: WireSecret,
    pub timeout_ms: u64,
    pub extra_ca_pems: Vec<String>,
}

/// One GitHub REST call.
#[derive(Debug, Serialize, Deserialize)]
pub struct GithubRequest {
    pub conn: GithubConn,
    pub call: GithubCall,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum GithubCall {
    /// `POST /repos/{repo}/check-runs`; answers the run's `html_url`.
    CreateCheckRun {
        name: String,
        head_sha: String,
        conclusion: String,
        title: String,
        summary: String,
        details_url: Option<String>,
    },
    /// `GET /repos/{repo}/issues/{number}/comments` (all pages); answers the list.
    ListComments { number: u64 },
    /// `POST /repos/{repo}/issues/{number}/comments`; answers the comment's `html_url`.
    CreateComment { number: u64, body: String },
    /// `PATCH /repos/{repo}/issues/comments/{id}`; answers the comment's `html_url`.
    UpdateComment { id: u64, body: String },
    /// `GET /repos/{repo}/actions/runs/{run_id}/artifacts`; answers the listing's JSON.
    ListArtifacts { run_id: u64 },
    /// `GET /repos/{repo}/actions/artifacts/{id}/zip`, then the blob it redirects to, fetched
    /// without the token; answers the bytes.
    DownloadArtifact { id: u64, cap: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GithubAnswer {
    Url { url: String },
    Json { value: serde_json::Value },
    Download(Download),
}

/// A downloaded artifact blob.
#[derive(Debug, Serialize, Deserialize)]
pub struct Download {
    pub bytes: Bytes,
    pub content_type: Option<String>,
    pub url_path: String,
    pub file_name: Option<String>,
}

impl Download {
    /// Zip by content type or a `.zip` URL path, as the toolkit decides
    /// (docs/actions-behaviour.md §5.3).
    pub fn is_zip(&self) -> bool {
        let by_type = self.content_type.as_deref().is_some_and(|t| {
            let t = t
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            matches!(
                t.as_str(),
                "application/zip" | "application/x-zip-compressed" | "application/zip-compressed"
            )
        });
        by_type || self.url_path.ends_with(".zip")
    }
}

/// What GitHub answered when it was not a success.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GithubFailure {
    #[error("GitHub answered {status} `{message}`")]
    Status { status: u16, message: String },
    #[error("GitHub could not be reached: {detail}")]
    Transport { detail: String },
}

impl GithubFailure {
    pub fn status(&self) -> u16 {
        match self {
            GithubFailure::Status { status, .. } => *status,
            GithubFailure::Transport { .. } => 0,
        }
    }

    pub fn message(&self) -> String {
        match self {
            GithubFailure::Status { message, .. } => message.clone(),
            GithubFailure::Transport { detail } => detail.clone(),
        }
    }
}

/// Why a file could not be read, as the driver found it (the core words it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FileFailure {
    NotFound,
    /// Another I/O error; `detail` as the OS says it (`permission denied`).
    Io {
        detail: String,
    },
    /// A directory, pipe, socket, device, or a kernel file.
    NotRegular {
        what: String,
    },
    TooLarge {
        size: u64,
        max: u64,
    },
    OutsideRoots {
        resolved: String,
        roots: Vec<String>,
    },
    /// The file at the path changed between the check and the open.
    Swapped,
}

/// Where a line of the log goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One finished line for the log (redacted and encoded already): the driver writes it and a
/// newline, nothing else.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
}
