//! An open socket: the WebSocket over the close-code tap, with the peer's
//! close code put back where the library rewrote a legal one.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_util::{Sink, SinkExt, Stream};

use super::close_tap::{CloseTap, legal_on_the_wire};
use super::io::Io;

/// The reason tungstenite puts in place of a close code it does not allow.
const REWRITTEN_REASON: &str = "Protocol violation";

/// An open socket, read and written by the one task that drives it; a
/// close frame from the peer carries the code it was sent with whenever
/// that code is legal on the wire.
pub(crate) struct Ws(WebSocketStream<CloseTap<Io>>);

impl Ws {
    /// The socket over a tapped transport.
    pub(crate) fn new(ws: WebSocketStream<CloseTap<Io>>) -> Self {
        Ws(ws)
    }

    /// Sends a close frame and flushes it.
    pub(crate) async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), WsError> {
        self.send(Message::Close(frame)).await
    }

    /// Puts back the peer's close code where the library rewrote a legal
    /// one.
    fn restore(&self, message: Message) -> Message {
        let Message::Close(Some(frame)) = &message else {
            return message;
        };
        if frame.code != CloseCode::Protocol || frame.reason.as_str() != REWRITTEN_REASON {
            return message;
        }
        match self.0.get_ref().peer_close() {
            Some((code, reason)) if legal_on_the_wire(code) => {
                // The library checked the reason is UTF-8 before rewriting.
                let reason = std::str::from_utf8(reason).unwrap_or_default();
                Message::Close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: Utf8Bytes::from(reason),
                }))
            }
            _ => message,
        }
    }
}

impl Stream for Ws {
    type Item = Result<Message, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = ready!(Pin::new(&mut self.0).poll_next(cx));
        Poll::Ready(item.map(|item| item.map(|message| self.restore(message))))
    }
}

impl Sink<Message> for Ws {
    type Error = WsError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Pin::new(&mut self.0).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), WsError> {
        Pin::new(&mut self.0).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
