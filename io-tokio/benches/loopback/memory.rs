//! The idle memory section: the `mem` mode that opens idle connections and
//! reports its RSS and live heap, and the table over interleaved rounds.

use std::time::Duration;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use relay_tokio::ClientOptions;
use tokio::sync::mpsc;

use crate::alloc;
use crate::children::{run_client, spawn_server};
use crate::measure::rss;
use crate::raw_client::{raw_connect, raw_idle, small_config};
use crate::relay_client::{inline_serving, relay_serving};
use crate::runtime::runtime;
use crate::tables::median;
use crate::workload::GATEWAYS;

pub const MEM_CONNS: usize = 1000;
/// Interleaved rounds of the memory section (`LOOPBACK_MEM_ROUNDS`
/// overrides): the RSS of one process moves by a quarter between runs on a
/// loaded machine, the median of five rounds much less.
pub const MEM_ROUNDS: usize = 5;

pub fn mem(kind: &str, port: u16, n: usize) {
    let rt = runtime();
    rt.block_on(async {
        match kind {
            "relay" | "relay-small" => {
                let options = match kind {
                    "relay" => ClientOptions::default(),
                    _ => ClientOptions {
                        read_buffer: 1024,
                        ..ClientOptions::default()
                    },
                };
                // One task per client awaiting its events, as the
                // application would run it (the raw rows have one reader
                // task per connection).
                idle_clients(n, |gateway, ready| {
                    let options = options.clone();
                    async move {
                        let (_handle, mut events) = relay_serving(port, gateway, options).await;
                        let _ = ready.send(());
                        while events.next_event().await.is_some() {}
                    }
                })
                .await;
            }
            "inline" => {
                // One task per client, as the application would run it.
                let options = ClientOptions::default();
                idle_clients(n, |gateway, ready| {
                    let options = options.clone();
                    async move {
                        let mut client = inline_serving(port, gateway, options).await;
                        let _ = ready.send(());
                        while client.next_event().await.is_some() {}
                    }
                })
                .await;
            }
            _ => {
                let config = if kind == "rawdefault" {
                    WebSocketConfig::default()
                } else {
                    small_config()
                };
                let warm = raw_connect(port, config).await;
                let _warm = tokio::spawn(raw_idle(warm));
                tokio::time::sleep(Duration::from_millis(200)).await;
                let before = rss();
                let live_before = alloc::live();
                let mut tasks = Vec::new();
                for _ in 0..n {
                    tasks.push(tokio::spawn(raw_connect(port, config)));
                }
                let mut readers = Vec::new();
                for t in tasks {
                    readers.push(tokio::spawn(raw_idle(t.await.unwrap())));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                let after = rss();
                let live_after = alloc::live();
                println!("RESULT {before} {after} {live_before} {live_after}");
                mem_exit_here();
            }
        }
    });
}

/// Opens `n` idle clients after one warm-up client kept open (statics,
/// runtime pools): each a task `idle(gateway, ready)` that says on `ready`
/// when it is serving, then awaits its events. Prints the process's RSS
/// and live heap before and after.
async fn idle_clients<F, Fut>(n: usize, idle: F)
where
    F: Fn(usize, mpsc::UnboundedSender<()>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (ready, mut readied) = mpsc::unbounded_channel::<()>();
    tokio::spawn(idle(GATEWAYS - 1, ready.clone()));
    readied.recv().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss();
    let live_before = alloc::live();
    let mut tasks = Vec::new();
    for i in 0..n {
        tasks.push(tokio::spawn(idle(i, ready.clone())));
    }
    for _ in 0..n {
        readied.recv().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss();
    let live_after = alloc::live();
    println!("RESULT {before} {after} {live_before} {live_after}");
    mem_exit_here();
    for t in tasks {
        t.abort();
    }
}

/// With `LOOPBACK_MEM_EXIT` set, the measuring process exits at the idle
/// point without dropping anything, so a heap profiler run on it reports
/// everything the idle connections hold as leaked.
pub fn mem_exit_here() {
    if std::env::var_os("LOOPBACK_MEM_EXIT").is_some() {
        std::process::exit(0);
    }
}

/// Rounds of the memory section (see [`MEM_ROUNDS`]).
pub fn mem_rounds() -> usize {
    std::env::var("LOOPBACK_MEM_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(MEM_ROUNDS)
}

pub fn section() {
    println!();
    println!("## idle memory, {MEM_CONNS} connections (client process RSS delta)");
    println!();
    println!(
        "| client | RSS before MiB | RSS after MiB | bytes per connection | ratio to raw (read_buffer 4 KiB) | live heap bytes per connection |"
    );
    println!("|---|---|---|---|---|---|");
    let mut raw = spawn_server("raw", false);
    let mut dev = spawn_server("dev", false);
    let rows = [
        (
            "raw4k",
            raw.port,
            "raw async-tungstenite, read_buffer 4 KiB, 1 reader task",
        ),
        // Every client dials the same raw server (a relay client's hello
        // is answered with a descriptor there): how many dials are still
        // in their handshake when the last one starts depends on the
        // server, and so does what the allocator keeps afterwards.
        (
            "relay",
            raw.port,
            "RelayClient (ClientOptions::default, read_buffer 4 KiB), 1 task awaiting its events each",
        ),
        ("relay-small", raw.port, "RelayClient, read_buffer 1 KiB"),
        (
            "inline",
            raw.port,
            "InlineClient (ClientOptions::default), 1 task each",
        ),
        (
            "rawdefault",
            raw.port,
            "raw async-tungstenite, default config, 1 reader task",
        ),
        (
            "relay",
            dev.port,
            "RelayClient ↔ dev ConnectorServer (a slower server: more dials overlap)",
        ),
    ];
    // Interleaved rounds, as for the timed sections: one process per row
    // and round, each ratio taken against the raw client of its round.
    let rounds = mem_rounds();
    let mut runs: Vec<Vec<Vec<f64>>> = vec![Vec::new(); rows.len()];
    for _ in 0..rounds {
        for ((kind, port, _), runs) in rows.iter().zip(&mut runs) {
            let args = ["mem", kind, &port.to_string(), &MEM_CONNS.to_string()].map(str::to_owned);
            runs.push(run_client(&args, (false, "multi_thread"), None, 0));
        }
    }
    let per_conn = |r: &Vec<f64>| (r[1] - r[0]) / MEM_CONNS as f64;
    let raw_per: Vec<f64> = runs[0].iter().map(per_conn).collect();
    let mut ratio_lines = Vec::new();
    for ((_, _, name), runs) in rows.iter().zip(&runs) {
        let pick = |i: usize| median(runs.iter().map(|r| r[i]).collect());
        let per = median(runs.iter().map(per_conn).collect());
        let ratios: Vec<f64> = runs
            .iter()
            .zip(&raw_per)
            .map(|(r, raw)| per_conn(r) / raw)
            .collect();
        let live = median(
            runs.iter()
                .map(|r| (r[3] - r[2]) / MEM_CONNS as f64)
                .collect(),
        );
        println!(
            "| {name} | {:.1} | {:.1} | {per:.0} | {:.2}× | {live:.0} |",
            pick(0) / 1048576.0,
            pick(1) / 1048576.0,
            median(ratios.clone()),
        );
        ratio_lines.push(
            ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    println!();
    println!("per-round ratios to raw: {}", ratio_lines.join(" | "));
    println!(
        "per-round raw bytes per connection: {}",
        raw_per
            .iter()
            .map(|b| format!("{b:.0}"))
            .collect::<Vec<_>>()
            .join("/")
    );
    for s in [&mut raw, &mut dev] {
        let _ = s.child.kill();
        let _ = s.child.wait();
    }
}
