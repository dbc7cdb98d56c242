//! A CA input's bytes made into a validated bundle: PEM or DER as is, or the CA of a kubeconfig
//! (inline data, or a file it references, read next to it). Pure: the bytes come from a file
//! read by `source` (the offline CLI) or by a driver's `read-file` effect (the handshake).

use crate::pure::ca::{self, CaBundle, CaError};
use crate::pure::kubeconfig::{self, CaReference, Kubeconfig, KubeconfigError};
use crate::pure::machine::wire::FileFailure;
use crate::pure::{Diagnostic, ErrorClass};

/// The CA, where it came from, and what a person should read about it.
#[derive(Debug)]
pub struct LoadedCa {
    pub bundle: CaBundle,
    /// e.g. "`ca-file` `k8s-ca.crt`", or "the kubeconfig `rke2.yaml`".
    pub origin: String,
    /// Set when the CA came out of a kubeconfig.
    pub kubeconfig: Option<KubeconfigFacts>,
    pub warnings: Vec<String>,
}

/// The public facts of the kubeconfig a CA came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeconfigFacts {
    pub server: Option<String>,
    pub credentials: Vec<&'static str>,
}

/// Why the CA could not be loaded. `origin` names the input and path.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{origin}: no such file")]
    NotFound { origin: String },
    #[error("{origin}: cannot be read ({detail})")]
    Io { origin: String, detail: String },
    #[error("{origin}: is {what}, not a regular file")]
    NotRegular { origin: String, what: String },
    #[error("{origin}: is {size} bytes, more than the {max} bytes a CA or kubeconfig can need")]
    TooLarge { origin: String, size: u64, max: u64 },
    #[error(
        "{origin}: resolves to `{resolved}`, outside the workspace and the runner's temp folder"
    )]
    OutsideRoots {
        origin: String,
        resolved: String,
        roots: Vec<String>,
    },
    #[error("{origin}: changed while it was being opened (a symlink swapped in between)")]
    Swapped { origin: String },
    #[error("{origin}: is a kubeconfig but not UTF-8 text")]
    NotUtf8 { origin: String },
    #[error("{origin}: {source}")]
    Kubeconfig {
        origin: String,
        source: KubeconfigError,
    },
    #[error("{origin}: {source}")]
    Ca { origin: String, source: CaError },
    #[error("`ca-artifact` `{name}` is fetched from GitHub only by `run`")]
    NeedsNetwork { name: String },
    #[error("{origin}: a kubeconfig given inline cannot reference the file `{reference}`")]
    InlineReference { origin: String, reference: String },
}

impl Diagnostic for SourceError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            SourceError::NotFound { .. } => "check the path: in a container action the \
                workspace is `/github/workspace` and relative paths start there; a file made in \
                another job must be passed as an artifact"
                .into(),
            SourceError::Io { .. } => "check the file's permissions".into(),
            SourceError::NotRegular { .. } => {
                "pass the CA file itself, not a directory, pipe or device".into()
            }
            SourceError::TooLarge { .. } => {
                "pass the cluster CA (`server-ca.crt`) or a kubeconfig, not an archive".into()
            }
            SourceError::OutsideRoots { roots, .. } => format!(
                "in a runner only files under the workspace or the runner's temp folder are read \
                 ({}); copy the file there first",
                roots.join(", ")
            ),
            SourceError::NotUtf8 { .. } => "save the kubeconfig as UTF-8".into(),
            SourceError::Swapped { .. } => "something replaced the file or a link on its path \
                while the action read it; make sure no other step writes it at the same time"
                .into(),
            SourceError::Kubeconfig { source, .. } => return source.hint(),
            SourceError::Ca { source, .. } => return source.hint(),
            SourceError::NeedsNetwork { .. } => {
                "download the artifact and pass the file as `--ca-file` to plan offline".into()
            }
            SourceError::InlineReference { .. } => "use `kubectl config view --raw --minify \
                --flatten` to inline the CA, or pass the kubeconfig as `ca-file`"
                .into(),
        })
    }
}

impl SourceError {
    /// A file that could not be read, worded for the input `origin` names.
    pub fn from_file(origin: &str, failure: FileFailure) -> SourceError {
        let origin = origin.to_string();
        match failure {
            FileFailure::NotFound => SourceError::NotFound { origin },
            FileFailure::Io { detail } => SourceError::Io { origin, detail },
            FileFailure::NotRegular { what } => SourceError::NotRegular { origin, what },
            FileFailure::TooLarge { size, max } => SourceError::TooLarge { origin, size, max },
            FileFailure::OutsideRoots { resolved, roots } => SourceError::OutsideRoots {
                origin,
                resolved,
                roots: roots.iter().map(|r| format!("`{r}`")).collect(),
            },
            FileFailure::Swapped => SourceError::Swapped { origin },
        }
    }
}

/// CA bytes looked at once: a bundle, or a kubeconfig whose CA is in another file.
pub enum Staged {
    Loaded(LoadedCa),
    /// The kubeconfig names its CA by path: read `path` as `origin`, then [`finish_reference`].
    Reference {
        config: Box<Kubeconfig>,
        kubeconfig_origin: String,
        origin: String,
        path: String,
    },
}

/// The folder of a file's path, as the runner's OS writes it (`/` or `\`): `Some("")` for a bare
/// file name. The core runs on any OS through the Node driver, so this is plain string work,
/// not `std::path` (which in WebAssembly knows only `/`).
pub fn folder_of(path: &str) -> &str {
    match path.rfind(['/', '\\']) {
        Some(0) => &path[..1],
        Some(i) => &path[..i],
        None => "",
    }
}

/// `reference` (a kubeconfig's `certificate-authority`) resolved against `folder`: an absolute
/// reference (`/…`, `\…`, `C:…`) as it is, a relative one joined with the folder's separator.
pub fn join_reference(folder: &str, reference: &str) -> String {
    let bytes = reference.as_bytes();
    let absolute = reference.starts_with(['/', '\\'])
        || (bytes.len() > 1 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
    if absolute || folder.is_empty() {
        return reference.to_string();
    }
    let sep = if folder.contains('\\') && !folder.contains('/') {
        '\\'
    } else {
        '/'
    };
    format!("{}{sep}{reference}", folder.trim_end_matches(['/', '\\']))
}

/// Validates CA bytes: PEM/DER, or a kubeconfig. `folder` is where the bytes were read from (a
/// kubeconfig's relative `certificate-authority` is relative to it, see [`folder_of`]); `None`
/// for inline data and artifacts, which may not reference files.
pub fn stage(
    origin: &str,
    bytes: &[u8],
    folder: Option<&str>,
    now: i64,
) -> Result<Staged, SourceError> {
    if !kubeconfig::looks_like_kubeconfig(bytes) {
        let bundle = ca::parse_ca(bytes, now).map_err(|source| SourceError::Ca {
            origin: origin.to_string(),
            source,
        })?;
        let warnings = bundle.warnings();
        return Ok(Staged::Loaded(LoadedCa {
            bundle,
            origin: origin.to_string(),
            kubeconfig: None,
            warnings,
        }));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
        origin: origin.to_string(),
    })?;
    let config = kubeconfig::parse_kubeconfig(text).map_err(|source| SourceError::Kubeconfig {
        origin: origin.to_string(),
        source,
    })?;
    match &config.ca {
        CaReference::Data(data) => {
            let ca_origin = format!("{origin} (`certificate-authority-data`)");
            let data = data.clone();
            finish(origin, &config, ca_origin, &data, now).map(Staged::Loaded)
        }
        CaReference::File(reference) => {
            let Some(folder) = folder else {
                return Err(SourceError::InlineReference {
                    origin: origin.to_string(),
                    reference: reference.clone(),
                });
            };
            // Relative paths in a kubeconfig are relative to the kubeconfig's folder.
            let path = join_reference(folder, reference);
            Ok(Staged::Reference {
                origin: format!("{origin} (`certificate-authority` `{path}`)"),
                path,
                kubeconfig_origin: origin.to_string(),
                config: Box::new(config),
            })
        }
    }
}

/// The CA of a kubeconfig, from the file it references (read as `origin` of [`Staged`]).
pub fn finish_reference(staged: Staged, bytes: &[u8], now: i64) -> Result<LoadedCa, SourceError> {
    match staged {
        Staged::Loaded(loaded) => Ok(loaded),
        Staged::Reference {
            config,
            kubeconfig_origin,
            origin,
            ..
        } => finish(&kubeconfig_origin, &config, origin, bytes, now),
    }
}

fn finish(
    origin: &str,
    config: &Kubeconfig,
    ca_origin: String,
    ca_bytes: &[u8],
    now: i64,
) -> Result<LoadedCa, SourceError> {
    let bundle = ca::parse_ca(ca_bytes, now).map_err(|source| SourceError::Ca {
        origin: ca_origin.clone(),
        source,
    })?;
    let mut warnings = config.warnings.clone();
    warnings.extend(credential_warning(origin, config));
    warnings.extend(bundle.warnings());
    Ok(LoadedCa {
        bundle,
        origin: ca_origin,
        kubeconfig: Some(KubeconfigFacts {
            server: config.server.clone(),
            credentials: config.credentials.clone(),
        }),
        warnings,
    })
}

/// The loud warning for a kubeconfig that carries credentials: only its CA is used, but the file
/// is a cluster-admin credential that should not travel between jobs.
fn credential_warning(origin: &str, config: &Kubeconfig) -> Option<String> {
    if config.credentials.is_empty() {
        return None;
    }
    let fields = config
        .credentials
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>();
    Some(format!(
        "{origin} carries client credentials ({}): RKE2's kubeconfig is a cluster-admin \
         credential and should not travel between jobs. Only its CA is used. Export the CA alone \
         on the server: `kubectl config view --raw --minify --flatten -o \
         jsonpath='{{.clusters[0].cluster.certificate-authority-data}}' | base64 -d > k8s-ca.crt`",
        fields.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_against_the_kubeconfig_folder_on_any_os() {
        assert_eq!(
            folder_of("/etc/rancher/rke2/rke2.yaml"),
            "/etc/rancher/rke2"
        );
        assert_eq!(folder_of("rke2.yaml"), "");
        assert_eq!(folder_of("/rke2.yaml"), "/");
        assert_eq!(folder_of(r"C:\a\rke2.yaml"), r"C:\a");
        assert_eq!(join_reference("/etc/rke2", "ca.crt"), "/etc/rke2/ca.crt");
        assert_eq!(join_reference("/", "ca.crt"), "/ca.crt");
        assert_eq!(join_reference("", "ca.crt"), "ca.crt");
        assert_eq!(join_reference("sub", "../ca.crt"), "sub/../ca.crt");
        assert_eq!(join_reference("/etc/rke2", "/var/ca.crt"), "/var/ca.crt");
        assert_eq!(join_reference(r"C:\a", "ca.crt"), r"C:\a\ca.crt");
        assert_eq!(join_reference(r"C:\a", r"D:\ca.crt"), r"D:\ca.crt");
    }
}
