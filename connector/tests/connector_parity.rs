//! The connector model's answers to what today's reference gateways send:
//! the `draft`, `task_card`, `task_card_stop` and `delete` ops, declined
//! targets, and one-shot scripted answers queued on the model.

use std::time::Duration;

#[path = "connector_harness.rs"]
mod harness;

use harness::*;
use relay_connector::{
    Connector, ConnectorConfig, DeclineRule, MAX_SCRIPTS, Response, Script, ScriptStep,
};
use relay_core::wire::ActionResult;
use serde_json::Value;

fn request(op_json: &str, id: &str) -> String {
    format!(r#"{{"type": "outbound", "requestId": "{id}", "action": {op_json}}}"#)
}

fn tagged(op_json: &str, id: &str, platform: &str) -> String {
    format!(
        r#"{{"type": "outbound", "requestId": "{id}", "action": {op_json}, "platform": "{platform}"}}"#
    )
}

/// The result answered to each request, in order.
fn results(out: &Out) -> Vec<Value> {
    out.frames
        .iter()
        .filter(|(_, f)| f["type"] == "outbound_result")
        .map(|(_, f)| f["result"].clone())
        .collect()
}

#[test]
fn draft_frames_of_one_stream_share_one_message_id() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let draft = |id: i64, text: &str, fin: bool| {
        format!(
            r#"{{"op": "draft", "chat_id": "C-1", "draft_id": {id}, "content": "{text}", "final": {fin}, "metadata": {{}}}}"#
        )
    };
    for (n, line) in [
        draft(1, "Hel", false),
        draft(1, "Hello", false),
        draft(1, "Hello!", true),
        draft(1, "Hello!", true),
        draft(2, "Other", false),
    ]
    .iter()
    .enumerate()
    {
        send(&mut c, sid, &request(line, &format!("r{n}")), ms(1));
    }
    let r = results(&drain(&mut c));
    assert_eq!(r.len(), 5);
    assert!(r.iter().all(|r| r["success"] == true), "{r:?}");
    let id = r[0]["message_id"].as_str().expect("a stream id");
    for (i, other) in r[1..4].iter().enumerate() {
        assert_eq!(other["message_id"], id, "frame {} of the stream", i + 1);
    }
    assert_ne!(r[4]["message_id"], id, "another draft id is another stream");
    assert_eq!(c.stats().bad_frames, 0);
}

#[test]
fn task_cards_and_deletes_are_answered_with_success() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let ops = [
        r#"{"op": "task_card", "chat_id": "c", "card_id": "k", "chunks": [{"id": "t1", "status": "pending"}], "metadata": {}}"#,
        r#"{"op": "task_card_stop", "chat_id": "c", "card_id": "k", "metadata": {}}"#,
        r#"{"op": "delete", "chat_id": "c", "message_id": "m-1", "metadata": {}}"#,
    ];
    for (n, op) in ops.iter().enumerate() {
        send(&mut c, sid, &request(op, &format!("r{n}")), ms(1));
    }
    let r = results(&drain(&mut c));
    assert_eq!(r.len(), 3);
    for result in &r {
        assert_eq!(result, &serde_json::json!({"success": true}));
    }
    let logged: Vec<String> = c.log().entries().map(|e| e.text.clone()).collect();
    for op in ["task_card", "task_card_stop", "delete"] {
        assert!(
            logged
                .iter()
                .any(|t| t.contains(&format!("\"op\": \"{op}\""))),
            "{op} logged"
        );
    }
    assert_eq!(c.stats().bad_frames, 0);
}

#[test]
fn a_declined_target_gets_a_structured_decline() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    c.decline(DeclineRule {
        chat_id: "blocked".into(),
        platform: None,
        instance: None,
    })
    .expect("rule kept");
    let send_to = |chat: &str| {
        format!(r#"{{"op": "send", "chat_id": "{chat}", "content": "x", "metadata": {{}}}}"#)
    };
    send(&mut c, sid, &request(&send_to("blocked"), "r1"), ms(1));
    send(&mut c, sid, &request(&send_to("ok"), "r2"), ms(1));
    send(
        &mut c,
        sid,
        &request(r#"{"op": "get_chat_info", "chat_id": "blocked"}"#, "r3"),
        ms(1),
    );
    let r = results(&drain(&mut c));
    assert_eq!(
        r[0],
        serde_json::json!({
            "success": false,
            "error": "discord egress declined: target is not an approved destination for this connection",
            "code": "egress_declined"
        }),
        "the session's first hello names the platform; never ambiguous"
    );
    assert_eq!(r[1]["success"], true);
    assert_eq!(r[2]["success"], false, "every op to the target is declined");
    assert_eq!(c.stats().egress_declined, 2);
}

#[test]
fn a_decline_rule_narrowed_to_a_platform_or_an_instance() {
    let mut c = connector();
    let sid = open(&mut c, "gw-a", "sa", ms(0));
    send(&mut c, sid, &hello("discord", "app-1"), ms(0));
    send(&mut c, sid, &hello("slack", "B-1"), ms(0));
    let (other, _) = handshake(&mut c, "gw-b", "sb", ms(0));
    drain(&mut c);
    c.decline(DeclineRule {
        chat_id: "c".into(),
        platform: Some("slack".into()),
        instance: None,
    })
    .expect("rule kept");
    c.decline(DeclineRule {
        chat_id: "d".into(),
        platform: None,
        instance: Some("gw-b".into()),
    })
    .expect("rule kept");
    let op = |chat: &str| format!(r#"{{"op": "send", "chat_id": "{chat}", "content": "x"}}"#);
    send(&mut c, sid, &request(&op("c"), "r1"), ms(1));
    send(&mut c, sid, &tagged(&op("c"), "r2", "slack"), ms(1));
    send(&mut c, sid, &request(&op("d"), "r3"), ms(1));
    send(&mut c, other, &request(&op("d"), "r4"), ms(1));
    let r = results(&drain(&mut c));
    assert_eq!(
        r[0]["success"], true,
        "untagged: the session default is discord"
    );
    assert_eq!(r[1]["code"], "egress_declined", "tagged slack");
    assert!(
        r[1]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("slack egress declined:"))
    );
    assert_eq!(r[2]["success"], true, "another instance");
    assert_eq!(r[3]["code"], "egress_declined");
}

#[test]
fn scripts_queued_on_the_model_answer_once_whatever_the_responder() {
    let mut c = Connector::new(ConnectorConfig::default(), 3);
    c.add_gateway("gw-a", &["sa"]);
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let push = |c: &mut Connector, op: Option<&str>, step: ScriptStep| {
        c.push_script(Script {
            op: op.map(str::to_owned),
            step,
        })
    };
    assert_eq!(
        push(
            &mut c,
            Some("edit"),
            ScriptStep::DelayDefault(Duration::from_millis(800))
        ),
        Ok(1)
    );
    let mut verbatim = ActionResult::failure("file too large", false);
    verbatim.extra.insert("code".into(), "too_big".into());
    let respond = ScriptStep::Respond(Box::new(Response::Reply(verbatim)));
    assert_eq!(push(&mut c, Some("send_media"), respond), Ok(2));
    assert_eq!(
        push(
            &mut c,
            None,
            ScriptStep::Respond(Box::new(Response::Silence))
        ),
        Ok(3)
    );
    let edit = r#"{"op": "edit", "chat_id": "c", "message_id": "m", "content": "x"}"#;
    let media = r#"{"op": "send_media", "chat_id": "c", "source_url": "u"}"#;
    let plain = r#"{"op": "send", "chat_id": "c", "content": "x"}"#;
    send(&mut c, sid, &request(edit, "r1"), ms(100));
    send(&mut c, sid, &request(media, "r2"), ms(100));
    send(&mut c, sid, &request(plain, "r3"), ms(100));
    send(&mut c, sid, &request(plain, "r4"), ms(100));
    let out = drain(&mut c);
    let r = results(&out);
    assert_eq!(r.len(), 2, "the edit waits, the first send is silenced");
    assert_eq!(
        r[0],
        serde_json::json!({"success": false, "error": "file too large", "code": "too_big"})
    );
    assert_eq!(r[1]["success"], true, "scripts are used once");
    assert_eq!(out.wait, Some(ms(900)));
    c.handle_timeout(ms(900));
    let late = drain(&mut c);
    assert_eq!(late.frames[0].1["requestId"], "r1");
    assert_eq!(late.frames[0].1["result"]["success"], true);
    assert_eq!(c.scripts_queued(), 0);
}

#[test]
fn the_script_queue_is_bounded() {
    let mut c = connector();
    for _ in 0..MAX_SCRIPTS {
        c.push_script(Script {
            op: None,
            step: ScriptStep::Respond(Box::new(Response::Silence)),
        })
        .expect("room");
    }
    assert!(
        c.push_script(Script {
            op: None,
            step: ScriptStep::Respond(Box::new(Response::Silence)),
        })
        .is_err()
    );
    assert_eq!(c.scripts_queued(), MAX_SCRIPTS);
}

#[test]
fn a_replay_goes_through_the_buffer_even_to_a_serving_session() {
    let mut c = connector();
    let (sid, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    let mut e = event("run it");
    e.message_id = Some("m-77".into());
    assert_eq!(
        c.deliver("gw-a", e.clone(), ms(1)),
        relay_connector::Delivery::Live(sid)
    );
    let d = c.replay("gw-a", e, ms(2));
    assert!(matches!(d, relay_connector::Delivery::Buffered(_)), "{d:?}");
    let out = drain(&mut c);
    let inbound = out.inbound();
    assert_eq!(inbound.len(), 2);
    assert_eq!(inbound[0].0, "", "live first");
    assert!(inbound[1].0.starts_with("buf-"), "replayed with a bufferId");
    send(&mut c, sid, &ack(&inbound[1].0), ms(3));
    drain(&mut c);
    assert_eq!(c.buffer_len("gw-a"), 0);
}
