//! The dev connector's admin routes for passthrough, interrupts, bindings,
//! capabilities, descriptors and the frame log, over real sockets, and the
//! matching methods of the server handle.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::{ConnectStream, connect_async};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use futures_util::StreamExt;
use relay_connector::AdminError;
use relay_connector::server::ConnectorServer;
use relay_core::UnixTime;
use relay_core::auth::mint_token;
use relay_core::descriptor::CapabilityDescriptor;
use relay_core::wire::{ConnectorFrame, decode_connector_frame};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Ws = WebSocketStream<ConnectStream>;

const GW: &str = "gw";
const SECRET: &str = "secret-1";
const KEY: &str = "agent:main:telegram:group:chat-7:user-3";
const LIMIT: Duration = Duration::from_secs(10);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

async fn start() -> ConnectorServer {
    ConnectorServer::builder()
        .gateway(GW, &[SECRET])
        .gateway("gw-other", &["secret-2"])
        .start()
        .await
        .expect("server starts")
}

async fn serving(server: &ConnectorServer) -> Ws {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let token = mint_token(GW, SECRET, 300, UnixTime::from_secs(secs));
    let mut req = format!("{}/relay", server.url())
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = connect_async(req).await.expect("upgrade accepted");
    ws.send(Message::text(
        "{\"type\": \"hello\", \"platform\": \"telegram\", \"botId\": \"b\"}\n",
    ))
    .await
    .unwrap();
    assert!(matches!(next(&mut ws).await, ConnectorFrame::Descriptor(_)));
    ws
}

async fn next(ws: &mut Ws) -> ConnectorFrame {
    loop {
        match ws.next().await.expect("socket open").expect("a message") {
            Message::Text(t) => {
                return decode_connector_frame(t.as_str().trim_end().as_bytes())
                    .expect("a valid frame");
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
}

async fn post(server: &ConnectorServer, path: &str, body: Value) -> (u16, Value) {
    http(server, "POST", path, body.to_string().as_bytes()).await
}

async fn http(server: &ConnectorServer, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn passthrough_route_delivers_exact_bytes_and_ordered_headers() {
    bounded(async {
        let server = start().await;
        let mut ws = serving(&server).await;
        let body = json!({
            "instance": GW, "platform": "discord", "bot_id": "app-1", "method": "POST",
            "path": "/hook", "headers": [["X-B", "2"], ["X-A", "1"], ["x-b", "3"]],
            "body_b64": "AAEC/w==",
        });
        let (status, reply) = post(&server, "/dev/passthrough", body).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["delivery"], "live");
        match next(&mut ws).await {
            ConnectorFrame::PassthroughForward { forward, buffer_id } => {
                assert_eq!(buffer_id, None);
                assert_eq!(forward.body, vec![0, 1, 2, 255]);
                let names: Vec<_> = forward.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
                assert_eq!(names, ["X-B=2", "X-A=1", "x-b=3"]);
                assert_eq!((forward.platform.as_str(), forward.bot_id.as_str()), ("discord", "app-1"));
                assert_eq!((forward.method.as_str(), forward.path.as_str()), ("POST", "/hook"));
            }
            other => panic!("expected a passthrough_forward, got {other:?}"),
        }
        // Buffered like /dev/inbound when the instance is not connected.
        drop(ws);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, reply) = post(&server, "/dev/passthrough", json!({
            "instance": GW, "platform": "discord", "method": "POST", "path": "/p",
            "headers": [], "body_b64": ""})).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["delivery"], "buffered");
        assert!(reply["buffer_id"].is_string());
        for bad in [
            json!({"platform": "discord", "method": "POST", "path": "/p"}),
            json!({"instance": GW, "platform": "discord", "method": "POST", "path": "/p", "body_b64": "%%%"}),
            json!({"instance": GW, "platform": "discord", "method": "POST", "path": "/p", "headers": [["a"]]}),
        ] {
            let (status, reply) = post(&server, "/dev/passthrough", bad.clone()).await;
            assert_eq!(status, 400, "{bad}: {reply}");
            assert!(reply["error"].is_string());
        }
    })
    .await;
}

#[tokio::test]
async fn bind_interrupt_and_capability_routes() {
    bounded(async {
        let server = start().await;
        let mut ws = serving(&server).await;
        let (status, reply) = post(&server, "/dev/interrupt", json!({"session_key": KEY, "chat_id": "chat-7"})).await;
        assert_eq!(status, 404, "{reply}");
        assert!(reply["error"].is_string());
        let (status, reply) = post(&server, "/dev/bind", json!({"session_key": KEY, "instance": "nobody"})).await;
        assert_eq!(status, 404, "{reply}");
        let (status, reply) = post(&server, "/dev/bind", json!({"session_key": KEY, "instance": GW})).await;
        assert_eq!(status, 200, "{reply}");
        let (status, reply) = post(&server, "/dev/interrupt", json!({"session_key": KEY, "chat_id": "chat-7"})).await;
        assert_eq!(status, 200, "{reply}");
        match next(&mut ws).await {
            ConnectorFrame::InterruptInbound { session_key, chat_id } => {
                assert_eq!((session_key.as_str(), chat_id.as_str()), (KEY, "chat-7"));
            }
            other => panic!("expected interrupt_inbound, got {other:?}"),
        }
        // Gateway -> connector interrupts are routed (back to the owner).
        ws.send(Message::text(format!(
            "{{\"type\": \"interrupt\", \"session_key\": \"{KEY}\", \"reason\": null}}\n"
        )))
        .await
        .unwrap();
        assert!(matches!(next(&mut ws).await, ConnectorFrame::InterruptInbound { .. }));
        assert_eq!(server.stats().await.unwrap().model.interrupts_routed, 1);

        let grant = json!({"session_key": KEY, "instance": GW, "kind": "telegram.cb", "expires_in_secs": 60});
        let (status, reply) = post(&server, "/dev/capability", grant).await;
        assert_eq!(status, 200, "{reply}");
        let follow_up = |id: &str| {
            Message::text(format!(
                "{{\"type\": \"outbound\", \"requestId\": \"{id}\", \"action\": {{\"op\": \"follow_up\", \"session_key\": \"{KEY}\", \"kind\": \"telegram.cb\", \"content\": \"x\", \"metadata\": {{}}}}}}\n"
            ))
        };
        ws.send(follow_up("r1")).await.unwrap();
        let ConnectorFrame::OutboundResult { result, .. } = next(&mut ws).await else {
            panic!("expected a result");
        };
        assert!(result.expect("a result").success);
        let (status, reply) = post(&server, "/dev/capability", json!({"session_key": KEY, "instance": GW, "revoke": true})).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["revoked"], 1);
        ws.send(follow_up("r2")).await.unwrap();
        let ConnectorFrame::OutboundResult { result, .. } = next(&mut ws).await else {
            panic!("expected a result");
        };
        assert!(!result.expect("a result").success);
        for bad in [
            json!({"session_key": KEY, "instance": GW}),
            json!({"session_key": KEY, "instance": GW, "kind": "k", "expires_in_secs": -1}),
            json!({"instance": GW, "kind": "k"}),
        ] {
            let (status, reply) = post(&server, "/dev/capability", bad.clone()).await;
            assert_eq!(status, 400, "{bad}: {reply}");
        }
    })
    .await;
}

#[tokio::test]
async fn descriptor_route_sets_a_platform_descriptor_at_runtime() {
    bounded(async {
        let server = start().await;
        let mut d = CapabilityDescriptor::minimal("telegram");
        d.max_message_length = 1234;
        d.label = "Runtime".into();
        let body = json!({"platform": "telegram", "descriptor": serde_json::to_value(&d).unwrap()});
        let (status, reply) = post(&server, "/dev/descriptor", body).await;
        assert_eq!(status, 200, "{reply}");
        let mut ws = serving(&server).await;
        drop(ws.close(None).await);
        let got = server
            .with_model(|c, _| c.descriptor_for("telegram"))
            .await
            .unwrap();
        assert_eq!(
            (got.max_message_length, got.label.as_str()),
            (1234, "Runtime")
        );
        let (status, _) = post(
            &server,
            "/dev/descriptor",
            json!({"platform": "telegram", "descriptor": {"label": "x"}}),
        )
        .await;
        assert_eq!(status, 400);
        // The handle method does the same.
        let mut d2 = CapabilityDescriptor::minimal("slack");
        d2.max_message_length = 77;
        server.set_descriptor("slack", d2).await.unwrap();
        let got = server
            .with_model(|c, _| c.descriptor_for("slack"))
            .await
            .unwrap();
        assert_eq!(got.max_message_length, 77);
    })
    .await;
}

#[tokio::test]
async fn handle_methods_and_the_frame_log() {
    bounded(async {
        let server = start().await;
        let mut ws = serving(&server).await;
        assert_eq!(
            server.push_interrupt(KEY, "chat-7").await.unwrap(),
            Err(AdminError::NoOwner(KEY.into()))
        );
        server.bind(KEY, GW).await.unwrap().unwrap();
        assert!(server.push_interrupt(KEY, "chat-7").await.unwrap().is_ok());
        assert!(matches!(
            next(&mut ws).await,
            ConnectorFrame::InterruptInbound { .. }
        ));
        server
            .grant_capability(KEY, GW, "k", Some(Duration::from_secs(5)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(server.revoke_capabilities(KEY, GW).await.unwrap(), Ok(1));
        let (status, log) = http(&server, "GET", "/dev/log", b"").await;
        assert_eq!(status, 200);
        let entries = log["entries"].as_array().expect("entries");
        let kinds: Vec<_> = entries
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["direction"].as_str().unwrap(),
                    e["type"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            kinds,
            ["in hello", "out descriptor", "out interrupt_inbound"]
        );
        assert_eq!(
            entries[0]["text"],
            "{\"type\": \"hello\", \"platform\": \"telegram\", \"botId\": \"b\"}"
        );
    })
    .await;
}

/// Sends one `outbound` frame on `ws` and returns the result answered to it.
async fn outbound(ws: &mut Ws, request_id: &str, action: Value) -> Value {
    let frame = json!({"type": "outbound", "requestId": request_id, "action": action});
    ws.send(Message::text(format!("{frame}\n"))).await.unwrap();
    match next(ws).await {
        ConnectorFrame::OutboundResult {
            request_id: id,
            result,
        } => {
            assert_eq!(id, request_id);
            serde_json::to_value(result.expect("a result object")).unwrap()
        }
        other => panic!("expected a result, got {other:?}"),
    }
}

#[tokio::test]
async fn decline_route_declines_a_target() {
    bounded(async {
        let server = start().await;
        let mut ws = serving(&server).await;
        let (status, reply) = post(&server, "/dev/decline", json!({"chat_id": "blocked-1"})).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply, json!({"ok": true, "chat_id": "blocked-1", "declined": true}));
        let send = |chat: &str| json!({"op": "send", "chat_id": chat, "content": "x", "metadata": {}});
        let declined = outbound(&mut ws, "r1", send("blocked-1")).await;
        assert_eq!(
            declined,
            json!({
                "success": false,
                "error": "telegram egress declined: target is not an approved destination for this connection",
                "code": "egress_declined"
            })
        );
        assert_eq!(outbound(&mut ws, "r2", send("fine")).await["success"], true);
        let (_, stats) = http(&server, "GET", "/dev/stats", b"").await;
        assert_eq!(stats["model"]["egress_declined"], 1);

        let (status, reply) = post(&server, "/dev/decline", json!({"platform": "slack"})).await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply["error"].as_str().is_some_and(|e| e.contains("chat_id")));
        let (status, _) = post(&server, "/dev/decline", json!({"chat_id": "x", "platform": 3})).await;
        assert_eq!(status, 400);
    })
    .await;
}

#[tokio::test]
async fn script_route_queues_one_shot_answers() {
    bounded(async {
        let server = start().await;
        let mut ws = serving(&server).await;
        let verbatim = json!({"success": false, "error": "file too large"});
        for (body, queued) in [
            (json!({"op": "send_media", "result": verbatim}), 1),
            (json!({"op": "edit", "delay_ms": 300}), 2),
            (json!({"op": "typing", "silence": true}), 3),
        ] {
            let (status, reply) = post(&server, "/dev/script", body).await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply, json!({"ok": true, "queued": queued}));
        }
        let media = json!({"op": "send_media", "chat_id": "c", "source_url": "u"});
        assert_eq!(outbound(&mut ws, "r1", media.clone()).await, verbatim);
        assert_eq!(
            outbound(&mut ws, "r2", media).await["success"],
            true,
            "used once"
        );
        let t0 = tokio::time::Instant::now();
        let edit = json!({"op": "edit", "chat_id": "c", "message_id": "m", "content": "x"});
        assert_eq!(outbound(&mut ws, "r3", edit).await["success"], true);
        assert!(
            t0.elapsed() >= Duration::from_millis(300),
            "answered after the delay"
        );
        // The silenced typing is never answered: the next answer is the send's.
        let typing = json!({"op": "typing", "chat_id": "c"});
        let frame = json!({"type": "outbound", "requestId": "r4", "action": typing});
        ws.send(Message::text(format!("{frame}\n"))).await.unwrap();
        let send = json!({"op": "send", "chat_id": "c", "content": "x"});
        assert_eq!(outbound(&mut ws, "r5", send).await["success"], true);
        let (_, stats) = http(&server, "GET", "/dev/stats", b"").await;
        assert_eq!(stats["model"]["outbound_unanswered"], 1);

        for bad in [
            json!({}),
            json!({"delay_ms": 5, "silence": true}),
            json!({"delay_ms": -1}),
            json!({"result": "nope"}),
            json!({"silence": false}),
            json!({"op": 7, "silence": true}),
        ] {
            let (status, reply) = post(&server, "/dev/script", bad.clone()).await;
            assert_eq!(status, 400, "{bad} -> {reply}");
        }
    })
    .await;
}
