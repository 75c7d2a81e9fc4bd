//! A held re-dial: while held, a re-dial that becomes due waits for a
//! release (or a wake), and for at most its cap; the wait uses the hold up;
//! the fresh-token re-dial that confirms a possible revocation is never
//! held.

use std::time::Duration;

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::config::IdleMode;
use relay_core::connection::{CommandError, Event, Output, State};

fn held(out: &[Output]) -> Vec<u64> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::RedialHeld { until } => Some(until.as_millis()),
            _ => None,
        })
        .collect()
}

fn dial_count(out: &[Output]) -> usize {
    out.iter().filter(|o| is_dial(o)).count()
}

/// Serving, then dormant (closed, re-dialing every second), with a hold.
fn held_dormant() -> H {
    let mut h = H::serving();
    let now = h.at();
    h.conn.hold_redial(now).expect("hold");
    h.conn
        .go_idle_with(IdleMode::Dormant, now)
        .expect("go idle");
    h.drain();
    h.msg(IDLE_ACK);
    assert_eq!(h.state(), State::Buffered);
    assert_eq!(h.deadline, Some(ms(1_000)), "the dormant cadence");
    h
}

#[test]
fn a_due_redial_waits_while_held_and_dials_on_release() {
    let mut h = held_dormant();
    let out = h.timeout_at(1_000);
    assert_eq!(dial_count(&out), 0, "held");
    assert_eq!(held(&out), vec![61_000], "parked for the 60 s cap");
    assert_eq!(h.deadline, Some(ms(61_000)));
    h.set_time(5_000);
    let now = h.at();
    h.conn.release_redial(now).expect("release");
    let out = h.drain();
    assert_eq!(dial_count(&out), 1, "released: dials at once");
    assert_eq!(h.state(), State::Dialing);
}

#[test]
fn a_held_redial_dials_at_its_cap_and_the_hold_is_used_up() {
    let mut h = held_dormant();
    h.timeout_at(1_000);
    assert_eq!(dial_count(&h.timeout_at(60_999)), 0);
    let out = h.timeout_at(61_000);
    assert_eq!(dial_count(&out), 1, "the cap passed");
    // The hold was consumed: the next dormant re-dial goes on time.
    h.open();
    h.msg(DISCORD_DESC);
    let now = h.at();
    h.conn
        .go_idle_with(IdleMode::Dormant, now)
        .expect("go idle");
    h.drain();
    h.msg(IDLE_ACK);
    let out = h.timeout_at(62_000);
    assert_eq!((dial_count(&out), held(&out).len()), (1, 0));
}

#[test]
fn the_cap_is_configurable() {
    let mut config = cfg();
    config.timeouts.redial_hold_max = Duration::from_millis(1_200);
    let mut h = H::serving_with(config);
    let now = h.at();
    h.conn.hold_redial(now).expect("hold");
    // A dropped socket: the backoff re-dial is held too.
    h.closed(None, "");
    let due = h.deadline.expect("a backoff dial").as_millis();
    let out = h.timeout_at(due);
    assert_eq!(held(&out), vec![due + 1_200]);
    assert_eq!(dial_count(&h.timeout_at(due + 1_200)), 1);
}

#[test]
fn wake_releases_a_hold() {
    let mut h = held_dormant();
    h.timeout_at(1_000);
    h.set_time(2_000);
    let out = h.wake();
    assert_eq!(dial_count(&out), 1);
    // Released before any re-dial was due: nothing is held afterwards.
    let mut h = held_dormant();
    h.set_time(500);
    h.wake();
    h.open();
    h.msg(DISCORD_DESC);
    h.closed(None, "");
    let due = h.deadline.expect("a backoff dial").as_millis();
    assert_eq!(dial_count(&h.timeout_at(due)), 1, "not held");
}

#[test]
fn the_fresh_token_redial_after_a_4401_is_never_held() {
    let mut h = H::serving();
    let now = h.at();
    h.conn.hold_redial(now).expect("hold");
    let out = h.closed(Some(4401), "unauthorized");
    assert_eq!(dial_count(&out), 1, "confirmed at once");
    assert!(h.conn.is_confirming_revocation());
}

#[test]
fn releasing_without_a_hold_is_harmless_and_terminal_links_refuse() {
    let mut h = H::serving();
    let now = h.at();
    assert_eq!(h.conn.release_redial(now), Ok(()));
    assert!(h.drain().iter().all(|o| !is_dial(o)));
    h.shutdown();
    let now = h.at();
    assert!(matches!(
        h.conn.hold_redial(now),
        Err(CommandError::InvalidState {
            command: "hold_redial",
            state: State::Closed
        })
    ));
    assert!(h.conn.release_redial(now).is_err());
}
