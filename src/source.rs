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

use crate::pure::cafile::{self, Staged};
use crate::pure::contract::CaSource;
use crate::pure::machine::wire::FileFailure;

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

pub use crate::pure::cafile::{KubeconfigFacts, LoadedCa, SourceError};

/// Loads and validates the CA from its source, with `now` in Unix seconds.
pub fn load_ca(source: &CaSource, rules: &FileRules, now: i64) -> Result<LoadedCa, SourceError> {
    match source {
        CaSource::File(path) => {
            let path = Path::new(path);
            let origin = format!("`ca-file` `{}`", path.display());
            let bytes = read_file(&origin, path, rules)?;
            let folder = cafile::folder_of(&path.to_string_lossy()).to_string();
            load_ca_bytes(&origin, &bytes, Some(&folder), rules, now)
        }
        CaSource::Data(text) => load_ca_bytes("`ca-data`", text.as_bytes(), None, rules, now),
        CaSource::Artifact { name, .. } => Err(SourceError::NeedsNetwork { name: name.clone() }),
    }
}

/// Validates CA bytes: the same rules as a file, with `folder` for kubeconfig references (none
/// for inline data and artifacts).
pub fn load_ca_bytes(
    origin: &str,
    bytes: &[u8],
    folder: Option<&str>,
    rules: &FileRules,
    now: i64,
) -> Result<LoadedCa, SourceError> {
    match cafile::stage(origin, bytes, folder, now)? {
        Staged::Loaded(loaded) => Ok(loaded),
        staged @ Staged::Reference { .. } => {
            let Staged::Reference { origin, path, .. } = &staged else {
                unreachable!("matched above")
            };
            let bytes = read_file(origin, Path::new(path), rules)?;
            cafile::finish_reference(staged, &bytes, now)
        }
    }
}

/// Reads one file under the rules. `origin` names the input (and path) for messages.
pub fn read_file(origin: &str, path: &Path, rules: &FileRules) -> Result<Vec<u8>, SourceError> {
    read_file_raw(path, rules).map_err(|f| SourceError::from_file(origin, f))
}

/// Reads one file under the rules; the failure is the core's to word.
pub fn read_file_raw(path: &Path, rules: &FileRules) -> Result<Vec<u8>, FileFailure> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => FileFailure::NotFound,
        kind => FileFailure::Io {
            detail: kind.to_string(),
        },
    };
    // Open once, then judge what was opened: checking a path and opening it again by name lets
    // a symlink swapped in between win. The descriptor's identity (device and inode) must be
    // the file at the canonical path checked below, so a swap on either side is refused.
    // A first look keeps devices and pipes from being opened at all (opening one can act).
    check_type(&std::fs::metadata(path).map_err(io)?)?;
    let file = open_nonblocking(path).map_err(io)?;
    let opened = file.metadata().map_err(io)?;
    check_type(&opened)?;
    match path.canonicalize() {
        Ok(resolved) => {
            if ["/proc", "/sys", "/dev"]
                .iter()
                .any(|p| resolved.starts_with(p))
            {
                return Err(FileFailure::NotRegular {
                    what: "a kernel or device file".into(),
                });
            }
            if let Some(roots) = &rules.roots {
                if !roots.iter().any(|root| resolved.starts_with(root)) {
                    return Err(FileFailure::OutsideRoots {
                        resolved: resolved.display().to_string(),
                        roots: roots.iter().map(|r| r.display().to_string()).collect(),
                    });
                }
            }
            let at_resolved = std::fs::metadata(&resolved).map_err(io)?;
            if !same_file(&opened, &at_resolved) {
                return Err(FileFailure::Swapped);
            }
        }
        // By hand nothing is confined, and some platforms (WASI) cannot resolve a path.
        Err(_) if rules.roots.is_none() => {}
        // Confinement needs the real path; without it nothing is read.
        Err(e) => return Err(io(e)),
    }
    if opened.len() > rules.max_bytes {
        return Err(FileFailure::TooLarge {
            size: opened.len(),
            max: rules.max_bytes,
        });
    }
    let mut bytes = Vec::new();
    file.take(rules.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > rules.max_bytes {
        return Err(FileFailure::TooLarge {
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

fn check_type(meta: &std::fs::Metadata) -> Result<(), FileFailure> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "a pipe, socket or device"
    };
    Err(FileFailure::NotRegular { what: what.into() })
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
