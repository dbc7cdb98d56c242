//! Reading the CA input from disk under the file-safety rules, then handing bytes to the core.
//!
//! Owns the rules for every file the program reads on a user's behalf: regular files only (no
//! FIFO, device, directory, nothing under `/proc`, `/sys` or `/dev`), at most `MAX_FILE_BYTES`,
//! and in a runner (`GITHUB_ACTIONS=true`) only under the workspace or the runner's temp folder
//! after symlinks are followed, judged on the descriptor actually opened (no check-then-reopen). The same rules apply to a file a kubeconfig references, resolved
//! against the kubeconfig's folder. It is std-only so the offline CLI keeps it on wasm32-wasip1;
//! it never decides what the bytes mean (the core does) and never quotes them in an error.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::pure::ca::{self, CaBundle, CaError};
use crate::pure::contract::CaSource;
use crate::pure::kubeconfig::{self, CaReference, Kubeconfig, KubeconfigError};
use crate::pure::{Diagnostic, ErrorClass};

/// The largest file read: a CA bundle or kubeconfig is a few KiB; 1 MiB leaves room for both.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Where files may be read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRules {
    /// In a runner: the canonical workspace and temp folders. `None` by hand: any path.
    pub roots: Option<Vec<PathBuf>>,
    pub max_bytes: u64,
}

impl FileRules {
    /// Rules for a run by hand: any regular file of at most `MAX_FILE_BYTES`.
    pub fn anywhere() -> Self {
        FileRules {
            roots: None,
            max_bytes: MAX_FILE_BYTES,
        }
    }

    /// Rules inside a runner: only under these folders (made canonical here; a folder that does
    /// not exist is left out).
    pub fn confined_to(folders: &[PathBuf]) -> Self {
        let roots = folders
            .iter()
            .filter_map(|f| f.canonicalize().ok())
            .collect();
        FileRules {
            roots: Some(roots),
            max_bytes: MAX_FILE_BYTES,
        }
    }
}

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
    #[error("{origin}: cannot be read ({kind})")]
    Io {
        origin: String,
        kind: std::io::ErrorKind,
    },
    #[error("{origin}: is {what}, not a regular file")]
    NotRegular { origin: String, what: &'static str },
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

/// Loads and validates the CA from its source, with `now` in Unix seconds.
pub fn load_ca(source: &CaSource, rules: &FileRules, now: i64) -> Result<LoadedCa, SourceError> {
    match source {
        CaSource::File(path) => {
            let path = Path::new(path);
            let origin = format!("`ca-file` `{}`", path.display());
            let bytes = read_file(&origin, path, rules)?;
            load_bytes(&origin, &bytes, path.parent(), rules, now)
        }
        CaSource::Data(text) => load_bytes("`ca-data`", text.as_bytes(), None, rules, now),
        CaSource::Artifact { name, .. } => Err(SourceError::NeedsNetwork { name: name.clone() }),
    }
}

/// Validates CA bytes that came from elsewhere (an artifact): the same rules as a file, with no
/// folder for kubeconfig references.
pub fn load_ca_bytes(
    origin: &str,
    bytes: &[u8],
    folder: Option<&Path>,
    rules: &FileRules,
    now: i64,
) -> Result<LoadedCa, SourceError> {
    load_bytes(origin, bytes, folder, rules, now)
}

fn load_bytes(
    origin: &str,
    bytes: &[u8],
    folder: Option<&Path>,
    rules: &FileRules,
    now: i64,
) -> Result<LoadedCa, SourceError> {
    if !kubeconfig::looks_like_kubeconfig(bytes) {
        let bundle = ca::parse_ca(bytes, now).map_err(|source| SourceError::Ca {
            origin: origin.to_string(),
            source,
        })?;
        let warnings = bundle.warnings();
        return Ok(LoadedCa {
            bundle,
            origin: origin.to_string(),
            kubeconfig: None,
            warnings,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
        origin: origin.to_string(),
    })?;
    let config = kubeconfig::parse_kubeconfig(text).map_err(|source| SourceError::Kubeconfig {
        origin: origin.to_string(),
        source,
    })?;
    let (ca_origin, ca_bytes) = match &config.ca {
        CaReference::Data(data) => (
            format!("{origin} (`certificate-authority-data`)"),
            data.clone(),
        ),
        CaReference::File(reference) => {
            let Some(folder) = folder else {
                return Err(SourceError::InlineReference {
                    origin: origin.to_string(),
                    reference: reference.clone(),
                });
            };
            // Relative paths in a kubeconfig are relative to the kubeconfig's folder.
            let path = folder.join(reference);
            let ca_origin = format!("{origin} (`certificate-authority` `{}`)", path.display());
            let bytes = read_file(&ca_origin, &path, rules)?;
            (ca_origin, bytes)
        }
    };
    let bundle = ca::parse_ca(&ca_bytes, now).map_err(|source| SourceError::Ca {
        origin: ca_origin.clone(),
        source,
    })?;
    let mut warnings = config.warnings.clone();
    warnings.extend(credential_warning(origin, &config));
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

/// Reads one file under the rules. `origin` names the input (and path) for messages.
pub fn read_file(origin: &str, path: &Path, rules: &FileRules) -> Result<Vec<u8>, SourceError> {
    let origin = origin.to_string();
    let io = |e: std::io::Error, origin: String| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound { origin },
        kind => SourceError::Io { origin, kind },
    };
    // Open once, then judge what was opened: checking a path and opening it again by name lets
    // a symlink swapped in between win. The descriptor's identity (device and inode) must be
    // the file at the canonical path checked below, so a swap on either side is refused.
    // A first look keeps devices and pipes from being opened at all (opening one can act).
    check_type(
        &origin,
        &std::fs::metadata(path).map_err(|e| io(e, origin.clone()))?,
    )?;
    let file = open_nonblocking(path).map_err(|e| io(e, origin.clone()))?;
    let opened = file.metadata().map_err(|e| io(e, origin.clone()))?;
    check_type(&origin, &opened)?;
    match path.canonicalize() {
        Ok(resolved) => {
            if ["/proc", "/sys", "/dev"]
                .iter()
                .any(|p| resolved.starts_with(p))
            {
                return Err(SourceError::NotRegular {
                    origin,
                    what: "a kernel or device file",
                });
            }
            if let Some(roots) = &rules.roots {
                if !roots.iter().any(|root| resolved.starts_with(root)) {
                    return Err(SourceError::OutsideRoots {
                        origin,
                        resolved: resolved.display().to_string(),
                        roots: roots.iter().map(|r| format!("`{}`", r.display())).collect(),
                    });
                }
            }
            let at_resolved = std::fs::metadata(&resolved).map_err(|e| io(e, origin.clone()))?;
            if !same_file(&opened, &at_resolved) {
                return Err(SourceError::Swapped { origin });
            }
        }
        // By hand nothing is confined, and some platforms (WASI) cannot resolve a path.
        Err(_) if rules.roots.is_none() => {}
        // Confinement needs the real path; without it nothing is read.
        Err(e) => return Err(io(e, origin)),
    }
    if opened.len() > rules.max_bytes {
        return Err(SourceError::TooLarge {
            origin,
            size: opened.len(),
            max: rules.max_bytes,
        });
    }
    let mut bytes = Vec::new();
    file.take(rules.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(e, origin.clone()))?;
    if bytes.len() as u64 > rules.max_bytes {
        return Err(SourceError::TooLarge {
            origin,
            size: bytes.len() as u64,
            max: rules.max_bytes,
        });
    }
    Ok(bytes)
}

/// True when two metadata describe the same file: device and inode on Unix.
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Elsewhere (the wasm32-wasip1 CLI, run by hand), the best identity std offers.
#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

fn check_type(origin: &str, meta: &std::fs::Metadata) -> Result<(), SourceError> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "a pipe, socket or device"
    };
    Err(SourceError::NotRegular {
        origin: origin.to_string(),
        what,
    })
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK (0o4000 on Linux x86_64 and aarch64): opening a FIFO swapped in after the type
    // check must not hang the run.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(0o4000)
        .open(path)
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}
