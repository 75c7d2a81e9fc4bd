//! PROTOCOL part 2 §11 gateway checklist items, one test each.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::config::{PlatformIdentity, RelayConfig};
use relay_core::connection::{CommandError, Event, Output, SendError, State};
use relay_core::wire::{Action, EditAction, FollowUpAction};
use serde_json::json;

#[test]
fn checklist_ws_1_hello_exact_and_descriptor_resolves_handshake() {
    let mut config = cfg();
    config.identities = vec![PlatformIdentity::new("discord", "appShared")];
    let (mut h, _) = H::new(config, 1);
    let out = h.open();
    assert_eq!(
        out[0],
        Output::Transmit(
            "{\"type\":\"hello\",\"platform\":\"discord\",\"botId\":\"appShared\"}\n".into()
        )
    );
    h.msg(DISCORD_DESC);
    assert_eq!(h.state(), State::Serving);
    let d = h.conn.descriptor(None).expect("descriptor");
    assert_eq!(d.platform, "discord");
    assert_eq!(d.max_message_length, 2000);
}

#[test]
fn checklist_ws_2_inbound_right_after_descriptor_is_delivered() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    let inbound = "{\"type\":\"inbound\",\"event\":{\"text\":\"hello from connector\",\"message_type\":\"text\",\"source\":{\"platform\":\"discord\",\"chat_id\":\"chan1\",\"chat_type\":\"group\",\"guild_id\":\"guildA\"}},\"bufferId\":\"buf-1\"}\n";
    let out = h.msg(&format!("{DISCORD_DESC}{inbound}"));
    let evs = app_events(&out);
    assert_eq!(evs.len(), 2);
    let Event::Inbound { event, delivery } = &evs[1] else {
        panic!("expected inbound, got {evs:?}");
    };
    assert_eq!(event.text, "hello from connector");
    assert_eq!(event.source.scope_id.as_deref(), Some("guildA"));
    assert_eq!(
        delivery.as_ref().map(|d| d.buffer_id().as_str().to_owned()),
        Some("buf-1".to_owned())
    );
}

#[test]
fn checklist_ws_4_follow_up_rides_an_outbound_frame() {
    let mut h = H::serving();
    let (id, out) = h.send_out(Action::FollowUp(FollowUpAction {
        session_key: "agent:main:discord:group:chan-9:user-3".into(),
        kind: "discord.interaction_token".into(),
        content: "done".into(),
        ..FollowUpAction::default()
    }));
    assert_eq!(
        transmits(&out),
        vec![format!(
            "{{\"type\":\"outbound\",\"requestId\":\"{id}\",\"action\":{{\"op\":\"follow_up\",\"session_key\":\"agent:main:discord:group:chan-9:user-3\",\"kind\":\"discord.interaction_token\",\"content\":\"done\",\"metadata\":{{}}}}}}\n"
        )]
    );
}

#[test]
fn checklist_ws_9_close_after_hello_before_descriptor_redials_and_serves() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    let out = h.closed(Some(1011), "");
    assert_eq!(h.state(), State::Dialing);
    assert!(scheduled_delay(&out, h.now).is_some());
    assert_eq!(dials(&h.fire()).len(), 1);
    let out = h.open();
    assert_eq!(transmits(&out).len(), 1);
    h.msg(DISCORD_DESC);
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn checklist_ws_10_shutdown_during_handshake_is_terminal() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    let out = h.shutdown();
    assert_eq!(closes(&out), vec![(1000, "shutdown".to_owned())]);
    assert_eq!(
        state_changes(&out),
        vec![(State::Handshaking, State::Closed)]
    );
    assert!(h.timeout_at(3_600_000).is_empty());
}

#[test]
fn checklist_ws_11_bad_frame_does_not_discard_frames_behind_it() {
    let mut h = H::serving();
    let out = h.msg(&format!(
        "{{\"type\":\"inbound\"}}\n{}",
        group_inbound("c9", None)
    ));
    let evs = app_events(&out);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert!(matches!(evs[0], Event::FrameRejected { .. }));
    assert!(matches!(&evs[1], Event::Inbound { event, .. } if event.source.chat_id == "c9"));
}

#[test]
fn checklist_going_idle_5_deliberate_shutdown_never_redials() {
    let mut h = H::serving();
    let dials_before = h.conn.stats().dials;
    h.shutdown();
    h.closed(Some(1000), "");
    for t in [300, 60_000, 3_600_000] {
        h.timeout_at(t);
    }
    assert_eq!(h.conn.stats().dials, dials_before);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn checklist_going_idle_9_go_idle_never_connected_is_refused() {
    let (mut h, _) = H::new(cfg(), 1);
    h.dial_failed(None);
    let now = h.at();
    assert_eq!(
        h.conn.go_idle(now),
        Err(CommandError::InvalidState {
            command: "go_idle",
            state: State::Dialing
        })
    );
    assert!(h.drain().iter().all(|o| !matches!(o, Output::Transmit(_))));
}

#[test]
fn checklist_adapter_8_scoped_reply_carries_scope_and_user() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"c1","chat_type":"channel","scope_id":"g-1","user_id":"u-1"}),
        None,
    ));
    let (_, out) = h.send_out(send_action("c1"));
    assert_eq!(
        json(&transmits(&out)[0])["action"]["metadata"],
        json!({"scope_id":"g-1","guild_id":"g-1","user_id":"u-1"})
    );
}

#[test]
fn checklist_adapter_7_dm_user_id_not_overwritten() {
    let mut h = H::serving();
    h.msg(&inbound_line(
        "hi",
        json!({"platform":"discord","chat_id":"d1","chat_type":"dm","user_id":"u-7"}),
        None,
    ));
    let mut metadata = serde_json::Map::new();
    metadata.insert("user_id".into(), json!("explicit"));
    let (_, out) = h.send_out(Action::Send(relay_core::wire::SendAction {
        chat_id: "d1".into(),
        content: "x".into(),
        metadata,
        ..Default::default()
    }));
    assert_eq!(
        json(&transmits(&out)[0])["action"]["metadata"],
        json!({"user_id":"explicit"})
    );
}

fn edit() -> Action {
    Action::Edit(EditAction {
        chat_id: "c1".into(),
        message_id: "m1".into(),
        content: "final".into(),
        finalize: true,
        ..EditAction::default()
    })
}

#[test]
fn checklist_adapter_10_edit_frame_with_finalize() {
    let mut h = H::serving();
    let (id, out) = h.send_out(edit());
    assert_eq!(
        transmits(&out),
        vec![format!(
            "{{\"type\":\"outbound\",\"requestId\":\"{id}\",\"action\":{{\"op\":\"edit\",\"chat_id\":\"c1\",\"message_id\":\"m1\",\"content\":\"final\",\"finalize\":true,\"metadata\":{{}}}}}}\n"
        )]
    );
}

#[test]
fn checklist_adapter_10_edit_refused_when_supports_edit_false() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    h.msg(&DISCORD_DESC.replace("\"supports_edit\":true", "\"supports_edit\":false"));
    assert!(!h.conn.descriptor(None).expect("descriptor").supports_edit);
    let now = h.at();
    assert_eq!(
        h.conn.send(edit(), now).map(|_| ()),
        Err(SendError::OpNotSupported {
            op: "edit".into(),
            platform: "discord".into()
        })
    );
    assert!(h.drain().is_empty());
}

#[test]
fn checklist_multiplatform_1_hellos_in_configured_order_primary_first() {
    let (mut h, _) = H::new(cfg_two(), 1);
    let t = transmits(&h.open());
    assert_eq!(
        json(&t[0]),
        json!({"type":"hello","platform":"discord","botId":"app-1"})
    );
    assert_eq!(
        json(&t[1]),
        json!({"type":"hello","platform":"telegram","botId":"bot-9"})
    );
}

#[test]
fn checklist_multiplatform_2_no_identity_hellos_once_as_relay() {
    let config = RelayConfig {
        identities: Vec::new(),
        ..cfg()
    };
    let (mut h, _) = H::new(config, 1);
    let t = transmits(&h.open());
    assert_eq!(t.len(), 1, "one hello: {t:?}");
    assert_eq!(
        json(&t[0]),
        json!({"type":"hello","platform":"relay","botId":""})
    );
}
