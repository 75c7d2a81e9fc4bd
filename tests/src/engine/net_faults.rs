//! The faults a run injects into the simulated network: resets, half-open
//! connections, partitions and their heal.

use super::conn::{End, SERVER};
use super::net::Net;

impl Net {
    /// Resets `conn`: what has arrived can still be read, then both ends
    /// see the reset; what was in flight is lost.
    pub(crate) fn reset(&self, conn: u64) {
        let now = self.exec.now();
        let mut inner = self.lock();
        let Some(c) = inner.conns.get_mut(&conn) else {
            return;
        };
        let mut wake = Vec::new();
        for pipe in &mut c.pipes {
            pipe.segments.retain(|s| s.at <= now);
            pipe.held = pipe.segments.iter().map(|s| s.bytes.len() - s.read).sum();
            if pipe.end.is_none_or(|(e, _)| e != End::Reset) {
                pipe.end = Some((End::Reset, now));
            }
            wake.extend(pipe.reader.take());
            wake.extend(pipe.writer.take());
        }
        drop(inner);
        for w in wake {
            w.wake();
        }
    }

    /// Makes `conn` half-open: the connector side is gone without a FIN or
    /// a reset. The client's writes pile up unread; nothing more arrives.
    pub(crate) fn half_open(&self, conn: u64) {
        let now = self.exec.now();
        let mut inner = self.lock();
        if let Some(c) = inner.conns.get_mut(&conn) {
            c.half_open = true;
            let to_client = &mut c.pipes[SERVER];
            to_client.segments.retain(|s| s.at <= now);
            to_client.held = to_client
                .segments
                .iter()
                .map(|s| s.bytes.len() - s.read)
                .sum();
        }
    }

    /// Holds `client`'s traffic until `until`: segments in flight and new
    /// ones arrive after it, connects complete after it.
    pub(crate) fn partition(&self, client: usize, until: u64) {
        let mut inner = self.lock();
        let latency = inner.links[client].latency;
        inner.links[client].partition_until = until;
        for c in inner.conns.values_mut().filter(|c| c.client == client) {
            for pipe in &mut c.pipes {
                let now_at = until + latency;
                for s in pipe.segments.iter_mut() {
                    if s.read == 0 {
                        s.at = s.at.max(now_at);
                    }
                }
                pipe.last_at = pipe.last_at.max(now_at);
                if let Some((_, at)) = pipe.end.as_mut() {
                    *at = (*at).max(now_at);
                }
                pipe.reader_alarm = None;
            }
        }
    }

    /// Ends every partition now (the heal).
    pub(crate) fn heal(&self) {
        let now = self.exec.now();
        let mut inner = self.lock();
        let mut wake = Vec::new();
        for client in 0..inner.links.len() {
            inner.links[client].partition_until = 0;
        }
        for c in inner.conns.values_mut() {
            for pipe in &mut c.pipes {
                for s in pipe.segments.iter_mut() {
                    s.at = s.at.min(now + 1);
                }
                pipe.last_at = pipe.last_at.min(now + 1);
                pipe.reader_alarm = None;
                wake.extend(pipe.reader.take());
            }
        }
        drop(inner);
        for w in wake {
            w.wake();
        }
    }
}
