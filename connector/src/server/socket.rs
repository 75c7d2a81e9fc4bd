//! One accepted WebSocket: reads go to the driver task, the driver task's
//! commands go to the wire.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::SessionId;
use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::frame::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use futures_util::StreamExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use relay_engine::{BoxFuture, StallGuard};
use tokio::sync::mpsc;

use super::driver::Cmd;
use super::queue::{CLOSE_QUEUE_FULL, SocketCmd, SocketRx};
use super::stats::Counters;

/// How long a closing socket waits for the peer's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Longest close reason a close frame can carry, in bytes.
const MAX_CLOSE_REASON: usize = 123;

/// Decrements the open-socket count when the socket task ends.
struct OpenGuard(Arc<Counters>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.sockets_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The WebSocket settings of an accepted socket: messages bounded by a
/// multiple of the model's frame limit (the model rejects long lines
/// itself), and a write buffer bounded to one message plus 64 KiB
/// (tungstenite's default is unbounded: a gateway flooding pings without
/// reading would grow it without end; at the bound, automatic pongs are
/// coalesced and a frame that does not fit fails the socket).
pub(crate) fn ws_config(max_frame_bytes: usize) -> WebSocketConfig {
    let max_message = max_frame_bytes.saturating_mul(4).max(64 * 1024);
    WebSocketConfig::default()
        .max_write_buffer_size(max_message.saturating_add(64 * 1024))
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// Time bounds of one accepted socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SocketLimits {
    /// Nothing read from the gateway for this long: the link is cut.
    pub(crate) idle: Duration,
    /// Writes blocked this long on a gateway that reads nothing: the link
    /// is cut.
    pub(crate) write_stall: Duration,
}

/// Completes the upgrade of `session` and serves it until either side ends
/// it; the driver task always hears of the end through [`Cmd::Closed`].
pub(crate) async fn serve(
    session: SessionId,
    upgrade: OnUpgrade,
    config: WebSocketConfig,
    limits: SocketLimits,
    rx: SocketRx,
    cmds: mpsc::Sender<Cmd>,
    counters: Arc<Counters>,
) {
    match upgrade.await {
        Ok(upgraded) => {
            let io = TokioAdapter::new(TokioIo::new(upgraded));
            let io = StallGuard::new(io, limits.write_stall, |limit| -> BoxFuture<()> {
                Box::pin(tokio::time::sleep(limit))
            });
            let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
            Counters::bump(&counters.sockets_open);
            let _guard = OpenGuard(counters);
            run(session, ws, rx, &cmds, limits.idle).await;
        }
        Err(e) => tracing::warn!(%session, error = %e, "upgrade failed"),
    }
    let _ = cmds.send(Cmd::Closed(session)).await;
}

async fn run<S>(
    session: SessionId,
    mut ws: WebSocketStream<S>,
    rx: SocketRx,
    cmds: &mpsc::Sender<Cmd>,
    idle: Duration,
) where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let SocketRx { queue: mut rx, cut } = rx;
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    loop {
        tokio::select! {
            () = cut.notified() => {
                close_queue_full(session, &mut ws).await;
                return;
            }
            () = &mut idle_timer, if !idle.is_zero() => {
                tracing::info!(%session, ?idle, "nothing read for the idle timeout; cutting the link");
                return;
            }
            msg = ws.next() => {
                // Anything read (pings included) shows the gateway alive.
                idle_timer.as_mut().reset(tokio::time::Instant::now() + idle);
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        let _ = cmds.send(Cmd::Message(session, text.as_bytes().to_vec())).await;
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        let _ = cmds.send(Cmd::Message(session, bytes.to_vec())).await;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.as_ref().map(|f| u16::from(f.code));
                        tracing::info!(%session, ?code, "peer closed");
                        // The reply close frame goes out while the stream drains.
                        drain(&mut ws).await;
                        return;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::info!(%session, error = %e, "socket failed");
                        return;
                    }
                    None => {
                        tracing::info!(%session, "socket ended without a close frame");
                        return;
                    }
                }
            },
            cmd = rx.recv() => match cmd {
                Some(SocketCmd::Text(text)) => {
                    // A gateway that reads nothing holds this send up to the
                    // write-stall bound; a full queue cuts it sooner.
                    let sent = tokio::select! {
                        sent = ws.send(Message::text(text)) => sent,
                        () = cut.notified() => {
                            close_queue_full(session, &mut ws).await;
                            return;
                        }
                    };
                    if let Err(e) = sent {
                        tracing::info!(%session, error = %e, "send failed");
                        return;
                    }
                }
                Some(SocketCmd::Close(code, reason)) => {
                    tracing::info!(%session, code, %reason, "sending close frame");
                    if ws.close(close_frame(code, &reason)).await.is_ok() {
                        drain(&mut ws).await;
                    }
                    return;
                }
                // Dropping the stream cuts the link without a close frame.
                Some(SocketCmd::Drop) | None => {
                    tracing::info!(%session, "cutting the link");
                    return;
                }
            },
        }
    }
}

/// Ends a socket whose queue filled up: a 1013 close frame if it can go out
/// within the close grace (a gateway that reads nothing takes none), and
/// no wait for the gateway's.
async fn close_queue_full<S>(session: SessionId, ws: &mut WebSocketStream<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    tracing::info!(%session, code = CLOSE_QUEUE_FULL, "the socket's queue is full; cutting the link");
    let frame = close_frame(CLOSE_QUEUE_FULL, "socket queue full");
    let _ = tokio::time::timeout(CLOSE_GRACE, ws.close(frame)).await;
}

/// The close frame for `code` and `reason`: the reason is cut to the 123
/// bytes a control frame allows, and a code that may not be sent on the wire
/// (1005, 1006, 1015, reserved ranges) becomes a close without a frame body.
fn close_frame(code: u16, reason: &str) -> Option<CloseFrame> {
    let code = CloseCode::from(code);
    if !code.is_allowed() {
        return None;
    }
    let mut cut = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(CloseFrame {
        code,
        reason: reason[..cut].to_owned().into(),
    })
}

/// Reads until the peer finishes the closing handshake (bounded).
async fn drain<S>(ws: &mut WebSocketStream<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frames_are_always_sendable() {
        let f = close_frame(4401, "unauthorized");
        assert_eq!(f.map(|f| u16::from(f.code)), Some(4401));
        assert!(close_frame(1006, "x").is_none());
        assert!(close_frame(1005, "x").is_none());
        assert!(close_frame(0, "x").is_none());
        let long = "é".repeat(100);
        let f = close_frame(1000, &long).map(|f| f.reason.len());
        assert_eq!(f, Some(122));
    }
}
