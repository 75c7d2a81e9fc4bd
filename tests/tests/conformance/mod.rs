//! The driver conformance suite, written once against the driver API
//! (`RelayHandle` + `Events` from the shared engine) and run against every
//! driver: `conformance_tokio.rs` and `conformance_smol.rs` each supply a
//! [`Harness`] and call every scenario.
//!
//! Each scenario runs a real client over real sockets on 127.0.0.1 against
//! the dev connector server (always on tokio), with short protocol timers,
//! and bounds every wait.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_connector::{ConnectorConfig, ScriptedResponder};
use relay_core::State;
use relay_core::config::{IdleMode, RelayConfig, Timeouts};
use relay_core::connection::RequestError;
use relay_core::message::{ChatType, MessageEvent, SessionSource};
use relay_core::wire::PassthroughForward;
use relay_core::{Event, connection::DeliveryHandle};
use relay_engine::{
    ClientError, ClientOptions, Events, InlineClient, RelayClient, RelayHandle, Runtime,
};

mod parity;
pub use parity::*;

pub const GATEWAY: &str = "gw-conformance";
pub const SECRET: &str = "conformance-secret";

/// What a driver under test provides.
pub struct Harness {
    /// The runtime the client runs on.
    pub runtime: Arc<dyn Runtime>,
    /// A tokio runtime for the dev connector server.
    pub server_runtime: tokio::runtime::Handle,
}

impl Harness {
    /// Starts a dev connector on the server runtime.
    pub async fn server(
        &self,
        setup: impl FnOnce(&mut ConnectorConfig) + Send + 'static,
    ) -> ConnectorServer {
        let task = self.server_runtime.spawn(async move {
            let mut config = ConnectorConfig::default();
            setup(&mut config);
            ConnectorServer::builder()
                .connector_config(config)
                .gateway(GATEWAY, &[SECRET])
                .start()
                .await
        });
        task.await.expect("server task").expect("server starts")
    }

    /// Starts the client under test.
    pub fn client(&self, config: RelayConfig) -> (RelayHandle, Events) {
        let options = ClientOptions {
            dial_timeout: Duration::from_secs(5),
            seed: Some(7),
            ..ClientOptions::default()
        };
        RelayClient::start_on(self.runtime.clone(), config, options)
    }

    /// Starts an inline client under test (driven by the test's task).
    pub fn inline_client(&self, config: RelayConfig) -> InlineClient {
        let options = ClientOptions {
            dial_timeout: Duration::from_secs(5),
            seed: Some(7),
            ..ClientOptions::default()
        };
        RelayClient::inline_on(self.runtime.clone(), config, options)
    }

    /// `fut`, or a panic naming `what` after `secs`.
    pub async fn within<T>(&self, secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
        let deadline = self.runtime.now().saturating_add(Duration::from_secs(secs));
        let sleep = self.runtime.sleep_until(deadline);
        futures_util::pin_mut!(fut);
        match futures_util::future::select(fut, sleep).await {
            futures_util::future::Either::Left((value, _)) => value,
            futures_util::future::Either::Right(_) => panic!("timed out after {secs} s: {what}"),
        }
    }

    /// Sleeps for `millis` on the client's runtime.
    pub async fn pause(&self, millis: u64) {
        let at = self
            .runtime
            .now()
            .saturating_add(Duration::from_millis(millis));
        self.runtime.sleep_until(at).await;
    }

    /// Waits until the client has sent `n` requests.
    pub async fn requests_sent(&self, handle: &RelayHandle, n: u64) {
        self.within(10, "requests sent", async {
            while handle.stats().await.map_or(0, |s| s.requests_sent) < n {
                self.pause(5).await;
            }
        })
        .await;
    }

    /// The next event matching `pred` (others are skipped).
    pub async fn expect(
        &self,
        events: &mut Events,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Event {
        self.within(10, what, async {
            loop {
                match events.next_event().await {
                    Some(event) if pred(&event) => return event,
                    Some(_) => {}
                    None => panic!("event stream ended while waiting for {what}"),
                }
            }
        })
        .await
    }

    /// Waits for the client to reach `state`.
    pub async fn expect_state(&self, events: &mut Events, state: State) {
        self.expect(
            events,
            &format!("state {state}"),
            |e| matches!(e, Event::StateChanged { to, .. } if *to == state),
        )
        .await;
    }
}

/// A gateway config against `server` with short timers, fronting `platforms`.
pub fn gateway_config(server: &ConnectorServer, platforms: &[&str], secret: &str) -> RelayConfig {
    let mut builder = RelayConfig::builder(server.url())
        .gateway_id(GATEWAY)
        .secret(secret)
        .timeouts(Timeouts {
            handshake: Duration::from_secs(3),
            request: Duration::from_secs(5),
            idle_ack: Duration::from_secs(3),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            shutdown_drain: Duration::from_millis(1_500),
            ..Timeouts::default()
        });
    for platform in platforms {
        builder = builder.identity(*platform, format!("{platform}-bot"));
    }
    builder.build().expect("valid config")
}

fn message(chat: &str, text: &str) -> MessageEvent {
    MessageEvent {
        text: text.to_owned(),
        source: SessionSource {
            platform: "telegram".into(),
            chat_id: chat.into(),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}

/// Connects a default client and waits until it serves.
async fn serving(h: &Harness, server: &ConnectorServer) -> (RelayHandle, Events) {
    let (handle, mut events) = h.client(gateway_config(server, &["telegram"], SECRET));
    h.expect_state(&mut events, State::Serving).await;
    (handle, events)
}

// ---------------------------------------------------------------------------
// Scenarios

/// Handshake with two platforms: one hello each, a descriptor each, Serving.
pub async fn handshake_two_platforms(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = h.client(gateway_config(&server, &["telegram", "discord"], SECRET));
    let mut descriptors = Vec::new();
    let mut serving = false;
    h.within(10, "two descriptors and serving", async {
        while descriptors.len() < 2 || !serving {
            match events.next_event().await {
                Some(Event::Descriptor(d)) => descriptors.push(d.platform.clone()),
                Some(Event::StateChanged {
                    to: State::Serving, ..
                }) => serving = true,
                Some(_) => {}
                None => panic!("stream ended"),
            }
        }
    })
    .await;
    descriptors.sort();
    assert_eq!(descriptors, ["discord", "telegram"]);
    assert_eq!(handle.state().await, Ok(State::Serving));
    let sessions = server.sessions().await.expect("server up");
    assert_eq!(sessions.len(), 1);
    let hellos = server
        .with_model(move |c, _| {
            c.hellos(sessions[0])
                .iter()
                .map(|h| h.platform.clone())
                .collect::<Vec<_>>()
        })
        .await
        .expect("server up");
    assert_eq!(hellos, ["telegram", "discord"]);
    handle.shutdown().await;
}

/// A request is answered with its own result.
pub async fn request_result(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, _events) = serving(h, &server).await;
    let result = h
        .within(10, "send result", handle.send_text("chat-1", "hello"))
        .await;
    let result = result.expect("request succeeds");
    assert!(result.success, "{result:?}");
    assert!(result.message_id.is_some(), "{result:?}");
    let info = h.within(10, "chat info", handle.chat_info("chat-1")).await;
    assert!(info.expect("chat info").success);
    let stats = server.stats().await.expect("server up");
    assert!(
        stats.to_json()["model"].to_string().contains("outbound"),
        "{:?}",
        stats.to_json()
    );
    handle.shutdown().await;
}

/// Inbound live, and an interrupt each way: the gateway's interrupt is routed
/// by the connector back to the session's owner (this gateway).
pub async fn inbound_and_interrupts(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    server
        .deliver(GATEWAY, message("chat-9", "ping"))
        .await
        .expect("server up");
    let inbound = h
        .expect(&mut events, "inbound", |e| {
            matches!(e, Event::Inbound { .. })
        })
        .await;
    let Event::Inbound { event, delivery } = inbound else {
        unreachable!()
    };
    assert_eq!(event.text, "ping");
    assert!(delivery.is_none(), "a live delivery has no ack handle");

    let key = "agent:main:telegram:dm:chat-9";
    server
        .with_model(move |c, _| {
            // A gateway registered without a tenant is its own tenant.
            let tenant = c.gateway_tenant(GATEWAY).unwrap_or_default().to_owned();
            c.bind_session(key, GATEWAY, &tenant)
        })
        .await
        .expect("server up");
    h.within(5, "interrupt", handle.interrupt(key, Some("stop".into())))
        .await
        .expect("interrupt sent");
    let got = h
        .expect(&mut events, "interrupt inbound", |e| {
            matches!(e, Event::Interrupt { .. })
        })
        .await;
    assert_eq!(
        got,
        Event::Interrupt {
            session_key: key.to_owned(),
            chat_id: "chat-9".to_owned()
        }
    );
    handle.shutdown().await;
}

/// Passthrough bodies arrive byte for byte.
pub async fn passthrough_bytes(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    let body: Vec<u8> = (0..=255u8).collect();
    let forward = PassthroughForward {
        platform: "telegram".into(),
        bot_id: "telegram-bot".into(),
        method: "POST".into(),
        path: "/webhook".into(),
        headers: vec![("x-test".into(), "1".into())],
        body: body.clone(),
        ..PassthroughForward::default()
    };
    server
        .deliver_passthrough(GATEWAY, forward)
        .await
        .expect("server up");
    let got = h
        .expect(&mut events, "passthrough", |e| {
            matches!(e, Event::Passthrough { .. })
        })
        .await;
    let Event::Passthrough { forward, .. } = got else {
        unreachable!()
    };
    assert_eq!(forward.body, body);
    assert_eq!(forward.path, "/webhook");
    handle.shutdown().await;
}

/// Go idle, three items buffered, wake, drain: each handed over once and
/// acked once, and the buffer ends empty.
pub async fn idle_buffer_wake_drain(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    handle.go_idle_with(IdleMode::Close).await.expect("go idle");
    h.expect_state(&mut events, State::Buffered).await;
    for i in 0..3 {
        server
            .deliver(GATEWAY, message("chat-b", &format!("buffered {i}")))
            .await
            .expect("server up");
    }
    assert_eq!(server.buffer_len(GATEWAY).await, Ok(3));
    handle.wake().await.expect("wake");
    let mut seen: Vec<(String, DeliveryHandle)> = Vec::new();
    h.within(10, "three buffered deliveries", async {
        while seen.len() < 3 {
            if let Some(Event::Inbound { event, delivery }) = events.next_event().await {
                let delivery = delivery.expect("a buffered delivery carries an ack handle");
                assert!(!seen.iter().any(|(_, d)| d == &delivery), "delivered twice");
                seen.push((event.text.clone(), delivery.clone()));
                handle.ack(delivery).await.expect("ack");
            }
        }
    })
    .await;
    let texts: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, ["buffered 0", "buffered 1", "buffered 2"]);
    h.within(5, "buffer drained", async {
        while server.buffer_len(GATEWAY).await != Ok(0) {
            h.pause(20).await;
        }
    })
    .await;
    assert_eq!(
        handle
            .ack(seen[0].1.clone())
            .await
            .map_err(|e| matches!(e, ClientError::Command(_))),
        Err(true)
    );
    handle.shutdown().await;
}

/// The reference's `go_idle()`: after the ack the socket stays open while
/// the connector buffers; requests still work; `wake()` closes it, re-dials
/// and drains.
pub async fn idle_keep_holds_the_socket(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    handle.go_idle_with(IdleMode::Keep).await.expect("go idle");
    h.expect_state(&mut events, State::Buffered).await;
    server
        .deliver(GATEWAY, message("chat-k", "kept"))
        .await
        .expect("server up");
    assert_eq!(server.buffer_len(GATEWAY).await, Ok(1));
    assert_eq!(server.sockets_open(), 1, "the socket is kept");
    let result = h
        .within(
            5,
            "a send on the kept socket",
            handle.send_text("chat-k", "still here"),
        )
        .await
        .expect("sent");
    assert!(result.success);
    let upgrades = server.upgrade_count();
    handle.wake().await.expect("wake");
    let delivery = h
        .within(10, "the buffered item", async {
            loop {
                if let Some(Event::Inbound { event, delivery }) = events.next_event().await {
                    assert_eq!(event.text, "kept");
                    return delivery.expect("buffered");
                }
            }
        })
        .await;
    handle.ack(delivery).await.expect("ack");
    assert_eq!(server.upgrade_count(), upgrades + 1, "one re-dial");
    h.within(5, "buffer drained", async {
        while server.buffer_len(GATEWAY).await != Ok(0) {
            h.pause(20).await;
        }
    })
    .await;
    handle.shutdown().await;
}

/// The default without a wake URL is dormant: after the ack the socket
/// closes and the link re-dials by itself on the cadence, so the buffer
/// drains with no wake at all.
pub async fn idle_dormant_redials_without_a_wake(h: &Harness) {
    let server = h.server(|_| {}).await;
    let mut config = gateway_config(&server, &["telegram"], SECRET);
    config.timeouts.dormant_redial = Some(Duration::from_millis(300));
    assert_eq!(config.wake_url, None);
    let (handle, mut events) = h.client(config);
    h.expect_state(&mut events, State::Serving).await;
    handle.go_idle().await.expect("go idle");
    h.expect_state(&mut events, State::Buffered).await;
    server
        .deliver(GATEWAY, message("chat-d", "while dormant"))
        .await
        .expect("server up");
    let delivery = h
        .within(10, "the buffered item after the dormant re-dial", async {
            loop {
                if let Some(Event::Inbound { event, delivery }) = events.next_event().await {
                    assert_eq!(event.text, "while dormant");
                    return delivery.expect("buffered");
                }
            }
        })
        .await;
    handle.ack(delivery).await.expect("ack");
    h.within(5, "buffer drained", async {
        while server.buffer_len(GATEWAY).await != Ok(0) {
            h.pause(20).await;
        }
    })
    .await;
    handle.shutdown().await;
}

/// 4401 after a handshake: one confirming re-dial, then Revoked and no
/// further dials.
pub async fn revoked_after_handshake(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    let before = server.upgrade_count();
    server.revoke(GATEWAY).await.expect("server up");
    h.expect(&mut events, "revoked", |e| matches!(e, Event::Revoked))
        .await;
    h.pause(500).await;
    assert_eq!(
        server.upgrade_count(),
        before + 1,
        "exactly one confirming re-dial"
    );
    assert!(matches!(
        handle.state().await,
        Ok(State::Revoked) | Err(ClientError::Stopped)
    ));
    // The event stream ends: the client has stopped for good.
    h.within(5, "stream end", async {
        while events.next_event().await.is_some() {}
    })
    .await;
}

/// 4401 before any handshake is retried with backoff, never terminal.
pub async fn unauthorized_before_handshake_retries(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = h.client(gateway_config(&server, &["telegram"], "wrong-secret"));
    h.within(10, "three refused dials", async {
        while server.upgrade_count() < 3 {
            h.pause(20).await;
        }
    })
    .await;
    assert_eq!(handle.state().await, Ok(State::Dialing));
    // Drain what arrived: no revocation among it.
    while let Some(Some(event)) = futures_util::FutureExt::now_or_never(events.next_event()) {
        assert_ne!(event, Event::Revoked);
    }
    handle.shutdown().await;
}

/// An abrupt TCP drop while a request is in flight fails it at once, and the
/// client reconnects.
pub async fn abrupt_drop_fails_request(h: &Harness) {
    let server = h
        .server(|c| {
            let _ = c;
        })
        .await;
    server
        .with_model(|c, _| {
            let mut responder = ScriptedResponder::new();
            responder.silence(Some("send"));
            c.set_responder(Box::new(responder));
        })
        .await
        .expect("server up");
    let (handle, mut events) = serving(h, &server).await;
    let pending = {
        let handle = handle.clone();
        async move { handle.send_text("chat-x", "never answered").await }
    };
    let started = std::time::Instant::now();
    let (result, ()) = futures_util::future::join(pending, async {
        h.requests_sent(&handle, 1).await;
        server.drop_connections().await.expect("server up");
    })
    .await;
    assert_eq!(
        result,
        Err(ClientError::Failed(RequestError::ConnectionLost))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "failed at once, not at the deadline"
    );
    h.expect(&mut events, "disconnect", |e| {
        matches!(e, Event::Disconnected { code: None, .. })
    })
    .await;
    h.expect_state(&mut events, State::Serving).await;
    handle.shutdown().await;
}

/// A connector restart drops the socket; the client comes back with backoff.
pub async fn connector_restart_reconnects(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    let before = server.upgrade_count();
    server.restart().await.expect("server up");
    h.expect(&mut events, "re-dial scheduled", |e| {
        matches!(e, Event::DialScheduled { .. })
    })
    .await;
    h.expect_state(&mut events, State::Serving).await;
    assert!(server.upgrade_count() > before);
    let result = h
        .within(10, "send after restart", handle.send_text("chat-1", "back"))
        .await;
    assert!(result.expect("request succeeds").success);
    handle.shutdown().await;
}

/// A line over the frame limit is rejected, the socket is replaced, and the
/// link serves again.
pub async fn oversized_frame_rejected(h: &Harness) {
    let server = h.server(|_| {}).await;
    let mut config = gateway_config(&server, &["telegram"], SECRET);
    config.limits.max_frame_bytes = 4096;
    let (handle, mut events) = h.client(config);
    h.expect_state(&mut events, State::Serving).await;
    let huge = format!(
        "{{\"type\":\"inbound\",\"event\":{{\"text\":\"{}\"}}}}\n",
        "x".repeat(10_000)
    );
    assert_eq!(server.send_raw(GATEWAY, huge).await, Ok(true));
    h.expect(&mut events, "frame rejected", |e| {
        matches!(e, Event::FrameRejected { .. })
    })
    .await;
    // The core gives up on a socket that carried an over-long line (1009)
    // and dials again; nothing else is lost.
    h.expect(&mut events, "1009 close", |e| {
        matches!(
            e,
            Event::Disconnected {
                code: Some(1009),
                ..
            }
        )
    })
    .await;
    h.expect_state(&mut events, State::Serving).await;
    server
        .deliver(GATEWAY, message("chat-1", "after"))
        .await
        .expect("server up");
    let got = h
        .expect(&mut events, "inbound after", |e| {
            matches!(e, Event::Inbound { .. })
        })
        .await;
    assert!(matches!(got, Event::Inbound { event, .. } if event.text == "after"));
    assert_eq!(handle.state().await, Ok(State::Serving));
    handle.shutdown().await;
}

/// Shutdown with requests in flight that are never answered fails them at
/// the end of the drain, closes with 1000 and never dials again.
pub async fn shutdown_with_requests_in_flight(h: &Harness) {
    let server = h.server(|_| {}).await;
    server
        .with_model(|c, _| {
            let mut responder = ScriptedResponder::new();
            responder.silence(Some("send")).silence(Some("send"));
            c.set_responder(Box::new(responder));
        })
        .await
        .expect("server up");
    let (handle, mut events) = serving(h, &server).await;
    let first = handle.clone();
    let second = handle.clone();
    let requests = futures_util::future::join(
        async move { first.send_text("chat-1", "one").await },
        async move { second.send_text("chat-1", "two").await },
    );
    let ((a, b), ()) = futures_util::future::join(requests, async {
        h.requests_sent(&handle, 2).await;
        handle.shutdown().await;
    })
    .await;
    assert_eq!(a, Err(ClientError::Failed(RequestError::Shutdown)));
    assert_eq!(b, Err(ClientError::Failed(RequestError::Shutdown)));
    let dials = server.upgrade_count();
    h.within(5, "stream end", async {
        while events.next_event().await.is_some() {}
    })
    .await;
    h.pause(300).await;
    assert_eq!(server.upgrade_count(), dials, "no dial after shutdown");
    assert_eq!(handle.state().await, Err(ClientError::Stopped));
}

/// A refused upgrade reaches the core with its HTTP status: 401 is retried,
/// 410 (the gateway is gone) revokes.
pub async fn refused_upgrade_http_status(h: &Harness) {
    let server = h
        .server(|c| c.reject_mode = relay_connector::RejectMode::HttpRevokedGone)
        .await;
    let (wrong, mut wrong_events) =
        h.client(gateway_config(&server, &["telegram"], "wrong-secret"));
    h.within(10, "refused dials", async {
        while server.upgrade_count() < 3 {
            h.pause(20).await;
        }
    })
    .await;
    assert_eq!(wrong.state().await, Ok(State::Dialing), "401 is retried");
    let _ = wrong_events.next_event().await;
    wrong.shutdown().await;

    let (handle, mut events) = serving(h, &server).await;
    server.revoke(GATEWAY).await.expect("server up");
    h.expect(&mut events, "revoked", |e| matches!(e, Event::Revoked))
        .await;
    let dials = server.upgrade_count();
    h.pause(300).await;
    assert_eq!(server.upgrade_count(), dials, "no dial after Revoked");
    drop(handle);
}

/// Keepalive: a live peer answers pings and the link stays up; a peer that
/// stops reading (so never answers) is given up after the pong deadline and
/// the client dials again.
pub async fn keepalive_detects_a_silent_peer(h: &Harness) {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let fast = Timeouts {
        keepalive_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(300),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(100),
        ..Timeouts::default()
    };

    // A live connector: pings are answered, nothing drops. (A generous pong
    // deadline here, so that a loaded machine cannot fake a dead peer.)
    let server = h.server(|_| {}).await;
    let mut config = gateway_config(&server, &["telegram"], SECRET);
    config.timeouts = Timeouts {
        pong_timeout: Duration::from_secs(3),
        ..fast.clone()
    };
    let (handle, mut events) = h.client(config);
    h.expect_state(&mut events, State::Serving).await;
    h.pause(800).await;
    assert_eq!(handle.state().await, Ok(State::Serving));
    assert_eq!(server.upgrade_count(), 1, "no reconnect while pongs arrive");
    handle.shutdown().await;

    // A peer that handshakes and then never reads again.
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let addr = h
        .server_runtime
        .spawn(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(silent_after_descriptor(tcp));
                }
            });
            addr
        })
        .await
        .expect("listener task");
    let mut config = RelayConfig::builder(format!("ws://{addr}"))
        .identity("telegram", "bot")
        .allow_unauthenticated()
        .build()
        .expect("config");
    config.timeouts = fast;
    let (handle, mut events) = h.client(config);
    h.expect_state(&mut events, State::Serving).await;
    h.expect(&mut events, "abnormal close", |e| {
        matches!(e, Event::Disconnected { .. })
    })
    .await;
    h.expect_state(&mut events, State::Serving).await;
    assert!(
        accepted.load(Ordering::SeqCst) >= 2,
        "the client dialed again"
    );
    handle.shutdown().await;
}

/// Answers the first hello with a descriptor, then holds the socket open
/// without reading (so pings are never answered).
async fn silent_after_descriptor(tcp: tokio::net::TcpStream) {
    use futures_util::StreamExt;
    let Ok(mut ws) = async_tungstenite::tokio::accept_async(tcp).await else {
        return;
    };
    let _hello = ws.next().await;
    let descriptor = r#"{"type":"descriptor","descriptor":{"contract_version":1,"platform":"telegram","label":"Telegram","max_message_length":4096,"supports_draft_streaming":false,"supports_edit":true,"supports_threads":false,"markdown_dialect":"plain","len_unit":"chars"}}"#;
    let _ = ws
        .send(async_tungstenite::tungstenite::Message::text(format!(
            "{descriptor}\n"
        )))
        .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
}

/// Takes an inline client's events until it is serving.
async fn inline_until_serving(h: &Harness, client: &mut InlineClient) {
    h.within(10, "inline serving", async {
        loop {
            match client.next_event().await {
                Some(Event::StateChanged {
                    to: State::Serving, ..
                }) => break,
                Some(_) => {}
                None => panic!("stream ended before serving"),
            }
        }
    })
    .await;
}

/// Takes an inline client's events until `texts` holds `n` inbound texts.
async fn inline_texts(
    h: &Harness,
    client: &mut InlineClient,
    what: &str,
    texts: &mut Vec<String>,
    n: usize,
) {
    h.within(10, what, async {
        while texts.len() < n {
            match client.next_event().await {
                Some(Event::Inbound { event, .. }) => texts.push(event.text),
                Some(_) => {}
                None => panic!("stream ended"),
            }
        }
    })
    .await;
}

/// The inline client: serving, a round trip, inbound frames that arrive
/// while a request waits (kept for `next_event`), an interrupt, and a
/// shutdown that ends the stream and closes the socket.
pub async fn inline_client(h: &Harness) {
    let server = h.server(|_| {}).await;
    let mut client = h.inline_client(gateway_config(&server, &["telegram"], SECRET));
    inline_until_serving(h, &mut client).await;
    assert_eq!(client.state(), State::Serving);
    let result = h
        .within(10, "inline send", client.send_text("chat-1", "hello"))
        .await
        .expect("request succeeds");
    assert!(result.success, "{result:?}");

    // Frames delivered before the next send are read while it waits.
    for text in ["one", "two"] {
        server
            .deliver(GATEWAY, message("chat-9", text))
            .await
            .expect("server up");
    }
    h.pause(100).await;
    let info = h
        .within(
            10,
            "inline chat info",
            client.send(relay_core::wire::Action::GetChatInfo(
                relay_core::wire::GetChatInfoAction {
                    chat_id: "chat-1".into(),
                },
            )),
        )
        .await;
    assert!(info.expect("chat info").success);
    let mut texts = Vec::new();
    inline_texts(h, &mut client, "inline inbound", &mut texts, 2).await;
    assert_eq!(texts, ["one", "two"]);

    let key = "agent:main:telegram:dm:chat-9";
    server
        .with_model(move |c, _| {
            let tenant = c.gateway_tenant(GATEWAY).unwrap_or_default().to_owned();
            c.bind_session(key, GATEWAY, &tenant)
        })
        .await
        .expect("server up");
    client
        .interrupt(key, Some("stop".into()))
        .expect("interrupt accepted");
    let got = h
        .within(10, "inline interrupt", async {
            loop {
                match client.next_event().await {
                    Some(event @ Event::Interrupt { .. }) => return event,
                    Some(_) => {}
                    None => panic!("stream ended"),
                }
            }
        })
        .await;
    assert_eq!(
        got,
        Event::Interrupt {
            session_key: key.to_owned(),
            chat_id: "chat-9".to_owned()
        }
    );

    h.within(10, "inline shutdown", client.shutdown()).await;
    assert_eq!(client.state(), State::Closed);
    let rest = h
        .within(10, "inline stream end", async {
            let mut n = 0;
            while client.next_event().await.is_some() {
                n += 1;
            }
            n
        })
        .await;
    assert!(rest < 10, "{rest} events after shutdown");
    assert!(matches!(
        client.send_text("chat-1", "late").await,
        Err(ClientError::Refused(_))
    ));
    h.within(10, "session closed on the server", async {
        while !server.sessions().await.expect("server up").is_empty() {
            h.pause(10).await;
        }
    })
    .await;
}

/// The inline client reads only a few events ahead of the application
/// (its memory then stays small and in cache), and still hands over every
/// frame, in order, whatever was queued on the socket.
pub async fn inline_reads_few_events_ahead(h: &Harness) {
    let server = h.server(|_| {}).await;
    let mut client = h.inline_client(gateway_config(&server, &["telegram"], SECRET));
    inline_until_serving(h, &mut client).await;
    let before = client.stats().frames_in;
    const SENT: usize = 20;
    for i in 0..SENT {
        server
            .deliver(GATEWAY, message("chat-9", &format!("m{i}")))
            .await
            .expect("server up");
    }
    // All of them are on the client's socket before it reads any.
    h.pause(300).await;
    let mut texts = Vec::new();
    inline_texts(h, &mut client, "first inbound", &mut texts, 1).await;
    let read = client.stats().frames_in - before;
    assert!(
        (1..=4).contains(&read),
        "{read} frames read for the first event"
    );
    inline_texts(h, &mut client, "the rest", &mut texts, SENT).await;
    let expected: Vec<String> = (0..SENT).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
    h.within(10, "inline shutdown", client.shutdown()).await;
}

/// Messages that vary in shape from one to the next: ids and user names
/// on some, a group chat and a media URL on others, texts of every length.
fn varied_messages() -> Vec<MessageEvent> {
    (0..24)
        .map(|i| {
            let mut m = message(
                &format!("chat-{}", i % 3),
                &format!("m{i} {}", "x".repeat(i * 7)),
            );
            if i % 2 == 0 {
                m.message_id = Some(format!("id-{i}").into());
                m.source.user_name = Some(format!("user {i}").into());
            }
            if i % 5 == 0 {
                m.source.chat_type = ChatType::Group;
                m.media_urls = vec![format!("https://example.org/{i}.png")];
            }
            m
        })
        .collect()
}

/// Messages handed back to an inline client (`recycle`) are decoded into
/// again; what the application reads is what the connector sent, whatever
/// the shape of the message before.
pub async fn inline_recycles_messages(h: &Harness) {
    let server = h.server(|_| {}).await;
    let mut client = h.inline_client(gateway_config(&server, &["telegram"], SECRET));
    inline_until_serving(h, &mut client).await;
    let sent = varied_messages();
    for m in &sent {
        server.deliver(GATEWAY, m.clone()).await.expect("server up");
    }
    let mut got = Vec::new();
    h.within(10, "recycled inbound", async {
        while got.len() < sent.len() {
            match client.next_event().await {
                Some(Event::Inbound { event, .. }) => {
                    got.push((*event).clone());
                    client.recycle(event);
                }
                Some(_) => {}
                None => panic!("stream ended"),
            }
        }
    })
    .await;
    assert_eq!(got, sent);
    h.within(10, "inline shutdown", client.shutdown()).await;
}

/// The same through a spawned client: messages handed back to `Events`
/// travel to the driver task and are decoded into there.
pub async fn events_recycle_messages(h: &Harness) {
    let server = h.server(|_| {}).await;
    let (handle, mut events) = serving(h, &server).await;
    let sent = varied_messages();
    let mut got = Vec::new();
    // One at a time, so that each is decoded after the one before came back.
    for m in &sent {
        server.deliver(GATEWAY, m.clone()).await.expect("server up");
        h.within(10, "recycled inbound", async {
            loop {
                match events.next_event().await {
                    Some(Event::Inbound { event, .. }) => {
                        got.push((*event).clone());
                        events.recycle(event);
                        break;
                    }
                    Some(_) => {}
                    None => panic!("stream ended"),
                }
            }
        })
        .await;
    }
    assert_eq!(got, sent);
    h.within(10, "shutdown", handle.shutdown()).await;
}

/// Every scenario, by name.
#[macro_export]
macro_rules! conformance_tests {
    ($run:path) => {
        conformance_tests!(@each $run;
            handshake_two_platforms, request_result, inbound_and_interrupts,
            passthrough_bytes, idle_buffer_wake_drain, idle_keep_holds_the_socket,
            idle_dormant_redials_without_a_wake, revoked_after_handshake,
            unauthorized_before_handshake_retries, abrupt_drop_fails_request,
            connector_restart_reconnects, oversized_frame_rejected,
            shutdown_with_requests_in_flight, refused_upgrade_http_status,
            keepalive_detects_a_silent_peer, inline_client,
            inline_reads_few_events_ahead, inline_recycles_messages, events_recycle_messages,
            platform_tagged_send, declined_send, shutdown_drains_in_flight, held_redial);
    };
    (@each $run:path; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $run(|h| Box::pin(conformance::$name(h)));
            }
        )*
    };
}
