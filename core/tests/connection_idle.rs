//! Going idle, buffered state and buffered deliveries.

#[path = "connection_harness.rs"]
mod harness;

use core::time::Duration;

use harness::*;
use relay_core::connection::{CommandError, Event, IdleRefusal, Output, State};

const GOING_IDLE: &str = "{\"type\":\"going_idle\"}\n";

#[test]
fn go_idle_sends_going_idle_and_keeps_the_socket() {
    let mut h = H::serving();
    let out = h.go_idle();
    assert_eq!(out[0], Output::Transmit(GOING_IDLE.into()));
    assert_eq!(
        state_changes(&out),
        vec![(State::Serving, State::GoingIdle)]
    );
    assert!(closes(&out).is_empty());
    assert_eq!(h.state(), State::GoingIdle);
    // Still serving: a send is legal.
    assert!(h.send(send_action("c1")).is_ok());
}

#[test]
fn checklist_going_idle_1_ack_closes_1000_and_buffers() {
    let mut h = H::serving_with(relay_core::config::RelayConfig {
        idle_mode: Some(relay_core::config::IdleMode::Close),
        ..cfg()
    });
    h.go_idle();
    let out = h.msg(IDLE_ACK);
    assert_eq!(closes(&out), vec![(1000, "going idle".to_owned())]);
    assert_eq!(
        state_changes(&out),
        vec![(State::GoingIdle, State::Buffered)]
    );
    assert!(dials(&out).is_empty());
    assert_eq!(h.deadline, None);
    // Nothing happens by itself in the wake-only mode.
    assert!(h.timeout_at(3_600_000).is_empty());
    assert_eq!(h.conn.stats().frames_out, 2); // hello + going_idle
}

#[test]
fn checklist_going_idle_2_no_ack_stays_serving() {
    let mut h = H::serving();
    h.set_time(5_000);
    h.go_idle();
    let out = h.timeout_at(14_999);
    assert!(out.is_empty());
    let out = h.timeout_at(15_000);
    assert_eq!(
        app_events(&out),
        vec![Event::IdleRefused {
            reason: IdleRefusal::AckTimeout
        }]
    );
    assert_eq!(
        state_changes(&out),
        vec![(State::GoingIdle, State::Serving)]
    );
    assert!(closes(&out).is_empty());
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn go_idle_outside_serving_is_refused() {
    let (mut h, _) = H::new(cfg(), 1);
    let now = h.at();
    assert_eq!(
        h.conn.go_idle(now),
        Err(CommandError::InvalidState {
            command: "go_idle",
            state: State::Dialing
        })
    );
}

#[test]
fn socket_lost_while_going_idle_reports_idle_refused() {
    let mut h = H::serving();
    h.go_idle();
    let out = h.closed(Some(1006), "");
    assert_eq!(
        app_events(&out),
        vec![Event::IdleRefused {
            reason: IdleRefusal::ConnectionLost
        }]
    );
    assert_eq!(h.state(), State::Dialing);
}

fn buffered() -> H {
    let mut h = H::serving();
    h.go_idle();
    h.msg(IDLE_ACK);
    assert_eq!(h.state(), State::Buffered);
    h
}

#[test]
fn wake_in_buffered_dials_at_once() {
    let mut h = buffered();
    h.set_time(100_000);
    let out = h.wake();
    assert_eq!(dials(&out).len(), 1);
    assert_eq!(state_changes(&out), vec![(State::Buffered, State::Dialing)]);
    assert!(scheduled_delay(&out, h.now).is_none());
}

#[test]
fn wake_in_live_state_is_a_noop() {
    let mut h = H::serving();
    assert!(h.wake().is_empty());
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn checklist_going_idle_7_dormant_redial_after_one_second() {
    let mut config = cfg();
    config.timeouts.dormant_redial = Some(Duration::from_secs(1));
    let mut h = H::serving_with(config);
    h.set_time(2_000);
    h.go_idle();
    h.msg(IDLE_ACK);
    assert_eq!(h.deadline, Some(ms(3_000)));
    assert!(h.timeout_at(2_999).is_empty());
    let out = h.timeout_at(3_000);
    assert_eq!(dials(&out).len(), 1);
    assert_eq!(h.state(), State::Dialing);
    // The drain after the new handshake: a buffered inbound, acked after handoff.
    h.open();
    let out = h.msg(&format!(
        "{DISCORD_DESC}{}",
        group_inbound("c1", Some("buf-wake-1"))
    ));
    let d = deliveries(&out);
    assert_eq!(d.len(), 1);
    let (r, out) = h.ack(d[0].clone().expect("handle"));
    assert_eq!(r, Ok(()));
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"buf-wake-1\"}\n".to_owned()]
    );
}

#[test]
fn buffered_inbound_is_acked_only_after_the_app_acks() {
    let mut h = H::serving();
    let out = h.msg(&group_inbound("c1", Some("buf-1")));
    assert!(transmits(&out).is_empty());
    let d = deliveries(&out);
    assert_eq!(d.len(), 1);
    let handle = d[0].clone().expect("a delivery handle");
    assert_eq!(handle.buffer_id().as_str(), "buf-1");
    let (r, out) = h.ack(handle.clone());
    assert_eq!(r, Ok(()));
    assert_eq!(
        out,
        vec![Output::Transmit(
            "{\"type\":\"inbound_ack\",\"bufferId\":\"buf-1\"}\n".into()
        )]
    );
    let (r, out) = h.ack(handle);
    assert_eq!(
        r,
        Err(CommandError::AlreadyAcked {
            buffer_id: "buf-1".into()
        })
    );
    assert!(out.is_empty());
    assert_eq!(h.conn.stats().acks_sent, 1);
}

#[test]
fn checklist_going_idle_3_live_inbound_never_acked() {
    let mut h = H::serving();
    let out = h.msg(&format!(
        "{}{}",
        group_inbound("c1", Some("buf-42")),
        group_inbound("c2", None)
    ));
    let d = deliveries(&out);
    assert_eq!(d.len(), 2);
    assert_eq!(d[1], None);
    let (_, out) = h.ack(d[0].clone().expect("handle"));
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"buf-42\"}\n".to_owned()]
    );
    assert_eq!(h.conn.stats().acks_sent, 1);
}

#[test]
fn checklist_going_idle_11_buffered_passthrough_acked_after_handoff() {
    let mut h = H::serving();
    let out = h.msg("{\"type\":\"passthrough_forward\",\"forward\":{\"platform\":\"discord\",\"botId\":\"a\",\"method\":\"POST\",\"path\":\"/p\",\"headers\":[],\"bodyB64\":\"\"},\"bufferId\":\"pbuf-7\"}\n");
    assert!(transmits(&out).is_empty());
    let d = deliveries(&out);
    let (_, out) = h.ack(d[0].clone().expect("handle"));
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"pbuf-7\"}\n".to_owned()]
    );
}

#[test]
fn redelivery_after_ack_is_reacked_not_handed_again() {
    let mut h = H::serving();
    let out = h.msg(&group_inbound("c1", Some("buf-1")));
    h.ack(deliveries(&out)[0].clone().expect("handle"))
        .0
        .expect("ack");
    h.closed(Some(1006), "");
    h.fire();
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
    assert_eq!(h.conn.stats().duplicate_deliveries, 1);
}

#[test]
fn redelivery_before_ack_is_not_handed_again_nor_acked() {
    let mut h = H::serving();
    let out = h.msg(&group_inbound("c1", Some("buf-1")));
    let handle = deliveries(&out)[0].clone().expect("handle");
    h.closed(Some(1006), "");
    h.fire();
    h.open();
    let out = h.msg(&format!(
        "{DISCORD_DESC}{}",
        group_inbound("c1", Some("buf-1"))
    ));
    assert!(deliveries(&out).is_empty());
    assert!(transmits(&out).is_empty());
    // The late ack goes out on the new connection.
    let (r, out) = h.ack(handle);
    assert_eq!(r, Ok(()));
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"buf-1\"}\n".to_owned()]
    );
}

#[test]
fn ack_of_unknown_delivery_is_refused() {
    let mut h = H::serving();
    let handle = relay_core::connection::DeliveryHandle::from_buffer_id(
        relay_core::wire::BufferId("nope".into()),
    );
    let (r, out) = h.ack(handle);
    assert_eq!(
        r,
        Err(CommandError::UnknownDelivery {
            buffer_id: "nope".into()
        })
    );
    assert!(out.is_empty());
}

#[test]
fn opened_while_buffered_closes_the_stray_socket() {
    let mut h = buffered();
    let out = h.open();
    assert_eq!(closes(&out), vec![(1000, "unexpected socket".to_owned())]);
    assert!(transmits(&out).is_empty());
    assert_eq!(h.state(), State::Buffered);
}
