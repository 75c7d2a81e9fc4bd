//! One streamed edit's round trip through the core, as a driver makes it:
//! the action decoded from JSON, sent (request id, request table, frame
//! encoding), the frame taken, then the connector's `outbound_result` fed
//! back and its `Response` event taken; the oldest request is answered once
//! `window` are in flight (second argument, 32 by default, as in the Python
//! bench's streamed edits).
//!
//! ```text
//! cargo run --release -p hermes-relay-core --example edit_round_trip -- 200000 32
//! ```
//!
//! Instructions per round trip: the difference of two runs under callgrind
//! (`valgrind --tool=callgrind target/release/examples/edit_round_trip 12000 32`
//! minus the same with `2000`), divided by 10,000.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant as Wall;

use relay_core::config::RelayConfig;
use relay_core::connection::{Connection, Event, Input, Output, State};
use relay_core::wire::Action;
use relay_core::{Instant, UnixTime};

const DESCRIPTOR: &str = r#"{"type":"descriptor","descriptor":{"contract_version":1,"platform":"telegram","label":"telegram connector","max_message_length":2000,"supports_draft_streaming":false,"supports_edit":true,"supports_threads":true,"markdown_dialect":"telegram","len_unit":"chars","emoji":"💬","platform_hint":"You are chatting on telegram.","pii_safe":false,"media_capabilities":["image","document"],"supports_context":true,"supported_ops":["send","edit","typing","follow_up","get_chat_info","send_media","react"]}}"#;

fn drain(c: &mut Connection) -> (usize, usize) {
    let (mut bytes, mut responses) = (0, 0);
    loop {
        match c.poll_output() {
            Output::Wait(_) => return (bytes, responses),
            Output::Transmit(t) => bytes += black_box(t).len(),
            Output::Event(Event::Response { result, .. }) => {
                responses += usize::from(black_box(result).success);
            }
            out => {
                if std::env::var_os("SHOW").is_some() {
                    eprintln!("{out:?}");
                }
                black_box(&out);
            }
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("a count"));
    // Requests in flight: the Python bench's streamed edits keep 32.
    let window: usize = std::env::args()
        .nth(2)
        .map_or(32, |a| a.parse().expect("a window"))
        .max(1);
    let now = Instant::ZERO;
    let config = RelayConfig {
        relay_url: "https://connector.example".into(),
        gateway_id: Some("gw-bench".into()),
        secret: Some("bench-secret".into()),
        ..RelayConfig::default()
    };
    let mut c = Connection::new(config, 7, now, UnixTime::from_secs(1_763_900_000));
    drain(&mut c);
    c.handle_input(Input::Opened, now);
    drain(&mut c);
    let descriptor = format!("{DESCRIPTOR}\n");
    c.handle_input(Input::Message(descriptor.as_bytes()), now);
    drain(&mut c);
    assert_eq!(c.state(), State::Serving);
    let content = "x".repeat(200);
    let start = Wall::now();
    let (mut bytes, mut responses) = (0, 0);
    let mut in_flight = VecDeque::with_capacity(window);
    for i in 0..n + window {
        if i < n {
            let json = format!(
                r#"{{"op":"edit","chat_id":"c1","message_id":"m0","content":"{}","finalize":false}}"#,
                &content[..i % 200 + 1]
            );
            let action: Action = serde_json::from_str(black_box(&json)).expect("an action");
            in_flight.push_back(c.send(action, now).expect("sent"));
            bytes += drain(&mut c).0;
        }
        if in_flight.len() < window && i < n {
            continue;
        }
        let Some(id) = in_flight.pop_front() else {
            break;
        };
        let result = format!(
            concat!(
                r#"{{"type":"outbound_result","requestId":"{}","result":{{"success":true,"message_id":"m0"}}}}"#,
                "\n"
            ),
            id.as_str()
        );
        c.handle_input(Input::Text(black_box(&result)), now);
        responses += drain(&mut c).1;
    }
    let per = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    assert_eq!(responses, n);
    println!("{n} round trips, {bytes} bytes sent, {per:.0} ns each");
}
