//! The tokio gateway client against the dev connector server: the two halves
//! of the crate talking over real sockets on 127.0.0.1.

use std::future::Future;
use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_core::Event;
use relay_core::config::RelayConfig;
use relay_core::message::{MessageEvent, SessionSource};
use relay_tokio::{Events, RelayClient};

const LIMIT: Duration = Duration::from_secs(20);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

/// The next event matching `pick`, skipping others.
async fn wait_for<T>(events: &mut Events, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    loop {
        let event = events.next_event().await.expect("event stream ended");
        if let Some(t) = pick(event) {
            return t;
        }
    }
}

fn config(server: &ConnectorServer) -> RelayConfig {
    let mut config = RelayConfig::builder(server.url())
        .identity("telegram", "bot-1")
        .gateway_id("gw-1")
        .secret("secret-1")
        .build()
        .expect("a valid config");
    config.timeouts.backoff_initial = Duration::from_millis(50);
    config.timeouts.backoff_max = Duration::from_millis(200);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_handshakes_receives_sends_and_survives_a_dropped_link() {
    bounded(async {
        let server = ConnectorServer::builder()
            .gateway("gw-1", &["secret-1"])
            .start()
            .await
            .unwrap();
        let (handle, mut events) = RelayClient::start(config(&server));
        wait_for(&mut events, |e| match e {
            Event::Descriptor(d) => Some(d),
            _ => None,
        })
        .await;

        let event = MessageEvent {
            text: "ping".into(),
            source: SessionSource {
                platform: "telegram".into(),
                chat_id: "c-1".into(),
                ..SessionSource::default()
            },
            ..MessageEvent::default()
        };
        server.deliver("gw-1", event).await.unwrap();
        let text = wait_for(&mut events, |e| match e {
            Event::Inbound { event, .. } => Some(event.text),
            _ => None,
        })
        .await;
        assert_eq!(text, "ping");

        let result = handle.send_text("c-1", "pong").await.unwrap();
        assert!(result.success, "{result:?}");
        assert_eq!(server.stats().await.unwrap().model.outbound_results, 1);

        // An abrupt drop: no close code; the client dials again.
        server.drop_connections().await.unwrap();
        let code = wait_for(&mut events, |e| match e {
            Event::Disconnected { code, .. } => Some(code),
            _ => None,
        })
        .await;
        assert_eq!(code, None);
        wait_for(&mut events, |e| {
            matches!(e, Event::Descriptor(_)).then_some(())
        })
        .await;
        assert!(server.upgrade_count() >= 2);

        // Revoked: a real 4401 close frame reaches the client.
        server.revoke("gw-1").await.unwrap();
        let code = wait_for(&mut events, |e| match e {
            Event::Disconnected { code, .. } => Some(code),
            _ => None,
        })
        .await;
        assert_eq!(code, Some(4401));
        handle.shutdown().await;
        server.shutdown().await;
    })
    .await;
}
