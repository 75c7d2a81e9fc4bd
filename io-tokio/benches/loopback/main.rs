//! End-to-end loopback benchmark: `RelayClient` against a connector on
//! 127.0.0.1, next to a raw async-tungstenite client doing only JSON encode
//! and decode, in the same run.
//!
//! ```text
//! cargo bench -p hermes-relay-tokio --bench loopback
//! ```
//!
//! Every measurement runs in its own child process (this binary with a mode
//! argument), so that a server never shares a process with the client being
//! measured and each RSS figure holds clients only:
//!
//! - `serve dev`: the dev `ConnectorServer` (frame log off).
//! - `serve raw`: a plain async-tungstenite server that decodes each line
//!   with serde_json, answers `hello` with a descriptor and `outbound` with
//!   an `outbound_result`, and streams pre-encoded `inbound` frames when
//!   told to on its stdin. Both the raw client and `RelayClient` can use it,
//!   which isolates the client's cost.
//! - `client <kind> <port> <rtt N | stream N>`: one measurement; kinds
//!   `raw`, `raw-borrow` (the zero-copy floor), `relay`, `relay-recycle`,
//!   `inline`, `inline-recycle`.
//! - `mem <relay|inline|raw4k|rawdefault|…> <port> <N>`: RSS delta of N
//!   idle connections.
//! - `one <kind> <N>`: one streaming client against a raw server of its
//!   own, under the profiler `LOOPBACK_WRAP` names, if any (see [`one`]).
//!
//! Workloads: sequential request/result round trips with a 340-byte `send`
//! frame (median and p99 per round trip, client CPU per round trip), and
//! one-way streaming of 400,000 `inbound` frames (frames/s, client CPU per
//! frame). First, every client under cachegrind (instructions per round
//! trip and per frame, load-independent; needs `valgrind`); then rounds
//! interleaved and repeated, each ratio taken within a round against the
//! raw client of that round, the table giving the median over rounds.
//!
//! The modules, each one job: [`workload`] (the frames and sizes),
//! [`servers`], [`client`] with its [`raw_client`] and [`relay_client`]
//! rows, [`measure`], [`runtime`], and on the parent's side [`timed`],
//! [`memory`], [`cachegrind`], [`one`], [`children`], [`tables`] and
//! [`host`].

use std::time::Instant;

#[path = "../../../core/benches/support/alloc.rs"]
mod alloc;
#[path = "../../../core/benches/support/loopback_frame.rs"]
mod loopback_frame;

mod cachegrind;
mod children;
mod client;
mod host;
mod measure;
mod memory;
mod one;
mod raw_client;
mod relay_client;
mod runtime;
mod servers;
mod tables;
mod timed;
mod workload;

use workload::{RTT_ITERS, RTT_WARMUP, STREAM_FRAMES, inbound_line, outbound_sample};

/// Counts the client process's heap allocations per round trip and frame.
#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match words.as_slice() {
        ["serve", kind] => servers::serve(kind),
        ["client", kind, port, "rtt", n] => {
            client::client_rtt(kind, port.parse().unwrap(), n.parse().unwrap())
        }
        ["client", kind, port, "stream", n] => {
            client::client_stream(kind, port.parse().unwrap(), n.parse().unwrap())
        }
        ["mem", kind, port, n] => memory::mem(kind, port.parse().unwrap(), n.parse().unwrap()),
        ["one", kind, n] => one::one(kind, n.parse().unwrap()),
        ["frames"] => {
            println!("outbound: {}", outbound_sample().len());
            print!("{}", String::from_utf8(outbound_sample()).unwrap());
            print!("{}", inbound_line());
            println!("inbound: {}", inbound_line().len());
        }
        _ => orchestrate(),
    }
}

/// Whether `LOOPBACK_SECTIONS` (comma-separated: `cg`, `multi`, `pinned`,
/// `current`, `smol`, `mem`; all when unset) selects `name`.
fn section_on(name: &str) -> bool {
    match std::env::var("LOOPBACK_SECTIONS") {
        Ok(list) => list.split(',').any(|s| s.trim() == name),
        Err(_) => true,
    }
}

/// The whole report: a header, the selected sections, a footer.
fn orchestrate() {
    let started = Instant::now();
    let rounds = timed::rounds();
    println!("# hermes-relay-tokio end-to-end loopback benchmark");
    println!();
    println!(
        "outbound frame {} B, inbound frame {} B; {RTT_ITERS} round trips after {RTT_WARMUP} warm-up; \
         {STREAM_FRAMES} streamed frames; {rounds} interleaved rounds; ratios are paired within each round \
         (the median of the rounds' ratios); commit {}; load average at start {}",
        outbound_sample().len(),
        inbound_line().len(),
        host::commit(),
        host::load()
    );
    if section_on("cg") {
        cachegrind::section();
    }
    let sections = [
        ("multi", false, "multi_thread", timed::PAIRS),
        ("pinned", true, "multi_thread", timed::PAIRS),
        ("current", false, "current_thread", timed::PAIRS),
        ("smol", false, "smol", timed::SMOL_PAIRS),
    ];
    for (section, pin, client_rt, pairs) in sections {
        if section_on(section) {
            timed::section(section, pin, client_rt, pairs, rounds);
        }
    }

    if section_on("mem") {
        memory::section();
    }
    println!();
    println!(
        "total time {:.0} s; load average at end {}",
        started.elapsed().as_secs_f64(),
        host::load()
    );
}
