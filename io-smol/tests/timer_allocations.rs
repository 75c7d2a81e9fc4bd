//! A connection always has a timer armed (its keepalive or pong deadline),
//! so an armed timer must cost nothing per reactor turn: async-io's reactor
//! splits its timer map on every turn while a timer is registered with it
//! (an allocation each time), which relay-smol's timers avoid.
//!
//! Round trips over a loopback socket make the reactor turn; a counting
//! global allocator compares the allocations per round trip with a
//! far-off timer armed and with none, in the same process.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

use async_io::Async;
use relay_engine::{Clock, Runtime};
use relay_smol::SmolRuntime;
use smol::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../core/benches/support/alloc.rs"]
mod alloc;

/// Counts every allocation of the process.
#[global_allocator]
static COUNTING: alloc::Counting = alloc::Counting;

const ROUND_TRIPS: u64 = 2000;

/// Allocations per one-byte round trip with an echo thread that answers
/// late: each one waits for the reply in the reactor (whose turn allocates
/// its list of tasks to wake, about one allocation per round trip).
async fn per_round_trip(socket: &mut Async<TcpStream>) -> f64 {
    let mut byte = [0u8; 1];
    for _ in 0..100 {
        socket.write_all(b"x").await.expect("write");
        socket.read_exact(&mut byte).await.expect("read");
    }
    let before = alloc::snapshot().0;
    for _ in 0..ROUND_TRIPS {
        socket.write_all(b"x").await.expect("write");
        socket.read_exact(&mut byte).await.expect("read");
    }
    (alloc::snapshot().0 - before) as f64 / ROUND_TRIPS as f64
}

#[test]
fn an_armed_timer_costs_no_allocation_per_reactor_turn() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let echo = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().expect("accept");
        peer.set_nodelay(true).expect("nodelay");
        let mut byte = [0u8; 1];
        while peer.read_exact(&mut byte).is_ok() {
            // Late enough that the reader always waits in the reactor.
            std::thread::sleep(Duration::from_micros(100));
            if peer.write_all(&byte).is_err() {
                break;
            }
        }
    });
    let rt = SmolRuntime::default();
    smol::block_on(async {
        let mut socket = Async::<TcpStream>::connect(addr).await.expect("connect");
        socket.get_ref().set_nodelay(true).expect("nodelay");
        let idle = per_round_trip(&mut socket).await;

        // A keepalive-like timer, armed (polled once) and left waiting.
        let mut keepalive = rt.sleep_until(Clock::now().saturating_add(Duration::from_secs(3600)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut keepalive).poll(&mut cx).is_pending());
        let armed = per_round_trip(&mut socket).await;
        drop(keepalive);

        eprintln!("allocations per round trip: no timer {idle:.2}, a timer armed {armed:.2}");
        assert!(
            armed <= idle + 0.2,
            "an armed timer costs {:.2} allocations per round trip",
            armed - idle
        );
    });
    echo.join().expect("echo thread");
}
