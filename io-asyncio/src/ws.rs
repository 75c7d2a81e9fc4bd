//! WebSocket framing over in-memory buffers, for a driver whose socket is
//! not Rust's: bytes read from the socket go in with [`WsSocket::feed`],
//! bytes to write come out of [`WsSocket::output`]. The HTTP upgrade
//! and the framing are tungstenite's; this module only moves bytes.

use std::io::{self, Read, Write};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::{ClientHandshake, Request};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::http::HeaderValue;
use tungstenite::http::header::HeaderName;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error, Message, WebSocket};

/// Largest WebSocket message accepted from the connector. The core bounds
/// each NDJSON line (1 MiB by default); one message may carry a few lines.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The most tungstenite takes from the fed bytes at a time. It zero-fills
/// that much of its buffer before every take, the last one of each feed
/// (which finds nothing) included: kept near the size of one frame, so a
/// small frame does not cost two 16 KiB fills. Larger messages are taken
/// in several pieces.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// The socket's two directions as buffers: `Read` takes what was fed and
/// reports `WouldBlock` once it is used up; `Write` appends to the output.
#[derive(Debug, Default)]
pub struct MemStream {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        if self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        }
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl MemStream {
    fn push(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

enum Phase {
    Upgrading(Box<MidHandshake<ClientHandshake<MemStream>>>),
    Open(Box<WebSocket<MemStream>>),
    /// Closed, failed, or in the middle of a transition.
    Done,
}

/// What reading fed bytes produced.
#[derive(Debug)]
pub enum Incoming {
    /// The upgrade completed: the socket is open.
    Opened,
    /// The server answered the upgrade with this HTTP status (not 101).
    Refused {
        /// The status code.
        status: u16,
    },
    /// One text message (already checked as UTF-8).
    Text(tungstenite::Utf8Bytes),
    /// One binary message.
    Binary(tungstenite::Bytes),
    /// A pong.
    Pong,
    /// The server closed (`code` None: a close frame without a code).
    Closed {
        /// The close code.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
    /// A protocol violation or an over-long message: the socket is unusable.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// One client WebSocket whose bytes travel through buffers.
pub struct WsSocket {
    phase: Phase,
    /// Output left after the socket stopped taking frames (its close frame).
    pending: Vec<u8>,
}

impl WsSocket {
    /// Starts the upgrade to `url` with extra `headers`; the request is in
    /// [`output`](Self::output).
    pub fn connect(url: &str, headers: &[(String, String)]) -> Result<Self, String> {
        let mut request: Request = url.into_client_request().map_err(|e| e.to_string())?;
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_str(v).map_err(|e| e.to_string())?;
            request.headers_mut().append(name, value);
        }
        let mid = ClientHandshake::start(MemStream::default(), request, Some(config()))
            .map_err(|e| e.to_string())?;
        let mut sock = WsSocket {
            phase: Phase::Upgrading(Box::new(mid)),
            pending: Vec::new(),
        };
        // Writes the request into the buffer; a memory stream cannot fail.
        let mut out = Vec::new();
        sock.advance_handshake(&mut out);
        Ok(sock)
    }

    fn stream(&mut self) -> Option<&mut MemStream> {
        match &mut self.phase {
            Phase::Upgrading(mid) => Some(mid.get_mut().get_mut()),
            Phase::Open(ws) => Some(ws.get_mut()),
            Phase::Done => None,
        }
    }

    fn advance_handshake(&mut self, out: &mut Vec<Incoming>) {
        let Phase::Upgrading(mid) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        match (*mid).handshake() {
            Ok((ws, _response)) => {
                self.phase = Phase::Open(Box::new(ws));
                out.push(Incoming::Opened);
            }
            Err(HandshakeError::Interrupted(mid)) => self.phase = Phase::Upgrading(Box::new(mid)),
            Err(HandshakeError::Failure(Error::Http(resp))) => {
                out.push(Incoming::Refused {
                    status: resp.status().as_u16(),
                });
            }
            Err(HandshakeError::Failure(e)) => out.push(Incoming::Failed {
                reason: e.to_string(),
            }),
        }
    }

    /// Whether the upgrade completed and the socket is usable.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open(_))
    }

    /// Reads `data` from the socket; what it completed is appended to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Incoming>) {
        match self.stream() {
            Some(s) => s.push(data),
            None => return,
        }
        if matches!(self.phase, Phase::Upgrading(_)) {
            self.advance_handshake(out);
        }
        let Phase::Open(ws) = &mut self.phase else {
            return;
        };
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => out.push(Incoming::Text(t)),
                Ok(Message::Binary(b)) => out.push(Incoming::Binary(b)),
                Ok(Message::Pong(_)) => out.push(Incoming::Pong),
                Ok(Message::Ping(_) | Message::Frame(_)) => {}
                Ok(Message::Close(frame)) => {
                    let (code, reason) = match frame {
                        Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                        None => (None, String::new()),
                    };
                    out.push(Incoming::Closed { code, reason });
                    self.phase = Phase::Done;
                    return;
                }
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(Error::ConnectionClosed | Error::AlreadyClosed) => {
                    self.phase = Phase::Done;
                    return;
                }
                Err(e) => {
                    out.push(Incoming::Failed {
                        reason: e.to_string(),
                    });
                    self.phase = Phase::Done;
                    return;
                }
            }
        }
        // Queued pong replies to the server's pings.
        let _ = ws.flush();
    }

    /// Frames `text` as one text message.
    pub fn send_text(&mut self, text: String) -> bool {
        match &mut self.phase {
            Phase::Open(ws) => ws.send(Message::text(text)).is_ok(),
            _ => false,
        }
    }

    /// Frames a ping.
    pub fn send_ping(&mut self) -> bool {
        match &mut self.phase {
            Phase::Open(ws) => ws.send(Message::Ping(Default::default())).is_ok(),
            _ => false,
        }
    }

    /// Frames a close with `code` and `reason`; the socket takes nothing
    /// more.
    pub fn close(&mut self, code: u16, reason: &str) {
        if let Phase::Open(ws) = &mut self.phase {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.to_owned().into(),
            };
            let _ = ws.close(Some(frame));
            let _ = ws.flush();
        }
        if let Some(s) = self.stream() {
            self.pending = std::mem::take(&mut s.output);
        }
        self.phase = Phase::Done;
    }

    /// The bytes to write to the socket now (the caller clears the buffer
    /// once written; its memory is kept for the next frames).
    pub fn output(&mut self) -> &mut Vec<u8> {
        if !self.pending.is_empty() {
            return &mut self.pending;
        }
        match &mut self.phase {
            Phase::Upgrading(mid) => &mut mid.get_mut().get_mut().output,
            Phase::Open(ws) => &mut ws.get_mut().output,
            Phase::Done => &mut self.pending,
        }
    }
}
