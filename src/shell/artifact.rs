//! The CA from a workflow artifact of this run: list, choose, download, unpack in memory, then
//! the same CA validation as a file.
//!
//! Only the current run's artifacts are read (`GITHUB_RUN_ID`). The bounds, the choice among
//! duplicates and every refusal are the core's (`pure::artifact`); this module fetches. A
//! kubeconfig that carries client credentials is refused here, not just warned about: an
//! artifact is readable by everyone with read access to the repository.

use std::time::Duration;

use crate::pure::artifact::{self, ArtifactError, Limits};
use crate::pure::kubeconfig;
use crate::pure::secret::Secret;
use crate::pure::{Diagnostic, ErrorClass};
use crate::shell::github::{GithubClient, GithubError};
use crate::source::{self, FileRules, LoadedCa, SourceError};

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
    List { name: String, source: GithubError },
    #[error("`ca-artifact` `{name}`: downloading artifact {id} failed: {source}")]
    Download {
        name: String,
        id: u64,
        source: GithubError,
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

/// Where the artifact lives and how to read it.
pub struct ArtifactSource<'a> {
    pub name: &'a str,
    pub path: Option<&'a str>,
    pub api_url: &'a str,
    pub repository: Option<&'a str>,
    pub run_id: Option<u64>,
    pub token: Option<&'a Secret>,
    pub timeout: Duration,
    /// CA PEMs trusted beside the public roots (`extra-ca-certs`).
    pub extra_ca_pems: &'a [&'a str],
}

/// Fetches the CA from the artifact and validates it as `source::load_ca` does a file.
pub async fn load_ca(
    from: &ArtifactSource<'_>,
    rules: &FileRules,
    now: i64,
) -> Result<LoadedCa, ArtifactFailure> {
    let name = from.name.to_string();
    let repository = from
        .repository
        .ok_or(ArtifactFailure::NoContext("`GITHUB_REPOSITORY`"))?;
    let run_id = from
        .run_id
        .ok_or(ArtifactFailure::NoContext("`GITHUB_RUN_ID`"))?;
    let token = from.token.ok_or(ArtifactFailure::NoToken)?;
    let client = GithubClient::new(
        from.api_url,
        repository,
        token,
        from.timeout,
        from.extra_ca_pems,
    )
    .map_err(|source| ArtifactFailure::List {
        name: name.clone(),
        source,
    })?;
    let limits = Limits::default();
    let listing = client
        .list_artifacts(run_id)
        .await
        .map_err(|source| ArtifactFailure::List {
            name: name.clone(),
            source,
        })?;
    let bad = |source: ArtifactError| ArtifactFailure::Artifact {
        name: name.clone(),
        source,
    };
    let chosen = artifact::select_artifact(&listing, from.name).map_err(bad)?;
    artifact::check_declared_size(&chosen, &limits).map_err(bad)?;
    let download = client
        .download_artifact(chosen.id, limits.max_download)
        .await
        .map_err(|source| ArtifactFailure::Download {
            name: name.clone(),
            id: chosen.id,
            source,
        })?;
    artifact::verify_digest(&download.bytes, chosen.digest.as_deref()).map_err(bad)?;
    let file = artifact::extract_ca(
        &download.bytes,
        download.is_zip(),
        download.file_name.as_deref(),
        from.path,
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
                    name,
                    fields: fields.join(", "),
                });
            }
        }
    }
    let origin = format!(
        "`ca-artifact` `{}` (`{}`, artifact {})",
        from.name, file.name, chosen.id
    );
    Ok(source::load_ca_bytes(
        &origin,
        &file.bytes,
        None,
        rules,
        now,
    )?)
}
