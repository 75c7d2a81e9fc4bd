//! A `going_idle_ack` that arrives after its deadline: the connector has
//! flipped us to buffered, so the gateway must not keep a socket the
//! connector will never push on again.

use core::time::Duration;

use relay_core::config::RelayConfig;
use relay_core::connection::{Connection, Event, IdleRefusal, Input, Output, State};
use relay_core::{Instant, UnixTime};

const DESCRIPTOR: &str = "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"relay\",\"label\":\"R\",\"max_message_length\":2000,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"plain\",\"len_unit\":\"chars\"}}\n";

fn drain(c: &mut Connection) -> Vec<Output> {
    let mut out = Vec::new();
    loop {
        match c.poll_output() {
            Output::Wait(_) => return out,
            o => out.push(o),
        }
    }
}

fn serving() -> (Connection, Instant) {
    let t0 = Instant::ZERO;
    let mut c = Connection::new(
        RelayConfig::new("ws://c"),
        1,
        t0,
        UnixTime::from_secs(1_700_000_000),
    );
    drain(&mut c);
    c.handle_input(Input::Opened, t0);
    c.handle_input(Input::Message(DESCRIPTOR.as_bytes()), t0);
    drain(&mut c);
    assert_eq!(c.state(), State::Serving);
    (c, t0)
}

#[test]
fn late_idle_ack_closes_and_redials_at_once() {
    let (mut c, t0) = serving();
    c.go_idle(t0).expect("serving");
    drain(&mut c);
    let late = t0.saturating_add(Duration::from_secs(10));
    c.handle_input(Input::Timeout, late);
    let out = drain(&mut c);
    assert!(out.contains(&Output::Event(Event::IdleRefused {
        reason: IdleRefusal::AckTimeout
    })));
    assert!(
        !out.iter().any(|o| matches!(o, Output::Close { .. })),
        "no close on an ack timeout"
    );
    assert_eq!(c.state(), State::Serving);

    let later = late.saturating_add(Duration::from_secs(2));
    c.handle_input(Input::Message(b"{\"type\":\"going_idle_ack\"}\n"), later);
    let out = drain(&mut c);
    let close = out
        .iter()
        .position(|o| matches!(o, Output::Close { code: 1000, .. }));
    let dial = out.iter().position(|o| matches!(o, Output::Dial { .. }));
    assert!(
        close.is_some() && dial.is_some() && close < dial,
        "close, then an immediate dial: {out:?}"
    );
    assert_eq!(c.state(), State::Dialing);
}

#[test]
fn unsolicited_idle_ack_is_ignored() {
    let (mut c, t0) = serving();
    c.handle_input(Input::Message(b"{\"type\":\"going_idle_ack\"}\n"), t0);
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.state(), State::Serving);
}
