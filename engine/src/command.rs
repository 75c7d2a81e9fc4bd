//! The application's commands, written once: what each does to the core
//! ([`Control::apply`]) is the same whether the application's own task
//! runs the client ([`InlineClient`](super::InlineClient)) or a driver task
//! does ([`RelayHandle`](super::RelayHandle), through [`Command`]).

use futures_channel::oneshot;
use relay_core::config::IdleMode;
use std::time::Duration;

use relay_core::connection::{CommandError, DeliveryHandle, SendOptions, Stats};
use relay_core::wire::{Action, ActionResult};
use relay_core::{Connection, Instant, State};

use super::error::ClientError;

/// A command that only tells the core something and answers at once.
#[derive(Debug)]
pub(crate) enum Control {
    /// A fire-and-forget `interrupt` for a session (boxed: see
    /// [`Command`]).
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

/// A command from a handle to the driver task, with where to put the
/// answer.
pub(crate) enum Command {
    // Large payloads are boxed: the bounded command queue allocates all its
    // slots up front, so every slot costs as much as the largest command.
    Control(Control, oneshot::Sender<Result<(), ClientError>>),
    Send(
        Box<(Action, SendOptions)>,
        oneshot::Sender<Result<ActionResult, ClientError>>,
    ),
    /// Shut down with a drain of at most this long (`Duration::MAX`: the
    /// configured drain).
    Shutdown(Duration, oneshot::Sender<()>),
    Status(oneshot::Sender<Status>),
}

#[cfg(test)]
mod tests {
    use super::Command;

    /// Every slot of the preallocated command queue costs this much: keep
    /// large payloads boxed.
    #[test]
    fn commands_stay_small() {
        assert!(
            std::mem::size_of::<Command>() <= 40,
            "{}",
            std::mem::size_of::<Command>()
        );
    }
}
