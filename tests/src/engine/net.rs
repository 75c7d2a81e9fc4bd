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
//!
//! This file holds the network and its streams; `conn.rs` a connection's
//! state, `net_io.rs` the streams' reads, writes and ends, `net_faults.rs`
//! the faults a run injects, `link.rs` the links and fault odds.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use relay_core::rng::Rng;
use relay_engine::{BoxFuture, IoStream};

use super::conn::{CLIENT, Conn, Pipe, SERVER};
use super::executor::{Exec, Owner};
pub(crate) use super::link::{Link, NetFaults};
use super::monitor::Monitor;

/// One connect attempt of a client.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dial {
    pub at: u64,
    /// The connection, when the connect got one.
    pub conn: Option<u64>,
}

type Acceptor = Box<dyn Fn(usize, u64, SimStream) + Send + Sync>;

/// The network's state, behind one lock.
pub(super) struct Inner {
    pub(super) rng: Rng,
    pub(super) faults: NetFaults,
    pub(super) links: Vec<Link>,
    pub(super) conns: BTreeMap<u64, Conn>,
    pub(super) next_conn: u64,
    pub(super) dials: Vec<Vec<Dial>>,
    pub(super) acceptor: Option<Arc<Acceptor>>,
}

/// The network of one world.
pub(crate) struct Net {
    inner: Mutex<Inner>,
    pub(super) exec: Arc<Exec>,
    pub(super) monitor: Arc<Monitor>,
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

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
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
