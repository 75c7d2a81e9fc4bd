//! Requests, scope memory, platform tagging, interrupts and passthrough.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::connection::{Event, Output, RequestError, SendError, State};
use relay_core::wire::{Action, GetChatInfoAction, ReactAction, SendAction};
use serde_json::json;

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

#[test]
fn send_transmits_outbound_with_32_hex_request_id() {
    let mut h = H::serving();
    let (id, out) = h.send_out(send_action("c1"));
    assert_eq!(id.len(), 32);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(
        out,
        vec![Output::Transmit(format!(
            "{{\"type\":\"outbound\",\"requestId\":\"{id}\",\"action\":{{\"op\":\"send\",\"chat_id\":\"c1\",\"content\":\"hello\",\"reply_to\":null,\"metadata\":{{}}}}}}\n"
        ))]
    );
    assert_eq!(h.conn.pending_requests(), 1);
}

#[test]
fn result_is_correlated_to_its_request() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    let (b, _) = h.send_out(send_action("c2"));
    assert_ne!(a, b);
    let out = h.msg(&result_line(
        &b,
        "{\"success\":true,\"message_id\":\"srv-send\"}",
    ));
    let evs = events(&out);
    assert_eq!(evs.len(), 1);
    let Event::Response { request_id, result } = &evs[0] else {
        panic!("expected response, got {evs:?}");
    };
    assert_eq!(request_id.as_str(), b);
    assert!(result.success);
    assert_eq!(result.message_id.as_deref(), Some("srv-send"));
    assert_eq!(h.conn.pending_requests(), 1);
}

#[test]
fn unknown_and_repeated_results_are_ignored_and_counted() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    let out = h.msg(&result_line(&"0".repeat(32), "{\"success\":true}"));
    assert!(out.is_empty());
    assert_eq!(h.conn.stats().unknown_results, 1);
    assert_eq!(
        events(&h.msg(&result_line(&a, "{\"success\":true}"))).len(),
        1
    );
    assert!(h.msg(&result_line(&a, "{\"success\":true}")).is_empty());
    assert_eq!(h.conn.stats().unknown_results, 2);
}

#[test]
fn null_result_fails_with_malformed_result() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    let out = h.msg(&result_line(&a, "null"));
    assert_eq!(failed(&out), vec![(a, RequestError::MalformedResult)]);
    assert_eq!(h.conn.pending_requests(), 0);
}

#[test]
fn request_times_out_after_30_s() {
    let mut h = H::serving();
    h.set_time(1_000);
    let (a, _) = h.send_out(send_action("c1"));
    let out = h.timeout_at(30_999);
    assert!(failed(&out).is_empty());
    let out = h.timeout_at(31_000);
    assert_eq!(failed(&out), vec![(a.clone(), RequestError::Timeout)]);
    // A late result is ignored.
    assert!(h.msg(&result_line(&a, "{\"success\":true}")).is_empty());
    assert_eq!(h.conn.stats().unknown_results, 1);
}

#[test]
fn socket_loss_fails_every_pending_request_at_once() {
    let mut h = H::serving();
    let ids: Vec<String> = (0..3)
        .map(|i| h.send_out(send_action(&format!("c{i}"))).0)
        .collect();
    let out = h.closed(Some(1006), "");
    assert_eq!(
        failed(&out),
        ids.iter()
            .map(|i| (i.clone(), RequestError::ConnectionLost))
            .collect::<Vec<_>>()
    );
    assert_eq!(h.conn.pending_requests(), 0);
    assert_eq!(h.state(), State::Dialing);
}

#[test]
fn send_while_dialing_is_refused() {
    let (mut h, _) = H::new(cfg(), 1);
    assert_eq!(
        h.send(send_action("c1")),
        Err(SendError::NotConnected {
            state: State::Dialing
        })
    );
    h.open();
    assert_eq!(
        h.send(send_action("c1")),
        Err(SendError::NotConnected {
            state: State::Handshaking
        })
    );
}

#[test]
fn op_not_advertised_is_refused_without_a_frame() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    h.msg(&desc_line("discord", "D", Some(&["send"])));
    let now = h.at();
    let r = h.conn.send(
        Action::React(ReactAction {
            chat_id: "c1".into(),
            message_id: "m1".into(),
            emoji: "x".into(),
            ..ReactAction::default()
        }),
        now,
    );
    assert_eq!(
        r.map(|_| ()),
        Err(SendError::OpNotSupported {
            op: "react".into(),
            platform: "discord".into()
        })
    );
    assert!(h.drain().is_empty());
    assert_eq!(h.conn.stats().frames_out, 1); // the hello only
}

#[test]
fn shutdown_at_once_fails_in_flight_closes_1000_and_never_dials() {
    let mut h = H::serving();
    let (a, _) = h.send_out(send_action("c1"));
    let now = h.at();
    h.conn.shutdown_within(std::time::Duration::ZERO, now);
    let out = h.drain();
    assert_eq!(failed(&out), vec![(a, RequestError::Shutdown)]);
    assert_eq!(closes(&out), vec![(1000, "shutdown".to_owned())]);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.deadline, None);
    for t in [60_000, 3_600_000, 86_400_000] {
        assert!(h.timeout_at(t).is_empty());
    }
    assert!(h.closed(Some(1000), "").is_empty());
    assert!(
        !h.log
            .iter()
            .skip_while(|o| !matches!(o, Output::Close { .. }))
            .any(is_dial)
    );
}

fn meta_of(out: &[Output]) -> serde_json::Value {
    let t = transmits(out);
    assert_eq!(t.len(), 1, "{out:?}");
    json(&t[0])["action"]["metadata"].clone()
}

#[test]
fn scope_learned_from_inbound_is_reattached() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"group","scope_id":"g-1"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(meta_of(&out), json!({"scope_id":"g-1","guild_id":"g-1"}));
}

#[test]
fn scope_from_guild_id_is_reattached() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"group","guild_id":"g-2"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(meta_of(&out), json!({"scope_id":"g-2","guild_id":"g-2"}));
}

#[test]
fn explicit_scope_is_not_overwritten() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"group","scope_id":"g-1"}),
        None,
    ));
    let mut metadata = serde_json::Map::new();
    metadata.insert("scope_id".into(), json!("mine"));
    let (_, out) = h.send_out(Action::Send(SendAction {
        chat_id: "c1".into(),
        content: "x".into(),
        metadata,
        ..SendAction::default()
    }));
    assert_eq!(meta_of(&out), json!({"scope_id":"mine","guild_id":"g-1"}));
}

#[test]
fn unknown_chat_gets_no_metadata() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"group","scope_id":"g-1"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("other"));
    assert_eq!(meta_of(&out), json!({}));
}

#[test]
fn dm_author_user_id_is_reattached() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"d1","chat_type":"dm","user_id":"u-7"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("d1"));
    assert_eq!(meta_of(&out), json!({"user_id":"u-7"}));
}

fn tags(out: &[Output]) -> (Option<String>, Option<String>) {
    let t = transmits(out);
    assert_eq!(t.len(), 1, "{out:?}");
    let v = json(&t[0]);
    (
        v.get("platform")
            .and_then(|p| p.as_str())
            .map(str::to_owned),
        v.get("botId").and_then(|p| p.as_str()).map(str::to_owned),
    )
}

fn two_platform_serving() -> H {
    let (mut h, _) = H::new(cfg_two(), 1);
    h.open();
    h.msg(&format!("{DISCORD_DESC}{TELEGRAM_DESC}"));
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"telegram","chat_id":"tg-1","chat_type":"group"}),
        None,
    ));
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"dc-1","chat_type":"group"}),
        None,
    ));
    h
}

#[test]
fn checklist_multiplatform_4_reply_tagged_with_inbound_platform() {
    let mut h = two_platform_serving();
    let (_, out) = h.send_out(send_action("tg-1"));
    assert_eq!(tags(&out), (Some("telegram".into()), Some("bot-9".into())));
    let (_, out) = h.send_out(send_action("dc-1"));
    assert_eq!(tags(&out), (Some("discord".into()), Some("app-1".into())));
}

#[test]
fn unknown_chat_is_not_tagged() {
    let mut h = two_platform_serving();
    let (_, out) = h.send_out(send_action("nope"));
    assert_eq!(tags(&out), (None, None));
}

#[test]
fn get_chat_info_is_never_tagged() {
    let mut h = two_platform_serving();
    let (id, out) = h.send_out(Action::GetChatInfo(GetChatInfoAction {
        chat_id: "tg-1".into(),
    }));
    assert_eq!(
        transmits(&out),
        vec![format!(
            "{{\"type\":\"outbound\",\"requestId\":\"{id}\",\"action\":{{\"op\":\"get_chat_info\",\"chat_id\":\"tg-1\"}}}}\n"
        )]
    );
}

#[test]
fn single_platform_is_never_tagged() {
    let mut h = H::serving();
    h.msg(&group_inbound("c1", None));
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(tags(&out), (None, None));
}

#[test]
fn interrupt_is_transmitted_with_null_reason() {
    let mut h = H::serving();
    let now = h.at();
    h.conn.interrupt("k", None, now).expect("interrupt");
    assert_eq!(
        h.drain(),
        vec![Output::Transmit(
            "{\"type\":\"interrupt\",\"session_key\":\"k\",\"reason\":null}\n".into()
        )]
    );
}

#[test]
fn interrupt_while_dialing_is_refused() {
    let (mut h, _) = H::new(cfg(), 1);
    let now = h.at();
    assert_eq!(
        h.conn.interrupt("k", None, now),
        Err(SendError::NotConnected {
            state: State::Dialing
        })
    );
}

#[test]
fn interrupt_inbound_becomes_an_event() {
    let mut h = H::serving();
    let out = h.msg("{\"type\":\"interrupt_inbound\",\"session_key\":\"agent:main:discord:group:chanA:userX\",\"chat_id\":\"chanA\"}\n");
    assert_eq!(
        events(&out),
        vec![Event::Interrupt {
            session_key: "agent:main:discord:group:chanA:userX".into(),
            chat_id: "chanA".into()
        }]
    );
}

#[test]
fn checklist_passthrough_1_forward_body_bytes_exact() {
    let mut h = H::serving();
    let out = h.msg("{\"type\":\"passthrough_forward\",\"forward\":{\"platform\":\"discord\",\"botId\":\"appShared\",\"method\":\"POST\",\"path\":\"/interactions/discord/appShared\",\"headers\":[[\"content-type\",\"application/json\"]],\"bodyB64\":\"eyJ0eXBlIjogMn0=\"}}\n");
    let evs = events(&out);
    assert_eq!(evs.len(), 1);
    let Event::Passthrough { forward, delivery } = &evs[0] else {
        panic!("expected passthrough, got {evs:?}");
    };
    assert_eq!(forward.body, b"{\"type\": 2}".to_vec());
    assert_eq!(forward.bot_id, "appShared");
    assert_eq!(
        forward.headers,
        vec![("content-type".to_owned(), "application/json".to_owned())]
    );
    assert_eq!(delivery, &None);
    assert!(transmits(&out).is_empty());
}

#[test]
fn checklist_ws_3_outbound_round_trip() {
    let mut h = H::serving();
    let (id, out) = h.send_out(send_action("chan-1"));
    assert_eq!(json(&transmits(&out)[0])["requestId"], json!(id));
    let out = h.msg(&result_line(
        &id,
        "{\"success\":true,\"message_id\":\"srv-send\"}",
    ));
    assert!(
        matches!(&events(&out)[0], Event::Response { request_id, .. } if request_id.as_str() == id)
    );
}

#[test]
fn checklist_ws_5_send_after_shutdown_fails_at_once() {
    let mut h = H::serving();
    h.shutdown();
    assert_eq!(
        h.send(send_action("c1")),
        Err(SendError::NotConnected {
            state: State::Closed
        })
    );
}

/// A pending request's deadline is what the connection waits for when it
/// comes before every timer; once the request is answered (none pending),
/// the wait is the timers' again.
#[test]
fn wait_reports_a_pending_requests_deadline() {
    let mut config = cfg();
    config.timeouts.request = std::time::Duration::from_secs(5);
    let mut h = H::serving_with(config);
    let _ = h.drain();
    let idle = h.deadline.expect("a keepalive is armed");
    assert!(idle > ms(5_000), "{idle:?}");
    let (id, _) = h.send_out(send_action("c1"));
    assert_eq!(h.deadline, Some(ms(5_000)));
    h.msg(&result_line(&id, "{\"success\":true}"));
    assert_eq!(h.conn.pending_requests(), 0);
    assert_eq!(h.deadline, Some(idle));
}
