//! An application that takes one event of a batch and holds the rest
//! (a long turn) does not cost a healthy connection: the driver task keeps
//! it going meanwhile, and a pong that arrived is read before the pong
//! deadline is handled; a message that arrives meanwhile is read by the
//! driver task.
//!
//! The client's clock is the test's: time moves only when the test says,
//! so which poll sends the ping and which one meets the deadline is fixed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_core::config::{RelayConfig, Timeouts};
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::{Event, Instant, State, UnixTime};
use relay_engine::{BoxFuture, Events, IoStream, RelayHandle, Runtime};
use relay_tokio::TokioRuntime;

const KEEPALIVE_MS: u64 = 10_000;
const PONG_MS: u64 = 2_000;
/// Messages the connector sends in one go: more than the application's
/// own read-ahead, fewer than the event capacity.
const BURST: usize = 10;

/// A clock moved by the test, with the sleeps that wait on it.
#[derive(Default)]
struct Clock {
    now: AtomicU64,
    sleepers: Mutex<Vec<Waker>>,
    /// Every deadline the client asked to sleep until: a ping sent at `t`
    /// arms the pong deadline, `t` + the pong timeout.
    requested: Mutex<Vec<u64>>,
}

impl Clock {
    fn advance_to(&self, millis: u64) {
        self.now.fetch_max(millis, Ordering::SeqCst);
        for waker in self.sleepers.lock().unwrap().drain(..) {
            waker.wake();
        }
    }

    fn requested(&self, millis: u64) -> bool {
        self.requested.lock().unwrap().contains(&millis)
    }
}

struct Sleep {
    clock: Arc<Clock>,
    deadline: u64,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut sleepers = self.clock.sleepers.lock().unwrap();
        if self.clock.now.load(Ordering::SeqCst) >= self.deadline {
            return Poll::Ready(());
        }
        sleepers.push(cx.waker().clone());
        Poll::Pending
    }
}

/// Tokio for sockets, the test's clock for time; spawned tasks run on
/// tokio, or (`hold_tasks`) are kept for the test to poll by hand.
struct Manual {
    tokio: TokioRuntime,
    clock: Arc<Clock>,
    hold_tasks: bool,
    held: Arc<Mutex<Vec<BoxFuture<()>>>>,
}

impl Runtime for Manual {
    fn spawn(&self, task: BoxFuture<()>) {
        if self.hold_tasks {
            self.held.lock().unwrap().push(task);
        } else {
            self.tokio.spawn(task);
        }
    }
    fn now(&self) -> Instant {
        Instant::from_millis(self.clock.now.load(Ordering::SeqCst))
    }
    fn wall_clock(&self) -> UnixTime {
        self.tokio.wall_clock()
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        self.clock
            .requested
            .lock()
            .unwrap()
            .push(deadline.as_millis());
        Box::pin(Sleep {
            clock: self.clock.clone(),
            deadline: deadline.as_millis(),
        })
    }
    fn connect_tcp(
        &self,
        host: String,
        port: u16,
    ) -> BoxFuture<std::io::Result<Box<dyn IoStream>>> {
        self.tokio.connect_tcp(host, port)
    }
    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        self.tokio.unblock(work)
    }
    fn seed(&self) -> u64 {
        self.tokio.seed()
    }
}

struct Setup {
    server: ConnectorServer,
    clock: Arc<Clock>,
    held: Arc<Mutex<Vec<BoxFuture<()>>>>,
    handle: RelayHandle,
    events: Events,
}

/// A client serving against a connector, with nothing left to read.
async fn serving(hold_tasks: bool) -> Setup {
    let server = ConnectorServer::builder()
        .gateway("gw-1", &["secret-1"])
        .start()
        .await
        .unwrap();
    let timeouts = Timeouts {
        keepalive_interval: Duration::from_millis(KEEPALIVE_MS),
        pong_timeout: Duration::from_millis(PONG_MS),
        ..Timeouts::default()
    };
    let config = RelayConfig::builder(server.url())
        .identity("telegram", "bot-1")
        .gateway_id("gw-1")
        .secret("secret-1")
        .timeouts(timeouts)
        .build()
        .unwrap();
    let clock = Arc::new(Clock::default());
    clock.advance_to(1_000);
    let held = Arc::new(Mutex::new(Vec::new()));
    let runtime = Manual {
        tokio: TokioRuntime::try_current().unwrap(),
        clock: clock.clone(),
        hold_tasks,
        held: held.clone(),
    };
    let (handle, mut events) =
        relay_engine::RelayClient::start_on(runtime, config, relay_tokio::ClientOptions::default());
    loop {
        match events.next_event().await {
            Some(Event::StateChanged {
                to: State::Serving, ..
            }) => break,
            Some(_) => {}
            None => panic!("the client stopped"),
        }
    }
    // Whatever came with the handshake is taken.
    while let Ok(event) =
        tokio::time::timeout(Duration::from_millis(200), events.next_event()).await
    {
        assert!(event.is_some(), "the client stopped");
    }
    Setup {
        server,
        clock,
        held,
        handle,
        events,
    }
}

async fn deliver_burst(server: &ConnectorServer) {
    deliver(server, BURST).await;
}

async fn deliver(server: &ConnectorServer, count: usize) {
    for i in 0..count {
        let event = MessageEvent {
            text: format!("m-{i}"),
            source: SessionSource {
                platform: "telegram".into(),
                chat_id: "c-1".into(),
                ..SessionSource::default()
            },
            ..MessageEvent::default()
        };
        server.deliver("gw-1", event).await.unwrap();
    }
}

/// The rest of the messages, in order, or the first event that is not
/// one.
async fn rest_of_burst(events: &mut Events, from: usize) {
    rest_of(events, from, BURST).await;
}

async fn rest_of(events: &mut Events, from: usize, count: usize) {
    for i in from..count {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next_event())
            .await
            .expect("a message")
            .expect("the client stopped");
        match event {
            Event::Inbound { event, .. } => assert_eq!(event.text, format!("m-{i}")),
            other => panic!("expected message m-{i}, got {other:?}"),
        }
    }
}

/// The keepalive falls due at `ping_at`: the application's own poll sends
/// the ping and reads a few messages ahead, takes the first and holds the
/// rest (a long turn); the pong arrives behind them and the pong deadline
/// passes. Returns the held driver task, not yet polled.
async fn take_one_then_pass_the_pong_deadline(s: &mut Setup, ping_at: u64) -> BoxFuture<()> {
    s.clock.advance_to(ping_at);
    match s.events.next_event().await {
        Some(Event::Inbound { event, .. }) => assert_eq!(event.text, "m-0"),
        other => panic!("expected the first message, got {other:?}"),
    }
    assert!(s.clock.requested(ping_at + PONG_MS), "no ping was sent");
    settle().await;
    s.clock.advance_to(ping_at + PONG_MS + 1);
    s.held.lock().unwrap().pop().expect("the driver task")
}

/// Real time for loopback frames to arrive (the client's clock stands still).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_behind_a_held_batch_is_read_before_the_pong_deadline() {
    let run = async {
        let mut s = serving(true).await;
        let ping_at = 1_000 + KEEPALIVE_MS;
        // The burst waits in the socket; the keepalive falls due.
        deliver_burst(&s.server).await;
        settle().await;
        // The driver task's turn, as the pong deadline wakes it.
        let mut driver = take_one_then_pass_the_pong_deadline(&mut s, ping_at).await;
        let mut cx = Context::from_waker(Waker::noop());
        assert!(driver.as_mut().poll(&mut cx).is_pending());
        assert_eq!(s.handle.state().await.unwrap(), State::Serving);
        // The application comes back: every message, no disconnect.
        rest_of_burst(&mut s.events, 1).await;
        assert_eq!(s.server.upgrade_count(), 1);
        s.server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the test made no progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_keeps_the_connection_going_while_a_batch_is_held() {
    let run = async {
        let mut s = serving(false).await;
        deliver_burst(&s.server).await;
        settle().await;
        match s.events.next_event().await {
            Some(Event::Inbound { event, .. }) => assert_eq!(event.text, "m-0"),
            other => panic!("expected the first message, got {other:?}"),
        }
        // The application holds the rest across three keepalives and
        // their pong deadlines; the driver sends the pings and reads the
        // pongs.
        let mut at = 1_000;
        for _ in 0..3 {
            at += KEEPALIVE_MS;
            s.clock.advance_to(at);
            settle().await;
            assert!(s.clock.requested(at + PONG_MS), "no ping was sent");
            s.clock.advance_to(at + PONG_MS + 1);
            settle().await;
            assert_eq!(s.handle.state().await.unwrap(), State::Serving);
        }
        // A request's result is delivered meanwhile.
        let result = s.handle.send_text("c-1", "hello").await.unwrap();
        assert!(result.success, "{result:?}");
        rest_of_burst(&mut s.events, 1).await;
        assert_eq!(s.server.upgrade_count(), 1);
        s.server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the test made no progress");
}

/// More messages than one read batch (64) and than the event queue holds
/// (256), then the pong: the application takes nothing meanwhile. Within
/// what a due deadline reads past the queue (its capacity again).
const BACKLOG: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_behind_a_full_event_queue_still_meets_the_pong_deadline() {
    let run = async {
        let mut s = serving(false).await;
        let ping_at = 1_000 + KEEPALIVE_MS;
        // The driver reads until the event queue is full; the rest of the
        // backlog waits in the socket.
        deliver(&s.server, BACKLOG).await;
        settle().await;
        // The keepalive falls due: the ping goes out, the pong comes back
        // behind the backlog, before the pong deadline.
        s.clock.advance_to(ping_at);
        settle().await;
        assert!(s.clock.requested(ping_at + PONG_MS), "no ping was sent");
        s.clock.advance_to(ping_at + PONG_MS + 1);
        settle().await;
        assert_eq!(s.handle.state().await.unwrap(), State::Serving);
        // The application comes back: every message, no disconnect.
        rest_of(&mut s.events, 0, BACKLOG).await;
        assert_eq!(s.server.upgrade_count(), 1);
        assert_eq!(s.handle.state().await.unwrap(), State::Serving);
        s.server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the test made no progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_behind_more_than_a_read_batch_is_read_before_the_pong_deadline() {
    let run = async {
        let mut s = serving(true).await;
        let ping_at = 1_000 + KEEPALIVE_MS;
        deliver(&s.server, BACKLOG).await;
        settle().await;
        // The driver task's turns as the pong deadline wakes it, with
        // nobody taking events.
        let mut driver = take_one_then_pass_the_pong_deadline(&mut s, ping_at).await;
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..BACKLOG {
            assert!(driver.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(s.handle.state().await.unwrap(), State::Serving);
        rest_of(&mut s.events, 1, BACKLOG).await;
        assert_eq!(s.server.upgrade_count(), 1);
        s.server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the test made no progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_behind_a_held_batch_is_read_by_the_driver() {
    let run = async {
        let mut s = serving(false).await;
        let handle = s.handle.clone();
        let read = async || handle.stats().await.unwrap().frames_in;
        deliver(&s.server, 2).await;
        settle().await;
        // The application takes the first message and holds the second.
        match s.events.next_event().await {
            Some(Event::Inbound { event, .. }) => assert_eq!(event.text, "m-0"),
            other => panic!("expected the first message, got {other:?}"),
        }
        let before = read().await;
        // Another message arrives while the batch is held: the driver task
        // reads it, the application still away (the clock stands still).
        let event = MessageEvent {
            text: "m-2".into(),
            source: SessionSource {
                platform: "telegram".into(),
                chat_id: "c-1".into(),
                ..SessionSource::default()
            },
            ..MessageEvent::default()
        };
        s.server.deliver("gw-1", event).await.unwrap();
        settle().await;
        assert_eq!(read().await, before + 1, "the message was not read");
        rest_of(&mut s.events, 1, 3).await;
        assert_eq!(s.server.upgrade_count(), 1);
        s.server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the test made no progress");
}
