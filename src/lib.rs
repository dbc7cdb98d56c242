//! vault-k8s-handshake writes a cluster's Vault kubernetes auth config and proves it.
//!
//! `pure` is the core: parsing, validation, planning and rendering, with no I/O, so it builds for
//! `wasm32-wasip1`. `source` reads files under the file-safety rules, `env` lists every
//! environment variable read, and `cli` is the command line. Network code (the native shell) sits
//! behind the default `native` feature.

pub mod cli;
#[cfg(feature = "dev-server")]
pub mod devserver;
pub mod env;
pub mod pure;
#[cfg(feature = "native")]
pub mod shell;
pub mod source;
