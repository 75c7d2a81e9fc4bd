//! The simulated network: TCP-like byte streams between each client and the
//! connector, on virtual time, with faults drawn from the seed.
//!
//! A connection is two pipes, one per direction. A write is cut into
//! segments (at arbitrary points when splitting is on), each arriving after
//! the link's latency plus jitter, in order. A pipe holds at most its
//! window of bytes in flight and unread: a writer whose peer stops reading
//! stalls. Reads return what has arrived, possibly in smaller pieces. A
//! connect can be refused or never answered; a connection can be reset
//! (both ends see the reset after what had already arrived, so often in
//! the middle of a frame), turn half-open (the connector side vanishes
//! without a word: writes pile up, nothing arrives), or be held by a
//! partition that heals (everything in flight arrives after it).

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use relay_core::rng::Rng;
use relay_engine::{BoxFuture, IoStream};

use super::executor::{Exec, Owner};
use super::monitor::Monitor;

/// The client end of a connection.
pub(crate) const CLIENT: usize = 0;
/// The connector end.
pub(crate) const SERVER: usize = 1;

/// How the network treats one client's traffic.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// One-way base latency (ms).
    pub latency: u64,
    /// Extra delay drawn per segment, up to this (ms).
    pub jitter: u64,
    /// Nothing arrives before this instant (a partition until then).
    pub partition_until: u64,
}

/// The network's faults, drawn per run.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetFaults {
    /// Writes cut into several segments, reads returned in pieces.
    pub split: bool,
    /// Percent of connects refused.
    pub refuse_pct: u64,
    /// Percent of connects never answered.
    pub blackhole_connect_pct: u64,
    /// Smallest and largest window of a pipe (bytes).
    pub window: (u64, u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Fin,
    Reset,
}

struct Segment {
    at: u64,
    bytes: Vec<u8>,
    read: usize,
}

#[derive(Default)]
struct Pipe {
    segments: VecDeque<Segment>,
    /// Bytes in flight or unread.
    held: usize,
    window: usize,
    last_at: u64,
    /// The writer's FIN or a reset, and when the reader sees it.
    end: Option<(End, u64)>,
    /// The reader's end is gone: writes fail from this instant.
    reader_gone: Option<u64>,
    reader: Option<Waker>,
    /// The instant a wake-up of the reader is registered for.
    reader_alarm: Option<u64>,
    writer: Option<Waker>,
    written: u64,
    read: u64,
    /// Where a revocation signal (a 4401 close frame, an HTTP 401 or 410)
    /// ends in this pipe's bytes.
    signal_end: Option<u64>,
}

struct Conn {
    client: usize,
    /// `pipes[side]` is what `side` writes.
    pipes: [Pipe; 2],
    open: [bool; 2],
    /// The connector side vanished without a word.
    half_open: bool,
    /// The client read a revocation signal on this connection.
    signal_read: bool,
}

/// One connect attempt of a client.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dial {
    pub at: u64,
    /// The connection, when the connect got one.
    pub conn: Option<u64>,
}

type Acceptor = Box<dyn Fn(usize, u64, SimStream) + Send + Sync>;

struct Inner {
    rng: Rng,
    faults: NetFaults,
    links: Vec<Link>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    dials: Vec<Vec<Dial>>,
    acceptor: Option<Arc<Acceptor>>,
}

/// The network of one world.
pub(crate) struct Net {
    inner: Mutex<Inner>,
    exec: Arc<Exec>,
    monitor: Arc<Monitor>,
}

impl Net {
    pub(crate) fn new(
        exec: Arc<Exec>,
        monitor: Arc<Monitor>,
        seed: u64,
        faults: NetFaults,
        links: Vec<Link>,
    ) -> Arc<Net> {
        let clients = links.len();
        Arc::new(Net {
            inner: Mutex::new(Inner {
                rng: Rng::new(seed),
                faults,
                links,
                conns: BTreeMap::new(),
                next_conn: 0,
                dials: vec![Vec::new(); clients],
                acceptor: None,
            }),
            exec,
            monitor,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who receives the connector end of new connections (client, conn,
    /// stream).
    pub(crate) fn set_acceptor(
        &self,
        acceptor: impl Fn(usize, u64, SimStream) + Send + Sync + 'static,
    ) {
        self.lock().acceptor = Some(Arc::new(Box::new(acceptor)));
    }

    /// Forgets the acceptor (it holds the connector, which holds the
    /// network: the world's end breaks the cycle).
    pub(crate) fn clear_acceptor(&self) {
        self.lock().acceptor = None;
    }

    /// Opens a connection from `client` to the connector.
    pub(crate) fn connect(
        self: &Arc<Net>,
        client: usize,
    ) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        let now = self.exec.now();
        let mut inner = self.lock();
        let link = inner.links[client].clone();
        let rtt = 2 * link.latency + inner.rng.range_inclusive(0, link.jitter);
        let start = now.max(link.partition_until);
        let (refuse, silent) = (inner.faults.refuse_pct, inner.faults.blackhole_connect_pct);
        let roll = inner.rng.range_inclusive(0, 99);
        if roll < refuse {
            inner.dials[client].push(Dial {
                at: now,
                conn: None,
            });
            drop(inner);
            self.monitor
                .trace(format!("FAULT c{client} connect refused"));
            let sleep = self.exec.sleep_until(start + rtt);
            return Box::pin(async move {
                sleep.await;
                Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "connection refused (simulated)",
                ))
            });
        }
        if roll < refuse + silent {
            inner.dials[client].push(Dial {
                at: now,
                conn: None,
            });
            drop(inner);
            self.monitor
                .trace(format!("FAULT c{client} connect never answered"));
            return Box::pin(std::future::pending());
        }
        let id = inner.next_conn;
        inner.next_conn += 1;
        let (lo, hi) = inner.faults.window;
        let windows = [
            inner.rng.range_inclusive(lo, hi) as usize,
            inner.rng.range_inclusive(lo, hi) as usize,
        ];
        let mut conn = Conn {
            client,
            pipes: [Pipe::default(), Pipe::default()],
            open: [true, true],
            half_open: false,
            signal_read: false,
        };
        conn.pipes[CLIENT].window = windows[0];
        conn.pipes[SERVER].window = windows[1];
        inner.conns.insert(id, conn);
        inner.dials[client].push(Dial {
            at: now,
            conn: Some(id),
        });
        let acceptor = inner.acceptor.clone();
        drop(inner);
        self.monitor.trace(format!(
            "c{client} connect conn{id} (windows {} / {})",
            windows[0], windows[1]
        ));
        let server = SimStream {
            net: self.clone(),
            conn: id,
            side: SERVER,
        };
        let client_end = SimStream {
            net: self.clone(),
            conn: id,
            side: CLIENT,
        };
        // The connector accepts when the SYN arrives.
        let syn = self.exec.sleep_until(start + link.latency);
        self.exec.spawn(
            Owner::World,
            Box::pin(async move {
                syn.await;
                match acceptor {
                    Some(accept) => accept(client, id, server),
                    None => drop(server),
                }
            }),
        );
        let sleep = self.exec.sleep_until(start + rtt);
        Box::pin(async move {
            sleep.await;
            Ok(Box::new(client_end) as Box<dyn IoStream>)
        })
    }

    /// The connect attempts of `client` so far.
    pub(crate) fn dials(&self, client: usize) -> Vec<Dial> {
        self.lock().dials[client].clone()
    }

    /// Whether the client read a revocation signal on `conn`.
    pub(crate) fn signal_read(&self, conn: u64) -> bool {
        self.lock().conns.get(&conn).is_some_and(|c| c.signal_read)
    }

    /// Marks a revocation signal on `conn`: the connector's next `len`
    /// bytes (0: what it has written so far ends with one).
    pub(crate) fn mark_signal(&self, conn: u64, len: u64) {
        let mut inner = self.lock();
        if let Some(c) = inner.conns.get_mut(&conn) {
            let pipe = &mut c.pipes[SERVER];
            let end = pipe.written + len;
            pipe.signal_end = Some(end);
            let client = c.client;
            drop(inner);
            self.monitor.trace(format!(
                "c{client} conn{conn} revocation signal ends at byte {end}"
            ));
        }
    }

    /// The client ends of `client`'s connections still open.
    pub(crate) fn open_client_ends(&self, client: usize) -> usize {
        self.lock()
            .conns
            .values()
            .filter(|c| c.client == client && c.open[CLIENT])
            .count()
    }

    /// Open connections (both ends), for picking a fault's victim.
    pub(crate) fn open_conns(&self) -> Vec<(u64, usize)> {
        self.lock()
            .conns
            .iter()
            .filter(|(_, c)| c.open[CLIENT] && c.open[SERVER] && !c.half_open)
            .map(|(&id, c)| (id, c.client))
            .collect()
    }

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

    fn poll_read(
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

    fn poll_write(
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

    fn close(&self, conn: u64, side: usize) {
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

    fn drop_end(&self, conn: u64, side: usize) {
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

/// One end of a simulated connection.
pub(crate) struct SimStream {
    net: Arc<Net>,
    conn: u64,
    side: usize,
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.net.poll_read(self.conn, self.side, cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.net.poll_write(self.conn, self.side, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.net.close(self.conn, self.side);
        Poll::Ready(Ok(()))
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        self.net.drop_end(self.conn, self.side);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use futures_util::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::engine::executor::Step;

    struct Setup {
        exec: Arc<Exec>,
        net: Arc<Net>,
        server: Arc<Mutex<Option<SimStream>>>,
    }

    fn setup(faults: NetFaults) -> Setup {
        let exec = Exec::new(3);
        let monitor = Arc::new(Monitor::new(1, false));
        let link = Link {
            latency: 50,
            jitter: 10,
            partition_until: 0,
        };
        let net = Net::new(exec.clone(), monitor, 9, faults, vec![link]);
        let server = Arc::new(Mutex::new(None));
        let slot = server.clone();
        net.set_acceptor(move |_, _, s| *slot.lock().unwrap() = Some(s));
        Setup { exec, net, server }
    }

    fn faults(split: bool, window: u64) -> NetFaults {
        NetFaults {
            split,
            window: (window, window),
            ..NetFaults::default()
        }
    }

    fn run(exec: &Exec, until: u64) {
        while !matches!(exec.step(until), Step::Idle) {}
    }

    fn client(s: &Setup) -> Arc<Mutex<Option<Box<dyn IoStream>>>> {
        let out = Arc::new(Mutex::new(None));
        let (o, connect) = (out.clone(), s.net.connect(0));
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                *o.lock().unwrap() = Some(connect.await.expect("connected"));
            }),
        );
        run(&s.exec, 1_000);
        out
    }

    #[test]
    fn bytes_arrive_in_order_after_the_latency_however_split() {
        let s = setup(faults(true, 64 * 1024));
        let c = client(&s);
        let mut tx = c.lock().unwrap().take().unwrap();
        let mut rx = s.server.lock().unwrap().take().unwrap();
        let sent: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let data = sent.clone();
        s.exec.spawn(
            Owner::World,
            Box::pin(async move { tx.write_all(&data).await.unwrap() }),
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let first = Arc::new(AtomicU64::new(0));
        let (g, f, e) = (got.clone(), first.clone(), s.exec.clone());
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                let mut buf = [0u8; 4096];
                while g.lock().unwrap().len() < 10_000 {
                    let n = rx.read(&mut buf).await.unwrap();
                    if f.load(Ordering::Relaxed) == 0 {
                        f.store(e.now(), Ordering::Relaxed);
                    }
                    g.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }),
        );
        let start = s.exec.now();
        run(&s.exec, 10_000);
        assert_eq!(*got.lock().unwrap(), sent);
        assert!(first.load(Ordering::Relaxed) >= start + 50);
    }

    #[test]
    fn a_writer_stalls_while_its_peer_does_not_read() {
        let s = setup(faults(false, 1_000));
        let c = client(&s);
        let mut tx = c.lock().unwrap().take().unwrap();
        let _rx = s.server.lock().unwrap().take().unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let w = written.clone();
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                loop {
                    let n = tx.write(&[7u8; 300]).await.unwrap();
                    w.fetch_add(n as u64, Ordering::Relaxed);
                }
            }),
        );
        run(&s.exec, 60_000);
        assert_eq!(
            written.load(Ordering::Relaxed),
            1_000,
            "the window is 1000 bytes"
        );
    }

    #[test]
    fn a_reset_comes_after_what_had_arrived() {
        let s = setup(faults(false, 64 * 1024));
        let c = client(&s);
        let mut tx = c.lock().unwrap().take().unwrap();
        let mut rx = s.server.lock().unwrap().take().unwrap();
        let e = s.exec.clone();
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                tx.write_all(b"half a frame").await.unwrap();
                // Keep the socket open.
                std::future::pending::<()>().await;
                drop(tx);
            }),
        );
        // Let the bytes arrive (unread), then reset.
        s.exec
            .spawn(Owner::World, Box::pin(e.sleep_until(e.now() + 200)));
        run(&s.exec, e.now() + 200);
        let conn = s.net.open_conns()[0].0;
        s.net.reset(conn);
        let result = Arc::new(Mutex::new(None));
        let r = result.clone();
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 64];
                let err = loop {
                    match rx.read(&mut chunk).await {
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        Err(e) => break e,
                    }
                };
                *r.lock().unwrap() = Some((buf, err.kind()));
            }),
        );
        run(&s.exec, 10_000);
        let (buf, kind) = result.lock().unwrap().take().unwrap();
        assert_eq!(buf, b"half a frame");
        assert_eq!(kind, io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn a_half_open_link_swallows_writes_and_delivers_nothing() {
        let s = setup(faults(false, 2_000));
        let c = client(&s);
        let mut tx = c.lock().unwrap().take().unwrap();
        let conn = s.net.open_conns()[0].0;
        s.net.half_open(conn);
        drop(s.server.lock().unwrap().take());
        let written = Arc::new(AtomicU64::new(0));
        let w = written.clone();
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                loop {
                    let n = tx.write(&[1u8; 500]).await.unwrap();
                    w.fetch_add(n as u64, Ordering::Relaxed);
                }
            }),
        );
        run(&s.exec, 60_000);
        assert_eq!(
            written.load(Ordering::Relaxed),
            2_000,
            "writes pile up to the window, no error"
        );
    }

    #[test]
    fn a_partition_holds_traffic_until_it_heals() {
        let s = setup(faults(false, 64 * 1024));
        let c = client(&s);
        let mut tx = c.lock().unwrap().take().unwrap();
        let mut rx = s.server.lock().unwrap().take().unwrap();
        let now = s.exec.now();
        s.net.partition(0, now + 5_000);
        s.exec.spawn(
            Owner::World,
            Box::pin(async move { tx.write_all(b"x").await.unwrap() }),
        );
        let at = Arc::new(AtomicU64::new(0));
        let (a, e) = (at.clone(), s.exec.clone());
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                let mut b = [0u8; 1];
                rx.read_exact(&mut b).await.unwrap();
                a.store(e.now(), Ordering::Relaxed);
            }),
        );
        run(&s.exec, 60_000);
        assert!(
            at.load(Ordering::Relaxed) >= now + 5_000,
            "arrived at {}",
            at.load(Ordering::Relaxed)
        );
    }

    #[test]
    fn refused_connects_fail() {
        let s = setup(NetFaults {
            refuse_pct: 100,
            ..faults(false, 1_000)
        });
        let failed = Arc::new(AtomicU64::new(0));
        let (f, connect) = (failed.clone(), s.net.connect(0));
        s.exec.spawn(
            Owner::World,
            Box::pin(async move {
                if let Err(e) = connect.await {
                    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
                    f.store(1, Ordering::Relaxed);
                }
            }),
        );
        run(&s.exec, 10_000);
        assert_eq!(failed.load(Ordering::Relaxed), 1);
        assert_eq!(s.net.dials(0).len(), 1);
    }
}
