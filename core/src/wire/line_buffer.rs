//! Reassembles NDJSON lines across WebSocket messages.

use super::DecodeError;

/// Accumulates message payloads and yields complete, non-blank lines.
///
/// A pending line longer than `max_frame_bytes` is reported as
/// [`DecodeError::TooLarge`] and discarded, so memory stays bounded by the
/// limit plus one message.
#[derive(Debug, Clone)]
pub struct LineBuffer {
    buf: Vec<u8>,
    start: usize,
    max_frame_bytes: usize,
}

impl LineBuffer {
    /// An empty buffer with the given line limit.
    pub fn new(max_frame_bytes: usize) -> Self {
        LineBuffer {
            buf: Vec::new(),
            start: 0,
            max_frame_bytes,
        }
    }

    /// The line limit.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// Appends one message payload.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned.
    pub fn pending_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops everything buffered (on a new connection).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// The next complete non-blank line (without its `\n`), `Err(TooLarge)`
    /// for an over-long line, or `None` when no complete line is buffered.
    pub fn next_line(&mut self) -> Option<Result<&[u8], DecodeError>> {
        loop {
            let rest = &self.buf[self.start..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > self.max_frame_bytes {
                    let len = rest.len();
                    self.clear();
                    return Some(Err(DecodeError::TooLarge {
                        len,
                        max: self.max_frame_bytes,
                    }));
                }
                if self.start > 0 {
                    self.buf.drain(..self.start);
                    self.start = 0;
                }
                return None;
            };
            let line_start = self.start;
            self.start += nl + 1;
            if nl > self.max_frame_bytes {
                return Some(Err(DecodeError::TooLarge {
                    len: nl,
                    max: self.max_frame_bytes,
                }));
            }
            let line = &self.buf[line_start..line_start + nl];
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(&self.buf[line_start..line_start + nl]));
        }
    }
}
