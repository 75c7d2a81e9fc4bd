//! What today's reference gateways do on the wire, in the core: an explicit
//! per-frame platform, the chat metadata re-attached to every op, the new
//! ops gated like the others, and the gating decisions relay-rs keeps.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::connection::{SendError, SendOptions};
use relay_core::wire::{Action, DeleteAction, DraftAction, EditAction, Metadata, SendAction};
use serde_json::json;

/// `(platform, botId)` of the one outbound frame in `out`.
fn tags(out: &[relay_core::Output]) -> (Option<String>, Option<String>) {
    let t = transmits(out);
    assert_eq!(t.len(), 1, "{out:?}");
    let v = json(&t[0]);
    let s = |k: &str| v.get(k).and_then(|p| p.as_str()).map(str::to_owned);
    (s("platform"), s("botId"))
}

fn send_with(h: &mut H, action: Action, options: &SendOptions) -> Vec<relay_core::Output> {
    let now = h.at();
    h.conn
        .send_with(action, options, now)
        .expect("send accepted");
    h.drain()
}

fn two_platforms() -> H {
    let (mut h, _) = H::new(cfg_two(), 1);
    h.open();
    h.msg(&format!("{DISCORD_DESC}{TELEGRAM_DESC}"));
    h
}

#[test]
fn an_explicit_platform_tags_a_chat_no_inbound_taught() {
    let mut h = two_platforms();
    let out = send_with(
        &mut h,
        send_action("home-1"),
        &SendOptions::new().platform("telegram"),
    );
    assert_eq!(tags(&out), (Some("telegram".into()), Some("bot-9".into())));
    let t = transmits(&out);
    assert!(
        t[0].ends_with("},\"platform\":\"telegram\",\"botId\":\"bot-9\"}\n"),
        "key order type, requestId, action, platform, botId: {}",
        t[0]
    );
}

#[test]
fn an_explicit_platform_wins_over_the_learned_one() {
    let mut h = two_platforms();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"telegram","chat_id":"c1","chat_type":"group"}),
        None,
    ));
    let out = send_with(
        &mut h,
        send_action("c1"),
        &SendOptions::new().platform("discord"),
    );
    assert_eq!(tags(&out), (Some("discord".into()), Some("app-1".into())));
}

#[test]
fn an_explicit_platform_is_tagged_on_a_single_identity_gateway_too() {
    let mut h = H::serving();
    let out = send_with(
        &mut h,
        send_action("c1"),
        &SendOptions::new().platform("discord"),
    );
    assert_eq!(tags(&out), (Some("discord".into()), Some("app-1".into())));
    // Without one, a single-identity gateway still sends no tag.
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(tags(&out), (None, None));
}

#[test]
fn a_platform_never_helloed_is_tagged_without_a_bot_id() {
    let mut h = two_platforms();
    let out = send_with(
        &mut h,
        send_action("c1"),
        &SendOptions::new().platform("slack"),
    );
    assert_eq!(tags(&out), (Some("slack".into()), None));
}

#[test]
fn an_empty_platform_means_none() {
    let mut h = H::serving();
    let out = send_with(&mut h, send_action("c1"), &SendOptions::new().platform(""));
    assert_eq!(tags(&out), (None, None));
}

/// Gating uses the destination's descriptor: the explicit platform's when it
/// was negotiated.
#[test]
fn ops_are_gated_on_the_explicit_platforms_descriptor() {
    let (mut h, _) = H::new(cfg_two(), 1);
    h.open();
    h.msg(&format!(
        "{}{}",
        desc_line("discord", "D", Some(&["send", "delete"])),
        desc_line("telegram", "T", Some(&["send"]))
    ));
    let delete = Action::Delete(DeleteAction {
        chat_id: "c1".into(),
        message_id: "m1".into(),
        metadata: Metadata::new(),
    });
    let now = h.at();
    assert_eq!(
        h.conn.send_with(
            delete.clone(),
            &SendOptions::new().platform("telegram"),
            now
        ),
        Err(SendError::OpNotSupported {
            op: "delete".into(),
            platform: "telegram".into()
        })
    );
    let out = send_with(
        &mut h,
        delete.clone(),
        &SendOptions::new().platform("discord"),
    );
    assert_eq!(transmits(&out).len(), 1);
    // A platform with no descriptor of its own falls back to the default one.
    let out = send_with(&mut h, delete, &SendOptions::new().platform("slack"));
    assert_eq!(transmits(&out).len(), 1);
}

/// The four ops today's reference adds are not in the set an absent
/// `supported_ops` stands for: refused until a descriptor lists them.
#[test]
fn new_ops_are_refused_unless_advertised() {
    let mut h = H::serving();
    let draft = Action::Draft(DraftAction {
        chat_id: "c1".into(),
        draft_id: 1,
        content: "x".into(),
        is_final: false,
        metadata: Metadata::new(),
    });
    assert!(matches!(
        h.send(draft.clone()),
        Err(SendError::OpNotSupported { .. })
    ));
    let (mut h, _) = H::new(cfg(), 2);
    h.open();
    h.msg(&desc_line("discord", "D", Some(&["send", "draft"])));
    let (_, out) = h.send_out(draft);
    assert_eq!(transmits(&out).len(), 1);
}

/// `supports_edit: false` refuses `edit` even when `supported_ops` lists it.
#[test]
fn edit_is_refused_when_the_destination_cannot_edit() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    let mut d = json(&desc_line("discord", "D", Some(&["send", "edit"])));
    d["descriptor"]["supports_edit"] = json!(false);
    h.msg(&format!("{d}\n"));
    let edit = Action::Edit(EditAction {
        chat_id: "c1".into(),
        message_id: "m1".into(),
        content: "x".into(),
        finalize: true,
        metadata: Metadata::new(),
    });
    assert!(matches!(
        h.send(edit),
        Err(SendError::OpNotSupported { op, .. }) if op == "edit"
    ));
}

fn meta_of(out: &[relay_core::Output]) -> serde_json::Value {
    let t = transmits(out);
    assert_eq!(t.len(), 1, "{out:?}");
    json(&t[0])["action"]["metadata"].clone()
}

#[test]
fn the_author_is_reattached_on_every_chat_it_was_seen_on() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"channel","user_id":"u-7"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(meta_of(&out), json!({"user_id":"u-7"}));
}

#[test]
fn the_profile_of_the_chats_inbound_is_echoed() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"group","scope_id":"g-1",
               "user_id":"u-7","profile":"coder"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(
        meta_of(&out),
        json!({"scope_id":"g-1","guild_id":"g-1","user_id":"u-7","profile":"coder"})
    );
    let mut metadata = Metadata::new();
    metadata.insert("profile".into(), json!("mine"));
    let (_, out) = h.send_out(Action::Send(SendAction {
        chat_id: "c1".into(),
        content: "x".into(),
        metadata,
        ..SendAction::default()
    }));
    assert_eq!(
        meta_of(&out)["profile"],
        json!("mine"),
        "a profile the caller set is kept"
    );
}

// ----- replays -------------------------------------------------------------

fn with_id(chat: &str, message_id: &str, platform: &str, buffer_id: Option<&str>) -> String {
    let mut f = json!({
        "type": "inbound",
        "event": {"text": "run it", "message_id": message_id,
                  "source": {"platform": platform, "chat_id": chat, "chat_type": "group"}}
    });
    if let Some(b) = buffer_id {
        f["bufferId"] = json!(b);
    }
    format!("{f}\n")
}

fn inbound_count(out: &[relay_core::Output]) -> usize {
    app_events(out)
        .iter()
        .filter(|e| matches!(e, relay_core::Event::Inbound { .. }))
        .count()
}

#[test]
fn a_replayed_message_is_not_handed_over_again() {
    let mut h = H::serving();
    assert_eq!(
        inbound_count(&h.msg(&with_id("c1", "m-77", "discord", None))),
        1
    );
    // The same message again, live: dropped.
    let out = h.msg(&with_id("c1", "m-77", "discord", None));
    assert_eq!(inbound_count(&out), 0);
    assert!(transmits(&out).is_empty(), "a live frame is never acked");
    // Replayed from the buffer: dropped and acked at once.
    let out = h.msg(&with_id("c1", "m-77", "discord", Some("buf-9")));
    assert_eq!(inbound_count(&out), 0);
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"inbound_ack\",\"bufferId\":\"buf-9\"}\n".to_owned()]
    );
    // Its redelivery is re-acked, still not handed over.
    let out = h.msg(&with_id("c1", "m-77", "discord", Some("buf-9")));
    assert_eq!(inbound_count(&out), 0);
    assert_eq!(transmits(&out).len(), 1);
    let stats = h.conn.stats();
    assert_eq!((stats.replays_dropped, stats.duplicate_deliveries), (2, 1));
}

#[test]
fn only_the_same_identity_is_a_replay() {
    let mut h = H::serving();
    h.msg(&with_id("c1", "m-1", "discord", None));
    for line in [
        with_id("c1", "m-2", "discord", None),
        with_id("c2", "m-1", "discord", None),
        with_id("c1", "m-1", "telegram", None),
    ] {
        assert_eq!(inbound_count(&h.msg(&line)), 1, "{line}");
    }
    // Without a message id there is no identity: never deduplicated.
    let no_id = inbound_line("again", json!({"platform":"discord","chat_id":"c1"}), None);
    assert_eq!(inbound_count(&h.msg(&no_id)), 1);
    assert_eq!(inbound_count(&h.msg(&no_id)), 1);
    assert_eq!(h.conn.stats().replays_dropped, 0);
}

#[test]
fn a_buffered_first_delivery_is_acked_by_the_application_only() {
    let mut h = H::serving();
    let out = h.msg(&with_id("c1", "m-1", "discord", Some("b1")));
    assert_eq!(inbound_count(&out), 1);
    assert!(
        transmits(&out).is_empty(),
        "acked after the application's ack"
    );
    // The redelivery of that very item waits for the application's ack.
    let out = h.msg(&with_id("c1", "m-1", "discord", Some("b1")));
    assert!(transmits(&out).is_empty());
    assert_eq!(h.conn.stats().replays_dropped, 0);
}

#[test]
fn the_replay_window_is_configurable_and_can_be_off() {
    let mut config = cfg();
    config.limits.replay_window = 0;
    let mut h = H::serving_with(config);
    h.msg(&with_id("c1", "m-1", "discord", None));
    assert_eq!(
        inbound_count(&h.msg(&with_id("c1", "m-1", "discord", None))),
        1
    );
    let mut config = cfg();
    config.limits.replay_window = 2;
    let mut h = H::serving_with(config);
    for m in ["m-1", "m-2", "m-3"] {
        h.msg(&with_id("c1", m, "discord", None));
    }
    assert_eq!(
        inbound_count(&h.msg(&with_id("c1", "m-1", "discord", None))),
        1,
        "forgotten: the oldest of three with a window of two"
    );
    assert_eq!(
        inbound_count(&h.msg(&with_id("c1", "m-3", "discord", None))),
        0
    );
}

// ----- Slack's /hermes ---------------------------------------------------------

fn handed(out: &[relay_core::Output]) -> Vec<(String, relay_core::message::MessageType)> {
    app_events(out)
        .into_iter()
        .filter_map(|e| match e {
            relay_core::Event::Inbound { event, .. } => Some((event.text, event.message_type)),
            _ => None,
        })
        .collect()
}

#[test]
fn slack_hermes_text_becomes_the_gateway_command() {
    use relay_core::message::MessageType::{Command, Text};
    let mut h = H::serving();
    let slack = |text: &str| {
        inbound_line(
            text,
            json!({"platform":"slack","chat_id":"C1","chat_type":"dm"}),
            None,
        )
    };
    assert_eq!(
        handed(&h.msg(&slack("/hermes compact now"))),
        [("/compress now".into(), Command)]
    );
    assert_eq!(
        handed(&h.msg(&slack("/hermes"))),
        [("/help".into(), Command)]
    );
    assert_eq!(
        handed(&h.msg(&slack("/hermes hi there"))),
        [("hi there".into(), Text)]
    );
    assert_eq!(handed(&h.msg(&slack("plain"))), [("plain".into(), Text)]);
    let discord = inbound_line(
        "/hermes new",
        json!({"platform":"discord","chat_id":"C1","chat_type":"dm"}),
        None,
    );
    assert_eq!(
        handed(&h.msg(&discord)),
        [("/hermes new".into(), Text)],
        "other platforms untouched"
    );
}

#[test]
fn the_slack_command_set_is_configurable() {
    use relay_core::message::MessageType::{Command, Text};
    let mut config = cfg();
    config.slack_commands = Some([("go".to_owned(), "/start".to_owned())].into());
    let mut h = H::serving_with(config);
    let slack = |text: &str| {
        inbound_line(
            text,
            json!({"platform":"slack","chat_id":"C1","chat_type":"dm"}),
            None,
        )
    };
    assert_eq!(
        handed(&h.msg(&slack("/hermes go x"))),
        [("/start x".into(), Command)]
    );
    assert_eq!(
        handed(&h.msg(&slack("/hermes new"))),
        [("new".into(), Text)]
    );
}

// ----- decisions kept where today's reference differs ------------------------

/// A request whose socket drops after its frame was written may have taken
/// effect: relay-rs reports it ambiguous (today's reference does not).
#[test]
fn a_request_lost_with_its_socket_is_ambiguous() {
    use relay_core::connection::{Event, RequestError};
    let mut h = H::serving();
    let (id, _) = h.send_out(send_action("c1"));
    let out = h.closed(None, "");
    let failed: Vec<RequestError> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            Event::RequestFailed { request_id, error } if request_id.as_str() == id => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [RequestError::ConnectionLost]);
    let result = failed[0].to_result();
    assert_eq!(
        (result.success, result.ambiguous, result.error.as_deref()),
        (false, true, Some("relay transport connection lost"))
    );
}

/// A descriptor for a platform never said hello for is not kept (today's
/// reference keeps any platform's, the last one winning).
#[test]
fn a_descriptor_for_a_platform_never_helloed_is_ignored() {
    let (mut h, _) = H::new(cfg_two(), 1);
    h.open();
    h.msg(&desc_line("discord", "D1", None));
    h.msg(&desc_line("slack", "S1", None));
    h.msg(&desc_line("discord", "D2", None));
    assert!(h.conn.descriptor(Some("slack")).is_none());
    assert_eq!(
        h.conn.descriptor(Some("discord")).map(|d| d.label.as_str()),
        Some("D1"),
        "the first per platform wins"
    );
    assert_eq!(h.conn.stats().descriptors_ignored, 2);
}
