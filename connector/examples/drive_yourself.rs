//! Drive a `Connection` yourself: the whole loop contract in one file, with
//! the reference connector model standing in for the network.
//!
//! Run: `cargo run -p hermes-relay-connector --example drive_yourself`

use core::time::Duration;

use relay_connector::{Accept, Connector, ConnectorConfig, ConnectorOutput, SessionId};
use relay_core::config::RelayConfig;
use relay_core::connection::{Connection, Event, Input, Output};
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::wire::Action;
use relay_core::{Instant, UnixTime};

fn main() {
    let wall = UnixTime::from_secs(1_700_000_000);
    let mut connector = Connector::new(ConnectorConfig::default(), 1);
    connector.add_gateway("gw-demo", &["demo-secret"]);

    let config = RelayConfig {
        relay_url: "https://connector.example".into(),
        gateway_id: Some("gw-demo".into()),
        secret: Some("demo-secret".into()),
        ..RelayConfig::default()
    };
    let mut now = Instant::ZERO;
    let mut gateway = Connection::new(config, 0xC0FFEE, now, wall);
    let mut session: Option<SessionId> = None;
    let mut answered = 0;

    for step in 0..200 {
        // 1. Drain the gateway until it waits; execute what it asks for.
        let deadline = loop {
            match gateway.poll_output() {
                Output::Dial { target, headers } => {
                    println!("{now} dial {target} ({} header)", headers.len());
                    match connector.accept(&headers, now, wall) {
                        Accept::Accepted(sid) => {
                            session = Some(sid);
                            gateway.handle_input(Input::Opened, now);
                        }
                        Accept::RejectHttp { status } => gateway.handle_input(
                            Input::DialFailed {
                                http_status: Some(status),
                                reason: "refused".into(),
                            },
                            now,
                        ),
                    }
                }
                Output::Transmit(text) => {
                    print!("{now} gateway → {text}");
                    if let Some(sid) = session {
                        connector.handle_message(sid, text.as_bytes(), now);
                    }
                }
                Output::Ping => gateway.handle_input(Input::Pong, now),
                Output::Close { code, reason } => {
                    println!("{now} close {code} {reason}");
                    if let Some(sid) = session.take() {
                        connector.handle_closed(sid, now);
                    }
                }
                Output::Event(Event::Inbound { event, .. }) => {
                    println!("{now} inbound: {:?}", event.text);
                    let reply = Action::send(
                        event.source.chat_id.clone(),
                        format!("echo: {}", event.text),
                    );
                    if let Err(e) = gateway.send(reply, now) {
                        println!("{now} send refused: {e}");
                    }
                }
                Output::Event(Event::Response { result, .. }) => {
                    println!(
                        "{now} result: success={} id={:?}",
                        result.success, result.message_id
                    );
                    answered += 1;
                }
                Output::Event(e) => println!("{now} event {e:?}"),
                Output::Wait(deadline) => break deadline,
            }
        };
        // 2. Carry the connector's frames back.
        let mut moved = false;
        loop {
            match connector.poll_output() {
                ConnectorOutput::Transmit { session: s, text } if Some(s) == session => {
                    print!("{now} connector → {text}");
                    gateway.handle_input(Input::Message(text.as_bytes()), now);
                    moved = true;
                }
                ConnectorOutput::Wait(_) => break,
                _ => {}
            }
        }
        if moved {
            continue;
        }
        // 3. Nothing to do: a platform message arrives now and then; otherwise
        //    "sleep" until the deadline and report the timeout.
        if step == 5 {
            let source = SessionSource {
                chat_id: "chan-1".into(),
                ..SessionSource::default()
            };
            let event = MessageEvent {
                text: "hello relay".into(),
                source,
                ..MessageEvent::default()
            };
            connector.deliver("gw-demo", event, now);
            continue;
        }
        if answered > 0 {
            break;
        }
        now = deadline.unwrap_or(now.saturating_add(Duration::from_secs(1)));
        gateway.handle_input(Input::Timeout, now);
        connector.handle_timeout(now);
    }
    gateway.shutdown(now);
    while !matches!(gateway.poll_output(), Output::Wait(_)) {}
    println!("state: {}, requests answered: {answered}", gateway.state());
    assert_eq!(answered, 1, "the echo must be answered");
}
