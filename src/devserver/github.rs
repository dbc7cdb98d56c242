//! A GitHub REST API stand-in for the tests: check runs, issue comments and the artifacts of the
//! current workflow run, plus a second origin playing the blob storage artifact downloads are
//! redirected to.
//!
//! Owns: the two loopback listeners (the API, what `GITHUB_API_URL` would be, and the blob
//! origin on another port), the state tests stage and inspect (tokens with permissions, check
//! runs, comments, artifacts, faults), the request log, and the REST contract check every API
//! request passes first. The contract table (`github_table.json`) is derived by
//! `tools/derive-github-table.py` from GitHub's own OpenAPI description (npm `@octokit/openapi`,
//! version pinned there and recorded in the table); a test keeps the two in step.
//!
//! Answers follow GitHub's: error bodies are `{"message", "documentation_url", "status"}` (422s
//! add `errors`), every API answer carries the `x-ratelimit-*` headers, JSON bodies parse as
//! octocrab's strict models (`CheckRun`, `Comment`, `WorkflowListArtifact`; tests prove it), and
//! the texts are the ones GitHub sends, each citing where it was seen.
//!
//! It must never: bind anything but 127.0.0.1, make an outbound call, outlive its `Drop`, let a
//! request the contract table does not describe succeed (it gets the 400 refusal, or an
//! injected fault, which fires first), so a request only the stand-in would accept cannot pass
//! a test; or serve a blob to a request that carries an `Authorization` header (clients must
//! not hand the GitHub token to storage).
//!
//! The modelled repository is private, and a token holds each scope it models either fully or
//! not at all: `checks_write` (create and update check runs), `pull_requests_write` (list,
//! create and edit PR comments; GitHub also takes `issues`, which no test needs), `actions_read`
//! (list and download artifacts). Every token acts as the GitHub Actions app, so comments it
//! writes are by `github-actions[bot]`. Ids exceed `i32` (comments) and `u32` (check runs,
//! artifacts) on purpose, as GitHub's do.
//!
//! Laid out by responsibility: this file holds the server's lifecycle, the staged state, the
//! contract check and the answer shapes; `api` serves the API origin and `blob` the blob origin.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

use super::lifecycle::ServerThread;
use super::{percent_decode, query_pairs};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

mod api;
mod blob;

use api::*;
use blob::*;

/// The derived contract table; see `tools/derive-github-table.py` for its shape.
const TABLE_JSON: &str = include_str!("github_table.json");

/// `GithubRequest::origin` of a request to the REST API listener.
pub const ORIGIN_API: &str = "api";
/// `GithubRequest::origin` of a request to the blob storage listener.
pub const ORIGIN_BLOB: &str = "blob";

/// The GitHub Actions bot, as GitHub renders it in a comment's `user` (seen in release JSON,
/// e.g. firezone/firezone's fixture of `releases/latest`).
pub const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";
const ACTIONS_BOT_ID: u64 = 41_898_282;
/// The GitHub Actions app behind `GITHUB_TOKEN` (its avatar path is `/in/15368`).
const ACTIONS_APP_ID: u64 = 15_368;
/// An installation id for rate-limit messages; GitHub names the token's installation.
const INSTALLATION_ID: u64 = 42_000_001;

/// `GITHUB_TOKEN`'s primary rate limit: 1,000 requests per hour per repository ("Rate limits
/// for the REST API", docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api).
const TOKEN_RATE_LIMIT: u32 = 1_000;
/// The unauthenticated limit, used for answers to requests without a valid token (same page).
const ANONYMOUS_RATE_LIMIT: u32 = 60;
/// GitHub's largest `per_page`, and its default (the spec's `per-page` parameter).
const MAX_PER_PAGE: usize = 100;
const DEFAULT_PER_PAGE: usize = 30;
/// Issue comment bodies: GitHub refuses more than 65,536 characters (docs/actions-behaviour.md
/// §6.3; the refusal text is quoted in `create_comment`).
const COMMENT_MAX_CHARS: usize = 65_536;
/// "This URL expires after 1 minute" (the spec's description of the artifact download).
const BLOB_LINK_SECONDS: i64 = 60;
/// How long artifacts are kept by default (upload-artifact's `retention-days` default, 90).
const ARTIFACT_RETENTION_DAYS: i64 = 90;
/// Azure Storage's service version in the signed URLs and answers (cosmetic, but realistic).
const BLOB_SERVICE_VERSION: &str = "2025-11-05";
/// The answer the fault `status: 0` gives: none, the connection is dropped.
pub const FAULT_RESET: u16 = 0;
/// The fault `status: 1`: a 403 whose message carries the presented token back, as a proxy or
/// a misbehaving front end might. The redaction tests use it.
pub const FAULT_ECHO_TOKEN: u16 = 1;
/// GitHub's `documentation_url` for errors not tied to one operation.
const REST_DOCS: &str = "https://docs.github.com/rest";
const RATE_LIMIT_DOCS: &str =
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

/// What a token may do. A scope is either granted (`true`) or absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    /// `permissions: checks: write`.
    pub checks_write: bool,
    /// `permissions: pull-requests: write` (read included).
    pub pull_requests_write: bool,
    /// `permissions: actions: read`.
    pub actions_read: bool,
}

impl Permissions {
    /// Everything the project needs: what its documented `permissions:` block grants.
    pub const ALL: Permissions = Permissions {
        checks_write: true,
        pull_requests_write: true,
        actions_read: true,
    };
    /// A token that authenticates but may do none of it.
    pub const NONE: Permissions = Permissions {
        checks_write: false,
        pull_requests_write: false,
        actions_read: false,
    };
}

/// How to start the stand-in.
#[derive(Clone)]
pub struct GithubOptions {
    /// The repository (`GITHUB_REPOSITORY` is `owner/repo`); other repositories answer 404.
    pub owner: String,
    pub repo: String,
    /// The current run (`GITHUB_RUN_ID`); its artifacts are the ones `add_artifact` stages.
    pub run_id: u64,
    /// The tokens the API accepts, each with its permissions; any other token is refused 401.
    pub tokens: Vec<(String, Permissions)>,
    /// Serve both origins over https under these names (`None`: plain http on 127.0.0.1).
    pub tls: Option<GithubTls>,
}

/// The names the two origins answer to over https, as `api.github.com` and its blob storage
/// do: one certificate names both, signed by a CA made at start ([`GithubServer::ca_pem`]).
/// A test routes the names to the loopback ports itself (through a proxy: nothing resolves
/// them).
#[derive(Clone, Debug)]
pub struct GithubTls {
    pub api_host: String,
    pub blob_host: String,
}

impl Default for GithubOptions {
    fn default() -> Self {
        GithubOptions {
            owner: "octo-org".into(),
            repo: "octo-repo".into(),
            run_id: 12_345_678_901,
            tokens: Vec::new(),
            tls: None,
        }
    }
}

/// Tokens are redacted: they stand for `GITHUB_TOKEN`, a secret.
impl fmt::Debug for GithubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens: Vec<String> = self
            .tokens
            .iter()
            .map(|(_, p)| format!("<redacted> {p:?}"))
            .collect();
        f.debug_struct("GithubOptions")
            .field("owner", &self.owner)
            .field("repo", &self.repo)
            .field("run_id", &self.run_id)
            .field("tokens", &tokens)
            .field("tls", &self.tls)
            .finish()
    }
}

/// One request as received, for tests. Headers are kept verbatim, token included on purpose:
/// the positive control of a secret scan needs to see it arrive.
#[derive(Clone, Debug)]
pub struct GithubRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Whether an `Authorization` header came with it (the blob origin refuses those).
    pub had_authorization: bool,
    /// [`ORIGIN_API`] or [`ORIGIN_BLOB`].
    pub origin: &'static str,
    pub status: u16,
    /// API: the matched `METHOD template`, or the contract violation. Blob: a fixed note.
    pub contract: Result<String, String>,
    pub body: String,
}

/// A running stand-in. Stops when dropped.
pub struct GithubServer {
    api_addr: SocketAddr,
    blob_addr: SocketAddr,
    ca_pem: Option<String>,
    inner: Arc<Inner>,
    _thread: ServerThread,
}

impl GithubServer {
    /// Starts both listeners on 127.0.0.1 (free ports), on a thread and runtime of their own.
    pub fn start(options: GithubOptions) -> std::io::Result<GithubServer> {
        let api = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let blob = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        api.set_nonblocking(true)?;
        blob.set_nonblocking(true)?;
        let api_addr = api.local_addr()?;
        let blob_addr = blob.local_addr()?;
        let (tls, ca_pem, api_url, blob_url) = match &options.tls {
            None => (
                None,
                None,
                format!("http://{api_addr}"),
                format!("http://{blob_addr}"),
            ),
            Some(names) => {
                // One certificate names both hosts.
                let sans = [
                    super::kube::San::Dns(names.api_host.clone()),
                    super::kube::San::Dns(names.blob_host.clone()),
                ];
                let (config, ca_pem) =
                    super::tls::https_config("github-dev", &names.api_host, &sans)?;
                (
                    Some(config),
                    Some(ca_pem),
                    format!("https://{}:{}", names.api_host, api_addr.port()),
                    format!("https://{}:{}", names.blob_host, blob_addr.port()),
                )
            }
        };
        let mut rng = rand::thread_rng();
        let now = now();
        let inner = Arc::new(Inner {
            owner: options.owner,
            repo: options.repo,
            run_id: options.run_id,
            api_url,
            blob_url,
            link_key: rng.gen(),
            id_seed: rng.gen(),
            head_sha: hex(&Sha256::digest(options.run_id.to_be_bytes())[..20]),
            rate_reset: now.unix_timestamp() + 3_600,
            state: Mutex::new(Store {
                tokens: options.tokens,
                check_runs: Vec::new(),
                comments: Vec::new(),
                artifacts: Vec::new(),
                links: HashMap::new(),
                faults: Vec::new(),
                log: Vec::new(),
                next_check_run: 30_000_000_001,
                next_comment: 3_000_000_001,
                next_artifact: 4_300_000_001,
                next_suite: 28_000_000_001,
                next_request: u64::from(rng.gen::<u32>()),
                used_by_token: 0,
                used_anonymously: 0,
            }),
        });
        let state = inner.clone();
        let thread = ServerThread::spawn("github-stand-in", move |shutdown| async move {
            let (Ok(api), Ok(blob)) = (
                tokio::net::TcpListener::from_std(api),
                tokio::net::TcpListener::from_std(blob),
            ) else {
                eprintln!("github stand-in: cannot adopt the listeners");
                return;
            };
            let api_app = Router::new().fallback(serve_api).with_state(state.clone());
            let blob_app = Router::new().fallback(serve_blob).with_state(state);
            tokio::join!(
                super::serve_on(api, api_app, tls.clone(), false, shutdown.clone()),
                super::serve_on(blob, blob_app, tls, false, shutdown),
            );
        })?;
        Ok(GithubServer {
            api_addr,
            blob_addr,
            ca_pem,
            inner,
            _thread: thread,
        })
    }

    /// `http://127.0.0.1:<port>` (or `https://<api_host>:<port>` with [`GithubTls`]): what
    /// `GITHUB_API_URL` would be.
    pub fn api_url(&self) -> String {
        self.inner.api_url.clone()
    }

    /// The blob origin the artifact downloads redirect to, as [`GithubServer::api_url`].
    pub fn blob_url(&self) -> String {
        self.inner.blob_url.clone()
    }

    /// The API origin's loopback address (a proxy's route for [`GithubTls::api_host`]).
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The blob origin's loopback address.
    pub fn blob_addr(&self) -> SocketAddr {
        self.blob_addr
    }

    /// The PEM of the CA that signs the https certificate, when serving https.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Stages an artifact of the current run and returns its id (increasing). `content_type`
    /// `application/zip` is a normal upload (a zip, downloaded as `<name>.zip`); anything else
    /// is a raw `archive: false` upload of the single file `name`, served with that type.
    pub fn add_artifact(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
        expired: bool,
    ) -> u64 {
        let mut state = self.inner.lock();
        let id = state.next_artifact;
        state.next_artifact += 1;
        let now = now();
        let (created, expires) = if expired {
            (
                now - Duration::days(ARTIFACT_RETENTION_DAYS + 1),
                now - Duration::days(1),
            )
        } else {
            (now, now + Duration::days(ARTIFACT_RETENTION_DAYS))
        };
        state.artifacts.push(StoredArtifact {
            id,
            name: name.to_string(),
            digest: format!("sha256:{}", hex(&Sha256::digest(&bytes))),
            bytes,
            content_type: content_type.to_string(),
            expired,
            created_at: created,
            expires_at: expires,
        });
        id
    }

    /// The check runs as stored, each exactly as the API renders it.
    pub fn check_runs(&self) -> Vec<Value> {
        self.inner.lock().check_runs.clone()
    }

    /// The comments on one issue or pull request, oldest first, as the API renders them.
    pub fn comments(&self, issue_number: u64) -> Vec<Value> {
        let state = self.inner.lock();
        state
            .comments
            .iter()
            .filter(|c| c.issue_number == issue_number)
            .map(|c| self.inner.comment_json(c))
            .collect()
    }

    /// Stages someone's comment and returns its id. `github-actions[bot]` stages one the
    /// tokens may edit (an earlier run's sticky comment); any other login is a person (or, with
    /// a `[bot]` suffix, another app) whose comments the tokens cannot edit.
    pub fn add_comment(&self, issue_number: u64, author_login: &str, body: &str) -> u64 {
        let mut state = self.inner.lock();
        let id = state.next_comment;
        state.next_comment += 1;
        let at = now();
        state.comments.push(StoredComment {
            id,
            issue_number,
            author: author_login.to_string(),
            body: body.to_string(),
            created_at: at,
            updated_at: at,
        });
        id
    }

    /// Every request both origins received, in order.
    pub fn requests(&self) -> Vec<GithubRequest> {
        self.inner.lock().log.clone()
    }

    /// Answers the next `times` requests whose method is `method` (`*`: any) and whose path
    /// starts with `path_prefix` (either origin) with `status` instead of serving them: GitHub's
    /// body for that status (403: primary rate limit exhausted; 429: secondary rate limit,
    /// `retry-after: 1`; 5xx: GitHub's server error pages), Azure's XML on the blob origin.
    /// [`FAULT_RESET`] (0) drops the connection without an answer.
    pub fn inject(&self, method: &str, path_prefix: &str, status: u16, times: u32) {
        self.inner.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.to_string(),
            status,
            left: times,
        });
    }

    /// Makes every download link issued so far stale, as a minute passing would.
    pub fn expire_download_links(&self) {
        let past = now() - Duration::seconds(1);
        for link in self.inner.lock().links.values_mut() {
            link.expires_at = past;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Store

struct Inner {
    owner: String,
    repo: String,
    run_id: u64,
    api_url: String,
    blob_url: String,
    /// Keys the signatures of download links.
    link_key: u128,
    /// Makes request ids differ between servers (never derived from `link_key`).
    id_seed: u64,
    /// The run's commit, for `workflow_run.head_sha` of its artifacts.
    head_sha: String,
    /// `x-ratelimit-reset`: one window, an hour after start (no test runs that long).
    rate_reset: i64,
    state: Mutex<Store>,
}

struct Store {
    tokens: Vec<(String, Permissions)>,
    check_runs: Vec<Value>,
    comments: Vec<StoredComment>,
    artifacts: Vec<StoredArtifact>,
    /// Issued download links by signature.
    links: HashMap<String, BlobLink>,
    faults: Vec<Fault>,
    log: Vec<GithubRequest>,
    next_check_run: u64,
    next_comment: u64,
    next_artifact: u64,
    next_suite: u64,
    next_request: u64,
    used_by_token: u32,
    used_anonymously: u32,
}

struct StoredComment {
    id: u64,
    issue_number: u64,
    author: String,
    body: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

struct StoredArtifact {
    id: u64,
    name: String,
    bytes: Vec<u8>,
    content_type: String,
    expired: bool,
    digest: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl StoredArtifact {
    fn is_zip(&self) -> bool {
        self.content_type.starts_with("application/zip")
            || self.content_type.starts_with("application/x-zip")
    }

    /// The download's file name: `<name>.zip` for zips, the uploaded file's name for raw ones.
    fn file_name(&self) -> String {
        if self.is_zip() {
            format!("{}.zip", self.name)
        } else {
            self.name.clone()
        }
    }
}

struct BlobLink {
    artifact_id: u64,
    path: String,
    start: OffsetDateTime,
    expires_at: OffsetDateTime,
}

struct Fault {
    method: String,
    path_prefix: String,
    status: u16,
    left: u32,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn repo_api(&self) -> String {
        format!("{}/repos/{}/{}", self.api_url, self.owner, self.repo)
    }

    fn repo_html(&self) -> String {
        format!("https://github.com/{}/{}", self.owner, self.repo)
    }

    /// A user as GitHub renders it (`simple-user`: every field octocrab's `Author` requires).
    fn user_json(&self, login: &str) -> Value {
        let (id, kind, avatar, html) = if login == ACTIONS_BOT_LOGIN {
            (
                ACTIONS_BOT_ID,
                "Bot",
                format!("https://avatars.githubusercontent.com/in/{ACTIONS_APP_ID}?v=4"),
                "https://github.com/apps/github-actions".to_string(),
            )
        } else {
            let id = user_id(login);
            let kind = if login.ends_with("[bot]") {
                "Bot"
            } else {
                "User"
            };
            (
                id,
                kind,
                format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
                format!("https://github.com/{login}"),
            )
        };
        // GitHub escapes the brackets of bot logins in its URLs (`github-actions%5Bbot%5D`).
        let escaped = login.replace('[', "%5B").replace(']', "%5D");
        let user = format!("{}/users/{escaped}", self.api_url);
        let node = if kind == "Bot" {
            node_id("03:Bot", id)
        } else {
            node_id("04:User", id)
        };
        json!({
            "login": login,
            "id": id,
            "node_id": node,
            "avatar_url": avatar,
            "gravatar_id": "",
            "url": user,
            "html_url": html,
            "followers_url": format!("{user}/followers"),
            "following_url": format!("{user}/following{{/other_user}}"),
            "gists_url": format!("{user}/gists{{/gist_id}}"),
            "starred_url": format!("{user}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{user}/subscriptions"),
            "organizations_url": format!("{user}/orgs"),
            "repos_url": format!("{user}/repos"),
            "events_url": format!("{user}/events{{/privacy}}"),
            "received_events_url": format!("{user}/received_events"),
            "type": kind,
            "user_view_type": "public",
            "site_admin": false,
        })
    }

    /// An issue comment as GitHub renders it (schema `issue-comment`).
    fn comment_json(&self, c: &StoredComment) -> Value {
        let repo = self.repo_api();
        let html = format!("{}/pull/{}", self.repo_html(), c.issue_number);
        json!({
            "id": c.id,
            "node_id": node_id("012:IssueComment", c.id),
            "url": format!("{repo}/issues/comments/{}", c.id),
            "html_url": format!("{html}#issuecomment-{}", c.id),
            "body": c.body,
            "user": self.user_json(&c.author),
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
            "issue_url": format!("{repo}/issues/{}", c.issue_number),
            "author_association": if c.author == ACTIONS_BOT_LOGIN { "NONE" } else { "MEMBER" },
            "performed_via_github_app": Value::Null,
            "reactions": {
                "url": format!("{repo}/issues/comments/{}/reactions", c.id),
                "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
            },
        })
    }

    /// An artifact as GitHub renders it (schema `artifact`).
    fn artifact_json(&self, a: &StoredArtifact) -> Value {
        let url = format!("{}/actions/artifacts/{}", self.repo_api(), a.id);
        json!({
            "id": a.id,
            "node_id": node_id("08:Artifact", a.id),
            "name": a.name,
            "size_in_bytes": a.bytes.len(),
            "url": url,
            "archive_download_url": format!("{url}/zip"),
            "expired": a.expired,
            "created_at": rfc3339(a.created_at),
            "updated_at": rfc3339(a.created_at),
            "expires_at": rfc3339(a.expires_at),
            "digest": a.digest,
            "workflow_run": {
                "id": self.run_id,
                "repository_id": REPOSITORY_ID,
                "head_repository_id": REPOSITORY_ID,
                "head_branch": "main",
                "head_sha": self.head_sha,
            },
        })
    }

    /// The GitHub Actions app, as a check run's `app` shows it.
    fn actions_app_json(&self) -> Value {
        json!({
            "id": ACTIONS_APP_ID,
            "slug": "github-actions",
            "node_id": node_id("03:App", ACTIONS_APP_ID),
            "owner": {
                "login": "github",
                "id": 9_919,
                "node_id": node_id("12:Organization", 9_919),
                "url": format!("{}/users/github", self.api_url),
                "html_url": "https://github.com/github",
                "type": "Organization",
                "site_admin": false,
            },
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": "https://github.com/apps/github-actions",
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2024-04-10T20:33:16Z",
            "permissions": {"actions": "write", "checks": "write", "issues": "write",
                            "metadata": "read", "pull_requests": "write"},
            "events": ["check_run", "check_suite", "pull_request", "push", "workflow_run"],
        })
    }
}

/// The modelled repository's id (in artifacts' `workflow_run`).
const REPOSITORY_ID: u64 = 812_345_678;

/// A stable id for a staged login, distinct from the bot's.
fn user_id(login: &str) -> u64 {
    let digest = Sha256::digest(login.as_bytes());
    let mut n = [0u8; 4];
    n.copy_from_slice(&digest[..4]);
    1_000_000 + u64::from(u32::from_be_bytes(n)) % 100_000_000
}

/// GitHub's legacy global node id: base64 of `<len>:<Type><id>`, e.g. `MDg6Q2hlY2tSdW40` for
/// `08:CheckRun4` (the spec's examples use this form).
fn node_id(prefix: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{id}"))
}

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    // GitHub's timestamps have whole seconds; 0 ns is always in range.
    t.replace_nanosecond(0).unwrap_or(t)
}

fn rfc3339(t: OffsetDateTime) -> String {
    // RFC 3339 formatting fails only for years outside 0..=9999, which `now()` never gives.
    t.format(&Rfc3339).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The contract table and its check

#[derive(Deserialize)]
struct Table {
    source: String,
    spec_version: String,
    paths: BTreeMap<String, PathEntry>,
}

#[derive(Deserialize)]
struct PathEntry {
    spec_methods: Vec<String>,
    ops: BTreeMap<String, Operation>,
}

#[derive(Deserialize)]
struct Operation {
    operation_id: String,
    docs: String,
    path_params: BTreeMap<String, String>,
    query: Vec<String>,
    body: Option<Shape>,
}

/// An object schema: see `tools/derive-github-table.py`.
#[derive(Deserialize, Default)]
struct Shape {
    properties: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    enums: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    max_length: BTreeMap<String, usize>,
    #[serde(default)]
    max_items: BTreeMap<String, usize>,
    #[serde(default)]
    objects: BTreeMap<String, Shape>,
    #[serde(default)]
    items: BTreeMap<String, Shape>,
    #[serde(default)]
    open: bool,
}

/// The version of GitHub's REST description the contract table was derived from.
pub fn contract_spec_version() -> &'static str {
    &table().spec_version
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The table is generated and compiled in; `table_parses` and
        // `committed_table_matches_the_spec` fail before a bad one ships.
        serde_json::from_str(TABLE_JSON).expect("github_table.json parses")
    })
}

/// A request bound to an operation of the table.
struct Matched {
    template: &'static str,
    method: String,
    op: &'static Operation,
    params: BTreeMap<String, String>,
    query: Vec<(String, String)>,
}

impl Matched {
    fn describe(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.template)
    }

    fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// An integer path parameter; the contract check has proved it is one.
    fn id(&self, name: &str) -> u64 {
        self.param(name).parse().unwrap_or_default()
    }
}

/// Binds a request to the table, or names what breaks GitHub's contract. Looks at names and
/// shapes only; values are the handlers' business (GitHub answers those with 422s).
fn check_contract(
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<Matched, String> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let mut best: Option<(&'static str, &'static PathEntry, Vec<bool>)> = None;
    for (template, entry) in &table().paths {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = Vec::with_capacity(parts.len());
        let fits = parts.iter().zip(&segments).all(|(part, seg)| {
            let is_param = part.starts_with('{');
            literal.push(!is_param);
            if is_param {
                !seg.is_empty()
            } else {
                part == seg
            }
        });
        // Several templates may fit (`issues/comments/{comment_id}` and
        // `issues/{issue_number}/comments` both fit `issues/comments/comments`): a literal
        // segment beats a parameter, comparing from the left, as GitHub's router does.
        if fits && best.as_ref().is_none_or(|(_, _, b)| literal > *b) {
            best = Some((template.as_str(), entry, literal));
        }
    }
    let upper = method.to_ascii_uppercase();
    let Some((template, entry, _)) = best else {
        return Err(format!(
            "`{upper} {path}` matches no path of GitHub's REST API that this project uses \
             (the table has {})",
            table()
                .paths
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let lower = method.to_ascii_lowercase();
    let Some(op) = entry.ops.get(&lower) else {
        let list = |m: &mut dyn Iterator<Item = &String>| {
            m.map(|m| m.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(if entry.spec_methods.contains(&lower) {
            format!(
                "`{upper} {template}` is in GitHub's REST API but not an operation this project \
                 uses (the table has {} on it)",
                list(&mut entry.ops.keys())
            )
        } else {
            format!(
                "GitHub's REST API has no `{upper}` on `{template}` (it has {})",
                list(&mut entry.spec_methods.iter())
            )
        });
    };
    let described = format!("{upper} {template}");
    let mut params = BTreeMap::new();
    for (part, seg) in template.trim_start_matches('/').split('/').zip(&segments) {
        let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
            continue;
        };
        if op.path_params.get(name).map(String::as_str) == Some("integer")
            && seg.parse::<u64>().is_err()
        {
            return Err(format!(
                "path parameter `{name}` of `{described}` is `{seg}`; the spec says integer"
            ));
        }
        params.insert(name.to_string(), percent_decode(seg));
    }
    for (name, _) in query {
        if !op.query.contains(name) {
            return Err(format!(
                "query parameter `{name}` is not declared by `{described}` (it declares: {})",
                if op.query.is_empty() {
                    "none".to_string()
                } else {
                    op.query.join(", ")
                }
            ));
        }
    }
    match (&op.body, body) {
        (None, None) => {}
        (None, Some(_)) => return Err(format!("`{described}` takes no request body")),
        (Some(_), None) => return Err(format!("`{described}` requires a JSON request body")),
        (Some(shape), Some(value)) => check_shape(value, shape, "", &described)?,
    }
    Ok(Matched {
        template,
        method: lower,
        op,
        params,
        query: query.to_vec(),
    })
}

/// Every field name of `value` must be a property of `shape`, recursively through the
/// schema's objects and array items.
fn check_shape(value: &Value, shape: &Shape, at: &str, described: &str) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err(if at.is_empty() {
            format!("the request body of `{described}` must be a JSON object")
        } else {
            format!(
                "body field `{}` of `{described}` must be an object",
                at.trim_end_matches('.')
            )
        });
    };
    for (key, field) in object {
        if !shape.open && !shape.properties.contains(key) {
            return Err(format!(
                "body field `{at}{key}` is not in the spec's schema of `{described}` \
                 (known here: {})",
                shape.properties.join(", ")
            ));
        }
        if let (Some(inner), Value::Object(_)) = (shape.objects.get(key), field) {
            check_shape(field, inner, &format!("{at}{key}."), described)?;
        }
        if let (Some(inner), Value::Array(elements)) = (shape.items.get(key), field) {
            for (i, element) in elements.iter().enumerate() {
                check_shape(element, inner, &format!("{at}{key}[{i}]."), described)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Answers

enum Payload {
    Empty,
    Json(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

struct Reply {
    status: u16,
    payload: Payload,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            payload: Payload::Json(body),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (mut response, content_type) = match self.payload {
            Payload::Empty => (code.into_response(), None),
            Payload::Json(v) => (
                (code, v.to_string()).into_response(),
                Some("application/json; charset=utf-8".to_string()),
            ),
            Payload::Raw {
                content_type,
                bytes,
            } => ((code, bytes).into_response(), Some(content_type)),
        };
        let headers = response.headers_mut();
        if let Some(ct) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
            headers.insert("content-type", ct);
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), v);
            }
        }
        response
    }
}

/// GitHub's error body: `{"message", "documentation_url", "status"}` (the `status` string has
/// been in every error body since 2024, e.g. `{"message": "Bad credentials", "documentation_url":
/// "https://docs.github.com/rest", "status": "401"}` in anmol098/waka-readme-stats#506).
fn error(status: u16, message: &str, docs: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "documentation_url": docs, "status": status.to_string()}),
    )
}

fn not_found(docs: &str) -> Reply {
    error(404, "Not Found", docs)
}

/// A schema violation of the request's values: `Invalid request.\n\n<detail>` (observed:
/// `"head_sha" wasn't supplied.` in github-community-projects/safe-settings#1015,
/// `"annotation_level", "path" weren't supplied.` in humanmade/linter-bot#71, and `For
/// 'links/0/schema', nil is not an object.` in jekyll/Utterson#29).
fn invalid_request(docs: &str, detail: &str) -> Reply {
    error(422, &format!("Invalid request.\n\n{detail}"), docs)
}

/// A model validation failure: `Validation Failed` with GitHub's `errors` entries.
fn validation_failed(docs: &str, errors: Value) -> Reply {
    Reply::json(
        422,
        json!({"message": "Validation Failed", "errors": errors, "documentation_url": docs,
               "status": "422"}),
    )
}

/// `"a" wasn't supplied.` / `"a", "b" weren't supplied.` for the required fields missing.
fn missing_fields(object: &serde_json::Map<String, Value>, required: &[String]) -> Option<String> {
    let missing: Vec<String> = required
        .iter()
        .filter(|f| object.get(f.as_str()).is_none_or(Value::is_null))
        .map(|f| format!("\"{f}\""))
        .collect();
    match missing.len() {
        0 => None,
        1 => Some(format!("{} wasn't supplied.", missing[0])),
        _ => Some(format!("{} weren't supplied.", missing.join(", "))),
    }
}

/// Type and enum checks of string fields, in GitHub's JSON-schema wording.
fn check_strings(
    object: &serde_json::Map<String, Value>,
    fields: &[&str],
    shape: &Shape,
    at: &str,
) -> Option<String> {
    for field in fields {
        let Some(value) = object.get(*field).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(text) = value.as_str() else {
            return Some(format!(
                "For '{at}properties/{field}', {value} is not a string."
            ));
        };
        if let Some(allowed) = shape.enums.get(*field) {
            if !allowed.iter().any(|a| a == text) {
                let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
                return Some(format!(
                    "For '{at}properties/{field}', \"{text}\" is not one of [{}].",
                    list.join(", ")
                ));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// HTTP odds and ends

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use octocrab::models::{ArtifactId, RunId};
    use octocrab::params::actions::ArchiveFormat;
    use octocrab::params::checks::{CheckRunConclusion, CheckRunStatus};

    const TOKEN: &str = "ghs_standInTokenWithEverything0123456789";
    const CHECKS_ONLY: &str = "ghs_standInTokenChecksOnly0123456789ab";
    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn server() -> GithubServer {
        GithubServer::start(GithubOptions {
            tokens: vec![
                (TOKEN.to_string(), Permissions::ALL),
                (
                    CHECKS_ONLY.to_string(),
                    Permissions {
                        checks_write: true,
                        ..Permissions::NONE
                    },
                ),
            ],
            ..GithubOptions::default()
        })
        .unwrap()
    }

    fn client() -> reqwest::Client {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    fn octocrab(server: &GithubServer, token: &str) -> octocrab::Octocrab {
        octocrab::Octocrab::builder()
            .base_uri(server.api_url())
            .unwrap()
            .personal_token(token.to_string())
            .build()
            .unwrap()
    }

    fn repo_url(server: &GithubServer) -> String {
        format!("{}/repos/octo-org/octo-repo", server.api_url())
    }

    /// Sends a request; returns status, headers and the body as JSON (or as a string).
    async fn send(
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request =
            client().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, json)
    }

    fn github_error(message: &str, docs: &str, status: u16) -> Value {
        json!({"message": message, "documentation_url": docs, "status": status.to_string()})
    }

    fn github_message(error: octocrab::Error) -> (u16, String) {
        match error {
            octocrab::Error::GitHub { source, .. } => {
                (source.status_code.as_u16(), source.message.clone())
            }
            other => panic!("not a GitHub error: {other:?}"),
        }
    }

    // --- the table and the contract check -------------------------------------------------

    #[test]
    fn table_has_a_handler_for_every_op() {
        let handled = [
            "checks/create",
            "checks/update",
            "issues/list-comments",
            "issues/create-comment",
            "issues/update-comment",
            "actions/list-workflow-run-artifacts",
            "actions/download-artifact",
        ];
        for entry in table().paths.values() {
            for op in entry.ops.values() {
                assert!(
                    handled.contains(&op.operation_id.as_str()),
                    "{}",
                    op.operation_id
                );
            }
        }
    }

    #[test]
    fn table_parses() {
        let t = table();
        assert_eq!(t.spec_version, "23.0.2");
        assert_eq!(contract_spec_version(), "23.0.2");
        assert!(
            t.source.starts_with("@octokit/openapi@23.0.2 "),
            "{}",
            t.source
        );
        assert_eq!(t.paths.len(), 6);
        assert_eq!(t.paths.values().map(|p| p.ops.len()).sum::<usize>(), 7);
    }

    fn check(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<String, String> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check_contract(method, path, &query, body.as_ref()).map(|m| m.describe())
    }

    #[test]
    fn the_project_requests_match_their_operations() {
        let body = json!({"name": "vault", "head_sha": SHA, "status": "completed",
            "conclusion": "success", "output": {"title": "t", "summary": "s", "text": "x",
            "annotations": [{"path": "a", "start_line": 1, "end_line": 1,
                             "annotation_level": "warning", "message": "m"}]}});
        assert_eq!(
            check("POST", "/repos/o/r/check-runs", &[], Some(body.clone())),
            Ok("POST /repos/{owner}/{repo}/check-runs".into())
        );
        assert_eq!(
            check("PATCH", "/repos/o/r/check-runs/5", &[], Some(body)),
            Err(
                "body field `head_sha` is not in the spec's schema of `PATCH \
                 /repos/{owner}/{repo}/check-runs/{check_run_id}` (known here: actions, \
                 completed_at, conclusion, details_url, external_id, name, output, started_at, \
                 status)"
                    .into()
            )
        );
        assert_eq!(
            check(
                "GET",
                "/repos/o/r/issues/7/comments",
                &[("per_page", "100"), ("page", "2")],
                None
            ),
            Ok("GET /repos/{owner}/{repo}/issues/{issue_number}/comments".into())
        );
        assert_eq!(
            check(
                "PATCH",
                "/repos/o/r/issues/comments/9",
                &[],
                Some(json!({"body": "b"}))
            ),
            Ok("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}".into())
        );
        assert_eq!(
            check(
                "GET",
                "/repos/o/r/actions/runs/1/artifacts",
                &[("name", "ca")],
                None
            ),
            Ok("GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts".into())
        );
        assert_eq!(
            check("GET", "/repos/o/r/actions/artifacts/3/zip", &[], None),
            Ok("GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}".into())
        );
    }

    #[test]
    fn an_unknown_body_field_breaks_the_contract() {
        let top = check(
            "POST",
            "/repos/o/r/check-runs",
            &[],
            Some(json!({"name": "n", "head_sha": SHA, "summary": "s"})),
        );
        assert!(top
            .unwrap_err()
            .starts_with("body field `summary` is not in the spec's schema"));
        let nested = check(
            "POST",
            "/repos/o/r/check-runs",
            &[],
            Some(json!({"name": "n", "head_sha": SHA, "output": {"titel": "t", "summary": "s"}})),
        );
        assert!(nested
            .unwrap_err()
            .starts_with("body field `output.titel` is not"));
        let item = check(
            "PATCH",
            "/repos/o/r/check-runs/1",
            &[],
            Some(json!({"output": {"summary": "s", "annotations": [{"line": 1}]}})),
        );
        assert!(item
            .unwrap_err()
            .starts_with("body field `output.annotations[0].line` is not"));
        let comment = check(
            "POST",
            "/repos/o/r/issues/1/comments",
            &[],
            Some(json!({"text": "x"})),
        );
        assert!(comment.unwrap_err().starts_with("body field `text` is not"));
    }

    #[test]
    fn an_unknown_path_breaks_the_contract() {
        for path in [
            "/repos/o/r/check-runs/1/annotations",
            "/repos/o/r/pulls/1/comments",
            "/repos/o/r/issues/1/comments/",
            "/api/v3/repos/o/r/check-runs",
        ] {
            let violation = check("GET", path, &[], None).unwrap_err();
            assert!(
                violation.starts_with(&format!(
                    "`GET {path}` matches no path of GitHub's REST API"
                )),
                "{violation}"
            );
        }
    }

    #[test]
    fn post_on_the_comment_update_path_breaks_the_contract() {
        // What octocrab 0.54's `update_comment` sends.
        assert_eq!(
            check(
                "POST",
                "/repos/o/r/issues/comments/9",
                &[],
                Some(json!({"body": "b"}))
            ),
            Err("GitHub's REST API has no `POST` on \
                 `/repos/{owner}/{repo}/issues/comments/{comment_id}` (it has DELETE, GET, PATCH)"
                .into())
        );
        assert_eq!(
            check("GET", "/repos/o/r/issues/comments/9", &[], None),
            Err(
                "`GET /repos/{owner}/{repo}/issues/comments/{comment_id}` is in GitHub's REST \
                 API but not an operation this project uses (the table has PATCH on it)"
                    .into()
            )
        );
    }

    #[test]
    fn names_params_and_bodies_are_checked() {
        assert_eq!(
            check(
                "GET",
                "/repos/o/r/issues/7/comments",
                &[("sort", "created")],
                None
            ),
            Err("query parameter `sort` is not declared by `GET \
                 /repos/{owner}/{repo}/issues/{issue_number}/comments` (it declares: page, \
                 per_page, since)"
                .into())
        );
        assert_eq!(
            check("PATCH", "/repos/o/r/check-runs/abc", &[], Some(json!({}))),
            Err("path parameter `check_run_id` of `PATCH \
                 /repos/{owner}/{repo}/check-runs/{check_run_id}` is `abc`; the spec says integer"
                .into())
        );
        assert!(check(
            "GET",
            "/repos/o/r/actions/artifacts/1/zip",
            &[],
            Some(json!({}))
        )
        .unwrap_err()
        .ends_with("takes no request body"));
        assert!(check("POST", "/repos/o/r/issues/1/comments", &[], None)
            .unwrap_err()
            .ends_with("requires a JSON request body"));
        assert!(check(
            "POST",
            "/repos/o/r/issues/1/comments",
            &[],
            Some(json!(["b"]))
        )
        .unwrap_err()
        .ends_with("must be a JSON object"));
        // `issues/comments/{id}` beats `issues/{number}/comments` on a literal `comments`.
        assert_eq!(
            check(
                "PATCH",
                "/repos/o/r/issues/comments/comments",
                &[],
                Some(json!({"body": "b"}))
            ),
            Err("path parameter `comment_id` of `PATCH \
                 /repos/{owner}/{repo}/issues/comments/{comment_id}` is `comments`; the spec \
                 says integer"
                .into())
        );
    }

    /// Runs `tools/derive-github-table.py --check` (it fetches the pinned npm package). When
    /// the package cannot be fetched (or python3 cannot run) it skips with a note, except under
    /// `CI=true`, where that fails.
    #[test]
    fn committed_table_matches_the_spec() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let output = std::process::Command::new("python3")
            .arg(root.join("tools/derive-github-table.py"))
            .arg("--check")
            .output();
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                assert!(!ci, "CI=true but python3 cannot run: {e}");
                eprintln!("note: skipping the GitHub table check, python3 cannot run: {e}");
                return;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() == Some(2) {
            assert!(
                !ci,
                "CI=true but the pinned spec cannot be fetched:\n{stderr}"
            );
            eprintln!("note: skipping the GitHub table check: {stderr}");
            return;
        }
        assert!(
            output.status.success(),
            "the committed table is stale ({}):\n{stderr}",
            output.status
        );
    }

    // --- authentication, permissions, common headers ---------------------------------------

    #[tokio::test]
    async fn unknown_and_missing_tokens_are_refused() {
        let gh = server();
        let url = format!("{}/check-runs", repo_url(&gh));
        let body = json!({"name": "n", "head_sha": SHA});
        let (status, headers, json) =
            send("POST", &url, Some("ghs_nope"), Some(body.clone())).await;
        assert_eq!(status, 401);
        assert_eq!(json, github_error("Bad credentials", REST_DOCS, 401));
        assert_eq!(headers["x-ratelimit-limit"], "60");
        let (status, _, json) = send("POST", &url, None, Some(body)).await;
        assert_eq!(status, 401);
        assert_eq!(json["message"], "Requires authentication");
        // A reader without a token cannot see a private repository at all.
        let (status, _, json) = send(
            "GET",
            &format!("{}/issues/1/comments", repo_url(&gh)),
            None,
            None,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(json["message"], "Not Found");
        // `token <t>` works as well as `Bearer <t>`.
        let response = client()
            .get(format!("{}/issues/1/comments", repo_url(&gh)))
            .header("authorization", format!("token {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let log = gh.requests();
        assert_eq!(log.len(), 4);
        assert!(log[0].had_authorization && !log[1].had_authorization);
        assert!(log.iter().all(|r| r.origin == ORIGIN_API));
    }

    #[tokio::test]
    async fn a_token_without_the_scope_gets_resource_not_accessible() {
        let gh = server();
        let (status, headers, json) = send(
            "POST",
            &format!("{}/issues/3/comments", repo_url(&gh)),
            Some(CHECKS_ONLY),
            Some(json!({"body": "hi"})),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(
            json,
            github_error(
                "Resource not accessible by integration",
                "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                403
            )
        );
        assert_eq!(
            headers["x-accepted-github-permissions"],
            "issues=write; pull_requests=write"
        );
        let (status, _, json) = send(
            "GET",
            &format!("{}/actions/runs/12345678901/artifacts", repo_url(&gh)),
            Some(CHECKS_ONLY),
            None,
        )
        .await;
        assert_eq!(
            (status, json["message"].as_str()),
            (403, Some("Resource not accessible by integration"))
        );
        assert!(gh.comments(3).is_empty());
    }

    #[tokio::test]
    async fn every_api_answer_carries_the_rate_limit_headers() {
        let gh = server();
        let mut seen = Vec::new();
        for (method, path) in [
            ("GET", "/issues/1/comments"),
            ("GET", "/nope"),
            ("GET", "/actions/artifacts/1/zip"),
        ] {
            let (status, headers, _) = send(
                method,
                &format!("{}{path}", repo_url(&gh)),
                Some(TOKEN),
                None,
            )
            .await;
            for name in ["limit", "remaining", "reset", "used", "resource"] {
                assert!(
                    headers.contains_key(format!("x-ratelimit-{name}").as_str()),
                    "{path}"
                );
            }
            assert_eq!(headers["x-ratelimit-resource"], "core");
            seen.push((
                status,
                headers["x-ratelimit-used"].to_str().unwrap().to_string(),
            ));
        }
        assert_eq!(
            seen,
            [
                (200, "1".to_string()),
                (400, "2".to_string()),
                (404, "3".to_string())
            ]
        );
    }

    #[tokio::test]
    async fn another_repository_is_not_found() {
        let gh = server();
        let (status, _, json) = send(
            "GET",
            &format!("{}/repos/someone/else/issues/1/comments", gh.api_url()),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            json,
            github_error(
                "Not Found",
                "https://docs.github.com/rest/issues/comments#list-issue-comments",
                404
            )
        );
        // Owner and repository names are not case sensitive.
        let (status, _, _) = send(
            "GET",
            &format!(
                "{}/repos/Octo-Org/OCTO-repo/issues/1/comments",
                gh.api_url()
            ),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }

    // --- the contract over HTTP ---------------------------------------------------------------

    #[tokio::test]
    async fn contract_violations_answer_400_and_are_recorded() {
        let gh = server();
        let (status, _, json) = send(
            "POST",
            &format!("{}/check-runs", repo_url(&gh)),
            Some(TOKEN),
            Some(json!({"name": "n", "head_sha": SHA, "colour": "red"})),
        )
        .await;
        assert_eq!(status, 400);
        let message = json["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "github stand-in: request breaks GitHub's REST contract (@octokit/openapi@23.0.2"
            ),
            "{message}"
        );
        assert!(message.contains("body field `colour`"), "{message}");
        let (status, _, _) = send(
            "GET",
            &format!("{}/hooks", repo_url(&gh)),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 400);
        let response = client()
            .post(format!("{}/check-runs", repo_url(&gh)))
            .bearer_auth(TOKEN)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["message"], "Problems parsing JSON");
        let log = gh.requests();
        assert_eq!(log.len(), 3);
        assert!(log.iter().all(|r| r.status == 400 && r.contract.is_err()));
        assert!(log[0].body.contains("colour"));
        assert!(gh.check_runs().is_empty());
    }

    // --- check runs -------------------------------------------------------------------------

    #[tokio::test]
    async fn octocrab_creates_and_updates_a_check_run() {
        let gh = server();
        let crab = octocrab(&gh, TOKEN);
        let created = crab
            .checks("octo-org", "octo-repo")
            .create_check_run("vault-k8s-handshake", SHA)
            .status(CheckRunStatus::InProgress)
            .send()
            .await
            .unwrap();
        assert_eq!(created.name, "vault-k8s-handshake");
        assert_eq!(created.head_sha, SHA);
        assert!(created.id.0 > u64::from(u32::MAX));
        assert_eq!(created.output.annotations_count, 0);
        assert!(created.conclusion.is_none() && created.completed_at.is_none());
        // octocrab 0.54's `update_check_run` serializes its `check_run_id` into the PATCH body,
        // a field the spec does not have: the project must send the update itself.
        let refused = crab
            .checks("octo-org", "octo-repo")
            .update_check_run(created.id)
            .conclusion(CheckRunConclusion::Success)
            .send()
            .await
            .unwrap_err();
        let (status, message) = github_message(refused);
        assert_eq!(status, 400);
        assert!(
            message.contains("body field `check_run_id` is not in the spec's schema"),
            "{message}"
        );
        let route = format!("/repos/octo-org/octo-repo/check-runs/{}", created.id);
        let body = json!({"conclusion": "success", "output": {"title": "Vault accepts the cluster",
                          "summary": "## Verified", "text": "details"}});
        let updated: octocrab::models::checks::CheckRun =
            crab.patch(&route, Some(&body)).await.unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.conclusion.as_deref(), Some("success"));
        assert!(updated.completed_at.is_some());
        assert_eq!(updated.output.summary.as_deref(), Some("## Verified"));
        let stored = gh.check_runs();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["status"], "completed");
        assert_eq!(stored[0]["output"]["title"], "Vault accepts the cluster");
        assert_eq!(stored[0]["app"]["slug"], "github-actions");
        let log = gh.requests();
        assert_eq!(
            log[0].contract,
            Ok("POST /repos/{owner}/{repo}/check-runs".into())
        );
        assert_eq!(log[0].status, 201);
        assert!(log[1].contract.is_err() && log[1].status == 400);
        assert_eq!(
            log[2].contract,
            Ok("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}".into())
        );
        let missing = crab
            .patch::<octocrab::models::checks::CheckRun, _, _>(
                "/repos/octo-org/octo-repo/check-runs/1",
                Some(&json!({"name": "x"})),
            )
            .await
            .unwrap_err();
        assert_eq!(github_message(missing), (404, "Not Found".into()));
    }

    #[tokio::test]
    async fn check_run_values_are_validated_as_github_does() {
        let gh = server();
        let url = format!("{}/check-runs", repo_url(&gh));
        let docs = "https://docs.github.com/rest/checks/runs#create-a-check-run";
        let cases = [
            (
                json!({"name": "n"}),
                "Invalid request.\n\n\"head_sha\" wasn't supplied.",
            ),
            (
                json!({}),
                "Invalid request.\n\n\"head_sha\", \"name\" weren't supplied.",
            ),
            (
                json!({"name": "n", "head_sha": SHA, "status": "done"}),
                "Invalid request.\n\nFor 'properties/status', \"done\" is not one of \
                 [\"queued\", \"in_progress\", \"completed\"].",
            ),
            (
                json!({"name": "n", "head_sha": SHA, "status": "completed"}),
                "Invalid request.\n\n\"conclusion\" wasn't supplied.",
            ),
            (
                json!({"name": "n", "head_sha": SHA, "output": {"summary": "s"}}),
                "Invalid request.\n\n\"title\" wasn't supplied.",
            ),
            (
                json!({"name": "n", "head_sha": "main"}),
                "No commit found for SHA: main",
            ),
        ];
        for (body, message) in cases {
            let (status, _, json) = send("POST", &url, Some(TOKEN), Some(body.clone())).await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(json, github_error(message, docs, 422), "{body}");
        }
        let long = "é".repeat(40_000); // 40,000 characters, 80,000 bytes
        let (status, _, json) = send(
            "POST",
            &url,
            Some(TOKEN),
            Some(json!({"name": "n", "head_sha": SHA, "output": {"title": "t", "summary": long}})),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(
            json,
            json!({"message": "Validation Failed", "errors": [{"resource": "CheckRun",
                   "code": "custom", "field": "summary",
                   "message": "summary exceeds a maximum bytesize of 65535"}],
                   "documentation_url": docs, "status": "422"})
        );
        assert!(gh.check_runs().is_empty());
    }

    // --- comments ---------------------------------------------------------------------------

    #[tokio::test]
    async fn octocrab_creates_lists_and_pages_comments() {
        let gh = server();
        let crab = octocrab(&gh, TOKEN);
        gh.add_comment(42, "octocat", "LGTM");
        gh.add_comment(42, "renovate[bot]", "deps");
        let mine = crab
            .issues("octo-org", "octo-repo")
            .create_comment(42, "<!-- vault-k8s-handshake -->\nverified")
            .await
            .unwrap();
        assert_eq!(mine.user.login, ACTIONS_BOT_LOGIN);
        assert_eq!(mine.user.id.0, 41_898_282);
        assert_eq!(mine.user.r#type, "Bot");
        assert!(mine.id.0 > i32::MAX as u64);
        for i in 0..2 {
            gh.add_comment(42, "octocat", &format!("more {i}"));
        }
        gh.add_comment(7, "octocat", "another PR");
        let first = crab
            .issues("octo-org", "octo-repo")
            .list_comments(42)
            .per_page(2u8)
            .send()
            .await
            .unwrap();
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.items[0].body.as_deref(), Some("LGTM"));
        assert_eq!(first.items[1].user.r#type, "Bot");
        assert!(first.next.is_some() && first.prev.is_none());
        let all = crab.all_pages(first).await.unwrap();
        let bodies: Vec<_> = all.iter().map(|c| c.body.clone().unwrap()).collect();
        assert_eq!(
            bodies,
            [
                "LGTM",
                "deps",
                "<!-- vault-k8s-handshake -->\nverified",
                "more 0",
                "more 1"
            ]
        );
        // The pages after the first were fetched from the Link header, with the token.
        let log = gh.requests();
        let pages: Vec<_> = log.iter().filter(|r| r.method == "GET").collect();
        assert_eq!(pages.len(), 3);
        assert!(pages.iter().all(|r| r.had_authorization && r.status == 200));
        assert!(pages[2]
            .query
            .contains(&("page".to_string(), "3".to_string())));
    }

    #[tokio::test]
    async fn the_link_header_follows_github_pagination() {
        let gh = server();
        for i in 0..5 {
            gh.add_comment(1, "octocat", &format!("c{i}"));
        }
        let base = format!("{}/issues/1/comments", repo_url(&gh));
        let (_, headers, json) = send(
            "GET",
            &format!("{base}?per_page=2&page=2"),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(json.as_array().unwrap().len(), 2);
        assert_eq!(json[0]["body"], "c2");
        assert_eq!(
            headers["link"],
            format!(
                "<{base}?per_page=2&page=1>; rel=\"prev\", <{base}?per_page=2&page=3>; \
                 rel=\"next\", <{base}?per_page=2&page=3>; rel=\"last\", \
                 <{base}?per_page=2&page=1>; rel=\"first\""
            )
            .as_str()
        );
        let (_, headers, json) = send("GET", &base, Some(TOKEN), None).await;
        assert_eq!(json.as_array().unwrap().len(), 5);
        assert!(!headers.contains_key("link"));
        let (_, _, json) = send("GET", &format!("{base}?per_page=500"), Some(TOKEN), None).await;
        assert_eq!(json.as_array().unwrap().len(), 5);
        let (_, _, json) = send(
            "GET",
            &format!("{base}?per_page=2&page=9"),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(json, json!([]));
    }

    #[tokio::test]
    async fn comments_are_edited_by_patch_and_only_the_apps_own() {
        let gh = server();
        let crab = octocrab(&gh, TOKEN);
        let earlier = gh.add_comment(9, ACTIONS_BOT_LOGIN, "old sticky");
        let theirs = gh.add_comment(9, "octocat", "mine");
        // octocrab's `update_comment` sends POST, which GitHub's contract does not have.
        let refused = crab
            .issues("octo-org", "octo-repo")
            .update_comment(octocrab::models::CommentId(earlier), "new")
            .await
            .unwrap_err();
        let (status, message) = github_message(refused);
        assert_eq!(status, 400);
        assert!(message.contains("has no `POST` on"), "{message}");
        // PATCH, as the spec says.
        let route = format!("/repos/octo-org/octo-repo/issues/comments/{earlier}");
        let edited: octocrab::models::issues::Comment = crab
            .patch(&route, Some(&json!({"body": "new sticky"})))
            .await
            .unwrap();
        assert_eq!(edited.body.as_deref(), Some("new sticky"));
        assert_eq!(gh.comments(9)[0]["body"], "new sticky");
        let route = format!("/repos/octo-org/octo-repo/issues/comments/{theirs}");
        let refused = crab
            .patch::<octocrab::models::issues::Comment, _, _>(&route, Some(&json!({"body": "x"})))
            .await
            .unwrap_err();
        assert_eq!(
            github_message(refused),
            (403, "Resource not accessible by integration".into())
        );
        assert_eq!(gh.comments(9)[1]["body"], "mine");
        let log = gh.requests();
        assert_eq!(log[0].method, "POST");
        assert!(log[0]
            .contract
            .as_ref()
            .unwrap_err()
            .contains("has no `POST`"));
        assert_eq!(
            log[1].contract,
            Ok("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}".into())
        );
    }

    #[tokio::test]
    async fn too_long_comment_bodies_get_githubs_422s() {
        let gh = server();
        let url = format!("{}/issues/5/comments", repo_url(&gh));
        let exact = "x".repeat(65_536);
        let (status, _, _) = send("POST", &url, Some(TOKEN), Some(json!({"body": exact}))).await;
        assert_eq!(status, 201);
        let long = "x".repeat(65_537);
        let (status, _, json) = send("POST", &url, Some(TOKEN), Some(json!({"body": long}))).await;
        assert_eq!(status, 422);
        assert_eq!(
            json,
            json!({"message": "Validation Failed", "errors": [{"resource": "IssueComment",
                   "code": "unprocessable", "field": "data",
                   "message": "Body is too long (maximum is 65536 characters)"}],
                   "documentation_url":
                       "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                   "status": "422"})
        );
        let id = gh.comments(5)[0]["id"].as_u64().unwrap();
        let (status, _, json) = send(
            "PATCH",
            &format!("{}/issues/comments/{id}", repo_url(&gh)),
            Some(TOKEN),
            Some(json!({"body": long})),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(
            json["errors"][0]["message"],
            "body is too long (maximum is 65536 characters)"
        );
        assert_eq!(json["errors"][0]["field"], "body");
        let (status, _, json) = send("POST", &url, Some(TOKEN), Some(json!({"body": null}))).await;
        assert_eq!(
            (status, json["message"].as_str()),
            (422, Some("Invalid request.\n\n\"body\" wasn't supplied."))
        );
    }

    // --- artifacts --------------------------------------------------------------------------

    #[tokio::test]
    async fn octocrab_lists_artifacts_and_the_name_filter_works() {
        let gh = server();
        let crab = octocrab(&gh, TOKEN);
        let zip = gh.add_artifact(
            "cluster-ca",
            b"PK\x05\x06zip".to_vec(),
            "application/zip",
            false,
        );
        let raw = gh.add_artifact(
            "ca.pem",
            b"-----BEGIN".to_vec(),
            "application/x-pem-file",
            false,
        );
        let old = gh.add_artifact("cluster-ca", b"old".to_vec(), "application/zip", true);
        assert!(zip < raw && raw < old && zip > u64::from(u32::MAX));
        let listed = crab
            .actions()
            .list_workflow_run_artifacts("octo-org", "octo-repo", RunId(12_345_678_901))
            .per_page(100u8)
            .send()
            .await
            .unwrap()
            .value
            .unwrap();
        assert_eq!(listed.total_count, Some(3));
        let ids: Vec<u64> = listed.items.iter().map(|a| a.id.0).collect();
        assert_eq!(ids, [old, raw, zip]);
        assert_eq!(listed.items[1].size_in_bytes, 10);
        assert!(listed.items[0].expired);
        assert_eq!(
            listed.items[2].workflow_run.as_ref().unwrap().id,
            RunId(12_345_678_901)
        );
        let (status, _, json) = send(
            "GET",
            &format!(
                "{}/actions/runs/12345678901/artifacts?name=cluster-ca&direction=asc",
                repo_url(&gh)
            ),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(json["total_count"], 2);
        assert_eq!(json["artifacts"][0]["id"], zip);
        assert_eq!(
            json["artifacts"][0]["digest"],
            format!("sha256:{}", hex(&Sha256::digest(b"PK\x05\x06zip")))
        );
        let (status, _, _) = send(
            "GET",
            &format!("{}/actions/runs/1/artifacts", repo_url(&gh)),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn downloads_redirect_to_a_blob_origin_that_refuses_the_token() {
        let gh = server();
        let pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        let id = gh.add_artifact("ca.pem", pem.clone(), "application/x-pem-file", false);
        let (status, headers, _) = send(
            "GET",
            &format!("{}/actions/artifacts/{id}/zip", repo_url(&gh)),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 302);
        let location = headers["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with(&format!("{}/actions-results/", gh.blob_url())),
            "{location}"
        );
        assert!(
            location.contains("&sig=") && location.contains("&se="),
            "{location}"
        );
        // With the GitHub token: refused, and recorded as having carried it.
        let refused = client()
            .get(&location)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.headers()["x-ms-error-code"], "AuthenticationFailed");
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("<Code>AuthenticationFailed</Code>"));
        // Without it: the bytes, typed as uploaded.
        let served = client().get(&location).send().await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "application/x-pem-file");
        assert_eq!(
            served.headers()["content-disposition"],
            "attachment; filename=\"ca.pem\""
        );
        assert_eq!(served.bytes().await.unwrap().as_ref(), pem.as_slice());
        let log = gh.requests();
        assert_eq!(log.len(), 3);
        assert_eq!(
            (log[1].origin, log[1].had_authorization, log[1].status),
            (ORIGIN_BLOB, true, 403)
        );
        assert_eq!(
            (log[2].origin, log[2].had_authorization, log[2].status),
            (ORIGIN_BLOB, false, 200)
        );
        // A tampered or stale link is refused too.
        let tampered = location.replace("&sig=", "&sig=x");
        assert_eq!(client().get(&tampered).send().await.unwrap().status(), 403);
        gh.expire_download_links();
        let stale = client().get(&location).send().await.unwrap();
        assert_eq!(stale.status(), 403);
        assert!(stale.text().await.unwrap().contains("Signed expiry time"));
    }

    #[tokio::test]
    async fn octocrab_downloads_a_zip_without_handing_over_the_token() {
        let gh = server();
        let zip = b"PK\x03\x04 a zip".to_vec();
        let id = gh.add_artifact("cluster-ca", zip.clone(), "application/zip", false);
        let crab = octocrab(&gh, TOKEN);
        let bytes = crab
            .actions()
            .download_artifact("octo-org", "octo-repo", ArtifactId(id), ArchiveFormat::Zip)
            .await
            .unwrap();
        assert_eq!(bytes.as_ref(), zip.as_slice());
        let log = gh.requests();
        assert_eq!(log.len(), 2);
        assert!(log[0].had_authorization && log[0].status == 302);
        assert!(log[1].path.ends_with(".zip"), "{}", log[1].path);
        assert!(!log[1].had_authorization && log[1].status == 200);
    }

    #[tokio::test]
    async fn expired_and_unknown_artifacts() {
        let gh = server();
        let id = gh.add_artifact("cluster-ca", b"x".to_vec(), "application/zip", true);
        let url =
            |id: u64, format: &str| format!("{}/actions/artifacts/{id}/{format}", repo_url(&gh));
        let (status, _, json) = send("GET", &url(id, "zip"), Some(TOKEN), None).await;
        assert_eq!(status, 410);
        assert_eq!(
            json,
            github_error(
                "Artifact has expired",
                "https://docs.github.com/rest/actions/artifacts#download-an-artifact",
                410
            )
        );
        assert_eq!(
            send("GET", &url(id + 1, "zip"), Some(TOKEN), None).await.0,
            404
        );
        assert_eq!(send("GET", &url(id, "tar"), Some(TOKEN), None).await.0, 404);
    }

    // --- faults -----------------------------------------------------------------------------

    #[tokio::test]
    async fn injected_faults_fire_the_given_number_of_times() {
        let gh = server();
        let url = format!("{}/issues/1/comments", repo_url(&gh));
        gh.inject("GET", "/repos/octo-org/octo-repo/issues/", 502, 1);
        gh.inject("*", "/repos/octo-org/octo-repo/issues/", 429, 1);
        let (status, headers, body) = send("GET", &url, Some(TOKEN), None).await;
        assert_eq!(status, 502);
        assert!(body.as_str().unwrap().contains("Unicorn!"));
        assert!(headers.contains_key("x-ratelimit-remaining"));
        let (status, headers, body) = send("GET", &url, Some(TOKEN), None).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "1");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("You have exceeded a secondary rate limit."));
        assert_eq!(send("GET", &url, Some(TOKEN), None).await.0, 200);
        gh.inject("GET", "/repos/", 403, 1);
        let (status, headers, body) = send("GET", &url, Some(TOKEN), None).await;
        assert_eq!(status, 403);
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(
            body["message"],
            format!("API rate limit exceeded for installation ID {INSTALLATION_ID}.")
        );
        gh.inject("GET", "/repos/", FAULT_RESET, 1);
        assert!(client().get(&url).bearer_auth(TOKEN).send().await.is_err());
        assert_eq!(send("GET", &url, Some(TOKEN), None).await.0, 200);
        let statuses: Vec<u16> = gh.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [502, 429, 200, 403, 0, 200]);
        // The blob origin's faults speak Azure.
        let id = gh.add_artifact("a", b"x".to_vec(), "application/zip", false);
        let (_, headers, _) = send(
            "GET",
            &format!("{}/actions/artifacts/{id}/zip", repo_url(&gh)),
            Some(TOKEN),
            None,
        )
        .await;
        gh.inject("GET", "/actions-results/", 503, 1);
        let location = headers["location"].to_str().unwrap();
        let busy = client().get(location).send().await.unwrap();
        assert_eq!(busy.status(), 503);
        assert_eq!(busy.headers()["x-ms-error-code"], "ServerBusy");
        assert_eq!(client().get(location).send().await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn dropping_the_server_closes_both_listeners() {
        let gh = server();
        let (api, blob) = (gh.api_url(), gh.blob_url());
        assert_eq!(
            send("GET", &format!("{api}/x"), Some(TOKEN), None).await.0,
            400
        );
        drop(gh);
        assert!(client().get(format!("{api}/x")).send().await.is_err());
        assert!(client().get(format!("{blob}/x")).send().await.is_err());
    }

    #[test]
    fn options_debug_redacts_tokens() {
        let options = GithubOptions {
            tokens: vec![(TOKEN.to_string(), Permissions::ALL)],
            ..GithubOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(
            !shown.contains(TOKEN) && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
