//! The `RelayClient` and `InlineClient` rows, on tokio or relay-smol.

use std::time::{Duration, Instant};

use relay_core::config::{RelayConfig, Timeouts};
use relay_core::wire::Action;
use relay_core::{Event, State};
use relay_tokio::RelayClient;
use relay_tokio::{ClientOptions, InlineClient};

use crate::loopback_frame::chat_id;
use crate::measure::{Frames, Rtt};
use crate::runtime::on_smol;
use crate::workload::{BOT, PLATFORM, REQUEST_TIMEOUT, RTT_WARMUP, SECRET, send_content};

pub fn relay_config(port: u16, gateway: usize) -> RelayConfig {
    RelayConfig::builder(format!("ws://127.0.0.1:{port}"))
        .gateway_id(format!("gw-{gateway}"))
        .secret(SECRET)
        .identity(PLATFORM, BOT)
        .timeouts(Timeouts {
            request: REQUEST_TIMEOUT,
            ..Timeouts::default()
        })
        .build()
        .unwrap()
}

pub async fn relay_serving(
    port: u16,
    gateway: usize,
    options: ClientOptions,
) -> (relay_tokio::RelayHandle, relay_tokio::Events) {
    let config = relay_config(port, gateway);
    let (handle, mut events) = if on_smol() {
        relay_smol::RelayClient::start_with(config, options)
    } else {
        RelayClient::start_with(config, options)
    };
    loop {
        match events.next_event().await {
            Some(Event::StateChanged {
                to: State::Serving, ..
            }) => return (handle, events),
            Some(_) => {}
            None => panic!("client stopped before serving"),
        }
    }
}

/// An `InlineClient` that has reached `Serving`.
pub async fn inline_serving(port: u16, gateway: usize, options: ClientOptions) -> InlineClient {
    let config = relay_config(port, gateway);
    let mut client = if on_smol() {
        relay_smol::RelayClient::inline_with(config, options)
    } else {
        RelayClient::inline_with(config, options)
    };
    loop {
        match client.next_event().await {
            Some(Event::StateChanged {
                to: State::Serving, ..
            }) => return client,
            Some(_) => {}
            None => panic!("client stopped before serving"),
        }
    }
}

pub fn inbound_text(event: Option<Event>) -> bool {
    match event {
        Some(Event::Inbound { event, .. }) => {
            assert!(!event.text.is_empty());
            true
        }
        _ => false,
    }
}

/// The round trips of a `RelayClient` or `InlineClient` row (`relay`,
/// `relay-recycle`, `inline`, `inline-recycle`): a result holds nothing to
/// hand back, so a recycling row times the same calls as its plain one.
pub async fn rtt(kind: &str, port: u16, iters: usize, rtt: &mut Rtt) {
    let content = send_content();
    match kind {
        "relay" | "relay-recycle" => {
            let (handle, _events) = relay_serving(port, 0, ClientOptions::default()).await;
            for i in 0..RTT_WARMUP + iters {
                rtt.mark(i);
                let start = Instant::now();
                let result = handle.send(Action::send(chat_id(), content.as_str())).await;
                rtt.record(i, start, result);
            }
            rtt.done();
            handle.shutdown().await;
        }
        "inline" | "inline-recycle" => {
            let mut client = inline_serving(port, 0, ClientOptions::default()).await;
            for i in 0..RTT_WARMUP + iters {
                rtt.mark(i);
                let start = Instant::now();
                let result = client.send(Action::send(chat_id(), content.as_str())).await;
                rtt.record(i, start, result);
            }
            rtt.done();
            client.shutdown().await;
        }
        _ => unreachable!("not a relay row: {kind}"),
    }
}

/// The stream of a `RelayClient` or `InlineClient` row; wall time, CPU µs
/// and allocations from the first frame.
pub async fn stream(kind: &str, port: u16, n: usize) -> (Duration, u64, u64) {
    match kind {
        "relay" => {
            let (handle, mut events) = relay_serving(port, 0, ClientOptions::default()).await;
            println!("READY");
            let mut frames = Frames::new(n);
            while frames.more() {
                frames.got(inbound_text(events.next_event().await));
            }
            let out = frames.finish();
            handle.shutdown().await;
            out
        }
        "relay-recycle" => {
            // Each message handed back once read: it goes back to the
            // driver task, which decodes the next ones into it.
            let (handle, mut events) = relay_serving(port, 0, ClientOptions::default()).await;
            println!("READY");
            let mut frames = Frames::new(n);
            while frames.more() {
                let got = match events.next_event().await {
                    Some(Event::Inbound { event, .. }) => {
                        assert!(!event.text.is_empty());
                        events.recycle(event);
                        true
                    }
                    _ => false,
                };
                frames.got(got);
            }
            let out = frames.finish();
            handle.shutdown().await;
            out
        }
        "inline" => {
            let mut client = inline_serving(port, 0, ClientOptions::default()).await;
            println!("READY");
            let mut frames = Frames::new(n);
            while frames.more() {
                frames.got(inbound_text(client.next_event().await));
            }
            let out = frames.finish();
            client.shutdown().await;
            out
        }
        "inline-recycle" => {
            // Each message handed back once read: the next ones are
            // decoded into its storage.
            let mut client = inline_serving(port, 0, ClientOptions::default()).await;
            println!("READY");
            let mut frames = Frames::new(n);
            while frames.more() {
                let got = match client.next_event().await {
                    Some(Event::Inbound { event, .. }) => {
                        assert!(!event.text.is_empty());
                        client.recycle(event);
                        true
                    }
                    _ => false,
                };
                frames.got(got);
            }
            let out = frames.finish();
            client.shutdown().await;
            out
        }
        _ => unreachable!("not a relay row: {kind}"),
    }
}
