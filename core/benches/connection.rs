//! The full core path, through the public [`Connection`] API, on the
//! benchmark corpus (`support/corpus.rs`).
//!
//! * inbound: every connector → gateway corpus line fed as one WebSocket
//!   message to a `Serving` connection, then `poll_output` drained until
//!   `Wait` (line buffer + decode + state machine + event);
//! * outbound: `send` of each corpus action, drained (encode + request
//!   table), then its `outbound_result` fed back and drained (decode +
//!   correlation + `Response` event), one request at a time;
//! * the codec alone for the same work (line buffer + decode; encode +
//!   result decode), so the state machine's own cost is the difference.
//!
//! Run: `cargo bench -p hermes-relay-core --bench connection`. After criterion's
//! report it prints an interleaved summary (median thread CPU time of 15
//! rounds) with per-frame costs, the state-machine share and heap
//! allocations per frame (counted by a global allocator).

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/interleave.rs"]
mod interleave;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use relay_core::config::RelayConfig;
use relay_core::connection::{Connection, Event, Input, Output, State};
use relay_core::wire::{
    Action, GatewayFrame, LineBuffer, decode_connector_frame, encode_gateway_frame,
};
use relay_core::{Instant, UnixTime};

use interleave::{Variant, medians};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const CONN_SEED: u64 = 0xBE_4C4;

fn config() -> RelayConfig {
    RelayConfig {
        relay_url: "https://connector.example".into(),
        gateway_id: Some("gw-bench".into()),
        secret: Some("bench-secret".into()),
        ..RelayConfig::default()
    }
}

/// Drains until `Wait`; returns how many outputs there were.
fn drain(c: &mut Connection) -> usize {
    let mut n = 0;
    loop {
        match c.poll_output() {
            Output::Wait(_) => return n,
            out => {
                black_box(&out);
                n += 1;
            }
        }
    }
}

/// A connection in `Serving`, as a driver would have it after the handshake.
fn serving() -> Connection {
    let now = Instant::ZERO;
    let mut c = Connection::new(config(), CONN_SEED, now, UnixTime::from_secs(1_763_900_000));
    drain(&mut c);
    c.handle_input(Input::Opened, now);
    drain(&mut c);
    let mut d = corpus::descriptor_line("discord").into_bytes();
    d.push(b'\n');
    c.handle_input(Input::Message(&d), now);
    drain(&mut c);
    assert_eq!(c.state(), State::Serving);
    c
}

struct Data {
    /// Connector → gateway lines with their `\n`, one message each.
    messages: Vec<Vec<u8>>,
    /// Another seed's lines, to warm a connection up (scope memory, dedupe
    /// window, queues) before counting steady-state allocations.
    warmup: Vec<Vec<u8>>,
    actions: Vec<Action>,
    /// The `outbound_result` answering each action, given `CONN_SEED`.
    results: Vec<Vec<u8>>,
    /// The `outbound` frames the connection sends (for the codec-only run).
    sent: Vec<GatewayFrame>,
}

fn messages(seed: u64) -> Vec<Vec<u8>> {
    corpus::connector_lines(seed)
        .into_iter()
        .map(|l| {
            let mut m = l.text.into_bytes();
            m.push(b'\n');
            m
        })
        .collect()
}

fn data() -> Data {
    let actions = corpus::actions(corpus::SEED);
    // A dry run learns the request ids the seeded connection will draw.
    let mut c = serving();
    let mut results = Vec::with_capacity(actions.len());
    let mut sent = Vec::with_capacity(actions.len());
    for (i, a) in actions.iter().enumerate() {
        let id = c
            .send(a.clone(), Instant::ZERO)
            .expect("serving accepts sends");
        loop {
            match c.poll_output() {
                Output::Transmit(text) => {
                    let frame = relay_core::wire::decode_gateway_frame(text.trim_end().as_bytes())
                        .expect("our own frame decodes");
                    sent.push(frame);
                }
                Output::Wait(_) => break,
                _ => {}
            }
        }
        let line = format!(
            "{{\"type\":\"outbound_result\",\"requestId\":\"{}\",\"result\":{{\"success\":true,\"message_id\":\"{}\"}}}}\n",
            id.as_str(),
            1_200_000_000_000_000_000u64 + i as u64
        );
        c.handle_input(Input::Message(line.as_bytes()), Instant::ZERO);
        drain(&mut c);
        results.push(line.into_bytes());
    }
    Data {
        messages: messages(corpus::SEED),
        warmup: messages(corpus::SEED ^ 0xFFFF),
        actions,
        results,
        sent,
    }
}

/// Feeds every message; returns the events seen.
fn inbound(c: &mut Connection, messages: &[Vec<u8>]) -> usize {
    let mut now = Instant::ZERO;
    let mut events = 0;
    for m in messages {
        now = now.saturating_add(Duration::from_millis(1));
        c.handle_input(Input::Message(m), now);
        loop {
            match c.poll_output() {
                Output::Wait(_) => break,
                Output::Event(e) => {
                    black_box(&e);
                    events += 1;
                }
                out => {
                    black_box(&out);
                }
            }
        }
    }
    events
}

/// The codec share of [`inbound`]: line buffer + decode.
fn inbound_codec(messages: &[Vec<u8>]) -> usize {
    let mut lb = LineBuffer::default();
    let mut ok = 0;
    for m in messages {
        lb.extend(m);
        while let Some(Ok(line)) = lb.next_line() {
            if let Ok(frame) = decode_connector_frame(line) {
                black_box(&frame);
                ok += 1;
            }
        }
    }
    ok
}

/// Sends every action and answers it; returns the responses seen.
fn outbound(c: &mut Connection, actions: Vec<Action>, results: &[Vec<u8>]) -> usize {
    let mut now = Instant::ZERO;
    let mut responses = 0;
    for (a, r) in actions.into_iter().zip(results) {
        now = now.saturating_add(Duration::from_millis(1));
        let id = c.send(a, now);
        black_box(&id);
        drain(c);
        c.handle_input(Input::Message(r), now);
        loop {
            match c.poll_output() {
                Output::Wait(_) => break,
                Output::Event(Event::Response { request_id, result }) => {
                    black_box((&request_id, &result));
                    responses += 1;
                }
                out => {
                    black_box(&out);
                }
            }
        }
    }
    responses
}

/// The codec share of [`outbound`]: encode the frame, reassemble and
/// decode the result.
fn outbound_codec(frames: &[GatewayFrame], results: &[Vec<u8>]) -> usize {
    let mut out = Vec::with_capacity(4096);
    let mut lb = LineBuffer::default();
    let mut ok = 0;
    for (f, r) in frames.iter().zip(results) {
        out.clear();
        encode_gateway_frame(f, &mut out);
        // The connection hands the line out as an owned `String`.
        black_box(String::from_utf8_lossy(&out).into_owned());
        lb.extend(r);
        while let Some(Ok(line)) = lb.next_line() {
            if let Ok(frame) = decode_connector_frame(line) {
                black_box(&frame);
                ok += 1;
            }
        }
    }
    ok
}

fn criterion_benches(c: &mut Criterion, d: &Data) {
    let mut g = c.benchmark_group("connection");
    // Each iteration runs the whole corpus (tens of ms).
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(d.messages.len() as u64));
    g.bench_function("inbound corpus (full core path)", |b| {
        b.iter_batched(
            serving,
            |mut conn| inbound(&mut conn, &d.messages),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("inbound corpus (codec only)", |b| {
        b.iter(|| inbound_codec(&d.messages))
    });
    g.throughput(Throughput::Elements(d.actions.len() as u64));
    g.bench_function("outbound request + result (full core path)", |b| {
        b.iter_batched(
            || (serving(), d.actions.clone()),
            |(mut conn, actions)| outbound(&mut conn, actions, &d.results),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("outbound request + result (codec only)", |b| {
        b.iter(|| outbound_codec(&d.sent, &d.results))
    });
    g.finish();
}

fn per_frame(d: Duration, frames: usize) -> f64 {
    d.as_secs_f64() * 1e9 / frames as f64
}

fn summary(d: &Data) {
    let n_in = d.messages.len();
    let n_out = d.actions.len();

    // Correctness of the workloads.
    let mut c = serving();
    let events = inbound(&mut c, &d.messages);
    assert!(events >= 7_000, "inbound events: {events}");
    assert_eq!(c.state(), State::Serving);
    let mut c = serving();
    assert_eq!(outbound(&mut c, d.actions.clone(), &d.results), n_out);
    assert_eq!(outbound_codec(&d.sent, &d.results), n_out);
    assert_eq!(inbound_codec(&d.messages), n_in);

    // Timing: connections and action clones are prepared outside the timed
    // closures, one per round.
    let rounds = 15;
    let mut conns_in: Vec<Connection> = (0..=rounds).map(|_| serving()).collect();
    let mut conns_out: Vec<(Connection, Vec<Action>)> = (0..=rounds)
        .map(|_| (serving(), d.actions.clone()))
        .collect();
    let mut variants = vec![
        Variant::new("inbound full", || {
            if let Some(mut c) = conns_in.pop() {
                black_box(inbound(&mut c, &d.messages));
            }
        }),
        Variant::new("inbound codec", || {
            black_box(inbound_codec(&d.messages));
        }),
        Variant::new("outbound full", || {
            if let Some((mut c, a)) = conns_out.pop() {
                black_box(outbound(&mut c, a, &d.results));
            }
        }),
        Variant::new("outbound codec", || {
            black_box(outbound_codec(&d.sent, &d.results));
        }),
    ];
    let t = medians(rounds, &mut variants);
    drop(variants);

    // Allocations: steady state, on a connection warmed up with another
    // seed's corpus (scope memory, dedupe window and queues already grown).
    let mut c = serving();
    inbound(&mut c, &d.warmup);
    let (_, in_full, _) = alloc::count(|| inbound(&mut c, &d.messages));
    let (_, in_codec, _) = alloc::count(|| inbound_codec(&d.messages));
    let mut c = serving();
    outbound(&mut c, d.actions.clone(), &d.results);
    let actions = d.actions.clone();
    let (_, out_full, _) = alloc::count(|| outbound(&mut c, actions, &d.results));
    let (_, out_codec, _) = alloc::count(|| outbound_codec(&d.sent, &d.results));

    println!(
        "\n== connection summary: {n_in} inbound-corpus frames, {n_out} requests; median thread CPU time of {rounds} interleaved rounds"
    );
    println!(
        "{:<34} {:>10} {:>10} {:>12} {:>10}",
        "path", "ns/frame", "frames/s", "allocs/frame", "range ns"
    );
    let rows = [
        ("inbound: full core path", t[0], in_full, n_in),
        ("inbound: codec only", t[1], in_codec, n_in),
        ("outbound request+result: full", t[2], out_full, n_out),
        ("outbound request+result: codec", t[3], out_codec, n_out),
    ];
    for (name, (med, lo, hi), allocs, n) in rows {
        println!(
            "{:<34} {:>10.0} {:>10.0} {:>12.2} {:>5.0}-{:.0}",
            name,
            per_frame(med, n),
            n as f64 / med.as_secs_f64(),
            allocs as f64 / n as f64,
            per_frame(lo, n),
            per_frame(hi, n),
        );
    }
    let sm_in = per_frame(t[0].0, n_in) - per_frame(t[1].0, n_in);
    let sm_out = per_frame(t[2].0, n_out) - per_frame(t[3].0, n_out);
    println!(
        "state machine alone, inbound: {:.0} ns/frame = {:.1}% of the codec cost; {:.2} allocs/frame",
        sm_in,
        100.0 * sm_in / per_frame(t[1].0, n_in),
        (in_full as f64 - in_codec as f64) / n_in as f64
    );
    println!(
        "state machine alone, outbound: {:.0} ns/request = {:.1}% of the codec cost; {:.2} allocs/request",
        sm_out,
        100.0 * sm_out / per_frame(t[3].0, n_out),
        (out_full as f64 - out_codec as f64) / n_out as f64
    );
}

fn main() {
    let d = data();
    let bench_mode = std::env::args().any(|a| a == "--bench")
        && std::env::var_os("RELAY_BENCH_NO_SUMMARY").is_none();
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    criterion_benches(&mut c, &d);
    c.final_summary();
    if bench_mode {
        summary(&d);
    }
}
