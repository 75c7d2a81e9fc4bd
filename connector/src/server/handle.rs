//! The handle of a running development connector: its addresses, the
//! admin calls (one per thing a connector can do to a gateway) and the
//! shutdown.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::{AdminError, Connector, DeclineRule, Delivery, LogEntry, Script, SessionId};
use relay_core::descriptor::CapabilityDescriptor;
use relay_core::message::MessageEvent;
use relay_core::wire::PassthroughForward;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::driver::{Cmd, Driver, call};
use super::queue::SocketCmd;
use super::stats::{Counters, DevServerStats};

/// The longest [`ConnectorServer::shutdown`] waits for live sockets to
/// finish their closing handshake.
pub const SHUTDOWN_SOCKET_GRACE: Duration = Duration::from_secs(15);

/// The server has stopped; admin calls can no longer reach the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the dev connector server has stopped")]
pub struct ServerStopped;

/// Where [`ConnectorServer::send_raw`] sends its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawTarget {
    /// This session's socket.
    Session(SessionId),
    /// The socket of this instance's live session.
    Instance(String),
}

impl From<SessionId> for RawTarget {
    fn from(s: SessionId) -> Self {
        RawTarget::Session(s)
    }
}

impl From<&str> for RawTarget {
    fn from(s: &str) -> Self {
        RawTarget::Instance(s.to_owned())
    }
}

impl From<String> for RawTarget {
    fn from(s: String) -> Self {
        RawTarget::Instance(s)
    }
}

/// A running development connector. Dropping the handle stops the server
/// (as [`ConnectorServer::shutdown`] does, without waiting).
#[derive(Debug)]
pub struct ConnectorServer {
    pub(super) local_addr: SocketAddr,
    pub(super) cmds: mpsc::Sender<Cmd>,
    pub(super) counters: Arc<Counters>,
    pub(super) stop: watch::Sender<bool>,
    pub(super) tasks: Vec<JoinHandle<()>>,
    /// Cloned into every socket task (weakly through the handlers); once
    /// this one is dropped, `sockets_ended` yields `None` when the last
    /// socket task has ended.
    pub(super) sockets: Option<mpsc::Sender<()>>,
    pub(super) sockets_ended: mpsc::Receiver<()>,
}

impl ConnectorServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base relay URL a gateway is configured with, `ws://HOST:PORT`
    /// (the gateway appends `/relay`; see [`relay_core::config::dial_url`]).
    /// A wildcard bind address (`0.0.0.0`, `::`) is given as loopback.
    pub fn url(&self) -> String {
        format!("ws://{}", self.dialable_addr())
    }

    /// The HTTP base URL of the management and admin routes,
    /// `http://HOST:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.dialable_addr())
    }

    /// The listening address, with a wildcard IP replaced by loopback.
    fn dialable_addr(&self) -> SocketAddr {
        let mut addr = self.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        addr
    }

    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Driver) -> R + Send + 'static,
    ) -> Result<R, ServerStopped> {
        call(&self.cmds, f).await.ok_or(ServerStopped)
    }

    /// Runs `f` on the model (with its current time) and returns its result.
    /// Outputs it causes are routed afterwards, like any other input.
    pub async fn with_model<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connector, relay_core::Instant) -> R + Send + 'static,
    ) -> Result<R, ServerStopped> {
        self.call(move |st| {
            let now = st.now();
            f(&mut st.connector, now)
        })
        .await
    }

    /// Delivers an inbound message to `instance` (see [`Connector::deliver`]).
    pub async fn deliver(
        &self,
        instance: &str,
        event: MessageEvent,
    ) -> Result<Delivery, ServerStopped> {
        let instance = instance.to_owned();
        tracing::info!(%instance, "admin: deliver");
        self.with_model(move |c, now| c.deliver(&instance, event, now))
            .await
    }

    /// Delivers a passthrough forward to `instance` (see
    /// [`Connector::deliver_passthrough`]).
    pub async fn deliver_passthrough(
        &self,
        instance: &str,
        forward: PassthroughForward,
    ) -> Result<Delivery, ServerStopped> {
        let instance = instance.to_owned();
        tracing::info!(%instance, "admin: deliver passthrough");
        self.with_model(move |c, now| c.deliver_passthrough(&instance, forward, now))
            .await
    }

    /// Binds `session_key` to the registered gateway `instance` (see
    /// [`Connector::bind_instance`]): gateway→connector interrupts for it are
    /// routed to that instance, and [`ConnectorServer::push_interrupt`]
    /// reaches it.
    pub async fn bind(
        &self,
        session_key: &str,
        instance: &str,
    ) -> Result<Result<(), AdminError>, ServerStopped> {
        let (key, inst) = (session_key.to_owned(), instance.to_owned());
        tracing::info!(session_key = %key, instance = %inst, "admin: bind");
        self.with_model(move |c, _| c.bind_instance(&key, &inst))
            .await
    }

    /// Pushes `interrupt_inbound` to the instance that owns `session_key`
    /// (see [`Connector::push_interrupt`]); returns the session it went to.
    pub async fn push_interrupt(
        &self,
        session_key: &str,
        chat_id: &str,
    ) -> Result<Result<SessionId, AdminError>, ServerStopped> {
        let (key, chat) = (session_key.to_owned(), chat_id.to_owned());
        tracing::info!(session_key = %key, "admin: interrupt");
        self.with_model(move |c, now| c.push_interrupt(&key, &chat, now))
            .await
    }

    /// Grants a `follow_up` capability of `kind` for `session_key` in the
    /// tenant of `instance`, expiring `expires_in` from now (`None`: never).
    pub async fn grant_capability(
        &self,
        session_key: &str,
        instance: &str,
        kind: &str,
        expires_in: Option<Duration>,
    ) -> Result<Result<(), AdminError>, ServerStopped> {
        let (key, inst, kind) = (session_key.to_owned(), instance.to_owned(), kind.to_owned());
        tracing::info!(session_key = %key, instance = %inst, %kind, "admin: grant capability");
        self.with_model(move |c, now| {
            let at = expires_in.map(|d| now.saturating_add(d));
            c.grant_instance_capability(&key, &inst, &kind, at)
        })
        .await
    }

    /// Revokes every capability of `session_key` in the tenant of
    /// `instance`; returns how many were removed.
    pub async fn revoke_capabilities(
        &self,
        session_key: &str,
        instance: &str,
    ) -> Result<Result<usize, AdminError>, ServerStopped> {
        let (key, inst) = (session_key.to_owned(), instance.to_owned());
        tracing::info!(session_key = %key, instance = %inst, "admin: revoke capabilities");
        self.with_model(move |c, _| c.revoke_capabilities(&key, &inst))
            .await
    }

    /// Sets the descriptor answered to later hellos for `platform`.
    pub async fn set_descriptor(
        &self,
        platform: &str,
        descriptor: CapabilityDescriptor,
    ) -> Result<(), ServerStopped> {
        let platform = platform.to_owned();
        tracing::info!(%platform, "admin: set descriptor");
        self.with_model(move |c, _| c.set_descriptor(&platform, descriptor))
            .await
    }

    /// Declines every later request to the target of `rule` (see
    /// [`Connector::decline`]).
    pub async fn decline(
        &self,
        rule: DeclineRule,
    ) -> Result<Result<(), AdminError>, ServerStopped> {
        tracing::info!(?rule, "admin: decline");
        self.with_model(move |c, _| c.decline(rule)).await
    }

    /// Queues a one-shot answer for the first later request it matches (see
    /// [`Connector::push_script`]); returns how many scripts are queued.
    pub async fn push_script(
        &self,
        script: Script,
    ) -> Result<Result<usize, AdminError>, ServerStopped> {
        tracing::info!(?script, "admin: script");
        self.with_model(move |c, _| c.push_script(script)).await
    }

    /// A copy of the model's frame log (oldest first).
    pub async fn frame_log(&self) -> Result<Vec<LogEntry>, ServerStopped> {
        self.with_model(|c, _| c.log().entries().cloned().collect())
            .await
    }

    /// Revokes `gateway_id`: its live socket is closed with 4401 and later
    /// upgrades are refused.
    pub async fn revoke(&self, gateway_id: &str) -> Result<(), ServerStopped> {
        let id = gateway_id.to_owned();
        tracing::info!(gateway_id = %id, "admin: revoke");
        self.with_model(move |c, now| c.revoke(&id, now)).await
    }

    /// Restarts the model ([`Connector::restart`]): every session is lost
    /// and its socket cut without a close frame; buffers and registrations
    /// are kept. Returns the number of sockets cut.
    pub async fn restart(&self) -> Result<usize, ServerStopped> {
        tracing::info!("admin: restart");
        self.call(|st| {
            let now = st.now();
            // Every socket the model routes to belongs to a session it is
            // about to drop; the `Dropped` outputs cut them right after.
            let cut = st.sockets.len();
            st.connector.restart(now);
            cut
        })
        .await
    }

    /// Cuts every live socket without a close frame (an abnormal close, as
    /// if the network failed); the model sees each session close. Returns
    /// the number of sockets cut.
    pub async fn drop_connections(&self) -> Result<usize, ServerStopped> {
        tracing::info!("admin: drop connections");
        self.call(Driver::drop_all).await
    }

    /// The model's counters and the server's own.
    pub async fn stats(&self) -> Result<DevServerStats, ServerStopped> {
        let counters = Arc::clone(&self.counters);
        self.call(move |st| DevServerStats::collect(&st.connector, &counters))
            .await
    }

    /// WebSocket upgrade requests received on `/relay` so far (every dial,
    /// accepted or not).
    pub fn upgrade_count(&self) -> u64 {
        Counters::get(&self.counters.upgrades_attempted)
    }

    /// WebSocket sockets currently open.
    pub fn sockets_open(&self) -> u64 {
        Counters::get(&self.counters.sockets_open)
    }

    /// Items in `instance`'s buffer.
    pub async fn buffer_len(&self, instance: &str) -> Result<usize, ServerStopped> {
        let instance = instance.to_owned();
        self.with_model(move |c, _| c.buffer_len(&instance)).await
    }

    /// The model's live sessions, in id order.
    pub async fn sessions(&self) -> Result<Vec<SessionId>, ServerStopped> {
        self.with_model(|c, _| c.sessions()).await
    }

    /// Sends `text` verbatim as one WebSocket text message on the socket of
    /// `target`, bypassing the model (for garbage or oversized frames in
    /// tests). Returns false when there is no such socket.
    pub async fn send_raw(
        &self,
        target: impl Into<RawTarget>,
        text: impl Into<String>,
    ) -> Result<bool, ServerStopped> {
        let target = target.into();
        let text = text.into();
        tracing::info!(?target, bytes = text.len(), "admin: send raw text");
        self.call(move |st| {
            let session = match target {
                RawTarget::Session(s) => Some(s),
                RawTarget::Instance(i) => st.connector.session_of(&i),
            };
            session.is_some_and(|s| st.send_to_socket(s, SocketCmd::Text(text)))
        })
        .await
    }

    /// Stops accepting, closes every live socket with 1001 and waits for the
    /// server's tasks to end, and for each socket's closing handshake (each
    /// bounded by the write-stall timeout and a 2 s wait for the peer's
    /// close frame; the whole wait by [`SHUTDOWN_SOCKET_GRACE`]).
    pub async fn shutdown(mut self) {
        tracing::info!("dev connector shutting down");
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        self.sockets = None;
        let closed = tokio::time::timeout(SHUTDOWN_SOCKET_GRACE, self.sockets_ended.recv()).await;
        if closed.is_err() {
            tracing::warn!(
                grace = ?SHUTDOWN_SOCKET_GRACE,
                "sockets still closing at the end of the shutdown grace; leaving them"
            );
        }
    }
}

impl Drop for ConnectorServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
