//! Bring your own loop: drive a `Connection` from a plain blocking
//! `std::net::TcpStream` and the synchronous `tungstenite` crate, with no
//! async runtime at all.
//!
//! Start a dev connector first (`relay connector`, which listens on
//! 127.0.0.1:8080 and knows the gateway `dev-gateway` / `dev-secret`), then:
//!
//! ```sh
//! cargo run -p hermes-relay-core --example blocking_loop -- ws://127.0.0.1:8080
//! ```
//!
//! The gateway handshakes, sends one message and waits for its result, goes
//! idle, wakes itself, handshakes again and shuts down. It exits 0 when all
//! of that happened within 20 seconds. `GATEWAY_RELAY_ID` and
//! `GATEWAY_RELAY_SECRET` override the credentials.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use relay_core::config::{DialTarget, RelayConfig};
use relay_core::connection::{Connection, Event, Input, Output, State};
use relay_core::wire::Action;
use relay_core::{Instant, UnixTime};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::{HeaderName, HeaderValue};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// The script this example plays once the link is up.
#[derive(Debug, PartialEq)]
enum Step {
    WaitServing,
    WaitResult,
    WaitBuffered,
    WaitServingAgain,
    Done,
}

fn main() -> ExitCode {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080".to_owned());
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let config = match RelayConfig::builder(url)
        .identity("demo", "blocking-bot")
        .gateway_id(env("GATEWAY_RELAY_ID", "dev-gateway"))
        .secret(env("GATEWAY_RELAY_SECRET", "dev-secret"))
        .build()
    {
        Ok(config) => config,
        Err(e) => {
            eprintln!("bad configuration: {e}");
            return ExitCode::from(2);
        }
    };

    let epoch = std::time::Instant::now();
    let now = || Instant::from_millis(epoch.elapsed().as_millis() as u64);
    let mut conn = Connection::new(config, seed(), now(), wall());
    let mut socket: Option<WebSocket<TcpStream>> = None;
    let mut step = Step::WaitServing;

    while epoch.elapsed() < Duration::from_secs(20) && step != Step::Done {
        // 1. Do everything the core asks for, until it waits.
        let deadline = loop {
            match conn.poll_output() {
                Output::Dial { target, headers } => {
                    socket = None;
                    let input = match dial(&target, &headers) {
                        Ok(ws) => {
                            socket = Some(ws);
                            Input::Opened
                        }
                        Err((http_status, reason)) => Input::DialFailed {
                            http_status,
                            reason,
                        },
                    };
                    println!("dial {target}: {input:?}");
                    conn.handle_input(input, now());
                }
                Output::Transmit(text) => {
                    if let Some(ws) = socket.as_mut()
                        && let Err(e) = ws.send(Message::text(text))
                    {
                        socket = None;
                        conn.handle_input(closed(None, e.to_string()), now());
                    }
                }
                Output::Ping => {
                    if let Some(ws) = socket.as_mut() {
                        let _ = ws.send(Message::Ping(Default::default()));
                    }
                }
                Output::Close { code, reason } => {
                    if let (Some(mut ws), false) = (socket.take(), code == 1006) {
                        let frame = CloseFrame {
                            code: CloseCode::from(code),
                            reason: reason.into(),
                        };
                        let _ = ws.close(Some(frame));
                        let _ = ws.flush();
                    }
                }
                Output::Event(event) => step = play(&mut conn, step, event, now()),
                Output::Wait(deadline) => break deadline,
            }
        };
        if conn.is_terminal() {
            break;
        }

        // 2. Block until the next socket message or the core's deadline.
        let timeout = deadline
            .map(|d| Duration::from_millis(d.saturating_duration_since(now()).as_millis() as u64));
        let Some(ws) = socket.as_mut() else {
            std::thread::sleep(timeout.unwrap_or(Duration::from_millis(100)));
            conn.handle_input(Input::Timeout, now());
            continue;
        };
        // A zero timeout means "block forever" to std: use 1 ms instead.
        let _ = ws.get_mut().set_read_timeout(Some(
            timeout
                .unwrap_or(Duration::from_secs(1))
                .max(Duration::from_millis(1)),
        ));
        match ws.read() {
            Ok(Message::Text(text)) => conn.handle_input(Input::Message(text.as_bytes()), now()),
            Ok(Message::Binary(bytes)) => conn.handle_input(Input::Message(&bytes), now()),
            Ok(Message::Pong(_)) => conn.handle_input(Input::Pong, now()),
            Ok(Message::Close(frame)) => {
                socket = None;
                let code = Some(frame.as_ref().map_or(1005, |f| u16::from(f.code)));
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                conn.handle_input(closed(code, reason), now());
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                if deadline.is_some_and(|d| now() >= d) {
                    conn.handle_input(Input::Timeout, now());
                }
            }
            Err(e) => {
                socket = None;
                conn.handle_input(closed(None, e.to_string()), now());
            }
        }
    }

    if step == Step::Done {
        println!("done: {:?}", conn.stats());
        ExitCode::SUCCESS
    } else {
        eprintln!("stopped at {step:?} in state {}", conn.state());
        ExitCode::FAILURE
    }
}

/// Advances the script on an event from the core.
fn play(conn: &mut Connection, step: Step, event: Event, now: Instant) -> Step {
    println!("event: {event:?}");
    match (step, event) {
        (
            Step::WaitServing,
            Event::StateChanged {
                to: State::Serving, ..
            },
        ) => {
            match conn.send(
                Action::send("blocking-chat", "hello from a blocking loop"),
                now,
            ) {
                Ok(_) => Step::WaitResult,
                Err(e) => {
                    eprintln!("send refused: {e}");
                    Step::WaitServing
                }
            }
        }
        (Step::WaitResult, Event::Response { .. } | Event::RequestFailed { .. }) => {
            match conn.go_idle(now) {
                Ok(()) => Step::WaitBuffered,
                Err(e) => {
                    eprintln!("go_idle refused: {e}");
                    Step::WaitResult
                }
            }
        }
        (
            Step::WaitBuffered,
            Event::StateChanged {
                to: State::Buffered,
                ..
            },
        ) => {
            let _ = conn.wake(now);
            Step::WaitServingAgain
        }
        (
            Step::WaitServingAgain,
            Event::StateChanged {
                to: State::Serving, ..
            },
        ) => {
            conn.shutdown(now);
            Step::Done
        }
        (step, _) => step,
    }
}

/// Connects and upgrades; on failure, the HTTP status if there was one.
fn dial(
    target: &DialTarget,
    headers: &[(String, String)],
) -> Result<WebSocket<TcpStream>, (Option<u16>, String)> {
    let fail = |e: &dyn std::fmt::Display| (None, e.to_string());
    let mut request = target.url().into_client_request().map_err(|e| fail(&e))?;
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str()).map_err(|e| fail(&e))?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|e| fail(&e))?;
        request.headers_mut().insert(name, value);
    }
    // Host and port as the configuration parsed them (this example has no TLS).
    let stream = TcpStream::connect((target.host(), target.port())).map_err(|e| fail(&e))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| fail(&e))?;
    match tungstenite::client(request, stream) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => Err((
            Some(response.status().as_u16()),
            format!("HTTP {}", response.status()),
        )),
        Err(e) => Err(fail(&e)),
    }
}

fn closed(code: Option<u16>, reason: String) -> Input<'static> {
    Input::Closed { code, reason }
}

fn wall() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime::from_secs(secs)
}

/// Request ids and jitter need a seed; a blocking program can take it from
/// the clock.
fn seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
}
