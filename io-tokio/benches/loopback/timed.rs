//! The wall-clock sections: round trips and streams of every client/server
//! pair, interleaved over rounds, on one client runtime.

use crate::children::{client_args, run_client, spawn_server};
use crate::host::load1;
use crate::tables::{Rounds, fmt_paired, fmt_rounds, load_range, median, paired};
use crate::workload::{RTT_ITERS, STREAM_FRAMES};

/// Interleaved rounds (`LOOPBACK_ROUNDS` overrides): odd, so that the
/// median is a measured round; nine, because one round of a client on a
/// shared machine can run 1.5× slower than the next, and every ratio is
/// taken within a round (a pair against the raw client of that round).
pub const ROUNDS: usize = 9;

/// The client/server pairs of a tokio section, in the order they run each
/// round. The first is the baseline of the ratios; the second, the
/// zero-copy floor, is what the rows that hand messages back are also
/// compared with.
pub const PAIRS: &[(&str, &str, &str)] = &[
    ("raw", "raw", "raw async-tungstenite client ↔ raw server"),
    (
        "raw-borrow",
        "raw",
        "zero-copy floor: raw client, borrowed decode ↔ raw server",
    ),
    ("relay", "raw", "RelayClient (driver task) ↔ raw server"),
    (
        "relay-recycle",
        "raw",
        "RelayClient, messages handed back (`Events::recycle`) ↔ raw server",
    ),
    (
        "inline",
        "raw",
        "InlineClient (in the app's task) ↔ raw server",
    ),
    (
        "inline-recycle",
        "raw",
        "InlineClient, messages handed back (`recycle`) ↔ raw server",
    ),
    (
        "relay",
        "dev",
        "RelayClient (driver task) ↔ dev ConnectorServer",
    ),
];

/// The pairs of the smol section.
pub const SMOL_PAIRS: &[(&str, &str, &str)] = &[
    (
        "raw",
        "raw",
        "raw async-tungstenite client on smol ↔ raw server",
    ),
    (
        "raw-borrow",
        "raw",
        "zero-copy floor on smol: raw client, borrowed decode ↔ raw server",
    ),
    (
        "relay",
        "raw",
        "relay-smol RelayClient (driver task) ↔ raw server",
    ),
    (
        "relay-recycle",
        "raw",
        "relay-smol RelayClient, messages handed back (`Events::recycle`) ↔ raw server",
    ),
    (
        "inline",
        "raw",
        "relay-smol InlineClient (in the app's task) ↔ raw server",
    ),
    (
        "inline-recycle",
        "raw",
        "relay-smol InlineClient, messages handed back (`recycle`) ↔ raw server",
    ),
];

pub fn rounds() -> usize {
    std::env::var("LOOPBACK_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS)
        .max(1)
}

/// One wall-clock section: `rounds` interleaved rounds of every pair's
/// round trips and stream, with every child pinned to CPU 0 or not and the
/// clients on `client_rt`; prints the section's table and per-round lines.
pub fn section(
    section: &str,
    pin: bool,
    client_rt: &str,
    pairs: &[(&str, &str, &str)],
    rounds: usize,
) {
    let mut raw = spawn_server("raw", pin);
    let mut dev = spawn_server("dev", pin);
    // [pair][round] -> (median, p99, cpu, failed, allocs) and (fps, cpu, allocs)
    let mut rtt: Vec<Vec<Vec<f64>>> = vec![Vec::new(); pairs.len()];
    let mut stream: Vec<Vec<Vec<f64>>> = vec![Vec::new(); pairs.len()];
    let mut loads = Vec::new();
    for _ in 0..rounds {
        for (i, (client, srv, _)) in pairs.iter().enumerate() {
            let server = if *srv == "raw" { &mut raw } else { &mut dev };
            let args = client_args(client, server.port, "rtt", RTT_ITERS);
            rtt[i].push(run_client(&args, (pin, client_rt), None, 0));
        }
        for (i, (client, srv, _)) in pairs.iter().enumerate() {
            let server = if *srv == "raw" { &mut raw } else { &mut dev };
            let args = client_args(client, server.port, "stream", STREAM_FRAMES);
            stream[i].push(run_client(
                &args,
                (pin, client_rt),
                Some(server),
                STREAM_FRAMES,
            ));
        }
        loads.push(load1());
    }
    let col = |rounds: &Vec<Vec<f64>>, k: usize| median(rounds.iter().map(|r| r[k]).collect());
    let figure = |all: &Vec<Vec<Vec<f64>>>, k: usize| -> Rounds {
        all.iter()
            .map(|pair| pair.iter().map(|r| r[k]).collect())
            .collect()
    };
    let (rtt_m, rtt_cpu) = (figure(&rtt, 0), figure(&rtt, 2));
    let (fps, fcpu) = (figure(&stream, 0), figure(&stream, 1));
    println!();
    println!(
        "## {} (load average during the rounds {})",
        match section {
            "pinned" =>
                "all processes pinned to CPU 0 (taskset -c 0), client on a 2-worker runtime",
            "multi" => "unpinned, client on a tokio multi-thread runtime (2 workers)",
            "current" => "unpinned, client on a tokio current-thread runtime",
            _ =>
                "unpinned, client on smol (`smol::block_on`; relay-smol's executor thread runs a driver task)",
        },
        load_range(&loads)
    );
    println!();
    println!(
        "| pair | RTT median µs | RTT p99 µs | client CPU µs/RTT | RTT ratio | CPU/RTT ratio | allocs/RTT | failed requests | \
         stream frames/s | client CPU µs/frame | stream ratio | CPU/frame ratio | stream ratio to zero-copy floor | allocs/frame |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, (_, _, name)) in pairs.iter().enumerate() {
        let (m, p99, cpu) = (col(&rtt[i], 0), col(&rtt[i], 1), col(&rtt[i], 2));
        let (f, fc) = (col(&stream[i], 0), col(&stream[i], 1));
        let (allocs, fallocs) = (col(&rtt[i], 4), col(&stream[i], 2));
        let failed: f64 = rtt[i].iter().map(|r| r[3]).sum();
        println!(
            "| {name} | {:.1} | {:.1} | {cpu:.1} | {:.2}× | {:.2}× | {allocs:.2} | {failed} | {f:.0} | {fc:.2} | {:.2}× | {:.2}× | {:.2}× | {fallocs:.2} |",
            m / 1000.0,
            p99 / 1000.0,
            paired(&rtt_m, i, 0),
            paired(&rtt_cpu, i, 0),
            paired(&fps, i, 0),
            paired(&fcpu, i, 0),
            paired(&fps, i, 1),
        );
    }
    println!();
    println!("per-round RTT ratios: {}", fmt_paired(&rtt_m, 0));
    println!("per-round CPU/RTT ratios: {}", fmt_paired(&rtt_cpu, 0));
    println!("per-round stream ratios: {}", fmt_paired(&fps, 0));
    println!("per-round CPU/frame ratios: {}", fmt_paired(&fcpu, 0));
    println!(
        "per-round raw RTT medians µs: {}",
        fmt_rounds(&rtt, 0, 1000.0)
    );
    println!("per-round raw frames/s: {}", fmt_rounds(&stream, 0, 1.0));
    for s in [&mut raw, &mut dev] {
        let _ = s.child.kill();
        let _ = s.child.wait();
    }
}
