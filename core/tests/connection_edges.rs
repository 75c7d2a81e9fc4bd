//! Edge cases around acks without a socket, limits and unsolicited frames.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::connection::{Event, Input, SendError, State};

#[test]
fn ack_without_a_socket_is_sent_on_redelivery() {
    let mut h = H::serving();
    let out = h.msg(&group_inbound("c1", Some("buf-1")));
    let handle = deliveries(&out)[0].clone().expect("handle");
    h.go_idle();
    h.msg(IDLE_ACK);
    assert_eq!(h.state(), State::Buffered);
    let (r, out) = h.ack(handle);
    assert_eq!(r, Ok(()));
    assert!(transmits(&out).is_empty());
    assert_eq!(h.conn.stats().acks_sent, 0);
    h.wake();
    h.open();
    let out = h.msg(&format!(
        "{DISCORD_DESC}{}",
        group_inbound("c1", Some("buf-1"))
    ));
    assert!(deliveries(&out).is_empty());
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"buf-1\"}\n".to_owned()]
    );
}

#[test]
fn too_many_pending_requests_is_refused_without_a_frame() {
    let mut config = cfg();
    config.limits.max_pending_requests = 2;
    let mut h = H::serving_with(config);
    h.send_out(send_action("c1"));
    h.send_out(send_action("c2"));
    assert_eq!(
        h.send(send_action("c3")),
        Err(SendError::TooManyPending { limit: 2 })
    );
    assert_eq!(h.conn.stats().requests_sent, 2);
    assert_eq!(h.conn.pending_requests(), 2);
}

#[test]
fn unsolicited_idle_ack_while_serving_is_ignored() {
    let mut h = H::serving();
    let out = h.msg(IDLE_ACK);
    assert!(out.is_empty());
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn late_idle_ack_after_refusal_closes_and_redials() {
    // The connector did flip (its ack says so) and will push nothing more on
    // this socket; staying on it would strand the buffer (found by relay-sim).
    let mut h = H::serving();
    h.go_idle();
    h.timeout_at(10_000);
    assert_eq!(h.state(), State::Serving);
    let out = h.msg(IDLE_ACK);
    assert_eq!(closes(&out).len(), 1);
    assert_eq!(h.state(), State::Dialing);
}

#[test]
fn early_timeout_is_a_noop() {
    let mut h = H::serving();
    assert!(h.timeout_at(1).is_empty());
    assert!(h.timeout_at(29_999).is_empty());
    assert_eq!(h.deadline, Some(ms(30_000)));
}

#[test]
fn first_descriptor_of_a_new_connection_replaces_the_default() {
    let (mut h, _) = H::new(cfg_two(), 1);
    h.open();
    h.msg(&format!("{DISCORD_DESC}{TELEGRAM_DESC}"));
    h.closed(Some(1006), "");
    h.fire();
    h.open();
    h.msg(TELEGRAM_DESC);
    assert_eq!(
        h.conn.descriptor(None).map(|d| d.platform.as_str()),
        Some("telegram")
    );
    assert!(h.conn.descriptor(Some("discord")).is_none());
}

#[test]
fn messages_without_a_socket_are_dropped() {
    let (mut h, _) = H::new(cfg(), 1);
    let out = h.msg(DISCORD_DESC);
    assert!(out.is_empty());
    assert_eq!(h.state(), State::Dialing);
    assert_eq!(h.conn.stats().frames_in, 0);
}

#[test]
fn pong_without_ping_is_harmless() {
    let mut h = H::serving();
    assert!(h.input(Input::Pong).is_empty());
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn disconnected_event_carries_the_peer_code() {
    let mut h = H::serving();
    let out = h.closed(Some(1011), "oops");
    assert!(events(&out).contains(&Event::Disconnected {
        code: Some(1011),
        reason: "oops".into()
    }));
    assert!(state_changes(&out).contains(&(State::Serving, State::Dialing)));
}
