//! The dev connector server over real sockets on 127.0.0.1.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::{ConnectStream, connect_async};
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_util::StreamExt;
use relay_connector::server::{ConnectorServer, DevServerBuilder};
use relay_connector::{Delivery, RejectMode};
use relay_core::UnixTime;
use relay_core::auth::mint_token;
use relay_core::descriptor::CapabilityDescriptor;
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::wire::{BufferId, ConnectorFrame, GatewayFrame, Hello, decode_connector_frame};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Ws = WebSocketStream<ConnectStream>;

const GW: &str = "gw-1";
const SECRET: &str = "secret-1";
const LIMIT: Duration = Duration::from_secs(10);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

fn wall() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime::from_secs(secs)
}

fn token(gateway: &str, secret: &str) -> String {
    mint_token(gateway, secret, 300, wall())
}

fn builder() -> DevServerBuilder {
    ConnectorServer::builder().gateway(GW, &[SECRET])
}

async fn dial(server: &ConnectorServer, path: &str, token: Option<&str>) -> Result<Ws, WsError> {
    let mut req = format!("{}{path}", server.url()).into_client_request()?;
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    connect_async(req).await.map(|(ws, _)| ws)
}

fn hello(platform: &str) -> Message {
    let frame = GatewayFrame::Hello(Hello {
        platform: platform.into(),
        bot_id: "bot-1".into(),
        command_manifest: None,
    });
    Message::text(frame.to_line())
}

/// The next connector frame (skips control messages); panics on close.
async fn next_frame(ws: &mut Ws) -> ConnectorFrame {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return decode_connector_frame(t.as_bytes()).expect("a connector frame");
            }
            Some(Ok(Message::Close(f))) => panic!("closed: {f:?}"),
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// Reads until the socket ends; returns the close frame's code and reason,
/// or `None` when the link was cut without one.
async fn close_of(ws: &mut Ws) -> Option<(u16, String)> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(f))) => {
                return f.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// Connects as `GW`, says hello, reads the descriptor.
async fn serving(server: &ConnectorServer) -> Ws {
    let mut ws = dial(server, "/relay", Some(&token(GW, SECRET)))
        .await
        .expect("upgrade accepted");
    ws.send(hello("telegram")).await.unwrap();
    match next_frame(&mut ws).await {
        ConnectorFrame::Descriptor(d) => assert_eq!(d.platform, "telegram"),
        other => panic!("expected a descriptor, got {other:?}"),
    }
    ws
}

fn event(chat: &str, text: &str) -> MessageEvent {
    MessageEvent {
        text: text.into(),
        source: SessionSource {
            platform: "telegram".into(),
            chat_id: chat.into(),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}

/// A raw HTTP/1.1 request; returns the status and the body.
async fn http(
    server: &ConnectorServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.local_addr(),
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // A refused body may be cut short by the server; that is fine.
    let _ = stream.write_all(body).await;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn hello_is_answered_with_the_configured_descriptor() {
    bounded(async {
        let mut custom = CapabilityDescriptor::minimal("telegram");
        custom.label = "Telegram (dev)".into();
        let server = builder()
            .descriptor("telegram", custom)
            .start()
            .await
            .unwrap();
        assert!(server.url().starts_with("ws://127.0.0.1:"));
        let mut ws = dial(&server, "/relay", Some(&token(GW, SECRET)))
            .await
            .unwrap();
        ws.send(hello("telegram")).await.unwrap();
        match next_frame(&mut ws).await {
            ConnectorFrame::Descriptor(d) => assert_eq!(d.label, "Telegram (dev)"),
            other => panic!("expected a descriptor, got {other:?}"),
        }
        let stats = server.stats().await.unwrap();
        assert_eq!(stats.upgrades_attempted, 1);
        assert_eq!(stats.upgrades_accepted, 1);
        assert_eq!(stats.sockets_open, 1);
        assert_eq!(stats.model.hellos, 1);
        assert_eq!(server.sessions().await.unwrap().len(), 1);
        assert_eq!(server.upgrade_count(), 1);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn bad_secret_gets_a_4401_close_frame() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = dial(&server, "/relay", Some(&token(GW, "wrong")))
            .await
            .unwrap();
        assert_eq!(close_of(&mut ws).await, Some((4401, "unauthorized".into())));
        let mut ws = dial(&server, "/relay", None).await.unwrap();
        assert_eq!(close_of(&mut ws).await, Some((4401, "unauthorized".into())));
        let stats = server.stats().await.unwrap();
        assert_eq!(stats.model.closes_4401, 2);
        assert_eq!(stats.sessions, 0);
    })
    .await;
}

#[tokio::test]
async fn http_reject_modes_refuse_the_upgrade() {
    bounded(async {
        let server = builder()
            .reject_mode(RejectMode::HttpRevokedGone)
            .start()
            .await
            .unwrap();
        match dial(&server, "/relay", Some(&token(GW, "wrong"))).await {
            Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 401),
            other => panic!("expected HTTP 401, got {:?}", other.map(|_| ())),
        }
        server.revoke(GW).await.unwrap();
        match dial(&server, "/relay", Some(&token(GW, SECRET))).await {
            Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 410),
            other => panic!("expected HTTP 410, got {:?}", other.map(|_| ())),
        }
        let stats = server.stats().await.unwrap();
        assert_eq!(stats.upgrades_rejected, 2);
        assert_eq!(server.upgrade_count(), 2);
    })
    .await;
}

#[tokio::test]
async fn upgrade_on_another_path_is_400() {
    bounded(async {
        let server = builder().start().await.unwrap();
        match dial(&server, "/elsewhere", Some(&token(GW, SECRET))).await {
            Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 400),
            other => panic!("expected HTTP 400, got {:?}", other.map(|_| ())),
        }
        // The trailing slash form of /relay is still the relay.
        let ws = dial(&server, "/relay/", Some(&token(GW, SECRET))).await;
        assert!(ws.is_ok());
    })
    .await;
}

#[tokio::test]
async fn deliver_arrives_live_and_buffered_items_survive_a_restart() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        let d = server.deliver(GW, event("chat-1", "hi")).await.unwrap();
        assert!(matches!(d, Delivery::Live(_)));
        match next_frame(&mut ws).await {
            ConnectorFrame::Inbound { event, buffer_id } => {
                assert_eq!(event.text, "hi");
                assert_eq!(event.source.chat_id, "chat-1");
                assert_eq!(buffer_id, None);
            }
            other => panic!("expected inbound, got {other:?}"),
        }

        // Restart: the socket is cut without a close frame.
        assert_eq!(server.restart().await.unwrap(), 1);
        assert_eq!(close_of(&mut ws).await, None);
        assert!(server.sessions().await.unwrap().is_empty());

        // Delivered while disconnected: buffered, then drained on reconnect.
        let d = server.deliver(GW, event("chat-1", "later")).await.unwrap();
        assert_eq!(d, Delivery::Buffered(BufferId("buf-1".into())));
        assert_eq!(server.buffer_len(GW).await.unwrap(), 1);
        let mut ws = serving(&server).await;
        match next_frame(&mut ws).await {
            ConnectorFrame::Inbound { event, buffer_id } => {
                assert_eq!(event.text, "later");
                assert_eq!(buffer_id, Some(BufferId("buf-1".into())));
            }
            other => panic!("expected inbound, got {other:?}"),
        }
        let ack = GatewayFrame::InboundAck {
            buffer_id: BufferId("buf-1".into()),
        };
        ws.send(Message::text(ack.to_line())).await.unwrap();
        // The ack is handled once a later call has gone through the model.
        let mut left = 1;
        for _ in 0..50 {
            left = server.buffer_len(GW).await.unwrap();
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(left, 0);
    })
    .await;
}

#[tokio::test]
async fn drop_connections_cuts_without_a_close_frame() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        assert_eq!(server.drop_connections().await.unwrap(), 1);
        assert_eq!(close_of(&mut ws).await, None);
        assert!(server.sessions().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_newer_session_supersedes_the_older() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut first = serving(&server).await;
        let _second = serving(&server).await;
        assert_eq!(
            close_of(&mut first).await,
            Some((1000, "superseded".into()))
        );
    })
    .await;
}

#[tokio::test]
async fn revoke_closes_the_live_socket_with_4401() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        server.revoke(GW).await.unwrap();
        assert_eq!(close_of(&mut ws).await, Some((4401, "unauthorized".into())));
        // Later dials are refused too.
        let mut ws = dial(&server, "/relay", Some(&token(GW, SECRET)))
            .await
            .unwrap();
        assert_eq!(close_of(&mut ws).await, Some((4401, "unauthorized".into())));
    })
    .await;
}

#[tokio::test]
async fn send_raw_injects_a_frame_verbatim() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        assert!(server.send_raw(GW, "not json\n").await.unwrap());
        match ws.next().await {
            Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "not json\n"),
            other => panic!("expected the raw text, got {other:?}"),
        }
        let session = server.sessions().await.unwrap()[0];
        let big = "x".repeat(200_000);
        assert!(server.send_raw(session, big.clone()).await.unwrap());
        match ws.next().await {
            Some(Ok(Message::Text(t))) => assert_eq!(t.len(), big.len()),
            other => panic!("expected the raw text, got {other:?}"),
        }
        assert!(!server.send_raw("nobody", "x").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn garbage_from_the_gateway_is_counted_not_fatal() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        ws.send(Message::text("{not json\n")).await.unwrap();
        ws.send(Message::binary(b"\xff\xfe\n".to_vec()))
            .await
            .unwrap();
        ws.send(hello("discord")).await.unwrap();
        assert!(matches!(
            next_frame(&mut ws).await,
            ConnectorFrame::Descriptor(_)
        ));
        assert_eq!(server.stats().await.unwrap().model.bad_frames, 2);
    })
    .await;
}

#[tokio::test]
async fn admin_api_delivers_revokes_and_reports() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;

        let body = br#"{"instance":"gw-1","event":{"chat_id":"c-9","text":"from admin","platform":"telegram"}}"#;
        let (status, reply) = http(&server, "POST", "/dev/inbound", &[], body).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(json(&reply)["delivery"], "live");
        match next_frame(&mut ws).await {
            ConnectorFrame::Inbound { event, .. } => {
                assert_eq!(event.text, "from admin");
                assert_eq!(event.source.chat_id, "c-9");
            }
            other => panic!("expected inbound, got {other:?}"),
        }

        // A full MessageEvent works too.
        let full = br#"{"instance":"gw-1","event":{"text":"full","source":{"platform":"telegram","chat_id":"c-1"}}}"#;
        let (status, reply) = http(&server, "POST", "/dev/inbound", &[], full).await;
        assert_eq!(status, 200, "{reply}");
        assert!(matches!(next_frame(&mut ws).await, ConnectorFrame::Inbound { .. }));

        let (status, reply) = http(&server, "GET", "/dev/stats", &[], b"").await;
        assert_eq!(status, 200);
        let stats = json(&reply);
        assert_eq!(stats["sockets_open"], 1);
        assert_eq!(stats["model"]["delivered_live"], 2);

        let (status, _) = http(&server, "POST", "/dev/revoke", &[], br#"{"gateway_id":"gw-1"}"#).await;
        assert_eq!(status, 200);
        assert_eq!(close_of(&mut ws).await, Some((4401, "unauthorized".into())));
    })
    .await;
}

#[tokio::test]
async fn admin_api_refuses_bad_input() {
    bounded(async {
        let server = builder().max_body_bytes(1024).start().await.unwrap();
        let cases: [(&str, &str, &[u8], u16); 9] = [
            ("POST", "/dev/inbound", b"{nope", 400),
            ("POST", "/dev/inbound", b"[1,2]", 400),
            ("POST", "/dev/inbound", br#"{"event":{"chat_id":"c"}}"#, 400),
            ("POST", "/dev/inbound", br#"{"instance":"gw-1"}"#, 400),
            (
                "POST",
                "/dev/inbound",
                br#"{"instance":"gw-1","event":{"text":5,"chat_id":"c"}}"#,
                400,
            ),
            ("POST", "/dev/revoke", br#"{"gateway_id":""}"#, 400),
            ("GET", "/dev/inbound", b"", 405),
            ("GET", "/nowhere", b"", 404),
            ("GET", "/relay", b"", 400),
        ];
        for (method, path, body, want) in cases {
            let (status, reply) = http(&server, method, path, &[], body).await;
            assert_eq!(status, want, "{method} {path}: {reply}");
            assert!(json(&reply)["error"].is_string(), "{reply}");
        }
        let big = vec![b' '; 4096];
        let (status, _) = http(&server, "POST", "/dev/inbound", &[], &big).await;
        assert_eq!(status, 413);
        // Still serving afterwards.
        let (status, _) = http(&server, "GET", "/dev/stats", &[], b"").await;
        assert_eq!(status, 200);
    })
    .await;
}

#[tokio::test]
async fn provision_then_dial_with_the_issued_secret() {
    bounded(async {
        let server = ConnectorServer::builder().start().await.unwrap();
        let body = br#"{"gatewayId":"gw-new","platform":"telegram","botId":"b1","routeKeys":[],"gatewayEndpoint":""}"#;
        let (status, reply) = http(
            &server,
            "POST",
            "/relay/provision",
            &[("Authorization", "Bearer identity"), ("Content-Type", "application/json")],
            body,
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        let secret = json(&reply)["secret"].as_str().unwrap().to_owned();
        let mut ws = dial(&server, "/relay", Some(&token("gw-new", &secret))).await.unwrap();
        ws.send(hello("telegram")).await.unwrap();
        assert!(matches!(next_frame(&mut ws).await, ConnectorFrame::Descriptor(_)));

        let (status, _) = http(&server, "POST", "/relay/provision", &[], body).await;
        assert_eq!(status, 401);
    })
    .await;
}

#[tokio::test]
async fn going_idle_then_deliver_sends_a_wake_poke() {
    bounded(async {
        let wake = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wake?k=1", wake.local_addr().unwrap());
        let server = builder().wake_url(GW, &url).start().await.unwrap();
        let mut ws = serving(&server).await;
        ws.send(Message::text(GatewayFrame::GoingIdle.to_line()))
            .await
            .unwrap();
        assert!(matches!(
            next_frame(&mut ws).await,
            ConnectorFrame::GoingIdleAck
        ));
        let d = server.deliver(GW, event("c", "wake up")).await.unwrap();
        assert!(matches!(d, Delivery::Buffered(_)));

        let (mut conn, _) = wake.accept().await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = conn.read(&mut buf).await.unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(
            request.starts_with("GET /wake?k=1 HTTP/1.1\r\n"),
            "{request}"
        );
        conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        let mut sent = 0;
        for _ in 0..50 {
            sent = server.stats().await.unwrap().wake_pokes_sent;
            if sent == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(sent, 1);
    })
    .await;
}

#[tokio::test]
async fn a_wake_poke_that_cannot_be_sent_is_counted_as_failed() {
    bounded(async {
        // Only http:// wake URLs are supported: this poke fails at once.
        let server = builder()
            .wake_url(GW, "https://127.0.0.1:9/wake")
            .start()
            .await
            .unwrap();
        let mut ws = serving(&server).await;
        ws.send(Message::text(GatewayFrame::GoingIdle.to_line()))
            .await
            .unwrap();
        assert!(matches!(
            next_frame(&mut ws).await,
            ConnectorFrame::GoingIdleAck
        ));
        let d = server.deliver(GW, event("c", "wake up")).await.unwrap();
        assert!(matches!(d, Delivery::Buffered(_)));
        let mut stats = server.stats().await.unwrap();
        for _ in 0..50 {
            if stats.wake_pokes_failed == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            stats = server.stats().await.unwrap();
        }
        assert_eq!((stats.wake_pokes_failed, stats.wake_pokes_sent), (1, 0));
        assert_eq!(stats.model.wake_pokes, 1);
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_live_sockets_with_1001() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let addr = server.local_addr();
        let mut ws = serving(&server).await;
        server.shutdown().await;
        assert_eq!(close_of(&mut ws).await, Some((1001, "shutdown".into())));
        assert!(TcpStream::connect(addr).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn pings_are_answered() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        ws.send(Message::Ping(b"p-1".to_vec().into()))
            .await
            .unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Pong(p))) => {
                    assert_eq!(&p[..], b"p-1");
                    break;
                }
                Some(Ok(_)) => {}
                other => panic!("expected a pong, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn passthrough_and_setup_reach_the_model() {
    bounded(async {
        let server = builder()
            .require_auth(false)
            .setup(|c| c.add_enrollment_token("enroll-1", "default"))
            .start()
            .await
            .unwrap();
        let mut ws = serving(&server).await;
        let forward = relay_core::wire::PassthroughForward {
            platform: "telegram".into(),
            method: "POST".into(),
            path: "/hook".into(),
            body: b"{}".to_vec(),
            ..Default::default()
        };
        let d = server.deliver_passthrough(GW, forward).await.unwrap();
        assert!(matches!(d, Delivery::Live(_)));
        match next_frame(&mut ws).await {
            ConnectorFrame::PassthroughForward { forward, .. } => assert_eq!(forward.path, "/hook"),
            other => panic!("expected a passthrough, got {other:?}"),
        }
        // Without credentials (require_auth off): the anonymous instance.
        let mut anon = dial(&server, "/relay", None).await.unwrap();
        anon.send(hello("slack")).await.unwrap();
        assert!(matches!(
            next_frame(&mut anon).await,
            ConnectorFrame::Descriptor(_)
        ));
        let instances = server
            .with_model(|c, _| {
                c.sessions()
                    .into_iter()
                    .filter_map(|s| c.instance_of(s).map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap();
        assert_eq!(instances, vec![GW.to_owned(), String::new()]);
        // The setup step ran: the enrollment token is redeemable.
        let (status, reply) = http(
            &server,
            "POST",
            "/relay/enroll",
            &[("Authorization", "Bearer me")],
            br#"{"enrollmentToken":"enroll-1","gatewayId":"gw-2"}"#,
        )
        .await;
        assert_eq!(status, 200, "{reply}");
    })
    .await;
}

#[tokio::test]
async fn policy_is_authenticated_with_an_upgrade_token() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let body = br#"{"platform":"telegram","requireAddress":true,"freeResponseScopes":[],"allowOtherBots":false}"#;
        let bearer = format!("Bearer {}", token(GW, SECRET));
        let (status, reply) =
            http(&server, "POST", "/relay/policy", &[("Authorization", &bearer)], body).await;
        assert_eq!(status, 200, "{reply}");
        let stored = server
            .with_model(|c, _| c.policy(GW, "telegram").map(|p| p.require_address))
            .await
            .unwrap();
        assert_eq!(stored, Some(true));
        let bad = format!("Bearer {}", token(GW, "wrong"));
        let (status, _) =
            http(&server, "POST", "/relay/policy", &[("Authorization", &bad)], body).await;
        assert_eq!(status, 401);
    })
    .await;
}

#[tokio::test]
async fn a_wildcard_bind_is_dialed_on_loopback() {
    bounded(async {
        let server = builder()
            .bind("0.0.0.0:0".parse().unwrap())
            .start()
            .await
            .unwrap();
        assert!(server.local_addr().ip().is_unspecified());
        assert!(server.url().starts_with("ws://127.0.0.1:"));
        let _ws = serving(&server).await;
    })
    .await;
}

#[tokio::test]
async fn malformed_handshakes_are_400() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade")];
        // No key, no version.
        let (status, reply) = http(&server, "GET", "/relay", &upgrade, b"").await;
        assert_eq!(status, 400, "{reply}");
        // Not a GET.
        let full = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ];
        let (status, _) = http(&server, "POST", "/relay", &full, b"").await;
        assert_eq!(status, 400);
        // On another path, even when well formed.
        let (status, _) = http(&server, "GET", "/relay/provision", &full, b"").await;
        assert_eq!(status, 400);
        assert_eq!(server.stats().await.unwrap().upgrades_rejected, 2);
        // Management bodies are bounded too.
        let small = ConnectorServer::builder()
            .max_body_bytes(16)
            .start()
            .await
            .unwrap();
        let (status, _) = http(&small, "POST", "/relay/provision", &[], &[b' '; 64]).await;
        assert_eq!(status, 413);
    })
    .await;
}

#[tokio::test]
async fn a_gateway_close_is_answered_and_ends_the_session() {
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        ws.close(None).await.unwrap();
        // The server answers the closing handshake, then the stream ends.
        while let Some(Ok(_)) = ws.next().await {}
        let mut sessions = 1;
        for _ in 0..50 {
            sessions = server.sessions().await.unwrap().len();
            if sessions == 0 && server.sockets_open() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(sessions, 0);
        assert_eq!(server.sockets_open(), 0);
    })
    .await;
}

/// A burst larger than a socket's queue (`DevServerConfig::socket_queue`,
/// 1,024) for a gateway that reads: the model waits for room instead of
/// treating a healthy socket as gone, so every live delivery arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_socket_queue_waits_for_a_reading_gateway() {
    const BURST: usize = 5_000;
    bounded(async {
        let server = builder().start().await.unwrap();
        let mut ws = serving(&server).await;
        let sent = server
            .with_model(|c, now| {
                let session = c.sessions().last().copied().expect("a session");
                let instance = c.instance_of(session).expect("its instance").to_owned();
                (0..BURST)
                    .filter(|i| {
                        let e = event("chat-1", &format!("m{i}"));
                        matches!(c.deliver(&instance, e, now), Delivery::Live(_))
                    })
                    .count()
            })
            .await
            .unwrap();
        assert_eq!(sent, BURST, "every item was delivered live");
        for i in 0..BURST {
            match next_frame(&mut ws).await {
                ConnectorFrame::Inbound { event, buffer_id } => {
                    assert_eq!(event.text, format!("m{i}"));
                    assert_eq!(buffer_id, None);
                }
                other => panic!("expected inbound {i}, got {other:?}"),
            }
        }
        let stats = server.stats().await.unwrap();
        assert_eq!(stats.sockets_cut_queue_full, 0);
    })
    .await;
}
