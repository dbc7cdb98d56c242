//! The CA handed over as a workflow artifact of the current run: which artifact to take from
//! GitHub's list answer, and which file of its download holds the CA.
//!
//! Owns the artifact choice (exact name, `expired` skipped, the highest id of the duplicates that
//! re-runs leave behind), the size and `sha256:` digest checks, the `ca-artifact-path` rules, and
//! a minimal ZIP reader (end record, central directory, local headers, stored and deflate
//! entries, CRC-32) built to refuse: traversal or absolute entry names, duplicates, encryption,
//! zip64, and anything over the size, count and ratio limits. Inflating is capped at the entry's
//! declared size (itself at most `max_entry`), so a lying header costs one byte past its claim.
//!
//! It never touches the network or a file (the caller lists, downloads, and passes bytes in),
//! never writes an entry anywhere, never trusts a declared size alone, and never quotes the bytes
//! of an entry in an error or log (a kubeconfig may hold credentials): errors carry entry names,
//! indices, sizes and checksums only. The extracted bytes go to `ca::parse_ca` or the kubeconfig
//! parser, by the caller.

use std::collections::HashSet;
use std::fmt;

use sha2::{Digest, Sha256};

use super::{Diagnostic, ErrorClass};

/// At most this many names are listed in one error line; the rest are counted.
const LISTED_NAMES: usize = 20;

/// An entry this small is never refused by the ratio check: a short file of repeated bytes (an
/// empty-ish log, a `.keep`) compresses past any ratio, yet cannot inflate to anything harmful.
pub const RATIO_EXEMPT_UP_TO: u64 = 64 * 1024;

/// Content types GitHub's blob storage serves a zipped artifact with (the toolkit's list).
pub const ZIP_CONTENT_TYPES: [&str; 3] = [
    "application/zip",
    "application/x-zip-compressed",
    "application/zip-compressed",
];

/// One artifact of the run, as chosen from the list answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactRef {
    pub id: u64,
    pub name: String,
    /// The size GitHub lists (the zip for normal uploads, the file for raw ones).
    pub size_in_bytes: u64,
    /// `sha256:<hex>` on v4+ uploads; absent on older ones.
    pub digest: Option<String>,
    /// As GitHub wrote it (RFC 3339); empty when the answer had none.
    pub created_at: String,
}

/// What a download may be, checked before and while reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The whole download (declared and actual), in bytes.
    pub max_download: u64,
    /// Entries of the archive, folders included.
    pub max_entries: usize,
    /// One file, declared and inflated, in bytes.
    pub max_entry: u64,
    /// All declared uncompressed sizes together, in bytes.
    pub max_total: u64,
    /// Uncompressed size over compressed size of one entry (above `RATIO_EXEMPT_UP_TO`).
    pub max_ratio: u64,
}

impl Default for Limits {
    /// A CA is a few KiB and a kubeconfig a few more: these leave two orders of magnitude.
    fn default() -> Self {
        Limits {
            max_download: 8 * 1024 * 1024,
            max_entries: 64,
            max_entry: 1024 * 1024,
            max_total: 4 * 1024 * 1024,
            max_ratio: 100,
        }
    }
}

/// The file that holds the CA (or a kubeconfig), read out of the download.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtractedFile {
    /// The entry's path in the archive; for a raw upload the file name GitHub served (basename),
    /// or empty when it gave none.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Not derived: a kubeconfig carries credentials, so the bytes are never printed.
impl fmt::Debug for ExtractedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractedFile")
            .field("name", &self.name)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .finish()
    }
}

/// Why an entry name makes the whole archive unsafe to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsafeName {
    Empty,
    Nul,
    Backslash,
    Absolute,
    DriveLetter,
    ParentSegment,
}

impl UnsafeName {
    fn as_str(self) -> &'static str {
        match self {
            UnsafeName::Empty => "has an empty name",
            UnsafeName::Nul => "has a NUL byte in its name",
            UnsafeName::Backslash => "has a backslash in its name",
            UnsafeName::Absolute => "has an absolute path",
            UnsafeName::DriveLetter => "has an absolute path (a drive letter)",
            UnsafeName::ParentSegment => "has a `..` segment",
        }
    }
}

impl fmt::Display for UnsafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the artifact could not be chosen, downloaded safely, or read. Never carries entry bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    #[error("the artifact list from GitHub is malformed: {reason}")]
    ListingMalformed { reason: String },
    #[error(
        "this run has no artifact named `{}` ({})",
        shown(.name),
        describe_listing(.available, .expired)
    )]
    NotFound {
        name: String,
        /// Unexpired names of the run, sorted, without duplicates.
        available: Vec<String>,
        /// Expired names of the run, sorted, without duplicates.
        expired: Vec<String>,
    },
    #[error("artifact `{}` (id `{id}`, created `{created_at}`) has expired", shown(.name))]
    Expired {
        name: String,
        id: u64,
        created_at: String,
    },
    #[error(
        "artifact `{}` (id `{id}`) is `{size}` bytes, over the `{limit}`-byte download limit",
        shown(.name)
    )]
    DeclaredTooLarge {
        name: String,
        id: u64,
        size: u64,
        limit: u64,
    },
    #[error("the artifact download is `{size}` bytes, over the `{limit}`-byte download limit")]
    DownloadTooLarge { size: u64, limit: u64 },
    #[error("the artifact download has SHA-256 `{actual}`, but GitHub lists `{expected}`")]
    DigestMismatch { expected: String, actual: String },
    #[error("the artifact digest GitHub lists cannot be checked: {reason}")]
    BadDigest { reason: String },
    #[error("input `ca-artifact-path` (`{}`) {reason}", shown(.path))]
    BadArtifactPath { path: String, reason: &'static str },
    #[error("the artifact download was served as a zip, but it is {shape}, not a zip archive")]
    NotZip { shape: &'static str },
    #[error("the artifact download was served as a raw file, but it is a zip archive")]
    UnexpectedZip,
    #[error("the artifact zip is malformed: {reason}")]
    ZipMalformed { reason: String },
    #[error("the artifact zip uses zip64 (sizes or counts past 4 GiB or 65535 entries)")]
    Zip64,
    #[error("the artifact zip has `{count}` entries, over the limit of `{limit}`")]
    TooManyEntries { count: usize, limit: usize },
    #[error(
        "entry {position} (`{}`) of the artifact zip {reason}: the whole archive is refused",
        shown(.name)
    )]
    UnsafeEntry {
        /// 1-based, in central directory order.
        position: usize,
        name: String,
        reason: UnsafeName,
    },
    #[error(
        "the artifact zip holds `{}` twice: the whole archive is refused",
        shown(.name)
    )]
    DuplicateEntry { name: String },
    #[error("entry `{}` of the artifact zip is encrypted", shown(.name))]
    Encrypted { name: String },
    #[error(
        "entry `{}` of the artifact zip uses compression method `{method}` (only stored `0` \
         and deflate `8` are read)",
        shown(.name)
    )]
    UnsupportedCompression { name: String, method: u16 },
    #[error(
        "entry `{}` of the artifact is `{size}` bytes, over the `{limit}`-byte limit per file",
        shown(.name)
    )]
    EntryTooLarge { name: String, size: u64, limit: u64 },
    #[error(
        "the artifact zip declares `{total}` bytes uncompressed in all, over the `{limit}`-byte \
         limit"
    )]
    TotalTooLarge { total: u64, limit: u64 },
    #[error(
        "entry `{}` of the artifact zip inflates `{compressed}` bytes to `{uncompressed}`, a \
         ratio over the limit of `{limit}`",
        shown(.name)
    )]
    RatioTooHigh {
        name: String,
        compressed: u64,
        uncompressed: u64,
        limit: u64,
    },
    #[error(
        "entry `{}` of the artifact zip inflates past its declared `{declared}` bytes",
        shown(.name)
    )]
    InflatesPastDeclared { name: String, declared: u64 },
    #[error("entry `{}` of the artifact zip is damaged: {reason}", shown(.name))]
    EntryCorrupt { name: String, reason: String },
    #[error(
        "entry `{}` of the artifact zip has CRC-32 `{actual:08x}`, but its header says \
         `{expected:08x}`",
        shown(.name)
    )]
    CrcMismatch {
        name: String,
        expected: u32,
        actual: u32,
    },
    #[error(
        "`{}` is not a file of the artifact (files: {})",
        shown(.wanted),
        list_names(.entries)
    )]
    PathNotInArchive {
        wanted: String,
        /// The regular files of the archive, in archive order.
        entries: Vec<String>,
    },
    #[error("`{}` in the artifact zip is a symbolic link, not a file", shown(.name))]
    NotRegularFile { name: String },
    #[error("the artifact holds no file (entries: {})", list_names(.entries))]
    NoFiles { entries: Vec<String> },
    #[error(
        "the artifact holds several files and {} (files: {})",
        describe_candidates(.candidates),
        list_names(.entries)
    )]
    Ambiguous {
        entries: Vec<String>,
        /// The files named like a CA or kubeconfig.
        candidates: Vec<String>,
    },
    #[error(
        "`ca-artifact-path` is `{}`, but the artifact is one raw file {}",
        shown(.wanted),
        describe_raw_name(.raw_name)
    )]
    RawNameMismatch {
        wanted: String,
        raw_name: Option<String>,
    },
}

fn describe_listing(available: &[String], expired: &[String]) -> String {
    match (available.is_empty(), expired.is_empty()) {
        (true, true) => "it has no artifacts".to_string(),
        (false, true) => format!("artifacts: {}", list_names(available)),
        (true, false) => format!("only expired artifacts: {}", list_names(expired)),
        (false, false) => format!(
            "artifacts: {}; expired: {}",
            list_names(available),
            list_names(expired)
        ),
    }
}

fn describe_candidates(candidates: &[String]) -> String {
    if candidates.is_empty() {
        "none is named like a CA or kubeconfig".to_string()
    } else {
        format!(
            "{} of them are named like a CA or kubeconfig ({})",
            candidates.len(),
            list_names(candidates)
        )
    }
}

fn describe_raw_name(raw_name: &Option<String>) -> String {
    match raw_name {
        Some(n) => format!("named `{}`", shown(n)),
        None => "whose name GitHub did not send".to_string(),
    }
}

/// Backticked names, the first `LISTED_NAMES` of them, then a count of the rest.
fn list_names(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    let mut out = names
        .iter()
        .take(LISTED_NAMES)
        .map(|n| format!("`{}`", shown(n)))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED_NAMES {
        out.push_str(&format!(" and {} more", names.len() - LISTED_NAMES));
    }
    out
}

/// A name as shown in one error line: control characters escaped, at most 120 characters.
fn shown(name: &str) -> String {
    const MAX_CHARS: usize = 120;
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl Diagnostic for ArtifactError {
    fn area(&self) -> super::Area {
        super::Area::GitHub
    }

    fn class(&self) -> ErrorClass {
        match self {
            ArtifactError::ListingMalformed { .. }
            | ArtifactError::DigestMismatch { .. }
            | ArtifactError::BadDigest { .. }
            | ArtifactError::NotZip { .. }
            | ArtifactError::ZipMalformed { .. }
            | ArtifactError::InflatesPastDeclared { .. }
            | ArtifactError::EntryCorrupt { .. }
            | ArtifactError::CrcMismatch { .. } => ErrorClass::Remote,
            _ => ErrorClass::User,
        }
    }

    fn hint(&self) -> Option<String> {
        const SMALL: &str = "a CA is a few KiB: upload only the CA file (for RKE2 \
                             `/var/lib/rancher/rke2/server/tls/server-ca.crt`) as its own artifact";
        const DAMAGED: &str = "re-run the job; if it happens again, upload the artifact again \
                               with `actions/upload-artifact`";
        let hint = match self {
            ArtifactError::ListingMalformed { .. } => {
                "GitHub's answer to the artifact list did not have the documented shape; re-run \
                 the job, and report it if it persists"
                    .to_string()
            }
            ArtifactError::NotFound {
                name, available, ..
            } => {
                let near = available
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(name))
                    .map(|a| format!(" (names are case-sensitive: did you mean `{}`?)", shown(a)))
                    .unwrap_or_default();
                format!(
                    "`ca-artifact` must equal the `name:` given to `actions/upload-artifact` in an \
                     earlier job of this run, and this job must `needs:` that job{near}; \
                     artifacts of other runs are not read"
                )
            }
            ArtifactError::Expired { .. } => "the artifact outlived its retention \
                 (`retention-days` of `actions/upload-artifact`, or the repository's artifact \
                 retention setting): re-run the whole workflow so the upload job runs again"
                .to_string(),
            ArtifactError::DeclaredTooLarge { .. }
            | ArtifactError::DownloadTooLarge { .. }
            | ArtifactError::Zip64
            | ArtifactError::EntryTooLarge { .. }
            | ArtifactError::TotalTooLarge { .. } => SMALL.to_string(),
            ArtifactError::TooManyEntries { .. } => format!(
                "{SMALL}, not a whole folder; or set `path:` of the upload to the CA file alone"
            ),
            ArtifactError::RatioTooHigh { .. } => format!(
                "an entry this compressible looks like a zip bomb and the archive is refused \
                 whole; {SMALL}"
            ),
            ArtifactError::DigestMismatch { .. } | ArtifactError::CrcMismatch { .. } => {
                format!("the download was damaged or changed on the way: {DAMAGED}")
            }
            ArtifactError::BadDigest { .. } => {
                "GitHub listed a digest that is not `sha256:` and 64 hex digits; report it".into()
            }
            ArtifactError::BadArtifactPath { .. } => {
                "set `ca-artifact-path` to the file's path inside the artifact, relative and with \
                 `/` separators (e.g. `k8s-ca.crt` or `tls/server-ca.crt`), or leave it empty \
                 when the artifact holds one file"
                    .to_string()
            }
            ArtifactError::NotZip { shape } => {
                let raw = if *shape == "PEM text" {
                    "it looks like a raw (`archive: false`) upload served with a zip content \
                     type; "
                } else {
                    ""
                };
                format!(
                    "{raw}re-run the job; if it persists, download the artifact with \
                     `actions/download-artifact` in an earlier step and pass its path as `ca-file`"
                )
            }
            ArtifactError::UnexpectedZip => "the artifact was uploaded with `archive: false` but \
                 the file is itself a zip: upload the CA file itself, or drop `archive: false`"
                .to_string(),
            ArtifactError::ZipMalformed { .. }
            | ArtifactError::InflatesPastDeclared { .. }
            | ArtifactError::EntryCorrupt { .. } => format!(
                "the archive's headers do not match its data (damaged or crafted): {DAMAGED}"
            ),
            ArtifactError::UnsafeEntry { .. } | ArtifactError::DuplicateEntry { .. } => {
                "such an entry could be written outside its folder or over another file, so no \
                 entry is read; upload a plain folder with `actions/upload-artifact`"
                    .to_string()
            }
            ArtifactError::Encrypted { .. } | ArtifactError::UnsupportedCompression { .. } => {
                "upload the CA with `actions/upload-artifact` (stored or deflate, never \
                 encrypted) instead of a zip made by hand"
                    .to_string()
            }
            ArtifactError::PathNotInArchive { .. } => "set `ca-artifact-path` to one of the \
                 files listed: paths are relative to the `path:` given to \
                 `actions/upload-artifact` (uploading the folder `out` stores `out/tls/ca.crt` \
                 as `tls/ca.crt`)"
                .to_string(),
            ArtifactError::NotRegularFile { .. } => {
                "point `ca-artifact-path` at the file itself; a link in an artifact is not \
                 followed"
                    .to_string()
            }
            ArtifactError::NoFiles { .. } => "check the `path:` given to \
                 `actions/upload-artifact` (it must match the CA file; dotfiles also need \
                 `include-hidden-files: true`)"
                .to_string(),
            ArtifactError::Ambiguous {
                entries,
                candidates,
            } => {
                let example = candidates.first().or(entries.first());
                match example {
                    Some(e) => format!(
                        "set `ca-artifact-path` to the CA's path inside the artifact, e.g. \
                         `ca-artifact-path: {}`",
                        shown(e)
                    ),
                    None => "set `ca-artifact-path` to the CA's path inside the artifact".into(),
                }
            }
            ArtifactError::RawNameMismatch { raw_name, .. } => match raw_name {
                Some(n) => format!(
                    "the artifact was uploaded with `archive: false`, which stores one file: \
                     set `ca-artifact-path: {}` or leave it empty",
                    shown(n)
                ),
                None => "the artifact was uploaded with `archive: false`, which stores one \
                     file: leave `ca-artifact-path` empty"
                    .to_string(),
            },
        };
        Some(hint)
    }
}

fn malformed_listing(reason: impl Into<String>) -> ArtifactError {
    ArtifactError::ListingMalformed {
        reason: reason.into(),
    }
}

/// Picks `name` from the JSON of `GET /repos/{o}/{r}/actions/runs/{run_id}/artifacts`.
///
/// `listing` is the whole answer (`{"artifacts": [...]}`), an array of artifacts, or an array of
/// whole answers (one per page). Names compare exactly; expired artifacts are skipped; of the
/// duplicates re-runs leave behind, the highest id (the newest upload) wins, as the toolkit's
/// `latest` option does.
pub fn select_artifact(
    listing: &serde_json::Value,
    name: &str,
) -> Result<ArtifactRef, ArtifactError> {
    let items = artifact_items(listing)?;
    let mut available: Vec<String> = Vec::new();
    let mut expired_names: Vec<String> = Vec::new();
    let mut best: Option<ArtifactRef> = None;
    let mut newest_expired: Option<ArtifactRef> = None;
    let mut duplicates = 0usize;
    for (index, item) in items.into_iter().enumerate() {
        let artifact = parse_listed(index, item)?;
        let expired = match item.get("expired") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => {
                return Err(malformed_listing(format!(
                    "`artifacts[{index}]` has a non-boolean `expired`"
                )))
            }
        };
        if expired {
            expired_names.push(artifact.name.clone());
        } else {
            available.push(artifact.name.clone());
        }
        if artifact.name != name {
            continue;
        }
        let slot = if expired {
            &mut newest_expired
        } else {
            duplicates += 1;
            &mut best
        };
        if slot.as_ref().is_none_or(|b| artifact.id > b.id) {
            *slot = Some(artifact);
        }
    }
    if let Some(chosen) = best {
        tracing::debug!(
            id = chosen.id,
            size = chosen.size_in_bytes,
            unexpired_with_name = duplicates,
            "artifact chosen (highest id of its name)"
        );
        return Ok(chosen);
    }
    if let Some(e) = newest_expired {
        return Err(ArtifactError::Expired {
            name: e.name,
            id: e.id,
            created_at: e.created_at,
        });
    }
    available.sort();
    available.dedup();
    expired_names.sort();
    expired_names.dedup();
    Err(ArtifactError::NotFound {
        name: name.to_string(),
        available,
        expired: expired_names,
    })
}

/// The artifact objects of any of the accepted listing shapes, in order.
fn artifact_items(listing: &serde_json::Value) -> Result<Vec<&serde_json::Value>, ArtifactError> {
    fn page(answer: &serde_json::Value) -> Result<&Vec<serde_json::Value>, ArtifactError> {
        match answer.get("artifacts") {
            Some(serde_json::Value::Array(a)) => Ok(a),
            Some(_) => Err(malformed_listing("`artifacts` is not a list")),
            None => Err(malformed_listing("the answer has no `artifacts` list")),
        }
    }
    match listing {
        serde_json::Value::Object(_) => Ok(page(listing)?.iter().collect()),
        serde_json::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                if item.get("artifacts").is_some() {
                    out.extend(page(item)?.iter());
                } else {
                    out.push(item);
                }
            }
            Ok(out)
        }
        _ => Err(malformed_listing(
            "the answer is neither an object nor a list",
        )),
    }
}

fn parse_listed(index: usize, item: &serde_json::Value) -> Result<ArtifactRef, ArtifactError> {
    if !item.is_object() {
        return Err(malformed_listing(format!(
            "`artifacts[{index}]` is not an object"
        )));
    }
    let field = |key: &str| item.get(key).filter(|v| !v.is_null());
    let id = field("id")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| malformed_listing(format!("`artifacts[{index}]` has no numeric `id`")))?;
    let name = field("name")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| malformed_listing(format!("`artifacts[{index}]` has no string `name`")))?;
    let size_in_bytes = field("size_in_bytes")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| {
            malformed_listing(format!(
                "`artifacts[{index}]` has no numeric `size_in_bytes`"
            ))
        })?;
    let digest = match field("digest") {
        None => None,
        Some(serde_json::Value::String(s)) if s.is_empty() => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(malformed_listing(format!(
                "`artifacts[{index}]` has a non-string `digest`"
            )))
        }
    };
    let created_at = field("created_at")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(ArtifactRef {
        id,
        name: name.to_string(),
        size_in_bytes,
        digest,
        created_at,
    })
}

/// Refuses an artifact whose listed size is over `max_download`, before anything is downloaded.
pub fn check_declared_size(artifact: &ArtifactRef, limits: &Limits) -> Result<(), ArtifactError> {
    if artifact.size_in_bytes > limits.max_download {
        return Err(ArtifactError::DeclaredTooLarge {
            name: artifact.name.clone(),
            id: artifact.id,
            size: artifact.size_in_bytes,
            limit: limits.max_download,
        });
    }
    Ok(())
}

/// Checks the download against the listed `sha256:<hex>` digest; `None` (pre-v4 uploads) passes.
pub fn verify_digest(bytes: &[u8], digest: Option<&str>) -> Result<(), ArtifactError> {
    let Some(digest) = digest.filter(|d| !d.is_empty()) else {
        tracing::debug!("the artifact has no listed digest; not checked");
        return Ok(());
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(ArtifactError::BadDigest {
            reason: "it has no `algorithm:` prefix".to_string(),
        });
    };
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(ArtifactError::BadDigest {
            reason: format!("algorithm `{}` is not `sha256`", shown(algorithm)),
        });
    }
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ArtifactError::BadDigest {
            reason: format!(
                "`sha256:` is followed by {} characters, not 64 hex digits",
                hex.chars().count()
            ),
        });
    }
    let actual = to_hex(&Sha256::digest(bytes));
    let expected = hex.to_ascii_lowercase();
    if actual != expected {
        return Err(ArtifactError::DigestMismatch { expected, actual });
    }
    tracing::debug!("the artifact download matches its listed SHA-256 digest");
    Ok(())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Validates the `ca-artifact-path` input: a relative path with `/` separators, no `..`, no
/// backslash, NUL or other control character. `.` segments and repeated `/` are dropped, so
/// `./tls//ca.crt` reads as `tls/ca.crt`, the way the archive stores it.
pub fn parse_artifact_path(path: &str) -> Result<String, ArtifactError> {
    let bad = |reason: &'static str| ArtifactError::BadArtifactPath {
        path: path.to_string(),
        reason,
    };
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if path.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    if path.contains('\\') {
        return Err(bad("contains a backslash (artifact paths use `/`)"));
    }
    if path.starts_with('/') {
        return Err(bad(
            "is absolute (it must be relative to the artifact's root)",
        ));
    }
    if has_drive_letter(path) {
        return Err(bad(
            "starts with a drive letter (it must be relative to the artifact's root)",
        ));
    }
    if path.split('/').any(|s| s == "..") {
        return Err(bad("has a `..` segment"));
    }
    if path.ends_with('/') {
        return Err(bad("ends with `/`, so it names a folder, not a file"));
    }
    let normal = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/");
    if normal.is_empty() {
        return Err(bad("names no file"));
    }
    Ok(normal)
}

fn has_drive_letter(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Reads the CA file out of a downloaded artifact blob.
///
/// `is_zip` is the caller's reading of the answer: a zip content type (`ZIP_CONTENT_TYPES`) or a
/// `.zip` URL path, as the toolkit decides. The bytes are sniffed as well, and a disagreement is
/// an error rather than a guess. A raw (`archive: false`) upload is the file itself, named by
/// `raw_name` (the `Content-Disposition` file name); `wanted` (a parsed `ca-artifact-path`) must
/// then equal that name. In a zip, `wanted` names the entry; without it the only file, or the
/// only file named like a CA or kubeconfig, is taken.
pub fn extract_ca(
    bytes: &[u8],
    is_zip: bool,
    raw_name: Option<&str>,
    wanted: Option<&str>,
    limits: &Limits,
) -> Result<ExtractedFile, ArtifactError> {
    let size = bytes.len() as u64;
    if size > limits.max_download {
        return Err(ArtifactError::DownloadTooLarge {
            size,
            limit: limits.max_download,
        });
    }
    let looks_zip = bytes.starts_with(LOCAL_SIG) || bytes.starts_with(EOCD_SIG);
    match (is_zip, looks_zip) {
        (true, true) => extract_from_zip(bytes, wanted, limits),
        (true, false) => Err(ArtifactError::NotZip {
            shape: sniff_shape(bytes),
        }),
        (false, true) => Err(ArtifactError::UnexpectedZip),
        (false, false) => extract_raw(bytes, raw_name, wanted, limits),
    }
}

fn extract_raw(
    bytes: &[u8],
    raw_name: Option<&str>,
    wanted: Option<&str>,
    limits: &Limits,
) -> Result<ExtractedFile, ArtifactError> {
    // Basename only, as the toolkit saves it: the header is remote text, not a path to trust.
    let name = raw_name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string())
        .filter(|n| !n.is_empty());
    if let Some(wanted) = wanted {
        if name.as_deref() != Some(wanted) {
            return Err(ArtifactError::RawNameMismatch {
                wanted: wanted.to_string(),
                raw_name: name,
            });
        }
    }
    let name = name.unwrap_or_default();
    let size = bytes.len() as u64;
    if size > limits.max_entry {
        return Err(ArtifactError::EntryTooLarge {
            name,
            size,
            limit: limits.max_entry,
        });
    }
    tracing::debug!(size, "the artifact is a raw upload; its bytes are the file");
    Ok(ExtractedFile {
        name,
        bytes: bytes.to_vec(),
    })
}

/// What a download that is not a zip looks like, in words (never its bytes).
fn sniff_shape(bytes: &[u8]) -> &'static str {
    if bytes.is_empty() {
        return "empty";
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        // A multi-byte character cut by the window is still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(t) if t.contains("-----BEGIN ") => "PEM text",
        Some(t) if !t.chars().any(|c| c.is_control() && !c.is_whitespace()) => "text",
        _ => "binary data",
    }
}

const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const ZIP64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const ZIP64_EXTRA: u16 = 0x0001;
const AES_EXTRA: u16 = 0x9901;
/// General purpose flags: 0 encrypted, 6 strong encryption, 13 encrypted central directory.
const FLAG_ENCRYPTED: u16 = 1 | 1 << 6 | 1 << 13;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
const METHOD_AES: u16 = 99;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
}

/// One central directory record, with the fields the reader uses.
struct Entry {
    name: String,
    raw_name: Vec<u8>,
    kind: Kind,
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    local_offset: usize,
}

fn zip_malformed(reason: impl Into<String>) -> ArtifactError {
    ArtifactError::ZipMalformed {
        reason: reason.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The ids of the extra fields in `extra`; a field running past the end ends the scan (the
/// length is not trusted, and no field's data is used beyond its id).
fn extra_ids(extra: &[u8]) -> Vec<u16> {
    let mut ids = Vec::new();
    let mut at = 0;
    while let (Some(id), Some(len)) = (u16_at(extra, at), u16_at(extra, at + 2)) {
        ids.push(id);
        at += 4 + usize::from(len);
    }
    ids
}

fn extract_from_zip(
    bytes: &[u8],
    wanted: Option<&str>,
    limits: &Limits,
) -> Result<ExtractedFile, ArtifactError> {
    let entries = read_central_directory(bytes, limits)?;
    let files: Vec<&Entry> = entries.iter().filter(|e| e.kind == Kind::File).collect();
    let file_names = || files.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    let chosen: &Entry = match wanted {
        Some(w) => match entries.iter().find(|e| e.name == w) {
            Some(e) if e.kind == Kind::File => e,
            Some(e) if e.kind == Kind::Symlink => {
                return Err(ArtifactError::NotRegularFile {
                    name: e.name.clone(),
                })
            }
            _ => {
                return Err(ArtifactError::PathNotInArchive {
                    wanted: w.to_string(),
                    entries: file_names(),
                })
            }
        },
        None => match files.as_slice() {
            [only] => only,
            [] => {
                return Err(ArtifactError::NoFiles {
                    entries: entries.iter().map(|e| e.name.clone()).collect(),
                })
            }
            several => {
                let candidates: Vec<&Entry> = several
                    .iter()
                    .copied()
                    .filter(|e| named_like_ca(&e.name))
                    .collect();
                match candidates.as_slice() {
                    [one] => one,
                    _ => {
                        return Err(ArtifactError::Ambiguous {
                            entries: file_names(),
                            candidates: candidates.iter().map(|e| e.name.clone()).collect(),
                        })
                    }
                }
            }
        },
    };
    tracing::debug!(
        entries = entries.len(),
        files = files.len(),
        method = chosen.method,
        compressed = chosen.compressed,
        uncompressed = chosen.uncompressed,
        by_path = wanted.is_some(),
        "artifact entry chosen"
    );
    let data = read_entry(bytes, chosen)?;
    Ok(ExtractedFile {
        name: chosen.name.clone(),
        bytes: data,
    })
}

/// Whether a file's base name says CA or kubeconfig: `*.crt`, `*.pem`, `ca.*`, `*kubeconfig*`,
/// `*.yaml`, `*.yml` (case-insensitive).
fn named_like_ca(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    base.ends_with(".crt")
        || base.ends_with(".pem")
        || base.starts_with("ca.")
        || base.contains("kubeconfig")
        || base.ends_with(".yaml")
        || base.ends_with(".yml")
}

/// Finds the end record and reads every central directory record, refusing the whole archive on
/// the first unsafe, unsupported or oversized entry.
fn read_central_directory(bytes: &[u8], limits: &Limits) -> Result<Vec<Entry>, ArtifactError> {
    let eocd = find_eocd(bytes)?;
    if eocd >= 20 && bytes[eocd - 20..].starts_with(ZIP64_LOCATOR_SIG) {
        return Err(ArtifactError::Zip64);
    }
    let field16 = |at: usize| u16_at(bytes, eocd + at).ok_or_else(|| zip_malformed("truncated"));
    let field32 = |at: usize| u32_at(bytes, eocd + at).ok_or_else(|| zip_malformed("truncated"));
    let (disk, cd_disk) = (field16(4)?, field16(6)?);
    let (on_disk, total) = (field16(8)?, field16(10)?);
    let (cd_size, cd_offset) = (field32(12)?, field32(16)?);
    if total == u16::MAX || cd_size == u32::MAX || cd_offset == u32::MAX {
        return Err(ArtifactError::Zip64);
    }
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(zip_malformed("the archive spans several disks"));
    }
    let count = usize::from(total);
    if count > limits.max_entries {
        return Err(ArtifactError::TooManyEntries {
            count,
            limit: limits.max_entries,
        });
    }
    let cd_end = u64::from(cd_offset) + u64::from(cd_size);
    if cd_end > eocd as u64 {
        return Err(zip_malformed(
            "the central directory runs past the end record (truncated download?)",
        ));
    }
    // Both ends are at most `eocd`, an index of `bytes`, so they fit in usize.
    let (cd_start, cd_end) = (cd_offset as usize, cd_end as usize);
    let cd = &bytes[cd_start..cd_end];

    let mut entries: Vec<Entry> = Vec::with_capacity(count);
    let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(count);
    let mut total_size: u64 = 0;
    let mut at = 0usize;
    for index in 0..count {
        let entry = read_central_record(cd, &mut at, index, cd_start)?;
        let (name, raw) = (&entry.name, &entry.raw_name);
        if !seen.insert(raw.clone()) {
            return Err(ArtifactError::DuplicateEntry { name: name.clone() });
        }
        if entry.method == METHOD_STORED && entry.compressed != entry.uncompressed {
            return Err(zip_malformed(format!(
                "stored entry `{}` declares `{}` bytes compressed but `{}` uncompressed",
                shown(name),
                entry.compressed,
                entry.uncompressed
            )));
        }
        if entry.uncompressed > RATIO_EXEMPT_UP_TO
            && entry.uncompressed > entry.compressed.saturating_mul(limits.max_ratio)
        {
            return Err(ArtifactError::RatioTooHigh {
                name: name.clone(),
                compressed: entry.compressed,
                uncompressed: entry.uncompressed,
                limit: limits.max_ratio,
            });
        }
        if entry.uncompressed > limits.max_entry {
            return Err(ArtifactError::EntryTooLarge {
                name: name.clone(),
                size: entry.uncompressed,
                limit: limits.max_entry,
            });
        }
        total_size = total_size.saturating_add(entry.uncompressed);
        if total_size > limits.max_total {
            return Err(ArtifactError::TotalTooLarge {
                total: total_size,
                limit: limits.max_total,
            });
        }
        // The data must sit before the central directory, whatever the local header says later.
        let data_floor = (entry.local_offset as u64).saturating_add(LOCAL_LEN as u64);
        if data_floor.saturating_add(entry.compressed) > cd_start as u64 {
            return Err(zip_malformed(format!(
                "entry `{}` lies outside the archive's data",
                shown(name)
            )));
        }
        entries.push(entry);
    }
    if at != cd.len() {
        return Err(zip_malformed(format!(
            "the central directory holds more than the `{count}` entries its end record declares"
        )));
    }
    Ok(entries)
}

/// The position of the end of central directory record: the last signature whose comment length
/// reaches exactly the end of the download.
fn find_eocd(bytes: &[u8]) -> Result<usize, ArtifactError> {
    if bytes.len() < EOCD_LEN {
        return Err(zip_malformed("too short to be a zip (truncated download?)"));
    }
    let last = bytes.len() - EOCD_LEN;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last)
        .rev()
        .find(|&at| {
            bytes[at..].starts_with(EOCD_SIG)
                && u16_at(bytes, at + 20).map(usize::from) == Some(bytes.len() - at - EOCD_LEN)
        })
        .ok_or_else(|| zip_malformed("no end of central directory record (truncated download?)"))
}

/// Reads the central record at `*at` of `cd` and checks it alone (name, encryption, method).
fn read_central_record(
    cd: &[u8],
    at: &mut usize,
    index: usize,
    cd_start: usize,
) -> Result<Entry, ArtifactError> {
    let start = *at;
    let truncated = || zip_malformed(format!("central record {} is truncated", index + 1));
    let rec = cd.get(start..start + CENTRAL_LEN).ok_or_else(truncated)?;
    if !rec.starts_with(CENTRAL_SIG) {
        return Err(zip_malformed(format!(
            "central record {} has a bad signature",
            index + 1
        )));
    }
    // Each read below is inside the CENTRAL_LEN bytes `rec` was just checked to hold.
    let r16 = |o: usize| u16_at(rec, o).unwrap_or(0);
    let r32 = |o: usize| u32_at(rec, o).unwrap_or(0);
    let (made_by, flags, method) = (r16(4), r16(8), r16(10));
    let (crc, compressed, uncompressed) = (r32(16), r32(20), r32(24));
    let (name_len, extra_len, comment_len) = (r16(28), r16(30), r16(32));
    let (disk_start, external, local_offset) = (r16(34), r32(38), r32(42));
    let name_at = start + CENTRAL_LEN;
    let extra_at = name_at + usize::from(name_len);
    let end = extra_at + usize::from(extra_len) + usize::from(comment_len);
    let raw_name = cd.get(name_at..extra_at).ok_or_else(truncated)?.to_vec();
    let extra = cd
        .get(extra_at..extra_at + usize::from(extra_len))
        .ok_or_else(truncated)?;
    if end > cd.len() {
        return Err(truncated());
    }
    *at = end;

    let name = String::from_utf8_lossy(&raw_name).into_owned();
    if let Some(reason) = unsafe_name(&raw_name) {
        return Err(ArtifactError::UnsafeEntry {
            position: index + 1,
            name,
            reason,
        });
    }
    let ids = extra_ids(extra);
    if compressed == u32::MAX
        || uncompressed == u32::MAX
        || local_offset == u32::MAX
        || disk_start == u16::MAX
        || ids.contains(&ZIP64_EXTRA)
    {
        return Err(ArtifactError::Zip64);
    }
    if flags & FLAG_ENCRYPTED != 0 || method == METHOD_AES || ids.contains(&AES_EXTRA) {
        return Err(ArtifactError::Encrypted { name });
    }
    if method != METHOD_STORED && method != METHOD_DEFLATE {
        return Err(ArtifactError::UnsupportedCompression { name, method });
    }
    if disk_start != 0 {
        return Err(zip_malformed("the archive spans several disks"));
    }
    if local_offset as usize >= cd_start {
        return Err(zip_malformed(format!(
            "entry `{}` points past the archive's data",
            shown(&name)
        )));
    }
    // Unix hosts (3) keep the file type in the high half of the external attributes.
    const S_IFMT: u32 = 0o170_000;
    const S_IFLNK: u32 = 0o120_000;
    let kind = if name.ends_with('/') {
        Kind::Dir
    } else if made_by >> 8 == 3 && (external >> 16) & S_IFMT == S_IFLNK {
        Kind::Symlink
    } else {
        Kind::File
    };
    Ok(Entry {
        name,
        raw_name,
        kind,
        method,
        crc,
        compressed: u64::from(compressed),
        uncompressed: u64::from(uncompressed),
        local_offset: local_offset as usize,
    })
}

/// Why an entry name could escape the folder it is extracted into, if it could.
fn unsafe_name(raw: &[u8]) -> Option<UnsafeName> {
    if raw.is_empty() {
        Some(UnsafeName::Empty)
    } else if raw.contains(&0) {
        Some(UnsafeName::Nul)
    } else if raw.contains(&b'\\') {
        Some(UnsafeName::Backslash)
    } else if raw.starts_with(b"/") {
        Some(UnsafeName::Absolute)
    } else if raw.len() >= 2 && raw[0].is_ascii_alphabetic() && raw[1] == b':' {
        Some(UnsafeName::DriveLetter)
    } else if raw.split(|&b| b == b'/').any(|s| s == b"..") {
        Some(UnsafeName::ParentSegment)
    } else {
        None
    }
}

/// The entry's bytes: local header checked against the central record, data inflated with a cap
/// of one byte past the declared size, then the size and CRC-32 checked.
fn read_entry(bytes: &[u8], entry: &Entry) -> Result<Vec<u8>, ArtifactError> {
    let name = &entry.name;
    let at = entry.local_offset;
    let bad = |what: &str| zip_malformed(format!("the local header of `{}` {what}", shown(name)));
    let header = bytes
        .get(at..at + LOCAL_LEN)
        .ok_or_else(|| bad("is truncated"))?;
    if !header.starts_with(LOCAL_SIG) {
        return Err(bad("has a bad signature"));
    }
    // Inside the LOCAL_LEN bytes `header` was just checked to hold.
    let flags = u16_at(header, 6).unwrap_or(0);
    let method = u16_at(header, 8).unwrap_or(0);
    let name_len = usize::from(u16_at(header, 26).unwrap_or(0));
    let extra_len = usize::from(u16_at(header, 28).unwrap_or(0));
    let name_at = at + LOCAL_LEN;
    let extra_at = name_at + name_len;
    let data_at = extra_at + extra_len;
    if bytes.get(name_at..extra_at) != Some(entry.raw_name.as_slice()) {
        return Err(bad("names another file than the central directory"));
    }
    if method != entry.method {
        return Err(bad(
            "declares another compression method than the central directory",
        ));
    }
    let extra = bytes
        .get(extra_at..data_at)
        .ok_or_else(|| bad("is truncated"))?;
    if flags & FLAG_ENCRYPTED != 0 || extra_ids(extra).contains(&AES_EXTRA) {
        return Err(ArtifactError::Encrypted { name: name.clone() });
    }
    // `compressed` is below 4 GiB (zip64 is refused), so the sum cannot overflow on 64-bit, and
    // `get` refuses a range past the end on 32-bit (wasm) as well.
    let data_end = data_at.saturating_add(entry.compressed as usize);
    let data = bytes
        .get(data_at..data_end)
        .ok_or_else(|| bad("is followed by less data than declared (truncated download?)"))?;

    let declared = entry.uncompressed;
    let out = match entry.method {
        METHOD_STORED => data.to_vec(),
        _ => inflate_capped(data, declared, name)?,
    };
    let actual = out.len() as u64;
    if actual > declared {
        return Err(ArtifactError::InflatesPastDeclared {
            name: name.clone(),
            declared,
        });
    }
    if actual < declared {
        return Err(ArtifactError::EntryCorrupt {
            name: name.clone(),
            reason: format!(
                "it inflates to `{actual}` bytes, fewer than its declared `{declared}`"
            ),
        });
    }
    let crc = crc32(&out);
    if crc != entry.crc {
        return Err(ArtifactError::CrcMismatch {
            name: name.clone(),
            expected: entry.crc,
            actual: crc,
        });
    }
    Ok(out)
}

/// Inflates raw DEFLATE data into at most `declared + 1` bytes: one byte past the claim proves
/// the claim false without inflating the rest.
fn inflate_capped(data: &[u8], declared: u64, name: &str) -> Result<Vec<u8>, ArtifactError> {
    use miniz_oxide::inflate::{decompress_to_vec_with_limit, TINFLStatus};
    if data.is_empty() {
        return Err(ArtifactError::EntryCorrupt {
            name: name.to_string(),
            reason: "its deflate data is empty".to_string(),
        });
    }
    // `declared` was checked against `max_entry`, so the cap is small; saturate on 32-bit.
    let cap = usize::try_from(declared.saturating_add(1)).unwrap_or(usize::MAX);
    match decompress_to_vec_with_limit(data, cap) {
        Ok(out) => Ok(out),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => {
            Err(ArtifactError::InflatesPastDeclared {
                name: name.to_string(),
                declared,
            })
        }
        Err(e) => Err(ArtifactError::EntryCorrupt {
            name: name.to_string(),
            reason: match e.status {
                TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                    "its deflate data ends early".to_string()
                }
                _ => "its deflate data is invalid".to_string(),
            },
        }),
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial `0xEDB88320`), as ZIP stores it.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        CRC_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    })
}

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::OnceLock;

    const CA: &[u8] = include_bytes!("../../tests/fixtures/rke2-server-ca.crt");
    const KUBECONFIG: &[u8] = include_bytes!("../../tests/fixtures/rke2.yaml");

    /// One entry as the test writer lays it out; the defaults make an honest archive.
    #[derive(Clone)]
    struct TestEntry {
        name: Vec<u8>,
        data: Vec<u8>,
        method: u16,
        flags: u16,
        /// Overrides the declared uncompressed size.
        declared: Option<u32>,
        /// Overrides the declared CRC-32.
        crc: Option<u32>,
        central_extra: Vec<u8>,
        made_by: u16,
        external: u32,
        /// Local header with zero sizes and CRC, a data descriptor after the data (bit 3), as
        /// upload-artifact's streaming writer does.
        descriptor: bool,
        /// Already deflated data (the bomb is compressed once for every test).
        payload: Option<Vec<u8>>,
    }

    impl TestEntry {
        fn stored(name: &str, data: &[u8]) -> Self {
            TestEntry {
                name: name.as_bytes().to_vec(),
                data: data.to_vec(),
                method: METHOD_STORED,
                flags: 1 << 11,
                declared: None,
                crc: None,
                central_extra: Vec::new(),
                made_by: 3 << 8 | 20,
                external: 0o100_644 << 16,
                descriptor: false,
                payload: None,
            }
        }

        fn deflated(name: &str, data: &[u8]) -> Self {
            TestEntry {
                method: METHOD_DEFLATE,
                ..TestEntry::stored(name, data)
            }
        }

        fn dir(name: &str) -> Self {
            TestEntry {
                external: 0o040_755 << 16,
                ..TestEntry::stored(name, b"")
            }
        }

        fn symlink(name: &str, target: &str) -> Self {
            TestEntry {
                external: 0o120_777 << 16,
                ..TestEntry::stored(name, target.as_bytes())
            }
        }
    }

    fn zip(entries: &[TestEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for e in entries {
            let offset = out.len() as u32;
            let payload = match (&e.payload, e.method) {
                (Some(p), _) => p.clone(),
                (None, METHOD_DEFLATE) => miniz_oxide::deflate::compress_to_vec(&e.data, 6),
                (None, _) => e.data.clone(),
            };
            let crc = e.crc.unwrap_or_else(|| crc32(&e.data));
            let size = e.declared.unwrap_or(e.data.len() as u32);
            let csize = payload.len() as u32;
            let flags = e.flags | if e.descriptor { 1 << 3 } else { 0 };
            let (l_crc, l_csize, l_size) = if e.descriptor {
                (0, 0, 0)
            } else {
                (crc, csize, size)
            };
            out.extend_from_slice(LOCAL_SIG);
            for v in [20u16, flags, e.method, 0, 0x21] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in [l_crc, l_csize, l_size] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&e.name);
            out.extend_from_slice(&payload);
            if e.descriptor {
                out.extend_from_slice(b"PK\x07\x08");
                for v in [crc, csize, size] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            central.extend_from_slice(CENTRAL_SIG);
            for v in [e.made_by, 20, flags, e.method, 0, 0x21] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc, csize, size] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            for v in [e.name.len() as u16, e.central_extra.len() as u16, 0, 0, 0] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            central.extend_from_slice(&e.external.to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(&e.name);
            central.extend_from_slice(&e.central_extra);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(EOCD_SIG);
        let n = entries.len() as u16;
        for v in [0u16, 0, n, n] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn extract(bytes: &[u8], wanted: Option<&str>) -> Result<ExtractedFile, ArtifactError> {
        extract_ca(bytes, true, None, wanted, &Limits::default())
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// 50 MiB of zeros, deflated once and shared by the bomb tests. Level 1 (~230 KiB, a ratio
    /// of ~220) takes a third of the time of level 6 (~50 KiB) in an unoptimised test build.
    fn bomb() -> &'static Vec<u8> {
        static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
        BOMB.get_or_init(|| miniz_oxide::deflate::compress_to_vec(&vec![0u8; 50 << 20], 1))
    }

    fn bomb_entry(declared: u32) -> TestEntry {
        TestEntry {
            payload: Some(bomb().clone()),
            // Never checked: every bomb is refused before its CRC could be.
            crc: Some(0),
            declared: Some(declared),
            ..TestEntry::deflated("k8s-ca.crt", b"")
        }
    }

    #[test]
    fn crc32_matches_the_ieee_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_normal_artifact_with_one_ca_file() {
        for (how, entry) in [
            ("stored", TestEntry::stored("k8s-ca.crt", CA)),
            ("deflated", TestEntry::deflated("k8s-ca.crt", CA)),
            (
                "deflated with a data descriptor",
                TestEntry {
                    descriptor: true,
                    ..TestEntry::deflated("k8s-ca.crt", CA)
                },
            ),
        ] {
            let got = extract(&zip(std::slice::from_ref(&entry)), None)
                .unwrap_or_else(|e| panic!("{how}: {e}"));
            assert_eq!(got.name, "k8s-ca.crt", "{how}");
            assert_eq!(got.bytes, CA, "{how}");
            let by_path = extract(&zip(&[entry]), Some("k8s-ca.crt")).unwrap();
            assert_eq!(by_path.bytes, CA, "{how}");
        }
    }

    #[test]
    fn a_folder_and_several_files_with_wanted() {
        let archive = zip(&[
            TestEntry::dir("tls/"),
            TestEntry::deflated("tls/server-ca.crt", CA),
            TestEntry::deflated("tls/client-ca.crt", b"other"),
            TestEntry::deflated("rke2.yaml", KUBECONFIG),
            TestEntry::stored("README.md", b"notes"),
        ]);
        let got = extract(&archive, Some("tls/server-ca.crt")).unwrap();
        assert_eq!(got.name, "tls/server-ca.crt");
        assert_eq!(got.bytes, CA);
        let got = extract(&archive, Some("rke2.yaml")).unwrap();
        assert_eq!(got.bytes, KUBECONFIG);
    }

    #[test]
    fn wanted_missing_lists_the_files() {
        let archive = zip(&[
            TestEntry::dir("tls/"),
            TestEntry::deflated("tls/server-ca.crt", CA),
            TestEntry::stored("README.md", b"notes"),
        ]);
        for wanted in ["server-ca.crt", "tls", "tls/"] {
            let err = extract(&archive, Some(wanted)).unwrap_err();
            assert_eq!(
                err,
                ArtifactError::PathNotInArchive {
                    wanted: wanted.to_string(),
                    entries: names(&["tls/server-ca.crt", "README.md"]),
                }
            );
        }
        let err = extract(&archive, Some("server-ca.crt")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`server-ca.crt` is not a file of the artifact (files: `tls/server-ca.crt`, \
             `README.md`)"
        );
        assert_eq!(err.class(), ErrorClass::User);
        assert!(err.hint().unwrap().contains("relative to the `path:`"));
    }

    #[test]
    fn choosing_without_wanted() {
        // One file named like a CA among others is taken.
        let archive = zip(&[
            TestEntry::dir("out/"),
            TestEntry::stored("out/README.md", b"notes"),
            TestEntry::deflated("out/ca.pem", CA),
        ]);
        assert_eq!(extract(&archive, None).unwrap().name, "out/ca.pem");
        // Any single file is taken, whatever its name.
        let archive = zip(&[TestEntry::dir("x/"), TestEntry::stored("x/cluster", CA)]);
        assert_eq!(extract(&archive, None).unwrap().name, "x/cluster");
        // Several candidates: an error that lists them and asks for `ca-artifact-path`.
        let archive = zip(&[
            TestEntry::deflated("server-ca.crt", CA),
            TestEntry::deflated("rke2.yaml", KUBECONFIG),
            TestEntry::stored("notes.txt", b"notes"),
        ]);
        let err = extract(&archive, None).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::Ambiguous {
                entries: names(&["server-ca.crt", "rke2.yaml", "notes.txt"]),
                candidates: names(&["server-ca.crt", "rke2.yaml"]),
            }
        );
        assert_eq!(
            err.to_string(),
            "the artifact holds several files and 2 of them are named like a CA or kubeconfig \
             (`server-ca.crt`, `rke2.yaml`) (files: `server-ca.crt`, `rke2.yaml`, `notes.txt`)"
        );
        assert_eq!(
            err.hint().unwrap(),
            "set `ca-artifact-path` to the CA's path inside the artifact, e.g. \
             `ca-artifact-path: server-ca.crt`"
        );
        // No candidate at all.
        let archive = zip(&[
            TestEntry::stored("a.txt", b"a"),
            TestEntry::stored("b.txt", b"b"),
        ]);
        let err = extract(&archive, None).unwrap_err();
        assert!(err.to_string().contains("none is named like a CA"), "{err}");
        // Only folders, or nothing.
        let err = extract(&zip(&[TestEntry::dir("empty/")]), None).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::NoFiles {
                entries: names(&["empty/"])
            }
        );
        let err = extract(&zip(&[]), None).unwrap_err();
        assert_eq!(err, ArtifactError::NoFiles { entries: vec![] });
    }

    #[test]
    fn a_symlink_is_not_a_file() {
        let archive = zip(&[
            TestEntry::symlink("ca.crt", "/etc/shadow"),
            TestEntry::stored("real.txt", b"x"),
        ]);
        // Without `wanted` the single regular file is taken, the link is never a candidate.
        assert_eq!(extract(&archive, None).unwrap().name, "real.txt");
        assert_eq!(
            extract(&archive, Some("ca.crt")).unwrap_err(),
            ArtifactError::NotRegularFile {
                name: "ca.crt".into()
            }
        );
    }

    /// 50 MiB of zeros deflated to ~230 KiB: refused from the central directory alone. The test
    /// stays fast because nothing is inflated (only the one-time compression costs time).
    #[test]
    fn a_zip_bomb_is_refused_without_inflating_it() {
        let archive = zip(&[bomb_entry(50 << 20)]);
        let compressed = bomb().len() as u64;
        assert!(compressed < 300 * 1024, "{compressed}");
        let err = extract(&archive, None).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::RatioTooHigh {
                name: "k8s-ca.crt".into(),
                compressed,
                uncompressed: 50 << 20,
                limit: 100,
            }
        );
        assert_eq!(err.class(), ErrorClass::User);
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("zip bomb") && hint.contains("a few KiB"),
            "{hint}"
        );

        // Without the ratio limit, the declared size alone refuses it.
        let lax = Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        };
        let err = extract_ca(&archive, true, None, None, &lax).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::EntryTooLarge {
                name: "k8s-ca.crt".into(),
                size: 50 << 20,
                limit: 1 << 20,
            }
        );
    }

    /// The header says 100 bytes, the data inflates to 50 MiB: inflating stops at 101 bytes.
    #[test]
    fn a_declared_size_that_lies_is_refused_at_the_cap() {
        let archive = zip(&[bomb_entry(100)]);
        let err = extract(&archive, None).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::InflatesPastDeclared {
                name: "k8s-ca.crt".into(),
                declared: 100,
            }
        );
        assert_eq!(err.class(), ErrorClass::Remote);
        // A smaller lie, for a stored entry, is a malformed archive.
        let stored = TestEntry {
            declared: Some(10),
            ..TestEntry::stored("k8s-ca.crt", CA)
        };
        let err = extract(&zip(&[stored]), None).unwrap_err();
        assert!(matches!(err, ArtifactError::ZipMalformed { .. }), "{err}");
        // Data that inflates to less than declared.
        let short = TestEntry {
            declared: Some(CA.len() as u32 + 5),
            ..TestEntry::deflated("k8s-ca.crt", CA)
        };
        let err = extract(&zip(&[short]), None).unwrap_err();
        assert!(matches!(err, ArtifactError::EntryCorrupt { .. }), "{err}");
    }

    #[test]
    fn unsafe_entry_names_refuse_the_whole_archive() {
        let rows: [(&[u8], UnsafeName); 8] = [
            (b"../evil", UnsafeName::ParentSegment),
            (b"tls/../../evil", UnsafeName::ParentSegment),
            (b"..", UnsafeName::ParentSegment),
            (b"/etc/passwd", UnsafeName::Absolute),
            (b"C:/Windows/evil", UnsafeName::DriveLetter),
            (b"tls\\ca.crt", UnsafeName::Backslash),
            (b"ca.crt\0.txt", UnsafeName::Nul),
            (b"", UnsafeName::Empty),
        ];
        for (name, reason) in rows {
            let evil = TestEntry {
                name: name.to_vec(),
                ..TestEntry::stored("", b"x")
            };
            // The good entry comes first and is asked for: it is still not read.
            let archive = zip(&[TestEntry::stored("k8s-ca.crt", CA), evil]);
            let err = extract(&archive, Some("k8s-ca.crt")).unwrap_err();
            assert_eq!(
                err,
                ArtifactError::UnsafeEntry {
                    position: 2,
                    name: String::from_utf8_lossy(name).into_owned(),
                    reason,
                },
                "{name:?}"
            );
            assert!(err.to_string().ends_with("the whole archive is refused"));
            assert!(err.hint().unwrap().contains("no entry is read"));
        }
        let err = extract(&zip(&[TestEntry::stored("../evil", b"x")]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry 1 (`../evil`) of the artifact zip has a `..` segment: the whole archive is \
             refused"
        );
        let err = extract(
            &zip(&[
                TestEntry::stored("a\nb", b"x"),
                TestEntry::stored("a\nb", b"y"),
            ]),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the artifact zip holds `a\\nb` twice: the whole archive is refused"
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let archive = zip(&[
            TestEntry::stored("k8s-ca.crt", CA),
            TestEntry::stored("other", b"x"),
            TestEntry::stored("k8s-ca.crt", b"not the CA"),
        ]);
        let err = extract(&archive, Some("k8s-ca.crt")).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::DuplicateEntry {
                name: "k8s-ca.crt".into()
            }
        );
    }

    #[test]
    fn encryption_is_refused() {
        let flagged = TestEntry {
            flags: 1,
            ..TestEntry::stored("k8s-ca.crt", CA)
        };
        let aes_extra = TestEntry {
            central_extra: vec![0x01, 0x99, 7, 0, 2, 0, b'A', b'E', 3, 8, 0],
            ..TestEntry::stored("k8s-ca.crt", CA)
        };
        let aes_method = TestEntry {
            method: METHOD_AES,
            ..TestEntry::stored("k8s-ca.crt", CA)
        };
        for entry in [flagged, aes_extra, aes_method] {
            let err = extract(&zip(&[entry]), None).unwrap_err();
            assert_eq!(
                err,
                ArtifactError::Encrypted {
                    name: "k8s-ca.crt".into()
                }
            );
            assert_eq!(err.class(), ErrorClass::User);
        }
    }

    #[test]
    fn unsupported_compression_is_refused() {
        let bzip2 = TestEntry {
            method: 12,
            ..TestEntry::stored("k8s-ca.crt", CA)
        };
        let err = extract(&zip(&[bzip2]), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry `k8s-ca.crt` of the artifact zip uses compression method `12` (only stored `0` \
             and deflate `8` are read)"
        );
    }

    #[test]
    fn a_crc_mismatch_is_refused() {
        let entry = TestEntry {
            crc: Some(0xDEAD_BEEF),
            ..TestEntry::deflated("k8s-ca.crt", CA)
        };
        let err = extract(&zip(&[entry]), None).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::CrcMismatch {
                name: "k8s-ca.crt".into(),
                expected: 0xDEAD_BEEF,
                actual: crc32(CA),
            }
        );
        assert!(err.to_string().contains("`deadbeef`"), "{err}");
        assert_eq!(err.class(), ErrorClass::Remote);
    }

    #[test]
    fn too_many_entries_are_refused_before_reading_them() {
        let entries: Vec<TestEntry> = (0..65)
            .map(|i| TestEntry::stored(&format!("f{i}.txt"), b"x"))
            .collect();
        let err = extract(&zip(&entries), None).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::TooManyEntries {
                count: 65,
                limit: 64
            }
        );
        assert!(err.hint().unwrap().contains("a few KiB"));
        // 64 entries are fine.
        let mut entries = entries;
        entries.truncate(63);
        entries.push(TestEntry::stored("k8s-ca.crt", CA));
        assert_eq!(extract(&zip(&entries), None).unwrap().name, "k8s-ca.crt");
    }

    #[test]
    fn sizes_over_the_limits_are_refused() {
        let big = vec![b'a'; 300 * 1024];
        let limits = Limits {
            max_entry: 200 * 1024,
            ..Limits::default()
        };
        // Stored, so the ratio is 1: the size limit alone refuses it.
        let err = extract_ca(
            &zip(&[TestEntry::stored("big.crt", &big)]),
            true,
            None,
            None,
            &limits,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ArtifactError::EntryTooLarge {
                name: "big.crt".into(),
                size: 300 * 1024,
                limit: 200 * 1024
            }
        );
        let limits = Limits {
            max_total: 500 * 1024,
            ..Limits::default()
        };
        let archive = zip(&[
            TestEntry::stored("a.crt", &big),
            TestEntry::stored("b.crt", &big),
        ]);
        let err = extract_ca(&archive, true, None, Some("a.crt"), &limits).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::TotalTooLarge {
                total: 600 * 1024,
                limit: 500 * 1024
            }
        );
        // The download itself.
        let limits = Limits {
            max_download: 100,
            ..Limits::default()
        };
        let err = extract_ca(CA, false, Some("ca.crt"), None, &limits).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::DownloadTooLarge {
                size: CA.len() as u64,
                limit: 100
            }
        );
        // A small, very compressible entry is not a bomb.
        let archive = zip(&[TestEntry::deflated("k8s-ca.crt", &[b' '; 8192])]);
        assert!(extract(&archive, None).is_ok());
    }

    #[test]
    fn zip64_and_broken_archives_are_refused() {
        let good = zip(&[TestEntry::deflated("k8s-ca.crt", CA)]);
        // Entry count 0xFFFF in the end record means zip64.
        let mut zip64 = good.clone();
        let eocd = zip64.len() - EOCD_LEN;
        zip64[eocd + 8..eocd + 12].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(extract(&zip64, None).unwrap_err(), ArtifactError::Zip64);
        // A zip64 extra field in the central directory.
        let extra = TestEntry {
            central_extra: vec![0x01, 0x00, 0, 0],
            ..TestEntry::deflated("k8s-ca.crt", CA)
        };
        assert_eq!(
            extract(&zip(&[extra]), None).unwrap_err(),
            ArtifactError::Zip64
        );
        // Truncated downloads.
        for cut in [10, good.len() / 2, good.len() - 1] {
            let err = extract(&good[..cut], None).unwrap_err();
            assert!(
                matches!(err, ArtifactError::ZipMalformed { .. }),
                "{cut}: {err}"
            );
            assert_eq!(err.class(), ErrorClass::Remote);
        }
        // Damaged deflate data.
        let mut damaged = good.clone();
        for b in &mut damaged[40..60] {
            *b = 0xFF;
        }
        let err = extract(&damaged, None).unwrap_err();
        assert!(
            matches!(
                err,
                ArtifactError::EntryCorrupt { .. }
                    | ArtifactError::CrcMismatch { .. }
                    | ArtifactError::InflatesPastDeclared { .. }
            ),
            "{err}"
        );
        // The central directory declares fewer entries than it holds.
        let two = zip(&[TestEntry::stored("a.crt", CA), TestEntry::stored("b", b"x")]);
        let mut hidden = two.clone();
        let eocd = hidden.len() - EOCD_LEN;
        hidden[eocd + 8..eocd + 12].copy_from_slice(&[1, 0, 1, 0]);
        let err = extract(&hidden, None).unwrap_err();
        assert!(
            err.to_string().contains("more than the `1` entries"),
            "{err}"
        );
        // A local header that names another file than the central directory.
        let mut renamed = zip(&[TestEntry::stored("k8s-ca.crt", CA)]);
        renamed[LOCAL_LEN] = b'X';
        let err = extract(&renamed, None).unwrap_err();
        assert!(err.to_string().contains("names another file"), "{err}");
    }

    #[test]
    fn raw_uploads() {
        // Without `wanted`: the bytes are the file, named after Content-Disposition's basename.
        let got = extract_ca(CA, false, Some("server-ca.crt"), None, &Limits::default()).unwrap();
        assert_eq!(got.name, "server-ca.crt");
        assert_eq!(got.bytes, CA);
        let got = extract_ca(CA, false, Some("../../x/ca.crt"), None, &Limits::default()).unwrap();
        assert_eq!(got.name, "ca.crt");
        let got = extract_ca(CA, false, None, None, &Limits::default()).unwrap();
        assert_eq!(got.name, "");
        // With `wanted`: it must be the uploaded file's name.
        let got = extract_ca(
            CA,
            false,
            Some("server-ca.crt"),
            Some("server-ca.crt"),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(got.bytes, CA);
        let err = extract_ca(
            CA,
            false,
            Some("server-ca.crt"),
            Some("tls/ca.crt"),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ArtifactError::RawNameMismatch {
                wanted: "tls/ca.crt".into(),
                raw_name: Some("server-ca.crt".into())
            }
        );
        assert_eq!(
            err.to_string(),
            "`ca-artifact-path` is `tls/ca.crt`, but the artifact is one raw file named \
             `server-ca.crt`"
        );
        assert!(err
            .hint()
            .unwrap()
            .contains("`ca-artifact-path: server-ca.crt`"));
        let err = extract_ca(CA, false, None, Some("ca.crt"), &Limits::default()).unwrap_err();
        assert!(
            err.to_string().ends_with("whose name GitHub did not send"),
            "{err}"
        );
        // A raw file over the per-file limit.
        let limits = Limits {
            max_entry: 10,
            ..Limits::default()
        };
        let err = extract_ca(CA, false, Some("ca.crt"), None, &limits).unwrap_err();
        assert!(matches!(err, ArtifactError::EntryTooLarge { .. }), "{err}");
    }

    #[test]
    fn content_type_and_bytes_that_disagree() {
        let err = extract_ca(CA, true, None, None, &Limits::default()).unwrap_err();
        assert_eq!(err, ArtifactError::NotZip { shape: "PEM text" });
        assert_eq!(
            err.to_string(),
            "the artifact download was served as a zip, but it is PEM text, not a zip archive"
        );
        assert_eq!(err.class(), ErrorClass::Remote);
        assert!(err.hint().unwrap().contains("archive: false"));
        for (bytes, shape) in [
            (&b""[..], "empty"),
            (&b"<html>Not Found</html>"[..], "text"),
            (&b"\x1f\x8b\x08\x00\x00"[..], "binary data"),
        ] {
            let err = extract_ca(bytes, true, None, None, &Limits::default()).unwrap_err();
            assert_eq!(err, ArtifactError::NotZip { shape });
        }
        let archive = zip(&[TestEntry::stored("k8s-ca.crt", CA)]);
        let err =
            extract_ca(&archive, false, Some("ca.zip"), None, &Limits::default()).unwrap_err();
        assert_eq!(err, ArtifactError::UnexpectedZip);
    }

    fn listing() -> serde_json::Value {
        json!({
            "total_count": 5,
            "artifacts": [
                {"id": 11, "name": "k8s-ca", "size_in_bytes": 1200, "expired": false,
                 "digest": "sha256:aa", "created_at": "2025-01-01T00:00:00Z"},
                {"id": 42, "name": "k8s-ca", "size_in_bytes": 1300, "expired": false,
                 "digest": null, "created_at": "2025-01-02T00:00:00Z"},
                {"id": 99, "name": "k8s-ca", "size_in_bytes": 1400, "expired": true,
                 "created_at": "2025-01-03T00:00:00Z"},
                {"id": 30, "name": "K8S-CA-old", "size_in_bytes": 10, "expired": true},
                {"id": 31, "name": "logs", "size_in_bytes": 10, "expired": false},
            ]
        })
    }

    #[test]
    fn select_takes_the_newest_unexpired_duplicate() {
        let got = select_artifact(&listing(), "k8s-ca").unwrap();
        assert_eq!(
            got,
            ArtifactRef {
                id: 42,
                name: "k8s-ca".into(),
                size_in_bytes: 1300,
                digest: None,
                created_at: "2025-01-02T00:00:00Z".into(),
            }
        );
        // Pages merged by the caller: a list of artifacts, or a list of whole answers.
        let artifacts = listing()["artifacts"].clone();
        assert_eq!(select_artifact(&artifacts, "k8s-ca").unwrap().id, 42);
        let pages = json!([
            {"artifacts": [artifacts[0].clone(), artifacts[2].clone()]},
            {"artifacts": [artifacts[1].clone()]},
        ]);
        assert_eq!(select_artifact(&pages, "k8s-ca").unwrap().id, 42);
    }

    #[test]
    fn select_refuses_expired_and_missing_names() {
        let err = select_artifact(&listing(), "K8S-CA-old").unwrap_err();
        assert_eq!(
            err,
            ArtifactError::Expired {
                name: "K8S-CA-old".into(),
                id: 30,
                created_at: String::new(),
            }
        );
        assert!(err.hint().unwrap().contains("retention"));

        let err = select_artifact(&listing(), "K8S-CA").unwrap_err();
        assert_eq!(
            err,
            ArtifactError::NotFound {
                name: "K8S-CA".into(),
                available: names(&["k8s-ca", "logs"]),
                expired: names(&["K8S-CA-old", "k8s-ca"]),
            }
        );
        assert_eq!(
            err.to_string(),
            "this run has no artifact named `K8S-CA` (artifacts: `k8s-ca`, `logs`; expired: \
             `K8S-CA-old`, `k8s-ca`)"
        );
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("`name:` given to `actions/upload-artifact`"),
            "{hint}"
        );
        assert!(hint.contains("did you mean `k8s-ca`?"), "{hint}");
        assert!(
            hint.contains("artifacts of other runs are not read"),
            "{hint}"
        );
        assert_eq!(err.class(), ErrorClass::User);

        let err =
            select_artifact(&json!({"total_count": 0, "artifacts": []}), "k8s-ca").unwrap_err();
        assert_eq!(
            err.to_string(),
            "this run has no artifact named `k8s-ca` (it has no artifacts)"
        );
    }

    #[test]
    fn select_refuses_a_malformed_listing() {
        for (listing, reason) in [
            (
                json!({"message": "Not Found"}),
                "the answer has no `artifacts` list",
            ),
            (json!({"artifacts": {}}), "`artifacts` is not a list"),
            (
                json!("artifacts"),
                "the answer is neither an object nor a list",
            ),
            (
                json!([{"name": "k8s-ca", "size_in_bytes": 1}]),
                "`artifacts[0]` has no numeric `id`",
            ),
            (
                json!([{"id": 1, "name": "a", "size_in_bytes": 1}, {"id": "2", "name": "b"}]),
                "`artifacts[1]` has no numeric `id`",
            ),
            (
                json!([{"id": 1, "name": "a", "size_in_bytes": 1, "expired": "no"}]),
                "`artifacts[0]` has a non-boolean `expired`",
            ),
        ] {
            let err = select_artifact(&listing, "k8s-ca").unwrap_err();
            assert_eq!(
                err,
                ArtifactError::ListingMalformed {
                    reason: reason.into()
                }
            );
            assert_eq!(err.class(), ErrorClass::Remote);
        }
    }

    #[test]
    fn digests() {
        let hex = to_hex(&Sha256::digest(CA));
        verify_digest(CA, Some(&format!("sha256:{hex}"))).unwrap();
        verify_digest(CA, Some(&format!("sha256:{}", hex.to_uppercase()))).unwrap();
        verify_digest(CA, None).unwrap();
        verify_digest(CA, Some("")).unwrap();

        let other = to_hex(&Sha256::digest(b"other"));
        let err = verify_digest(CA, Some(&format!("sha256:{other}"))).unwrap_err();
        assert_eq!(
            err,
            ArtifactError::DigestMismatch {
                expected: other,
                actual: hex
            }
        );
        assert_eq!(err.class(), ErrorClass::Remote);
        for (digest, reason) in [
            ("md5:abc", "algorithm `md5` is not `sha256`"),
            (
                "sha256:abc",
                "`sha256:` is followed by 3 characters, not 64 hex digits",
            ),
            ("abcdef", "it has no `algorithm:` prefix"),
        ] {
            assert_eq!(
                verify_digest(CA, Some(digest)).unwrap_err(),
                ArtifactError::BadDigest {
                    reason: reason.into()
                }
            );
        }
    }

    #[test]
    fn declared_size_is_checked_before_download() {
        let mut artifact = select_artifact(&listing(), "k8s-ca").unwrap();
        check_declared_size(&artifact, &Limits::default()).unwrap();
        artifact.size_in_bytes = 9 * 1024 * 1024;
        let err = check_declared_size(&artifact, &Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "artifact `k8s-ca` (id `42`) is `9437184` bytes, over the `8388608`-byte download limit"
        );
        assert!(err.hint().unwrap().contains("a few KiB"));
        assert_eq!(err.class(), ErrorClass::User);
    }

    #[test]
    fn parse_artifact_path_rows() {
        let ok = [
            ("k8s-ca.crt", "k8s-ca.crt"),
            ("tls/server-ca.crt", "tls/server-ca.crt"),
            ("./tls//server-ca.crt", "tls/server-ca.crt"),
            ("a b/c..d", "a b/c..d"),
            ("..ca", "..ca"),
        ];
        for (input, want) in ok {
            assert_eq!(parse_artifact_path(input).unwrap(), want, "{input}");
        }
        let bad = [
            ("", "is empty"),
            ("../ca.crt", "has a `..` segment"),
            ("tls/../../ca.crt", "has a `..` segment"),
            ("..", "has a `..` segment"),
            (
                "/etc/ca.crt",
                "is absolute (it must be relative to the artifact's root)",
            ),
            (
                "C:/ca.crt",
                "starts with a drive letter (it must be relative to the artifact's root)",
            ),
            (
                "tls\\ca.crt",
                "contains a backslash (artifact paths use `/`)",
            ),
            ("ca\0.crt", "contains a NUL byte"),
            ("ca\n.crt", "contains a control character"),
            ("tls/", "ends with `/`, so it names a folder, not a file"),
            (".", "names no file"),
            ("./", "ends with `/`, so it names a folder, not a file"),
        ];
        for (input, reason) in bad {
            let err = parse_artifact_path(input).unwrap_err();
            assert_eq!(
                err,
                ArtifactError::BadArtifactPath {
                    path: input.into(),
                    reason
                },
                "{input:?}"
            );
            assert_eq!(err.class(), ErrorClass::User);
            assert!(err.hint().unwrap().contains("relative"), "{input:?}");
        }
        assert_eq!(
            parse_artifact_path("ca\n.crt").unwrap_err().to_string(),
            "input `ca-artifact-path` (`ca\\n.crt`) contains a control character"
        );
    }

    #[test]
    fn every_error_has_a_one_line_message_and_a_hint() {
        let all = [
            ArtifactError::ListingMalformed { reason: "r".into() },
            ArtifactError::NotFound {
                name: "n".into(),
                available: vec![],
                expired: vec![],
            },
            ArtifactError::Expired {
                name: "n".into(),
                id: 1,
                created_at: "t".into(),
            },
            ArtifactError::DeclaredTooLarge {
                name: "n".into(),
                id: 1,
                size: 2,
                limit: 1,
            },
            ArtifactError::DownloadTooLarge { size: 2, limit: 1 },
            ArtifactError::DigestMismatch {
                expected: "a".into(),
                actual: "b".into(),
            },
            ArtifactError::BadDigest { reason: "r".into() },
            ArtifactError::BadArtifactPath {
                path: "p".into(),
                reason: "r",
            },
            ArtifactError::NotZip { shape: "text" },
            ArtifactError::UnexpectedZip,
            ArtifactError::ZipMalformed { reason: "r".into() },
            ArtifactError::Zip64,
            ArtifactError::TooManyEntries { count: 2, limit: 1 },
            ArtifactError::UnsafeEntry {
                position: 1,
                name: "n".into(),
                reason: UnsafeName::Absolute,
            },
            ArtifactError::DuplicateEntry { name: "n".into() },
            ArtifactError::Encrypted { name: "n".into() },
            ArtifactError::UnsupportedCompression {
                name: "n".into(),
                method: 1,
            },
            ArtifactError::EntryTooLarge {
                name: "n".into(),
                size: 2,
                limit: 1,
            },
            ArtifactError::TotalTooLarge { total: 2, limit: 1 },
            ArtifactError::RatioTooHigh {
                name: "n".into(),
                compressed: 1,
                uncompressed: 2,
                limit: 1,
            },
            ArtifactError::InflatesPastDeclared {
                name: "n".into(),
                declared: 1,
            },
            ArtifactError::EntryCorrupt {
                name: "n".into(),
                reason: "r".into(),
            },
            ArtifactError::CrcMismatch {
                name: "n".into(),
                expected: 1,
                actual: 2,
            },
            ArtifactError::PathNotInArchive {
                wanted: "w".into(),
                entries: vec![],
            },
            ArtifactError::NotRegularFile { name: "n".into() },
            ArtifactError::NoFiles { entries: vec![] },
            ArtifactError::Ambiguous {
                entries: vec![],
                candidates: vec![],
            },
            ArtifactError::RawNameMismatch {
                wanted: "w".into(),
                raw_name: None,
            },
        ];
        for err in all {
            let text = err.to_string();
            assert!(!text.contains('\n') && !text.ends_with('.'), "{text}");
            assert!(text.starts_with(|c: char| !c.is_uppercase()), "{text}");
            assert!(err.hint().is_some_and(|h| !h.is_empty()), "{text}");
        }
    }

    #[test]
    fn long_lists_are_cut() {
        let many: Vec<String> = (0..25).map(|i| format!("f{i}")).collect();
        let text = list_names(&many);
        assert!(text.ends_with("`f19` and 5 more"), "{text}");
    }

    #[test]
    fn extracted_file_debug_hides_the_bytes() {
        let file = ExtractedFile {
            name: "rke2.yaml".into(),
            bytes: b"client-key-data: c2VjcmV0".to_vec(),
        };
        assert_eq!(
            format!("{file:?}"),
            "ExtractedFile { name: \"rke2.yaml\", bytes: <25 bytes> }"
        );
    }
}
