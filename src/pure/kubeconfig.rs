//! Kubeconfig parsing: from the text of a kubeconfig to the CA of its current context's cluster.
//!
//! Owns the part of the kubeconfig schema a CA reader needs (`current-context` → `contexts[]` →
//! `clusters[]` → `certificate-authority-data` / `certificate-authority` /
//! `insecure-skip-tls-verify`) and the rules client-go applies to it: YAML or JSON, names are
//! unique per list, inline data wins over a file, `DATA+OMITTED` is a placeholder and not a CA.
//!
//! It must never read a file (a `certificate-authority` path is returned as written, for the
//! caller to resolve against the kubeconfig's folder), parse a certificate (the `ca` module does),
//! keep a credential value (only the names of the credential fields the user entry carries), or
//! quote input bytes in an error or a warning: names, values and the YAML/JSON parsers' own
//! messages may hold secrets, so errors carry positions, list indices and schema field names only.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use serde_yaml::{Mapping, Value};

use super::{Diagnostic, ErrorClass};

/// Where RKE2 writes the admin kubeconfig on a server node (it carries the CA inline).
const RKE2_KUBECONFIG: &str = "/etc/rancher/rke2/rke2.yaml";
/// The RKE2 server CA bundle, the CA the API server's serving certificate chains to.
const RKE2_SERVER_CA: &str = "/var/lib/rancher/rke2/server/tls/server-ca.crt";
/// The export that keeps `*-data` fields and inlines referenced files.
const RAW_EXPORT: &str = "kubectl config view --raw --minify --flatten";

/// What `kubectl config view` writes instead of a value when run without `--raw`:
/// `DATA+OMITTED` for `*-data` fields, `REDACTED` for secrets in newer kubectl. Both are valid
/// base64 alphabet and would decode to junk bytes, so they are recognised before decoding.
const PLACEHOLDERS: [&str; 2] = ["DATA+OMITTED", "REDACTED"];

/// The credential fields of a kubeconfig `user` entry, in the order [`Kubeconfig::credentials`]
/// lists them.
const CREDENTIAL_FIELDS: [&str; 9] = [
    "client-certificate-data",
    "client-key-data",
    "client-certificate",
    "client-key",
    "token",
    "tokenFile",
    "password",
    "exec",
    "auth-provider",
];

/// The current context of a kubeconfig, resolved to its cluster's CA. Holds no credential value:
/// only the names of the credential fields its user entries carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kubeconfig {
    /// Name of the current context (data from the file: never put it in an error message).
    pub context: String,
    /// Name of the current context's cluster (data from the file, like `context`).
    pub cluster: String,
    /// `cluster.server` as written, e.g. `https://127.0.0.1:6443` in RKE2's `rke2.yaml`; `None`
    /// when absent or empty.
    pub server: Option<String>,
    /// Where the cluster's CA is.
    pub ca: CaReference,
    /// `cluster.insecure-skip-tls-verify`; when true, [`Kubeconfig::warnings`] says so.
    pub insecure_skip_tls_verify: bool,
    /// Credential fields any `users[]` entry carries (not only the current context's user: the
    /// file holds them all), by kubeconfig field name, in a fixed order: any of
    /// `client-certificate-data`, `client-key-data`, `client-certificate`, `client-key`,
    /// `token`, `tokenFile`, `password`, `exec`, `auth-provider`. Empty when none.
    pub credentials: Vec<&'static str>,
    /// Warnings a person should read, e.g. both `certificate-authority-data` and
    /// `certificate-authority` set (data wins, as client-go does).
    pub warnings: Vec<String>,
}

/// Where the current context's cluster keeps its CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaReference {
    /// Decoded bytes of `certificate-authority-data` (usually a PEM bundle; not checked here).
    Data(Vec<u8>),
    /// `certificate-authority` path as written; a relative path is relative to the kubeconfig's
    /// folder, not the working directory, and the caller resolves it.
    File(String),
}

/// The syntax a kubeconfig text was read as: JSON when its first non-whitespace character is
/// `{`, YAML otherwise (kubectl reads both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeconfigFormat {
    Yaml,
    Json,
}

impl fmt::Display for KubeconfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KubeconfigFormat::Yaml => "YAML",
            KubeconfigFormat::Json => "JSON",
        })
    }
}

/// A place in the kubeconfig text, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Why a kubeconfig gives no usable CA. No variant holds input bytes: fields are located by
/// schema path and list index (`clusters[1].cluster.server`), text by line and column.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KubeconfigError {
    /// The text does not parse. The parser's message is dropped because it quotes input bytes;
    /// only the position is kept.
    #[error("kubeconfig is not valid {format}{}", at(.position))]
    Syntax {
        format: KubeconfigFormat,
        position: Option<Position>,
    },
    /// A mapping repeats a key (YAML forbids it; this crate's parsers refuse it for JSON too).
    /// The YAML parser reports where the mapping starts, the JSON parser where the repeated key
    /// ends.
    #[error("kubeconfig repeats a key in a {format} mapping{}", at(.position))]
    DuplicateKey {
        format: KubeconfigFormat,
        position: Option<Position>,
    },
    #[error("kubeconfig holds more than one YAML document")]
    MultipleDocuments,
    /// Nested deeper than any kubeconfig is (its schema is six levels deep). Refused before
    /// parsing: the YAML parser's cost grows with the square of the depth.
    #[error("kubeconfig nests deeper than a kubeconfig does (line {line})")]
    TooDeep { line: usize },
    /// The text parses, but to something other than a mapping (a PEM or base64 text parses as a
    /// YAML string).
    #[error("kubeconfig is not a {format} mapping (the document is {found})")]
    NotAMapping {
        format: KubeconfigFormat,
        found: &'static str,
    },
    /// A field the CA lookup needs has the wrong type. `field` is built from schema field names
    /// and list indices only.
    #[error("kubeconfig field `{field}` is not {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    /// Two entries of `clusters`, `contexts` or `users` share a name (client-go refuses this).
    #[error(
        "kubeconfig lists two {list} with the same name (`{list}[{first}]` and `{list}[{second}]`)"
    )]
    DuplicateName {
        list: &'static str,
        first: usize,
        second: usize,
    },
    /// `context`: a defined context whose name can be pasted into `kubectl config use-context`.
    #[error("kubeconfig has no `current-context`")]
    NoCurrentContext { context: Option<String> },
    #[error(
        "`current-context` names a context that the kubeconfig does not define (it defines {})",
        plural(.defined, "context")
    )]
    UnknownContext {
        defined: usize,
        context: Option<String>,
    },
    #[error("the current context (`contexts[{context_index}]`) names no cluster")]
    ContextWithoutCluster { context_index: usize },
    #[error(
        "the current context (`contexts[{context_index}]`) names a cluster that the kubeconfig \
         does not define (it defines {})",
        plural(.defined, "cluster")
    )]
    UnknownCluster {
        context_index: usize,
        defined: usize,
    },
    #[error(
        "`clusters[{cluster_index}].cluster.certificate-authority-data` holds the placeholder \
         `{placeholder}`, not a CA"
    )]
    CaDataOmitted {
        cluster_index: usize,
        placeholder: &'static str,
    },
    /// `reason` is written by this module and holds no input bytes.
    #[error(
        "`clusters[{cluster_index}].cluster.certificate-authority-data` is not valid base64: \
         {reason}"
    )]
    InvalidCaData {
        cluster_index: usize,
        reason: String,
    },
    #[error(
        "the current context's cluster (`clusters[{cluster_index}]`) sets \
         `insecure-skip-tls-verify: true` and has no CA, so it trusts any certificate"
    )]
    InsecureWithoutCa { cluster_index: usize },
    #[error(
        "the current context's cluster (`clusters[{cluster_index}]`) has no CA: neither \
         `certificate-authority-data` nor `certificate-authority` is set"
    )]
    NoCa { cluster_index: usize },
}

impl Diagnostic for KubeconfigError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        let hint = match self {
            KubeconfigError::Syntax {
                format: KubeconfigFormat::Yaml,
                ..
            } => format!(
                "fix the YAML at that position (it is not shown: a kubeconfig may hold \
                 credentials); YAML forbids tabs in indentation; `{RAW_EXPORT}` writes a \
                 well-formed kubeconfig"
            ),
            KubeconfigError::Syntax {
                format: KubeconfigFormat::Json,
                ..
            } => format!(
                "fix the JSON at that position (it is not shown: a kubeconfig may hold \
                 credentials); text starting with `{{` is read as JSON; `{RAW_EXPORT}` writes a \
                 well-formed kubeconfig"
            ),
            KubeconfigError::DuplicateKey {
                format: KubeconfigFormat::Yaml,
                ..
            } => "remove or rename the repeated key in the mapping that starts at that position \
                  (a YAML mapping is a block of keys at the same indentation)"
                .to_owned(),
            KubeconfigError::DuplicateKey {
                format: KubeconfigFormat::Json,
                ..
            } => "remove or rename the repeated key that ends at that position".to_owned(),
            KubeconfigError::TooDeep { .. } => format!(
                "pass the kubeconfig itself (`{RAW_EXPORT}` writes one); a kubeconfig nests at \
                 most a few levels, never {MAX_FLOW_DEPTH} brackets or {MAX_INDENT} columns"
            ),
            KubeconfigError::MultipleDocuments => {
                "keep one kubeconfig per file: remove the `---` line and what follows it, or \
                 split the file"
                    .to_owned()
            }
            KubeconfigError::NotAMapping { .. } => format!(
                "pass a kubeconfig file (such as `{RKE2_KUBECONFIG}` from a server node); a PEM \
                 or DER CA certificate goes in `ca-file` instead"
            ),
            KubeconfigError::WrongType { .. } => format!(
                "give the field the type the kubeconfig schema expects (names and paths are \
                 strings, `insecure-skip-tls-verify` is `true` or `false`); `{RAW_EXPORT}` writes \
                 a well-formed kubeconfig"
            ),
            KubeconfigError::DuplicateName { .. } => {
                "rename or remove one of the two entries; kubectl refuses this file too".to_owned()
            }
            KubeconfigError::NoCurrentContext {
                context: Some(name),
            } => format!(
                "set it with `kubectl config use-context {name}` (with `KUBECONFIG` naming the \
                 file; `kubectl config get-contexts` lists the others), or pass a kubeconfig \
                 with `current-context` set"
            ),
            KubeconfigError::NoCurrentContext { context: None } => {
                "add a context and set `current-context` to its name, or pass the kubeconfig \
                 of a server node (`/etc/rancher/rke2/rke2.yaml`)"
                    .to_owned()
            }
            KubeconfigError::UnknownContext {
                context: Some(name),
                ..
            } => format!(
                "pick a defined context with `kubectl config use-context {name}` (with \
                 `KUBECONFIG` naming the file; `kubectl config get-contexts` lists them all)"
            ),
            KubeconfigError::UnknownContext { context: None, .. } => {
                "list the contexts with `kubectl config get-contexts` and pick one with \
                 `kubectl config use-context`, or set `current-context` to a defined name"
                    .to_owned()
            }
            KubeconfigError::ContextWithoutCluster { context_index } => format!(
                "set `contexts[{context_index}].context.cluster` to the name of an entry in \
                 `clusters`, or pick another context (`kubectl config get-contexts` lists them)"
            ),
            KubeconfigError::UnknownCluster { context_index, .. } => format!(
                "add the cluster under `clusters`, or fix \
                 `contexts[{context_index}].context.cluster`; `{RAW_EXPORT}` exports the current \
                 context with its cluster"
            ),
            KubeconfigError::CaDataOmitted { .. } => format!(
                "the kubeconfig was exported without `--raw`, which hides every `*-data` field; \
                 export it with `{RAW_EXPORT}`"
            ),
            KubeconfigError::InvalidCaData { .. } => format!(
                "the field must hold the base64 of the CA's PEM (`base64 -w0 server-ca.crt`), or \
                 use `certificate-authority` with a path to the PEM file; `{RAW_EXPORT}` writes \
                 a well-formed kubeconfig"
            ),
            KubeconfigError::InsecureWithoutCa { .. } | KubeconfigError::NoCa { .. } => format!(
                "export the kubeconfig from a server node (`{RKE2_KUBECONFIG}` carries the CA in \
                 `certificate-authority-data`), or pass the CA file (`{RKE2_SERVER_CA}`) as \
                 `ca-file`"
            ),
        };
        Some(hint)
    }
}

/// `" (line 3, column 5)"`, or nothing when the parser gave no position.
fn at(position: &Option<Position>) -> String {
    match position {
        Some(Position { line, column }) => format!(" (line {line}, column {column})"),
        None => String::new(),
    }
}

/// `"1 context"`, `"2 contexts"`, `"0 contexts"`.
fn plural(count: &usize, noun: &str) -> String {
    if *count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Cheap content sniff: true when the bytes look like a kubeconfig (a YAML/JSON mapping with a
/// `clusters` key and `kind: Config`, or `clusters` plus `contexts`). Never errors. False for PEM
/// text, DER bytes and bare base64.
///
/// A text that fails to parse still counts when its top-level keys look like a kubeconfig's, so
/// that a broken kubeconfig reaches [`parse_kubeconfig`] and its position-bearing error instead
/// of being read as a certificate.
pub fn looks_like_kubeconfig(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    // PEM, DER and base64 never contain the word: skip parsing them.
    if !text.contains("clusters") {
        return false;
    }
    match parse_root(text) {
        Ok((root, _)) => {
            let kind_config = matches!(
                root.get("kind").map(untag),
                Some(Value::String(kind)) if kind == "Config"
            );
            root.contains_key("clusters") && (kind_config || root.contains_key("contexts"))
        }
        Err(_) => keys_look_like_kubeconfig(text),
    }
}

/// Line-based fallback of [`looks_like_kubeconfig`] for text that does not parse.
fn keys_look_like_kubeconfig(text: &str) -> bool {
    let text = strip_bom(text);
    if text.trim_start().starts_with('{') {
        return text.contains("\"clusters\"")
            && (text.contains("\"contexts\"") || text.contains("\"Config\""));
    }
    let top_level = |key: &str| text.lines().any(|line| line.starts_with(key));
    top_level("clusters:")
        && (top_level("contexts:") || text.lines().any(|line| line.trim_end() == "kind: Config"))
}

/// Parses a kubeconfig and resolves the CA of its `current-context`'s cluster.
///
/// Accepts YAML, and JSON when the first non-whitespace character is `{` (a leading UTF-8 BOM is
/// skipped). Unknown fields are ignored. Only the fields on the path from `current-context` to
/// the cluster are type-checked; the user entry is only looked at for which credential fields it
/// has, and a user entry that is missing or whose body is not a mapping is not an error.
pub fn parse_kubeconfig(text: &str) -> Result<Kubeconfig, KubeconfigError> {
    let (root, _) = parse_root(text)?;
    let current = string_at(&root, "current-context", "")?.ok_or_else(|| {
        KubeconfigError::NoCurrentContext {
            context: named_entries(&root, "contexts")
                .ok()
                .and_then(|c| pasteable_context(&c)),
        }
    })?;
    // client-go converts each list to a map and refuses duplicate names in any of them.
    let clusters = named_entries(&root, "clusters")?;
    let contexts = named_entries(&root, "contexts")?;
    let users = named_entries(&root, "users")?;

    let context_index =
        position_of(&contexts, current).ok_or_else(|| KubeconfigError::UnknownContext {
            defined: contexts.len(),
            context: pasteable_context(&contexts),
        })?;
    let context_path = format!("contexts[{context_index}]");
    let context = map_at(contexts[context_index].1, "context", &context_path)?;
    let context_path = format!("{context_path}.context");
    let cluster_name = match context {
        Some(context) => string_at(context, "cluster", &context_path)?,
        None => None,
    }
    .ok_or(KubeconfigError::ContextWithoutCluster { context_index })?;
    let cluster_index =
        position_of(&clusters, cluster_name).ok_or(KubeconfigError::UnknownCluster {
            context_index,
            defined: clusters.len(),
        })?;
    let empty = Mapping::new();
    let cluster = map_at(
        clusters[cluster_index].1,
        "cluster",
        &format!("clusters[{cluster_index}]"),
    )?
    .unwrap_or(&empty);
    let cluster_path = format!("clusters[{cluster_index}].cluster");
    let server = string_at(cluster, "server", &cluster_path)?.map(str::to_owned);
    let insecure = bool_at(cluster, "insecure-skip-tls-verify", &cluster_path)?.unwrap_or(false);
    let mut warnings = Vec::new();
    let ca = resolve_ca(cluster, cluster_index, insecure, &mut warnings)?;

    // Every user entry counts, not only the current context's: a file that carries any
    // credential is a credential file. Read leniently: a user whose body is not a mapping
    // simply carries no credential fields.
    let mut credentials: Vec<&'static str> = Vec::new();
    for (_, user) in &users {
        if let Some(Value::Mapping(user)) = entry(user, "user") {
            for field in credential_fields(user) {
                if !credentials.contains(&field) {
                    credentials.push(field);
                }
            }
        }
    }
    credentials.sort_by_key(|f| CREDENTIAL_FIELDS.iter().position(|c| c == f));

    Ok(Kubeconfig {
        context: current.to_owned(),
        cluster: cluster_name.to_owned(),
        server,
        ca,
        insecure_skip_tls_verify: insecure,
        credentials,
        warnings,
    })
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The deepest flow nesting (`[` and `{`) accepted. A kubeconfig written as JSON nests six.
const MAX_FLOW_DEPTH: usize = 32;
/// The widest block indentation accepted, in columns, counting each compact `- ` as two.
const MAX_INDENT: usize = 200;

/// Refuses text nested far deeper than a kubeconfig, before any parser sees it: the YAML
/// parser spends time quadratic in the depth, so 400 KB of `[[[…` would cost minutes of CPU.
/// One linear pass; quotes and comments are skipped so brackets inside strings do not count.
fn check_nesting(text: &str) -> Result<(), KubeconfigError> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (index, line) in text.lines().enumerate() {
        let too_deep = Err(KubeconfigError::TooDeep { line: index + 1 });
        if quote.is_none() && depth == 0 {
            let rest = line.trim_start_matches(' ');
            let mut indent = line.len() - rest.len();
            let mut rest = rest;
            while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
                indent += 2;
                rest = after.trim_start_matches(' ');
            }
            if indent > MAX_INDENT {
                return too_deep;
            }
        }
        let mut previous = ' ';
        for c in line.chars() {
            match (quote, c) {
                (Some('\''), '\'') | (Some('"'), '"') if previous != '\\' => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if previous == ' ' || previous == '\t' => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return too_deep;
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            // An escaped backslash does not escape the next quote.
            previous = if previous == '\\' && c == '\\' {
                ' '
            } else {
                c
            };
        }
        // A single-quoted YAML scalar escapes `'` by doubling it, which the toggling handles.
    }
    Ok(())
}

/// Parses the text into its top-level mapping. Parser messages are dropped (they quote input);
/// only their position survives.
fn parse_root(text: &str) -> Result<(Mapping, KubeconfigFormat), KubeconfigError> {
    let text = strip_bom(text);
    check_nesting(text)?;
    let format = if text.trim_start().starts_with('{') {
        KubeconfigFormat::Json
    } else {
        KubeconfigFormat::Yaml
    };
    let value = match format {
        KubeconfigFormat::Json => serde_json::from_str::<Value>(text).map_err(|error| {
            // serde_json reports line 0 when it has no position.
            let position = (error.line() > 0).then(|| Position {
                line: error.line(),
                column: error.column(),
            });
            classify_parse_error(&error.to_string(), format, position)
        })?,
        KubeconfigFormat::Yaml => serde_yaml::from_str::<Value>(text).map_err(|error| {
            let position = error.location().map(|location| Position {
                line: location.line(),
                column: location.column(),
            });
            classify_parse_error(&error.to_string(), format, position)
        })?,
    };
    match into_untagged(value) {
        Value::Mapping(root) => Ok((root, format)),
        other => Err(KubeconfigError::NotAMapping {
            format,
            found: kind_of(&other),
        }),
    }
}

/// [`untag`] for an owned value (no copy of a tree that may hold credentials).
fn into_untagged(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) => into_untagged(tagged.value),
        other => other,
    }
}

/// Turns a parser error into ours. The parser's message is only inspected, never kept: it quotes
/// keys and values. Matching on its wording is best effort; an unrecognised message still gives
/// a [`KubeconfigError::Syntax`] with the position.
fn classify_parse_error(
    message: &str,
    format: KubeconfigFormat,
    position: Option<Position>,
) -> KubeconfigError {
    if message.contains("duplicate entry ") {
        KubeconfigError::DuplicateKey { format, position }
    } else if message.contains("more than one document") {
        KubeconfigError::MultipleDocuments
    } else {
        KubeconfigError::Syntax { format, position }
    }
}

/// What a value is, in words, for [`KubeconfigError::NotAMapping`].
fn kind_of(value: &Value) -> &'static str {
    match untag(value) {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The value under a YAML tag (`!!str x` and custom tags alike).
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

/// The value under `key`, or `None` when absent or `null` (client-go leaves a null field at its
/// zero value, as if absent).
fn entry<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    match map.get(key).map(untag) {
        None | Some(Value::Null) => None,
        Some(value) => Some(value),
    }
}

fn wrong_type(parent: &str, key: &str, expected: &'static str) -> KubeconfigError {
    let field = if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    };
    KubeconfigError::WrongType { field, expected }
}

/// A string field; `None` when absent, null or empty (client-go treats `""` as unset).
fn string_at<'a>(
    map: &'a Mapping,
    key: &str,
    parent: &str,
) -> Result<Option<&'a str>, KubeconfigError> {
    match entry(map, key) {
        None => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(wrong_type(parent, key, "a string")),
    }
}

fn bool_at(map: &Mapping, key: &str, parent: &str) -> Result<Option<bool>, KubeconfigError> {
    match entry(map, key) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(wrong_type(parent, key, "a boolean")),
    }
}

fn map_at<'a>(
    map: &'a Mapping,
    key: &str,
    parent: &str,
) -> Result<Option<&'a Mapping>, KubeconfigError> {
    match entry(map, key) {
        None => Ok(None),
        Some(Value::Mapping(inner)) => Ok(Some(inner)),
        Some(_) => Err(wrong_type(parent, key, "a mapping")),
    }
}

/// The entries of a named list (`clusters`, `contexts`, `users`) as (name, entry) in file order,
/// so that an index into the result is the index in the file. A missing name is `""`, as in
/// client-go.
fn named_entries<'a>(
    root: &'a Mapping,
    list: &'static str,
) -> Result<Vec<(&'a str, &'a Mapping)>, KubeconfigError> {
    let items: &[Value] = match entry(root, list) {
        None => &[],
        Some(Value::Sequence(items)) => items,
        Some(_) => return Err(wrong_type("", list, "a list")),
    };
    let mut entries = Vec::with_capacity(items.len());
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("{list}[{index}]");
        let Value::Mapping(item) = untag(item) else {
            return Err(KubeconfigError::WrongType {
                field: path,
                expected: "a mapping",
            });
        };
        let name = string_at(item, "name", &path)?.unwrap_or("");
        if let Some(&first) = seen.get(name) {
            return Err(KubeconfigError::DuplicateName {
                list,
                first,
                second: index,
            });
        }
        seen.insert(name, index);
        entries.push((name, item));
    }
    Ok(entries)
}

/// The context to suggest for `kubectl config use-context`: the first defined one whose name
/// pastes into a shell as it is and cannot break the backticks around it (a name is text from
/// the file: no other is printed).
fn pasteable_context(contexts: &[(&str, &Mapping)]) -> Option<String> {
    let safe = |name: &str| {
        !name.is_empty()
            && name.len() <= 100
            && !name.starts_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@:/+=".contains(c))
    };
    contexts
        .iter()
        .map(|(name, _)| *name)
        .find(|name| safe(name))
        .map(str::to_owned)
}

fn position_of(entries: &[(&str, &Mapping)], name: &str) -> Option<usize> {
    entries
        .iter()
        .position(|(entry_name, _)| *entry_name == name)
}

/// Picks the CA of a cluster body as client-go does: inline data wins over a file.
fn resolve_ca(
    cluster: &Mapping,
    cluster_index: usize,
    insecure: bool,
    warnings: &mut Vec<String>,
) -> Result<CaReference, KubeconfigError> {
    let path = format!("clusters[{cluster_index}].cluster");
    let data = match string_at(cluster, "certificate-authority-data", &path)? {
        Some(text) => decode_ca_data(text, cluster_index)?,
        None => None,
    };
    let file = string_at(cluster, "certificate-authority", &path)?;
    let ca = match (data, file) {
        (Some(bytes), file) => {
            if file.is_some() {
                // client-go's validation reports the same combination and uses the data.
                warnings.push(format!(
                    "`{path}` sets both `certificate-authority-data` and `certificate-authority`; \
                     using `certificate-authority-data`, as client-go does"
                ));
            }
            CaReference::Data(bytes)
        }
        (None, Some(file)) => CaReference::File(file.to_owned()),
        (None, None) if insecure => {
            return Err(KubeconfigError::InsecureWithoutCa { cluster_index })
        }
        (None, None) => return Err(KubeconfigError::NoCa { cluster_index }),
    };
    if insecure {
        warnings.push(format!(
            "`{path}` sets `insecure-skip-tls-verify: true` next to its CA; using the CA \
             (kubectl itself refuses this combination)"
        ));
    }
    Ok(ca)
}

/// Decodes `certificate-authority-data`; `None` when it holds only whitespace. Whitespace and
/// line breaks inside are dropped first, so base64 wrapped over several lines is accepted.
fn decode_ca_data(text: &str, cluster_index: usize) -> Result<Option<Vec<u8>>, KubeconfigError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Ok(None);
    }
    if let Some(placeholder) = PLACEHOLDERS.iter().find(|p| **p == compact) {
        return Err(KubeconfigError::CaDataOmitted {
            cluster_index,
            placeholder,
        });
    }
    let invalid = |reason: String| KubeconfigError::InvalidCaData {
        cluster_index,
        reason,
    };
    if compact.starts_with("-----BEGIN") {
        return Err(invalid(
            "it holds PEM text, not the base64 of it".to_owned(),
        ));
    }
    // Padding is required, as Go's `base64.StdEncoding` (which client-go uses) requires it.
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(Some)
        .map_err(|error| invalid(describe_base64_error(&error)))
}

/// A base64 error in words, without the offending byte (it is input).
fn describe_base64_error(error: &base64::DecodeError) -> String {
    match error {
        base64::DecodeError::InvalidByte(offset, _) => format!(
            "unexpected character at position {} (whitespace not counted)",
            offset + 1
        ),
        base64::DecodeError::InvalidLastSymbol(offset, _) => format!(
            "the character at position {} (whitespace not counted) ends the data impossibly, \
             which suggests truncated or corrupted data",
            offset + 1
        ),
        base64::DecodeError::InvalidLength(length) => format!(
            "{length} base64 characters cannot be whole data, which suggests truncated data"
        ),
        base64::DecodeError::InvalidPadding => {
            "the `=` padding at the end is missing or wrong".to_owned()
        }
    }
}

/// The credential fields a user body carries; an empty string counts as absent.
fn credential_fields(user: &Mapping) -> Vec<&'static str> {
    CREDENTIAL_FIELDS
        .iter()
        .copied()
        .filter(|field| match entry(user, field) {
            None => false,
            Some(Value::String(text)) => !text.is_empty(),
            Some(_) => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// base64 of a fake PEM block; this module does not parse certificates.
    const RKE2_CA_B64: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClptRnJaU0J5YTJVeUxYTmxjblpsY2kxallRPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
    const RKE2_CA: &[u8] =
        b"-----BEGIN CERTIFICATE-----\nZmFrZSBya2UyLXNlcnZlci1jYQ==\n-----END CERTIFICATE-----\n";

    /// `/etc/rancher/rke2/rke2.yaml` as clientcmd writes it: keys sorted, all names `default`.
    const RKE2_YAML: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClptRnJaU0J5YTJVeUxYTmxjblpsY2kxallRPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Y2xpZW50IGNlcnQ=
    client-key-data: Y2xpZW50IGtleQ==
";

    /// `/var/lib/rancher/rke2/server/cred/admin.kubeconfig`, from k3s's text template.
    const RKE2_SERVER_CRED: &str = "apiVersion: v1
clusters:
- cluster:
    server: https://127.0.0.1:6443
    certificate-authority: /var/lib/rancher/rke2/server/tls/server-ca.crt
  name: local
contexts:
- context:
    cluster: local
    namespace: default
    user: user
  name: Default
current-context: Default
kind: Config
preferences: {}
users:
- name: user
  user:
    client-certificate: /var/lib/rancher/rke2/server/tls/client-admin.crt
    client-key: /var/lib/rancher/rke2/server/tls/client-admin.key
";

    const KUBEADM_ADMIN_CONF: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ZmFrZSBrdWJlYWRtIGNhIGJ5dGVz
    server: https://10.0.0.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Y2xpZW50IGNlcnQ=
    client-key-data: Y2xpZW50IGtleQ==
";

    /// Hand-merged file: the current context is the second one, and its cluster is the first.
    const MULTI_CONTEXT: &str = "apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://vip.prod.example:6443
    certificate-authority-data: c2Vjb25kIGNsdXN0ZXIgY2E=
- name: dev-cluster
  cluster:
    server: https://vip.dev.example:6443
    certificate-authority-data: ZmFrZSBrdWJlYWRtIGNhIGJ5dGVz
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user}
- name: prod
  context: {cluster: prod-cluster, user: prod-user, namespace: external-secrets}
users:
- name: dev-user
  user: {client-certificate-data: Y2xpZW50IGNlcnQ=, client-key-data: Y2xpZW50IGtleQ==}
- name: prod-user
  user:
    token: not-a-real-token
    exec: {apiVersion: client.authentication.k8s.io/v1, command: kubelogin}
";

    const JSON_FORM: &str = r#"{
  "apiVersion": "v1",
  "kind": "Config",
  "clusters": [
    {"name": "default", "cluster": {"server": "https://127.0.0.1:6443",
      "certificate-authority-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClptRnJaU0J5YTJVeUxYTmxjblpsY2kxallRPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="}}
  ],
  "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
  "current-context": "default",
  "preferences": {},
  "users": [{"name": "default", "user": {"token": "not-a-real-token"}}]
}
"#;

    /// JSON indented with tabs (YAML would refuse the tabs, JSON does not mind).
    const JSON_TABS: &str = concat!(
        "{\n",
        "\t\"apiVersion\": \"v1\",\n",
        "\t\"kind\": \"Config\",\n",
        "\t\"clusters\": [\n",
        "\t\t{\n",
        "\t\t\t\"name\": \"kubernetes\",\n",
        "\t\t\t\"cluster\": {\n",
        "\t\t\t\t\"server\": \"https://10.0.0.10:6443\",\n",
        "\t\t\t\t\"certificate-authority\": \"pki/ca.crt\"\n",
        "\t\t\t}\n",
        "\t\t}\n",
        "\t],\n",
        "\t\"contexts\": [\n",
        "\t\t{\"name\": \"admin\",\n",
        "\t\t\t\"context\": {\"cluster\": \"kubernetes\", \"user\": \"admin\"}}\n",
        "\t],\n",
        "\t\"current-context\": \"admin\"\n",
        "}\n",
    );

    /// A CA certificate as PEM text (truncated body; only its shape matters here).
    const PEM_TEXT: &str = concat!(
        "-----BEGIN CERTIFICATE-----\n",
        "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAj\n",
        "-----END CERTIFICATE-----\n",
    );

    fn rke2_expected() -> Kubeconfig {
        Kubeconfig {
            context: "default".to_owned(),
            cluster: "default".to_owned(),
            server: Some("https://127.0.0.1:6443".to_owned()),
            ca: CaReference::Data(RKE2_CA.to_vec()),
            insecure_skip_tls_verify: false,
            credentials: vec!["client-certificate-data", "client-key-data"],
            warnings: vec![],
        }
    }

    /// A minimal valid file with `cluster_body` as the body of the only cluster.
    fn with_cluster(cluster_body: &str) -> String {
        format!(
            "apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {{cluster: k, user: u}}
clusters:
- name: k
  cluster:
{cluster_body}
users:
- name: u
  user: {{token: not-a-real-token}}
"
        )
    }

    #[test]
    fn accepted_shapes() {
        let wrapped_literal = with_cluster(
            "    server: https://127.0.0.1:6443
    certificate-authority-data: |
      LS0tLS1CRUdJTiBDRVJU
      SUZJQ0FURS0tLS0tClpt
      RnJaU0J5YTJVeUxYTmxj
      blpsY2kxallRPT0KLS0t
      LS1FTkQgQ0VSVElGSUNB
      VEUtLS0tLQo=",
        );
        let wrapped_plain = with_cluster(
            "    server: https://127.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJU
      SUZJQ0FURS0tLS0tClptRnJaU0J5YTJVeUxYTmxj
      blpsY2kxallRPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
        );
        let wrapped_json = JSON_FORM
            .replace(
                "LS0tLS1CRUdJTiBDRVJU",
                "LS0tLS1CRUdJTiBDRVJU\\nSUZJ\\r\\nQ0FURS0t \\t",
            )
            .replacen("SUZJQ0FURS0t", "", 1);
        let both = with_cluster(&format!(
            "    server: https://127.0.0.1:6443
    certificate-authority: /var/lib/rancher/rke2/server/tls/server-ca.crt
    certificate-authority-data: {RKE2_CA_B64}"
        ));
        let insecure_with_ca = with_cluster(
            "    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
    insecure-skip-tls-verify: true",
        );
        let no_user_entry = RKE2_YAML.replace("- name: default\n  user:", "- name: other\n  user:");
        let bom = format!("\u{feff}{RKE2_YAML}");

        let data_user = |cluster: &str, ca: CaReference| Kubeconfig {
            context: "c".to_owned(),
            cluster: cluster.to_owned(),
            server: Some("https://127.0.0.1:6443".to_owned()),
            ca,
            insecure_skip_tls_verify: false,
            credentials: vec!["token"],
            warnings: vec![],
        };

        let rows: Vec<(&str, &str, Kubeconfig)> = vec![
            ("rke2.yaml", RKE2_YAML, rke2_expected()),
            ("rke2.yaml with a BOM", &bom, rke2_expected()),
            (
                "rke2 server cred kubeconfig",
                RKE2_SERVER_CRED,
                Kubeconfig {
                    context: "Default".to_owned(),
                    cluster: "local".to_owned(),
                    server: Some("https://127.0.0.1:6443".to_owned()),
                    ca: CaReference::File(
                        "/var/lib/rancher/rke2/server/tls/server-ca.crt".to_owned(),
                    ),
                    insecure_skip_tls_verify: false,
                    credentials: vec!["client-certificate", "client-key"],
                    warnings: vec![],
                },
            ),
            (
                "kubeadm admin.conf",
                KUBEADM_ADMIN_CONF,
                Kubeconfig {
                    context: "kubernetes-admin@kubernetes".to_owned(),
                    cluster: "kubernetes".to_owned(),
                    server: Some("https://10.0.0.10:6443".to_owned()),
                    ca: CaReference::Data(b"fake kubeadm ca bytes".to_vec()),
                    insecure_skip_tls_verify: false,
                    credentials: vec!["client-certificate-data", "client-key-data"],
                    warnings: vec![],
                },
            ),
            (
                "multi-context, current is the second",
                MULTI_CONTEXT,
                Kubeconfig {
                    context: "prod".to_owned(),
                    cluster: "prod-cluster".to_owned(),
                    server: Some("https://vip.prod.example:6443".to_owned()),
                    ca: CaReference::Data(b"second cluster ca".to_vec()),
                    insecure_skip_tls_verify: false,
                    credentials: vec![
                        "client-certificate-data",
                        "client-key-data",
                        "token",
                        "exec",
                    ],
                    warnings: vec![],
                },
            ),
            (
                "JSON",
                JSON_FORM,
                Kubeconfig {
                    credentials: vec!["token"],
                    ..rke2_expected()
                },
            ),
            (
                "JSON with tabs",
                JSON_TABS,
                Kubeconfig {
                    context: "admin".to_owned(),
                    cluster: "kubernetes".to_owned(),
                    server: Some("https://10.0.0.10:6443".to_owned()),
                    ca: CaReference::File("pki/ca.crt".to_owned()),
                    insecure_skip_tls_verify: false,
                    credentials: vec![],
                    warnings: vec![],
                },
            ),
            (
                "base64 wrapped in a literal block",
                &wrapped_literal,
                data_user("k", CaReference::Data(RKE2_CA.to_vec())),
            ),
            (
                "base64 wrapped as a plain multi-line scalar",
                &wrapped_plain,
                data_user("k", CaReference::Data(RKE2_CA.to_vec())),
            ),
            (
                "base64 with escaped line breaks in JSON",
                &wrapped_json,
                Kubeconfig {
                    credentials: vec!["token"],
                    ..rke2_expected()
                },
            ),
            (
                "data and file both set",
                &both,
                Kubeconfig {
                    warnings: vec![
                        "`clusters[0].cluster` sets both `certificate-authority-data` and \
                         `certificate-authority`; using `certificate-authority-data`, as \
                         client-go does"
                            .to_owned(),
                    ],
                    ..data_user("k", CaReference::Data(RKE2_CA.to_vec()))
                },
            ),
            (
                "insecure with a CA",
                &insecure_with_ca,
                Kubeconfig {
                    insecure_skip_tls_verify: true,
                    warnings: vec![
                        "`clusters[0].cluster` sets `insecure-skip-tls-verify: true` next to its \
                         CA; using the CA (kubectl itself refuses this combination)"
                            .to_owned(),
                    ],
                    ..data_user("k", CaReference::File("ca.crt".to_owned()))
                },
            ),
            (
                "the context's user missing, another user's credentials still count",
                &no_user_entry,
                Kubeconfig {
                    credentials: vec!["client-certificate-data", "client-key-data"],
                    ..rke2_expected()
                },
            ),
        ];
        for (name, text, expected) in rows {
            match parse_kubeconfig(text) {
                Ok(got) => assert_eq!(got, expected, "row `{name}`"),
                Err(error) => panic!("row `{name}`: unexpected error: {error}"),
            }
            assert!(looks_like_kubeconfig(text.as_bytes()), "row `{name}` sniff");
        }
    }

    const RKE2_HINT: &str = "export the kubeconfig from a server node \
        (`/etc/rancher/rke2/rke2.yaml` carries the CA in `certificate-authority-data`), or pass \
        the CA file (`/var/lib/rancher/rke2/server/tls/server-ca.crt`) as `ca-file`";

    #[test]
    fn rejected_shapes() {
        let omitted = RKE2_YAML.replace(RKE2_CA_B64, "DATA+OMITTED");
        let redacted = RKE2_YAML.replace(RKE2_CA_B64, "REDACTED");
        let bad_base64 = RKE2_YAML.replace(RKE2_CA_B64, "LS0t*LS1C");
        let truncated = RKE2_YAML.replace(RKE2_CA_B64, "LS0tL");
        let unpadded = RKE2_YAML.replace(RKE2_CA_B64, "Y2xpZW50IGtleQ");
        let pem_in_data = with_cluster(
            "    certificate-authority-data: |
      -----BEGIN CERTIFICATE-----
      ZmFrZQ==
      -----END CERTIFICATE-----",
        );
        let insecure = with_cluster(
            "    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true",
        );
        let no_ca = with_cluster("    server: https://127.0.0.1:6443");
        let missing_current = RKE2_YAML.replace("current-context: default\n", "");
        let empty_current = RKE2_YAML.replace("current-context: default", "current-context: \"\"");
        let dangling_context =
            RKE2_YAML.replace("current-context: default", "current-context: gone");
        let dangling_in_multi =
            MULTI_CONTEXT.replace("current-context: prod", "current-context: staging");
        let hostile_context = RKE2_YAML
            .replace("current-context: default", "current-context: gone")
            .replace(
                "  name: default\ncurrent",
                "  name: \"x`$(touch pwned)`\"\ncurrent",
            );
        let no_context_at_all = missing_current.replace("contexts:", "old-contexts:");
        let dangling_cluster = RKE2_YAML.replace("    cluster: default", "    cluster: gone");
        let context_without_cluster = RKE2_YAML.replace("    cluster: default\n", "");
        let duplicate_cluster = RKE2_YAML.replace(
            "contexts:",
            "- name: default\n  cluster: {server: https://10.0.0.1:6443}\ncontexts:",
        );
        let insecure_string = with_cluster(
            "    certificate-authority: ca.crt
    insecure-skip-tls-verify: \"true\"",
        );
        let clusters_mapping = RKE2_YAML.replace(
            "clusters:\n- cluster:",
            "clusters:\n  default:\n   cluster:",
        );
        let duplicate_key = RKE2_YAML.replace("kind: Config", "kind: Config\nkind: Config");
        let duplicate_nested_key = RKE2_YAML.replace(
            "    server: https://127.0.0.1:6443",
            "    server: https://127.0.0.1:6443\n    server: https://127.0.0.1:6443",
        );
        let duplicate_json_key = JSON_FORM.replace(
            "\"kind\": \"Config\",",
            "\"kind\": \"Config\",\n  \"kind\": \"Config\",",
        );
        let two_documents = format!("{RKE2_YAML}---\n{RKE2_YAML}");
        let json_broken = JSON_FORM.replace("\"kind\": \"Config\",", "\"kind\": \"Config\"");
        let tabs_in_yaml =
            RKE2_YAML.replace("  name: default\ncontexts", "\tname: default\ncontexts");

        let rows: Vec<(&str, &str, &str, &str)> = vec![
            (
                "not YAML",
                "apiVersion: v1\nclusters: [\n",
                "kubeconfig is not valid YAML (line 3, column 1)",
                "fix the YAML at that position",
            ),
            (
                "tab indentation in YAML",
                &tabs_in_yaml,
                "kubeconfig is not valid YAML (line 6, column 1)",
                "YAML forbids tabs in indentation",
            ),
            (
                "duplicate top-level key",
                &duplicate_key,
                "kubeconfig repeats a key in a YAML mapping (line 1, column 1)",
                "remove or rename the repeated key in the mapping that starts at that position",
            ),
            (
                "duplicate nested key",
                &duplicate_nested_key,
                "kubeconfig repeats a key in a YAML mapping (line 4, column 5)",
                "remove or rename the repeated key",
            ),
            (
                "duplicate key in JSON",
                &duplicate_json_key,
                "kubeconfig repeats a key in a JSON mapping (line 4, column 8)",
                "remove or rename the repeated key that ends at that position",
            ),
            (
                "two YAML documents",
                &two_documents,
                "kubeconfig holds more than one YAML document",
                "keep one kubeconfig per file",
            ),
            (
                "broken JSON",
                &json_broken,
                "kubeconfig is not valid JSON (line 4, column 3)",
                "text starting with `{` is read as JSON",
            ),
            (
                "PEM certificate",
                PEM_TEXT,
                "kubeconfig is not a YAML mapping (the document is a string)",
                "a PEM or DER CA certificate goes in `ca-file` instead",
            ),
            (
                "empty file",
                "  \n",
                "kubeconfig is not a YAML mapping (the document is empty)",
                "pass a kubeconfig file",
            ),
            (
                "JSON list",
                "[{\"clusters\": []}]",
                "kubeconfig is not a YAML mapping (the document is a list)",
                "pass a kubeconfig file",
            ),
            (
                "missing current-context",
                &missing_current,
                "kubeconfig has no `current-context`",
                "set it with `kubectl config use-context default` (with `KUBECONFIG` naming the \
                 file",
            ),
            (
                "empty current-context",
                &empty_current,
                "kubeconfig has no `current-context`",
                "`kubectl config use-context default`",
            ),
            (
                "dangling context",
                &dangling_context,
                "`current-context` names a context that the kubeconfig does not define (it \
                 defines 1 context)",
                "pick a defined context with `kubectl config use-context default`",
            ),
            (
                "dangling context in a multi-context file",
                &dangling_in_multi,
                "`current-context` names a context that the kubeconfig does not define (it \
                 defines 2 contexts)",
                "`kubectl config use-context dev` (with `KUBECONFIG` naming the file; \
                 `kubectl config get-contexts` lists them all)",
            ),
            (
                "dangling context beside a name a shell would run",
                &hostile_context,
                "`current-context` names a context that the kubeconfig does not define (it \
                 defines 1 context)",
                "list the contexts with `kubectl config get-contexts` and pick one",
            ),
            (
                "no current-context and no context",
                &no_context_at_all,
                "kubeconfig has no `current-context`",
                "add a context and set `current-context` to its name",
            ),
            (
                "dangling cluster",
                &dangling_cluster,
                "the current context (`contexts[0]`) names a cluster that the kubeconfig does \
                 not define (it defines 1 cluster)",
                "add the cluster under `clusters`, or fix `contexts[0].context.cluster`",
            ),
            (
                "context without cluster",
                &context_without_cluster,
                "the current context (`contexts[0]`) names no cluster",
                "set `contexts[0].context.cluster`",
            ),
            (
                "duplicate cluster names",
                &duplicate_cluster,
                "kubeconfig lists two clusters with the same name (`clusters[0]` and \
                 `clusters[1]`)",
                "kubectl refuses this file too",
            ),
            (
                "DATA+OMITTED",
                &omitted,
                "`clusters[0].cluster.certificate-authority-data` holds the placeholder \
                 `DATA+OMITTED`, not a CA",
                "export it with `kubectl config view --raw --minify --flatten`",
            ),
            (
                "REDACTED",
                &redacted,
                "`clusters[0].cluster.certificate-authority-data` holds the placeholder \
                 `REDACTED`, not a CA",
                "`kubectl config view --raw --minify --flatten`",
            ),
            (
                "invalid base64 character",
                &bad_base64,
                "`clusters[0].cluster.certificate-authority-data` is not valid base64: \
                 unexpected character at position 5 (whitespace not counted)",
                "the field must hold the base64 of the CA's PEM",
            ),
            (
                "truncated base64",
                &truncated,
                "`clusters[0].cluster.certificate-authority-data` is not valid base64: \
                 5 base64 characters cannot be whole data, which suggests truncated data",
                "`base64 -w0 server-ca.crt`",
            ),
            (
                "base64 without padding",
                &unpadded,
                "`clusters[0].cluster.certificate-authority-data` is not valid base64: \
                 the `=` padding at the end is missing or wrong",
                "`base64 -w0 server-ca.crt`",
            ),
            (
                "PEM pasted into the data field",
                &pem_in_data,
                "`clusters[0].cluster.certificate-authority-data` is not valid base64: \
                 it holds PEM text, not the base64 of it",
                "use `certificate-authority` with a path to the PEM file",
            ),
            (
                "insecure without CA",
                &insecure,
                "the current context's cluster (`clusters[0]`) sets \
                 `insecure-skip-tls-verify: true` and has no CA, so it trusts any certificate",
                RKE2_HINT,
            ),
            (
                "no CA",
                &no_ca,
                "the current context's cluster (`clusters[0]`) has no CA: neither \
                 `certificate-authority-data` nor `certificate-authority` is set",
                RKE2_HINT,
            ),
            (
                "insecure flag as a string",
                &insecure_string,
                "kubeconfig field `clusters[0].cluster.insecure-skip-tls-verify` is not a \
                 boolean",
                "`insecure-skip-tls-verify` is `true` or `false`",
            ),
            (
                "clusters as a mapping",
                &clusters_mapping,
                "kubeconfig field `clusters` is not a list",
                "the type the kubeconfig schema expects",
            ),
        ];
        for (name, text, message, hint) in rows {
            let error = match parse_kubeconfig(text) {
                Ok(got) => panic!("row `{name}`: accepted as {got:?}"),
                Err(error) => error,
            };
            assert_eq!(error.to_string(), message, "row `{name}` message");
            let got_hint = error.hint().unwrap_or_default();
            assert!(
                got_hint.contains(hint),
                "row `{name}` hint: `{got_hint}` does not contain `{hint}`"
            );
            assert_eq!(error.class(), ErrorClass::User, "row `{name}` class");
        }
    }

    #[test]
    fn errors_never_quote_input_bytes() {
        const MARKER: &str = "SEKRIT-7f3a9c";
        let rows = [
            (
                // A credential, then a syntax error after it.
                format!(
                    "apiVersion: v1\nusers:\n- name: default\n  user:\n    token: {MARKER}\n\
                     current-context: [unclosed\n"
                ),
                "kubeconfig is not valid YAML (line 7, column 1)",
            ),
            (
                // The same in JSON, with the error right after the secret.
                format!("{{\"users\": [{{\"user\": {{\"token\": \"{MARKER}\" \"x\"}}}}]}}"),
                "kubeconfig is not valid JSON (line 1, column 47)",
            ),
            (
                // serde's duplicate-key messages quote the key.
                format!("{MARKER}: 1\n{MARKER}: 2\n"),
                "kubeconfig repeats a key in a YAML mapping (line 1, column 1)",
            ),
            (
                format!("{{\"{MARKER}\": 1, \"{MARKER}\": 2}}"),
                "kubeconfig repeats a key in a JSON mapping (line 1, column 36)",
            ),
            (
                // serde's type errors quote the value.
                with_cluster(&format!("    insecure-skip-tls-verify: {MARKER}")),
                "kubeconfig field `clusters[0].cluster.insecure-skip-tls-verify` is not a boolean",
            ),
            (
                // base64's errors carry the offending byte.
                with_cluster(&format!("    certificate-authority-data: {MARKER}*")),
                "`clusters[0].cluster.certificate-authority-data` is not valid base64: \
                 unexpected character at position 7 (whitespace not counted)",
            ),
            (
                // Names never appear either.
                RKE2_YAML.replace(
                    "current-context: default",
                    &format!("current-context: {MARKER}"),
                ),
                "`current-context` names a context that the kubeconfig does not define (it \
                 defines 1 context)",
            ),
            (
                RKE2_YAML.replace("    cluster: default", &format!("    cluster: {MARKER}")),
                "the current context (`contexts[0]`) names a cluster that the kubeconfig does \
                 not define (it defines 1 cluster)",
            ),
            (
                format!("{MARKER}\n"),
                "kubeconfig is not a YAML mapping (the document is a string)",
            ),
        ];
        for (text, message) in rows {
            let error = match parse_kubeconfig(&text) {
                Ok(_) => panic!("accepted: {text}"),
                Err(error) => error,
            };
            assert_eq!(error.to_string(), message);
            let shown = format!("{error} {error:?} {}", error.hint().unwrap_or_default());
            assert!(!shown.contains(MARKER), "input quoted in `{shown}`");
        }
    }

    #[test]
    fn sniff() {
        let der: &[u8] = &[0x30, 0x82, 0x01, 0x77, 0x30, 0x82, 0x01, 0x1d, 0xa0, 0x03];
        let broken_yaml =
            RKE2_YAML.replace("  name: default\ncontexts", "\tname: default\ncontexts");
        let rows: Vec<(&str, &[u8], bool)> = vec![
            ("rke2.yaml", RKE2_YAML.as_bytes(), true),
            ("rke2 cred", RKE2_SERVER_CRED.as_bytes(), true),
            ("JSON", JSON_FORM.as_bytes(), true),
            ("JSON with tabs", JSON_TABS.as_bytes(), true),
            ("broken YAML kubeconfig", broken_yaml.as_bytes(), true),
            (
                "clusters and kind only",
                b"apiVersion: v1\nkind: Config\nclusters: []\n",
                true,
            ),
            (
                "clusters and contexts only",
                b"clusters: []\ncontexts: []\n",
                true,
            ),
            ("PEM certificate", PEM_TEXT.as_bytes(), false),
            ("DER certificate", der, false),
            ("bare base64", RKE2_CA_B64.as_bytes(), false),
            ("base64 of a kubeconfig-ish word", b"Y2x1c3RlcnM=\n", false),
            ("not UTF-8", b"clusters: \xff\xfe\n", false),
            ("clusters alone", b"clusters: []\n", false),
            (
                "other Kubernetes object",
                b"kind: Pod\nclusters: 3\n",
                false,
            ),
            (
                "YAML string mentioning clusters",
                b"clusters and contexts\n",
                false,
            ),
            ("empty", b"", false),
        ];
        for (name, bytes, expected) in rows {
            assert_eq!(looks_like_kubeconfig(bytes), expected, "row `{name}`");
        }
    }

    #[test]
    fn nesting_far_beyond_a_kubeconfig_is_refused_before_parsing() {
        let deep_flow = format!("a: {}{}", "[".repeat(200_000), "]".repeat(200_000));
        let deep_block = format!("a:\n{}x: 1\n", " ".repeat(300));
        let deep_compact = format!("{}x\n", "- ".repeat(150));
        for (text, line) in [(deep_flow, 1), (deep_block, 2), (deep_compact, 1)] {
            assert_eq!(
                parse_kubeconfig(&text).unwrap_err(),
                KubeconfigError::TooDeep { line }
            );
        }
        // Brackets in strings and comments do not count; ordinary nesting passes the check.
        let quoted = format!(
            "a: '{}'\nb: \"{}\" # {}\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert!(check_nesting(&quoted).is_ok());
        let json = r#"{"clusters":[{"name":"a","cluster":{"server":"https://x"}}]}"#;
        assert!(check_nesting(json).is_ok());
    }

    #[test]
    fn credentials_of_every_user_count() {
        let text = "apiVersion: v1\ncurrent-context: a\nclusters:\n- name: c\n  cluster:\n    \
                    server: https://x:6443\n    certificate-authority: /ca.crt\ncontexts:\n\
                    - name: a\n  context: {cluster: c, user: clean}\nusers:\n- name: clean\n  \
                    user: {}\n- name: other\n  user: {token: abc, client-key-data: eA==}\n";
        let parsed = parse_kubeconfig(text);
        let credentials = match parsed {
            Ok(k) => k.credentials,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(credentials, vec!["client-key-data", "token"]);
    }
}
