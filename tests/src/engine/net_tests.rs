//! The simulated network's own tests: delivery, windows, resets,
//! half-open connections, partitions and refused connects.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{AsyncReadExt, AsyncWriteExt};
use relay_engine::IoStream;

use super::executor::{Exec, Owner, Step};
use super::monitor::Monitor;
use super::net::{Link, Net, NetFaults, SimStream};

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

/// Writes `chunk` bytes at a time on `tx` for a virtual minute and returns
/// how many bytes the writes took (each write must succeed).
fn write_until_stalled(s: &Setup, mut tx: Box<dyn IoStream>, chunk: usize) -> u64 {
    let written = Arc::new(AtomicU64::new(0));
    let w = written.clone();
    s.exec.spawn(
        Owner::World,
        Box::pin(async move {
            let bytes = vec![7u8; chunk];
            loop {
                let n = tx.write(&bytes).await.unwrap();
                w.fetch_add(n as u64, Ordering::Relaxed);
            }
        }),
    );
    run(&s.exec, 60_000);
    written.load(Ordering::Relaxed)
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
    let tx = c.lock().unwrap().take().unwrap();
    let _rx = s.server.lock().unwrap().take().unwrap();
    let written = write_until_stalled(&s, tx, 300);
    assert_eq!(written, 1_000, "the window is 1000 bytes");
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
    let tx = c.lock().unwrap().take().unwrap();
    let conn = s.net.open_conns()[0].0;
    s.net.half_open(conn);
    drop(s.server.lock().unwrap().take());
    let written = write_until_stalled(&s, tx, 500);
    assert_eq!(written, 2_000, "writes pile up to the window, no error");
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
