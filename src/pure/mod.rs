//! The pure core: everything the handshake decides, nothing it does.
//!
//! Owns input parsing into typed settings, CA and kubeconfig parsing, host normalisation, the
//! plan (desired vs current Vault config), the encoders for the runner's file and workflow
//! commands, and the handshake itself as a sans-IO state machine (`machine`), which yields
//! effects for a driver to perform. It must never touch a socket, a clock, the environment, a
//! file or a random source: callers pass bytes, the current time and random values in, and take
//! typed values out. That is what lets it build for `wasm32-wasip1` and `wasm32-unknown-unknown`
//! (the Node action) and be tested without a Vault.

pub mod artifact;
pub mod ca;
pub mod cafile;
pub mod command;
pub mod contract;
pub mod host;
pub mod kubeconfig;
pub mod machine;
pub mod plan;
pub mod probe;
pub mod proof;
pub mod publish;
pub mod report;
pub mod secret;
pub mod summary;
pub mod terminal;
pub mod transport;
pub mod vault_api;
pub mod x509;

/// Who must act on a failure. The class picks the exit code and the annotation title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The caller's inputs, files or Vault setup must change.
    User,
    /// Vault, GitHub or the cluster answered badly or not at all.
    Remote,
    /// This program broke an invariant of its own.
    Bug,
}

impl ErrorClass {
    /// The process exit code for this class (the README's exit code table).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::User => 2,
            ErrorClass::Remote => 3,
            ErrorClass::Bug => 4,
        }
    }

    /// The title of the `::error` annotation for this class.
    pub fn title(self) -> &'static str {
        match self {
            ErrorClass::User => "vault-k8s-handshake: input error",
            ErrorClass::Remote => "vault-k8s-handshake: remote error",
            ErrorClass::Bug => "vault-k8s-handshake: internal error (please report)",
        }
    }
}

/// Where a failure lies, for the annotation's title: what the person must look at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Area {
    /// An input, a file, a CA: the workflow must change.
    #[default]
    Input,
    /// Vault answered (or did not): its setup, policies or reach.
    Vault,
    /// The API server's certificate against the uploaded CA.
    Tls,
    /// The cluster: ServiceAccounts, RBAC, TokenReview.
    Kubernetes,
    /// GitHub: the OIDC token service, the REST API, artifacts.
    GitHub,
    /// The runner stopped the step.
    Runner,
}

impl Area {
    /// The `::error` annotation's title for a failure in this area.
    pub fn title(self, class: ErrorClass) -> &'static str {
        if class == ErrorClass::Bug {
            return ErrorClass::Bug.title();
        }
        match self {
            Area::Input => "vault-k8s-handshake: input error",
            Area::Vault => "vault-k8s-handshake: Vault error",
            Area::Tls => "vault-k8s-handshake: TLS error",
            Area::Kubernetes => "vault-k8s-handshake: Kubernetes error",
            Area::GitHub => "vault-k8s-handshake: GitHub error",
            Area::Runner => "vault-k8s-handshake: cancelled",
        }
    }
}

/// An error a person reads: one-line Display (what and where), a class, and a hint (the fix).
pub trait Diagnostic: std::error::Error {
    fn class(&self) -> ErrorClass;
    /// Where the failure lies (the annotation's title). Inputs unless an error says otherwise.
    fn area(&self) -> Area {
        Area::Input
    }
    /// The fix, printed on its own `hint:` line.
    fn hint(&self) -> Option<String>;
}
