//! The application's handle on a spawned client: each call is a
//! [`Command`] to the driver task and its answer.

use std::time::Duration;

use futures_channel::oneshot;
use relay_core::State;
use relay_core::config::IdleMode;
use relay_core::connection::{DeliveryHandle, SendOptions, Stats};
use relay_core::wire::{Action, ActionResult, FollowUpAction, GetChatInfoAction};

use super::command::{Command, Control, Status};
use super::error::ClientError;

/// The application's handle on a running client. Cheap to clone; every clone
/// drives the same connection. When the last handle is dropped the client
/// shuts down as if [`RelayHandle::shutdown`] had been called.
#[derive(Clone, Debug)]
pub struct RelayHandle {
    commands: async_channel::Sender<Command>,
}

impl RelayHandle {
    /// A handle sending to the driver's command queue.
    pub(crate) fn new(commands: async_channel::Sender<Command>) -> Self {
        RelayHandle { commands }
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(command(tx))
            .await
            .map_err(|_| ClientError::Stopped)?;
        rx.await.map_err(|_| ClientError::Stopped)
    }

    async fn control(&self, control: Control) -> Result<(), ClientError> {
        self.ask(|tx| Command::Control(control, tx)).await?
    }

    async fn status(&self) -> Result<Status, ClientError> {
        self.ask(Command::Status).await
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
        self.ask(|tx| Command::Send(Box::new((action, options)), tx))
            .await?
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
        let _ = self.ask(|tx| Command::Shutdown(budget, tx)).await;
    }

    /// The current state.
    pub async fn state(&self) -> Result<State, ClientError> {
        Ok(self.status().await?.state)
    }

    /// The connection's counters.
    pub async fn stats(&self) -> Result<Stats, ClientError> {
        Ok(self.status().await?.stats)
    }

    /// Messages queued for the socket that it has not taken yet: at most
    /// [`ClientOptions::write_queue`](super::ClientOptions::write_queue)
    /// (a peer that lets the queue fill is treated as gone).
    pub async fn pending_writes(&self) -> Result<usize, ClientError> {
        Ok(self.status().await?.pending_writes)
    }
}
