//! GitHub from the handshake: posting the check run and the sticky PR comment, and the CA from
//! a workflow artifact of this run (list, choose, download, unpack in memory, validate).
//!
//! Each REST call is one `github` effect (the native driver sends it with octocrab). Nothing the
//! driver does decides what a refusal means: `pure::publish` and `pure::artifact` do, here.
//! Only the current run's artifacts are read (`GITHUB_RUN_ID`). A kubeconfig that carries
//! client credentials is refused from an artifact, not just warned about: an artifact is
//! readable by everyone with read access to the repository.

use super::handshake::{stage_reference, wire_secret, Run};
use super::wire::{GithubAnswer, GithubCall, GithubConn, GithubFailure, GithubRequest};
use crate::pure::artifact::{self, ArtifactError, Limits};
use crate::pure::cafile::{self, LoadedCa, SourceError};
use crate::pure::contract::Settings;
use crate::pure::kubeconfig;
use crate::pure::publish::{self, EventFacts, Target};
use crate::pure::secret::Secret;
use crate::pure::{Diagnostic, ErrorClass};

/// Where the finished report is posted.
pub struct Publishing {
    pub targets: Vec<Target>,
    pub token: Option<Secret>,
    pub extra_ca_certs: Option<String>,
    pub api_url: String,
    pub event: EventFacts,
}

/// The connection for one repository, or why none can be made: the token goes with every call,
/// so never over plain http except to this machine.
fn connect(
    api_url: &str,
    repository: &str,
    token: &Secret,
    timeout_ms: u64,
    extra_ca_pems: Vec<String>,
) -> Result<GithubConn, GithubFailure> {
    if !super::url::https_or_loopback_http(api_url) {
        return Err(GithubFailure::Transport {
            detail: format!(
                "`GITHUB_API_URL` must be an https URL (http only on loopback), not `{}`",
                crate::pure::command::escape_log_line(api_url)
            ),
        });
    }
    if !repository.contains('/') {
        return Err(GithubFailure::Transport {
            detail: format!("`GITHUB_REPOSITORY` is not `owner/name`: `{repository}`"),
        });
    }
    Ok(GithubConn {
        api_url: api_url.to_string(),
        repository: repository.to_string(),
        token: wire_secret(token),
        timeout_ms,
        extra_ca_pems,
    })
}

async fn call(
    run: &Run,
    conn: &GithubConn,
    call: GithubCall,
) -> Result<GithubAnswer, GithubFailure> {
    run.io
        .github(GithubRequest {
            conn: conn.clone(),
            call,
        })
        .await
}

async fn url_of(run: &Run, conn: &GithubConn, c: GithubCall) -> Result<String, GithubFailure> {
    match call(run, conn, c).await? {
        GithubAnswer::Url { url } => Ok(url),
        _ => Err(GithubFailure::Transport {
            detail: "the driver answered no URL".into(),
        }),
    }
}

impl Publishing {
    /// Whether anything is posted to GitHub (a check run or a pull request comment).
    pub fn posts(&self) -> bool {
        self.targets.contains(&Target::CheckRun) || self.targets.contains(&Target::PrComment)
    }
}

/// Posts the check run and the sticky comment the inputs ask for (nothing when
/// [`Publishing::posts`] is false). A refusal is a warning and a note in the step summary; it
/// never changes the handshake's verdict or exit code.
pub(super) async fn publish(run: &Run) {
    let p = &run.publishing;
    let wants = |t: Target| p.targets.contains(&t);
    if !p.posts() {
        return;
    }
    let (summary, outcome, verification, environment, changed, repository, sha, run_url) = {
        let r = run.report.borrow();
        (
            // Redacted here: these bodies leave the process through GitHub, not the runner.
            run.out.redact(&crate::pure::summary::render_summary(&r)),
            r.outcome,
            r.verification,
            r.environment.clone(),
            r.changed,
            r.context.repository.clone(),
            r.context.sha.clone(),
            r.context.run_url.clone(),
        )
    };
    let note = |text: String, warn: bool| {
        if warn {
            run.out.warning(&text);
            run.report.borrow_mut().warnings.push(text);
        } else {
            run.report.borrow_mut().notes.push(text);
        }
    };
    let (Some(token), Some(repository)) = (&p.token, &repository) else {
        note(
            "posting skipped: `github-token` or `GITHUB_REPOSITORY` is empty (outside Actions)"
                .into(),
            true,
        );
        return;
    };
    let extra: Vec<String> = p.extra_ca_certs.iter().cloned().collect();
    let conn = match connect(&p.api_url, repository, token, 30_000, extra) {
        Ok(c) => c,
        Err(e) => return note(format!("posting skipped: {e}"), true),
    };
    if wants(Target::CheckRun) {
        match p.event.head_sha.clone().or(sha) {
            None => note(
                "check run skipped: no commit SHA (`GITHUB_SHA`)".into(),
                true,
            ),
            Some(head) => {
                let body =
                    publish::truncate(&summary, publish::CHECK_OUTPUT_LIMIT, run_url.as_deref());
                let posted = url_of(
                    run,
                    &conn,
                    GithubCall::CreateCheckRun {
                        name: publish::check_run_name(&environment),
                        head_sha: head.clone(),
                        conclusion: publish::conclusion(outcome, verification).to_string(),
                        title: publish::title(outcome, verification, &environment, changed),
                        summary: body,
                        details_url: run_url.clone(),
                    },
                )
                .await;
                match posted {
                    Ok(url) => note(format!("check run posted on `{head}`: {url}"), false),
                    Err(e) => note(
                        publish::refused_post(Target::CheckRun, e.status(), &e.message()),
                        true,
                    ),
                }
            }
        }
    }
    if wants(Target::PrComment) {
        match p.event.pull_request {
            _ if environment.is_empty() => note(
                "pr-comment skipped: the `environment` input was rejected, so no comment of \
                 this environment can be found"
                    .into(),
                true,
            ),
            None => note(
                "pr-comment skipped: this run is not for a pull request".into(),
                false,
            ),
            Some(number) => {
                let body = publish::comment_body(&environment, &summary, run_url.as_deref());
                let result = async {
                    let listed = call(run, &conn, GithubCall::ListComments { number }).await?;
                    let comments = match listed {
                        GithubAnswer::Json { value } => {
                            value.as_array().cloned().unwrap_or_default()
                        }
                        _ => Vec::new(),
                    };
                    match publish::find_sticky(&comments, &environment, publish::ACTIONS_BOT) {
                        Some(id) => url_of(run, &conn, GithubCall::UpdateComment { id, body })
                            .await
                            .map(|u| (u, "updated")),
                        None => url_of(run, &conn, GithubCall::CreateComment { number, body })
                            .await
                            .map(|u| (u, "posted")),
                    }
                }
                .await;
                match result {
                    Ok((url, how)) => note(format!("pull request comment {how}: {url}"), false),
                    Err(e) => note(
                        publish::refused_post(Target::PrComment, e.status(), &e.message()),
                        true,
                    ),
                }
            }
        }
    }
}

/// Why the CA could not come from the artifact.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactFailure {
    #[error(
        "`ca-artifact` needs the run's context: {0} is not set (it is set inside GitHub Actions)"
    )]
    NoContext(&'static str),
    #[error("`ca-artifact`: `github-token` is empty")]
    NoToken,
    #[error("`ca-artifact` `{name}`: listing this run's artifacts failed: {source}")]
    List { name: String, source: GithubFailure },
    #[error("`ca-artifact` `{name}`: downloading artifact {id} failed: {source}")]
    Download {
        name: String,
        id: u64,
        source: GithubFailure,
    },
    #[error("`ca-artifact` `{name}`: {source}")]
    Artifact { name: String, source: ArtifactError },
    #[error("`ca-artifact` `{name}` holds a kubeconfig with client credentials ({fields}): refused, because an artifact is readable by everyone with read access to the repository")]
    Credentials { name: String, fields: String },
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl Diagnostic for ArtifactFailure {
    fn area(&self) -> crate::pure::Area {
        crate::pure::Area::GitHub
    }

    fn class(&self) -> ErrorClass {
        match self {
            ArtifactFailure::List { source, .. } | ArtifactFailure::Download { source, .. }
                if !matches!(source.status(), 401 | 403 | 404 | 410) =>
            {
                ErrorClass::Remote
            }
            ArtifactFailure::Artifact { source, .. } => source.class(),
            ArtifactFailure::Source(e) => e.class(),
            _ => ErrorClass::User,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            ArtifactFailure::NoContext(_) => "outside Actions, download the artifact and pass the file as `ca-file`".into(),
            ArtifactFailure::NoToken => "leave `github-token` at its default (`${{ github.token }}`)".into(),
            ArtifactFailure::List { source, .. } | ArtifactFailure::Download { source, .. } => match source.status() {
                401 => "check `github-token`".into(),
                403 | 404 => "give the job `permissions: actions: read` (an explicit `permissions:` block drops it)".into(),
                410 => "the artifact expired: upload it again in this run (retention is 1–90 days)".into(),
                _ => "GitHub failed; re-run the job".into(),
            },
            ArtifactFailure::Artifact { source, .. } => return source.hint(),
            ArtifactFailure::Credentials { .. } => "upload the CA alone: `kubectl config view --raw --minify --flatten -o \
                jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > k8s-ca.crt`, \
                then `actions/upload-artifact` that file"
                .into(),
            ArtifactFailure::Source(e) => return e.hint(),
        })
    }
}

/// Fetches the CA from the artifact and validates it as a file is.
pub(super) async fn load_artifact_ca(
    run: &Run,
    settings: &Settings,
    name: &str,
    path: Option<&str>,
) -> Result<LoadedCa, ArtifactFailure> {
    let owned = name.to_string();
    let env = &run.snap;
    let repository = env
        .context
        .repository
        .as_deref()
        .ok_or(ArtifactFailure::NoContext("`GITHUB_REPOSITORY`"))?;
    let run_id = env
        .run_id
        .ok_or(ArtifactFailure::NoContext("`GITHUB_RUN_ID`"))?;
    let token = settings
        .github_token
        .as_ref()
        .ok_or(ArtifactFailure::NoToken)?;
    let list_failed = |source| ArtifactFailure::List {
        name: owned.clone(),
        source,
    };
    let timeout_ms = u64::try_from(settings.request_timeout.as_millis()).unwrap_or(u64::MAX);
    let extra = settings
        .extra_trust()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let conn =
        connect(&env.github_api_url, repository, token, timeout_ms, extra).map_err(list_failed)?;
    let limits = Limits::default();
    let listing = match call(run, &conn, GithubCall::ListArtifacts { run_id })
        .await
        .map_err(list_failed)?
    {
        GithubAnswer::Json { value } => value,
        _ => serde_json::Value::Null,
    };
    let bad = |source: ArtifactError| ArtifactFailure::Artifact {
        name: owned.clone(),
        source,
    };
    let chosen = artifact::select_artifact(&listing, name).map_err(bad)?;
    artifact::check_declared_size(&chosen, &limits).map_err(bad)?;
    let downloaded = call(
        run,
        &conn,
        GithubCall::DownloadArtifact {
            id: chosen.id,
            cap: limits.max_download,
        },
    )
    .await;
    let download = match downloaded {
        Ok(GithubAnswer::Download(d)) => d,
        Ok(_) => {
            return Err(ArtifactFailure::Download {
                name: owned.clone(),
                id: chosen.id,
                source: GithubFailure::Transport {
                    detail: "the driver answered no bytes".into(),
                },
            })
        }
        Err(source) => {
            return Err(ArtifactFailure::Download {
                name: owned.clone(),
                id: chosen.id,
                source,
            })
        }
    };
    artifact::verify_digest(&download.bytes.0, chosen.digest.as_deref()).map_err(bad)?;
    let file = artifact::extract_ca(
        &download.bytes.0,
        download.is_zip(),
        download.file_name.as_deref(),
        path,
        &limits,
    )
    .map_err(bad)?;
    if kubeconfig::looks_like_kubeconfig(&file.bytes) {
        if let Ok(config) = kubeconfig::parse_kubeconfig(&String::from_utf8_lossy(&file.bytes)) {
            if !config.credentials.is_empty() {
                let fields: Vec<String> = config
                    .credentials
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect();
                return Err(ArtifactFailure::Credentials {
                    name: owned,
                    fields: fields.join(", "),
                });
            }
        }
    }
    let origin = format!(
        "`ca-artifact` `{}` (`{}`, artifact {})",
        name, file.name, chosen.id
    );
    let staged = cafile::stage(&origin, &file.bytes, None, run.snap.now)?;
    Ok(stage_reference(run, staged).await?)
}
