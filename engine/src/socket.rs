//! One WebSocket: the dial (TCP, optional TLS, upgrade), the background
//! close, and the mapping of WebSocket messages to core inputs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::handshake::client::Request;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::http::header::HeaderName;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::protocol::frame::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};
use futures_util::SinkExt;
use futures_util::future::select;
use relay_core::Input;
use relay_core::config::DialTarget;

use super::close_tap::CloseTap;
use super::io::Io;
use super::runtime::{BoxFuture, Runtime};
use super::stall::StallGuard;
use super::ws::Ws;

/// Why a dial did not produce an open socket.
#[derive(Debug)]
pub(crate) struct DialFailure {
    pub http_status: Option<u16>,
    pub reason: String,
}

impl DialFailure {
    fn new(reason: impl Into<String>) -> Self {
        DialFailure {
            http_status: None,
            reason: reason.into(),
        }
    }
}

/// How every dial of one client is made.
#[derive(Clone, Debug)]
pub(crate) struct DialSettings {
    /// WebSocket buffer sizes and limits.
    pub ws: WebSocketConfig,
    /// Bound on connect + TLS + upgrade.
    pub timeout: Duration,
    /// How long writes may wait on a peer that reads nothing before the
    /// socket is treated as gone (zero: never).
    pub write_stall: Duration,
    /// TLS settings for `wss://`; `None` uses the webpki roots.
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// Opens a WebSocket to `target` with `headers`, within the settings' timeout.
pub(crate) fn dial(
    rt: Arc<dyn Runtime>,
    target: DialTarget,
    headers: Vec<(String, String)>,
    settings: DialSettings,
) -> Dialing {
    let deadline = rt.now().saturating_add(settings.timeout);
    Dialing {
        timeout: rt.sleep_until(deadline),
        stage: Stage::Connecting(Box::pin(connect(rt, target, headers, settings))),
    }
}

/// A dial in progress: first the connection (TCP, optional TLS) and the
/// upgrade request, then the upgrade, within one deadline. Each stage's
/// state is on the heap only while that stage runs, and the first is freed
/// before the second is allocated: a process dialing many sockets at once
/// holds one stage per dial, not both, and the upgrade may reuse the
/// memory the connection left.
pub(crate) struct Dialing {
    stage: Stage,
    timeout: BoxFuture<()>,
}

enum Stage {
    Connecting(BoxFuture<Result<Connected, DialFailure>>),
    Upgrading(BoxFuture<Result<Ws, DialFailure>>),
    Done,
}

/// What the first stage of a dial hands to the second.
struct Connected {
    io: CloseTap<Io>,
    request: Request,
    ws: WebSocketConfig,
}

impl Future for Dialing {
    type Output = Result<Ws, DialFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::Connecting(connecting) => match connecting.as_mut().poll(cx) {
                    Poll::Ready(Ok(Connected { io, request, ws })) => {
                        // The first stage is freed before the second is boxed.
                        this.stage = Stage::Done;
                        this.stage = Stage::Upgrading(Box::pin(upgrade(request, io, ws)));
                    }
                    Poll::Ready(Err(failure)) => {
                        this.stage = Stage::Done;
                        return Poll::Ready(Err(failure));
                    }
                    Poll::Pending => break,
                },
                Stage::Upgrading(upgrading) => match upgrading.as_mut().poll(cx) {
                    Poll::Ready(result) => {
                        this.stage = Stage::Done;
                        return Poll::Ready(result);
                    }
                    Poll::Pending => break,
                },
                // Polled again after it completed: it stays pending.
                Stage::Done => return Poll::Pending,
            }
        }
        match this.timeout.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.stage = Stage::Done;
                Poll::Ready(Err(DialFailure::new("dial timed out")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The first stage of a dial: the transport and the upgrade request.
async fn connect(
    rt: Arc<dyn Runtime>,
    target: DialTarget,
    headers: Vec<(String, String)>,
    settings: DialSettings,
) -> Result<Connected, DialFailure> {
    let mut request = target
        .url()
        .into_client_request()
        .map_err(|e| DialFailure::new(format!("invalid relay URL: {e}")))?;
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|_| DialFailure::new(format!("invalid header name {name:?}")))?;
        // The value may be a bearer token: never echo it in the error.
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|_| DialFailure::new(format!("invalid value for header {name}")))?;
        request.headers_mut().insert(name, value);
    }
    // Host and port come parsed from the configuration: never a guess.
    let secure = target.is_secure();
    let host = target.host().to_owned();
    let port = target.port();

    let tcp = rt
        .connect_tcp(host.clone(), port)
        .await
        .map_err(|e| DialFailure::new(format!("connect to {host}:{port} failed: {e}")))?;
    let io: Io = if secure {
        // Boxed: a `ws://` dial does not carry the TLS handshake's state.
        Box::pin(secure_stream(tcp, host, &settings)).await?
    } else {
        tcp
    };
    // A peer that stops reading while writes wait is treated as gone.
    let io: Io = Box::new(StallGuard::new(io, settings.write_stall, move |limit| {
        rt.sleep_until(rt.now().saturating_add(limit))
    }));
    // The peer's close code is kept as it was on the wire.
    Ok(Connected {
        io: CloseTap::new(io),
        request,
        ws: settings.ws,
    })
}

/// The second stage of a dial: the WebSocket upgrade.
async fn upgrade(
    request: Request,
    io: CloseTap<Io>,
    ws: WebSocketConfig,
) -> Result<Ws, DialFailure> {
    let (ws, _response) = async_tungstenite::client_async_with_config(request, io, Some(ws))
        .await
        .map_err(upgrade_failure)?;
    Ok(Ws::new(ws))
}

fn upgrade_failure(error: WsError) -> DialFailure {
    match error {
        WsError::Http(response) => DialFailure {
            http_status: Some(response.status().as_u16()),
            reason: format!("upgrade refused with HTTP {}", response.status()),
        },
        other => DialFailure::new(format!("upgrade failed: {other}")),
    }
}

/// The TLS layer of a `wss://` dial.
#[cfg(feature = "tls")]
async fn secure_stream(tcp: Io, host: String, settings: &DialSettings) -> Result<Io, DialFailure> {
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|_| DialFailure::new(format!("invalid TLS server name {host:?}")))?;
    let config = match &settings.tls {
        Some(config) => config.clone(),
        None => default_tls_config()?,
    };
    let tls = futures_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| DialFailure::new(format!("TLS handshake with {host} failed: {e}")))?;
    Ok(Box::new(tls))
}

/// Without the `tls` feature a `wss://` dial cannot be made.
#[cfg(not(feature = "tls"))]
async fn secure_stream(
    _tcp: Io,
    host: String,
    _settings: &DialSettings,
) -> Result<Io, DialFailure> {
    Err(DialFailure::new(format!(
        "wss:// to {host} needs TLS, and this build has no `tls` feature"
    )))
}

/// rustls with the ring provider and the webpki roots, built once.
#[cfg(feature = "tls")]
fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, DialFailure> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("TLS setup failed: {e}"))
        })
        .clone()
        .map_err(DialFailure::new)
}

/// How long a graceful close may take before the socket is dropped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Hands `ws` to a background task that sends the writes still queued, then
/// a close frame, and drops the socket (bounded by a short grace period).
pub(crate) fn close_in_background(
    rt: &Arc<dyn Runtime>,
    mut ws: Ws,
    queued: Vec<Message>,
    code: u16,
    reason: String,
) {
    let deadline = rt.now().saturating_add(CLOSE_GRACE);
    let close = async move {
        for message in queued {
            if ws.feed(message).await.is_err() {
                return;
            }
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = ws.close(Some(frame)).await;
    };
    let sleep = rt.sleep_until(deadline);
    rt.spawn(Box::pin(async move {
        let _ = select(Box::pin(close), sleep).await;
    }));
}

/// A text message for the socket.
pub(crate) fn text(text: String) -> Message {
    Message::text(text)
}

/// A ping for the socket.
pub(crate) fn ping() -> Message {
    Message::Ping(Bytes::new())
}

/// One thing read from the socket, owned until the core has seen it.
pub(crate) enum Read {
    /// A text payload (checked as UTF-8 by the WebSocket library).
    Text(Utf8Bytes),
    /// A binary payload.
    Payload(Bytes),
    /// A pong.
    Pong,
    /// The socket ended.
    Closed { code: Option<u16>, reason: String },
    /// Nothing for the core (a ping, which the library answers, or a raw frame).
    Nothing,
}

impl Read {
    /// Maps one item of the read half (`None`: end of stream).
    pub(crate) fn from_item(item: Option<Result<Message, WsError>>) -> Self {
        match item {
            Some(Ok(Message::Text(text))) => Read::Text(text),
            Some(Ok(Message::Binary(bytes))) => Read::Payload(bytes),
            Some(Ok(Message::Pong(_))) => Read::Pong,
            Some(Ok(Message::Ping(_) | Message::Frame(_))) => Read::Nothing,
            // A close frame without a status is "no status received".
            Some(Ok(Message::Close(frame))) => Read::Closed {
                code: Some(frame.as_ref().map_or(1005, |f| u16::from(f.code))),
                reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
            },
            Some(Err(error)) => Read::Closed {
                code: None,
                reason: error.to_string(),
            },
            None => Read::Closed {
                code: None,
                reason: "connection ended without a close frame".to_owned(),
            },
        }
    }

    /// The core input, if any.
    pub(crate) fn as_input(&self) -> Option<Input<'_>> {
        match self {
            Read::Text(text) => Some(Input::Text(text.as_str())),
            Read::Payload(bytes) => Some(Input::Message(bytes)),
            Read::Pong => Some(Input::Pong),
            Read::Closed { code, reason } => Some(Input::Closed {
                code: *code,
                reason: reason.clone(),
            }),
            Read::Nothing => None,
        }
    }
}

/// The WebSocket settings for a client: small buffers (an idle link holds
/// little), messages bounded by the core's frame limit, and a bounded write
/// buffer (see [`max_write_buffer`]).
pub(crate) fn ws_config(read_buffer: usize, max_frame_bytes: usize) -> WebSocketConfig {
    // A message may carry several NDJSON lines; the core rejects any one line
    // over its limit, so the message limit only guards memory.
    let max_message = max_frame_bytes.saturating_mul(4).max(64 * 1024);
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0)
        .max_write_buffer_size(max_write_buffer(max_message))
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// The most bytes a socket holds unwritten: one largest message plus room
/// for control frames. tungstenite's default is unbounded; with this bound a
/// write that would pass it fails (the socket is then treated as gone) and
/// automatic pongs beyond it are coalesced into one, so a peer flooding
/// pings without reading costs at most this much.
pub(crate) fn max_write_buffer(max_message: usize) -> usize {
    max_message.saturating_add(64 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime that is never run: the dial below is only built.
    struct Idle;

    impl Runtime for Idle {
        fn spawn(&self, _task: BoxFuture<()>) {}
        fn now(&self) -> relay_core::Instant {
            relay_core::Instant::ZERO
        }
        fn wall_clock(&self) -> relay_core::UnixTime {
            relay_core::UnixTime::EPOCH
        }
        fn sleep_until(&self, _deadline: relay_core::Instant) -> BoxFuture<()> {
            Box::pin(std::future::pending())
        }
        fn seed(&self) -> u64 {
            0
        }
        fn connect_tcp(&self, _host: String, _port: u16) -> BoxFuture<std::io::Result<Io>> {
            Box::pin(std::future::pending())
        }
        fn unblock(&self, _work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
            Box::pin(std::future::pending())
        }
    }

    /// Every connection in flight holds its dial's state: the TLS
    /// handshake's is boxed while it runs, and the upgrade's is boxed only
    /// once the connection's stage is gone (3.1 KB before, in this build).
    #[test]
    fn a_dial_in_flight_holds_a_small_state() {
        let settings = DialSettings {
            ws: ws_config(4096, 1 << 20),
            timeout: std::time::Duration::from_secs(1),
            write_stall: std::time::Duration::from_secs(1),
            #[cfg(feature = "tls")]
            tls: None,
        };
        let target = DialTarget::parse("wss://relay.example/relay").expect("a target");
        let connecting = connect(Arc::new(Idle), target.clone(), Vec::new(), settings.clone());
        let size = std::mem::size_of_val(&connecting);
        assert!(size <= 1024, "a dial's first stage is {size} bytes");
        // The dial itself is a stage and its deadline, held in the engine
        // without another box.
        let dialing = dial(Arc::new(Idle), target, Vec::new(), settings);
        let size = std::mem::size_of_val(&dialing);
        assert!(size <= 40, "a dial is {size} bytes");
    }
}
