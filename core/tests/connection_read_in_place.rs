//! Messages read while serving, fed as text (`Input::Text`) and as bytes
//! (`Input::Message`): the same outputs and the same state after each,
//! whether the read leaves the connection serving or moves it on.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::connection::{Event, Input, Output, State};

/// One message, as text or as bytes.
fn feed(h: &mut H, text: bool, message: &str) -> Vec<Output> {
    if text {
        h.input(Input::Text(message))
    } else {
        h.msg(message)
    }
}

/// What each step of `scenario` gave, run on a fresh serving connection.
fn run(text: bool, scenario: u8) -> Vec<(Vec<Output>, State)> {
    let mut config = cfg();
    config.limits.max_frame_bytes = 400;
    let mut h = H::serving_with(config);
    let mut steps = Vec::new();
    let mut record = |h: &H, out: Vec<Output>| steps.push((out, h.state()));
    match scenario {
        // Stays serving: two lines in one message, then one line across
        // two messages.
        0 => {
            let two = format!("{}{}", group_inbound("c1", None), group_inbound("c2", None));
            let out = feed(&mut h, text, &two);
            record(&h, out);
            let line = group_inbound("c3", None);
            let (head, tail) = line.split_at(20);
            let out = feed(&mut h, text, head);
            record(&h, out);
            let out = feed(&mut h, text, tail);
            record(&h, out);
        }
        // A line over the limit after a good one: closed, then dialing.
        1 => {
            let message = format!("{}{}\n", group_inbound("c1", None), "x".repeat(1000));
            let out = feed(&mut h, text, &message);
            record(&h, out);
        }
        // An idle ack after its deadline: closed and re-dialed.
        2 => {
            let out = h.go_idle();
            record(&h, out);
            let out = h.timeout_at(10_000);
            record(&h, out);
            let out = feed(&mut h, text, "{\"type\":\"going_idle_ack\"}\n");
            record(&h, out);
        }
        // An idle ack in time: read while going idle.
        _ => {
            let out = h.go_idle();
            record(&h, out);
            let out = feed(&mut h, text, "{\"type\":\"going_idle_ack\"}\n");
            record(&h, out);
        }
    }
    steps
}

fn inbound_count(steps: &[(Vec<Output>, State)]) -> usize {
    steps
        .iter()
        .flat_map(|(out, _)| out)
        .filter(|o| matches!(o, Output::Event(Event::Inbound { .. })))
        .count()
}

#[test]
fn a_read_that_stays_serving_hands_every_message_over() {
    let (text, bytes) = (run(true, 0), run(false, 0));
    assert_eq!(text, bytes);
    assert_eq!(inbound_count(&text), 3);
    assert!(text.iter().all(|(_, state)| *state == State::Serving));
}

#[test]
fn an_over_long_line_while_serving_closes_and_dials_again() {
    let (text, bytes) = (run(true, 1), run(false, 1));
    assert_eq!(text, bytes);
    assert_eq!(inbound_count(&text), 1);
    let (out, state) = &text[0];
    assert_eq!(closes(out), vec![(1009, "frame too large".to_owned())]);
    assert_eq!(*state, State::Dialing);
}

#[test]
fn a_late_idle_ack_read_while_serving_dials_again() {
    let (text, bytes) = (run(true, 2), run(false, 2));
    assert_eq!(text, bytes);
    assert_eq!(text[1].1, State::Serving);
    assert_eq!(text[2].1, State::Dialing);
    assert!(
        text[2]
            .0
            .iter()
            .any(|o| matches!(o, Output::Close { code: 1000, .. })),
        "{:?}",
        text[2].0
    );
}

#[test]
fn an_idle_ack_in_time_is_read_while_going_idle() {
    let (text, bytes) = (run(true, 3), run(false, 3));
    assert_eq!(text, bytes);
    assert_eq!(text[0].1, State::GoingIdle);
    assert_ne!(text[1].1, State::GoingIdle);
}
