//! vault-k8s-handshake writes a cluster's Vault kubernetes auth config and proves it.
//!
//! `pure` is the core: parsing, validation, planning, rendering and the handshake's state machine,
//! with no I/O, so it builds for WebAssembly (`wasm32-wasip1` for the offline CLI,
//! `wasm32-unknown-unknown` for the Node action in `node/`). `source` reads files under the
//! file-safety rules, `env` lists every environment variable read, and `cli` is the command line.
//! The native driver (`shell`: network, files, signals) sits behind the default `native` feature.

pub mod cli;
#[cfg(feature = "dev-server")]
pub mod devserver;
pub mod env;
pub mod pure;
#[cfg(feature = "native")]
pub mod shell;
pub mod source;
