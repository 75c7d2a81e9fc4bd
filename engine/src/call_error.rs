//! Why an HTTP call did not succeed.

use relay_core::calls::HttpCallError;

use super::env_file::EnvFileError;

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The connector (or identity provider) refused, or could not be
    /// reached; see [`HttpCallError`] for the cases.
    #[error(transparent)]
    Http(#[from] HttpCallError),
    /// Something the call needs is not configured.
    #[error("{what} is not configured: {hint}")]
    NotConfigured {
        /// What is missing.
        what: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
    /// The env file could not be written.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// The runtime dropped the blocking work before it finished (it is
    /// shutting down).
    #[error("the async runtime stopped before the call finished; retry on a running runtime")]
    RuntimeStopped,
    /// The call was made outside the async runtime it needs.
    #[error("not called inside a {runtime} runtime; call it from a task of one")]
    NoRuntime {
        /// The runtime expected (`tokio`, `smol`).
        runtime: &'static str,
    },
}
