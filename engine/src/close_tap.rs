//! The peer's close code as it was on the wire.
//!
//! tungstenite rewrites every close code it does not list as allowed to
//! 1002 "Protocol violation". Its list leaves out 1014 ("Bad Gateway"),
//! which RFC 6455 §7.4 and the IANA registry make a legal code to send. So
//! a read-side tap sits under the library: it follows the frame boundaries
//! of what the peer sends (the header of a data frame read in place, any
//! other through tungstenite's own [`FrameHeader::parse`]; only the payload
//! bytes left of the current frame are counted, never copied) and keeps the
//! raw code and reason of a close frame. When the library then yields its
//! 1002 "Protocol violation" for a code that is legal on the wire,
//! the socket (`Ws`) reports the code and reason the peer sent. Codes
//! that are not legal on the wire (1004, 1005, 1006, 1015, 1016-2999, below
//! 1000, 5000 and above) stay the protocol error they are.
//!
//! The tap costs a few comparisons per frame header and nothing per payload
//! byte; it holds at most 14 bytes of a split header in place, and the 125
//! bytes of a close frame's payload in one allocation made when a close
//! frame begins.
//!
//! During the upgrade, the request's flush also waits until the response
//! begins to arrive, keeping its first bytes where a split header goes
//! later: the library sets up its handshake read buffers only then.

use std::io::{self, Cursor};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_tungstenite::tungstenite::protocol::frame::FrameHeader;
use async_tungstenite::tungstenite::protocol::frame::coding::{Control, OpCode};
use futures_io::{AsyncRead, AsyncWrite};

/// The longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const MAX_HEADER: usize = 14;

/// The longest control-frame payload.
const MAX_CONTROL: usize = 125;

/// Whether `code` may be sent in a close frame (RFC 6455 §7.4.1 and the
/// IANA "WebSocket Close Code Number Registry").
pub(crate) fn legal_on_the_wire(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Where the tap is in the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// In the HTTP upgrade response; the count of bytes of its final
    /// `\r\n\r\n` seen so far.
    Handshake(u8),
    /// Between or inside frames.
    Frames,
    /// A close frame was read, or the stream cannot be followed (the
    /// library fails it too): nothing more to look at.
    Done,
}

/// A transport whose reads are watched for the peer's close frame.
pub(crate) struct CloseTap<S> {
    inner: S,
    phase: Phase,
    /// The start of a frame header split across reads.
    head: [u8; MAX_HEADER],
    head_len: usize,
    /// Payload bytes of the current frame not read yet.
    remaining: u64,
    /// Whether the current frame is a close frame, and its mask.
    in_close: bool,
    mask: Option<[u8; 4]>,
    /// The close frame's payload so far, allocated when a close frame
    /// begins: an open socket holds none.
    close: Option<Box<[u8; MAX_CONTROL]>>,
    close_len: usize,
    /// The code of the close frame read, if it had one.
    code: Option<u16>,
}

impl<S> CloseTap<S> {
    /// Watches `inner`, from the first byte of the upgrade response.
    pub(crate) fn new(inner: S) -> Self {
        CloseTap {
            inner,
            phase: Phase::Handshake(0),
            head: [0; MAX_HEADER],
            head_len: 0,
            remaining: 0,
            in_close: false,
            mask: None,
            close: None,
            close_len: 0,
            code: None,
        }
    }

    /// The code and reason bytes of the close frame the peer sent, once one
    /// has been read whole.
    pub(crate) fn peer_close(&self) -> Option<(u16, &[u8])> {
        let code = self.code?;
        Some((code, self.close.as_deref()?.get(2..self.close_len)?))
    }

    /// Follows the frames in `bytes`, the next bytes read from the peer.
    fn observe(&mut self, mut bytes: &[u8]) {
        loop {
            match self.phase {
                Phase::Done => return,
                Phase::Handshake(matched) => {
                    let Some(rest) = self.skip_response(matched, bytes) else {
                        return;
                    };
                    bytes = rest;
                    self.phase = Phase::Frames;
                }
                Phase::Frames if self.remaining > 0 => {
                    let take = usize::try_from(self.remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    if self.in_close
                        && let Some(close) = self.close.as_deref_mut()
                    {
                        close[self.close_len..self.close_len + take]
                            .copy_from_slice(&bytes[..take]);
                        self.close_len += take;
                    }
                    self.remaining -= take as u64;
                    bytes = &bytes[take..];
                    if self.remaining > 0 {
                        return;
                    }
                    if self.in_close {
                        self.closed();
                    }
                }
                Phase::Frames if bytes.is_empty() => return,
                Phase::Frames => {
                    let Some(rest) = self.header(bytes) else {
                        return;
                    };
                    bytes = rest;
                }
            }
        }
    }

    /// Scans the upgrade response for its end; the bytes after it, if it
    /// ended within `bytes`.
    fn skip_response<'a>(&mut self, mut matched: u8, bytes: &'a [u8]) -> Option<&'a [u8]> {
        const END: &[u8; 4] = b"\r\n\r\n";
        for (i, &byte) in bytes.iter().enumerate() {
            matched = if byte == END[usize::from(matched)] {
                matched + 1
            } else if byte == b'\r' {
                1
            } else {
                0
            };
            if usize::from(matched) == END.len() {
                return Some(&bytes[i + 1..]);
            }
        }
        self.phase = Phase::Handshake(matched);
        None
    }

    /// Reads the next frame header from a split header kept so far and
    /// `bytes`; the bytes after it, or `None` when `bytes` ran out first.
    fn header<'a>(&mut self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        if let Some(rest) = self.data_header(bytes) {
            return Some(rest);
        }
        self.any_header(bytes)
    }

    /// The common case, read without the library's parser: a whole header
    /// of a text, binary or continuation frame of at most 65,535 bytes at
    /// the start of `bytes`. Its payload is only counted. `None` for
    /// anything else (control frames, longer lengths, a split header),
    /// which [`any_header`](Self::any_header) reads.
    #[inline]
    fn data_header<'a>(&mut self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        let [b0, b1, ..] = *bytes else {
            return None;
        };
        if self.head_len != 0 || b0 & 0x0F > 0x2 {
            return None;
        }
        let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
        let (length, used) = match b1 & 0x7F {
            127 => return None,
            126 => {
                let [_, _, high, low, ..] = *bytes else {
                    return None;
                };
                (u64::from(u16::from_be_bytes([high, low])), 4 + mask)
            }
            short => (u64::from(short), 2 + mask),
        };
        let rest = bytes.get(used..)?;
        self.remaining = length;
        self.in_close = false;
        Some(rest)
    }

    /// Any frame header, through the library's parser, from a split header
    /// kept so far and `bytes`.
    fn any_header<'a>(&mut self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        let kept = self.head_len;
        let parsed = if kept == 0 {
            let mut cursor = Cursor::new(bytes);
            FrameHeader::parse(&mut cursor).map(|h| h.map(|h| (h, cursor.position())))
        } else {
            let add = (MAX_HEADER - kept).min(bytes.len());
            self.head[kept..kept + add].copy_from_slice(&bytes[..add]);
            self.head_len = kept + add;
            let mut cursor = Cursor::new(&self.head[..kept + add]);
            FrameHeader::parse(&mut cursor).map(|h| h.map(|h| (h, cursor.position())))
        };
        match parsed {
            Ok(Some(((header, length), used))) => {
                // `used` counts the kept bytes too; the rest came from `bytes`.
                let used = usize::try_from(used)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(kept);
                self.head_len = 0;
                self.frame(&header, length);
                bytes.get(used..)
            }
            Ok(None) => {
                if kept == 0 {
                    // A header that needs more is shorter than MAX_HEADER.
                    let n = bytes.len().min(MAX_HEADER);
                    self.head[..n].copy_from_slice(&bytes[..n]);
                    self.head_len = n;
                }
                None
            }
            Err(_) => {
                self.phase = Phase::Done;
                None
            }
        }
    }

    /// A frame of `length` payload bytes begins.
    fn frame(&mut self, header: &FrameHeader, length: u64) {
        self.remaining = length;
        self.in_close = header.opcode == OpCode::Control(Control::Close);
        if !self.in_close {
            return;
        }
        if length > MAX_CONTROL as u64 {
            // The library refuses it: there is no close code to keep.
            self.phase = Phase::Done;
            return;
        }
        self.mask = header.mask;
        self.close_len = 0;
        self.close.get_or_insert_with(|| Box::new([0; MAX_CONTROL]));
        if length == 0 {
            self.closed();
        }
    }

    /// The close frame's payload is in.
    fn closed(&mut self) {
        self.phase = Phase::Done;
        let Some(close) = self.close.as_deref_mut() else {
            return;
        };
        let payload = &mut close[..self.close_len];
        if let Some(mask) = self.mask {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= mask[i % 4];
            }
        }
        if let [high, low, ..] = *payload {
            self.code = Some(u16::from_be_bytes([high, low]));
        }
    }
}

impl<S: AsyncRead + Unpin> CloseTap<S> {
    /// Once the upgrade request is flushed, waits until the response
    /// begins to arrive, and keeps its first bytes (in `head`, unused until
    /// the frames begin). The WebSocket library sets up its handshake read
    /// buffers (8 KiB) as soon as the request is flushed: a dial waiting
    /// for its server would hold them all that time, and a process that
    /// dials many sockets at once keeps their pages afterwards.
    #[cold]
    fn await_response(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.head_len == 0 {
            let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.head))?;
            // An end of stream (0) is read again by the library.
            self.head_len = n;
        }
        Poll::Ready(Ok(()))
    }

    /// Hands over the response's first bytes kept by
    /// [`await_response`](Self::await_response), and what else has
    /// arrived behind them.
    #[cold]
    fn read_kept(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> usize {
        let kept = self.head_len.min(buf.len());
        buf[..kept].copy_from_slice(&self.head[..kept]);
        self.head.copy_within(kept..self.head_len, 0);
        self.head_len -= kept;
        if self.head_len > 0 {
            return kept;
        }
        // An error or the end of stream comes again on the next read.
        match Pin::new(&mut self.inner).poll_read(cx, &mut buf[kept..]) {
            Poll::Ready(Ok(more)) => kept + more,
            _ => kept,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CloseTap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = if matches!(self.phase, Phase::Handshake(_)) && self.head_len > 0 {
            self.read_kept(cx, buf)
        } else {
            ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?
        };
        if self.phase != Phase::Done {
            self.observe(&buf[..n]);
        }
        Poll::Ready(Ok(n))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for CloseTap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        // Only the upgrade request is flushed before the response.
        if matches!(self.phase, Phase::Handshake(_)) {
            return self.await_response(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One unmasked frame.
    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        let len = payload.len();
        if len < 126 {
            out.push(len as u8);
        } else if len <= usize::from(u16::MAX) {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    /// A response, data frames of every length form whose payloads look
    /// like close frames, then a close frame with `code` and `reason`.
    fn stream(code: u16, reason: &[u8]) -> Vec<u8> {
        let decoy = [0x88u8, 0x02, 0x03, 0xf6];
        let mut bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        for len in [0usize, 1, 125, 126, 300, 65_535, 65_536, 70_000] {
            let mut payload = decoy.repeat(len / 4 + 1);
            payload.truncate(len);
            bytes.extend_from_slice(&frame(0x2, &payload));
            bytes.extend_from_slice(&frame(0x9, &decoy));
        }
        let mut close = code.to_be_bytes().to_vec();
        close.extend_from_slice(reason);
        bytes.extend_from_slice(&frame(0x8, &close));
        bytes
    }

    fn tap_in_pieces(bytes: &[u8], piece: usize) -> CloseTap<()> {
        let mut tap = CloseTap::new(());
        for chunk in bytes.chunks(piece) {
            tap.observe(chunk);
        }
        tap
    }

    #[test]
    fn the_close_code_is_kept_however_the_reads_split() {
        let bytes = stream(1014, b"upstream gone");
        for piece in [1, 2, 3, 7, 13, 14, 15, 4096, 65_537, bytes.len()] {
            let tap = tap_in_pieces(&bytes, piece);
            assert_eq!(
                tap.peer_close(),
                Some((1014, &b"upstream gone"[..])),
                "pieces of {piece}"
            );
        }
    }

    /// A peer whose bytes arrive in the pieces pushed to `arrived`.
    struct Peer {
        arrived: std::collections::VecDeque<Vec<u8>>,
    }

    impl AsyncRead for Peer {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let Some(piece) = self.arrived.front_mut() else {
                return Poll::Pending;
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                self.arrived.pop_front();
            }
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Peer {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// The upgrade request's flush ends once the response begins to
    /// arrive (so the library's read buffers are not set up before), and
    /// every byte read meanwhile is handed on in order, whatever the read
    /// sizes; once the frames begin, a flush does not wait for the peer.
    #[test]
    fn the_request_flush_waits_for_the_response_and_loses_nothing() {
        let bytes = stream(1014, b"upstream gone");
        for (piece, read) in [(1, 1), (3, 2), (5, 64), (20, 7), (4096, 4096)] {
            let mut tap = CloseTap::new(Peer {
                arrived: Default::default(),
            });
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(Pin::new(&mut tap).poll_flush(&mut cx).is_pending());
            tap.inner.arrived = bytes.chunks(piece).map(<[u8]>::to_vec).collect();
            assert!(matches!(
                Pin::new(&mut tap).poll_flush(&mut cx),
                Poll::Ready(Ok(()))
            ));
            let mut got = Vec::new();
            let mut buf = vec![0u8; read];
            while let Poll::Ready(n) = Pin::new(&mut tap).poll_read(&mut cx, &mut buf) {
                let n = n.expect("a read");
                got.extend_from_slice(&buf[..n]);
            }
            assert!(got == bytes, "pieces of {piece}, reads of {read}");
            assert_eq!(tap.peer_close(), Some((1014, &b"upstream gone"[..])));
        }
        let mut tap = CloseTap::new(Peer {
            arrived: [b"HTTP/1.1 101 OK\r\n\r\n".to_vec()].into(),
        });
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut buf = [0u8; 64];
        assert!(Pin::new(&mut tap).poll_read(&mut cx, &mut buf).is_ready());
        assert!(Pin::new(&mut tap).poll_flush(&mut cx).is_ready());
    }

    #[test]
    fn a_masked_close_frame_is_unmasked() {
        let mut bytes = b"HTTP/1.1 101 OK\r\n\r\n".to_vec();
        let mask = [1u8, 2, 3, 4];
        let mut payload = 4001u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"why");
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        bytes.extend_from_slice(&[0x88, 0x80 | payload.len() as u8]);
        bytes.extend_from_slice(&mask);
        bytes.extend_from_slice(&payload);
        let tap = tap_in_pieces(&bytes, 3);
        assert_eq!(tap.peer_close(), Some((4001, &b"why"[..])));
    }

    #[test]
    fn masked_data_frames_are_skipped_whole() {
        let mut bytes = b"HTTP/1.1 101 OK\r\n\r\n".to_vec();
        // Payloads that look like close frames: a miscounted mask or length
        // would read one of them as the close.
        for len in [0usize, 5, 125, 126, 200, 65_535] {
            let payload: Vec<u8> = [0x88u8, 0x02, 0x0b, 0xb8].repeat(len / 4 + 1)[..len].to_vec();
            let mut frame = frame(0x1, &payload);
            let at = if len < 126 { 2 } else { 4 };
            frame[1] |= 0x80;
            frame.splice(at..at, [9u8, 9, 9, 9]);
            bytes.extend_from_slice(&frame);
        }
        bytes.extend_from_slice(&frame(0x8, b"\x0f\xa1bye"));
        for piece in [1, 3, 6, 4096, bytes.len()] {
            let tap = tap_in_pieces(&bytes, piece);
            assert_eq!(
                tap.peer_close(),
                Some((4001, &b"bye"[..])),
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn no_code_without_a_close_frame_or_a_status() {
        let mut bytes = b"HTTP/1.1 101 OK\r\n\r\n".to_vec();
        bytes.extend_from_slice(&frame(0x1, b"\x88\x02\x03\xf6"));
        assert_eq!(tap_in_pieces(&bytes, 1).peer_close(), None);
        bytes.extend_from_slice(&frame(0x8, b""));
        let tap = tap_in_pieces(&bytes, 5);
        assert_eq!(tap.peer_close(), None);
        assert_eq!(tap.phase, Phase::Done);
    }

    #[test]
    fn a_reserved_opcode_stops_the_tap() {
        let mut bytes = b"HTTP/1.1 101 OK\r\n\r\n".to_vec();
        bytes.extend_from_slice(&frame(0x3, b"x"));
        bytes.extend_from_slice(&frame(0x8, &1000u16.to_be_bytes()));
        let tap = tap_in_pieces(&bytes, 64);
        assert_eq!(tap.phase, Phase::Done);
        assert_eq!(tap.peer_close(), None);
    }

    #[test]
    fn legal_codes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(legal_on_the_wire(code), "{code}");
        }
        for code in [
            0,
            999,
            1004,
            1005,
            1006,
            1015,
            1016,
            2000,
            2999,
            5000,
            u16::MAX,
        ] {
            assert!(!legal_on_the_wire(code), "{code}");
        }
    }
}
