//! Backoff, revocation, keepalive and clock handling.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::config::RevocationPolicy;
use relay_core::connection::{Event, Input, Output, State};

const HOURS: u64 = 3_600_000;

fn assert_in(delay: u64, d_secs: u64) {
    let (lo, hi) = (d_secs * 500, d_secs * 1000);
    assert!(
        (lo..=hi).contains(&delay),
        "delay {delay} ms not in [{lo}, {hi}]"
    );
}

fn attempt_of(out: &[Output]) -> Option<u32> {
    events(out).into_iter().find_map(|e| match e {
        Event::DialScheduled { attempt, .. } => Some(attempt),
        _ => None,
    })
}

#[test]
fn backoff_ladder_with_equal_jitter() {
    let (mut h, _) = H::new(cfg(), 3);
    for (i, d) in [1u64, 2, 4, 8, 16, 30, 30, 30].into_iter().enumerate() {
        let out = h.dial_failed(Some(503));
        assert!(dials(&out).is_empty());
        let delay = scheduled_delay(&out, h.now).expect("scheduled");
        assert_in(delay, d);
        assert_eq!(attempt_of(&out), Some(i as u32 + 1));
        assert_eq!(h.deadline, Some(ms(h.now + delay)));
        assert!(h.timeout_at(h.now + delay - 1).is_empty());
        let out = h.fire();
        assert_eq!(dials(&out).len(), 1);
    }
}

fn fail_three(h: &mut H) {
    for _ in 0..3 {
        h.dial_failed(Some(503));
        h.fire();
    }
}

#[test]
fn connection_served_60_s_resets_the_ladder() {
    let (mut h, _) = H::new(cfg(), 3);
    fail_three(&mut h);
    h.open();
    h.msg(DISCORD_DESC);
    let t = h.now + 60_000;
    h.set_time(t);
    let out = h.closed(Some(1001), "going away");
    assert_in(scheduled_delay(&out, h.now).expect("scheduled"), 1);
}

#[test]
fn short_connection_keeps_climbing() {
    let (mut h, _) = H::new(cfg(), 3);
    fail_three(&mut h);
    h.open();
    h.msg(DISCORD_DESC);
    let t = h.now + 10_000;
    h.set_time(t);
    let out = h.closed(Some(1001), "going away");
    assert_in(scheduled_delay(&out, h.now).expect("scheduled"), 8);
}

#[test]
fn checklist_going_idle_4_dropped_connection_is_redialed() {
    let mut h = H::serving();
    let out = h.closed(Some(1011), "");
    assert!(scheduled_delay(&out, h.now).is_some());
    assert_eq!(dials(&h.fire()).len(), 1);
    assert_eq!(h.conn.stats().dials, 2);
}

fn script(seed: u64) -> Vec<Output> {
    let (mut h, _) = H::new(cfg(), seed);
    for _ in 0..5 {
        h.dial_failed(Some(503));
        h.fire();
    }
    h.open();
    h.msg(DISCORD_DESC);
    let _ = h.send(send_action("c1"));
    h.closed(Some(1006), "");
    h.fire();
    h.log.clone()
}

#[test]
fn same_seed_same_outputs_different_seed_different_jitter() {
    assert_eq!(script(42), script(42));
    let a: Vec<_> = events(&script(42))
        .into_iter()
        .filter(|e| matches!(e, Event::DialScheduled { .. }))
        .collect();
    let b: Vec<_> = events(&script(43))
        .into_iter()
        .filter(|e| matches!(e, Event::DialScheduled { .. }))
        .collect();
    assert_eq!(a.len(), 6);
    assert_eq!(b.len(), 6);
    assert_ne!(a, b);
}

// ----- revocation ------------------------------------------------------------

#[test]
fn checklist_ws_8_4401_before_any_descriptor_is_retryable() {
    let (mut h, _) = H::new(cfg(), 1);
    for _ in 0..5 {
        h.open();
        let out = h.closed(Some(4401), "unauthorized");
        assert!(dials(&out).is_empty());
        assert!(scheduled_delay(&out, h.now).is_some());
        assert!(!h.conn.is_confirming_revocation());
        assert_eq!(h.state(), State::Dialing);
        assert_eq!(dials(&h.fire()).len(), 1);
    }
}

/// Serving for 5 s, then the peer closes 4401: returns the outputs.
fn revocation_signal(h: &mut H) -> Vec<Output> {
    let t = h.now + 5_000;
    h.set_time(t);
    h.closed(Some(4401), "unauthorized")
}

#[test]
fn checklist_ws_7_4401_after_descriptor_redials_at_once_with_fresh_token() {
    let (mut h, first) = H::new(cfg(), 1);
    h.open();
    h.msg(DISCORD_DESC);
    let out = revocation_signal(&mut h);
    let d = dials(&out);
    assert_eq!(d.len(), 1);
    assert!(scheduled_delay(&out, h.now).is_none());
    assert_ne!(bearer(&d[0]), bearer(&dials(&first)[0]));
    assert!(h.conn.is_confirming_revocation());
    assert_eq!(h.state(), State::Dialing);
}

fn assert_revoked_forever(h: &mut H) {
    assert_eq!(h.state(), State::Revoked);
    assert!(h.conn.is_terminal());
    assert_eq!(h.deadline, None);
    for k in 1..=5 {
        let out = h.timeout_at(h.now + k * HOURS);
        assert!(out.is_empty(), "{out:?}");
    }
    let out = h.open();
    assert_eq!(closes(&out), vec![(1000, "unexpected socket".to_owned())]);
    assert!(
        !h.log
            .iter()
            .skip_while(|o| **o != Output::Event(Event::Revoked))
            .any(is_dial)
    );
}

#[test]
fn checklist_ws_7_second_4401_before_descriptor_revokes() {
    let mut h = H::serving();
    revocation_signal(&mut h);
    h.open();
    let out = h.closed(Some(4401), "unauthorized");
    assert!(app_events(&out).contains(&Event::Revoked));
    assert!(state_changes(&out).contains(&(State::Handshaking, State::Revoked)));
    assert!(dials(&out).is_empty());
    assert_revoked_forever(&mut h);
}

#[test]
fn checklist_ws_12_second_4401_after_new_descriptor_revokes() {
    let mut h = H::serving();
    revocation_signal(&mut h);
    h.open();
    h.msg(DISCORD_DESC);
    let out = revocation_signal(&mut h);
    assert!(app_events(&out).contains(&Event::Revoked), "{out:?}");
    assert_revoked_forever(&mut h);
}

#[test]
fn repeated_4401_after_descriptor_never_hot_loops() {
    let mut h = H::serving();
    let mut immediate = 0;
    for _ in 0..10 {
        let out = revocation_signal(&mut h);
        if h.conn.is_terminal() {
            break;
        }
        if !dials(&out).is_empty() {
            immediate += 1;
        } else {
            h.fire();
        }
        h.open();
        h.msg(DISCORD_DESC);
    }
    assert!(immediate <= 1, "{immediate} immediate re-dials");
}

#[test]
fn confirming_connection_dropped_normally_after_serving_clears_suspicion() {
    let mut h = H::serving();
    revocation_signal(&mut h);
    h.open();
    let out = h.msg(DISCORD_DESC);
    assert_eq!(
        state_changes(&out),
        vec![(State::Handshaking, State::Serving)]
    );
    assert!(!h.conn.is_confirming_revocation());
    h.closed(Some(1006), "");
    h.fire();
    h.open();
    h.msg(DISCORD_DESC);
    let out = revocation_signal(&mut h);
    assert_eq!(dials(&out).len(), 1);
    assert!(h.conn.is_confirming_revocation());
    assert_ne!(h.state(), State::Revoked);
}

#[test]
fn confirming_phase_survives_ordinary_failures() {
    let mut h = H::serving();
    revocation_signal(&mut h);
    let out = h.dial_failed(Some(401));
    assert!(scheduled_delay(&out, h.now).is_some());
    assert!(h.conn.is_confirming_revocation());
    h.fire();
    h.open();
    h.closed(Some(1006), "");
    assert!(h.conn.is_confirming_revocation());
    h.fire();
    h.open();
    h.closed(Some(4401), "unauthorized");
    assert_eq!(h.state(), State::Revoked);
}

#[test]
fn expired_reason_never_revokes() {
    let mut h = H::serving();
    let t = h.now + 5_000;
    h.set_time(t);
    let out = h.closed(Some(4401), "expired");
    assert!(dials(&out).is_empty());
    assert!(scheduled_delay(&out, h.now).is_some());
    assert!(!h.conn.is_confirming_revocation());
    // Even in the confirming phase.
    h.fire();
    h.open();
    h.msg(DISCORD_DESC);
    revocation_signal(&mut h);
    h.open();
    let out = h.closed(Some(4401), "expired");
    assert!(scheduled_delay(&out, h.now).is_some());
    assert_eq!(h.state(), State::Dialing);
    assert!(h.conn.is_confirming_revocation());
}

#[test]
fn http_410_at_upgrade_revokes_even_cold() {
    let (mut h, _) = H::new(cfg(), 1);
    let out = h.dial_failed(Some(410));
    assert!(app_events(&out).contains(&Event::Revoked));
    assert_revoked_forever(&mut h);
}

#[test]
fn http_410_after_serving_revokes_on_one_sighting_without_a_confirming_dial() {
    // docs/protocol.md: a 410 is not confirmed like a 4401, whatever the policy.
    let mut h = H::serving();
    h.closed(None, "reset");
    h.fire();
    assert!(!h.conn.is_confirming_revocation());
    let out = h.dial_failed(Some(410));
    assert!(app_events(&out).contains(&Event::Revoked));
    assert_eq!(dials(&out).len(), 0, "no confirming re-dial");
    assert_revoked_forever(&mut h);
}

#[test]
fn http_401_403_5xx_at_upgrade_retry() {
    let (mut h, _) = H::new(cfg(), 1);
    for s in [401, 403, 500, 502, 503] {
        let out = h.dial_failed(Some(s));
        assert!(scheduled_delay(&out, h.now).is_some(), "status {s}");
        assert_eq!(h.state(), State::Dialing);
        assert_eq!(dials(&h.fire()).len(), 1);
    }
    let out = h.dial_failed(None);
    assert!(scheduled_delay(&out, h.now).is_some());
}

#[test]
fn immediate_policy_revokes_on_first_4401_after_descriptor() {
    let mut config = cfg();
    config.revocation_policy = RevocationPolicy::Immediate;
    let mut h = H::serving_with(config);
    let out = h.closed(Some(4401), "unauthorized");
    assert!(app_events(&out).contains(&Event::Revoked));
    assert!(dials(&out).is_empty());
    assert_revoked_forever(&mut h);
}

#[test]
fn revocation_fails_pending_requests() {
    let mut h = H::serving();
    let (id, _) = h.send_out(send_action("c1"));
    let out = revocation_signal(&mut h);
    assert!(events(&out).iter().any(|e| matches!(
        e,
        Event::RequestFailed { request_id, error: relay_core::connection::RequestError::ConnectionLost }
            if request_id.as_str() == id
    )));
}

// ----- keepalive ---------------------------------------------------------------

#[test]
fn ping_every_30_s_and_abort_1006_without_pong() {
    let mut h = H::serving();
    assert_eq!(h.deadline, Some(ms(30_000)));
    assert_eq!(h.timeout_at(30_000), vec![Output::Ping]);
    assert_eq!(h.timeout_at(60_000), vec![Output::Ping]);
    assert!(h.timeout_at(89_999).is_empty());
    let out = h.timeout_at(90_000);
    assert_eq!(closes(&out), vec![(1006, "keepalive timeout".to_owned())]);
    assert!(!out.contains(&Output::Ping));
    assert!(scheduled_delay(&out, h.now).is_some());
    assert_eq!(h.state(), State::Dialing);
    assert_eq!(dials(&h.fire()).len(), 1);
}

#[test]
fn pong_clears_the_deadline() {
    let mut h = H::serving();
    assert_eq!(h.timeout_at(30_000), vec![Output::Ping]);
    h.set_time(31_000);
    assert!(h.input(Input::Pong).is_empty());
    assert_eq!(h.timeout_at(60_000), vec![Output::Ping]);
    h.set_time(61_000);
    h.input(Input::Pong);
    assert_eq!(h.timeout_at(90_000), vec![Output::Ping]);
    assert_eq!(h.state(), State::Serving);
}

// ----- clock and stray sockets -------------------------------------------------

#[test]
fn time_going_backwards_is_clamped() {
    let mut h = H::serving();
    h.set_time(20_000);
    let (a, _) = h.send_out(send_action("c1"));
    h.set_time(5_000);
    assert!(h.input(Input::Timeout).is_empty());
    assert_eq!(h.deadline, Some(ms(30_000)));
    // A send "at 5 s" is stamped at 20 s: its deadline is 50 s, not 35 s.
    let (b, _) = h.send_out(send_action("c2"));
    assert_eq!(h.timeout_at(30_000), vec![Output::Ping]);
    assert!(h.timeout_at(49_999).is_empty());
    let out = h.timeout_at(50_000);
    let failed: Vec<String> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            Event::RequestFailed { request_id, .. } => Some(request_id.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.contains(&a) && failed.contains(&b));
}

#[test]
fn opened_while_not_dialing_closes_stray_socket() {
    let (mut h, _) = H::new(cfg(), 1);
    h.dial_failed(Some(503));
    // Backoff pending, no dial in flight: a socket now is not ours.
    let out = h.open();
    assert_eq!(closes(&out), vec![(1000, "unexpected socket".to_owned())]);
    assert_eq!(h.state(), State::Dialing);
}
