//! The Rust floor of the Python benchmark (`../bench.py`): its three
//! workloads driven by the engine's clients against the same connector, on
//! a current-thread tokio runtime (one thread, as asyncio has).
//!
//! ```text
//! floor <relay-url> <gateway-id> <secret> <n_rt> <n_stream> <n_drain>
//! ```
//!
//! Round trips and the drain use an `InlineClient` (the client runs in the
//! application's task: no hand-over between tasks). Streamed edits need 32
//! requests in flight, which an `InlineClient` cannot have, so they use a
//! spawned `RelayClient` and 32 tasks. For the drain the program goes idle,
//! prints `buffered`, waits for a line on stdin (the bench has the
//! connector buffer the messages meanwhile), then wakes and times the
//! drain. The figures are printed as one JSON line.

use std::io::BufRead;
use std::time::{Duration, Instant};

use relay_tokio::RelayClient;
use relay_tokio::relay_core::config::{IdleMode, RelayConfig};
use relay_tokio::relay_core::wire::Action;
use relay_tokio::relay_core::{Event, State};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn config(url: &str, gw: &str, secret: &str) -> RelayConfig {
    // The default request timeout (30 s) is the one the Python rows use.
    RelayConfig::builder(url)
        .identity("telegram", "bench-bot")
        .gateway_id(gw)
        .secret(secret)
        .build()
        .expect("valid configuration")
}

fn edit(i: usize) -> Action {
    let v = serde_json::json!({"op": "edit", "chat_id": "c1", "message_id": "m0",
        "content": "x".repeat(i % 200 + 1), "finalize": false});
    Action::from_value(&v).expect("valid action")
}

async fn until_serving(c: &mut relay_tokio::relay_engine::InlineClient) {
    while c.state() != State::Serving {
        let _ = tokio::time::timeout(Duration::from_millis(50), c.next_event()).await;
    }
}

async fn run(args: Vec<String>) -> serde_json::Value {
    let (url, gw, secret) = (&args[1], &args[2], &args[3]);
    let n_rt: usize = args[4].parse().expect("n_rt");
    let n_stream: usize = args[5].parse().expect("n_stream");
    let n_drain: usize = args[6].parse().expect("n_drain");
    let cfg = config(url, gw, secret);

    // Round trips.
    let mut c = RelayClient::inline(cfg.clone());
    until_serving(&mut c).await;
    let mut lat = Vec::with_capacity(n_rt);
    let (c0, w0) = (cpu_seconds(), Instant::now());
    for i in 0..n_rt {
        let s = Instant::now();
        let r = c
            .send(Action::send("c1", format!("m{i}")))
            .await
            .expect("result");
        assert!(r.success, "{r:?}");
        lat.push(s.elapsed().as_secs_f64());
    }
    let (w, cpu) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    lat.sort_by(f64::total_cmp);
    let rt = serde_json::json!({"rate": n_rt as f64 / w, "cpu_us": cpu / n_rt as f64 * 1e6,
        "p50_us": lat[lat.len() / 2] * 1e6, "p99_us": lat[lat.len() * 99 / 100 - 1] * 1e6});

    // Drain: idle (socket closed), the bench buffers, then wake.
    c.go_idle_with(IdleMode::Close).expect("serving");
    while c.state() != State::Buffered {
        let _ = tokio::time::timeout(Duration::from_millis(50), c.next_event()).await;
    }
    println!("buffered");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("stdin");
    let (c0, w0) = (cpu_seconds(), Instant::now());
    c.wake().expect("wake");
    let mut got = 0;
    while got < n_drain {
        match c.next_event().await {
            Some(Event::Inbound { delivery, .. }) => {
                got += 1;
                if let Some(d) = delivery {
                    c.ack(d).expect("ack");
                }
            }
            Some(_) => {}
            None => panic!("client stopped"),
        }
    }
    let (w, cpu) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let drain =
        serde_json::json!({"rate": n_drain as f64 / w, "cpu_us": cpu / n_drain as f64 * 1e6});
    c.shutdown().await;

    // Streamed edits, 32 in flight.
    let (handle, mut events) = RelayClient::start(cfg);
    loop {
        if let Ok(State::Serving) = handle.state().await {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), events.next_event()).await;
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let (c0, w0) = (cpu_seconds(), Instant::now());
    let mut tasks = Vec::with_capacity(n_stream);
    for i in 0..n_stream {
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let h = handle.clone();
        tasks.push(tokio::spawn(async move {
            let r = h.send(edit(i)).await.expect("result");
            assert!(r.success, "{r:?}");
            drop(permit);
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let (w, cpu) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let stream =
        serde_json::json!({"rate": n_stream as f64 / w, "cpu_us": cpu / n_stream as f64 * 1e6});
    handle.shutdown().await;
    drop(events);
    serde_json::json!({"rt": rt, "stream": stream, "drain": drain})
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert!(
        args.len() == 7,
        "usage: floor <url> <gateway-id> <secret> <n_rt> <n_stream> <n_drain>"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = rt.block_on(run(args));
    println!("{out}");
}
