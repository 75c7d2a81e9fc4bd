//! Reassembles NDJSON lines across WebSocket messages.

use crate::lax::DecodeError;

/// The default bound on one NDJSON line (1 MiB), checked before parsing.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024 * 1024;

/// The index of the first `\n` in `bytes` (SIMD; serde_json already
/// depends on memchr).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Accumulates message payloads and yields complete, non-blank lines.
///
/// * Several frames in one message and one frame across several messages
///   are both fine; a trailing partial line waits for its `\n`.
/// * Blank and whitespace-only lines are skipped.
/// * A `\r` before the `\n` is dropped, so CRLF-terminated lines decode as
///   if they ended in `\n` alone.
/// * A line longer than `max_frame_bytes` (complete, or still pending) is
///   reported once as [`DecodeError::TooLarge`]; its bytes are released at
///   once and the rest of that line, up to its `\n`, is discarded as it
///   arrives. Memory therefore stays bounded by the limit plus one message.
#[derive(Debug, Clone)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Start of the first unreturned byte.
    start: usize,
    /// Bytes after `start` already known to hold no `\n`.
    scanned: usize,
    /// Dropping the tail of an over-long line until its `\n`.
    discarding: bool,
    max_frame_bytes: usize,
}

impl Default for LineBuffer {
    fn default() -> Self {
        LineBuffer::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl LineBuffer {
    /// An empty buffer with the given line limit.
    pub fn new(max_frame_bytes: usize) -> Self {
        LineBuffer {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            discarding: false,
            max_frame_bytes,
        }
    }

    /// The line limit.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// Appends one message payload.
    pub fn extend(&mut self, mut bytes: &[u8]) {
        if self.discarding {
            match find_newline(bytes) {
                None => return,
                Some(i) => {
                    self.discarding = false;
                    bytes = bytes.get(i + 1..).unwrap_or_default();
                }
            }
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Whether nothing is pending and no over-long line is being discarded:
    /// a message may then be read in place with [`LineBuffer::split_line`].
    pub fn is_idle(&self) -> bool {
        self.start == self.buf.len() && !self.discarding
    }

    /// The next complete non-blank line of `rest` (a message's unread part),
    /// read in place; `rest` moves past it. For use while the buffer
    /// [`is_idle`](LineBuffer::is_idle): the rules are those of
    /// [`LineBuffer::next_line`], without copying. `None` once `rest` holds
    /// no complete line; the caller then hands what is left to
    /// [`LineBuffer::extend`], so only a trailing partial line is copied.
    #[inline]
    pub fn split_line<'a>(&self, rest: &mut &'a [u8]) -> Option<Result<&'a [u8], DecodeError>> {
        let bytes: &'a [u8] = rest;
        let nl = find_newline(bytes)?;
        if self.is_plain_line(bytes, nl)
            && let (Some(line), Some(after)) = (bytes.get(..nl), bytes.get(nl + 1..))
        {
            *rest = after;
            return Some(Ok(line));
        }
        let (line, used) = self.cut(bytes, nl)?;
        *rest = bytes.get(used..).unwrap_or_default();
        Some(line.map(|(from, to)| bytes.get(from..to).unwrap_or_default()))
    }

    /// [`LineBuffer::split_line`] for a text message: the lines are `&str`
    /// (cut at `\n` and before a `\r`, which are character boundaries).
    #[inline]
    pub fn split_text_line<'a>(&self, rest: &mut &'a str) -> Option<Result<&'a str, DecodeError>> {
        let text: &'a str = rest;
        let nl = find_newline(text.as_bytes())?;
        if self.is_plain_line(text.as_bytes(), nl)
            && let (Some(line), Some(after)) = (text.get(..nl), text.get(nl + 1..))
        {
            *rest = after;
            return Some(Ok(line));
        }
        let (line, used) = self.cut(text.as_bytes(), nl)?;
        *rest = text.get(used..).unwrap_or_default();
        Some(line.map(|(from, to)| text.get(from..to).unwrap_or_default()))
    }

    /// Whether the first line of `bytes` (`nl`: the index of its `\n`) is
    /// the usual one, returned whole as it is: not blank at its start, no
    /// `\r` before its `\n`, within the limit. Any other goes through
    /// [`cut`](Self::cut), which gives the same result for this one too.
    #[inline]
    fn is_plain_line(&self, bytes: &[u8], nl: usize) -> bool {
        nl <= self.max_frame_bytes
            && bytes.first().is_some_and(|b| !b.is_ascii_whitespace())
            && bytes.get(nl.wrapping_sub(1)) != Some(&b'\r')
    }

    /// The range of the next complete non-blank line of `bytes` (or its
    /// over-long error) and the bytes it used up, blank lines before it
    /// included; `nl` is the index of the first `\n` of `bytes`.
    #[allow(clippy::type_complexity)]
    #[inline(never)]
    fn cut(
        &self,
        bytes: &[u8],
        mut nl: usize,
    ) -> Option<(Result<(usize, usize), DecodeError>, usize)> {
        let mut start = 0;
        loop {
            if let Some(line) = self.complete_line(bytes, start, nl) {
                return Some((line, nl + 1));
            }
            start = nl + 1;
            nl = start + find_newline(bytes.get(start..).unwrap_or_default())?;
        }
    }

    /// The complete line `bytes[start..nl]` (`nl`: the index of its `\n`):
    /// its range without a trailing `\r`, `TooLarge` over the limit, or
    /// `None` when it is blank (skipped).
    fn complete_line(
        &self,
        bytes: &[u8],
        start: usize,
        nl: usize,
    ) -> Option<Result<(usize, usize), DecodeError>> {
        let len = nl - start;
        if len > self.max_frame_bytes {
            return Some(Err(DecodeError::TooLarge {
                len,
                max: self.max_frame_bytes,
            }));
        }
        let mut end = nl;
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        let line = bytes.get(start..end).unwrap_or_default();
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(Ok((start, end)))
    }

    /// Bytes buffered but not yet returned.
    pub fn pending_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Bytes of memory held (capacity), for tests and metrics.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drops everything buffered (on a new connection).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        self.discarding = false;
    }

    /// Frees the buffer's memory when nothing is pending (the handshake's
    /// large descriptor line need not stay reserved on an idle link).
    pub fn release_if_drained(&mut self) {
        if self.start == self.buf.len() {
            self.release();
        }
    }

    fn release(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
    }

    /// The next complete non-blank line (without its `\n`), `Err(TooLarge)`
    /// for an over-long line, or `None` when no complete line is buffered.
    pub fn next_line(&mut self) -> Option<Result<&[u8], DecodeError>> {
        match self.next_range()? {
            Ok((from, to)) => Some(Ok(self.buf.get(from..to).unwrap_or_default())),
            Err(e) => Some(Err(e)),
        }
    }

    fn next_range(&mut self) -> Option<Result<(usize, usize), DecodeError>> {
        loop {
            let rest = self.buf.get(self.start..).unwrap_or_default();
            let unscanned = rest.get(self.scanned..).unwrap_or_default();
            let Some(i) = find_newline(unscanned) else {
                let len = rest.len();
                if len > self.max_frame_bytes {
                    self.release();
                    self.discarding = true;
                    return Some(Err(DecodeError::TooLarge {
                        len,
                        max: self.max_frame_bytes,
                    }));
                }
                self.scanned = len;
                if self.start > 0 {
                    self.buf.drain(..self.start);
                    self.start = 0;
                }
                return None;
            };
            let line_start = self.start;
            let nl = line_start + self.scanned + i;
            self.start = nl + 1;
            self.scanned = 0;
            if let Some(line) = self.complete_line(&self.buf, line_start, nl) {
                return Some(line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LineBuffer, find_newline};
    use crate::lax::DecodeError;

    type Lines = Vec<Result<Vec<u8>, DecodeError>>;

    /// The lines of one message read in place (bytes, then text), then
    /// what was left unread handed to a buffer as the connection does;
    /// and the bytes that buffer keeps pending.
    fn in_place(max: usize, msg: &str) -> (Lines, Lines, usize) {
        let lb = LineBuffer::new(max);
        let (mut bytes, mut text) = (msg.as_bytes(), msg);
        let mut from_bytes = Vec::new();
        while let Some(line) = lb.split_line(&mut bytes) {
            from_bytes.push(line.map(<[u8]>::to_vec));
        }
        let mut from_text = Vec::new();
        while let Some(line) = lb.split_text_line(&mut text) {
            from_text.push(line.map(|l| l.as_bytes().to_vec()));
        }
        assert_eq!(bytes, text.as_bytes());
        let mut rest = LineBuffer::new(max);
        rest.extend(bytes);
        while let Some(line) = rest.next_line() {
            from_bytes.push(line.clone().map(<[u8]>::to_vec));
            from_text.push(line.map(<[u8]>::to_vec));
        }
        (from_bytes, from_text, rest.pending_len())
    }

    /// The usual line (returned whole at once) and every other kind
    /// (blank, leading blanks, CRLF, at and over the limit, non-ASCII)
    /// read in place give what the copying path gives.
    #[test]
    fn in_place_lines_agree_with_buffered_lines() {
        let max = 8;
        let pieces = [
            "{}",
            "{\"a\":1}",
            "{\"ab\":1}",
            "{\"abc\":1}",
            " {}",
            "\t{}",
            "{}\r",
            "\r",
            "",
            "  ",
            "é{}",
            "{é}\r",
            "x",
            "0123456789",
        ];
        let mut rng = crate::rng::Rng::new(7);
        for _ in 0..20_000 {
            let n = rng.range_inclusive(1, 4);
            let mut msg = String::new();
            for _ in 0..n {
                let i = rng.range_inclusive(0, pieces.len() as u64 - 1) as usize;
                msg.push_str(pieces[i]);
                msg.push('\n');
            }
            if rng.range_inclusive(0, 3) == 0 {
                msg.push_str("{\"tail\"");
            }
            let (from_bytes, from_text, left) = in_place(max, &msg);
            let mut copied = LineBuffer::new(max);
            copied.extend(msg.as_bytes());
            let mut want = Vec::new();
            while let Some(line) = copied.next_line() {
                want.push(line.map(<[u8]>::to_vec));
            }
            assert_eq!(from_bytes, want, "{msg:?}");
            assert_eq!(from_text, want, "{msg:?}");
            assert_eq!(left, copied.pending_len(), "{msg:?}");
        }
    }

    #[test]
    fn find_newline_matches_a_byte_loop() {
        let mut data: Vec<u8> = (0u8..=255).cycle().take(600).collect();
        data.retain(|&b| b != b'\n');
        for len in 0..40 {
            for at in 0..=len {
                let mut v = data[..len].to_vec();
                if at < len {
                    v[at] = b'\n';
                    if at + 3 < len {
                        v[at + 3] = b'\n';
                    }
                }
                let want = v.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&v), want, "len {len}, at {at}");
            }
        }
        // bytes just above and below '\n' never match
        assert_eq!(
            find_newline(&[9, 11, 0x8a, 0x0a ^ 0x80, 9, 11, 9, 11, 9]),
            None
        );
    }
}
