//! The stream of events from a spawned client, and the queue that feeds
//! it from the driver task.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_util::Stream;
use relay_core::Event;
use relay_core::message::MessageEvent;
use relay_core::recycle::EventPool;

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
    /// The stream over `queue`.
    pub(crate) fn new(queue: Arc<EventQueue>) -> Self {
        Events {
            queue,
            taken: VecDeque::new(),
            returned: EventPool::default(),
        }
    }

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
    pub(crate) fn new(capacity: usize) -> Self {
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

    use super::{EventQueue, Events};

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
}
