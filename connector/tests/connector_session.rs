//! Connector model: upgrades, handshake, requests, interrupts, follow_up,
//! management of sessions, observability.

#[path = "connector_harness.rs"]
mod harness;

use std::time::Duration;

use harness::*;
use relay_connector::{
    ANONYMOUS_INSTANCE, Accept, Connector, ConnectorConfig, ConnectorOutput, DefaultResponder,
    Direction, RejectMode, Response, ScriptedResponder,
};
use relay_core::UnixTime;
use relay_core::auth::mint_token;
use relay_core::descriptor::{CapabilityDescriptor, LenUnit};
use relay_core::wire::ActionResult;

// ---------------------------------------------------------------------------
// Handshake

#[test]
fn two_hellos_get_two_descriptors_for_their_platforms() {
    let mut c = connector();
    let mut tg = CapabilityDescriptor::minimal("telegram");
    tg.max_message_length = 4096;
    tg.len_unit = LenUnit::Utf16;
    c.set_descriptor("telegram", tg);
    let sid = open(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, sid, &hello("discord", "app-1"), ms(1));
    send(&mut c, sid, &hello("telegram", "bot-9"), ms(2));
    let out = drain(&mut c);
    assert_eq!(out.types(), ["descriptor", "descriptor"]);
    assert!(out.frames.iter().all(|(s, _)| *s == sid));
    let d0 = &out.frames[0].1["descriptor"];
    let d1 = &out.frames[1].1["descriptor"];
    assert_eq!(d0["platform"], "discord");
    assert_eq!(d0["max_message_length"], 2000);
    assert_eq!(d1["platform"], "telegram");
    assert_eq!(d1["len_unit"], "utf16");
    assert_eq!(d1["max_message_length"], 4096);
    let platforms: Vec<&str> = c.hellos(sid).iter().map(|h| h.platform.as_str()).collect();
    assert_eq!(platforms, ["discord", "telegram"]);
    assert_eq!(c.stats().hellos, 2);
    assert_eq!(c.stats().descriptors_sent, 2);
}

#[test]
fn lines_are_reassembled_across_and_within_messages() {
    let mut c = connector();
    let sid = open(&mut c, "gw-a", "sa", ms(0));
    // Two frames in one message, then one frame split over two messages.
    let batch = format!("{}\n\n{}\n", hello("discord", "a"), hello("slack", "b"));
    c.handle_message(sid, batch.as_bytes(), ms(1));
    let third = format!("{}\n", hello("telegram", "c"));
    let (head, tail) = third.split_at(10);
    c.handle_message(sid, head.as_bytes(), ms(2));
    assert_eq!(drain(&mut c).types(), ["descriptor", "descriptor"]);
    c.handle_message(sid, tail.as_bytes(), ms(3));
    let out = drain(&mut c);
    assert_eq!(out.frames[0].1["descriptor"]["platform"], "telegram");
}

#[test]
fn a_bad_frame_is_counted_logged_and_skipped() {
    let mut c = connector();
    let sid = open(&mut c, "gw-a", "sa", ms(0));
    let msg = format!(
        "not json\n[1,2]\n{{\"type\": \"bogus\"}}\n{}\n",
        hello("discord", "x")
    );
    c.handle_message(sid, msg.as_bytes(), ms(1));
    c.handle_message(sid, &[0xff, 0xfe, b'\n'], ms(1));
    assert_eq!(drain(&mut c).types(), ["descriptor"]);
    assert_eq!(c.stats().bad_frames, 4);
    assert_eq!(
        c.log().types(sid, Direction::In),
        ["invalid", "invalid", "invalid", "hello", "invalid"]
    );
    let bad = c.log().entries().next().expect("logged");
    assert_eq!(bad.text, "not json");
    assert!(bad.error.is_some());
}

#[test]
fn an_over_long_line_is_refused_without_growing() {
    let mut c = connector_with(ConnectorConfig {
        max_frame_bytes: 64,
        ..Default::default()
    });
    let sid = open(&mut c, "gw-a", "sa", ms(0));
    c.handle_message(sid, &[b'x'; 200], ms(1));
    // The rest of the over-long line (up to its newline) is discarded too.
    c.handle_message(sid, b"xx\n", ms(1));
    send(&mut c, sid, &hello("discord", "x"), ms(2));
    assert_eq!(c.stats().bad_frames, 1);
    assert_eq!(drain(&mut c).types(), ["descriptor"]);
}

// ---------------------------------------------------------------------------
// Requests

const SEND: &str = r#"{"type": "outbound", "requestId": "0123456789abcdef0123456789abcdef", "action": {"op": "send", "chat_id": "chan-1", "content": "hi", "reply_to": null, "metadata": {}}}"#;

fn request(op_json: &str, id: &str) -> String {
    format!(r#"{{"type": "outbound", "requestId": "{id}", "action": {op_json}}}"#)
}

#[test]
fn outbound_gets_a_result_with_a_message_id() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, sid, SEND, ms(5));
    let out = drain(&mut c);
    assert_eq!(out.types(), ["outbound_result"]);
    let f = &out.frames[0].1;
    assert_eq!(f["requestId"], "0123456789abcdef0123456789abcdef");
    assert_eq!(f["result"]["success"], true);
    let mid = f["result"]["message_id"].as_str().expect("message id");
    assert!(mid.starts_with("msg-") && mid.len() == 20, "{mid}");
    assert_eq!(c.stats().outbound_requests, 1);
    assert_eq!(c.stats().outbound_results, 1);
}

#[test]
fn message_ids_are_reproducible_from_the_seed() {
    let run = |seed| {
        let mut c = Connector::new(ConnectorConfig::default(), seed);
        c.add_gateway("gw-a", &["sa"]);
        let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
        send(&mut c, sid, SEND, ms(5));
        drain(&mut c).frames[0].1["result"]["message_id"].clone()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn get_chat_info_answers_name_and_type() {
    let mut c = connector();
    let mut r = DefaultResponder::new();
    r.set_chat("c9", "General", "group");
    c.set_responder(Box::new(r));
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(
        &mut c,
        sid,
        &request(r#"{"op": "get_chat_info", "chat_id": "c9"}"#, "r1"),
        ms(1),
    );
    send(
        &mut c,
        sid,
        &request(r#"{"op": "get_chat_info", "chat_id": "c1"}"#, "r2"),
        ms(1),
    );
    let out = drain(&mut c);
    let r1 = &out.frames[0].1["result"];
    assert_eq!(r1["success"], true);
    assert_eq!(r1["chat_info"]["name"], "General");
    assert_eq!(r1["chat_info"]["type"], "group");
    let r2 = &out.frames[1].1["result"];
    assert_eq!(r2["chat_info"]["name"], "c1");
    assert_eq!(r2["chat_info"]["type"], "dm");
}

#[test]
fn scripted_failures_delays_and_silence() {
    let mut c = connector();
    let mut s = ScriptedResponder::new();
    s.fail(Some("send"), "rate limited")
        .delay(None, Duration::from_secs(2))
        .silence(None)
        .push(
            Some("edit"),
            Response::Reply(ActionResult::failure("gone", true)),
        );
    c.set_responder(Box::new(s));
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));

    // Each request takes the first script matching its op, in order.
    send(
        &mut c,
        sid,
        &request(r#"{"op": "send", "chat_id": "c", "content": "a"}"#, "r1"),
        ms(10),
    );
    let out = drain(&mut c);
    assert_eq!(out.frames[0].1["result"]["success"], false);
    assert_eq!(out.frames[0].1["result"]["error"], "rate limited");

    send(
        &mut c,
        sid,
        &request(r#"{"op": "send", "chat_id": "c", "content": "b"}"#, "r2"),
        ms(20),
    );
    let out = drain(&mut c);
    assert!(out.frames.is_empty());
    assert_eq!(out.wait, Some(ms(2020)));
    c.handle_timeout(ms(2019));
    assert!(drain(&mut c).frames.is_empty());
    c.handle_timeout(ms(2020));
    let out = drain(&mut c);
    assert_eq!(out.frames[0].1["requestId"], "r2");
    assert_eq!(out.frames[0].1["result"]["success"], true);
    assert_eq!(out.wait, None);

    send(
        &mut c,
        sid,
        &request(r#"{"op": "send", "chat_id": "c", "content": "c"}"#, "r3"),
        ms(30),
    );
    assert!(drain(&mut c).frames.is_empty());
    assert_eq!(c.stats().outbound_unanswered, 1);

    let edit = r#"{"op": "edit", "chat_id": "c", "message_id": "m", "content": "d"}"#;
    send(&mut c, sid, &request(edit, "r4"), ms(40));
    let out = drain(&mut c);
    assert_eq!(out.frames[0].1["result"]["error"], "gone");
    assert_eq!(out.frames[0].1["result"]["ambiguous"], true);

    // Script exhausted: back to the default answer.
    send(&mut c, sid, &request(edit, "r5"), ms(50));
    assert_eq!(drain(&mut c).frames[0].1["result"]["success"], true);
}

#[test]
fn a_delayed_answer_for_a_closed_session_is_dropped() {
    let mut c = connector();
    let mut s = ScriptedResponder::new();
    s.delay(None, Duration::from_secs(1));
    c.set_responder(Box::new(s));
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, sid, SEND, ms(0));
    assert_eq!(drain(&mut c).wait, Some(ms(1000)));
    c.handle_closed(sid, ms(10));
    c.handle_timeout(ms(1000));
    let out = drain(&mut c);
    assert!(out.frames.is_empty());
    assert_eq!(c.stats().outbound_unanswered, 1);
}

#[test]
fn a_platform_tag_not_fronted_fails_in_a_structured_way() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let tagged = r#"{"type": "outbound", "requestId": "r1", "action": {"op": "send", "chat_id": "c", "content": "x"}, "platform": "telegram"}"#;
    send(&mut c, sid, tagged, ms(1));
    let ok = r#"{"type": "outbound", "requestId": "r2", "action": {"op": "send", "chat_id": "c", "content": "x"}, "platform": "discord", "botId": "app-1"}"#;
    send(&mut c, sid, ok, ms(1));
    let out = drain(&mut c);
    assert_eq!(out.frames[0].1["result"]["success"], false);
    assert!(
        out.frames[0].1["result"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("telegram"))
    );
    assert_eq!(out.frames[1].1["result"]["success"], true);
}

// ---------------------------------------------------------------------------
// Interrupts and follow_up

const KEY: &str = "agent:main:discord:group:chanA:userX";

#[test]
fn interrupts_reach_the_owner_session_only() {
    let mut c = Connector::new(ConnectorConfig::default(), 1);
    c.add_gateway_in_tenant("gw-a", &["sa"], "t1");
    c.add_gateway_in_tenant("gw-b", &["sb"], "t1");
    c.add_gateway_in_tenant("gw-x", &["sx"], "t2");
    let (a, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let (b, _) = handshake(&mut c, "gw-b", "sb", ms(0));
    let (x, _) = handshake(&mut c, "gw-x", "sx", ms(0));
    c.bind_session(KEY, "gw-b", "t1");

    let frame = format!(r#"{{"type": "interrupt", "session_key": "{KEY}", "reason": null}}"#);
    send(&mut c, a, &frame, ms(1));
    let out = drain(&mut c);
    assert_eq!(out.frames.len(), 1);
    assert_eq!(out.frames[0].0, b);
    assert_eq!(out.frames[0].1["type"], "interrupt_inbound");
    assert_eq!(out.frames[0].1["session_key"], KEY);
    assert_eq!(out.frames[0].1["chat_id"], "chanA");

    // Another tenant cannot interrupt it; an unknown key goes nowhere.
    send(&mut c, x, &frame, ms(2));
    send(
        &mut c,
        a,
        r#"{"type": "interrupt", "session_key": "agent:main:discord:dm:zz", "reason": "stop"}"#,
        ms(2),
    );
    assert!(drain(&mut c).frames.is_empty());
    // The owner offline: nothing is sent.
    c.handle_closed(b, ms(3));
    send(&mut c, a, &frame, ms(4));
    assert!(drain(&mut c).frames.is_empty());
    assert_eq!(c.stats().interrupts_routed, 1);
    assert_eq!(c.stats().interrupts_unrouted, 3);
}

#[test]
fn follow_up_needs_a_capability_of_the_same_tenant() {
    let mut c = Connector::new(ConnectorConfig::default(), 1);
    c.add_gateway_in_tenant("gw-a", &["sa"], "t1");
    c.grant_capability(KEY, "discord.interaction_token", "t1");
    c.grant_capability(
        "agent:main:discord:dm:other",
        "discord.interaction_token",
        "t2",
    );
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let fu = |key: &str, kind: &str, id: &str| {
        request(
            &format!(
                r#"{{"op": "follow_up", "session_key": "{key}", "kind": "{kind}", "content": "done", "metadata": {{}}}}"#
            ),
            id,
        )
    };
    send(
        &mut c,
        sid,
        &fu(KEY, "discord.interaction_token", "r1"),
        ms(1),
    );
    send(&mut c, sid, &fu(KEY, "slack.response_url", "r2"), ms(1));
    send(
        &mut c,
        sid,
        &fu(
            "agent:main:discord:dm:other",
            "discord.interaction_token",
            "r3",
        ),
        ms(1),
    );
    let out = drain(&mut c);
    let results: Vec<_> = out.frames.iter().map(|(_, f)| &f["result"]).collect();
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["success"], false);
    assert_eq!(results[1]["error"], "no capability for this session");
    assert_eq!(results[2]["success"], false);
    assert_eq!(results[2]["error"], "capability belongs to another tenant");
    assert_eq!(c.stats().follow_ups_refused, 2);
}

// ---------------------------------------------------------------------------
// Upgrades

fn refused_with(c: &mut Connector, headers: &[(String, String)], wall: UnixTime) -> (u16, String) {
    let Accept::Accepted(sid) = c.accept(headers, ms(0), wall) else {
        panic!("expected an accepted-then-closed upgrade");
    };
    let out = drain(c);
    assert!(out.frames.is_empty());
    assert_eq!(out.closes.len(), 1, "{out:?}");
    assert_eq!(out.closes[0].0, sid);
    (out.closes[0].1, out.closes[0].2.clone())
}

fn auth_header(value: &str) -> Vec<(String, String)> {
    vec![("authorization".to_owned(), value.to_owned())]
}

#[test]
fn missing_invalid_and_expired_tokens_are_closed_4401() {
    let mut c = connector();
    let unauthorized = (4401, "unauthorized".to_owned());
    assert_eq!(refused_with(&mut c, &[], WALL), unauthorized);
    assert_eq!(
        refused_with(&mut c, &bearer("gw-a", "wrong"), WALL),
        unauthorized
    );
    assert_eq!(
        refused_with(&mut c, &bearer("gw-zz", "sa"), WALL),
        unauthorized
    );
    assert_eq!(
        refused_with(&mut c, &auth_header("Bearer !!!"), WALL),
        unauthorized
    );
    assert_eq!(
        refused_with(&mut c, &auth_header("Bearer"), WALL),
        unauthorized
    );
    let tok = mint_token("gw-a", "sa", 300, WALL);
    assert_eq!(
        refused_with(&mut c, &auth_header(&format!("Basic {tok}")), WALL),
        unauthorized
    );
    // A token with an empty payload can never name an instance.
    c.add_gateway("", &["s"]);
    let empty = mint_token("", "s", 300, WALL);
    assert_eq!(
        refused_with(&mut c, &auth_header(&format!("Bearer {empty}")), WALL),
        unauthorized
    );
    // Expired: valid at exp, refused one second later, reason `expired`.
    let exp = WALL.saturating_add_secs(300);
    assert!(matches!(
        c.accept(&bearer("gw-a", "sa"), ms(0), exp),
        Accept::Accepted(_)
    ));
    assert!(drain(&mut c).closes.is_empty());
    assert_eq!(
        refused_with(&mut c, &bearer("gw-a", "sa"), exp.saturating_add_secs(1)),
        (4401, "expired".to_owned())
    );
    assert_eq!(c.stats().upgrades_refused, 8);
    assert_eq!(c.stats().closes_4401, 8);
    assert_eq!(c.stats().upgrades_accepted, 1);
}

#[test]
fn the_header_name_and_scheme_are_case_insensitive_and_secrets_rotate() {
    let mut c = connector();
    c.add_gateway("gw-r", &["new", "old"]);
    let tok = mint_token("gw-r", "old", 300, WALL);
    let headers = vec![("AUTHORIZATION".to_owned(), format!("  bearer   {tok} "))];
    let Accept::Accepted(sid) = c.accept(&headers, ms(0), WALL) else {
        panic!("refused");
    };
    assert!(drain(&mut c).closes.is_empty());
    assert_eq!(c.instance_of(sid), Some("gw-r"));
    assert!(c.is_authenticated(sid));
}

#[test]
fn clock_skew_leeway_extends_expiry() {
    let mut c = connector_with(ConnectorConfig {
        token_leeway_secs: 30,
        ..Default::default()
    });
    let late = WALL.saturating_add_secs(330);
    assert!(matches!(
        c.accept(&bearer("gw-a", "sa"), ms(0), late),
        Accept::Accepted(_)
    ));
    assert!(drain(&mut c).closes.is_empty());
    let later = WALL.saturating_add_secs(331);
    assert_eq!(
        refused_with(&mut c, &bearer("gw-a", "sa"), later).1,
        "expired"
    );
}

#[test]
fn unauthenticated_sessions_join_the_anonymous_instance_when_allowed() {
    let mut c = connector_with(ConnectorConfig {
        require_auth: false,
        ..Default::default()
    });
    let Accept::Accepted(sid) = c.accept(&[], ms(0), WALL) else {
        panic!("refused");
    };
    assert!(drain(&mut c).closes.is_empty());
    assert_eq!(c.instance_of(sid), Some(ANONYMOUS_INSTANCE));
    assert!(!c.is_authenticated(sid));
    // A bad token is still refused.
    assert_eq!(refused_with(&mut c, &bearer("gw-a", "bad"), WALL).0, 4401);
}

#[test]
fn http_reject_modes() {
    let mut c = connector_with(ConnectorConfig {
        reject_mode: RejectMode::Http { status: 401 },
        ..Default::default()
    });
    assert_eq!(
        c.accept(&bearer("gw-a", "bad"), ms(0), WALL),
        Accept::RejectHttp { status: 401 }
    );
    assert!(drain(&mut c).closes.is_empty());

    let mut c = connector_with(ConnectorConfig {
        reject_mode: RejectMode::HttpRevokedGone,
        ..Default::default()
    });
    c.revoke("gw-b", ms(0));
    assert_eq!(
        c.accept(&bearer("gw-b", "sb"), ms(0), WALL),
        Accept::RejectHttp { status: 410 }
    );
    assert_eq!(
        c.accept(&bearer("gw-a", "nope"), ms(0), WALL),
        Accept::RejectHttp { status: 401 }
    );
    assert!(matches!(
        c.accept(&bearer("gw-a", "sa"), ms(0), WALL),
        Accept::Accepted(_)
    ));
    assert_eq!(c.stats().upgrades_refused, 2);
    assert_eq!(c.stats().closes_4401, 0);
}

// ---------------------------------------------------------------------------
// Management

#[test]
fn revoke_closes_4401_and_refuses_later_upgrades() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let (other, _) = handshake(&mut c, "gw-b", "sb", ms(0));
    c.revoke("gw-a", ms(5));
    let out = drain(&mut c);
    assert_eq!(out.closes, [(sid, 4401, "unauthorized".to_owned())]);
    assert!(c.is_revoked("gw-a"));
    assert_eq!(c.session_of("gw-a"), None);
    // Input on the closed session is ignored.
    send(&mut c, sid, SEND, ms(6));
    assert!(drain(&mut c).frames.is_empty());
    assert_eq!(c.stats().input_for_unknown_session, 1);
    // A fresh token is refused; the other gateway is untouched.
    assert_eq!(
        refused_with(&mut c, &bearer("gw-a", "sa"), WALL),
        (4401, "unauthorized".to_owned())
    );
    assert_eq!(c.session_of("gw-b"), Some(other));
}

#[test]
fn a_newer_session_of_the_same_instance_supersedes_the_older() {
    let mut c = connector();
    let (old, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let new = open(&mut c, "gw-a", "sa", ms(10));
    let out = drain(&mut c);
    assert_eq!(out.closes, [(old, 1000, "superseded".to_owned())]);
    assert_eq!(c.session_of("gw-a"), Some(new));
    assert_eq!(c.sessions(), [new]);
    assert_eq!(c.stats().sessions_superseded, 1);
    // The driver's late close of the old socket does not disturb the new one.
    c.handle_closed(old, ms(11));
    assert_eq!(c.session_of("gw-a"), Some(new));
}

#[test]
fn restart_drops_sessions_without_close_and_keeps_registrations() {
    let mut c = connector();
    c.set_wake_url("gw-a", "http://gw-a.test/wake");
    let (a, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let (b, _) = handshake(&mut c, "gw-b", "sb", ms(0));
    c.restart(ms(100));
    let out = drain(&mut c);
    assert_eq!(out.dropped, [a, b]);
    assert!(out.closes.is_empty() && out.frames.is_empty());
    assert!(c.sessions().is_empty());
    assert_eq!(c.stats().sessions_dropped, 2);
    // Registrations survive: the same credentials work, ids are not reused.
    let (again, out) = handshake(&mut c, "gw-a", "sa", ms(200));
    assert!(again > b);
    assert_eq!(out.types(), ["descriptor"]);
    assert_eq!(c.wake_url("gw-a"), Some("http://gw-a.test/wake"));
}

// ---------------------------------------------------------------------------
// Observability

#[test]
fn the_frame_log_records_both_directions_and_stays_bounded() {
    let mut c = connector_with(ConnectorConfig {
        log_capacity: 3,
        log_text_limit: 40,
        ..Default::default()
    });
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    assert_eq!(c.log().types(sid, Direction::In), ["hello"]);
    assert_eq!(c.log().types(sid, Direction::Out), ["descriptor"]);
    for i in 0..10 {
        send(
            &mut c,
            sid,
            &request(r#"{"op": "typing", "chat_id": "c"}"#, &format!("r{i}")),
            ms(i),
        );
    }
    drain(&mut c);
    assert_eq!(c.log().len(), 3);
    assert_eq!(c.log().total(), 22);
    assert!(c.log().entries().all(|e| e.text.len() <= 40));
    assert_eq!(c.stats().frames_in, 11);
    assert_eq!(c.stats().frames_out, 11);
    let taken = c.log_mut().take();
    assert_eq!(taken.len(), 3);
    assert!(c.log().is_empty());
}

#[test]
fn outputs_are_identical_for_identical_runs() {
    let run = || {
        let mut c = connector();
        let (a, _) = handshake(&mut c, "gw-a", "sa", ms(0));
        send(&mut c, a, SEND, ms(1));
        c.deliver("gw-b", event("x"), ms(2));
        c.deliver("gw-a", event("y"), ms(3));
        let mut all = Vec::new();
        loop {
            match c.poll_output() {
                ConnectorOutput::Wait(_) => break,
                o => all.push(o),
            }
        }
        all
    };
    assert_eq!(run(), run());
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
            header in ".{0,80}",
        ) {
            let mut c = connector();
            let _ = c.accept(&[("authorization".to_owned(), header)], ms(0), WALL);
            let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
            for (i, chunk) in chunks.iter().enumerate() {
                c.handle_message(sid, chunk, ms(i as u64));
            }
            let _ = c.drain_outputs();
            let _ = c.handle_http("POST", "/relay/provision", Some("Bearer x"), &chunks.concat(), WALL);
        }
    }
}
