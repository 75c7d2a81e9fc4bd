//! Scenarios of what today's reference gateways do, through the driver API:
//! an explicit per-frame platform, egress declines as their own outcome, the
//! graceful shutdown's drain, and a held re-dial.

use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_connector::{DeclineRule, Direction, Response, Script, ScriptStep};
use relay_core::State;
use relay_core::config::IdleMode;
use relay_core::connection::{RequestError, SendError, SendOptions};
use relay_core::wire::{Action, ActionResult, EditAction, Metadata};
use relay_engine::ClientError;
use serde_json::Value;

use super::{GATEWAY, Harness, SECRET, gateway_config};

/// The `outbound` frames the connector received, decoded, oldest first.
async fn outbound_frames(server: &ConnectorServer) -> Vec<Value> {
    server
        .frame_log()
        .await
        .expect("server up")
        .into_iter()
        .filter(|e| e.direction == Direction::In && e.frame_type == "outbound")
        .map(|e| serde_json::from_str(&e.text).expect("a logged frame"))
        .collect()
}

async fn script(server: &ConnectorServer, op: &str, step: ScriptStep) {
    let op = op.to_owned();
    server
        .with_model(move |c, _| {
            c.push_script(Script { op: Some(op), step })
                .expect("room for a script")
        })
        .await
        .expect("server up");
}

fn edit(chat: &str) -> Action {
    Action::Edit(EditAction {
        chat_id: chat.into(),
        message_id: "msg-1".into(),
        content: "final".into(),
        finalize: true,
        metadata: Metadata::new(),
    })
}

/// A send naming its platform reaches a chat no inbound taught, tagged with
/// that platform's bot id; a platform never said hello for is tagged
/// without one and refused by the connector (a plain failure).
pub async fn platform_tagged_send(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = h.client(gateway_config(&server, &["telegram", "discord"], SECRET));
    h.expect_state(&mut events, State::Serving).await;
    let discord = SendOptions::new().platform("discord");
    let r = h
        .within(
            10,
            "tagged send",
            handle.send_with(Action::send("home-1", "hi"), discord),
        )
        .await
        .expect("sent");
    assert!(r.success, "{r:?}");
    let slack = SendOptions::new().platform("slack");
    let r = h
        .within(
            10,
            "send for slack",
            handle.send_with(Action::send("home-2", "x"), slack),
        )
        .await
        .expect("answered");
    assert!(!r.success);
    assert_eq!(
        r.error.as_deref(),
        Some("platform slack is not fronted on this connection")
    );
    let frames = outbound_frames(&server).await;
    let tags: Vec<(Value, Value)> = frames
        .iter()
        .map(|f| (f["platform"].clone(), f["botId"].clone()))
        .collect();
    assert_eq!(
        tags,
        [
            (Value::from("discord"), Value::from("discord-bot")),
            (Value::from("slack"), Value::Null)
        ]
    );
    handle.shutdown().await;
}

/// A declined destination is `ClientError::Declined` with the connector's
/// text verbatim; a plain failure stays a result with `success: false`.
pub async fn declined_send(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = h.client(gateway_config(&server, &["telegram"], SECRET));
    h.expect_state(&mut events, State::Serving).await;
    server
        .decline(DeclineRule {
            chat_id: "blocked-1".into(),
            platform: None,
            instance: None,
        })
        .await
        .expect("server up")
        .expect("rule kept");
    let declined = h
        .within(10, "declined send", handle.send_text("blocked-1", "secret"))
        .await;
    let Err(ClientError::Declined(decline)) = declined else {
        panic!("expected a decline, got {declined:?}");
    };
    assert_eq!(
        decline.text,
        "telegram egress declined: target is not an approved destination for this connection"
    );
    assert_eq!(
        ClientError::Declined(decline.clone()).to_result(),
        *decline.result,
        "the result as the connector sent it"
    );
    let plain = ActionResult::failure("busy", false);
    script(
        &server,
        "send",
        ScriptStep::Respond(Box::new(Response::Reply(plain))),
    )
    .await;
    let r = h
        .within(10, "plain failure", handle.send_text("fine-1", "x"))
        .await
        .expect("a result, not an error");
    assert_eq!((r.success, r.error.as_deref()), (false, Some("busy")));
    handle.shutdown().await;
}

/// A result on its way when the shutdown starts still resolves its
/// request; a send made meanwhile fails at once and is never written; one
/// answered later than the drain fails with `Shutdown`; close 1000.
pub async fn shutdown_drains_in_flight(h: &Harness) {
    let server = h.server(|_| {}).await;
    let config = gateway_config(&server, &["telegram"], SECRET);
    assert_eq!(config.timeouts.shutdown_drain, Duration::from_millis(1_500));
    let (handle, mut events) = h.client(config);
    h.expect_state(&mut events, State::Serving).await;
    script(
        &server,
        "edit",
        ScriptStep::DelayDefault(Duration::from_millis(300)),
    )
    .await;
    let inflight = handle.clone();
    let (result, ()) =
        futures_util::future::join(async move { inflight.send(edit("chat-7")).await }, async {
            h.requests_sent(&handle, 1).await;
            let closing = handle.clone();
            let shutdown = async move { closing.shutdown().await };
            let late = async {
                h.expect_state(&mut events, State::Closing).await;
                handle.send(edit("late-1")).await
            };
            let ((), late) = futures_util::future::join(shutdown, late).await;
            assert_eq!(late, Err(ClientError::Refused(SendError::Closing)));
        })
        .await;
    assert!(result.expect("the in-flight result arrived").success);
    let chats: Vec<Value> = outbound_frames(&server)
        .await
        .iter()
        .map(|f| f["action"]["chat_id"].clone())
        .collect();
    assert_eq!(
        chats,
        [Value::from("chat-7")],
        "the late send was never written"
    );
    h.within(5, "socket closed", async {
        while server.sockets_open() > 0 {
            h.pause(10).await;
        }
    })
    .await;

    // Answered after the drain: failed as Shutdown.
    let (handle, mut events) = h.client(gateway_config(&server, &["telegram"], SECRET));
    h.expect_state(&mut events, State::Serving).await;
    script(
        &server,
        "edit",
        ScriptStep::DelayDefault(Duration::from_secs(4)),
    )
    .await;
    let inflight = handle.clone();
    let (result, ()) =
        futures_util::future::join(async move { inflight.send(edit("chat-8")).await }, async {
            h.requests_sent(&handle, 1).await;
            h.within(5, "a bounded drain", handle.shutdown()).await;
        })
        .await;
    assert_eq!(result, Err(ClientError::Failed(RequestError::Shutdown)));
}

/// A held re-dial waits past the dormant cadence until released.
pub async fn held_redial(h: &Harness) {
    let server = h.server(|_| {}).await;
    let mut config = gateway_config(&server, &["telegram"], SECRET);
    config.timeouts.dormant_redial = Some(Duration::from_millis(100));
    let (handle, mut events) = h.client(config);
    h.expect_state(&mut events, State::Serving).await;
    handle.hold_redial().await.expect("hold");
    handle
        .go_idle_with(IdleMode::Dormant)
        .await
        .expect("go idle");
    h.expect_state(&mut events, State::Buffered).await;
    let dials = server.upgrade_count();
    h.expect(&mut events, "the re-dial held", |e| {
        matches!(e, relay_core::Event::RedialHeld { .. })
    })
    .await;
    h.pause(500).await;
    assert_eq!(server.upgrade_count(), dials, "no dial while held");
    handle.release_redial().await.expect("release");
    h.expect_state(&mut events, State::Serving).await;
    assert_eq!(server.upgrade_count(), dials + 1);
    handle.shutdown().await;
    let _ = GATEWAY;
}
