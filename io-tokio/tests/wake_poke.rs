//! The connector's wake poke, end to end: the gateway goes idle, an item is
//! buffered, the dev connector pokes the gateway's `WakeListener` over HTTP,
//! the client re-dials and drains the buffer with acks.

use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_core::config::{RelayConfig, Timeouts};
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::{Event, State};
use relay_tokio::wake::WakeListener;
use relay_tokio::{Events, RelayClient};

const GATEWAY: &str = "gw-wake";
const SECRET: &str = "wake-secret";

async fn next_matching(events: &mut Events, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        loop {
            match events.next_event().await {
                Some(event) if pred(&event) => return event,
                Some(_) => {}
                None => panic!("event stream ended while waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn state(to: State) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::StateChanged { to: t, .. } if *t == to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_poke_reaches_the_listener_and_the_buffer_drains() {
    let server = ConnectorServer::builder()
        .gateway(GATEWAY, &[SECRET])
        .start()
        .await
        .expect("server starts");
    let config = RelayConfig::builder(server.url())
        .identity("telegram", "bot")
        .gateway_id(GATEWAY)
        .secret(SECRET)
        .timeouts(Timeouts {
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            ..Timeouts::default()
        })
        .build()
        .expect("config");
    let (handle, mut events) = RelayClient::start(config);
    let listener = WakeListener::bind("127.0.0.1:0", handle.clone())
        .await
        .expect("listener binds");
    let wake_url = listener.url();
    server
        .with_model(move |c, _| c.set_wake_url(GATEWAY, &wake_url))
        .await
        .expect("server up");

    next_matching(&mut events, "serving", state(State::Serving)).await;
    handle.go_idle().await.expect("go idle");
    next_matching(&mut events, "buffered", state(State::Buffered)).await;
    let upgrades_before = server.upgrade_count();

    for text in ["one", "two"] {
        let event = MessageEvent {
            text: text.into(),
            source: SessionSource {
                platform: "telegram".into(),
                chat_id: "c".into(),
                ..SessionSource::default()
            },
            ..MessageEvent::default()
        };
        server.deliver(GATEWAY, event).await.expect("server up");
    }

    // Nobody calls `wake()`: only the poke can bring the client back.
    next_matching(&mut events, "serving again", state(State::Serving)).await;
    assert!(server.upgrade_count() > upgrades_before);
    // The poke is counted once its answer is read, which can come after the
    // client it woke is serving again: wait for the count, bounded.
    let stats = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let stats = server.stats().await.expect("server up");
            if stats.wake_pokes_sent >= 1 {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(stats.is_ok(), "the wake poke was never counted as answered");

    let mut texts = Vec::new();
    while texts.len() < 2 {
        let event = next_matching(&mut events, "buffered inbound", |e| {
            matches!(e, Event::Inbound { .. })
        })
        .await;
        let Event::Inbound { event, delivery } = event else {
            unreachable!()
        };
        texts.push(event.text.clone());
        handle
            .ack(delivery.expect("buffered items carry a delivery handle"))
            .await
            .expect("ack");
    }
    assert_eq!(texts, ["one", "two"]);
    tokio::time::timeout(Duration::from_secs(5), async {
        while server.buffer_len(GATEWAY).await != Ok(0) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("buffer drains");

    handle.shutdown().await;
    listener.shutdown().await;
    server.shutdown().await;
}
