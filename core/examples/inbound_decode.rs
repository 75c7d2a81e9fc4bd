//! Decodes the loopback benchmark's `inbound` frame (395 bytes, see
//! `io-tokio/benches/loopback/`) in a loop, with `decode_connector_frame`
//! or, for comparison, with a derived serde struct of owned strings that
//! reads the fields the raw client of that bench reads.
//!
//! ```text
//! cargo run --release -p hermes-relay-core --example inbound_decode -- ours 2000000
//! cargo run --release -p hermes-relay-core --example inbound_decode -- raw 2000000
//! ```
//!
//! Wall time on a shared machine is noisy; instructions per frame are not.
//! Count them as the difference of two runs under cachegrind:
//! `valgrind --tool=cachegrind --cache-sim=no target/release/examples/inbound_decode ours 20000`
//! minus the same with `0`, divided by 20,000.

use std::time::Instant;

use relay_core::wire::{ConnectorFrame, decode_connector_frame, encode_connector_frame};

#[path = "../benches/support/loopback_frame.rs"]
mod loopback_frame;
use loopback_frame::{RawInbound, inbound_event};

/// The bench's frame, encoded by the core (without its `\n`).
fn line() -> Vec<u8> {
    let frame = ConnectorFrame::Inbound {
        event: Box::new(inbound_event("telegram")),
        buffer_id: None,
    };
    let mut out = Vec::new();
    encode_connector_frame(&frame, &mut out);
    out.pop();
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let raw = args.next().as_deref() == Some("raw");
    let n: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("a count"));
    let line = line();
    // The bench's raw client reads a `&str` tungstenite has already checked
    // as UTF-8 (the relay client gets the same bytes and checks them again).
    let text = std::str::from_utf8(&line).expect("UTF-8");
    let start = Instant::now();
    let mut text_bytes = 0usize;
    for _ in 0..n {
        let line = std::hint::black_box(line.as_slice());
        if raw {
            let frame: RawInbound =
                serde_json::from_str(std::hint::black_box(text)).expect("valid");
            text_bytes += frame.event.text.len();
        } else if let Ok(ConnectorFrame::Inbound { event, .. }) = decode_connector_frame(line) {
            text_bytes += event.text.len();
        }
    }
    let per = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    let which = if raw {
        "derived serde struct"
    } else {
        "decode_connector_frame"
    };
    println!("{which}: {per:.0} ns per frame over {n} frames ({text_bytes} text bytes)");
}
