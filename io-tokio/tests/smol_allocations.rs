//! relay-smol's client allocates per round trip what the tokio client
//! does, plus async-io's reactor's own cost, measured the same way in the
//! same process: a counting global allocator counts every allocation made
//! off the server's threads (the client, its runtime and the application's
//! calls), over sequential request → result round trips against the dev
//! connector server.
//!
//! The reactor's cost is one allocation per turn that wakes a task (its
//! list of tasks to wake), so at most one per round trip: the raw
//! WebSocket client pays the same on smol (see the loopback benchmark).
//! A connection always has a timer armed (its keepalive or a request's
//! deadline); a timer registered with async-io's reactor would add an
//! allocation on every turn, which this comparison sees.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_core::config::RelayConfig;
use relay_core::wire::Action;
use relay_core::{Event, State};
use relay_tokio::{Events, RelayHandle};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread runs the server, whose allocations are not counted.
    static SERVER: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if !SERVER.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

const WARM_UP: usize = 300;
const ROUND_TRIPS: usize = 3000;
const CHAT: &str = "-1001234567890";
const TEXT: &str = "Thanks, that works: I have moved the meeting to Thursday.";

fn config(server: &ConnectorServer) -> RelayConfig {
    RelayConfig::builder(server.url())
        .identity("telegram", "bot-1")
        .gateway_id("gw-1")
        .secret("secret-1")
        .build()
        .expect("a valid config")
}

async fn serving(events: &mut Events) {
    loop {
        match events.next_event().await {
            Some(Event::StateChanged {
                to: State::Serving, ..
            }) => return,
            Some(_) => {}
            None => panic!("client stopped before serving"),
        }
    }
}

/// Allocations per round trip of `handle`'s connection.
async fn per_round_trip(handle: &RelayHandle) -> f64 {
    for _ in 0..WARM_UP {
        handle.send(Action::send(CHAT, TEXT)).await.expect("result");
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..ROUND_TRIPS {
        handle.send(Action::send(CHAT, TEXT)).await.expect("result");
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / ROUND_TRIPS as f64
}

#[test]
fn relay_smol_allocates_what_tokio_does_plus_the_reactor_wake_list() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| SERVER.with(|s| s.set(true)))
        .enable_all()
        .build()
        .expect("server runtime");
    let server = server_rt
        .block_on(
            ConnectorServer::builder()
                .gateway("gw-1", &["secret-1"])
                .start(),
        )
        .expect("server");

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let tokio_figure = client_rt.block_on(async {
        let (handle, mut events) = relay_tokio::RelayClient::start(config(&server));
        serving(&mut events).await;
        let figure = per_round_trip(&handle).await;
        handle.shutdown().await;
        figure
    });
    drop(client_rt);

    let smol_figure = smol::block_on(async {
        let (handle, mut events) = relay_smol::RelayClient::start(config(&server));
        serving(&mut events).await;
        let figure = per_round_trip(&handle).await;
        handle.shutdown().await;
        figure
    });
    eprintln!("allocations per round trip: tokio {tokio_figure:.2}, relay-smol {smol_figure:.2}");
    // One wake list per round trip at most; a quarter of an allocation
    // of slack for timing.
    assert!(
        smol_figure <= tokio_figure + 1.25,
        "relay-smol {smol_figure:.2} allocations per round trip, tokio {tokio_figure:.2}"
    );
    server_rt.shutdown_timeout(Duration::from_secs(1));
}
