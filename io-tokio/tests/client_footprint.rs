//! What a client holds on the heap on its way to serving: while its dial
//! waits for the upgrade response, and while its handshake waits for the
//! descriptor. A process that starts many clients at once has all of them
//! there together, and the memory they hold at that moment stays resident
//! afterwards (the allocator keeps the pages they freed), so this is paid
//! per client even once every one is idle.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::StreamExt;

use relay_core::config::RelayConfig;
use relay_tokio::ClientOptions;
use relay_tokio::RelayClient;

#[path = "../../core/tests/support/counting_alloc.rs"]
mod counting_alloc;

/// Counts this thread's live heap while a measurement asks.
#[global_allocator]
static ALLOC: counting_alloc::PerThread = counting_alloc::PerThread;

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

/// A peer that upgrades each socket, reads its first message (the hello),
/// says so, and sends nothing (no descriptor).
fn mute_peer() -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                let Ok(mut ws) = async_tungstenite::tokio::accept_async(stream).await else {
                    continue;
                };
                let _hello = ws.next().await;
                held.push(ws);
                if tx.send(()).is_err() {
                    return;
                }
            }
        });
    });
    (port, rx)
}

/// Heap bytes held on this thread by a client once `peer` says it got as
/// far as it goes (its value is kept until then).
fn held_when<T>(rt: &tokio::runtime::Runtime, port: u16, peer: &mpsc::Receiver<T>) -> i64 {
    held_by(rt, port, peer, false)
}

/// [`held_when`] for an inline client, or a spawned one (`spawned`).
fn held_by<T>(
    rt: &tokio::runtime::Runtime,
    port: u16,
    peer: &mpsc::Receiver<T>,
    spawned: bool,
) -> i64 {
    let config = RelayConfig::builder(format!("ws://127.0.0.1:{port}"))
        .identity("telegram", "bot-1")
        .allow_unauthenticated()
        .build()
        .expect("a config");
    rt.block_on(async {
        counting_alloc::start();
        let mut inline = None;
        let mut started = None;
        if spawned {
            started = Some(RelayClient::start_with(config, ClientOptions::default()));
        } else {
            inline = Some(RelayClient::inline_with(config, ClientOptions::default()));
        }
        // The client makes progress while its events are awaited.
        let mut wait = async |ms| {
            let wait = Duration::from_millis(ms);
            match (&mut inline, &mut started) {
                (Some(client), _) => drop(tokio::time::timeout(wait, client.next_event()).await),
                (_, Some((_, events))) => {
                    drop(tokio::time::timeout(wait, events.next_event()).await)
                }
                _ => {}
            }
        };
        let reached = loop {
            wait(5).await;
            if let Ok(reached) = peer.try_recv() {
                break reached;
            }
        };
        // The client now only waits for the peer.
        wait(20).await;
        let (_, held) = counting_alloc::stop();
        drop(inline);
        drop(started);
        drop(reached);
        // The socket's close, handed to a task of its own, runs out before
        // the next measurement starts.
        tokio::time::sleep(Duration::from_millis(50)).await;
        held
    })
}

/// While the upgrade waits for its response, the dial holds the upgrade's
/// state, not its first stage's, and no read buffer for the response.
#[test]
fn a_dial_waiting_for_its_upgrade_holds_one_stage() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (port, peer) = silent_peer();
    // Warm-up: what is built once per process and runtime.
    held_when(&rt, port, &peer);
    let held = held_when(&rt, port, &peer);
    // 5,260 B in a test build of this crate alone, most of it the
    // connection and the upgrade's state. The WebSocket library's two
    // 4 KiB handshake read buffers are set up only once the response
    // begins to arrive (the request's flush waits for it): held while
    // waiting, they made it 13,580 B. With the dial's first stage (its
    // request, its futures) and the room of the outputs queued before the
    // dial held beside the upgrade too, it was 14,835 B. The bound leaves
    // room for the builds to differ, not for any of those to come back.
    // The counting allocator saw the client (a bound passes on 0 too).
    assert!(held >= 1_000, "counted only {held} B");
    assert!(
        held <= 5_600,
        "a client waiting for its upgrade holds {held} B"
    );
}

/// Once the socket is open and the hellos written, the queues hold no room
/// left by the burst before.
#[test]
fn a_handshake_waiting_for_its_descriptor_holds_no_spare_room() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (port, peer) = mute_peer();
    held_when(&rt, port, &peer);
    let held = held_when(&rt, port, &peer);
    // 7,133 B in a test build of this crate alone. With the room the
    // outputs, events and writes before the socket opened left reserved
    // (given back only once serving), it was 8,157 B.
    assert!(held >= 1_000, "counted only {held} B");
    assert!(
        held <= 7_500,
        "a client waiting for its descriptor holds {held} B"
    );
}

/// A spawned client holds its connection behind what it shares with its
/// handles, and a driver task: a few hundred bytes over an inline client.
#[test]
fn a_spawned_client_holds_little_over_an_inline_one() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (port, peer) = mute_peer();
    held_by(&rt, port, &peer, true);
    held_by(&rt, port, &peer, false);
    let spawned = held_by(&rt, port, &peer, true);
    let inline = held_by(&rt, port, &peer, false);
    let over = spawned - inline;
    assert!(
        inline >= 1_000 && over > 0,
        "counted {inline} B inline, {over} B more spawned"
    );
    // 344 B: the shared state's lock and router, the driver's task and its
    // boxed future (the driver itself). (Spawning the driver's future
    // unboxed makes tokio's task, laid out in 128-byte lines, larger than
    // the box it saves.)
    assert!(
        over <= 390,
        "a spawned client holds {over} B more than an inline one"
    );
}
