//! What a client holds on the heap while its dial waits for the upgrade
//! response. A process that starts many clients at once has all their
//! dials in flight together, and the memory they hold at that moment stays
//! resident afterwards (the allocator keeps the pages the dials freed), so
//! this is paid per client even once every one is idle.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use relay_core::config::RelayConfig;
use relay_tokio::ClientOptions;
use relay_tokio::RelayClient;

/// Counts the bytes allocated and not yet freed by the thread that asked
/// for counting (tests run on several threads at once).
struct PerThread;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn note(delta: i64) {
    // `try_with`: the allocator also runs while thread locals are torn down.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = LIVE.try_with(|l| l.set(l.get() + delta));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as i64));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as i64 - layout.size() as i64);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: PerThread = PerThread;

/// A peer that reads each upgrade request, says so, and never answers it.
fn silent_peer() -> (u16, mpsc::Receiver<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => request.push(byte[0]),
                    _ => break,
                }
            }
            // Kept open (by the receiver) and never answered.
            if tx.send(stream).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

/// Heap bytes held on this thread by a client whose upgrade request was
/// sent and not answered.
fn held_while_upgrading(
    rt: &tokio::runtime::Runtime,
    port: u16,
    peer: &mpsc::Receiver<TcpStream>,
) -> i64 {
    let config = RelayConfig::builder(format!("ws://127.0.0.1:{port}"))
        .identity("telegram", "bot-1")
        .allow_unauthenticated()
        .build()
        .expect("a config");
    rt.block_on(async {
        LIVE.with(|l| l.set(0));
        COUNTING.with(|c| c.set(true));
        let mut client = RelayClient::inline_with(config, ClientOptions::default());
        let socket = loop {
            // The client makes progress while its events are awaited.
            let _ = tokio::time::timeout(Duration::from_millis(5), client.next_event()).await;
            if let Ok(socket) = peer.try_recv() {
                break socket;
            }
        };
        // Past the request: the client now only waits for the response.
        let _ = tokio::time::timeout(Duration::from_millis(20), client.next_event()).await;
        COUNTING.with(|c| c.set(false));
        let held = LIVE.with(Cell::get);
        drop(client);
        drop(socket);
        held
    })
}

#[test]
fn a_dial_waiting_for_its_upgrade_holds_one_stage() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (port, peer) = silent_peer();
    // Warm-up: what is built once per process and runtime.
    held_while_upgrading(&rt, port, &peer);
    let held = held_while_upgrading(&rt, port, &peer);
    // 13,196 B in a test build of this crate alone (13,324 B when built
    // with the whole workspace's features), most of it the upgrade's: its
    // read buffer, the 4 KiB chunk it reads the response through, and its
    // state. With the dial's first stage (its request, its futures) and the
    // room of the outputs queued before the dial held beside the upgrade,
    // it was 14,451 B. The bound leaves room for the builds to differ, not
    // for either of those to come back.
    assert!(
        held <= 13_600,
        "a client waiting for its upgrade holds {held} B"
    );
}
