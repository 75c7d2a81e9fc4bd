//! The library client against the in-process dev connector.

use std::collections::HashSet;
use std::time::Duration;

use relay_connector::ConnectorConfig;
use relay_connector::server::ConnectorServer;
use relay_core::Event;
use relay_core::config::RelayConfig;
use relay_core::message::{MessageEvent, SessionSource};
use relay_tokio::RelayClient;

/// Issue items 2 and 5 (core): 10,000 buffered deliveries, unacked, are
/// redelivered after a dropped link; the application sees each exactly
/// once.
#[test]
fn ten_thousand_unacked_redeliveries_reach_the_app_once_each() {
    const N: usize = 10_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            // Every buffered item in flight at once, none acked.
            let connector = ConnectorConfig {
                drain_window: 2 * N,
                ..ConnectorConfig::default()
            };
            let server = ConnectorServer::builder()
                .connector_config(connector)
                .gateway("gw-1", &["secret-1"])
                .start()
                .await
                .expect("server");
            for i in 0..N {
                let event = MessageEvent {
                    text: format!("m-{i}"),
                    source: SessionSource {
                        platform: "telegram".into(),
                        chat_id: "c-1".into(),
                        ..SessionSource::default()
                    },
                    ..MessageEvent::default()
                };
                server.deliver("gw-1", event).await.expect("deliver");
            }
            let mut config = RelayConfig::builder(server.url())
                .identity("telegram", "bot-1")
                .gateway_id("gw-1")
                .secret("secret-1")
                .build()
                .expect("config");
            config.timeouts.backoff_initial = Duration::from_millis(50);
            config.timeouts.backoff_max = Duration::from_millis(200);
            let (handle, mut events) = RelayClient::start(config);
            let mut seen = 0usize;
            let mut ids = HashSet::new();
            let mut dropped = false;
            loop {
                let next = tokio::time::timeout(Duration::from_secs(3), events.next_event()).await;
                match next {
                    Ok(Some(Event::Inbound { delivery, .. })) => {
                        seen += 1;
                        if let Some(d) = delivery {
                            ids.insert(d.buffer_id().as_str().to_owned());
                        }
                        if seen == N && !dropped {
                            // Every item is in, none acked: cut the link.
                            dropped = true;
                            server.drop_connections().await.expect("drop");
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    // Quiet for 3 s after the redelivery: done.
                    Err(_) if dropped => break,
                    Err(_) => break,
                }
            }
            let redelivered = server
                .stats()
                .await
                .map(|s| s.model.redelivered)
                .unwrap_or(0);
            handle.shutdown().await;
            server.shutdown().await;
            (seen, ids.len(), redelivered, dropped)
        })
        .await
    });
    let (seen, distinct, redelivered, dropped) = outcome.expect("within 60 s");
    eprintln!("redelivery: {seen} inbound events, {distinct} distinct, {redelivered} redelivered");
    assert!(dropped, "only {seen} of {N} deliveries arrived");
    assert!(redelivered > 0, "the connector redelivered nothing");
    assert_eq!(distinct, N, "distinct deliveries");
    assert_eq!(seen, N, "inbound events handed to the application");
}

/// A peer that answers the hellos, then closes with 1014 "upstream gone".
fn closing_peer_1014() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::Write;

    use super::support::{accept_within, answer_hellos, listener, server_frame, upgrade};

    let (l, addr) = listener();
    let peer = std::thread::spawn(move || {
        let stream = accept_within(&l, Duration::from_secs(10)).expect("client dials");
        let mut ws = upgrade(stream);
        answer_hellos(&mut ws);
        let mut raw = ws.into_inner();
        let mut payload = 1014u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"upstream gone");
        raw.write_all(&server_frame(0x8, &payload)).expect("close");
        // Held open until the client has read the close.
        std::thread::sleep(Duration::from_secs(2));
    });
    (addr, peer)
}

fn client_config(addr: std::net::SocketAddr) -> RelayConfig {
    RelayConfig::builder(format!("ws://{addr}"))
        .identity("telegram", "bot-1")
        .gateway_id("gw-1")
        .secret("secret-1")
        .build()
        .expect("config")
}

/// Issue item 12, library side: a close code that is legal on the wire but
/// unknown to the WebSocket library (1014) reaches `Event::Disconnected` as
/// the peer sent it, reason included, from the spawned client and from the
/// inline one.
#[test]
fn a_legal_close_code_reaches_the_library_client_as_sent() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for inline in [false, true] {
        let (addr, peer) = closing_peer_1014();
        let seen = rt.block_on(async {
            let config = client_config(addr);
            let within = Duration::from_secs(10);
            if inline {
                let mut client = RelayClient::inline(config);
                let seen = tokio::time::timeout(within, async {
                    while let Some(event) = client.next_event().await {
                        if let Event::Disconnected { code, reason } = event {
                            return Some((code, reason));
                        }
                    }
                    None
                })
                .await;
                client.shutdown().await;
                seen
            } else {
                let (handle, mut events) = RelayClient::start(config);
                let seen = tokio::time::timeout(within, async {
                    while let Some(event) = events.next_event().await {
                        if let Event::Disconnected { code, reason } = event {
                            return Some((code, reason));
                        }
                    }
                    None
                })
                .await;
                handle.shutdown().await;
                seen
            }
        });
        let _ = peer.join();
        let (code, reason) = seen.expect("within 10 s").expect("a disconnect");
        assert_eq!(code, Some(1014), "inline: {inline}; reason {reason:?}");
        assert_eq!(reason, "upstream gone", "inline: {inline}");
    }
}
