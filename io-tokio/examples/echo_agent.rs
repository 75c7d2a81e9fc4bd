//! An agent that answers every inbound message with a reply.
//!
//! Against a connector you run yourself (`relay connector` listens on
//! 127.0.0.1:8080 and knows `dev-gateway` / `dev-secret`):
//!
//! ```sh
//! cargo run -p hermes-relay-tokio --example echo_agent -- ws://127.0.0.1:8080
//! ```
//!
//! With no URL it starts a dev connector in-process, delivers three messages
//! to itself, checks that each was answered, and exits.

use std::process::ExitCode;
use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_core::Event;
use relay_core::config::RelayConfig;
use relay_core::message::{MessageEvent, SessionSource};
use relay_tokio::{RelayClient, RelayHandle};

const GATEWAY: &str = "dev-gateway";
const SECRET: &str = "dev-secret";

#[tokio::main]
async fn main() -> ExitCode {
    let url = std::env::args().nth(1);
    let (server, url) = match url {
        Some(url) => (None, url),
        None => match ConnectorServer::builder()
            .gateway(GATEWAY, &[SECRET])
            .start()
            .await
        {
            Ok(server) => {
                let url = server.url();
                println!("dev connector on {url}");
                (Some(server), url)
            }
            Err(e) => {
                eprintln!("could not start the dev connector: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let config = match RelayConfig::builder(url)
        .identity("telegram", "echo-bot")
        .gateway_id(std::env::var("GATEWAY_RELAY_ID").unwrap_or_else(|_| GATEWAY.into()))
        .secret(std::env::var("GATEWAY_RELAY_SECRET").unwrap_or_else(|_| SECRET.into()))
        .build()
    {
        Ok(config) => config,
        Err(e) => {
            eprintln!("bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let (handle, mut events) = RelayClient::start(config);

    // With an in-process connector, stop after three answered messages.
    let goal = server.as_ref().map(|_| 3);
    let mut answered = 0;
    let run = async {
        while let Some(event) = events.next_event().await {
            match event {
                Event::StateChanged { to, .. } => {
                    println!("state: {to}");
                    if to == relay_core::State::Serving
                        && let Some(server) = &server
                    {
                        for i in 1..=3 {
                            let _ = server
                                .deliver(GATEWAY, message(&format!("hello {i}")))
                                .await;
                        }
                    }
                }
                Event::Inbound { event, delivery } => {
                    answered += echo(&handle, &event).await;
                    if let Some(delivery) = delivery {
                        // The reply is sent: the item is handled.
                        let _ = handle.ack(delivery).await;
                    }
                    if goal.is_some_and(|g| answered >= g) {
                        return;
                    }
                }
                Event::Revoked => {
                    eprintln!("revoked: this gateway's credential is no longer valid");
                    return;
                }
                _ => {}
            }
        }
    };
    let finished = match goal {
        Some(_) => tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .is_ok(),
        None => {
            tokio::select! {
                () = run => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            true
        }
    };
    handle.shutdown().await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    if finished && goal.is_none_or(|g| answered >= g) {
        println!("answered {answered} message(s)");
        ExitCode::SUCCESS
    } else {
        eprintln!("answered only {answered} message(s)");
        ExitCode::FAILURE
    }
}

/// Replies to `event` in its chat; 1 when the connector confirmed it.
async fn echo(handle: &RelayHandle, event: &MessageEvent) -> usize {
    let reply = format!("echo: {}", event.text);
    match handle.send_text(event.source.chat_id.clone(), reply).await {
        Ok(result) if result.success => {
            println!(
                "answered {:?} (message id {:?})",
                event.text, result.message_id
            );
            1
        }
        Ok(result) => {
            eprintln!("the connector refused the reply: {:?}", result.error);
            0
        }
        Err(e) => {
            eprintln!("reply failed: {e}");
            0
        }
    }
}

fn message(text: &str) -> MessageEvent {
    MessageEvent {
        text: text.to_owned(),
        source: SessionSource {
            platform: "telegram".into(),
            chat_id: "chat-1".into(),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}
