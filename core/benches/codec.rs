//! Codec throughput on the benchmark corpus (`support/corpus.rs`).
//!
//! * decode: connector → gateway lines through [`LineBuffer`] and
//!   [`decode_connector_frame`] (one WebSocket message per frame), next to
//!   baselines decoding the same lines into flat borrowed envelopes with
//!   serde_json and with sonic-rs, and into an untyped `serde_json::Value`;
//! * encode: gateway → connector `outbound` frames with
//!   [`encode_gateway_frame`] into a reused buffer, next to sonic-rs driving
//!   the same `Serialize` impls.
//!
//! Run: `cargo bench -p hermes-relay-core --bench codec`. After criterion's own
//! report it prints an interleaved summary (median thread CPU time of 15
//! alternating rounds; frames/s, MB/s, allocations per frame and ratios),
//! which is what docs/benchmarks.md quotes.

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/interleave.rs"]
mod interleave;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use relay_core::wire::{GatewayFrame, LineBuffer, decode_connector_frame, encode_gateway_frame};

use interleave::{Variant, medians, per_sec};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// The baselines: every key the corpus carries, as flat structs of borrowed
/// strings (`Cow`, borrowed when the JSON string has no escapes), built by
/// `#[derive(Deserialize)]`; the frame is chosen by matching on `type`
/// afterwards, and the passthrough body is base64-decoded as ours is.
#[allow(dead_code)] // the fields are the decode output, only black-boxed
mod flat {
    use std::borrow::Cow;
    use std::fmt;

    use base64::Engine as _;
    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor};

    /// A string borrowed from the input when it has no escapes.
    #[derive(Debug)]
    pub struct B<'a>(pub Cow<'a, str>);

    impl<'de: 'a, 'a> Deserialize<'de> for B<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = B<'a>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<B<'a>, E> {
                    Ok(B(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<B<'a>, E> {
                    Ok(B(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<B<'a>, E> {
                    Ok(B(Cow::Owned(v)))
                }
            }
            d.deserialize_str(V(std::marker::PhantomData))
        }
    }

    #[derive(Deserialize, Debug)]
    pub struct Envelope<'a> {
        #[serde(rename = "type", borrow)]
        pub ty: B<'a>,
        #[serde(borrow, default)]
        pub event: Option<Event<'a>>,
        #[serde(rename = "bufferId", borrow, default)]
        pub buffer_id: Option<B<'a>>,
        #[serde(rename = "requestId", borrow, default)]
        pub request_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub result: Option<ResultObj<'a>>,
        #[serde(borrow, default)]
        pub session_key: Option<B<'a>>,
        #[serde(borrow, default)]
        pub chat_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub forward: Option<Forward<'a>>,
        #[serde(borrow, default)]
        pub descriptor: Option<Descriptor<'a>>,
    }

    #[derive(Deserialize, Debug)]
    pub struct Event<'a> {
        #[serde(borrow)]
        pub text: B<'a>,
        #[serde(borrow, default)]
        pub message_type: Option<B<'a>>,
        #[serde(borrow)]
        pub source: Source<'a>,
        #[serde(borrow, default)]
        pub message_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub reply_to_message_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub media_urls: Vec<B<'a>>,
    }

    #[derive(Deserialize, Debug)]
    pub struct Source<'a> {
        #[serde(borrow)]
        pub platform: B<'a>,
        #[serde(borrow)]
        pub chat_id: B<'a>,
        #[serde(borrow, default)]
        pub chat_name: Option<B<'a>>,
        #[serde(borrow, default)]
        pub chat_type: Option<B<'a>>,
        #[serde(borrow, default)]
        pub user_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub user_name: Option<B<'a>>,
        #[serde(borrow, default)]
        pub thread_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub chat_topic: Option<B<'a>>,
        #[serde(borrow, default)]
        pub scope_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub guild_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub message_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub user_display_name: Option<B<'a>>,
    }

    #[derive(Deserialize, Debug)]
    pub struct ResultObj<'a> {
        pub success: bool,
        #[serde(borrow, default)]
        pub message_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub thread_id: Option<B<'a>>,
        #[serde(borrow, default)]
        pub error: Option<B<'a>>,
        #[serde(default)]
        pub ambiguous: bool,
    }

    #[derive(Deserialize, Debug)]
    pub struct Forward<'a> {
        #[serde(borrow)]
        pub platform: B<'a>,
        #[serde(rename = "botId", borrow)]
        pub bot_id: B<'a>,
        #[serde(borrow)]
        pub method: B<'a>,
        #[serde(borrow)]
        pub path: B<'a>,
        #[serde(borrow)]
        pub headers: Vec<(B<'a>, B<'a>)>,
        #[serde(rename = "bodyB64", borrow)]
        pub body_b64: B<'a>,
    }

    #[derive(Deserialize, Debug)]
    pub struct Descriptor<'a> {
        pub contract_version: i64,
        #[serde(borrow)]
        pub platform: B<'a>,
        #[serde(borrow)]
        pub label: B<'a>,
        pub max_message_length: i64,
        pub supports_draft_streaming: bool,
        pub supports_edit: bool,
        pub supports_threads: bool,
        #[serde(borrow)]
        pub markdown_dialect: B<'a>,
        #[serde(borrow)]
        pub len_unit: B<'a>,
        #[serde(borrow, default)]
        pub emoji: Option<B<'a>>,
        #[serde(borrow, default)]
        pub platform_hint: Option<B<'a>>,
        #[serde(default)]
        pub pii_safe: bool,
        #[serde(borrow, default)]
        pub media_capabilities: Vec<B<'a>>,
        #[serde(default)]
        pub supports_context: bool,
        #[serde(borrow, default)]
        pub supported_ops: Option<Vec<B<'a>>>,
    }

    /// What the match on `type` builds (kept small: the borrowed parts
    /// stay in the envelope).
    pub enum Frame<'a> {
        Inbound(Box<Event<'a>>, Option<B<'a>>),
        Result(B<'a>, Option<ResultObj<'a>>),
        Passthrough(Box<Forward<'a>>, Vec<u8>),
        Interrupt(Option<B<'a>>, Option<B<'a>>),
        Descriptor(Box<Descriptor<'a>>),
        IdleAck,
    }

    /// The envelope into a frame; `None` for a frame missing its payload.
    pub fn finish(env: Envelope<'_>) -> Option<Frame<'_>> {
        Some(match &*env.ty.0 {
            "inbound" => Frame::Inbound(Box::new(env.event?), env.buffer_id),
            "outbound_result" => Frame::Result(env.request_id?, env.result),
            "passthrough_forward" => {
                let f = env.forward?;
                let body = base64::engine::general_purpose::STANDARD
                    .decode(f.body_b64.0.as_bytes())
                    .unwrap_or_default();
                Frame::Passthrough(Box::new(f), body)
            }
            "interrupt_inbound" => Frame::Interrupt(env.session_key, env.chat_id),
            "descriptor" => Frame::Descriptor(Box::new(env.descriptor?)),
            "going_idle_ack" => Frame::IdleAck,
            _ => return None,
        })
    }

    pub fn serde_json(line: &[u8]) -> Option<Frame<'_>> {
        finish(serde_json::from_slice(line).ok()?)
    }

    pub fn sonic(line: &[u8]) -> Option<Frame<'_>> {
        finish(sonic_rs::from_slice(line).ok()?)
    }
}

struct Data {
    /// Lines with their `\n` (one WebSocket message each).
    messages: Vec<Vec<u8>>,
    /// Bytes of all messages.
    bytes: usize,
    outbound: Vec<GatewayFrame>,
    /// Bytes of all encoded outbound lines.
    outbound_bytes: usize,
}

fn data() -> Data {
    let lines = corpus::connector_lines(corpus::SEED);
    let messages: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            let mut m = l.text.clone().into_bytes();
            m.push(b'\n');
            m
        })
        .collect();
    let bytes = messages.iter().map(Vec::len).sum();
    let outbound = corpus::outbound_frames(corpus::SEED);
    let mut out = Vec::new();
    let outbound_bytes = outbound
        .iter()
        .map(|f| {
            out.clear();
            encode_gateway_frame(f, &mut out);
            out.len()
        })
        .sum();
    Data {
        messages,
        bytes,
        outbound,
        outbound_bytes,
    }
}

fn line(m: &[u8]) -> &[u8] {
    &m[..m.len() - 1]
}

fn decode_ours(messages: &[Vec<u8>]) -> usize {
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

fn decode_ours_no_line_buffer(messages: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    for m in messages {
        if let Ok(frame) = decode_connector_frame(line(m)) {
            black_box(&frame);
            ok += 1;
        }
    }
    ok
}

fn decode_serde_flat(messages: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    for m in messages {
        if let Some(frame) = flat::serde_json(line(m)) {
            black_box(&frame);
            ok += 1;
        }
    }
    ok
}

fn decode_sonic_flat(messages: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    for m in messages {
        if let Some(frame) = flat::sonic(line(m)) {
            black_box(&frame);
            ok += 1;
        }
    }
    ok
}

fn decode_value(messages: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    for m in messages {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line(m)) {
            black_box(&v);
            ok += 1;
        }
    }
    ok
}

fn encode_ours(frames: &[GatewayFrame], out: &mut Vec<u8>) -> usize {
    let mut n = 0;
    for f in frames {
        out.clear();
        encode_gateway_frame(f, out);
        n += black_box(&*out).len();
    }
    n
}

fn encode_sonic(frames: &[GatewayFrame], out: &mut Vec<u8>) -> usize {
    let mut n = 0;
    for f in frames {
        out.clear();
        if sonic_rs::to_writer(&mut *out, f).is_ok() {
            out.push(b'\n');
        }
        n += black_box(&*out).len();
    }
    n
}

type Decoder = fn(&[Vec<u8>]) -> usize;

const DECODERS: [(&str, Decoder); 5] = [
    ("ours (line buffer + decoder)", decode_ours),
    ("ours (decoder only)", decode_ours_no_line_buffer),
    ("serde_json flat borrowed", decode_serde_flat),
    ("sonic-rs flat borrowed", decode_sonic_flat),
    ("serde_json::Value (untyped)", decode_value),
];

fn criterion_benches(c: &mut Criterion, d: &Data) {
    let mut g = c.benchmark_group("decode");
    // Each iteration runs the whole corpus (tens of ms).
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(d.messages.len() as u64));
    for (name, f) in DECODERS {
        g.bench_function(name, |b| b.iter(|| f(&d.messages)));
    }
    g.finish();

    let mut g = c.benchmark_group("encode");
    // Each iteration runs the whole corpus (tens of ms).
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(d.outbound.len() as u64));
    let mut out = Vec::with_capacity(1 << 16);
    g.bench_function("ours (encode_gateway_frame)", |b| {
        b.iter(|| encode_ours(&d.outbound, &mut out))
    });
    g.bench_function("sonic-rs (same Serialize impls)", |b| {
        b.iter(|| encode_sonic(&d.outbound, &mut out))
    });
    g.finish();
}

fn summary(d: &Data) {
    let n = d.messages.len();
    for (name, f) in DECODERS {
        assert_eq!(f(&d.messages), n, "{name} must decode every corpus line");
    }
    let mut out = Vec::with_capacity(1 << 16);
    let mut out2 = Vec::with_capacity(1 << 16);
    assert_eq!(encode_ours(&d.outbound, &mut out), d.outbound_bytes);

    println!(
        "\n== codec summary: {n} c2g frames ({:.2} MB), {} g2c frames ({:.2} MB); median thread CPU time of 15 interleaved rounds",
        d.bytes as f64 / 1e6,
        d.outbound.len(),
        d.outbound_bytes as f64 / 1e6
    );
    let mut variants: Vec<Variant<'_>> = DECODERS
        .iter()
        .map(|&(name, f)| {
            let msgs = &d.messages;
            Variant::new(name, move || {
                black_box(f(msgs));
            })
        })
        .collect();
    let dec = medians(15, &mut variants);
    let sonic = dec[3].0;
    let serde_flat = dec[2].0;
    println!(
        "{:<32} {:>12} {:>9} {:>11} {:>9} {:>9}",
        "decode", "frames/s", "MB/s", "allocs/fr", "/sonic", "/serde"
    );
    for (i, (name, f)) in DECODERS.iter().enumerate() {
        let (med, lo, hi) = dec[i];
        let (_, allocs, _) = alloc::count(|| f(&d.messages));
        println!(
            "{:<32} {:>12.0} {:>9.0} {:>11.2} {:>8.2}x {:>8.2}x   (range {:.0}-{:.0} k/s)",
            name,
            per_sec(n, med),
            d.bytes as f64 / med.as_secs_f64() / 1e6,
            allocs as f64 / n as f64,
            sonic.as_secs_f64() / med.as_secs_f64(),
            serde_flat.as_secs_f64() / med.as_secs_f64(),
            per_sec(n, hi) / 1e3,
            per_sec(n, lo) / 1e3,
        );
    }

    let frames = &d.outbound;
    let mut variants = vec![
        Variant::new("ours (encode_gateway_frame)", || {
            black_box(encode_ours(frames, &mut out));
        }),
        Variant::new("sonic-rs (same Serialize impls)", || {
            black_box(encode_sonic(frames, &mut out2));
        }),
    ];
    let enc = medians(15, &mut variants);
    let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
    drop(variants);
    println!(
        "{:<32} {:>12} {:>9} {:>11}",
        "encode", "frames/s", "MB/s", "allocs/fr"
    );
    for (i, name) in names.iter().enumerate() {
        let (med, lo, hi) = enc[i];
        let mut buf = Vec::with_capacity(1 << 16);
        let (_, allocs, _) = if i == 0 {
            alloc::count(|| encode_ours(frames, &mut buf))
        } else {
            alloc::count(|| encode_sonic(frames, &mut buf))
        };
        println!(
            "{:<32} {:>12.0} {:>9.0} {:>11.2}   (range {:.0}-{:.0} k/s)",
            name,
            per_sec(frames.len(), med),
            d.outbound_bytes as f64 / med.as_secs_f64() / 1e6,
            allocs as f64 / frames.len() as f64,
            per_sec(frames.len(), hi) / 1e3,
            per_sec(frames.len(), lo) / 1e3,
        );
    }
    println!(
        "encode ours / sonic-rs: {:.2}x",
        enc[1].0.as_secs_f64() / enc[0].0.as_secs_f64()
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
