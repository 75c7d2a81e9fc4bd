//! What a client call can fail with.

use relay_core::connection::{CommandError, RequestError, SendError};
use relay_core::wire::{ActionResult, EgressDecline};

/// Why a client call ([`RelayHandle`](super::RelayHandle),
/// [`InlineClient`](super::InlineClient)) did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The action was refused before anything was sent.
    #[error(transparent)]
    Refused(#[from] SendError),
    /// The action was sent but ended without a result.
    #[error(transparent)]
    Failed(#[from] RequestError),
    /// The connector declined the action's destination (an egress
    /// decline): a definite answer, not a transport failure; the text is
    /// the connector's, verbatim.
    #[error(transparent)]
    Declined(#[from] EgressDecline),
    /// The command is not possible now.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The client has stopped (shut down or revoked) and its driver is gone.
    #[error("the relay client has stopped")]
    Stopped,
}

impl ClientError {
    /// The failure as the reference's result object, for code that wants one
    /// result shape for successes and failures.
    pub fn to_result(&self) -> ActionResult {
        match self {
            ClientError::Refused(e) => e.to_result(),
            ClientError::Failed(e) => e.to_result(),
            ClientError::Declined(d) => (*d.result).clone(),
            other => ActionResult::failure(other.to_string(), false),
        }
    }
}
