//! What a driver and the model hand each other: session ids, the answer to
//! an upgrade, what became of a delivery, and the outputs to carry out.

use relay_core::time::Instant;
use relay_core::wire::BufferId;

/// Close codes the model sends: 4401 for a refused or revoked credential,
/// 1000 for a normal close (a newer session supersedes). They are the
/// core's, so both ends of a link name each code once.
pub use relay_core::connection::{CLOSE_NORMAL, CLOSE_UNAUTHORIZED};

/// Identifies one accepted upgrade. Ids are never reused, not even across
/// [`Connector::restart`](crate::Connector::restart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

impl core::fmt::Display for SessionId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// The answer to an upgrade request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Complete the WebSocket upgrade; the session exists under this id. (A
    /// refused credential in [`RejectMode::Close4401`](crate::RejectMode::Close4401) is also accepted: its
    /// 4401 close is then waiting in [`Connector::poll_output`](crate::Connector::poll_output).)
    Accepted(SessionId),
    /// Refuse the upgrade with this HTTP status.
    RejectHttp {
        /// The HTTP status.
        status: u16,
    },
}

/// What the connector wants the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectorOutput {
    /// Send `text` (one frame, ending in `\n`) as one WS text message.
    Transmit {
        /// The session to send on.
        session: SessionId,
        /// The frame.
        text: String,
    },
    /// Close the session's socket with this code and reason. The session is
    /// already forgotten; a later [`Connector::handle_closed`](crate::Connector::handle_closed) is harmless.
    Close {
        /// The session.
        session: SessionId,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The session was lost in a [`Connector::restart`](crate::Connector::restart): cut the link without
    /// a close frame.
    Dropped {
        /// The session.
        session: SessionId,
    },
    /// Send a payload-free, unsigned HTTP GET to `url` to wake `instance`.
    WakePoke {
        /// The instance.
        instance: String,
        /// Its registered wake URL.
        url: String,
    },
    /// Nothing more to do now; call [`Connector::handle_timeout`](crate::Connector::handle_timeout) at this
    /// deadline (`None`: only new input matters).
    Wait(Option<Instant>),
}

/// What [`Connector::deliver`](crate::Connector::deliver) did with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Pushed live (no `bufferId`) on this session.
    Live(SessionId),
    /// Appended to the instance's buffer under this id (and possibly already
    /// sent as part of a drain).
    Buffered(BufferId),
    /// Dropped: the instance is not connected, not flipped, and
    /// [`ConnectorConfig::buffer_when_disconnected`](crate::ConnectorConfig::buffer_when_disconnected) is off.
    Dropped,
}
