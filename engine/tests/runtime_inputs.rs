//! The engine reads time, the wall clock and its seed from the `Runtime`
//! it runs on, and from nothing else: a runtime whose clock stands still
//! far from the system's sees every deadline on its own clock.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use relay_core::config::RelayConfig;
use relay_core::{Instant, UnixTime};
use relay_engine::{BoxFuture, ClientOptions, IoStream, RelayClient, Runtime};

/// Far from any reading of the system clock.
const START: Instant = Instant::from_millis(987_654_321_000);

#[derive(Default)]
struct Calls {
    deadlines: Vec<Instant>,
    connects: Vec<(String, u16)>,
    wall_reads: usize,
    seeds: usize,
}

/// A runtime whose clock stands at `START` and whose sockets never open.
#[derive(Clone, Default)]
struct Frozen(Arc<Mutex<Calls>>);

impl Runtime for Frozen {
    fn spawn(&self, _task: BoxFuture<()>) {}
    fn now(&self) -> Instant {
        START
    }
    fn wall_clock(&self) -> UnixTime {
        self.0.lock().unwrap().wall_reads += 1;
        UnixTime::from_secs(1_000)
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        self.0.lock().unwrap().deadlines.push(deadline);
        Box::pin(std::future::pending())
    }
    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        self.0.lock().unwrap().connects.push((host, port));
        Box::pin(std::future::pending())
    }
    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        Box::pin(async move { work() })
    }
    fn seed(&self) -> u64 {
        self.0.lock().unwrap().seeds += 1;
        7
    }
}

fn config() -> RelayConfig {
    RelayConfig::builder("ws://connector.test:8080/relay")
        .identity("telegram", "bot-1")
        .gateway_id("gw-1")
        .secret("secret-1")
        .build()
        .expect("a valid config")
}

#[test]
fn deadlines_wall_clock_and_seed_come_from_the_runtime() {
    let rt = Frozen::default();
    let options = ClientOptions {
        dial_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    };
    let mut client = RelayClient::inline_on(rt.clone(), config(), options);
    let mut next = Box::pin(client.next_event());
    let mut cx = Context::from_waker(Waker::noop());
    // The first poll dials: the connect is asked of the runtime, and the
    // dial's timeout is a deadline on the runtime's clock.
    for _ in 0..4 {
        if let Poll::Ready(event) = next.as_mut().poll(&mut cx) {
            assert!(event.is_some(), "the client stopped");
        }
    }
    drop(next);
    let calls = rt.0.lock().unwrap();
    assert_eq!(calls.connects, vec![("connector.test".to_owned(), 8080)]);
    assert!(
        calls
            .deadlines
            .contains(&START.saturating_add(Duration::from_secs(5))),
        "deadlines asked: {:?}",
        calls.deadlines
    );
    assert!(
        calls.deadlines.iter().all(|d| *d >= START),
        "a deadline before the runtime's now: {:?}",
        calls.deadlines
    );
    assert!(calls.wall_reads >= 1, "the token's wall clock was not read");
    assert_eq!(calls.seeds, 1, "one seed for a client started without one");
}

#[test]
fn a_given_seed_needs_no_entropy() {
    let rt = Frozen::default();
    let options = ClientOptions {
        seed: Some(3),
        ..ClientOptions::default()
    };
    let client = RelayClient::inline_on(rt.clone(), config(), options);
    drop(client);
    assert_eq!(rt.0.lock().unwrap().seeds, 0);
}
