//! The application's side of a client: [`RelayHandle`] to act, [`Events`] to
//! listen, and [`start`] to run the driver on a [`Runtime`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::Stream;
use relay_core::config::{IdleMode, RelayConfig};
use relay_core::connection::RequestError;
use relay_core::connection::{CommandError, DeliveryHandle, SendError, Stats};
use relay_core::message::MessageEvent;
use relay_core::recycle::EventPool;
use relay_core::wire::{Action, ActionResult, FollowUpAction, GetChatInfoAction};
use relay_core::{Event, State};

use super::Runtime;
use super::driver::Driver;

/// Default of [`ClientOptions::write_stall_timeout`].
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Tuning knobs of a client. The defaults suit most gateways.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Events buffered for the application before the driver stops reading
    /// the socket (see [`Events`]). The application takes them in batches,
    /// so up to twice this many may be held at once.
    pub event_capacity: usize,
    /// Commands buffered from [`RelayHandle`]s before callers wait. The
    /// queue's slots are allocated up front (about 48 bytes each).
    pub command_capacity: usize,
    /// Outgoing messages queued on one socket that the socket has not taken
    /// yet. A peer that lets the queue fill is treated as gone (the socket is
    /// dropped and the core reconnects).
    pub write_queue: usize,
    /// WebSocket read buffer per connection, in bytes. Small keeps an idle
    /// link cheap (about 4 KiB); larger saves read calls on big frames.
    pub read_buffer: usize,
    /// Longest a TCP connect, TLS handshake and upgrade may take together.
    pub dial_timeout: Duration,
    /// Longest writes may wait on a peer that reads nothing (no byte of
    /// progress) before the socket is treated as gone and the core
    /// reconnects; zero turns the check off. Together with the bounded
    /// WebSocket write buffer this keeps a peer that floods without reading
    /// from costing memory or holding the link.
    pub write_stall_timeout: Duration,
    /// Seed for request ids and backoff jitter; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// TLS settings for `wss://` URLs (a private CA, client certificates);
    /// `None` uses rustls with the *ring* provider and the webpki roots.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            event_capacity: 256,
            command_capacity: 16,
            write_queue: 1024,
            read_buffer: 4096,
            dial_timeout: Duration::from_secs(30),
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            seed: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// Why a [`RelayHandle`] call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The action was refused before anything was sent.
    #[error(transparent)]
    Refused(#[from] SendError),
    /// The action was sent but ended without a result.
    #[error(transparent)]
    Failed(#[from] RequestError),
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
            other => ActionResult::failure(other.to_string(), false),
        }
    }
}

/// A command from a handle to the driver, with where to put the answer.
pub(crate) enum Command {
    // Large payloads are boxed: the bounded command queue allocates all its
    // slots up front, so every slot costs as much as the largest command.
    Send(
        Box<Action>,
        oneshot::Sender<Result<ActionResult, ClientError>>,
    ),
    Interrupt(
        Box<(String, Option<String>)>,
        oneshot::Sender<Result<(), ClientError>>,
    ),
    GoIdle(oneshot::Sender<Result<(), ClientError>>),
    GoIdleWith(IdleMode, oneshot::Sender<Result<(), ClientError>>),
    Wake(oneshot::Sender<Result<(), ClientError>>),
    Ack(DeliveryHandle, oneshot::Sender<Result<(), ClientError>>),
    Shutdown(oneshot::Sender<()>),
    Status(oneshot::Sender<(State, Stats)>),
}

/// Starts a client on `rt`: the driver task owns the connection, and the
/// returned handle and event stream are how the application talks to it.
///
/// For one task that both sends and listens, [`InlineClient`] does the
/// same work without a driver task.
///
/// [`InlineClient`]: super::InlineClient
pub fn start(
    rt: Arc<dyn Runtime>,
    config: RelayConfig,
    options: ClientOptions,
) -> (RelayHandle, Events) {
    let (commands, command_rx) = async_channel::bounded(options.command_capacity.max(1));
    let queue = Arc::new(EventQueue::new(options.event_capacity.max(1)));
    let driver = Driver::new(rt.clone(), config, &options, command_rx, queue.clone());
    rt.spawn(Box::pin(driver.run()));
    (
        RelayHandle { commands },
        Events {
            queue,
            taken: VecDeque::new(),
            returned: EventPool::default(),
        },
    )
}

/// The application's handle on a running client. Cheap to clone; every clone
/// drives the same connection. When the last handle is dropped the client
/// shuts down as if [`RelayHandle::shutdown`] had been called.
#[derive(Clone, Debug)]
pub struct RelayHandle {
    commands: async_channel::Sender<Command>,
}

impl RelayHandle {
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

    /// Sends an action and waits for its result (or its failure: timeout,
    /// connection lost, shutdown, or a refusal when not serving or when the
    /// connector did not advertise the op).
    pub async fn send(&self, action: Action) -> Result<ActionResult, ClientError> {
        self.ask(|tx| Command::Send(Box::new(action), tx)).await?
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
        let key = session_key.into();
        self.ask(|tx| Command::Interrupt(Box::new((key, reason)), tx))
            .await?
    }

    /// Asks the connector to buffer inbound for this gateway (serving only).
    pub async fn go_idle(&self) -> Result<(), ClientError> {
        self.ask(Command::GoIdle).await?
    }

    /// Asks the connector to buffer inbound for this gateway (serving only),
    /// then does what `mode` says after the ack whatever the configuration:
    /// [`IdleMode::Keep`] is the reference's `go_idle()`,
    /// [`IdleMode::Dormant`] its `go_dormant()`.
    pub async fn go_idle_with(&self, mode: IdleMode) -> Result<(), ClientError> {
        self.ask(|tx| Command::GoIdleWith(mode, tx)).await?
    }

    /// Re-dials now if buffered (what a wake poke does).
    pub async fn wake(&self) -> Result<(), ClientError> {
        self.ask(Command::Wake).await?
    }

    /// Acknowledges a buffered delivery. Call it only once the item is
    /// durably handed off: the connector forgets it after this.
    pub async fn ack(&self, delivery: DeliveryHandle) -> Result<(), ClientError> {
        self.ask(|tx| Command::Ack(delivery, tx)).await?
    }

    /// Shuts down: pending requests fail with `Shutdown`, the socket closes
    /// with 1000 and the client never dials again. Returns once the driver
    /// has done so; a client that already stopped returns at once.
    pub async fn shutdown(&self) {
        let _ = self.ask(Command::Shutdown).await;
    }

    /// The current state.
    pub async fn state(&self) -> Result<State, ClientError> {
        Ok(self.ask(Command::Status).await?.0)
    }

    /// The connection's counters.
    pub async fn stats(&self) -> Result<Stats, ClientError> {
        Ok(self.ask(Command::Status).await?.1)
    }
}

/// The stream of events from a client: inbound messages (with a
/// [`DeliveryHandle`] to [`ack`](RelayHandle::ack) when buffered),
/// passthroughs, interrupts, descriptors, state changes, disconnects and
/// revocation. Request results are not here: they answer the
/// [`RelayHandle::send`] call that made them.
///
/// # Backpressure
///
/// The stream is bounded ([`ClientOptions::event_capacity`]). When the
/// application falls behind, events are never dropped: the driver stops
/// reading the socket until there is room, so the connector (and TCP) hold
/// the rest. Commands and timers keep flowing meanwhile. The driver hands
/// events over in batches (all it read in one go), and the stream takes a
/// whole batch at a time, so a burst costs one wake-up. The stream ends when
/// the client has stopped and every event was taken.
pub struct Events {
    queue: Arc<EventQueue>,
    /// The batch taken from the queue, handed out one by one.
    taken: VecDeque<Event>,
    /// Messages handed back ([`Events::recycle`]) not yet given to the
    /// driver.
    returned: EventPool,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("taken", &self.taken.len())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// The next event, or `None` once the client has stopped.
    pub async fn next_event(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Hands back the message of an [`Event::Inbound`] once the application
    /// is done with it: the driver decodes later inbound messages into its
    /// box and text buffers instead of new allocations (and the memory is
    /// not freed on another thread than the one that allocated it).
    /// Optional and bounded: what waits here for the driver, and what waits
    /// in the queue to it, each hold at most [`MAX_HELD_BYTES`](relay_core::recycle::MAX_HELD_BYTES)
    /// (a text buffer over [`MAX_STRING_CAPACITY`](relay_core::recycle::MAX_STRING_CAPACITY) is not kept);
    /// more is freed.
    pub fn recycle(&mut self, event: Box<MessageEvent>) {
        self.returned.recycle(event);
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if let Some(event) = self.taken.pop_front() {
            return Poll::Ready(Some(event));
        }
        let mut state = self.queue.lock();
        // Messages handed back go to the driver with the lock taken anyway
        // (when it has collected the ones before).
        if !self.returned.is_empty() && state.returned.is_empty() {
            std::mem::swap(&mut state.returned, &mut self.returned);
        }
        if state.events.is_empty() {
            if state.finished {
                return Poll::Ready(None);
            }
            if !state
                .reader
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.reader = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        // Take the whole batch; the emptied buffer goes back for reuse.
        std::mem::swap(&mut state.events, &mut self.taken);
        let driver = state.driver.take();
        drop(state);
        if let Some(driver) = driver {
            driver.wake();
        }
        Poll::Ready(self.taken.pop_front())
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.poll_event(cx)
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.dropped = true;
        state.events.clear();
        let driver = state.driver.take();
        drop(state);
        if let Some(driver) = driver {
            driver.wake();
        }
    }
}

/// The events between the driver task and [`Events`]: one lock and at most
/// one wake-up per batch, no allocation per event.
pub(crate) struct EventQueue {
    state: Mutex<QueueState>,
    capacity: usize,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Event>,
    /// Messages the application handed back, for the driver to decode into.
    returned: EventPool,
    /// The application waiting for events.
    reader: Option<Waker>,
    /// The driver waiting for room.
    driver: Option<Waker>,
    /// The driver has stopped: no more events will come.
    finished: bool,
    /// The application dropped its `Events`: nobody will read.
    dropped: bool,
}

impl EventQueue {
    fn new(capacity: usize) -> Self {
        EventQueue {
            state: Mutex::new(QueueState::default()),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // No code panics while holding the lock; recover the data anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Events handed over and not taken yet; the messages the application
    /// handed back are swapped into `returned` (which must be empty).
    pub(crate) fn len_and_returned(&self, returned: &mut EventPool) -> usize {
        let mut state = self.lock();
        if !state.returned.is_empty() {
            std::mem::swap(&mut state.returned, returned);
        }
        state.events.len()
    }

    /// Hands `batch` over (waking the application once). With `full`, the
    /// driver is out of room: `false` if room appeared meanwhile (read on),
    /// otherwise the driver is woken when the application takes the batch.
    pub(crate) fn publish(&self, batch: &mut VecDeque<Event>, full: Option<&Context<'_>>) -> bool {
        let mut state = self.lock();
        if state.dropped {
            batch.clear();
            // Nobody reads: never wait for room.
            return full.is_none();
        }
        let mut reader = None;
        if !batch.is_empty() {
            if state.events.is_empty() {
                std::mem::swap(&mut state.events, batch);
            } else {
                state.events.append(batch);
            }
            reader = state.reader.take();
        }
        let mut waiting = true;
        if let Some(cx) = full {
            if state.events.len() < self.capacity {
                waiting = false;
            } else if !state
                .driver
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.driver = Some(cx.waker().clone());
            }
        }
        drop(state);
        if let Some(reader) = reader {
            reader.wake();
        }
        waiting
    }

    /// Hands over the last events and ends the stream.
    pub(crate) fn finish(&self, batch: &mut VecDeque<Event>) {
        let mut state = self.lock();
        if !state.dropped {
            state.events.append(batch);
        }
        state.finished = true;
        let reader = state.reader.take();
        drop(state);
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;

    use relay_core::message::MessageEvent;
    use relay_core::recycle::{EventPool, MAX_HELD_BYTES, MAX_STRING_CAPACITY};

    use super::{Command, EventQueue, Events};

    /// Messages handed back to `Events` wait for the driver within the
    /// bound, however many the application hands back.
    #[test]
    fn handed_back_messages_wait_within_the_bound() {
        let mut events = Events {
            queue: Arc::new(EventQueue::new(16)),
            taken: VecDeque::new(),
            returned: EventPool::default(),
        };
        let big = "x".repeat(4 * MAX_STRING_CAPACITY);
        for i in 0..1_000 {
            let e = MessageEvent {
                text: if i % 2 == 0 { big.clone() } else { "hi".into() },
                ..MessageEvent::default()
            };
            events.recycle(Box::new(e));
            assert!(events.returned.held() <= MAX_HELD_BYTES);
        }
        assert!(!events.returned.is_empty());
        // Handed to the queue at the next look for events, in one move.
        let mut returned = EventPool::default();
        let waker = std::task::Waker::noop();
        let _ = events.poll_event(&mut std::task::Context::from_waker(waker));
        assert!(events.returned.is_empty() && events.returned.held() == 0);
        assert_eq!(events.queue.len_and_returned(&mut returned), 0);
        assert!(!returned.is_empty());
        while let Some(e) = returned.take() {
            assert!(e.text.capacity() <= MAX_STRING_CAPACITY);
        }
    }

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
