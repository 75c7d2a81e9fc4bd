//! The application's handle on a spawned client: each call is carried out
//! on the shared connection by the task that makes it.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use relay_core::State;
use relay_core::config::IdleMode;
use relay_core::connection::{DeliveryHandle, Stats};
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
    /// Live handles of this client (shared by all of them).
    handles: Arc<AtomicUsize>,
}

impl std::fmt::Debug for RelayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayHandle").finish_non_exhaustive()
    }
}

impl Clone for RelayHandle {
    fn clone(&self) -> Self {
        self.handles.fetch_add(1, Ordering::Relaxed);
        RelayHandle {
            shared: self.shared.clone(),
            handles: self.handles.clone(),
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut core = self.shared.lock();
            if !core.stopped {
                core.engine.shutdown();
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
        RelayHandle {
            shared,
            handles: Arc::new(AtomicUsize::new(1)),
        }
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
    /// connection lost, shutdown, or a refusal when not serving or when the
    /// connector did not advertise the op).
    pub async fn send(&self, action: Action) -> Result<ActionResult, ClientError> {
        let id = {
            let mut core = self.shared.lock();
            if core.stopped {
                return Err(ClientError::Stopped);
            }
            let id = core.engine.send(action)?;
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

    /// Shuts down: pending requests fail with `Shutdown`, the socket closes
    /// with 1000 and the client never dials again. Returns once the driver
    /// has done so; a client that already stopped returns at once.
    pub async fn shutdown(&self) {
        {
            let mut core = self.shared.lock();
            if core.stopped {
                return;
            }
            core.engine.shutdown();
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
