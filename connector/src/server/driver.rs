//! The driver task: it owns the connector model, every socket and admin call
//! feeds it through one channel, and it carries out the model's outputs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::{Connector, ConnectorOutput, SessionId};
use relay_core::Instant;
use relay_engine::Clock;
use tokio::sync::{mpsc, oneshot, watch};

use super::poke;
use super::queue::{SocketCmd, SocketTx};
use super::stats::Counters;

/// Inputs queued for the driver task before senders wait: socket readers
/// then stop reading, which pushes back on a flooding peer.
pub(crate) const QUEUE: usize = 1024;

/// Close code sent to every live socket when the server shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;

/// A call run on the driver task with exclusive access to its state.
pub(crate) type Call = Box<dyn FnOnce(&mut Driver) + Send>;

/// What the driver task receives.
pub(crate) enum Cmd {
    /// One WS text or binary message of a session.
    Message(SessionId, Vec<u8>),
    /// A session's socket ended (or its upgrade failed).
    Closed(SessionId),
    /// Anything else: admin calls, upgrades, HTTP routes.
    Call(Call),
}

impl core::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Cmd::Message(s, bytes) => write!(f, "Message({s}, {} bytes)", bytes.len()),
            Cmd::Closed(s) => write!(f, "Closed({s})"),
            Cmd::Call(_) => f.write_str("Call"),
        }
    }
}

/// The model and the live sockets, owned by the driver task.
pub(crate) struct Driver {
    pub(crate) connector: Connector,
    pub(crate) counters: Arc<Counters>,
    /// Writers of the sockets the model still routes to.
    pub(crate) sockets: BTreeMap<SessionId, SocketTx>,
    /// How long routing waits for room in a full socket queue before the
    /// socket is treated as gone.
    pub(crate) room_wait: Duration,
}

/// What [`Driver::route`] stopped at.
enum Routed {
    /// Every output carried out; the deadline of the final `Wait`.
    Wait(Option<Instant>),
    /// A frame for a socket whose queue is full: wait for room first.
    Full(SessionId, SocketCmd),
}

impl Driver {
    /// The model's current time.
    pub(crate) fn now(&self) -> Instant {
        Clock::now()
    }

    /// Sends `cmd` to the socket of `session` without waiting; false if it
    /// is gone. A socket whose queue is full is treated as gone (see
    /// [`cut_full`](Self::cut_full)).
    pub(crate) fn send_to_socket(&mut self, session: SessionId, cmd: SocketCmd) -> bool {
        let Some(tx) = self.sockets.get(&session) else {
            return false;
        };
        match tx.queue.try_send(cmd) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.cut_full(session);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Treats the socket of `session`, whose queue stayed full, as gone: it
    /// is cut (closed with [`CLOSE_QUEUE_FULL`](super::queue::CLOSE_QUEUE_FULL)) and the model hears that it
    /// closed, so that what it sent unacked is redelivered and new
    /// deliveries are buffered.
    fn cut_full(&mut self, session: SessionId) {
        tracing::warn!(%session, "the socket's queue stayed full; treating the socket as gone");
        Counters::bump(&self.counters.sockets_cut_queue_full);
        if let Some(tx) = self.sockets.remove(&session) {
            tx.cut.notify_one();
        }
        let now = self.now();
        self.connector.handle_closed(session, now);
    }

    /// Carries out every output of the model. A frame for a socket whose
    /// queue is full waits for room (backpressure: the driver task, and so
    /// its callers, wait) for at most `room_wait`; a socket still full then
    /// is treated as gone. Returns the deadline of the final `Wait`.
    async fn route_all(&mut self) -> Option<Instant> {
        loop {
            match self.route() {
                Routed::Wait(deadline) => return deadline,
                Routed::Full(session, cmd) => {
                    let Some(queue) = self.sockets.get(&session).map(|tx| tx.queue.clone()) else {
                        continue;
                    };
                    match tokio::time::timeout(self.room_wait, queue.send(cmd)).await {
                        // Queued, or the socket ended (its `Closed` follows).
                        Ok(_) => {}
                        Err(_) => self.cut_full(session),
                    }
                }
            }
        }
    }

    /// Drains the model's outputs and carries them out, up to the first
    /// frame that finds its socket's queue full.
    fn route(&mut self) -> Routed {
        loop {
            match self.connector.poll_output() {
                ConnectorOutput::Transmit { session, text } => {
                    let Some(tx) = self.sockets.get(&session) else {
                        tracing::debug!(%session, "frame for a session without a socket dropped");
                        continue;
                    };
                    match tx.queue.try_send(SocketCmd::Text(text)) {
                        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                        Err(mpsc::error::TrySendError::Full(cmd)) => {
                            return Routed::Full(session, cmd);
                        }
                    }
                }
                ConnectorOutput::Close {
                    session,
                    code,
                    reason,
                } => {
                    tracing::info!(%session, code, %reason, "closing session");
                    if let Some(tx) = self.sockets.remove(&session) {
                        tx.send_or_cut(SocketCmd::Close(code, reason));
                    }
                }
                ConnectorOutput::Dropped { session } => {
                    tracing::info!(%session, "dropping session without a close frame");
                    if let Some(tx) = self.sockets.remove(&session) {
                        tx.send_or_cut(SocketCmd::Drop);
                    }
                }
                ConnectorOutput::WakePoke { instance, url } => {
                    tracing::info!(%instance, "wake poke");
                    let counters = Arc::clone(&self.counters);
                    tokio::spawn(async move {
                        let answered = poke::send(&instance, &url).await;
                        Counters::bump(if answered {
                            &counters.wake_pokes_sent
                        } else {
                            &counters.wake_pokes_failed
                        });
                    });
                }
                ConnectorOutput::Wait(deadline) => return Routed::Wait(deadline),
            }
        }
    }

    /// Cuts every live socket without a close frame, as if the network
    /// failed, and tells the model they closed. Returns how many were cut.
    pub(crate) fn drop_all(&mut self) -> usize {
        let now = self.now();
        let sockets = std::mem::take(&mut self.sockets);
        let n = sockets.len();
        for (session, tx) in sockets {
            tx.send_or_cut(SocketCmd::Drop);
            self.connector.handle_closed(session, now);
        }
        n
    }
}

/// Runs the model until `shutdown` fires or every sender is gone, then
/// closes the remaining sockets with 1001.
pub(crate) async fn run(
    mut state: Driver,
    mut cmds: mpsc::Receiver<Cmd>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut deadline = state.route_all().await;
    loop {
        let timer = deadline.map(Clock::deadline);
        let sleep = async {
            match timer {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                None => break,
                Some(Cmd::Message(session, bytes)) => {
                    let now = state.now();
                    state.connector.handle_message(session, &bytes, now);
                }
                Some(Cmd::Closed(session)) => {
                    let now = state.now();
                    state.sockets.remove(&session);
                    state.connector.handle_closed(session, now);
                }
                Some(Cmd::Call(call)) => call(&mut state),
            },
            () = sleep => {
                let now = state.now();
                state.connector.handle_timeout(now);
            }
            _ = shutdown.changed() => break,
        }
        deadline = state.route_all().await;
    }
    for (_, tx) in std::mem::take(&mut state.sockets) {
        tx.send_or_cut(SocketCmd::Close(CLOSE_GOING_AWAY, "shutdown".to_owned()));
    }
}

/// Runs `f` on the driver task and returns its result (`None` once the
/// server has stopped).
pub(crate) async fn call<R: Send + 'static>(
    cmds: &mpsc::Sender<Cmd>,
    f: impl FnOnce(&mut Driver) -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = oneshot::channel();
    let call: Call = Box::new(move |st| {
        let _ = tx.send(f(st));
    });
    cmds.send(Cmd::Call(call)).await.ok()?;
    rx.await.ok()
}
