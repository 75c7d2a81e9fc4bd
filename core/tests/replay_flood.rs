//! A hostile connector replaying without end: every replay is dropped (and,
//! when buffered, acked at once), and the memory the link keeps for it stays
//! bounded, whether it replays one message or invents new ones.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::{Event, Output};
use serde_json::json;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// Counts this thread's live heap while the test asks.
#[global_allocator]
static ALLOC: counting_alloc::PerThread = counting_alloc::PerThread;

fn line(message_id: &str, buffer_id: Option<&str>) -> String {
    let mut f = json!({"type": "inbound", "event": {"text": "x", "message_id": message_id,
        "source": {"platform": "discord", "chat_id": "c1", "chat_type": "group"}}});
    if let Some(b) = buffer_id {
        f["bufferId"] = json!(b);
    }
    format!("{f}\n")
}

/// Feeds `line` and drains the outputs without keeping them; returns the
/// inbound messages handed over and the frames written.
fn feed(h: &mut H, line: &str) -> (usize, usize) {
    let now = h.at();
    h.conn
        .handle_input(relay_core::Input::Message(line.as_bytes()), now);
    let (mut handed, mut written) = (0, 0);
    loop {
        match h.conn.poll_output() {
            Output::Wait(_) => return (handed, written),
            Output::Event(Event::Inbound { .. }) => handed += 1,
            Output::Transmit(_) => written += 1,
            _ => {}
        }
    }
}

#[test]
fn a_replay_flood_is_dropped_acked_and_bounded_in_memory() {
    const FLOOD: usize = 50_000;
    let mut h = H::serving();
    // Warm up the tables to their bounds before measuring.
    for i in 0..10_000 {
        let warm = format!("w-{i}");
        feed(&mut h, &line(&warm, None));
        feed(&mut h, &line(&warm, Some(&format!("warm-{i}"))));
    }
    // The heap's growth is counted from here.
    counting_alloc::start();
    let mut peak = 0;
    let (mut handed, mut acks) = (0, 0);
    for i in 0..FLOOD {
        // Every message is new once, then replayed live, from the buffer
        // under ever new bufferIds, and again a while later (well within
        // the window of the last 512).
        let fresh = format!("f-{i}");
        let (h1, _) = feed(&mut h, &line(&fresh, None));
        let (h2, w2) = feed(&mut h, &line(&fresh, None));
        let (h3, w3) = feed(&mut h, &line(&fresh, Some(&format!("again-{i}"))));
        let older = format!("f-{}", i.saturating_sub(100));
        let (h4, w4) = feed(&mut h, &line(&older, Some(&format!("later-{i}"))));
        handed += h1 + h2 + h3 + h4;
        acks += w2 + w3 + w4;
        peak = peak.max(counting_alloc::live());
    }
    assert_eq!(handed, FLOOD, "only the new messages were handed over");
    assert_eq!(acks, 2 * FLOOD, "every buffered replay was acked at once");
    assert_eq!(h.conn.stats().replays_dropped as usize, 3 * FLOOD + 10_000);
    let (calls, _) = counting_alloc::stop();
    assert!(calls > 0, "the counting allocator saw the flood");
    let growth = peak;
    assert!(
        growth < 256 * 1024,
        "the flood grew the heap by {growth} bytes"
    );
}
