//! The byte streams of the simulated network: reads, writes, closes and
//! dropped ends, on virtual time.

use std::io;
use std::task::{Context, Poll};

use super::conn::{CLIENT, End, SERVER, Segment};
use super::net::{Inner, Net};

impl Net {
    pub(super) fn poll_read(
        &self,
        conn: u64,
        side: usize,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let now = self.exec.now();
        let mut inner = self.lock();
        let Inner {
            rng, faults, conns, ..
        } = &mut *inner;
        let Some(c) = conns.get_mut(&conn) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        let pipe = &mut c.pipes[1 - side];
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if let Some(segment) = pipe.segments.front_mut()
            && segment.at <= now
        {
            let left = segment.bytes.len() - segment.read;
            let mut n = left.min(buf.len());
            if faults.split && n > 1 && rng.chance(1, 3) {
                n = rng.range_inclusive(1, n as u64) as usize;
            }
            buf[..n].copy_from_slice(&segment.bytes[segment.read..segment.read + n]);
            segment.read += n;
            if segment.read == segment.bytes.len() {
                pipe.segments.pop_front();
            }
            pipe.held -= n;
            pipe.read += n as u64;
            if side == CLIENT && pipe.signal_end.is_some_and(|end| pipe.read >= end) {
                c.signal_read = true;
            }
            let writer = pipe.writer.take();
            drop(inner);
            if let Some(w) = writer {
                w.wake();
            }
            return Poll::Ready(Ok(n));
        }
        match pipe.end {
            Some((End::Reset, at)) if at <= now => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset (simulated)",
                )));
            }
            Some((End::Fin, at)) if at <= now && pipe.segments.is_empty() => {
                return Poll::Ready(Ok(0));
            }
            _ => {}
        }
        if !pipe
            .reader
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            pipe.reader = Some(cx.waker().clone());
            pipe.reader_alarm = None;
        }
        // What the reader waits for: the next segment, or the end once the
        // segments are read (a reset does not wait for them).
        let next = match (pipe.segments.front().map(|s| s.at), pipe.end) {
            (Some(seg), Some((End::Reset, at))) => Some(seg.min(at)),
            (Some(seg), _) => Some(seg),
            (None, end) => end.map(|(_, at)| at),
        }
        .map(|at| at.max(now + 1));
        if let Some(at) = next
            && pipe.reader_alarm.is_none_or(|a| a <= now || a > at)
        {
            pipe.reader_alarm = Some(at);
            let waker = cx.waker().clone();
            drop(inner);
            self.exec.wake_at(at, waker);
        }
        Poll::Pending
    }

    pub(super) fn poll_write(
        &self,
        conn: u64,
        side: usize,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let now = self.exec.now();
        let mut inner = self.lock();
        let Inner {
            rng,
            faults,
            conns,
            links,
            ..
        } = &mut *inner;
        let Some(c) = conns.get_mut(&conn) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        let link = &links[c.client];
        let half_open = c.half_open;
        let pipe = &mut c.pipes[side];
        match pipe.end {
            Some((End::Reset, at)) if at <= now => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset (simulated)",
                )));
            }
            Some((End::Fin, _)) => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "write after shutdown",
                )));
            }
            _ => {}
        }
        if let Some(at) = pipe.reader_gone
            && at <= now
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the peer closed (simulated)",
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = pipe.window.saturating_sub(pipe.held);
        if room == 0 {
            pipe.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        if side == SERVER && half_open {
            // The connector side is gone: nothing it "writes" arrives.
            return Poll::Ready(Ok(n));
        }
        let cuts = if faults.split && n > 1 {
            rng.range_inclusive(0, 2)
        } else {
            0
        };
        let mut pieces = Vec::new();
        let mut rest = &buf[..n];
        for _ in 0..cuts {
            if rest.len() < 2 {
                break;
            }
            let cut = rng.range_inclusive(1, rest.len() as u64 - 1) as usize;
            pieces.push(&rest[..cut]);
            rest = &rest[cut..];
        }
        pieces.push(rest);
        let floor = link.partition_until.max(now) + link.latency;
        let mut first_at = None;
        for piece in pieces {
            let at = (now + link.latency + rng.range_inclusive(0, link.jitter))
                .max(floor)
                .max(pipe.last_at);
            pipe.last_at = at;
            first_at.get_or_insert(at);
            pipe.segments.push_back(Segment {
                at,
                bytes: piece.to_vec(),
                read: 0,
            });
        }
        pipe.held += n;
        pipe.written += n as u64;
        // A reader waiting on an empty pipe learns when the bytes arrive.
        let alarm = match (first_at, pipe.reader.clone()) {
            (Some(at), Some(w)) if pipe.reader_alarm.is_none_or(|a| a <= now || a > at) => {
                pipe.reader_alarm = Some(at);
                Some((at, w))
            }
            _ => None,
        };
        drop(inner);
        if let Some((at, w)) = alarm {
            self.exec.wake_at(at, w);
        }
        Poll::Ready(Ok(n))
    }

    pub(super) fn close(&self, conn: u64, side: usize) {
        let now = self.exec.now();
        let mut inner = self.lock();
        let Inner { conns, links, .. } = &mut *inner;
        let Some(c) = conns.get_mut(&conn) else {
            return;
        };
        let latency = links[c.client].latency;
        let pipe = &mut c.pipes[side];
        if pipe.end.is_none() {
            let at = pipe.last_at.max(now + latency);
            pipe.end = Some((End::Fin, at));
            pipe.last_at = at;
            if let Some(w) = pipe.reader.clone() {
                drop(inner);
                self.exec.wake_at(at, w);
            }
        }
    }

    pub(super) fn drop_end(&self, conn: u64, side: usize) {
        let now = self.exec.now();
        let mut inner = self.lock();
        let Inner { conns, links, .. } = &mut *inner;
        let Some(c) = conns.get_mut(&conn) else {
            return;
        };
        c.open[side] = false;
        let latency = links[c.client].latency;
        let silent = side == SERVER && c.half_open;
        let unread = c.pipes[1 - side].held > 0;
        let mut alarms = Vec::new();
        if !silent {
            // What this end never read is dropped, and the peer's next
            // writes fail (its data is answered with a reset).
            let incoming = &mut c.pipes[1 - side];
            incoming.segments.clear();
            incoming.held = 0;
            incoming.reader_gone = Some(now + 2 * latency);
            if let Some(w) = incoming.writer.take() {
                alarms.push((now + 2 * latency, w));
            }
        }
        if !silent {
            let outgoing = &mut c.pipes[side];
            if outgoing.end.is_none() || unread {
                let at = if unread {
                    now + latency
                } else {
                    outgoing.last_at.max(now + latency)
                };
                outgoing.end = Some((if unread { End::Reset } else { End::Fin }, at));
                outgoing.last_at = outgoing.last_at.max(at);
                if let Some(w) = outgoing.reader.clone() {
                    alarms.push((at, w));
                }
            }
        }
        if !c.open[CLIENT] && !c.open[SERVER] {
            // Keep the connection's record (dials and signals are checked
            // at the end) but free its bytes.
            for pipe in &mut c.pipes {
                pipe.segments.clear();
                pipe.reader = None;
                pipe.writer = None;
            }
        }
        drop(inner);
        for (at, w) in alarms {
            self.exec.wake_at(at, w);
        }
    }
}
