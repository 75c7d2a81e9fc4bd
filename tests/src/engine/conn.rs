//! One simulated connection: two pipes, one per direction, each holding
//! the segments in flight or unread, its window and how it ends.

use std::collections::VecDeque;
use std::task::Waker;

/// The client end of a connection.
pub(crate) const CLIENT: usize = 0;
/// The connector end.
pub(crate) const SERVER: usize = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Fin,
    Reset,
}

pub(super) struct Segment {
    pub(super) at: u64,
    pub(super) bytes: Vec<u8>,
    pub(super) read: usize,
}

#[derive(Default)]
pub(super) struct Pipe {
    pub(super) segments: VecDeque<Segment>,
    /// Bytes in flight or unread.
    pub(super) held: usize,
    pub(super) window: usize,
    pub(super) last_at: u64,
    /// The writer's FIN or a reset, and when the reader sees it.
    pub(super) end: Option<(End, u64)>,
    /// The reader's end is gone: writes fail from this instant.
    pub(super) reader_gone: Option<u64>,
    pub(super) reader: Option<Waker>,
    /// The instant a wake-up of the reader is registered for.
    pub(super) reader_alarm: Option<u64>,
    pub(super) writer: Option<Waker>,
    pub(super) written: u64,
    pub(super) read: u64,
    /// Where a revocation signal (a 4401 close frame, an HTTP 401 or 410)
    /// ends in this pipe's bytes.
    pub(super) signal_end: Option<u64>,
}

pub(super) struct Conn {
    pub(super) client: usize,
    /// `pipes[side]` is what `side` writes.
    pub(super) pipes: [Pipe; 2],
    pub(super) open: [bool; 2],
    /// The connector side vanished without a word.
    pub(super) half_open: bool,
    /// The client read a revocation signal on this connection.
    pub(super) signal_read: bool,
}
