//! The connector of the engine world: the `relay_connector::Connector`
//! model behind a real WebSocket server (async-tungstenite's handshake and
//! framing) on the simulated network, one task per socket, with its
//! sockets' writes guarded by the engine's `StallGuard` as in the dev
//! server.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use async_tungstenite::tungstenite::http::StatusCode;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::protocol::frame::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_channel::mpsc;
use futures_util::{Sink, Stream};
use relay_connector::{Accept, Connector, ConnectorOutput, SessionId};
use relay_core::rng::Rng;
use relay_core::wire::{Action, GatewayFrame, decode_gateway_frame};
use relay_core::{Instant, UnixTime};
use relay_engine::{BoxFuture, StallGuard};

use super::executor::{Exec, Owner, Sleep};
use super::monitor::Monitor;
use super::net::{Net, SimStream};
use crate::WALL_BASE;

/// What the model asks of one socket.
enum SocketCmd {
    Text(String),
    Close(u16, String),
    /// Cut without a close frame.
    Drop,
    /// Vanish without a word (the link turns half-open).
    Vanish,
}

struct Session {
    tx: mpsc::UnboundedSender<SocketCmd>,
    client: usize,
    conn: u64,
}

struct Inner {
    model: Connector,
    sessions: BTreeMap<SessionId, Session>,
    deadline: Option<Instant>,
    timer: Option<Waker>,
    /// Sockets not reading until this instant (conn -> until).
    paused: BTreeMap<u64, u64>,
    rng: Rng,
    http_refusal_pct: u64,
    healing: bool,
    /// Wake pokes for each client's application.
    pokes: Vec<Option<mpsc::UnboundedSender<()>>>,
}

/// The connector side of a world.
pub(crate) struct ConnectorSide {
    inner: Mutex<Inner>,
    exec: Arc<Exec>,
    net: Arc<Net>,
    monitor: Arc<Monitor>,
    ws: WebSocketConfig,
    write_stall: Duration,
    /// Client of each gateway id (`gw-N`).
    gateway_ids: Vec<String>,
}

fn wall(now: u64) -> UnixTime {
    UnixTime::from_secs(WALL_BASE + now / 1000)
}

impl ConnectorSide {
    pub(crate) fn new(
        model: Connector,
        exec: Arc<Exec>,
        net: Arc<Net>,
        monitor: Arc<Monitor>,
        seed: u64,
        http_refusal_pct: u64,
        gateway_ids: Vec<String>,
    ) -> Arc<ConnectorSide> {
        let clients = gateway_ids.len();
        let max_message = model
            .config()
            .max_frame_bytes
            .saturating_mul(4)
            .max(64 * 1024);
        Arc::new(ConnectorSide {
            inner: Mutex::new(Inner {
                model,
                sessions: BTreeMap::new(),
                deadline: None,
                timer: None,
                paused: BTreeMap::new(),
                rng: Rng::new(seed),
                http_refusal_pct,
                healing: false,
                pokes: vec![None; clients],
            }),
            exec,
            net,
            monitor,
            ws: WebSocketConfig::default()
                .max_write_buffer_size(max_message.saturating_add(64 * 1024))
                .max_message_size(Some(max_message))
                .max_frame_size(Some(max_message)),
            write_stall: Duration::from_secs(10),
            gateway_ids,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.exec.now())
    }

    /// Runs `f` on the model, then carries out what it asked for.
    pub(crate) fn with_model<T>(&self, f: impl FnOnce(&mut Connector, Instant) -> T) -> T {
        let now = self.now();
        let mut inner = self.lock();
        let out = f(&mut inner.model, now);
        self.drain(&mut inner);
        out
    }

    /// Where `client`'s wake pokes go.
    pub(crate) fn set_poke(&self, client: usize, tx: mpsc::UnboundedSender<()>) {
        self.lock().pokes[client] = Some(tx);
    }

    /// From now on: no refused upgrades, no paused sockets.
    pub(crate) fn heal(&self) {
        let mut inner = self.lock();
        inner.healing = true;
        inner.paused.clear();
        for s in inner.sessions.values() {
            // A no-op text wakes a socket that was not reading.
            let _ = s.tx.unbounded_send(SocketCmd::Text(String::new()));
        }
    }

    /// Stops reading `conn` until `until` (a peer that stops reading).
    pub(crate) fn pause(&self, conn: u64, until: u64) {
        self.lock().paused.insert(conn, until);
    }

    /// Makes the socket of `conn` vanish (half-open) or be cut (reset by the
    /// network); the model hears it closed.
    pub(crate) fn vanish(&self, conn: u64) -> bool {
        let inner = self.lock();
        match inner.sessions.values().find(|s| s.conn == conn) {
            Some(s) => s.tx.unbounded_send(SocketCmd::Vanish).is_ok(),
            None => false,
        }
    }

    /// Closes `sid`'s socket with `code` (1006: cut it); the model hears
    /// it closed.
    pub(crate) fn close_session(&self, sid: SessionId, code: u16, reason: &str) {
        let now = self.now();
        let mut inner = self.lock();
        if let Some(s) = inner.sessions.remove(&sid) {
            let cmd = if code == 1006 {
                SocketCmd::Drop
            } else {
                SocketCmd::Close(code, reason.to_owned())
            };
            let _ = s.tx.unbounded_send(cmd);
            inner.model.handle_closed(sid, now);
            self.drain(&mut inner);
        }
    }

    /// The open sessions: (session, client, conn).
    pub(crate) fn sessions(&self) -> Vec<(SessionId, usize, u64)> {
        self.lock()
            .sessions
            .iter()
            .map(|(&sid, s)| (sid, s.client, s.conn))
            .collect()
    }

    /// Carries out the model's outputs.
    fn drain(&self, inner: &mut Inner) {
        loop {
            match inner.model.poll_output() {
                ConnectorOutput::Transmit { session, text } => {
                    if let Some(s) = inner.sessions.get(&session) {
                        let _ = s.tx.unbounded_send(SocketCmd::Text(text));
                    }
                }
                ConnectorOutput::Close {
                    session,
                    code,
                    reason,
                } => {
                    if let Some(s) = inner.sessions.remove(&session) {
                        let cmd = if code == 1006 {
                            SocketCmd::Drop
                        } else {
                            SocketCmd::Close(code, reason)
                        };
                        let _ = s.tx.unbounded_send(cmd);
                    }
                }
                ConnectorOutput::Dropped { session } => {
                    if let Some(s) = inner.sessions.remove(&session) {
                        let _ = s.tx.unbounded_send(SocketCmd::Drop);
                    }
                }
                ConnectorOutput::WakePoke { instance, .. } => {
                    if let Some(client) = self.gateway_ids.iter().position(|g| *g == instance)
                        && let Some(tx) = &inner.pokes[client]
                    {
                        let _ = tx.unbounded_send(());
                    }
                }
                ConnectorOutput::Wait(deadline) => {
                    if inner.deadline != deadline {
                        inner.deadline = deadline;
                        if let Some(w) = inner.timer.take() {
                            w.wake();
                        }
                    }
                    return;
                }
            }
        }
    }

    /// The model's timer, as a task.
    pub(crate) async fn run_timer(self: Arc<Self>) {
        let mut sleep: Option<(u64, Sleep)> = None;
        std::future::poll_fn(|cx| {
            loop {
                let deadline = {
                    let mut inner = self.lock();
                    inner.timer = Some(cx.waker().clone());
                    inner.deadline.map(Instant::as_millis)
                };
                let Some(at) = deadline else {
                    sleep = None;
                    return Poll::Pending;
                };
                if sleep.as_ref().is_none_or(|(s, _)| *s != at) {
                    sleep = Some((at, self.exec.sleep_until(at)));
                }
                let Some((_, s)) = sleep.as_mut() else {
                    return Poll::Pending;
                };
                if Pin::new(s).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                sleep = None;
                self.with_model(|m, now| m.handle_timeout(now));
            }
        })
        .await
    }

    /// Accepts a new TCP connection of `client` (spawned by the network).
    pub(crate) fn accept(self: &Arc<Self>, client: usize, conn: u64, stream: SimStream) {
        let me = self.clone();
        self.exec
            .spawn(Owner::World, Box::pin(me.serve(client, conn, stream)));
    }

    /// The upgrade decision, inside the WebSocket handshake. An accepted
    /// session gets its socket's queue at once, so that nothing the model
    /// emits for it before the handshake ends is lost.
    fn decide(
        &self,
        client: usize,
        conn: u64,
        headers: Vec<(String, String)>,
    ) -> Result<(SessionId, mpsc::UnboundedReceiver<SocketCmd>), u16> {
        let now = self.now();
        let mut inner = self.lock();
        let pct = inner.http_refusal_pct;
        if !inner.healing && pct > 0 && inner.rng.chance(pct, 100) {
            let status = match inner.rng.range_inclusive(0, 19) {
                0 => 410,
                1..=8 => 401,
                _ => 503,
            };
            drop(inner);
            self.monitor.trace(format!(
                "FAULT c{client} conn{conn} upgrade refused {status}"
            ));
            return Err(status);
        }
        let decision = inner.model.accept(&headers, now, wall(now.as_millis()));
        match decision {
            Accept::Accepted(sid) => {
                let (tx, rx) = mpsc::unbounded();
                inner.sessions.insert(sid, Session { tx, client, conn });
                self.drain(&mut inner);
                Ok((sid, rx))
            }
            Accept::RejectHttp { status } => Err(status),
        }
    }

    async fn serve(self: Arc<Self>, client: usize, conn: u64, stream: SimStream) {
        let exec = self.exec.clone();
        let alarm: Alarm = Box::new(move |limit: Duration| -> BoxFuture<()> {
            let at = exec.now() + u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
            Box::pin(exec.sleep_until(at))
        });
        let io: Guarded = StallGuard::new(stream, self.write_stall, alarm);
        let decided: Arc<Mutex<Option<Decision>>> = Arc::new(Mutex::new(None));
        let callback = Decide {
            side: self.clone(),
            client,
            conn,
            slot: decided.clone(),
        };
        let handshake: Pin<
            Box<dyn Future<Output = Result<WebSocketStream<Guarded>, WsError>> + Send>,
        > = Box::pin(async_tungstenite::accept_hdr_async_with_config(
            io,
            callback,
            Some(self.ws),
        ));
        let upgraded = handshake.await;
        let decision = decided.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (ws, sid, rx) = match (upgraded, decision) {
            (Ok(ws), Some(Ok((sid, rx)))) => (ws, sid, rx),
            (Err(WsError::Http(response)), _) => {
                let status = response.status().as_u16();
                if status == 401 || status == 410 {
                    // The refusal is the last thing written.
                    self.net.mark_signal(conn, 0);
                }
                self.monitor
                    .trace(format!("c{client} conn{conn} upgrade refused {status}"));
                return;
            }
            (result, decision) => {
                // The handshake failed after the model accepted: it hears
                // the socket closed.
                if let Some(Ok((sid, _))) = decision {
                    self.lock().sessions.remove(&sid);
                    self.with_model(|m, now| m.handle_closed(sid, now));
                }
                if let Err(e) = result {
                    self.monitor
                        .trace(format!("c{client} conn{conn} upgrade failed: {e}"));
                }
                return;
            }
        };
        self.monitor
            .trace(format!("c{client} conn{conn} accepted as {sid}"));
        let mut socket = Socket {
            side: self.clone(),
            ws,
            rx,
            sid,
            client,
            conn,
            out: VecDeque::new(),
            unflushed: false,
            signal: None,
            closing: None,
            pause: None,
        };
        let end = std::future::poll_fn(|cx| socket.poll(cx)).await;
        self.monitor
            .trace(format!("c{client} conn{conn} {sid} ended: {end}"));
        let vanished = end == "vanished";
        let known = self.lock().sessions.remove(&sid).is_some();
        if known || vanished {
            self.with_model(|m, now| m.handle_closed(sid, now));
        }
    }
}

/// A connector socket's transport: the stream under the write-stall guard.
type Guarded = StallGuard<SimStream, Alarm>;

/// The stall guard's alarm: a sleep on the world's executor.
type Alarm = Box<dyn Fn(Duration) -> BoxFuture<()> + Send + Sync>;

/// What the model decided at the upgrade: the session and its socket's
/// queue, or the HTTP status of the refusal.
type Decision = Result<(SessionId, mpsc::UnboundedReceiver<SocketCmd>), u16>;

/// The upgrade's callback: the model decides, inside the handshake.
struct Decide {
    side: Arc<ConnectorSide>,
    client: usize,
    conn: u64,
    slot: Arc<Mutex<Option<Decision>>>,
}

impl Callback for Decide {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        let headers = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let decision = self.side.decide(self.client, self.conn, headers);
        let accepted = decision.as_ref().map(|_| ()).map_err(|s| *s);
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(decision);
        match accepted {
            Ok(()) => Ok(response),
            Err(status) => {
                let mut refusal = ErrorResponse::new(None);
                *refusal.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
                Err(refusal)
            }
        }
    }
}

/// One accepted socket, read and written by its task.
struct Socket<S> {
    side: Arc<ConnectorSide>,
    ws: WebSocketStream<S>,
    rx: mpsc::UnboundedReceiver<SocketCmd>,
    sid: SessionId,
    client: usize,
    conn: u64,
    out: VecDeque<Message>,
    unflushed: bool,
    /// The length of a queued 4401 close frame (a revocation signal).
    signal: Option<u64>,
    /// Our close frame went out; the peer's is awaited until then.
    closing: Option<Sleep>,
    pause: Option<Sleep>,
}

impl<S> Socket<S>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<&'static str> {
        loop {
            let mut progress = false;
            loop {
                match Pin::new(&mut self.rx).poll_next(cx) {
                    Poll::Ready(Some(SocketCmd::Text(text))) => {
                        if !text.is_empty() {
                            self.out.push_back(Message::text(text));
                        }
                        progress = true;
                    }
                    Poll::Ready(Some(SocketCmd::Close(code, reason))) => {
                        // Unmasked: 2 header bytes, the code, the reason.
                        if code == 4401 && reason != "expired" {
                            self.signal = Some(4 + reason.len() as u64);
                        }
                        self.out.push_back(Message::Close(Some(CloseFrame {
                            code: CloseCode::from(code),
                            reason: reason.into(),
                        })));
                        self.closing =
                            Some(self.side.exec.sleep_until(self.side.exec.now() + 2_000));
                        progress = true;
                    }
                    Poll::Ready(Some(SocketCmd::Drop)) => return Poll::Ready("cut"),
                    Poll::Ready(Some(SocketCmd::Vanish)) => {
                        self.side.net.half_open(self.conn);
                        return Poll::Ready("vanished");
                    }
                    Poll::Ready(None) | Poll::Pending => break,
                }
            }
            match self.flush(cx) {
                Err(()) => return Poll::Ready("write failed"),
                Ok(p) => progress |= p,
            }
            if let Some(closing) = self.closing.as_mut()
                && Pin::new(closing).poll(cx).is_ready()
            {
                return Poll::Ready("closed (no close frame back)");
            }
            if !self.reading(cx) {
                // Not reading now: paused.
            } else {
                match Pin::new(&mut self.ws).poll_next(cx) {
                    Poll::Ready(Some(Ok(message))) => {
                        progress = true;
                        match message {
                            Message::Text(text) => self.received(text.as_bytes()),
                            Message::Binary(bytes) => self.received(&bytes),
                            Message::Close(_) => return Poll::Ready("closed by the gateway"),
                            _ => {}
                        }
                    }
                    Poll::Ready(Some(Err(e))) => {
                        return Poll::Ready(if matches!(e, WsError::ConnectionClosed) {
                            "closed"
                        } else {
                            "read failed"
                        });
                    }
                    Poll::Ready(None) => return Poll::Ready("ended"),
                    Poll::Pending => {}
                }
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Whether the socket reads now (a paused socket sets a timer).
    fn reading(&mut self, cx: &mut Context<'_>) -> bool {
        let until = self.side.lock().paused.get(&self.conn).copied();
        let Some(until) = until else {
            self.pause = None;
            return true;
        };
        if self.side.exec.now() >= until {
            self.side.lock().paused.remove(&self.conn);
            self.pause = None;
            return true;
        }
        let pause = self
            .pause
            .get_or_insert_with(|| self.side.exec.sleep_until(until));
        if Pin::new(pause).poll(cx).is_ready() {
            self.pause = None;
            return true;
        }
        false
    }

    /// Hands queued messages to the socket; `Ok(progress)`.
    fn flush(&mut self, cx: &mut Context<'_>) -> Result<bool, ()> {
        let mut ws = Pin::new(&mut self.ws);
        let mut progress = false;
        loop {
            while let Some(front) = self.out.front() {
                let close = matches!(front, Message::Close(_));
                // A revocation close goes out alone after the rest is
                // flushed, so that its bytes are known: the next ones the
                // library writes (a pong it owes comes after it).
                if close && self.signal.is_some() && self.unflushed {
                    break;
                }
                match ws.as_mut().poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        if close && let Some(len) = self.signal.take() {
                            self.side.net.mark_signal(self.conn, len);
                        }
                        if let Some(m) = self.out.pop_front() {
                            ws.as_mut().start_send(m).map_err(|_| ())?;
                            self.unflushed = true;
                            progress = true;
                        }
                    }
                    Poll::Ready(Err(_)) => return Err(()),
                    Poll::Pending => return Ok(progress),
                }
            }
            if !self.unflushed {
                return Ok(progress);
            }
            match ws.as_mut().poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                // After our close frame, the library reports the closing
                // handshake as an error: the frame is out.
                Poll::Ready(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))
                    if self.closing.is_some() =>
                {
                    self.unflushed = false;
                }
                Poll::Ready(Err(_)) => return Err(()),
                Poll::Pending => return Ok(progress),
            }
            if self.out.is_empty() {
                return Ok(progress);
            }
        }
    }

    /// A message from the gateway: observed, then handed to the model.
    fn received(&mut self, bytes: &[u8]) {
        {
            let mut m = self.side.monitor.lock();
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                match decode_gateway_frame(line) {
                    Ok(GatewayFrame::InboundAck { buffer_id }) => {
                        m.connector_got_ack(self.client, buffer_id.as_str());
                    }
                    Ok(GatewayFrame::Outbound(o)) => {
                        if let Action::Send(send) = &o.action {
                            m.connector_got_request(self.client, &send.content);
                        }
                    }
                    _ => {}
                }
            }
        }
        let sid = self.sid;
        self.side
            .with_model(|model, now| model.handle_message(sid, bytes, now));
    }
}
