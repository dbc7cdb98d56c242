//! vault-k8s-handshake: writes a cluster's Vault kubernetes auth config and proves it.
pub mod pure;
