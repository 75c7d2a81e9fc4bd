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

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use futures_util::StreamExt;
use relay_connector::server::ConnectorServer;
use relay_core::config::{RelayConfig, Timeouts};
use relay_core::descriptor::CapabilityDescriptor;
use relay_core::wire::ActionResult;
use relay_core::wire::{Action, ConnectorFrame, encode_connector_frame};
use relay_core::{Event, State};
use relay_tokio::RelayClient;
use relay_tokio::{ClientError, ClientOptions, InlineClient};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[path = "../../core/benches/support/alloc.rs"]
mod alloc;
#[path = "../../core/benches/support/loopback_frame.rs"]
mod loopback_frame;
use loopback_frame::{RawInbound, RawInboundRef, chat_id, inbound_event};

/// Counts the client process's heap allocations per round trip and frame.
#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const PLATFORM: &str = "telegram";
const BOT: &str = "telegram-bot";
const SECRET: &str = "bench-secret";
const GATEWAYS: usize = 1100;
const RTT_WARMUP: usize = 500;
const RTT_ITERS: usize = 5000;
/// Long enough (1–2 s a round) that one stream is not dominated by its
/// start: with 100,000 frames a relay client's CPU per frame spread over
/// 2.0–3.4 µs between rounds, with 400,000 over 3.1–3.4 µs.
const STREAM_FRAMES: usize = 400_000;
const MEM_CONNS: usize = 1000;
/// Interleaved rounds of the memory section (`LOOPBACK_MEM_ROUNDS`
/// overrides): the RSS of one process moves by a quarter between runs on a
/// loaded machine, the median of five rounds much less.
const MEM_ROUNDS: usize = 5;
/// Interleaved rounds (`LOOPBACK_ROUNDS` overrides): odd, so that the
/// median is a measured round; nine, because one round of a client on a
/// shared machine can run 1.5× slower than the next, and every ratio is
/// taken within a round (a pair against the raw client of that round).
const ROUNDS: usize = 9;
/// Round trips and streamed frames of the two runs under cachegrind whose
/// difference gives the instructions per round trip and per frame (the
/// start-up, connect and warm-up of both runs cancel out).
const CG_RTT: [usize; 2] = [200, 2_200];
const CG_STREAM: [usize; 2] = [2_000, 12_000];
/// Each difference is taken this many times (`LOOPBACK_CG_REPEAT`
/// overrides) and the median kept: a multi-thread runtime's idle workers
/// spin for a while before they park, and how long depends on timing, so
/// one round trip's count moves by up to 15 % from run to run.
const CG_REPEAT: usize = 3;
/// Short, so that a lost reply costs little time; failures are counted.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match words.as_slice() {
        ["serve", kind] => serve(kind),
        ["client", kind, port, "rtt", n] => {
            client_rtt(kind, port.parse().unwrap(), n.parse().unwrap())
        }
        ["client", kind, port, "stream", n] => {
            client_stream(kind, port.parse().unwrap(), n.parse().unwrap())
        }
        ["mem", kind, port, n] => mem(kind, port.parse().unwrap(), n.parse().unwrap()),
        ["one", kind, n] => one(kind, n.parse().unwrap()),
        ["frames"] => {
            println!("outbound: {}", outbound_sample().len());
            print!("{}", String::from_utf8(outbound_sample()).unwrap());
            print!("{}", inbound_line());
            println!("inbound: {}", inbound_line().len());
        }
        _ => orchestrate(),
    }
}

// ---------------------------------------------------------------------------
// Shared payloads

/// The text of the `send` action: sized so that the outbound frame is about
/// 340 bytes.
fn send_content() -> String {
    let base = "Thanks, that works — I have moved the meeting to Thursday at 10:00 and sent \
                the invitation to everyone on the list. Let me know if the room is too small; I can book the larger one.";
    base.to_owned()
}

/// What the relay client writes for one send (for sizing the raw frame).
fn outbound_sample() -> Vec<u8> {
    let frame = RawOutbound {
        ty: "outbound",
        request_id: "00000000000000000000000000000001".to_owned(),
        action: RawSend {
            op: "send",
            chat_id: chat_id(),
            content: &send_content(),
            reply_to: None,
            metadata: serde_json::Map::new(),
        },
    };
    let mut line = serde_json::to_vec(&frame).unwrap();
    line.push(b'\n');
    line
}

/// The inbound frame as the connector encodes it.
fn inbound_line() -> String {
    inbound_line_numbered(0)
}

/// Distinct streamed messages, more than the client's replay memory
/// (`Limits::replay_window`, 512) remembers: a stream of one message
/// repeated would be dropped as replays after its first frame.
const STREAM_IDS: usize = 1024;

/// The streamed message with its own 5-digit message id (`n` below
/// [`STREAM_IDS`]): every frame has the same size.
fn inbound_event_numbered(n: usize) -> relay_core::message::MessageEvent {
    let mut event = inbound_event(PLATFORM);
    event.message_id = Some(format!("{}", 81_234 + n));
    event
}

fn inbound_line_numbered(n: usize) -> String {
    let frame = ConnectorFrame::Inbound {
        event: Box::new(inbound_event_numbered(n)),
        buffer_id: None,
    };
    let mut out = Vec::new();
    encode_connector_frame(&frame, &mut out);
    String::from_utf8(out).unwrap()
}

fn descriptor_line() -> String {
    let frame = ConnectorFrame::Descriptor(Box::new(CapabilityDescriptor::minimal(PLATFORM)));
    let mut out = Vec::new();
    encode_connector_frame(&frame, &mut out);
    String::from_utf8(out).unwrap()
}

// Raw client frames: typed serde structs, encoded and decoded with serde_json.

#[derive(Serialize)]
struct RawOutbound<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(rename = "requestId")]
    request_id: String,
    action: RawSend<'a>,
}

#[derive(Serialize)]
struct RawSend<'a> {
    op: &'a str,
    chat_id: &'a str,
    content: &'a str,
    reply_to: Option<&'a str>,
    metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RawResult {
    #[serde(rename = "type")]
    ty: String,
    #[serde(rename = "requestId")]
    request_id: String,
    result: RawResultBody,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RawResultBody {
    success: bool,
    message_id: Option<String>,
}

/// The zero-copy floor's view of a result: the same fields, borrowed.
#[derive(Deserialize)]
#[allow(dead_code)]
struct RawResultRef<'a> {
    #[serde(rename = "type", borrow)]
    ty: std::borrow::Cow<'a, str>,
    #[serde(rename = "requestId", borrow)]
    request_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    result: RawResultBodyRef<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RawResultBodyRef<'a> {
    success: bool,
    #[serde(borrow)]
    message_id: Option<std::borrow::Cow<'a, str>>,
}

// ---------------------------------------------------------------------------
// Servers

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn serve(kind: &str) {
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        match kind {
            "dev" => serve_dev(&mut rx).await,
            _ => serve_raw(&mut rx).await,
        }
    });
}

async fn serve_dev(commands: &mut mpsc::UnboundedReceiver<String>) {
    let mut builder =
        ConnectorServer::builder().connector_config(relay_connector::ConnectorConfig {
            log_capacity: 0,
            ..Default::default()
        });
    for i in 0..GATEWAYS {
        builder = builder.gateway(&format!("gw-{i}"), &[SECRET]);
    }
    let server = builder.start().await.unwrap();
    println!("PORT {}", server.local_addr().port());
    let events: Arc<Vec<_>> = Arc::new((0..STREAM_IDS).map(inbound_event_numbered).collect());
    let mut sent = 0usize;
    while let Some(line) = commands.recv().await {
        let mut words = line.split_whitespace();
        if words.next() == Some("stream") {
            let n: usize = words.next().unwrap().parse().unwrap();
            let instance = server
                .with_model(|c, _| {
                    let s = c.sessions().last().copied();
                    s.and_then(|s| c.instance_of(s).map(str::to_owned))
                })
                .await
                .unwrap()
                .unwrap();
            let mut left = n;
            while left > 0 {
                let chunk = left.min(256);
                left -= chunk;
                let (events, instance) = (events.clone(), instance.clone());
                let first = sent;
                sent += chunk;
                server
                    .with_model(move |c, now| {
                        for i in first..first + chunk {
                            c.deliver(&instance, events[i % STREAM_IDS].clone(), now);
                        }
                    })
                    .await
                    .unwrap();
            }
        }
    }
}

async fn serve_raw(commands: &mut mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("PORT {}", listener.local_addr().unwrap().port());
    // The stream order of the latest connection.
    let latest: Arc<std::sync::Mutex<Option<mpsc::UnboundedSender<usize>>>> = Arc::default();
    let accept_latest = latest.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (tx, rx) = mpsc::unbounded_channel();
            *accept_latest.lock().unwrap() = Some(tx);
            tokio::spawn(raw_connection(tcp, rx));
        }
    });
    while let Some(line) = commands.recv().await {
        let mut words = line.split_whitespace();
        if words.next() == Some("stream") {
            let n: usize = words.next().unwrap().parse().unwrap();
            if let Some(tx) = latest.lock().unwrap().as_ref() {
                let _ = tx.send(n);
            }
        }
    }
}

async fn raw_connection(
    tcp: tokio::net::TcpStream,
    mut stream_orders: mpsc::UnboundedReceiver<usize>,
) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = async_tungstenite::tokio::accept_async_with_config(tcp, Some(config)).await
    else {
        return;
    };
    let inbound: Vec<Utf8Bytes> = (0..STREAM_IDS)
        .map(|n| Utf8Bytes::from(inbound_line_numbered(n)))
        .collect();
    let descriptor = Utf8Bytes::from(descriptor_line());
    let mut serial: u64 = 0;
    // A newer connection takes over the stream orders; this one stays open.
    let mut orders_open = true;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(text) = msg else { continue };
                for line in text.as_str().lines() {
                    if std::env::var_os("LOOPBACK_DEBUG").is_some() {
                        eprintln!("server got: {line}");
                    }
                    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                    let reply = match value.get("type").and_then(|t| t.as_str()) {
                        Some("hello") => descriptor.clone(),
                        Some("outbound") => {
                            serial += 1;
                            let reply = serde_json::json!({
                                "type": "outbound_result",
                                "requestId": value.get("requestId"),
                                "result": {"success": true, "message_id": format!("msg-{serial:016x}")},
                            });
                            let mut text = serde_json::to_string(&reply).unwrap();
                            text.push('\n');
                            Utf8Bytes::from(text)
                        }
                        _ => continue,
                    };
                    if ws.send(Message::Text(reply)).await.is_err() {
                        return;
                    }
                }
            }
            order = stream_orders.recv(), if orders_open => {
                let Some(n) = order else {
                    orders_open = false;
                    continue;
                };
                for i in 0..n {
                    let frame = inbound[i % STREAM_IDS].clone();
                    if ws.send(Message::Text(frame)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Clients

fn relay_config(port: u16, gateway: usize) -> RelayConfig {
    RelayConfig::builder(format!("ws://127.0.0.1:{port}"))
        .gateway_id(format!("gw-{gateway}"))
        .secret(SECRET)
        .identity(PLATFORM, BOT)
        .timeouts(Timeouts {
            request: REQUEST_TIMEOUT,
            ..Timeouts::default()
        })
        .build()
        .unwrap()
}

/// The client runtime of this process (`LOOPBACK_CLIENT_RT`): `smol`,
/// `current_thread`, or a tokio multi-thread runtime with 2 workers.
fn on_smol() -> bool {
    std::env::var("LOOPBACK_CLIENT_RT").as_deref() == Ok("smol")
}

/// Runs the client's future on the client runtime: tokio (multi-thread or
/// current-thread), or smol (`smol::block_on` on the main thread; a spawned
/// relay client's driver runs on relay-smol's executor thread).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    if on_smol() {
        smol::block_on(future)
    } else if std::env::var("LOOPBACK_CLIENT_RT").as_deref() == Ok("current_thread") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    } else {
        runtime().block_on(future)
    }
}

async fn relay_serving(
    port: u16,
    gateway: usize,
    options: ClientOptions,
) -> (relay_tokio::RelayHandle, relay_tokio::Events) {
    let config = relay_config(port, gateway);
    let (handle, mut events) = if on_smol() {
        relay_smol::RelayClient::start_with(config, options)
    } else {
        RelayClient::start_with(config, options)
    };
    loop {
        match events.next_event().await {
            Some(Event::StateChanged {
                to: State::Serving, ..
            }) => return (handle, events),
            Some(_) => {}
            None => panic!("client stopped before serving"),
        }
    }
}

/// An `InlineClient` that has reached `Serving`.
async fn inline_serving(port: u16, gateway: usize, options: ClientOptions) -> InlineClient {
    let config = relay_config(port, gateway);
    let mut client = if on_smol() {
        relay_smol::RelayClient::inline_with(config, options)
    } else {
        RelayClient::inline_with(config, options)
    };
    loop {
        match client.next_event().await {
            Some(Event::StateChanged {
                to: State::Serving, ..
            }) => return client,
            Some(_) => {}
            None => panic!("client stopped before serving"),
        }
    }
}

type RawWs = async_tungstenite::WebSocketStream<
    async_tungstenite::tokio::TokioAdapter<tokio::net::TcpStream>,
>;

async fn raw_connect(port: u16, config: WebSocketConfig) -> RawWs {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let url = format!("ws://127.0.0.1:{port}/relay");
    async_tungstenite::tokio::client_async_with_config(url, tcp, Some(config))
        .await
        .unwrap()
        .0
}

type SmolWs = async_tungstenite::WebSocketStream<smol::net::TcpStream>;

async fn raw_connect_smol(port: u16, config: WebSocketConfig) -> SmolWs {
    let tcp = smol::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let url = format!("ws://127.0.0.1:{port}/relay");
    async_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .unwrap()
        .0
}

/// The engine's WebSocket settings (`ClientOptions::default()`): 4 KiB read
/// buffer, no write buffering.
fn small_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Process CPU time (user + system) in microseconds.
fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Round-trip samples (warm-up included), CPU µs over the timed part, and
/// failed requests.
struct Rtt {
    samples: Vec<Duration>,
    cpu: u64,
    allocs: u64,
    failures: u32,
}

impl Rtt {
    fn new(iters: usize) -> Self {
        Rtt {
            samples: Vec::with_capacity(RTT_WARMUP + iters),
            cpu: 0,
            allocs: 0,
            failures: 0,
        }
    }

    fn mark(&mut self, i: usize) {
        if i == RTT_WARMUP {
            self.cpu = cpu_us();
            self.allocs = alloc::snapshot().0;
        }
    }

    fn record(&mut self, i: usize, start: Instant, result: Result<ActionResult, ClientError>) {
        match result {
            Ok(result) => {
                assert!(result.success);
                self.samples.push(start.elapsed());
            }
            Err(error) => {
                eprintln!("request {i} failed after {:?}: {error}", start.elapsed());
                self.failures += 1;
            }
        }
    }

    fn done(&mut self) {
        self.cpu = cpu_us() - self.cpu;
        self.allocs = alloc::snapshot().0 - self.allocs;
    }
}

/// The raw client's round trips on any transport; `borrowed`: the result
/// is decoded without copying its strings (the zero-copy floor).
async fn raw_rtt<S>(
    ws: &mut async_tungstenite::WebSocketStream<S>,
    iters: usize,
    rtt: &mut Rtt,
    borrowed: bool,
) where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    let content = send_content();
    for i in 0..RTT_WARMUP + iters {
        rtt.mark(i);
        let start = Instant::now();
        let frame = RawOutbound {
            ty: "outbound",
            request_id: format!("{:032x}", i + 1),
            action: RawSend {
                op: "send",
                chat_id: chat_id(),
                content: &content,
                reply_to: None,
                metadata: serde_json::Map::new(),
            },
        };
        let mut text = serde_json::to_string(&frame).unwrap();
        text.push('\n');
        ws.send(Message::text(text)).await.unwrap();
        loop {
            let Some(Ok(Message::Text(reply))) = ws.next().await else {
                continue;
            };
            let json = reply.as_str().trim_end();
            if borrowed {
                let result: RawResultRef<'_> = serde_json::from_str(json).unwrap();
                assert!(result.result.success);
            } else {
                let result: RawResult = serde_json::from_str(json).unwrap();
                assert!(result.result.success);
            }
            break;
        }
        rtt.samples.push(start.elapsed());
    }
    rtt.done();
}

fn client_rtt(kind: &str, port: u16, iters: usize) {
    let rtt = block_on(async {
        let mut rtt = Rtt::new(iters);
        let content = send_content();
        match kind {
            "relay" | "relay-recycle" => {
                let (handle, _events) = relay_serving(port, 0, ClientOptions::default()).await;
                for i in 0..RTT_WARMUP + iters {
                    rtt.mark(i);
                    let start = Instant::now();
                    let result = handle.send(Action::send(chat_id(), content.as_str())).await;
                    rtt.record(i, start, result);
                }
                rtt.done();
                handle.shutdown().await;
            }
            "inline" | "inline-recycle" => {
                let mut client = inline_serving(port, 0, ClientOptions::default()).await;
                for i in 0..RTT_WARMUP + iters {
                    rtt.mark(i);
                    let start = Instant::now();
                    let result = client.send(Action::send(chat_id(), content.as_str())).await;
                    rtt.record(i, start, result);
                }
                rtt.done();
                client.shutdown().await;
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

/// Counts streamed frames, timing from the first.
struct Frames {
    left: usize,
    first: Option<(Instant, u64, u64)>,
}

impl Frames {
    fn new(n: usize) -> Self {
        Frames {
            left: n,
            first: None,
        }
    }

    fn more(&self) -> bool {
        self.left > 0
    }

    fn got(&mut self, frame: bool) {
        if frame {
            self.first
                .get_or_insert_with(|| (Instant::now(), cpu_us(), alloc::snapshot().0));
            self.left -= 1;
        }
    }

    /// Wall time, CPU µs and allocations since the first frame.
    fn finish(&self) -> (Duration, u64, u64) {
        let (start, cpu, allocs) =
            self.first
                .unwrap_or((Instant::now(), cpu_us(), alloc::snapshot().0));
        (
            start.elapsed(),
            cpu_us() - cpu,
            alloc::snapshot().0 - allocs,
        )
    }
}

/// The raw client's stream on any transport; `borrowed`: each frame is
/// decoded without copying its strings (the zero-copy floor).
async fn raw_stream<S>(
    ws: &mut async_tungstenite::WebSocketStream<S>,
    n: usize,
    borrowed: bool,
) -> (Duration, u64, u64)
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    // A round trip first, so the server has registered us.
    let probe = r#"{"type":"hello","platform":"telegram","botId":"telegram-bot"}"#;
    ws.send(Message::text(format!("{probe}\n"))).await.unwrap();
    let _descriptor = ws.next().await;
    println!("READY");
    let mut frames = Frames::new(n);
    while frames.more() {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            continue;
        };
        let json = text.as_str().trim_end();
        if borrowed {
            let frame: RawInboundRef<'_> = serde_json::from_str(json).unwrap();
            assert!(!frame.event.text.is_empty());
        } else {
            let frame: RawInbound = serde_json::from_str(json).unwrap();
            assert!(!frame.event.text.is_empty());
        }
        frames.got(true);
    }
    frames.finish()
}

fn inbound_text(event: Option<Event>) -> bool {
    match event {
        Some(Event::Inbound { event, .. }) => {
            assert!(!event.text.is_empty());
            true
        }
        _ => false,
    }
}

fn client_stream(kind: &str, port: u16, n: usize) {
    let (elapsed, cpu, allocs) = block_on(async {
        match kind {
            "relay" => {
                let (handle, mut events) = relay_serving(port, 0, ClientOptions::default()).await;
                println!("READY");
                let mut frames = Frames::new(n);
                while frames.more() {
                    frames.got(inbound_text(events.next_event().await));
                }
                let out = frames.finish();
                handle.shutdown().await;
                out
            }
            "relay-recycle" => {
                // Each message handed back once read: it goes back to the
                // driver task, which decodes the next ones into it.
                let (handle, mut events) = relay_serving(port, 0, ClientOptions::default()).await;
                println!("READY");
                let mut frames = Frames::new(n);
                while frames.more() {
                    let got = match events.next_event().await {
                        Some(Event::Inbound { event, .. }) => {
                            assert!(!event.text.is_empty());
                            events.recycle(event);
                            true
                        }
                        _ => false,
                    };
                    frames.got(got);
                }
                let out = frames.finish();
                handle.shutdown().await;
                out
            }
            "inline" => {
                let mut client = inline_serving(port, 0, ClientOptions::default()).await;
                println!("READY");
                let mut frames = Frames::new(n);
                while frames.more() {
                    frames.got(inbound_text(client.next_event().await));
                }
                let out = frames.finish();
                client.shutdown().await;
                out
            }
            "inline-recycle" => {
                // Each message handed back once read: the next ones are
                // decoded into its storage.
                let mut client = inline_serving(port, 0, ClientOptions::default()).await;
                println!("READY");
                let mut frames = Frames::new(n);
                while frames.more() {
                    let got = match client.next_event().await {
                        Some(Event::Inbound { event, .. }) => {
                            assert!(!event.text.is_empty());
                            client.recycle(event);
                            true
                        }
                        _ => false,
                    };
                    frames.got(got);
                }
                let out = frames.finish();
                client.shutdown().await;
                out
            }
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

/// Resident set size in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page
}

fn mem(kind: &str, port: u16, n: usize) {
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
                let (ready, mut readied) = mpsc::unbounded_channel::<()>();
                let idle = |gateway: usize, ready: mpsc::UnboundedSender<()>| {
                    let options = options.clone();
                    async move {
                        let (_handle, mut events) = relay_serving(port, gateway, options).await;
                        let _ = ready.send(());
                        while events.next_event().await.is_some() {}
                    }
                };
                // Warm-up: one client (statics, runtime pools), kept open.
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
            "inline" => {
                // One task per client, as the application would run it.
                let options = ClientOptions::default();
                let (ready, mut readied) = mpsc::unbounded_channel::<()>();
                let idle = |gateway: usize, ready: mpsc::UnboundedSender<()>| {
                    let options = options.clone();
                    async move {
                        let mut client = inline_serving(port, gateway, options).await;
                        let _ = ready.send(());
                        while client.next_event().await.is_some() {}
                    }
                };
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

/// With `LOOPBACK_MEM_EXIT` set, the measuring process exits at the idle
/// point without dropping anything, so a heap profiler run on it reports
/// everything the idle connections hold as leaked.
fn mem_exit_here() {
    if std::env::var_os("LOOPBACK_MEM_EXIT").is_some() {
        std::process::exit(0);
    }
}

/// One reader task per raw connection, as an idle client holds.
async fn raw_idle(mut ws: RawWs) {
    while let Some(Ok(_)) = ws.next().await {}
}

// ---------------------------------------------------------------------------
// Orchestration

struct Server {
    child: Child,
    stdin: ChildStdin,
    port: u16,
}

fn exe() -> std::path::PathBuf {
    std::env::current_exe().unwrap()
}

/// A child of this binary, pinned to CPU 0 or not, with its client runtime
/// (`multi_thread`, `current_thread` or `smol`).
fn command(pin: bool, client_rt: &str) -> Command {
    let mut c = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(exe());
        c
    } else {
        Command::new(exe())
    };
    c.env("LOOPBACK_CLIENT_RT", client_rt);
    c
}

fn spawn_server(kind: &str, pin: bool) -> Server {
    let mut child = command(pin, "multi_thread")
        .args(["serve", kind])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    Server { child, stdin, port }
}

/// Runs a client child and returns the numbers of its RESULT line. For a
/// stream, tells `server` to stream once the client is ready.
fn run_client(
    args: &[String],
    (pin, client_rt): (bool, &str),
    server: Option<&mut Server>,
    stream: usize,
) -> Vec<f64> {
    run_child(command(pin, client_rt), args, server, stream)
}

/// Runs `command` with `args` as a client child (see [`run_client`]).
fn run_child(
    mut command: Command,
    args: &[String],
    server: Option<&mut Server>,
    stream: usize,
) -> Vec<f64> {
    let mut child = command.args(args).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut server = server;
    let mut line = String::new();
    let mut result = None;
    while result.is_none() && out.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("READY") {
            let s = server.as_mut().unwrap();
            writeln!(s.stdin, "stream {stream}").unwrap();
            s.stdin.flush().unwrap();
        } else if let Some(rest) = line.strip_prefix("RESULT ") {
            let nums: Vec<f64> = rest
                .split_whitespace()
                .map(|w| w.parse().unwrap())
                .collect();
            result = Some(nums);
        }
        line.clear();
    }
    let status = child.wait().unwrap();
    result.unwrap_or_else(|| panic!("client {args:?} ended without a result: {status}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The client/server pairs of a tokio section, in the order they run each
/// round. The first is the baseline of the ratios; the second, the
/// zero-copy floor, is what the rows that hand messages back are also
/// compared with.
const PAIRS: &[(&str, &str, &str)] = &[
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
const SMOL_PAIRS: &[(&str, &str, &str)] = &[
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

/// Whether `LOOPBACK_SECTIONS` (comma-separated: `cg`, `multi`, `pinned`,
/// `current`, `smol`, `mem`; all when unset) selects `name`.
fn section_on(name: &str) -> bool {
    match std::env::var("LOOPBACK_SECTIONS") {
        Ok(list) => list.split(',').any(|s| s.trim() == name),
        Err(_) => true,
    }
}

fn rounds() -> usize {
    std::env::var("LOOPBACK_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS)
        .max(1)
}

/// One figure of every round of every pair: `[pair][round]`.
type Rounds = Vec<Vec<f64>>;

/// The median over rounds of pair `i`'s figure divided by pair `base`'s
/// figure of the same round.
fn paired(values: &Rounds, i: usize, base: usize) -> f64 {
    median(
        values[i]
            .iter()
            .zip(&values[base])
            .map(|(v, b)| v / b)
            .collect(),
    )
}

/// Per-round ratios of every pair to pair `base`, pairs separated by `|`.
fn fmt_paired(values: &Rounds, base: usize) -> String {
    (0..values.len())
        .map(|i| {
            values[i]
                .iter()
                .zip(&values[base])
                .map(|(v, b)| format!("{:.2}", v / b))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn orchestrate() {
    let started = Instant::now();
    let rounds = rounds();
    println!("# hermes-relay-tokio end-to-end loopback benchmark");
    println!();
    println!(
        "outbound frame {} B, inbound frame {} B; {RTT_ITERS} round trips after {RTT_WARMUP} warm-up; \
         {STREAM_FRAMES} streamed frames; {rounds} interleaved rounds; ratios are paired within each round \
         (the median of the rounds' ratios); commit {}; load average at start {}",
        outbound_sample().len(),
        inbound_line().len(),
        commit(),
        load()
    );
    if section_on("cg") {
        cachegrind_section();
    }
    let sections = [
        ("multi", false, "multi_thread", PAIRS),
        ("pinned", true, "multi_thread", PAIRS),
        ("current", false, "current_thread", PAIRS),
        ("smol", false, "smol", SMOL_PAIRS),
    ];
    for (section, pin, client_rt, pairs) in sections {
        if !section_on(section) {
            continue;
        }
        let mut raw = spawn_server("raw", pin);
        let mut dev = spawn_server("dev", pin);
        // [pair][round] -> (median, p99, cpu, failed, allocs) and (fps, cpu, allocs)
        let mut rtt: Vec<Vec<Vec<f64>>> = vec![Vec::new(); pairs.len()];
        let mut stream: Vec<Vec<Vec<f64>>> = vec![Vec::new(); pairs.len()];
        let mut loads = Vec::new();
        for _ in 0..rounds {
            for (i, (client, srv, _)) in pairs.iter().enumerate() {
                let server = if *srv == "raw" { &mut raw } else { &mut dev };
                let args = [
                    "client",
                    client,
                    &server.port.to_string(),
                    "rtt",
                    &RTT_ITERS.to_string(),
                ]
                .map(str::to_owned);
                rtt[i].push(run_client(&args, (pin, client_rt), None, 0));
            }
            for (i, (client, srv, _)) in pairs.iter().enumerate() {
                let server = if *srv == "raw" { &mut raw } else { &mut dev };
                let args = [
                    "client",
                    client,
                    &server.port.to_string(),
                    "stream",
                    &STREAM_FRAMES.to_string(),
                ]
                .map(str::to_owned);
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

    if section_on("mem") {
        memory_section();
    }
    println!();
    println!(
        "total time {:.0} s; load average at end {}",
        started.elapsed().as_secs_f64(),
        load()
    );
}

/// Rounds of the memory section (see [`MEM_ROUNDS`]).
fn mem_rounds() -> usize {
    std::env::var("LOOPBACK_MEM_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(MEM_ROUNDS)
}

fn memory_section() {
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

/// The rows of the instruction-count table: runtime, client kind, label.
const CG_ROWS: &[(&str, &str, &str)] = &[
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
fn cachegrind_section() {
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
                        let args = ["client", kind, &raw.port.to_string(), mode, &n.to_string()]
                            .map(str::to_owned);
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

/// `one <kind> <N>`: a raw server and one client of `kind` streaming `N`
/// frames on the client runtime `LOOPBACK_CLIENT_RT` (multi-thread by
/// default), for profiling one row. `LOOPBACK_WRAP` (for example `perf stat
/// -e task-clock,context-switches` or `strace -f -c`) is put in front of
/// the client's command only, so that what the tool reports counts the
/// client process and none of the server.
fn one(kind: &str, frames: usize) {
    let mut server = spawn_server("raw", false);
    let wrap = std::env::var("LOOPBACK_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(tool) => {
            let mut c = Command::new(tool);
            c.args(words).arg(exe());
            c
        }
        None => Command::new(exe()),
    };
    let client_rt =
        std::env::var("LOOPBACK_CLIENT_RT").unwrap_or_else(|_| "multi_thread".to_owned());
    command.env("LOOPBACK_CLIENT_RT", &client_rt);
    let args = [
        "client",
        kind,
        &server.port.to_string(),
        "stream",
        &frames.to_string(),
    ]
    .map(str::to_owned);
    let result = run_child(command, &args, Some(&mut server), frames);
    println!(
        "{kind} on {client_rt}: {:.0} frames/s, client CPU {:.2} µs/frame, {:.2} allocs/frame (load average {})",
        result[0],
        result[1],
        result[2],
        load()
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// Runs one client child under cachegrind (instruction counts only) and
/// returns the instructions of the whole process.
fn cachegrind_client(
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

/// The current commit, for the record.
fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The one-minute load average.
fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(0.0)
}

fn load_range(loads: &[f64]) -> String {
    let lo = loads.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = loads.iter().copied().fold(0.0, f64::max);
    format!("{lo:.1}–{hi:.1}")
}

fn fmt_rounds(rounds: &[Vec<Vec<f64>>], k: usize, div: f64) -> String {
    rounds
        .iter()
        .take(1)
        .map(|pair| {
            pair.iter()
                .map(|r| format!("{:.0}", r[k] / div))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
