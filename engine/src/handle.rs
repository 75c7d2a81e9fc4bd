//! The application's handle on a spawned client: each call is carried out
//! on the shared connection by the task that makes it.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use std::time::Duration;

use relay_core::State;
use relay_core::config::IdleMode;
use relay_core::connection::{DeliveryHandle, SendOptions, Stats};
use relay_core::wire::{Action, ActionResult, FollowUpAction, GetChatInfoAction};

use super::command::{Control, Status};
use super::engine::Waiting;
use super::error::ClientError;
use super::shared::{Poller, Shared, Turn};

/// The application's handle on a running client. Cheap to clone; every clone
/// drives the same connection. When the last handle is dropped the client
/// shuts down as if [`RelayHandle::shutdown`] had been called.
///
/// A call is carried out by the task that makes it: the command goes to
/// the connection and its frame to the socket without waking the driver
/// task, and while a call awaits its result the calling task reads the
/// socket itself whenever the result may be there.
pub struct RelayHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RelayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayHandle").finish_non_exhaustive()
    }
}

impl Clone for RelayHandle {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        RelayHandle {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut core = self.shared.lock();
            // Every handle is gone, so no result could reach anyone:
            // close at once instead of draining.
            // PLANTED BUG (keep-running-when-dropped): the client runs on
            // with nobody to use it.
            if !core.stopped && !core.engine.planted_keep_running() {
                core.engine.shutdown(Duration::ZERO);
                drop(core);
                // Whoever polls next carries the shutdown out.
                self.shared.router.wake_driver();
            }
        }
    }
}

impl RelayHandle {
    /// The first handle on `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        shared.handles.fetch_add(1, Ordering::Relaxed);
        RelayHandle { shared }
    }

    /// Carries out `control` and writes what it sends.
    async fn control(&self, control: Control) -> Result<(), ClientError> {
        let mut core = self.shared.lock();
        if core.stopped {
            return Err(ClientError::Stopped);
        }
        let result = core.engine.control(control);
        self.shared.poll_connection(&mut core, Poller::Other);
        result
    }

    fn status(&self) -> Result<Status, ClientError> {
        let core = self.shared.lock();
        if core.stopped {
            return Err(ClientError::Stopped);
        }
        Ok(core.engine.status())
    }

    /// Sends an action and waits for its result (or its failure: timeout,
    /// connection lost, shutdown, a refusal when not serving, while closing
    /// or when the connector did not advertise the op, or
    /// [`ClientError::Declined`] when the connector declined its
    /// destination).
    pub async fn send(&self, action: Action) -> Result<ActionResult, ClientError> {
        self.send_with(action, SendOptions::new()).await
    }

    /// [`send`](Self::send) with `options`: an explicit platform (see
    /// [`SendOptions`]), for a chat no inbound has taught the link (a
    /// scheduled message, a home channel).
    pub async fn send_with(
        &self,
        action: Action,
        options: SendOptions,
    ) -> Result<ActionResult, ClientError> {
        let id = {
            let mut core = self.shared.lock();
            if core.stopped {
                return Err(ClientError::Stopped);
            }
            let id = core.engine.send(action, &options)?;
            if let Some(waiters) = core.waiters() {
                waiters.insert(id, Waiting::default());
            }
            id
        };
        // Forgets the request's entry however the wait ends.
        struct Entry<'a>(&'a Shared, relay_core::connection::RequestId);
        impl Drop for Entry<'_> {
            fn drop(&mut self) {
                if let Some(waiters) = self.0.lock().waiters() {
                    waiters.remove(&self.1);
                }
            }
        }
        let _entry = Entry(&self.shared, id);
        let turn = Turn::new(&self.shared);
        poll_fn(|cx| {
            let mut core = turn.begin(cx);
            let taken = |core: &mut super::shared::Core| {
                let waiting = core.waiters()?.get_mut(&id)?;
                // This task polls now: a result read meanwhile needs no wake-up.
                waiting.waker = None;
                waiting.result.take()
            };
            if let Some(result) = taken(&mut core) {
                return Poll::Ready(result);
            }
            turn.poll(&mut core, Poller::Other);
            if let Some(result) = taken(&mut core) {
                return Poll::Ready(result);
            }
            if core.stopped {
                return Poll::Ready(Err(ClientError::Stopped));
            }
            if let Some(waiting) = core.waiters().and_then(|w| w.get_mut(&id)) {
                waiting.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Sends `text` to `chat_id` (an `op: "send"` action).
    pub async fn send_text(
        &self,
        chat_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<ActionResult, ClientError> {
        self.send(Action::send(chat_id, text)).await
    }

    /// Sends a `follow_up` action.
    pub async fn follow_up(&self, follow_up: FollowUpAction) -> Result<ActionResult, ClientError> {
        self.send(Action::FollowUp(follow_up)).await
    }

    /// Asks the connector about a chat (`get_chat_info`).
    pub async fn chat_info(&self, chat_id: impl Into<String>) -> Result<ActionResult, ClientError> {
        let action = GetChatInfoAction {
            chat_id: chat_id.into(),
        };
        self.send(Action::GetChatInfo(action)).await
    }

    /// Sends a fire-and-forget `interrupt` for a session.
    pub async fn interrupt(
        &self,
        session_key: impl Into<String>,
        reason: Option<String>,
    ) -> Result<(), ClientError> {
        let payload = Box::new((session_key.into(), reason));
        self.control(Control::Interrupt(payload)).await
    }

    /// Asks the connector to buffer inbound for this gateway (serving only).
    pub async fn go_idle(&self) -> Result<(), ClientError> {
        self.control(Control::GoIdle(None)).await
    }

    /// Asks the connector to buffer inbound for this gateway (serving only),
    /// then does what `mode` says after the ack whatever the configuration:
    /// [`IdleMode::Keep`] is the reference's `go_idle()`,
    /// [`IdleMode::Dormant`] its `go_dormant()`.
    pub async fn go_idle_with(&self, mode: IdleMode) -> Result<(), ClientError> {
        self.control(Control::GoIdle(Some(mode))).await
    }

    /// Re-dials now if buffered (what a wake poke does).
    pub async fn wake(&self) -> Result<(), ClientError> {
        self.control(Control::Wake).await
    }

    /// Acknowledges a buffered delivery. Call it only once the item is
    /// durably handed off: the connector forgets it after this.
    pub async fn ack(&self, delivery: DeliveryHandle) -> Result<(), ClientError> {
        self.control(Control::Ack(delivery)).await
    }

    /// Holds the next re-dial (a brokered suspend of the machine is under
    /// way): one that becomes due waits for [`release_redial`](Self::release_redial)
    /// or [`wake`](Self::wake), at most the configured cap (60 s). See
    /// [`Connection::hold_redial`](relay_core::Connection::hold_redial).
    pub async fn hold_redial(&self) -> Result<(), ClientError> {
        self.control(Control::HoldRedial).await
    }

    /// Ends a hold: a re-dial that waits dials now.
    pub async fn release_redial(&self) -> Result<(), ClientError> {
        self.control(Control::ReleaseRedial).await
    }

    /// Shuts down gracefully: requests already written get up to the
    /// configured drain ([`Timeouts::shutdown_drain`], 5 s) to receive
    /// their results, sends made meanwhile fail at once, then what is still
    /// pending fails with `Shutdown`, the socket closes with 1000 and the
    /// client never dials again. With nothing in flight it closes at once.
    /// Returns once the driver has stopped; a client that already stopped
    /// returns at once.
    ///
    /// [`Timeouts::shutdown_drain`]: relay_core::config::Timeouts::shutdown_drain
    pub async fn shutdown(&self) {
        self.shutdown_within(Duration::MAX).await;
    }

    /// [`shutdown`](Self::shutdown) with a drain of at most `budget` (the
    /// configured drain applies when shorter; zero closes at once).
    pub async fn shutdown_within(&self, budget: Duration) {
        {
            let mut core = self.shared.lock();
            if core.stopped {
                return;
            }
            core.engine.shutdown(budget);
        }
        let turn = Turn::new(&self.shared);
        poll_fn(|cx| {
            let mut core = turn.begin(cx);
            turn.poll(&mut core, Poller::Other);
            if core.stopped {
                return Poll::Ready(());
            }
            core.wait_stop(cx.waker());
            Poll::Pending
        })
        .await;
    }

    /// The current state.
    pub async fn state(&self) -> Result<State, ClientError> {
        Ok(self.status()?.state)
    }

    /// The connection's counters.
    pub async fn stats(&self) -> Result<Stats, ClientError> {
        Ok(self.status()?.stats)
    }

    /// Messages queued for the socket that it has not taken yet: at most
    /// [`ClientOptions::write_queue`](super::ClientOptions::write_queue)
    /// (a peer that lets the queue fill is treated as gone).
    pub async fn pending_writes(&self) -> Result<usize, ClientError> {
        Ok(self.status()?.pending_writes)
    }
}
