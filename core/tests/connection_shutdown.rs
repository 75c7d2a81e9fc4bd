//! A graceful shutdown drains the requests in flight: their results still
//! resolve them within the drain budget, new sends fail at once and are
//! never written, and the socket closes with 1000 (the rules are in
//! `core/src/connection/closing.rs`).

use std::time::Duration;

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::connection::{Event, Output, RequestError, SendError, State};

fn failed(out: &[Output]) -> Vec<(String, RequestError)> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::RequestFailed { request_id, error } => {
                Some((request_id.as_str().to_owned(), error))
            }
            _ => None,
        })
        .collect()
}

fn answered(out: &[Output]) -> Vec<String> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::Response { request_id, .. } => Some(request_id.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn nothing_in_flight_closes_at_once() {
    let mut h = H::serving();
    let out = h.shutdown();
    assert_eq!(closes(&out), vec![(1000, "shutdown".to_owned())]);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.deadline, None);
}

#[test]
fn a_result_that_arrives_during_the_drain_resolves_its_request() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    let (b, _) = h.send_out(send_action("c2"));
    h.set_time(1_000);
    let out = h.shutdown();
    assert!(
        closes(&out).is_empty(),
        "the socket stays open while results are owed"
    );
    assert!(failed(&out).is_empty());
    assert_eq!(state_changes(&out), vec![(State::Serving, State::Closing)]);
    assert_eq!(h.state(), State::Closing);
    assert_eq!(h.deadline, Some(ms(6_000)), "the default drain is 5 s");

    // New sends and interrupts are refused at once, and never written.
    assert_eq!(h.send(send_action("late")), Err(SendError::Closing));
    let now = h.at();
    assert_eq!(h.conn.interrupt("k", None, now), Err(SendError::Closing));
    assert!(transmits(&h.drain()).is_empty());

    // Inbound is still handed over meanwhile.
    let out = h.msg(&group_inbound("c9", None));
    assert!(matches!(
        app_events(&out).as_slice(),
        [Event::Inbound { .. }]
    ));

    h.set_time(2_000);
    let out = h.msg(&result_line(&a, r#"{"success":true,"message_id":"m-a"}"#));
    assert_eq!(answered(&out), vec![a]);
    assert!(closes(&out).is_empty(), "one request is still owed");
    let out = h.msg(&result_line(&b, r#"{"success":true}"#));
    assert_eq!(answered(&out), vec![b]);
    assert_eq!(
        closes(&out),
        vec![(1000, "shutdown".to_owned())],
        "the last result closes"
    );
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.deadline, None);
}

#[test]
fn what_is_still_pending_at_the_deadline_fails_as_shutdown() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    h.shutdown();
    let out = h.timeout_at(4_999);
    assert!(failed(&out).is_empty() && closes(&out).is_empty());
    let out = h.timeout_at(5_000);
    assert_eq!(failed(&out), vec![(a, RequestError::Shutdown)]);
    assert!(
        RequestError::Shutdown.is_ambiguous(),
        "the frame was written"
    );
    assert_eq!(closes(&out), vec![(1000, "shutdown".to_owned())]);
    assert_eq!(h.state(), State::Closed);
    for t in [60_000, 3_600_000] {
        assert!(h.timeout_at(t).is_empty(), "never dials again");
    }
}

#[test]
fn a_tighter_budget_clamps_the_drain_and_zero_closes_at_once() {
    let mut h = H::serving();
    h.send_out(send_action("c1"));
    let now = h.at();
    h.conn.shutdown_within(Duration::from_millis(800), now);
    h.drain();
    assert_eq!(h.deadline, Some(ms(800)));
    // A later, looser call never extends it.
    h.conn.shutdown_within(Duration::from_secs(30), now);
    h.drain();
    assert_eq!(h.deadline, Some(ms(800)));
    h.conn.shutdown_within(Duration::ZERO, now);
    let out = h.drain();
    assert_eq!(failed(&out).len(), 1);
    assert_eq!(h.state(), State::Closed);

    let mut config = cfg();
    config.timeouts.shutdown_drain = Duration::ZERO;
    let mut h = H::serving_with(config);
    let (a, _) = h.send_out(send_action("c1"));
    let out = h.shutdown();
    assert_eq!(failed(&out), vec![(a, RequestError::Shutdown)], "drain off");
}

#[test]
fn the_socket_ending_during_the_drain_fails_the_rest_and_never_redials() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    h.shutdown();
    let out = h.closed(None, "");
    assert_eq!(failed(&out), vec![(a, RequestError::ConnectionLost)]);
    assert_eq!(h.state(), State::Closed);
    assert!(h.timeout_at(120_000).iter().all(|o| !is_dial(o)));
}

#[test]
fn a_drain_from_going_idle_ignores_the_idle_ack() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    h.go_idle();
    let out = h.shutdown();
    assert_eq!(
        state_changes(&out),
        vec![(State::GoingIdle, State::Closing)]
    );
    let out = h.msg(IDLE_ACK);
    assert!(closes(&out).is_empty());
    assert_eq!(h.state(), State::Closing);
    let out = h.msg(&result_line(&a, r#"{"success":true}"#));
    assert_eq!(answered(&out), vec![a]);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn deliveries_may_still_be_acked_during_the_drain() {
    let mut h = H::serving();
    h.send_out(send_action("c1"));
    h.shutdown();
    let out = h.msg(&group_inbound("c9", Some("buf-1")));
    let delivery = deliveries(&out)
        .into_iter()
        .flatten()
        .next()
        .expect("a delivery");
    let (r, out) = h.ack(delivery);
    assert_eq!(r, Ok(()));
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"buf-1\"}\n".to_owned()]
    );
}
