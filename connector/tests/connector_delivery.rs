//! Connector model: live delivery, buffering, wake pokes, ack-gated drain,
//! redelivery.

#[path = "connector_harness.rs"]
mod harness;

use harness::*;
use relay_connector::{ConnectorConfig, Delivery};
use relay_core::wire::{BufferId, PassthroughForward};

const WAKE: &str = "http://gw-a.test/wake";

fn buf(id: &str) -> Delivery {
    Delivery::Buffered(BufferId(id.to_owned()))
}

fn pair(id: &str, text: &str) -> (String, String) {
    (id.to_owned(), text.to_owned())
}

#[test]
fn serving_instances_get_live_frames_without_buffer_id() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    assert_eq!(c.deliver("gw-a", event("hi"), ms(1)), Delivery::Live(sid));
    let out = drain(&mut c);
    assert_eq!(out.inbound(), [pair("", "hi")]);
    assert!(out.frames[0].1.get("bufferId").is_none());
    assert_eq!(out.frames[0].1["event"]["source"]["chat_id"], "chan-1");
    assert_eq!(c.stats().delivered_live, 1);
    // Live frames need no ack: nothing is buffered.
    assert_eq!(c.buffer_len("gw-a"), 0);
}

#[test]
fn not_connected_instances_buffer_or_drop_as_configured() {
    let mut c = connector();
    // Accepted but no hello yet: not serving.
    let sid = open(&mut c, "gw-a", "sa", ms(0));
    assert_eq!(c.deliver("gw-a", event("early"), ms(1)), buf("buf-1"));
    assert!(drain(&mut c).frames.is_empty());
    send(&mut c, sid, &hello("discord", "x"), ms(2));
    let out = drain(&mut c);
    assert_eq!(out.types(), ["descriptor", "inbound"]);
    assert_eq!(out.inbound(), [pair("buf-1", "early")]);
    // Not flipped: no wake poke, even with a URL.
    assert!(out.pokes.is_empty());

    let mut c = connector_with(ConnectorConfig {
        buffer_when_disconnected: false,
        ..Default::default()
    });
    assert_eq!(c.deliver("gw-a", event("lost"), ms(0)), Delivery::Dropped);
    assert_eq!(c.buffer_len("gw-a"), 0);
    assert_eq!(c.stats().dropped_undeliverable, 1);
}

/// The full idle cycle: flip, buffer three, one poke, reconnect, ack-gated
/// drain in order, flip cleared, live again.
#[test]
fn go_idle_buffer_poke_drain_and_resume_live() {
    let mut c = connector();
    c.set_wake_url("gw-a", WAKE);
    let (s1, _) = handshake(&mut c, "gw-a", "sa", ms(0));

    send(&mut c, s1, GOING_IDLE, ms(100));
    let out = drain(&mut c);
    assert_eq!(out.types(), ["going_idle_ack"]);
    assert_eq!(out.frames[0].0, s1);
    assert!(c.is_flipped("gw-a"));

    // Flipped: even with the socket still open, nothing goes out live.
    assert_eq!(c.deliver("gw-a", event("one"), ms(200)), buf("buf-1"));
    let out = drain(&mut c);
    assert!(out.frames.is_empty());
    assert_eq!(out.pokes, [("gw-a".to_owned(), WAKE.to_owned())]);
    c.handle_closed(s1, ms(250));
    assert_eq!(c.deliver("gw-a", event("two"), ms(300)), buf("buf-2"));
    assert_eq!(c.deliver("gw-a", event("three"), ms(400)), buf("buf-3"));
    let out = drain(&mut c);
    assert!(out.pokes.is_empty() && out.frames.is_empty());
    assert_eq!(c.stats().wake_pokes, 1);
    assert_eq!(c.buffer_len("gw-a"), 3);

    // Woken: the new session's handshake comes first, then one item at a time.
    let (s2, out) = handshake(&mut c, "gw-a", "sa", secs(2));
    assert_eq!(out.types(), ["descriptor", "inbound"]);
    assert!(out.frames.iter().all(|(s, _)| *s == s2));
    assert_eq!(out.inbound(), [pair("buf-1", "one")]);

    send(&mut c, s2, &ack("buf-1"), secs(3));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "two")]);
    send(&mut c, s2, &ack("buf-2"), secs(4));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-3", "three")]);
    assert!(c.is_flipped("gw-a"));
    send(&mut c, s2, &ack("buf-3"), secs(5));
    assert!(drain(&mut c).frames.is_empty());
    assert!(!c.is_flipped("gw-a"));
    assert_eq!(c.buffer_len("gw-a"), 0);

    assert_eq!(
        c.deliver("gw-a", event("four"), secs(6)),
        Delivery::Live(s2)
    );
    assert_eq!(drain(&mut c).inbound(), [pair("", "four")]);

    let st = c.stats();
    assert_eq!((st.buffered, st.drained, st.acked), (3, 3, 3));
    assert_eq!(
        (st.redelivered, st.flips_cleared, st.delivered_live),
        (0, 1, 1)
    );
    assert_eq!((st.acks_unknown, st.acks_duplicate), (0, 0));
}

#[test]
fn deliveries_during_a_drain_queue_behind_it() {
    let mut c = connector();
    let (s1, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, s1, GOING_IDLE, ms(1));
    c.handle_closed(s1, ms(2));
    c.deliver("gw-a", event("a"), ms(3));
    c.deliver("gw-a", event("b"), ms(4));
    let (s2, out) = handshake(&mut c, "gw-a", "sa", ms(10));
    assert_eq!(out.inbound(), [pair("buf-1", "a")]);
    // Mid-drain: buffered behind b, not live.
    assert_eq!(c.deliver("gw-a", event("c"), ms(11)), buf("buf-3"));
    assert!(drain(&mut c).frames.is_empty());
    send(&mut c, s2, &ack("buf-1"), ms(12));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "b")]);
    send(&mut c, s2, &ack("buf-2"), ms(13));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-3", "c")]);
    send(&mut c, s2, &ack("buf-3"), ms(14));
    assert_eq!(c.deliver("gw-a", event("d"), ms(15)), Delivery::Live(s2));
}

#[test]
fn a_drop_mid_drain_redelivers_exactly_the_unacked_tail() {
    let mut c = connector();
    let (s1, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, s1, GOING_IDLE, ms(1));
    c.handle_closed(s1, ms(2));
    for t in ["a", "b", "c"] {
        c.deliver("gw-a", event(t), ms(3));
    }
    let (s2, out) = handshake(&mut c, "gw-a", "sa", ms(10));
    assert_eq!(out.inbound(), [pair("buf-1", "a")]);
    send(&mut c, s2, &ack("buf-1"), ms(11));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "b")]);
    // The link drops before b is acked.
    c.handle_closed(s2, ms(12));
    assert_eq!(
        c.buffer_ids("gw-a"),
        [BufferId("buf-2".into()), BufferId("buf-3".into())]
    );

    let (s3, out) = handshake(&mut c, "gw-a", "sa", ms(20));
    assert_eq!(out.inbound(), [pair("buf-2", "b")]);
    send(&mut c, s3, &ack("buf-2"), ms(21));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-3", "c")]);
    send(&mut c, s3, &ack("buf-3"), ms(22));
    assert!(drain(&mut c).frames.is_empty());
    assert_eq!(c.stats().redelivered, 1);
    assert_eq!(c.stats().drained, 3);
    assert!(!c.is_flipped("gw-a"));
}

#[test]
fn restart_keeps_buffers_and_redelivers_in_flight_items() {
    let mut c = connector();
    c.set_wake_url("gw-a", WAKE);
    let (s1, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, s1, GOING_IDLE, ms(1));
    c.handle_closed(s1, ms(2));
    c.deliver("gw-a", event("a"), ms(3));
    c.deliver("gw-a", event("b"), ms(3));
    let (s2, out) = handshake(&mut c, "gw-a", "sa", ms(10));
    assert_eq!(out.inbound(), [pair("buf-1", "a")]);
    c.restart(ms(20));
    assert_eq!(drain(&mut c).dropped, [s2]);
    assert_eq!(c.buffer_len("gw-a"), 2);
    assert!(c.is_flipped("gw-a"));
    // A late ack on the lost session is not heard.
    send(&mut c, s2, &ack("buf-1"), ms(21));
    let (s3, out) = handshake(&mut c, "gw-a", "sa", ms(30));
    assert_eq!(out.inbound(), [pair("buf-1", "a")]);
    send(&mut c, s3, &ack("buf-1"), ms(31));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "b")]);
    assert_eq!(c.stats().redelivered, 1);
}

#[test]
fn wake_pokes_respect_the_cooldown() {
    let mut c = connector();
    c.set_wake_url("gw-a", WAKE);
    let idle_cycle = |c: &mut relay_connector::Connector, at: u64| {
        let (s, _) = handshake(c, "gw-a", "sa", secs(at));
        send(c, s, GOING_IDLE, secs(at));
        c.handle_closed(s, secs(at));
        drain(c);
    };
    idle_cycle(&mut c, 0);
    c.deliver("gw-a", event("a"), secs(1));
    assert_eq!(drain(&mut c).pokes.len(), 1);

    // Drain, then go idle again 10 s later: the poke is owed but deferred.
    let (s, _) = handshake(&mut c, "gw-a", "sa", secs(5));
    send(&mut c, s, &ack("buf-1"), secs(5));
    send(&mut c, s, GOING_IDLE, secs(10));
    c.handle_closed(s, secs(10));
    drain(&mut c);
    c.deliver("gw-a", event("b"), secs(11));
    let out = drain(&mut c);
    assert!(out.pokes.is_empty());
    assert_eq!(out.wait, Some(secs(31)));
    c.handle_timeout(secs(30));
    assert!(drain(&mut c).pokes.is_empty());
    c.handle_timeout(secs(31));
    let out = drain(&mut c);
    assert_eq!(out.pokes, [("gw-a".to_owned(), WAKE.to_owned())]);
    assert_eq!(out.wait, None);
    assert_eq!(c.stats().wake_pokes, 2);

    // A deferred poke is cancelled when the instance drains first.
    let (s, _) = handshake(&mut c, "gw-a", "sa", secs(40));
    send(&mut c, s, &ack("buf-2"), secs(40));
    send(&mut c, s, GOING_IDLE, secs(41));
    c.handle_closed(s, secs(41));
    c.deliver("gw-a", event("c"), secs(42));
    assert_eq!(drain(&mut c).wait, Some(secs(61)));
    let (s, _) = handshake(&mut c, "gw-a", "sa", secs(50));
    send(&mut c, s, &ack("buf-3"), secs(50));
    let out = drain(&mut c);
    assert_eq!(out.wait, None);
    c.handle_timeout(secs(61));
    assert!(drain(&mut c).pokes.is_empty());
    assert_eq!(c.stats().wake_pokes, 2);
}

#[test]
fn no_wake_url_no_poke() {
    let mut c = connector();
    let (s, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, s, GOING_IDLE, ms(1));
    c.handle_closed(s, ms(1));
    c.deliver("gw-a", event("a"), ms(2));
    let out = drain(&mut c);
    assert!(out.pokes.is_empty());
    assert_eq!(out.wait, None);
}

#[test]
fn a_wider_window_pipelines_and_tolerates_out_of_order_acks() {
    let mut c = connector_with(ConnectorConfig {
        drain_window: 2,
        ..Default::default()
    });
    for t in ["a", "b", "c", "d"] {
        c.deliver("gw-a", event(t), ms(0));
    }
    let (s, out) = handshake(&mut c, "gw-a", "sa", ms(1));
    assert_eq!(out.inbound(), [pair("buf-1", "a"), pair("buf-2", "b")]);
    // b acked first: one slot frees, c goes out; a still holds the front.
    send(&mut c, s, &ack("buf-2"), ms(2));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-3", "c")]);
    assert_eq!(c.buffer_len("gw-a"), 4);
    send(&mut c, s, &ack("buf-1"), ms(3));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-4", "d")]);
    assert_eq!(c.buffer_len("gw-a"), 2);
    // Drop now: only c and d come back.
    c.handle_closed(s, ms(4));
    let (s2, out) = handshake(&mut c, "gw-a", "sa", ms(5));
    assert_eq!(out.inbound(), [pair("buf-3", "c"), pair("buf-4", "d")]);
    send(&mut c, s2, &ack("buf-3"), ms(6));
    send(&mut c, s2, &ack("buf-4"), ms(6));
    assert_eq!(c.buffer_len("gw-a"), 0);
    assert_eq!(c.stats().redelivered, 2);
}

#[test]
fn odd_acks_are_ignored_and_counted() {
    let mut c = connector();
    c.deliver("gw-a", event("a"), ms(0));
    c.deliver("gw-a", event("b"), ms(0));
    c.deliver("gw-b", event("z"), ms(0));
    let (sa, _) = handshake(&mut c, "gw-a", "sa", ms(1));
    let (sb, out) = handshake(&mut c, "gw-b", "sb", ms(1));
    assert_eq!(out.inbound(), [pair("buf-3", "z")]);

    send(&mut c, sa, &ack("nope"), ms(2)); // never issued
    send(&mut c, sa, &ack("buf-2"), ms(2)); // issued but not sent yet
    send(&mut c, sa, &ack("buf-3"), ms(2)); // another instance's item
    assert_eq!(c.stats().acks_unknown, 3);
    assert_eq!(c.buffer_len("gw-b"), 1);
    assert!(drain(&mut c).frames.is_empty());

    send(&mut c, sa, &ack("buf-1"), ms(3));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "b")]);
    send(&mut c, sa, &ack("buf-1"), ms(4)); // duplicate
    send(
        &mut c,
        sa,
        r#"{"type": "inbound_ack", "bufferId": 1}"#,
        ms(4),
    ); // numeric id, never ours
    assert_eq!(c.stats().acks_duplicate, 1);
    assert_eq!(c.stats().acks_unknown, 4);
    assert_eq!(c.stats().acked, 1);
    send(&mut c, sb, &ack("buf-3"), ms(5));
    assert_eq!(c.stats().acked, 2);
    assert_eq!(c.buffer_len("gw-b"), 0);
}

#[test]
fn a_late_ack_on_a_new_session_of_the_same_instance_counts() {
    let mut c = connector();
    c.deliver("gw-a", event("a"), ms(0));
    c.deliver("gw-a", event("b"), ms(0));
    let (s1, out) = handshake(&mut c, "gw-a", "sa", ms(1));
    assert_eq!(out.inbound(), [pair("buf-1", "a")]);
    c.handle_closed(s1, ms(2));
    // The application acked after the reconnect, before the new hello.
    let s2 = open(&mut c, "gw-a", "sa", ms(3));
    send(&mut c, s2, &ack("buf-1"), ms(3));
    send(&mut c, s2, &hello("discord", "x"), ms(4));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "b")]);
    assert_eq!(c.stats().redelivered, 0);
}

fn forward() -> PassthroughForward {
    PassthroughForward {
        platform: "discord".into(),
        bot_id: "appShared".into(),
        method: "POST".into(),
        path: "/interactions/discord/appShared".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"type": 2}"#.to_vec(),
        body_undecodable: false,
        profile: None,
    }
}

#[test]
fn passthrough_forwards_go_live_or_through_the_buffer() {
    let mut c = connector();
    let (s, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    assert_eq!(
        c.deliver_passthrough("gw-a", forward(), ms(1)),
        Delivery::Live(s)
    );
    let out = drain(&mut c);
    assert_eq!(out.types(), ["passthrough_forward"]);
    let f = &out.frames[0].1;
    assert!(f.get("bufferId").is_none());
    assert_eq!(f["forward"]["bodyB64"], "eyJ0eXBlIjogMn0=");
    assert_eq!(f["forward"]["headers"][0][0], "content-type");

    send(&mut c, s, GOING_IDLE, ms(2));
    assert_eq!(drain(&mut c).types(), ["going_idle_ack"]);
    c.handle_closed(s, ms(2));
    c.deliver_passthrough("gw-a", forward(), ms(3));
    c.deliver("gw-a", event("after"), ms(3));
    let (s2, out) = handshake(&mut c, "gw-a", "sa", ms(4));
    assert_eq!(out.types(), ["descriptor", "passthrough_forward"]);
    assert_eq!(out.frames[1].1["bufferId"], "buf-1");
    send(&mut c, s2, &ack("buf-1"), ms(5));
    assert_eq!(drain(&mut c).inbound(), [pair("buf-2", "after")]);
}

#[test]
fn unacked_passthroughs_can_be_fire_and_forget() {
    let mut c = connector_with(ConnectorConfig {
        ack_passthrough: false,
        ..Default::default()
    });
    c.deliver_passthrough("gw-a", forward(), ms(0));
    c.deliver("gw-a", event("next"), ms(0));
    let (_, out) = handshake(&mut c, "gw-a", "sa", ms(1));
    assert_eq!(
        out.types(),
        ["descriptor", "passthrough_forward", "inbound"]
    );
    assert_eq!(c.buffer_len("gw-a"), 1);
}

#[test]
fn a_session_that_goes_idle_stops_draining() {
    let mut c = connector();
    for t in ["a", "b"] {
        c.deliver("gw-a", event(t), ms(0));
    }
    let (s, out) = handshake(&mut c, "gw-a", "sa", ms(1));
    assert_eq!(out.inbound(), [pair("buf-1", "a")]);
    send(&mut c, s, GOING_IDLE, ms(2));
    assert_eq!(drain(&mut c).types(), ["going_idle_ack"]);
    // The in-flight item can still be acked, but nothing more is sent.
    send(&mut c, s, &ack("buf-1"), ms(3));
    assert!(drain(&mut c).frames.is_empty());
    assert_eq!(c.stats().acked, 1);
    assert_eq!(c.buffer_len("gw-a"), 1);
    assert!(c.is_flipped("gw-a"));
}

#[test]
fn a_handshake_with_an_empty_buffer_clears_the_flip() {
    let mut c = connector();
    let (s, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, s, GOING_IDLE, ms(1));
    c.handle_closed(s, ms(1));
    assert!(c.is_flipped("gw-a"));
    let (s2, _) = handshake(&mut c, "gw-a", "sa", ms(2));
    assert!(!c.is_flipped("gw-a"));
    assert_eq!(c.deliver("gw-a", event("x"), ms(3)), Delivery::Live(s2));
}
