//! The `client` mode: one measurement of one client kind, printed as a
//! `RESULT` line for the parent to collect.

use crate::measure::Rtt;
use crate::raw_client::{raw_connect, raw_connect_smol, raw_rtt, raw_stream, small_config};
use crate::relay_client;
use crate::runtime::{block_on, on_smol};
use crate::workload::RTT_WARMUP;

/// The kinds that are a `RelayClient` or an `InlineClient`; any other kind
/// is the raw client.
const RELAY_KINDS: [&str; 4] = ["relay", "relay-recycle", "inline", "inline-recycle"];

/// `client <kind> <port> rtt <N>`: median and p99 round trip (ns), client
/// CPU µs and allocations per round trip, failed requests.
pub fn client_rtt(kind: &str, port: u16, iters: usize) {
    let rtt = block_on(async {
        let mut rtt = Rtt::new(iters);
        match kind {
            _ if RELAY_KINDS.contains(&kind) => {
                relay_client::rtt(kind, port, iters, &mut rtt).await;
            }
            _ if on_smol() => {
                let mut ws = raw_connect_smol(port, small_config()).await;
                raw_rtt(&mut ws, iters, &mut rtt, kind == "raw-borrow").await;
                let _ = ws.close(None).await;
            }
            _ => {
                let mut ws = raw_connect(port, small_config()).await;
                raw_rtt(&mut ws, iters, &mut rtt, kind == "raw-borrow").await;
                let _ = ws.close(None).await;
            }
        }
        rtt
    });
    let Rtt {
        mut samples,
        cpu,
        allocs,
        failures,
    } = rtt;
    let mut samples = samples.split_off(RTT_WARMUP.min(samples.len()));
    samples.sort();
    let median = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    let cpu_per = cpu as f64 / samples.len() as f64;
    let allocs_per = allocs as f64 / samples.len() as f64;
    println!(
        "RESULT {} {} {:.2} {failures} {allocs_per:.2}",
        median.as_nanos(),
        p99.as_nanos(),
        cpu_per
    );
}

/// `client <kind> <port> stream <N>`: frames/s, client CPU µs and
/// allocations per frame.
pub fn client_stream(kind: &str, port: u16, n: usize) {
    let (elapsed, cpu, allocs) = block_on(async {
        match kind {
            _ if RELAY_KINDS.contains(&kind) => relay_client::stream(kind, port, n).await,
            _ if on_smol() => {
                let mut ws = raw_connect_smol(port, small_config()).await;
                let out = raw_stream(&mut ws, n, kind == "raw-borrow").await;
                let _ = ws.close(None).await;
                out
            }
            _ => {
                let mut ws = raw_connect(port, small_config()).await;
                let out = raw_stream(&mut ws, n, kind == "raw-borrow").await;
                let _ = ws.close(None).await;
                out
            }
        }
    });
    let fps = (n - 1) as f64 / elapsed.as_secs_f64();
    let cpu_per = cpu as f64 / (n - 1) as f64;
    let allocs_per = allocs as f64 / (n - 1) as f64;
    println!("RESULT {fps:.0} {cpu_per:.2} {allocs_per:.2}");
}
