//! A Vault-compatible dev server for the demo and the tests (in progress).

pub mod acl;
pub mod jwt;
pub mod openapi;
