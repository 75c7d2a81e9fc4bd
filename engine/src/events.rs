//! The stream of events from a spawned client.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use relay_core::Event;
use relay_core::message::MessageEvent;
use relay_core::recycle::EventPool;

use super::shared::{Poller, Shared, Turn};

/// The stream of events from a client: inbound messages (with a
/// [`DeliveryHandle`](relay_core::connection::DeliveryHandle) to
/// [`ack`](super::RelayHandle::ack) when buffered),
/// passthroughs, interrupts, descriptors, state changes, disconnects and
/// revocation. Request results are not here: they answer the
/// [`RelayHandle::send`](super::RelayHandle::send) call that made them.
///
/// # Backpressure
///
/// The stream is bounded
/// ([`ClientOptions::event_capacity`](super::ClientOptions::event_capacity)). When the
/// application falls behind, events are never dropped: the client stops
/// reading the socket until there is room, so the connector (and TCP) hold
/// the rest. Commands and timers keep flowing meanwhile. The stream takes
/// all the events waiting at once, so a burst costs one hand-over; while
/// the application awaits the next event, its own task reads the socket
/// (a few events ahead) instead of waiting for the driver task to. A
/// wake-up of the connection that comes while the application works
/// through a batch taken by [`next_event`](Events::next_event) waits for it
/// to come back for the rest, up to the connection's next deadline (a
/// keepalive or a pong deadline), when the driver task answers it. The
/// stream ends when the client has stopped and every event was taken.
pub struct Events {
    shared: Arc<Shared>,
    batch: Batch,
}

/// What the stream holds apart from the connection (so that a wait
/// borrows the connection and this side by side).
struct Batch {
    /// The batch taken from the queue, handed out one by one.
    taken: VecDeque<Event>,
    /// Messages handed back ([`Events::recycle`]) not yet given to the
    /// connection.
    returned: EventPool,
    /// The connection's [`trims`](super::engine::Engine::trims) when the
    /// batch buffer was last given back.
    trims: u32,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("taken", &self.batch.taken.len())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// The stream over `shared`'s events.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Events {
            shared,
            batch: Batch {
                taken: VecDeque::new(),
                returned: EventPool::default(),
                trims: 0,
            },
        }
    }

    /// The next event, or `None` once the client has stopped. While it
    /// waits, the calling task reads the socket itself when there is
    /// something to read.
    pub async fn next_event(&mut self) -> Option<Event> {
        if let Some(event) = self.batch.taken.pop_front() {
            return Some(event);
        }
        let Events { shared, batch } = self;
        let shared: &Shared = shared;
        let turn = Turn::stream(shared);
        let event = std::future::poll_fn(|cx| batch.poll(shared, cx, Some(&turn))).await;
        // In the middle of a batch the application comes back for the
        // rest: a socket wake-up that came meanwhile waits for it rather
        // than waking the driver task on another thread. The wait is
        // bounded: the connection's timer wakes the driver task at the next
        // deadline, and the driver reads the socket before it handles the
        // timeout.
        turn.finish(!batch.taken.is_empty());
        event
    }

    /// Hands back the message of an [`Event::Inbound`] once the application
    /// is done with it: the client decodes later inbound messages into its
    /// box and text buffers instead of new allocations (and the memory is
    /// not freed on another thread than the one that allocated it).
    /// Optional and bounded: what waits here holds at most
    /// [`MAX_HELD_BYTES`](relay_core::recycle::MAX_HELD_BYTES)
    /// (a text buffer over [`MAX_STRING_CAPACITY`](relay_core::recycle::MAX_STRING_CAPACITY) is not kept);
    /// more is freed.
    pub fn recycle(&mut self, event: Box<MessageEvent>) {
        self.batch.returned.recycle(event);
    }

    /// The next event, waiting for the driver task to read it.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.batch.poll(&self.shared, cx, None)
    }
}

impl Batch {
    /// The next event; with a `turn`, this task polls the connection
    /// itself while it waits.
    fn poll(
        &mut self,
        shared: &Shared,
        cx: &mut Context<'_>,
        turn: Option<&Turn<'_>>,
    ) -> Poll<Option<Event>> {
        if let Some(event) = self.taken.pop_front() {
            return Poll::Ready(Some(event));
        }
        let mut core = match turn {
            Some(turn) => turn.begin(cx),
            None => shared.lock(),
        };
        if !self.returned.is_empty() {
            core.engine.conn.recycle_all(&mut self.returned);
        }
        if core.engine.events.is_empty() && turn.is_some() {
            shared.poll_connection(&mut core, Poller::Reader);
        }
        if core.engine.events.is_empty() {
            if core.stopped {
                return Poll::Ready(None);
            }
            core.set_reader(cx.waker());
            // Whenever the connection's own queues are: the room a burst
            // of events left here is given back.
            core.engine.trim_when_quiet();
            if core.engine.trims() != self.trims {
                self.trims = core.engine.trims();
                self.taken = VecDeque::new();
            }
            return Poll::Pending;
        }
        // Take the whole batch; the emptied buffer goes back for reuse.
        let full = core.is_full();
        std::mem::swap(&mut core.engine.events, &mut self.taken);
        drop(core);
        if full && turn.is_none() {
            // The driver task stopped reading for room.
            shared.router.wake_driver();
        }
        Poll::Ready(self.taken.pop_front())
    }
}

impl Stream for Events {
    type Item = Event;

    /// Waits for the driver task to read events: a stream may stop being
    /// polled at any time, so its task never takes the driver's place
    /// ([`next_event`](Events::next_event) does).
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.poll_event(cx)
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut core = self.shared.lock();
        core.events_dropped = true;
        core.engine.events.clear();
        drop(core);
        self.shared.router.drop_stream();
        // The connection may have stopped reading for room: read on.
        self.shared.router.wake_driver();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use relay_core::message::MessageEvent;
    use relay_core::recycle::{MAX_HELD_BYTES, MAX_STRING_CAPACITY};

    use super::Events;
    use crate::shared::tests::idle_shared;

    /// Messages handed back to `Events` wait for the connection within the
    /// bound, however many the application hands back.
    #[test]
    fn handed_back_messages_wait_within_the_bound() {
        let mut events = Events::new(Arc::new(idle_shared()));
        let big = "x".repeat(4 * MAX_STRING_CAPACITY);
        for i in 0..1_000 {
            let e = MessageEvent {
                text: if i % 2 == 0 { big.clone() } else { "hi".into() },
                ..MessageEvent::default()
            };
            events.recycle(Box::new(e));
            assert!(events.batch.returned.held() <= MAX_HELD_BYTES);
        }
        assert!(!events.batch.returned.is_empty());
        // Handed to the connection at the next look for events, in one move.
        let waker = std::task::Waker::noop();
        let _ = events.poll_event(&mut std::task::Context::from_waker(waker));
        assert!(events.batch.returned.is_empty() && events.batch.returned.held() == 0);
    }
}
