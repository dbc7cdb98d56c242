//! GitHub's REST API through octocrab: posting the check run and the sticky PR comment, listing
//! the run's artifacts, and downloading one.
//!
//! octocrab is built with no retry layer (its default re-sends POSTs and duplicates comments) and
//! without redirect following: the artifact download's 302 goes to blob storage, which is fetched
//! here with a plain client that never carries the GitHub token, over https only (http on
//! loopback for tests). Nothing here decides what a refusal means; `pure::publish` and
//! `pure::artifact` do.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use octocrab::Octocrab;
use serde_json::{json, Value};

use crate::pure::machine::wire::{self, GithubAnswer, GithubCall, GithubFailure, GithubRequest};
use crate::pure::secret::Secret;
use std::collections::HashMap;

/// What GitHub answered when it was not a success.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub answered {status} `{message}`")]
    Status { status: u16, message: String },
    #[error("GitHub could not be reached: {0}")]
    Transport(String),
}

impl GithubError {
    pub fn status(&self) -> u16 {
        match self {
            GithubError::Status { status, .. } => *status,
            GithubError::Transport(_) => 0,
        }
    }

    pub fn message(&self) -> String {
        match self {
            GithubError::Status { message, .. } => message.clone(),
            GithubError::Transport(detail) => detail.clone(),
        }
    }
}

fn from_octocrab(e: octocrab::Error) -> GithubError {
    match e {
        octocrab::Error::GitHub { source, .. } => GithubError::Status {
            status: source.status_code.as_u16(),
            message: source.message.clone(),
        },
        // octocrab's Display for its own errors can carry a backtrace: keep the first line.
        other => GithubError::Transport(
            other
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
    }
}

/// A client for one repository.
pub struct GithubClient {
    octo: Octocrab,
    owner: String,
    repo: String,
    blob: reqwest::Client,
}

impl GithubClient {
    /// `api_url` is `GITHUB_API_URL` (`https://api.github.com`, or `https://<ghes>/api/v3`).
    /// Must be called inside a tokio runtime (octocrab's builder needs one).
    pub fn new(
        api_url: &str,
        repository: &str,
        token: &Secret,
        timeout: Duration,
        extra_ca_pems: &[&str],
    ) -> Result<Self, GithubError> {
        // The token goes with every API call: never over plain http, except to this machine.
        if !crate::shell::https_or_loopback_http(api_url) {
            return Err(GithubError::Transport(format!(
                "`GITHUB_API_URL` must be an https URL (http only on loopback), not `{}`",
                crate::pure::command::escape_log_line(api_url)
            )));
        }
        let (owner, repo) = repository.split_once('/').ok_or_else(|| {
            GithubError::Transport(format!(
                "`GITHUB_REPOSITORY` is not `owner/name`: `{repository}`"
            ))
        })?;
        let client = || {
            let mut builder = reqwest::Client::builder()
                .use_preconfigured_tls(crate::shell::tls_with_extra_roots(extra_ca_pems).0)
                .timeout(timeout)
                .connect_timeout(timeout)
                // The artifact download's 302 is read, not followed (the blob is fetched
                // without the token).
                .redirect(reqwest::redirect::Policy::none());
            if crate::shell::is_loopback_url(api_url) {
                builder = builder.no_proxy();
            }
            builder
                .build()
                .map_err(|e| GithubError::Transport(e.to_string()))
        };
        let base: http::Uri = api_url.parse().map_err(|_| {
            GithubError::Transport(format!("`GITHUB_API_URL` is not a URL: `{api_url}`"))
        })?;
        let headers = vec![(
            http::HeaderName::from_static("x-github-api-version"),
            http::HeaderValue::from_static("2022-11-28"),
        )];
        // octocrab over reqwest: octocrab's own client ignores HTTPS_PROXY and takes no extra
        // CAs. No retry layer either: nothing re-sends a POST (duplicate comments).
        let octo = octocrab::OctocrabBuilder::new_empty()
            .with_service(ReqwestService(client()?))
            .with_layer(&octocrab::service::middleware::base_uri::BaseUriLayer::new(
                base,
            ))
            .with_layer(
                &octocrab::service::middleware::extra_headers::ExtraHeadersLayer::new(Arc::new(
                    headers,
                )),
            )
            .with_auth(octocrab::AuthState::AccessToken {
                token: token.expose_secret().to_string().into(),
            })
            .build()
            .map_err(|e| GithubError::Transport(e.to_string()))?;
        Ok(GithubClient {
            octo,
            owner: owner.to_string(),
            repo: repo.to_string(),
            blob: client()?,
        })
    }

    fn route(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", self.owner, self.repo)
    }

    /// `POST /repos/{o}/{r}/check-runs`, completed at once. Returns the check's `html_url`.
    pub async fn create_check_run(
        &self,
        name: &str,
        head_sha: &str,
        conclusion: &str,
        title: &str,
        summary: &str,
        details_url: Option<&str>,
    ) -> Result<String, GithubError> {
        let mut body = json!({
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title, "summary": summary},
        });
        if let Some(url) = details_url {
            body["details_url"] = json!(url);
        }
        let created: Value = self
            .octo
            .post(self.route("check-runs"), Some(&body))
            .await
            .map_err(from_octocrab)?;
        Ok(created
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Every comment of a pull request, following pagination (100 per page, at most 30 pages).
    pub async fn list_comments(&self, number: u64) -> Result<Vec<Value>, GithubError> {
        let mut all = Vec::new();
        for page in 1..=30u32 {
            let route = self.route(&format!("issues/{number}/comments"));
            let items: Vec<Value> = self
                .octo
                .get(
                    route,
                    Some(&[("per_page", "100".to_string()), ("page", page.to_string())]),
                )
                .await
                .map_err(from_octocrab)?;
            let full = items.len() == 100;
            all.extend(items);
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// `POST /repos/{o}/{r}/issues/{number}/comments`. Returns the comment's `html_url`.
    pub async fn create_comment(&self, number: u64, body: &str) -> Result<String, GithubError> {
        let created: Value = self
            .octo
            .post(
                self.route(&format!("issues/{number}/comments")),
                Some(&json!({"body": body})),
            )
            .await
            .map_err(from_octocrab)?;
        Ok(created
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// `PATCH /repos/{o}/{r}/issues/comments/{id}` (octocrab's `update_comment` sends POST).
    pub async fn update_comment(&self, id: u64, body: &str) -> Result<String, GithubError> {
        let updated: Value = self
            .octo
            .patch(
                self.route(&format!("issues/comments/{id}")),
                Some(&json!({"body": body})),
            )
            .await
            .map_err(from_octocrab)?;
        Ok(updated
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// The run's artifacts (all pages merged into one `artifacts` array). Not filtered by name on
    /// the server: a miss lists the names that exist.
    pub async fn list_artifacts(&self, run_id: u64) -> Result<Value, GithubError> {
        let mut artifacts = Vec::new();
        for page in 1..=10u32 {
            let answer: Value = self
                .octo
                .get(
                    self.route(&format!("actions/runs/{run_id}/artifacts")),
                    Some(&[("per_page", "100".to_string()), ("page", page.to_string())]),
                )
                .await
                .map_err(from_octocrab)?;
            let items = answer
                .get("artifacts")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let full = items.len() == 100;
            artifacts.extend(items);
            if !full {
                break;
            }
        }
        Ok(json!({"total_count": artifacts.len(), "artifacts": artifacts}))
    }

    /// Downloads an artifact: the API answers 302 to blob storage, fetched without the token,
    /// streamed with a cap. Returns the bytes, the content type, and the blob URL's path (for
    /// the `.zip` test) and file name from `Content-Disposition`.
    pub async fn download_artifact(&self, id: u64, cap: u64) -> Result<Download, GithubError> {
        let route = self.route(&format!("actions/artifacts/{id}/zip"));
        let response = self
            .octo
            ._get(route.as_str())
            .await
            .map_err(from_octocrab)?;
        let status = response.status().as_u16();
        if status != 302 && status != 301 && status != 307 {
            let body = self.octo.body_to_string(response).await.unwrap_or_default();
            let message = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(GithubError::Status { status, message });
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| {
                GithubError::Transport("the download redirect has no Location".into())
            })?;
        let url = reqwest::Url::parse(&location)
            .map_err(|_| GithubError::Transport("the download redirect is not a URL".into()))?;
        if !crate::shell::https_or_loopback_http(url.as_str()) {
            return Err(GithubError::Transport(
                "the download redirect is not https".into(),
            ));
        }
        // No Authorization header: the blob URL is signed, and the token must not leave GitHub.
        let mut blob = self
            .blob
            .get(url.clone())
            .send()
            .await
            .map_err(|e| GithubError::Transport(short(&e)))?;
        let status = blob.status().as_u16();
        if status != 200 {
            return Err(GithubError::Status {
                status,
                message: "the artifact blob could not be fetched".into(),
            });
        }
        if blob.content_length().is_some_and(|n| n > cap) {
            return Err(GithubError::Status {
                status: 413,
                message: format!("the artifact is larger than {cap} bytes"),
            });
        }
        let content_type = header_text(blob.headers(), "content-type");
        let file_name =
            header_text(blob.headers(), "content-disposition").and_then(|d| disposition_name(&d));
        let mut bytes = Vec::new();
        while let Some(chunk) = blob
            .chunk()
            .await
            .map_err(|e| GithubError::Transport(short(&e)))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > cap {
                return Err(GithubError::Status {
                    status: 413,
                    message: format!("the artifact is larger than {cap} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Download {
            bytes,
            content_type,
            url_path: url.path().to_string(),
            file_name,
        })
    }
}

/// octocrab's transport, served by reqwest (proxies from the environment, extra CAs).
#[derive(Clone)]
struct ReqwestService(reqwest::Client);

impl tower::Service<http::Request<octocrab::OctoBody>> for ReqwestService {
    type Response = http::Response<reqwest::Body>;
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<octocrab::OctoBody>) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let request = reqwest::Request::try_from(http::Request::from_parts(
                parts,
                reqwest::Body::wrap(body),
            ))?;
            let response = client.execute(request).await?;
            // Every REST answer is read through a cap: a hostile or broken server cannot make
            // octocrab buffer an unbounded body.
            Ok(http::Response::from(response).map(|body| {
                reqwest::Body::wrap(http_body_util::Limited::new(
                    body,
                    crate::shell::GITHUB_BODY_CAP,
                ))
            }))
        })
    }
}

/// A downloaded artifact blob.
pub struct Download {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub url_path: String,
    pub file_name: Option<String>,
}

fn header_text(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `attachment; filename="k8s-ca.crt"` → `k8s-ca.crt` (base name only: no path traversal).
fn disposition_name(value: &str) -> Option<String> {
    let raw = value
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))?;
    let name = raw.trim_matches('"');
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    (!base.is_empty() && base != "." && base != "..").then(|| base.to_string())
}

fn short(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else {
        "no answer".into()
    }
}

impl From<GithubError> for GithubFailure {
    fn from(e: GithubError) -> Self {
        match e {
            GithubError::Status { status, message } => GithubFailure::Status { status, message },
            GithubError::Transport(detail) => GithubFailure::Transport { detail },
        }
    }
}

/// The `github` effect: one REST call, through a client kept per connection.
#[derive(Default)]
pub struct Clients {
    made: RefCell<HashMap<String, Rc<GithubClient>>>,
}

impl Clients {
    pub async fn perform(&self, request: &GithubRequest) -> Result<GithubAnswer, GithubFailure> {
        let conn = &request.conn;
        let key = format!(
            "{}|{}|{}|{}",
            conn.api_url,
            conn.repository,
            conn.timeout_ms,
            conn.extra_ca_pems.join("\u{0}")
        );
        let made = self.made.borrow().get(&key).cloned();
        let client = match made {
            Some(client) => client,
            None => {
                let extra: Vec<&str> = conn.extra_ca_pems.iter().map(String::as_str).collect();
                let client = Rc::new(GithubClient::new(
                    &conn.api_url,
                    &conn.repository,
                    &conn.token.0,
                    Duration::from_millis(conn.timeout_ms),
                    &extra,
                )?);
                self.made.borrow_mut().insert(key, client.clone());
                client
            }
        };
        let url = |u: String| GithubAnswer::Url { url: u };
        Ok(match &request.call {
            GithubCall::CreateCheckRun {
                name,
                head_sha,
                conclusion,
                title,
                summary,
                details_url,
            } => url(client
                .create_check_run(
                    name,
                    head_sha,
                    conclusion,
                    title,
                    summary,
                    details_url.as_deref(),
                )
                .await?),
            GithubCall::ListComments { number } => GithubAnswer::Json {
                value: Value::Array(client.list_comments(*number).await?),
            },
            GithubCall::CreateComment { number, body } => {
                url(client.create_comment(*number, body).await?)
            }
            GithubCall::UpdateComment { id, body } => url(client.update_comment(*id, body).await?),
            GithubCall::ListArtifacts { run_id } => GithubAnswer::Json {
                value: client.list_artifacts(*run_id).await?,
            },
            GithubCall::DownloadArtifact { id, cap } => {
                let d = client.download_artifact(*id, *cap).await?;
                GithubAnswer::Download(wire::Download {
                    bytes: wire::Bytes(d.bytes),
                    content_type: d.content_type,
                    url_path: d.url_path,
                    file_name: d.file_name,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_url_is_https_or_loopback_http() {
        assert!(crate::shell::https_or_loopback_http(
            "https://api.github.com"
        ));
        assert!(crate::shell::https_or_loopback_http(
            "https://ghes.example.com/api/v3"
        ));
        assert!(crate::shell::https_or_loopback_http(
            "http://127.0.0.1:8080"
        ));
        assert!(crate::shell::https_or_loopback_http(
            "http://[::1]:8080/api/v3"
        ));
        // Checked before any connection: these are never contacted.
        assert!(!crate::shell::https_or_loopback_http(
            "http://10.0.0.1/api/v3"
        ));
        assert!(!crate::shell::https_or_loopback_http(
            "http://ghes.example.com/api/v3"
        ));
        assert!(!crate::shell::https_or_loopback_http("ftp://x"));
        assert!(!crate::shell::https_or_loopback_http("api.github.com"));
    }

    #[test]
    fn content_disposition_keeps_the_base_name_only() {
        assert_eq!(
            disposition_name("attachment; filename=\"k8s-ca.crt\"").as_deref(),
            Some("k8s-ca.crt")
        );
        assert_eq!(
            disposition_name("attachment; filename=../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(disposition_name("attachment; filename=\"..\""), None);
        assert_eq!(disposition_name("inline"), None);
    }
}
