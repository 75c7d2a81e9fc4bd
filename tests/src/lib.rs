//! Deterministic simulation of many relay gateways against the reference
//! connector model.
//!
//! Every run is a pure function of one `u64` seed: the seed picks which
//! faults are on (swarm testing) and drives every latency, drop, delivery and
//! application decision. Time is simulated: an event queue ordered by
//! `(time, seq)`. See `docs/simulation.md`.
//!
//! [`engine`] is the second world: whole clients (the engine and the core)
//! on a seeded simulation runtime over a simulated network.

#![forbid(unsafe_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt::Write as _;

use relay_connector::{
    Accept, Connector, ConnectorConfig, ConnectorOutput, DefaultResponder, RejectMode, Request,
    Responder, Response, SessionId,
};
use relay_core::config::{IdleMode, RelayConfig};
use relay_core::connection::{CommandError, DeliveryHandle};
use relay_core::rng::Rng;
use relay_core::source::MessageEvent;
use relay_core::wire::{Action, GatewayFrame, SendAction, decode_gateway_frame};
use relay_core::{Connection, Event, Input, Instant, Output, State, UnixTime};

#[cfg(feature = "planted-bugs")]
pub use relay_core::connection::PlantedBug;

pub mod engine;
mod minimize;
pub use minimize::{Minimized, minimize, regression_test};

/// Wall clock (Unix seconds) at simulated time zero.
pub const WALL_BASE: u64 = 1_700_000_000;
/// How many trace lines a violation report keeps.
pub const TRACE_TAIL: usize = 200;
/// How late a request may end after its deadline (ms).
pub const REQUEST_TOLERANCE_MS: u64 = 1_000;
/// The gateways' idle-ack timeout (ms), the core's default.
pub const IDLE_ACK_MS: u64 = 10_000;
/// Upgrade token lifetime the gateways use (seconds).
pub const TOKEN_TTL_SECS: u64 = 300;

/// Which faults a seed turns on, and how hard (swarm testing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swarm {
    /// Mean time between forced connection drops (ms), `None`: off.
    pub drop_mean_ms: Option<u64>,
    /// Percent of upgrades refused with HTTP 401/410/503 (0: off).
    pub http_refusal_pct: u64,
    /// Mean time between connector restarts (ms), `None`: off.
    pub restart_mean_ms: Option<u64>,
    /// How many gateways the connector revokes during the fault window.
    pub revocations: u64,
    /// Largest clock skew between a gateway and the connector (seconds).
    pub skew_max_secs: u64,
    /// Longest delay before the application acks a buffered delivery (ms).
    pub ack_delay_max_ms: u64,
    /// Percent of acks the application sends twice.
    pub ack_dup_pct: u64,
    /// Percent of connector frames preceded by a garbage line.
    pub garbage_pct: u64,
    /// Percent of requests the connector never answers.
    pub silence_pct: u64,
    /// Whether the application calls `go_idle` / `wake` at random moments.
    pub idle_wake: bool,
    /// Whether NDJSON lines are split and coalesced across WS messages.
    pub split: bool,
    /// Whether the connector refuses at the HTTP level (410 for revoked).
    pub reject_http: bool,
    /// Largest one-way base latency (ms).
    pub latency_max_ms: u64,
    /// Mean time between link stalls (ms), `None`: off. A stall holds
    /// everything on one open link, both ways, for up to 30 s without
    /// closing it (a partition that TCP does not notice).
    pub stall_mean_ms: Option<u64>,
}

impl Swarm {
    /// Picks the faults for a run from its seed.
    pub fn from_rng(rng: &mut Rng) -> Swarm {
        let on = |rng: &mut Rng| rng.chance(1, 2);
        Swarm {
            drop_mean_ms: on(rng).then(|| rng.range_inclusive(1_000, 15_000)),
            http_refusal_pct: if on(rng) {
                rng.range_inclusive(1, 30)
            } else {
                0
            },
            restart_mean_ms: rng.chance(1, 3).then(|| rng.range_inclusive(5_000, 40_000)),
            revocations: if rng.chance(1, 3) {
                rng.range_inclusive(1, 2)
            } else {
                0
            },
            skew_max_secs: match rng.range_inclusive(0, 9) {
                0..=4 => 0,
                5..=7 => 60,
                8 => 200,
                _ => 400,
            },
            ack_delay_max_ms: if on(rng) { 40_000 } else { 2_000 },
            ack_dup_pct: if on(rng) {
                rng.range_inclusive(1, 40)
            } else {
                0
            },
            garbage_pct: if on(rng) {
                rng.range_inclusive(1, 20)
            } else {
                0
            },
            silence_pct: if on(rng) {
                rng.range_inclusive(1, 50)
            } else {
                0
            },
            idle_wake: on(rng),
            split: on(rng),
            reject_http: rng.chance(1, 4),
            latency_max_ms: rng.range_inclusive(1, 200),
            stall_mean_ms: rng.chance(1, 3).then(|| rng.range_inclusive(5_000, 30_000)),
        }
    }
}

/// One fault of the swarm, by name, so a run can switch it off
/// ([`SimConfig::faults_off`]); used by minimization and replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Forced connection drops (`drop_mean`).
    Drop,
    /// Refused upgrades (`http_refusal`).
    HttpRefusal,
    /// Connector restarts (`restart_mean`).
    Restart,
    /// Connector-side revocations (`revocations`).
    Revocations,
    /// Clock skew (`skew_max`).
    Skew,
    /// Slow acks (`ack_delay_max` up to 40 s instead of 2 s).
    SlowAcks,
    /// Duplicated acks (`ack_dup`).
    AckDup,
    /// Garbage lines (`garbage`).
    Garbage,
    /// Unanswered requests (`silence`).
    Silence,
    /// Random `go_idle` / `wake` (`idle_wake`).
    IdleWake,
    /// Split and coalesced lines (`split`).
    Split,
    /// HTTP 410 instead of close 4401 for revoked gateways (`reject_http`).
    RejectHttp,
    /// Link stalls (`stall_mean`).
    Stall,
}

impl Fault {
    /// Every fault, in `Swarm` field order.
    pub const ALL: [Fault; 13] = [
        Fault::Drop,
        Fault::HttpRefusal,
        Fault::Restart,
        Fault::Revocations,
        Fault::Skew,
        Fault::SlowAcks,
        Fault::AckDup,
        Fault::Garbage,
        Fault::Silence,
        Fault::IdleWake,
        Fault::Split,
        Fault::RejectHttp,
        Fault::Stall,
    ];

    /// The name used by `relay-sim --off`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::HttpRefusal => "http_refusal",
            Fault::Restart => "restart",
            Fault::Revocations => "revocations",
            Fault::Skew => "skew",
            Fault::SlowAcks => "slow_acks",
            Fault::AckDup => "ack_dup",
            Fault::Garbage => "garbage",
            Fault::Silence => "silence",
            Fault::IdleWake => "idle_wake",
            Fault::Split => "split",
            Fault::RejectHttp => "reject_http",
            Fault::Stall => "stall",
        }
    }

    /// The fault called `name` (see [`Fault::name`]).
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Swarm {
    /// Whether `fault` is on in this run.
    pub fn is_on(&self, fault: Fault) -> bool {
        match fault {
            Fault::Drop => self.drop_mean_ms.is_some(),
            Fault::HttpRefusal => self.http_refusal_pct > 0,
            Fault::Restart => self.restart_mean_ms.is_some(),
            Fault::Revocations => self.revocations > 0,
            Fault::Skew => self.skew_max_secs > 0,
            Fault::SlowAcks => self.ack_delay_max_ms > 2_000,
            Fault::AckDup => self.ack_dup_pct > 0,
            Fault::Garbage => self.garbage_pct > 0,
            Fault::Silence => self.silence_pct > 0,
            Fault::IdleWake => self.idle_wake,
            Fault::Split => self.split,
            Fault::RejectHttp => self.reject_http,
            Fault::Stall => self.stall_mean_ms.is_some(),
        }
    }

    /// Switches `fault` off.
    pub fn turn_off(&mut self, fault: Fault) {
        match fault {
            Fault::Drop => self.drop_mean_ms = None,
            Fault::HttpRefusal => self.http_refusal_pct = 0,
            Fault::Restart => self.restart_mean_ms = None,
            Fault::Revocations => self.revocations = 0,
            Fault::Skew => self.skew_max_secs = 0,
            Fault::SlowAcks => self.ack_delay_max_ms = self.ack_delay_max_ms.min(2_000),
            Fault::AckDup => self.ack_dup_pct = 0,
            Fault::Garbage => self.garbage_pct = 0,
            Fault::Silence => self.silence_pct = 0,
            Fault::IdleWake => self.idle_wake = false,
            Fault::Split => self.split = false,
            Fault::RejectHttp => self.reject_http = false,
            Fault::Stall => self.stall_mean_ms = None,
        }
    }

    /// The faults that are on.
    pub fn on(&self) -> Vec<Fault> {
        Fault::ALL.into_iter().filter(|f| self.is_on(*f)).collect()
    }
}

impl std::fmt::Display for Swarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "drop_mean={:?} http_refusal={}% restart_mean={:?} revocations={} skew_max={}s \
             ack_delay_max={}ms ack_dup={}% garbage={}% silence={}% idle_wake={} split={} \
             reject_http={} latency_max={}ms stall_mean={:?}",
            self.drop_mean_ms,
            self.http_refusal_pct,
            self.restart_mean_ms,
            self.revocations,
            self.skew_max_secs,
            self.ack_delay_max_ms,
            self.ack_dup_pct,
            self.garbage_pct,
            self.silence_pct,
            self.idle_wake,
            self.split,
            self.reject_http,
            self.latency_max_ms,
            self.stall_mean_ms
        )
    }
}

/// Parameters of a run that the seed does not pick.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of gateways.
    pub gateways: usize,
    /// Length of the fault window (ms of simulated time).
    pub fault_window_ms: u64,
    /// Time allowed after the fault window for everything to converge (ms).
    pub heal_bound_ms: u64,
    /// Print every trace line to stdout as it happens.
    pub print_trace: bool,
    /// Faults switched off whatever the seed picks (the seed still draws
    /// them, so the other draws of the swarm stay the same).
    pub faults_off: BTreeSet<Fault>,
    /// The deliberate mistake every gateway's core makes (feature
    /// `planted-bugs`; `PlantedBug::None` is the real core).
    #[cfg(feature = "planted-bugs")]
    pub plant: PlantedBug,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            gateways: 8,
            fault_window_ms: 60_000,
            heal_bound_ms: 120_000,
            print_trace: false,
            faults_off: BTreeSet::new(),
            #[cfg(feature = "planted-bugs")]
            plant: PlantedBug::None,
        }
    }
}

/// A broken invariant.
#[derive(Clone, Debug)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// Details.
    pub detail: String,
    /// The step at which it was detected.
    pub step: u64,
    /// Simulated time (ms).
    pub at_ms: u64,
    /// The last [`TRACE_TAIL`] trace lines.
    pub trace_tail: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "VIOLATION {} at step {} (t={}ms): {}",
            self.invariant, self.step, self.at_ms, self.detail
        )?;
        writeln!(f, "--- last {} trace lines ---", self.trace_tail.len())?;
        for line in &self.trace_tail {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// The faults it turned on.
    pub swarm: Swarm,
    /// Events processed.
    pub steps: u64,
    /// Simulated time at the end (ms).
    pub end_ms: u64,
    /// FNV-1a hash of the whole trace (equal seeds, equal hashes).
    pub trace_hash: u64,
    /// The first broken invariant, if any.
    pub violation: Option<Violation>,
    /// Counters.
    pub stats: SimStats,
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages delivered through the connector.
    pub deliveries: u64,
    /// Buffered items handed to applications.
    pub handed: u64,
    /// Requests sent.
    pub requests: u64,
    /// Forced drops.
    pub drops: u64,
    /// Connector restarts.
    pub restarts: u64,
    /// Gateways that ended `Revoked`.
    pub revoked: u64,
    /// Gateways revoked although the connector never revoked them (410 or
    /// two injected 4401s).
    pub revoked_by_fault: u64,
    /// `go_idle` calls that keep the socket while buffered.
    pub idle_keep: u64,
    /// `go_idle` calls that close and wait for a wake.
    pub idle_close: u64,
    /// `go_idle` calls that close and re-dial on the dormant cadence.
    pub idle_dormant: u64,
}

/// Something that happens to the gateway's socket.
#[derive(Clone, Debug)]
enum ToGw {
    Opened,
    Msg(Vec<u8>),
    Closed(Option<u16>, String),
    Pong,
    DialFailed(Option<u16>),
}

#[derive(Clone, Debug)]
enum Ev {
    GwTimer(usize, u64),
    ConnTimer(u64),
    Accept(usize, u64, Vec<(String, String)>),
    ToGw(usize, u64, ToGw),
    ToConnMsg(SessionId, Vec<u8>),
    ToConnClosed(SessionId),
    Wake(usize),
    AppAck(usize, String),
    AppTick(usize),
    Deliver(usize),
    Drop,
    Restart,
    Revoke,
    Skew,
    Stall,
    Heal,
}

struct Queued {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Gw {
    id: String,
    conn: Connection,
    sock_counter: u64,
    sock: Option<u64>,
    timer_gen: u64,
    latency: u64,
    jitter: u64,
    skew: i64,
    revoked: bool,
    ever_served: bool,
    got_410: bool,
    handed: BTreeSet<String>,
    /// Deliveries the application acked (an `inbound_ack` needs one).
    app_acked: BTreeSet<String>,
    /// When the current socket carried `going_idle` (cleared on leaving GoingIdle).
    going_idle_at: Option<u64>,
    /// The socket on which the last `go_idle` was refused for a missing ack.
    idle_refused_sock: Option<u64>,
    /// The idle mode of the last `go_idle` (each call draws one).
    idle_mode: Option<IdleMode>,
    buffered: BTreeSet<String>,
    /// Pending requests: id -> (deadline, socket it was sent on).
    requests: BTreeMap<String, (u64, u64)>,
    ended: BTreeSet<String>,
}

/// Answers requests like the default responder, but stays silent on a
/// seeded fraction of them.
struct FlakyResponder {
    rng: Rng,
    silence_pct: u64,
    fallback: DefaultResponder,
}

impl Responder for FlakyResponder {
    fn respond(&mut self, req: &Request<'_>, rng: &mut Rng) -> Response {
        if self.rng.chance(self.silence_pct, 100) {
            Response::Silence
        } else {
            Response::Reply(self.fallback.answer(&req.outbound.action, rng))
        }
    }
}

struct Fail(&'static str, String);

/// One simulated world: gateways, the connector, the network and the clock.
pub struct World {
    cfg: SimConfig,
    swarm: Swarm,
    rng: Rng,
    now: u64,
    seq: u64,
    step: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    gws: Vec<Gw>,
    connector: Connector,
    conn_gen: u64,
    /// connector session -> (gateway, socket)
    sessions: BTreeMap<SessionId, (usize, u64)>,
    /// (gateway, socket) -> connector session
    socks: BTreeMap<(usize, u64), SessionId>,
    /// FIFO per link direction: (gateway, socket, to_gateway) -> last arrival.
    link_last: BTreeMap<(usize, u64, bool), u64>,
    /// Stalled links: (gateway, socket) -> nothing arrives before this time.
    stalls: BTreeMap<(usize, u64), u64>,
    healing: bool,
    heal_at: u64,
    revocations_left: u64,
    msg_counter: u64,
    hash: u64,
    tail: VecDeque<String>,
    stats: SimStats,
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn conn_wall(now_ms: u64) -> UnixTime {
    UnixTime::from_secs(WALL_BASE + now_ms / 1000)
}

fn gw_wall(now_ms: u64, skew: i64) -> UnixTime {
    let base = (WALL_BASE + now_ms / 1000) as i64;
    UnixTime::from_secs(base.saturating_add(skew).max(0) as u64)
}

fn short(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(text);
    let s = s.trim_end();
    if s.len() > 160 {
        let mut end = 160;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    }
}

impl World {
    /// Builds the world for `seed`.
    pub fn new(seed: u64, cfg: SimConfig) -> World {
        let mut rng = Rng::new(seed);
        let mut swarm = Swarm::from_rng(&mut rng);
        for f in &cfg.faults_off {
            swarm.turn_off(*f);
        }
        let mut ccfg = ConnectorConfig::default();
        if swarm.reject_http {
            ccfg.reject_mode = RejectMode::HttpRevokedGone;
        }
        let mut connector = Connector::new(ccfg, rng.next_u64());
        connector.set_responder(Box::new(FlakyResponder {
            rng: Rng::new(rng.next_u64()),
            silence_pct: swarm.silence_pct,
            fallback: DefaultResponder::new(),
        }));
        let mut gws = Vec::new();
        for i in 0..cfg.gateways {
            let id = format!("gw-{i}");
            let secret = format!("secret-{i}");
            connector.add_gateway(&id, &[secret.as_str()]);
            connector.set_wake_url(&id, &format!("http://gw-{i}.test/wake"));
            let timeouts = relay_core::config::Timeouts {
                token_ttl_secs: TOKEN_TTL_SECS,
                ..Default::default()
            };
            let config = RelayConfig::builder("ws://connector.test")
                .identity("discord", format!("bot-{i}"))
                .gateway_id(id.clone())
                .secret(secret)
                .timeouts(timeouts)
                .build();
            let config = match config {
                Ok(c) => c,
                Err(e) => panic!("simulator gateway config is invalid: {e}"),
            };
            let latency = rng.range_inclusive(1, swarm.latency_max_ms);
            let jitter = rng.range_inclusive(0, latency / 2);
            let conn_seed = rng.next_u64();
            #[cfg(not(feature = "planted-bugs"))]
            let conn = Connection::new(config, conn_seed, Instant::ZERO, conn_wall(0));
            #[cfg(feature = "planted-bugs")]
            let conn = Connection::with_planted_bug(
                config,
                conn_seed,
                Instant::ZERO,
                conn_wall(0),
                cfg.plant,
            );
            gws.push(Gw {
                id,
                conn,
                sock_counter: 0,
                sock: None,
                timer_gen: 0,
                latency,
                jitter,
                skew: 0,
                revoked: false,
                ever_served: false,
                got_410: false,
                handed: BTreeSet::new(),
                app_acked: BTreeSet::new(),
                going_idle_at: None,
                idle_refused_sock: None,
                idle_mode: None,
                buffered: BTreeSet::new(),
                requests: BTreeMap::new(),
                ended: BTreeSet::new(),
            });
        }
        let revocations_left = swarm.revocations;
        let mut w = World {
            heal_at: cfg.fault_window_ms,
            cfg,
            swarm,
            rng,
            now: 0,
            seq: 0,
            step: 0,
            queue: BinaryHeap::new(),
            gws,
            connector,
            conn_gen: 0,
            sessions: BTreeMap::new(),
            socks: BTreeMap::new(),
            link_last: BTreeMap::new(),
            stalls: BTreeMap::new(),
            healing: false,
            revocations_left,
            msg_counter: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            tail: VecDeque::new(),
            stats: SimStats::default(),
        };
        w.trace(format!("seed {seed} swarm: {}", w.swarm));
        w
    }

    /// The faults of this run.
    pub fn swarm(&self) -> &Swarm {
        &self.swarm
    }

    fn trace(&mut self, line: String) {
        let line = format!("{:>7} {line}", self.now);
        self.hash = fnv(self.hash, line.as_bytes());
        self.hash = fnv(self.hash, b"\n");
        if self.cfg.print_trace {
            println!("{line}");
        }
        if self.tail.len() == TRACE_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn schedule(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at: at.max(self.now),
            seq: self.seq,
            ev,
        }));
    }

    fn one_way(&mut self, gi: usize) -> u64 {
        let (lat, jit) = (self.gws[gi].latency, self.gws[gi].jitter);
        lat + self.rng.range_inclusive(0, jit)
    }

    /// Schedules `ev` on a FIFO link direction.
    fn send_link(&mut self, gi: usize, sock: u64, to_gw: bool, ev: Ev) {
        let mut at = self.now + self.one_way(gi);
        if let Some(&until) = self.stalls.get(&(gi, sock)) {
            at = at.max(until);
        }
        let last = self.link_last.entry((gi, sock, to_gw)).or_insert(0);
        let at = at.max(*last);
        *last = at;
        self.schedule(at, ev);
    }

    /// Cuts a byte stream into WS messages (at UTF-8 boundaries).
    fn chunks(&mut self, bytes: Vec<u8>) -> Vec<Vec<u8>> {
        if !self.swarm.split || bytes.len() < 2 || self.rng.chance(1, 2) {
            return vec![bytes];
        }
        let mut out = Vec::new();
        let mut rest = bytes;
        for _ in 0..self.rng.range_inclusive(1, 3) {
            if rest.len() < 2 {
                break;
            }
            let mut cut = self.rng.range_inclusive(1, rest.len() as u64 - 1) as usize;
            while cut < rest.len() && (rest[cut] & 0xC0) == 0x80 {
                cut += 1;
            }
            if cut >= rest.len() {
                break;
            }
            let tail = rest.split_off(cut);
            out.push(rest);
            rest = tail;
        }
        out.push(rest);
        out
    }

    /// Runs the world to the end (liveness reached, or a violation).
    pub fn run(mut self, seed: u64) -> Report {
        for gi in 0..self.gws.len() {
            let t = self.rng.range_inclusive(100, 3_000);
            self.schedule(t, Ev::AppTick(gi));
            let t = self.rng.range_inclusive(100, 5_000);
            self.schedule(t, Ev::Deliver(gi));
        }
        if let Some(m) = self.swarm.drop_mean_ms {
            let t = self.rng.range_inclusive(0, 2 * m);
            self.schedule(t, Ev::Drop);
        }
        if let Some(m) = self.swarm.restart_mean_ms {
            let t = self.rng.range_inclusive(0, 2 * m);
            self.schedule(t, Ev::Restart);
        }
        for _ in 0..self.swarm.revocations {
            let t = self.rng.range_inclusive(0, self.cfg.fault_window_ms);
            self.schedule(t, Ev::Revoke);
        }
        if let Some(m) = self.swarm.stall_mean_ms {
            let t = self.rng.range_inclusive(0, 2 * m);
            self.schedule(t, Ev::Stall);
        }
        if self.swarm.skew_max_secs > 0 {
            let t = self.rng.range_inclusive(0, 10_000);
            self.schedule(t, Ev::Skew);
        }
        self.schedule(self.heal_at, Ev::Heal);
        for gi in 0..self.gws.len() {
            if let Err(f) = self.drain_gw(gi) {
                return self.fail(seed, f);
            }
        }
        let deadline = self.heal_at + self.cfg.heal_bound_ms;
        while let Some(Reverse(q)) = self.queue.pop() {
            if q.at > deadline {
                self.now = deadline;
                let detail = self.liveness_detail();
                return self.fail(seed, Fail("liveness", detail));
            }
            self.now = q.at;
            self.step += 1;
            if let Err(f) = self.handle(q.ev) {
                return self.fail(seed, f);
            }
            if let Err(f) = self.check() {
                return self.fail(seed, f);
            }
            if self.healing && self.converged() {
                self.trace("converged".to_owned());
                if let Err(f) = self.check_nothing_lost() {
                    return self.fail(seed, f);
                }
                return self.report(seed, None);
            }
        }
        let detail = self.liveness_detail();
        self.fail(seed, Fail("liveness", format!("queue ran dry: {detail}")))
    }

    fn report(&mut self, seed: u64, violation: Option<Violation>) -> Report {
        self.stats.revoked = self.gws.iter().filter(|g| g.revoked).count() as u64;
        self.stats.revoked_by_fault = self
            .gws
            .iter()
            .filter(|g| g.revoked && !self.connector.is_revoked(&g.id))
            .count() as u64;
        Report {
            seed,
            swarm: self.swarm.clone(),
            steps: self.step,
            end_ms: self.now,
            trace_hash: self.hash,
            violation,
            stats: self.stats.clone(),
        }
    }

    fn fail(&mut self, seed: u64, f: Fail) -> Report {
        self.trace(format!("VIOLATION {}: {}", f.0, f.1));
        let v = Violation {
            invariant: f.0,
            detail: f.1,
            step: self.step,
            at_ms: self.now,
            trace_tail: self.tail.iter().cloned().collect(),
        };
        self.report(seed, Some(v))
    }

    fn is_out(&self, gi: usize) -> bool {
        let g = &self.gws[gi];
        g.revoked || self.connector.is_revoked(&g.id)
    }

    /// Whether `gi` shows the (fixed) late-`going_idle_ack` fault: still on
    /// the socket whose `go_idle` timed out while the connector is flipped for
    /// it. Only labels a liveness failure, to make a regression easy to spot.
    fn stuck_late_idle_ack(&self, gi: usize) -> bool {
        let g = &self.gws[gi];
        g.sock.is_some() && g.idle_refused_sock == g.sock && self.connector.is_flipped(&g.id)
    }

    fn converged(&self) -> bool {
        (0..self.gws.len()).all(|gi| {
            self.is_out(gi)
                || (self.gws[gi].conn.state() == State::Serving
                    && self.connector.buffer_len(&self.gws[gi].id) == 0)
        })
    }

    /// Every item the connector buffered for a gateway that is still in
    /// play reached its application.
    fn check_nothing_lost(&self) -> Result<(), Fail> {
        for (gi, g) in self.gws.iter().enumerate() {
            if self.is_out(gi) {
                continue;
            }
            if let Some(bid) = g.buffered.difference(&g.handed).next() {
                return Err(Fail(
                    "no-lost-buffered-item",
                    format!(
                        "{} never handed {bid} to the app, yet the buffer is empty",
                        g.id
                    ),
                ));
            }
        }
        Ok(())
    }

    fn liveness_detail(&self) -> String {
        let mut s = String::from("not converged:");
        for (gi, g) in self.gws.iter().enumerate() {
            if self.is_out(gi) {
                continue;
            }
            let _ = write!(
                s,
                " {}={}/buf{}{}",
                g.id,
                g.conn.state(),
                self.connector.buffer_len(&g.id),
                if self.stuck_late_idle_ack(gi) {
                    "(late-idle-ack)"
                } else {
                    ""
                }
            );
        }
        s
    }

    fn check(&self) -> Result<(), Fail> {
        for g in &self.gws {
            for (id, &(deadline, sock)) in &g.requests {
                if g.sock != Some(sock) {
                    return Err(Fail(
                        "requests-fail-with-their-socket",
                        format!(
                            "{} request {id} sent on sock{sock} still pending after that socket ended",
                            g.id
                        ),
                    ));
                }
                if self.now > deadline + REQUEST_TOLERANCE_MS {
                    return Err(Fail(
                        "request-ends-by-deadline",
                        format!("{} request {id} still pending past {deadline}ms", g.id),
                    ));
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, ev: Ev) -> Result<(), Fail> {
        match ev {
            Ev::GwTimer(gi, generation) => {
                if self.gws[gi].timer_gen == generation {
                    self.gws[gi]
                        .conn
                        .handle_input(Input::Timeout, Instant::from_millis(self.now));
                    self.drain_gw(gi)?;
                }
            }
            Ev::ConnTimer(generation) => {
                if self.conn_gen == generation {
                    self.connector
                        .handle_timeout(Instant::from_millis(self.now));
                    self.drain_conn()?;
                }
            }
            Ev::Accept(gi, sock, headers) => self.on_accept(gi, sock, headers)?,
            Ev::ToGw(gi, sock, what) => self.on_to_gw(gi, sock, what)?,
            Ev::ToConnMsg(sid, bytes) => {
                self.connector
                    .handle_message(sid, &bytes, Instant::from_millis(self.now));
                self.drain_conn()?;
            }
            Ev::ToConnClosed(sid) => {
                self.trace(format!("conn {sid} closed by gateway"));
                self.connector
                    .handle_closed(sid, Instant::from_millis(self.now));
                self.drain_conn()?;
            }
            Ev::Wake(gi) => {
                let r = self.gws[gi].conn.wake(Instant::from_millis(self.now));
                self.trace(format!("gw{gi} wake -> {r:?}"));
                self.drain_gw(gi)?;
            }
            Ev::AppAck(gi, bid) => {
                self.gws[gi].app_acked.insert(bid.clone());
                let handle =
                    DeliveryHandle::from_buffer_id(relay_core::wire::BufferId(bid.clone()));
                let r = self.gws[gi]
                    .conn
                    .ack(handle, Instant::from_millis(self.now));
                match r {
                    Ok(()) | Err(CommandError::AlreadyAcked { .. }) => {}
                    Err(e) => self.trace(format!("gw{gi} ack {bid} refused: {e}")),
                }
                self.trace(format!("gw{gi} app ack {bid}"));
                self.drain_gw(gi)?;
            }
            Ev::AppTick(gi) => self.app_tick(gi)?,
            Ev::Deliver(gi) => {
                if !self.healing {
                    self.msg_counter += 1;
                    let mut e = MessageEvent {
                        text: format!("m-{}", self.msg_counter),
                        ..Default::default()
                    };
                    e.source.platform = "discord".to_owned();
                    e.source.chat_id = format!("chan-{gi}");
                    let id = self.gws[gi].id.clone();
                    let d = self
                        .connector
                        .deliver(&id, e, Instant::from_millis(self.now));
                    self.stats.deliveries += 1;
                    if let relay_connector::Delivery::Buffered(bid) = &d {
                        self.gws[gi].buffered.insert(bid.as_str().to_owned());
                    }
                    self.trace(format!("deliver m-{} to {id}: {d:?}", self.msg_counter));
                    self.drain_conn()?;
                    let t = self.now + self.rng.range_inclusive(100, 5_000);
                    self.schedule(t, Ev::Deliver(gi));
                }
            }
            Ev::Drop => self.fault_drop()?,
            Ev::Restart => {
                if !self.healing {
                    self.stats.restarts += 1;
                    self.trace("FAULT connector restart".to_owned());
                    self.connector.restart(Instant::from_millis(self.now));
                    self.drain_conn()?;
                    if let Some(m) = self.swarm.restart_mean_ms {
                        let t = self.now + self.rng.range_inclusive(1, 2 * m);
                        self.schedule(t, Ev::Restart);
                    }
                }
            }
            Ev::Revoke => {
                if !self.healing && self.revocations_left > 0 {
                    self.revocations_left -= 1;
                    let gi = self.rng.range_inclusive(0, self.gws.len() as u64 - 1) as usize;
                    let id = self.gws[gi].id.clone();
                    self.trace(format!("FAULT revoke {id}"));
                    self.connector.revoke(&id, Instant::from_millis(self.now));
                    self.drain_conn()?;
                }
            }
            Ev::Skew => {
                if !self.healing {
                    let gi = self.rng.range_inclusive(0, self.gws.len() as u64 - 1) as usize;
                    let max = self.swarm.skew_max_secs;
                    let skew = self.rng.range_inclusive(0, 2 * max) as i64 - max as i64;
                    self.set_skew(gi, skew);
                    let t = self.now + self.rng.range_inclusive(1_000, 20_000);
                    self.schedule(t, Ev::Skew);
                }
            }
            Ev::Stall => {
                if !self.healing {
                    if let Some(m) = self.swarm.stall_mean_ms {
                        let t = self.now + self.rng.range_inclusive(1, 2 * m);
                        self.schedule(t, Ev::Stall);
                    }
                    let open: Vec<(usize, u64)> = self.socks.keys().copied().collect();
                    if !open.is_empty() {
                        let pick = self.rng.range_inclusive(0, open.len() as u64 - 1) as usize;
                        let (gi, sock) = open[pick];
                        let until = self.now + self.rng.range_inclusive(1_000, 30_000);
                        self.trace(format!("FAULT stall gw{gi} sock{sock} until {until}"));
                        self.stalls.insert((gi, sock), until);
                    }
                }
            }
            Ev::Heal => {
                self.stalls.clear();
                self.healing = true;
                self.trace("HEAL: faults off".to_owned());
                self.connector
                    .set_responder(Box::new(DefaultResponder::new()));
                for gi in 0..self.gws.len() {
                    self.set_skew(gi, 0);
                    if self.gws[gi].idle_mode != Some(IdleMode::Dormant) {
                        let _ = self.gws[gi].conn.wake(Instant::from_millis(self.now));
                    }
                    self.drain_gw(gi)?;
                }
            }
        }
        Ok(())
    }

    fn set_skew(&mut self, gi: usize, skew: i64) {
        self.gws[gi].skew = skew;
        self.trace(format!("gw{gi} skew {skew}s"));
        let wall = gw_wall(self.now, skew);
        self.gws[gi]
            .conn
            .set_wall_clock(Instant::from_millis(self.now), wall);
    }

    fn app_tick(&mut self, gi: usize) -> Result<(), Fail> {
        let now = Instant::from_millis(self.now);
        let state = self.gws[gi].conn.state();
        if self.healing {
            // A dormant gateway must come back by itself (its cadence); the
            // others wait for their application.
            if matches!(state, State::Buffered) && self.gws[gi].idle_mode != Some(IdleMode::Dormant)
            {
                let r = self.gws[gi].conn.wake(now);
                self.trace(format!("gw{gi} heal wake -> {r:?}"));
            }
        } else {
            let roll = self.rng.range_inclusive(0, 99);
            if roll < 40 && matches!(state, State::Serving | State::GoingIdle) {
                let action = Action::Send(SendAction {
                    chat_id: format!("chan-{gi}"),
                    content: format!("reply {}", self.step),
                    ..Default::default()
                });
                match self.gws[gi].conn.send(action, now) {
                    Ok(id) => {
                        let deadline = self.now + 30_000;
                        let sock = self.gws[gi].sock.unwrap_or(0);
                        self.stats.requests += 1;
                        self.trace(format!("gw{gi} request {id} deadline {deadline}"));
                        self.gws[gi]
                            .requests
                            .insert(id.as_str().to_owned(), (deadline, sock));
                    }
                    Err(e) => self.trace(format!("gw{gi} send refused: {e}")),
                }
            } else if self.swarm.idle_wake && roll < 55 && state == State::Serving {
                // Both of the reference's modes (keep the socket; close and
                // re-dial on a cadence) and the wake-only one.
                let mode = match self.rng.range_inclusive(0, 2) {
                    0 => IdleMode::Keep,
                    1 => IdleMode::Close,
                    _ => IdleMode::Dormant,
                };
                let r = self.gws[gi].conn.go_idle_with(mode, now);
                if r.is_ok() {
                    self.gws[gi].idle_mode = Some(mode);
                    match mode {
                        IdleMode::Keep => self.stats.idle_keep += 1,
                        IdleMode::Close => self.stats.idle_close += 1,
                        IdleMode::Dormant => self.stats.idle_dormant += 1,
                    }
                }
                self.trace(format!("gw{gi} go_idle({}) -> {r:?}", mode.as_str()));
            } else if self.swarm.idle_wake && roll < 70 {
                let r = self.gws[gi].conn.wake(now);
                self.trace(format!("gw{gi} wake ({state}) -> {r:?}"));
            }
        }
        self.drain_gw(gi)?;
        let t = self.now + self.rng.range_inclusive(100, 3_000);
        self.schedule(t, Ev::AppTick(gi));
        Ok(())
    }

    fn fault_drop(&mut self) -> Result<(), Fail> {
        if self.healing {
            return Ok(());
        }
        if let Some(m) = self.swarm.drop_mean_ms {
            let t = self.now + self.rng.range_inclusive(1, 2 * m);
            self.schedule(t, Ev::Drop);
        }
        let open: Vec<(usize, u64, SessionId)> = self
            .socks
            .iter()
            .map(|(&(g, s), &sid)| (g, s, sid))
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let pick = self.rng.range_inclusive(0, open.len() as u64 - 1) as usize;
        let (gi, sock, sid) = open[pick];
        let (code, reason) = match self.rng.range_inclusive(0, 9) {
            0..=1 => (Some(1000), "fault"),
            2 => (Some(1001), "going away"),
            3..=5 => (None, ""),
            6..=7 => (Some(1011), "internal error"),
            8 => (Some(4401), "unauthorized"),
            _ => (Some(4401), "expired"),
        };
        self.stats.drops += 1;
        self.trace(format!(
            "FAULT drop gw{gi} sock{sock} {sid} code {code:?} {reason}"
        ));
        self.socks.remove(&(gi, sock));
        self.sessions.remove(&sid);
        self.connector
            .handle_closed(sid, Instant::from_millis(self.now));
        self.send_link(
            gi,
            sock,
            true,
            Ev::ToGw(gi, sock, ToGw::Closed(code, reason.to_owned())),
        );
        self.drain_conn()
    }

    fn on_accept(
        &mut self,
        gi: usize,
        sock: u64,
        headers: Vec<(String, String)>,
    ) -> Result<(), Fail> {
        if self.gws[gi].sock != Some(sock) {
            self.trace(format!("gw{gi} sock{sock} upgrade abandoned"));
            return Ok(());
        }
        if !self.healing
            && self.swarm.http_refusal_pct > 0
            && self.rng.chance(self.swarm.http_refusal_pct, 100)
        {
            let status = match self.rng.range_inclusive(0, 19) {
                0 => Some(410),
                1..=8 => Some(401),
                9 => None,
                _ => Some(503),
            };
            self.trace(format!(
                "FAULT gw{gi} sock{sock} upgrade refused {status:?}"
            ));
            self.send_link(gi, sock, true, Ev::ToGw(gi, sock, ToGw::DialFailed(status)));
            return Ok(());
        }
        let now = Instant::from_millis(self.now);
        match self.connector.accept(&headers, now, conn_wall(self.now)) {
            Accept::Accepted(sid) => {
                self.trace(format!("gw{gi} sock{sock} accepted as {sid}"));
                self.sessions.insert(sid, (gi, sock));
                self.socks.insert((gi, sock), sid);
                self.send_link(gi, sock, true, Ev::ToGw(gi, sock, ToGw::Opened));
            }
            Accept::RejectHttp { status } => {
                self.trace(format!("gw{gi} sock{sock} refused HTTP {status}"));
                let ev = Ev::ToGw(gi, sock, ToGw::DialFailed(Some(status)));
                self.send_link(gi, sock, true, ev);
            }
        }
        self.drain_conn()
    }

    fn on_to_gw(&mut self, gi: usize, sock: u64, what: ToGw) -> Result<(), Fail> {
        if self.gws[gi].sock != Some(sock) {
            return Ok(());
        }
        let now = Instant::from_millis(self.now);
        let conn = &mut self.gws[gi].conn;
        let line = match what {
            ToGw::Opened => {
                conn.handle_input(Input::Opened, now);
                "opened".to_owned()
            }
            ToGw::Msg(bytes) => {
                conn.handle_input(Input::Message(&bytes), now);
                format!("<- {}", short(&bytes))
            }
            ToGw::Closed(code, reason) => {
                self.gws[gi].sock = None;
                self.gws[gi].going_idle_at = None;
                self.gws[gi].conn.handle_input(
                    Input::Closed {
                        code,
                        reason: reason.clone(),
                    },
                    now,
                );
                format!("closed by peer {code:?} {reason}")
            }
            ToGw::Pong => {
                conn.handle_input(Input::Pong, now);
                "pong".to_owned()
            }
            ToGw::DialFailed(status) => {
                self.gws[gi].sock = None;
                if status == Some(410) {
                    self.gws[gi].got_410 = true;
                }
                let reason = match status {
                    Some(s) => format!("HTTP {s}"),
                    None => "connection refused".to_owned(),
                };
                self.gws[gi].conn.handle_input(
                    Input::DialFailed {
                        http_status: status,
                        reason: reason.clone(),
                    },
                    now,
                );
                format!("dial failed: {reason}")
            }
        };
        self.trace(format!("gw{gi} sock{sock} {line}"));
        self.drain_gw(gi)
    }

    fn drain_gw(&mut self, gi: usize) -> Result<(), Fail> {
        // The ack arrived (Buffered) or its deadline passed (Serving again):
        // the window in which the gateway must keep the socket is over.
        if matches!(self.gws[gi].conn.state(), State::Buffered | State::Serving) {
            self.gws[gi].going_idle_at = None;
        }
        for _ in 0..100_000 {
            let out = self.gws[gi].conn.poll_output();
            match out {
                Output::Dial { target, headers } => {
                    if self.gws[gi].revoked || self.gws[gi].conn.state() == State::Revoked {
                        return Err(Fail(
                            "no-dial-after-revoked",
                            format!("gw{gi} dialed {target}"),
                        ));
                    }
                    let g = &mut self.gws[gi];
                    g.sock_counter += 1;
                    let sock = g.sock_counter;
                    g.sock = Some(sock);
                    self.trace(format!("gw{gi} dial sock{sock}"));
                    let t = self.now + self.one_way(gi);
                    self.schedule(t, Ev::Accept(gi, sock, headers));
                }
                Output::Transmit(text) => {
                    let Some(sock) = self.gws[gi].sock else {
                        self.trace(format!(
                            "gw{gi} transmit without socket: {}",
                            short(text.as_bytes())
                        ));
                        continue;
                    };
                    self.trace(format!("gw{gi} -> {}", short(text.as_bytes())));
                    if text.contains("\"going_idle\"") {
                        self.gws[gi].going_idle_at = Some(self.now);
                    }
                    if text.contains("\"inbound_ack\"")
                        && let Ok(GatewayFrame::InboundAck { buffer_id }) =
                            decode_gateway_frame(text.trim_end().as_bytes())
                        && !self.gws[gi].app_acked.contains(buffer_id.as_str())
                    {
                        return Err(Fail(
                            "inbound-ack-after-app-ack",
                            format!(
                                "gw{gi} sent inbound_ack for {buffer_id:?} before the app acked it"
                            ),
                        ));
                    }
                    if let Some(&sid) = self.socks.get(&(gi, sock)) {
                        for chunk in self.chunks(text.into_bytes()) {
                            self.send_link(gi, sock, false, Ev::ToConnMsg(sid, chunk));
                        }
                    }
                }
                Output::Ping => {
                    if let Some(sock) = self.gws[gi].sock {
                        let back = self.one_way(gi);
                        let mut at = self.now + back;
                        if let Some(&until) = self.stalls.get(&(gi, sock)) {
                            at = at.max(until);
                        }
                        let last = self.link_last.entry((gi, sock, true)).or_insert(0);
                        let at = (at + back).max(*last);
                        *last = at;
                        self.schedule(at, Ev::ToGw(gi, sock, ToGw::Pong));
                    }
                }
                Output::Close { code, reason } => {
                    let sock = self.gws[gi].sock.take();
                    self.trace(format!("gw{gi} close {sock:?} {code} {reason}"));
                    if let Some(at) = self.gws[gi].going_idle_at.take()
                        && self.now < at + IDLE_ACK_MS
                    {
                        return Err(Fail(
                            "no-close-while-awaiting-idle-ack",
                            format!(
                                "gw{gi} closed ({code} {reason}) {}ms after going_idle",
                                self.now - at
                            ),
                        ));
                    }
                    if let Some(sock) = sock
                        && let Some(sid) = self.socks.remove(&(gi, sock))
                    {
                        self.sessions.remove(&sid);
                        self.send_link(gi, sock, false, Ev::ToConnClosed(sid));
                    }
                }
                Output::Event(e) => self.on_event(gi, e)?,
                Output::Wait(deadline) => {
                    let g = &mut self.gws[gi];
                    g.timer_gen += 1;
                    let generation = g.timer_gen;
                    if let Some(d) = deadline {
                        self.schedule(d.as_millis(), Ev::GwTimer(gi, generation));
                    }
                    return Ok(());
                }
            }
        }
        Err(Fail(
            "no-output-storm",
            format!("gw{gi} never reached Wait"),
        ))
    }

    fn on_event(&mut self, gi: usize, e: Event) -> Result<(), Fail> {
        match e {
            Event::StateChanged { from, to } => {
                self.trace(format!("gw{gi} state {from} -> {to}"));
                if to == State::Serving {
                    self.gws[gi].ever_served = true;
                }
                if from == State::GoingIdle {
                    self.gws[gi].going_idle_at = None;
                }
                if to == State::Revoked {
                    self.on_revoked(gi)?;
                }
            }
            Event::Revoked => self.on_revoked(gi)?,
            Event::Inbound {
                event,
                delivery: Some(handle),
            } => {
                let bid = handle.buffer_id().as_str().to_owned();
                self.trace(format!("gw{gi} app got {bid} {}", event.text));
                self.handed(gi, bid)?;
            }
            Event::Passthrough {
                delivery: Some(handle),
                ..
            } => {
                let bid = handle.buffer_id().as_str().to_owned();
                self.handed(gi, bid)?;
            }
            Event::Response { request_id, .. } => {
                self.end_request(gi, request_id.as_str(), "response")?;
            }
            Event::RequestFailed { request_id, error } => {
                let how = format!("failed: {error}");
                self.end_request(gi, request_id.as_str(), &how)?;
            }
            Event::IdleRefused {
                reason: relay_core::connection::IdleRefusal::AckTimeout,
            } => {
                self.trace(format!("gw{gi} idle refused: ack timeout"));
                self.gws[gi].idle_refused_sock = self.gws[gi].sock;
            }
            other => {
                let s = format!("{other:?}");
                self.trace(format!("gw{gi} event {}", short(s.as_bytes())));
            }
        }
        Ok(())
    }

    fn on_revoked(&mut self, gi: usize) -> Result<(), Fail> {
        let g = &mut self.gws[gi];
        if !g.revoked {
            g.revoked = true;
            let (served, got_410) = (g.ever_served, g.got_410);
            self.trace(format!(
                "gw{gi} REVOKED (ever_served={served} got_410={got_410})"
            ));
            if !served && !got_410 {
                return Err(Fail(
                    "cold-start-4401-never-revokes",
                    format!("gw{gi} revoked without ever serving and without HTTP 410"),
                ));
            }
        }
        Ok(())
    }

    fn handed(&mut self, gi: usize, bid: String) -> Result<(), Fail> {
        if !self.gws[gi].handed.insert(bid.clone()) {
            return Err(Fail(
                "no-duplicate-handoff",
                format!("gw{gi} handed {bid} to the app twice"),
            ));
        }
        self.stats.handed += 1;
        let max = if self.healing {
            500
        } else {
            self.swarm.ack_delay_max_ms
        };
        let t = self.now + self.rng.range_inclusive(0, max);
        self.schedule(t, Ev::AppAck(gi, bid.clone()));
        if self.swarm.ack_dup_pct > 0 && self.rng.chance(self.swarm.ack_dup_pct, 100) {
            let t2 = t + self.rng.range_inclusive(0, 5_000);
            self.schedule(t2, Ev::AppAck(gi, bid));
        }
        Ok(())
    }

    fn end_request(&mut self, gi: usize, id: &str, how: &str) -> Result<(), Fail> {
        self.trace(format!("gw{gi} request {id} {how}"));
        let g = &mut self.gws[gi];
        match g.requests.remove(id) {
            Some((deadline, _)) => {
                g.ended.insert(id.to_owned());
                if self.now > deadline + REQUEST_TOLERANCE_MS {
                    return Err(Fail(
                        "request-ends-by-deadline",
                        format!("gw{gi} request {id} ended at {} > {deadline}", self.now),
                    ));
                }
                Ok(())
            }
            None if g.ended.contains(id) => Err(Fail(
                "request-ends-once",
                format!("gw{gi} request {id} ended twice ({how})"),
            )),
            None => Err(Fail(
                "request-ends-once",
                format!("gw{gi} request {id} ended but was never sent ({how})"),
            )),
        }
    }

    fn drain_conn(&mut self) -> Result<(), Fail> {
        for _ in 0..100_000 {
            match self.connector.poll_output() {
                ConnectorOutput::Transmit { session, text } => {
                    let Some(&(gi, sock)) = self.sessions.get(&session) else {
                        continue;
                    };
                    let mut bytes = Vec::new();
                    if self.swarm.garbage_pct > 0 && self.rng.chance(self.swarm.garbage_pct, 100) {
                        let g: &[u8] = match self.rng.range_inclusive(0, 3) {
                            0 => b"{not json\n",
                            1 => b"\xff\xfe garbage\n",
                            2 => b"{\"type\": \"bogus_frame\", \"x\": 1}\n",
                            _ => b"[1,2,3]\n",
                        };
                        bytes.extend_from_slice(g);
                        self.trace(format!("FAULT garbage line to gw{gi}"));
                    }
                    bytes.extend_from_slice(text.as_bytes());
                    for chunk in self.chunks(bytes) {
                        self.send_link(gi, sock, true, Ev::ToGw(gi, sock, ToGw::Msg(chunk)));
                    }
                }
                ConnectorOutput::Close {
                    session,
                    code,
                    reason,
                } => {
                    if let Some((gi, sock)) = self.sessions.remove(&session) {
                        self.socks.remove(&(gi, sock));
                        self.trace(format!("conn close {session} gw{gi} {code} {reason}"));
                        let code = (code != 1006).then_some(code);
                        self.send_link(
                            gi,
                            sock,
                            true,
                            Ev::ToGw(gi, sock, ToGw::Closed(code, reason)),
                        );
                    }
                }
                ConnectorOutput::Dropped { session } => {
                    if let Some((gi, sock)) = self.sessions.remove(&session) {
                        self.socks.remove(&(gi, sock));
                        self.trace(format!("conn dropped {session} gw{gi}"));
                        self.send_link(
                            gi,
                            sock,
                            true,
                            Ev::ToGw(gi, sock, ToGw::Closed(None, String::new())),
                        );
                    }
                }
                ConnectorOutput::WakePoke { instance, .. } => {
                    self.trace(format!("conn wake poke {instance}"));
                    if let Some(gi) = self.gws.iter().position(|g| g.id == instance) {
                        let t = self.now + self.one_way(gi);
                        self.schedule(t, Ev::Wake(gi));
                    }
                }
                ConnectorOutput::Wait(deadline) => {
                    self.conn_gen += 1;
                    if let Some(d) = deadline {
                        let generation = self.conn_gen;
                        self.schedule(d.as_millis(), Ev::ConnTimer(generation));
                    }
                    return Ok(());
                }
            }
        }
        Err(Fail(
            "no-output-storm",
            "connector never reached Wait".to_owned(),
        ))
    }
}

/// Runs one seed. Panics inside the core are caught and reported as a
/// violation of the `no-panic` invariant.
pub fn run_seed(seed: u64, cfg: &SimConfig) -> Report {
    let cfg2 = cfg.clone();
    let result = std::panic::catch_unwind(move || World::new(seed, cfg2).run(seed));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned());
            let mut rng = Rng::new(seed);
            Report {
                seed,
                swarm: Swarm::from_rng(&mut rng),
                steps: 0,
                end_ms: 0,
                trace_hash: 0,
                violation: Some(Violation {
                    invariant: "no-panic",
                    detail: msg,
                    step: 0,
                    at_ms: 0,
                    trace_tail: vec!["(replay with --seed N --trace to see the trace)".to_owned()],
                }),
                stats: SimStats::default(),
            }
        }
    }
}

/// Runs the seeds of `seeds` on `threads` threads and returns the failing
/// report with the lowest seed, or `None` if all pass. Seeds above the
/// lowest failure found so far are not run, so a sweep stops soon after its
/// first failure and the result is the same for any thread count.
pub fn first_failure(
    seeds: std::ops::Range<u64>,
    cfg: &SimConfig,
    threads: usize,
) -> Option<Report> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = AtomicU64::new(seeds.start);
    let lowest = AtomicU64::new(u64::MAX);
    let found: Mutex<Option<Report>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end || seed > lowest.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = run_seed(seed, cfg);
                    if r.violation.is_some() {
                        lowest.fetch_min(seed, Ordering::Relaxed);
                        if let Ok(mut f) = found.lock()
                            && f.as_ref().is_none_or(|old| old.seed > seed)
                        {
                            *f = Some(r);
                        }
                    }
                }
            });
        }
    });
    found.into_inner().ok().flatten()
}

/// Runs `seed` twice and returns both trace hashes (equal when the
/// simulation is deterministic).
pub fn determinism_check(seed: u64, cfg: &SimConfig) -> (u64, u64) {
    let mut quiet = cfg.clone();
    quiet.print_trace = false;
    (
        run_seed(seed, &quiet).trace_hash,
        run_seed(seed, &quiet).trace_hash,
    )
}

/// The Rust blocks of the README and of every guide in `docs/`, compiled
/// (and, unless marked `no_run`, run) as doctests, so the docs cannot drift
/// from the API.
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../docs/architecture.md")]
    pub struct Architecture;
    #[doc = include_str!("../../docs/benchmarks.md")]
    pub struct Benchmarks;
    #[doc = include_str!("../../docs/benchmarks-loopback.md")]
    pub struct BenchmarksLoopback;
    #[doc = include_str!("../../docs/connector-model.md")]
    pub struct ConnectorModel;
    #[doc = include_str!("../../docs/embedding.md")]
    pub struct Embedding;
    #[doc = include_str!("../../docs/embedding-tokio.md")]
    pub struct EmbeddingTokio;
    #[doc = include_str!("../../docs/fuzzing.md")]
    pub struct Fuzzing;
    #[doc = include_str!("../../docs/interop.md")]
    pub struct Interop;
    #[doc = include_str!("../../docs/limits.md")]
    pub struct Limits;
    #[doc = include_str!("../../docs/benchmarks-python.md")]
    pub struct BenchmarksPython;
    #[doc = include_str!("../../docs/python.md")]
    pub struct Python;
    #[doc = include_str!("../../docs/protocol.md")]
    pub struct Protocol;
    #[doc = include_str!("../../docs/simulation.md")]
    pub struct Simulation;
}
