//! The instruction-count section: every client under cachegrind, each
//! figure the difference of two runs of different lengths.

use std::process::Command;

use crate::children::{Server, client_args, exe, run_child, spawn_server};
use crate::host::load1;
use crate::tables::median;

/// Round trips and streamed frames of the two runs under cachegrind whose
/// difference gives the instructions per round trip and per frame (the
/// start-up, connect and warm-up of both runs cancel out).
pub const CG_RTT: [usize; 2] = [200, 2_200];
pub const CG_STREAM: [usize; 2] = [2_000, 12_000];
/// Each difference is taken this many times (`LOOPBACK_CG_REPEAT`
/// overrides) and the median kept: a multi-thread runtime's idle workers
/// spin for a while before they park, and how long depends on timing, so
/// one round trip's count moves by up to 15 % from run to run.
pub const CG_REPEAT: usize = 3;

/// The rows of the instruction-count table: runtime, client kind, label.
pub const CG_ROWS: &[(&str, &str, &str)] = &[
    ("multi_thread", "raw", "raw async-tungstenite client"),
    (
        "multi_thread",
        "raw-borrow",
        "zero-copy floor (borrowed decode)",
    ),
    ("multi_thread", "relay", "spawned `RelayClient`"),
    (
        "multi_thread",
        "relay-recycle",
        "spawned `RelayClient`, messages handed back",
    ),
    ("multi_thread", "inline", "`InlineClient`"),
    (
        "multi_thread",
        "inline-recycle",
        "`InlineClient`, messages handed back",
    ),
    ("current_thread", "raw", "raw async-tungstenite client"),
    (
        "current_thread",
        "raw-borrow",
        "zero-copy floor (borrowed decode)",
    ),
    ("current_thread", "relay", "spawned `RelayClient`"),
    (
        "current_thread",
        "relay-recycle",
        "spawned `RelayClient`, messages handed back",
    ),
    ("current_thread", "inline", "`InlineClient`"),
    (
        "current_thread",
        "inline-recycle",
        "`InlineClient`, messages handed back",
    ),
    ("smol", "raw", "raw async-tungstenite client"),
    ("smol", "raw-borrow", "zero-copy floor (borrowed decode)"),
    ("smol", "relay", "relay-smol `RelayClient`"),
    (
        "smol",
        "relay-recycle",
        "relay-smol `RelayClient`, messages handed back",
    ),
    ("smol", "inline", "relay-smol `InlineClient`"),
    (
        "smol",
        "inline-recycle",
        "relay-smol `InlineClient`, messages handed back",
    ),
];

/// Instructions (cachegrind's `Ir`, every thread of the client process)
/// per round trip and per streamed frame for every row, each the
/// difference of two runs of different lengths; ratios to the raw client
/// and to the zero-copy floor on the same runtime.
pub fn section() {
    let rows: Vec<&(&str, &str, &str)> = match std::env::var("LOOPBACK_CG_ROWS") {
        // e.g. `multi_thread:relay,smol:raw`
        Ok(filter) => CG_ROWS
            .iter()
            .filter(|(rt, kind, _)| {
                filter
                    .split(',')
                    .any(|f| f.trim() == format!("{rt}:{kind}"))
            })
            .collect(),
        Err(_) => CG_ROWS.iter().collect(),
    };
    let mut raw = spawn_server("raw", false);
    let loads_start = load1();
    let mut table = Vec::new();
    for (rt, kind, name) in &rows {
        let repeat = std::env::var("LOOPBACK_CG_REPEAT")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(CG_REPEAT)
            .max(1);
        let per = |mode: &str, ns: [usize; 2], raw: &mut Server| {
            let mut once = || {
                let counts: Vec<f64> = ns
                    .iter()
                    .map(|n| {
                        let args = client_args(kind, raw.port, mode, *n);
                        let stream = if mode == "stream" { *n } else { 0 };
                        let server = (mode == "stream").then_some(&mut *raw);
                        cachegrind_client(&args, rt, server, stream)
                    })
                    .collect();
                (counts[1] - counts[0]) / (ns[1] - ns[0]) as f64
            };
            median((0..repeat).map(|_| once()).collect())
        };
        let rtt = per("rtt", CG_RTT, &mut raw);
        let frame = per("stream", CG_STREAM, &mut raw);
        table.push((*rt, *kind, *name, rtt, frame));
    }
    let _ = raw.child.kill();
    let _ = raw.child.wait();
    println!();
    println!(
        "## instructions per round trip and per frame (cachegrind, whole client process; load-independent; load average {} → {})",
        loads_start,
        load1()
    );
    println!();
    println!(
        "| runtime | client | instructions per round trip | ratio to raw | instructions per frame | ratio to raw | ratio to zero-copy floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (rt, _, name, rtt, frame) in &table {
        let find = |k: &str| {
            table
                .iter()
                .find(|(r, kind, ..)| r == rt && *kind == k)
                .map(|t| (t.3, t.4))
        };
        let ratio =
            |v: f64, b: Option<f64>| b.map_or("–".to_owned(), |b| format!("{:.2}×", v / b));
        let (raw_rtt, raw_frame) = find("raw").unzip();
        let floor_frame = find("raw-borrow").map(|f| f.1);
        println!(
            "| {} | {name} | {rtt:.0} | {} | {frame:.0} | {} | {} |",
            rt.replace('_', "-"),
            ratio(*rtt, raw_rtt),
            ratio(*frame, raw_frame),
            ratio(*frame, floor_frame),
        );
    }
}

/// Runs one client child under cachegrind (instruction counts only) and
/// returns the instructions of the whole process.
pub fn cachegrind_client(
    args: &[String],
    client_rt: &str,
    server: Option<&mut Server>,
    stream: usize,
) -> f64 {
    let out = std::env::temp_dir().join(format!("loopback-cg-{}.out", std::process::id()));
    let mut c = Command::new("valgrind");
    c.args(["--tool=cachegrind", "--cache-sim=no", "--quiet"])
        .arg(format!("--cachegrind-out-file={}", out.display()))
        .arg(exe())
        .env("LOOPBACK_CLIENT_RT", client_rt);
    run_child(c, args, server, stream);
    let text = std::fs::read_to_string(&out).expect("cachegrind wrote its output file");
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("a cachegrind summary line")
}
