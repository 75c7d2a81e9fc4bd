//! The application's commands, written once: what each does to the core
//! ([`Control::apply`]) is the same for an
//! [`InlineClient`](super::InlineClient) and a
//! [`RelayHandle`](super::RelayHandle).

use relay_core::config::IdleMode;
use relay_core::connection::{CommandError, DeliveryHandle, Stats};
use relay_core::{Connection, Instant, State};

use super::error::ClientError;

/// A command that only tells the core something and answers at once.
#[derive(Debug)]
pub(crate) enum Control {
    /// A fire-and-forget `interrupt` for a session.
    Interrupt(Box<(String, Option<String>)>),
    /// Ask the connector to buffer; `None` idles as configured.
    GoIdle(Option<IdleMode>),
    /// Re-dial now if buffered.
    Wake,
    /// Acknowledge a buffered delivery.
    Ack(DeliveryHandle),
    /// Hold the next due re-dial.
    HoldRedial,
    /// End a hold.
    ReleaseRedial,
}

impl Control {
    /// Carries the command out on `conn`.
    pub(crate) fn apply(self, conn: &mut Connection, now: Instant) -> Result<(), ClientError> {
        let done: Result<(), CommandError> = match self {
            Control::Interrupt(payload) => {
                let (key, reason) = *payload;
                return Ok(conn.interrupt(key, reason, now)?);
            }
            Control::GoIdle(None) => conn.go_idle(now),
            Control::GoIdle(Some(mode)) => conn.go_idle_with(mode, now),
            Control::Wake => conn.wake(now),
            Control::Ack(delivery) => conn.ack(delivery, now),
            Control::HoldRedial => conn.hold_redial(now),
            Control::ReleaseRedial => conn.release_redial(now),
        };
        Ok(done?)
    }
}

/// What a status query reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Status {
    pub(crate) state: State,
    pub(crate) stats: Stats,
    /// Messages queued for the socket that it has not taken yet.
    pub(crate) pending_writes: usize,
}
