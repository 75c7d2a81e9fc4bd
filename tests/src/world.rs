//! The world: gateways, the connector, the network and the clock, as one
//! event queue ordered by `(time, seq)`; what each event does.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

use relay_connector::{
    Connector, ConnectorConfig, DefaultResponder, RejectMode, Request, Responder, Response,
    SessionId,
};
use relay_core::config::{IdleMode, RelayConfig};
use relay_core::connection::{CommandError, DeliveryHandle};
use relay_core::message::MessageEvent;
use relay_core::rng::Rng;
use relay_core::{Connection, Input, Instant, UnixTime};

use crate::consts::{TOKEN_TTL_SECS, TRACE_TAIL, WALL_BASE};
use crate::report::{Report, SimConfig, SimStats, Violation};
use crate::swarm::Swarm;

/// Something that happens to the gateway's socket.
#[derive(Clone, Debug)]
pub(crate) enum ToGw {
    Opened,
    Msg(Vec<u8>),
    Closed(Option<u16>, String),
    Pong,
    DialFailed(Option<u16>),
}

#[derive(Clone, Debug)]
pub(crate) enum Ev {
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
    Replay(usize),
    Shutdown,
    Heal,
}

pub(crate) struct Queued {
    pub(crate) at: u64,
    pub(crate) seq: u64,
    pub(crate) ev: Ev,
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

pub(crate) struct Gw {
    pub(crate) id: String,
    pub(crate) conn: Connection,
    pub(crate) sock_counter: u64,
    pub(crate) sock: Option<u64>,
    pub(crate) timer_gen: u64,
    pub(crate) latency: u64,
    pub(crate) jitter: u64,
    pub(crate) skew: i64,
    pub(crate) revoked: bool,
    pub(crate) ever_served: bool,
    pub(crate) got_410: bool,
    pub(crate) handed: BTreeSet<String>,
    /// Deliveries the application acked (an `inbound_ack` needs one).
    pub(crate) app_acked: BTreeSet<String>,
    /// When the current socket carried `going_idle` (cleared on leaving GoingIdle).
    pub(crate) going_idle_at: Option<u64>,
    /// The socket on which the last `go_idle` was refused for a missing ack.
    pub(crate) idle_refused_sock: Option<u64>,
    /// The idle mode of the last `go_idle` (each call draws one).
    pub(crate) idle_mode: Option<IdleMode>,
    pub(crate) buffered: BTreeSet<String>,
    /// Pending requests: id -> (deadline, socket it was sent on).
    pub(crate) requests: BTreeMap<String, (u64, u64)>,
    pub(crate) ended: BTreeSet<String>,
    /// Message ids handed to the application (live or buffered).
    pub(crate) handed_msgs: BTreeSet<String>,
    /// The message id of each buffered delivery.
    pub(crate) msg_of_buffer: BTreeMap<String, String>,
    /// The messages delivered to this gateway so far (replay candidates).
    pub(crate) delivered: Vec<MessageEvent>,
    /// A held re-dial waits until this time (the core reported it).
    pub(crate) parked_until: Option<u64>,
    /// The application shut the gateway down: every request must end by
    /// this time (the drain budget).
    pub(crate) drain_deadline: Option<u64>,
}

/// Answers requests like the default responder, but stays silent on a
/// seeded fraction of them.
pub(crate) struct FlakyResponder {
    pub(crate) rng: Rng,
    pub(crate) silence_pct: u64,
    pub(crate) fallback: DefaultResponder,
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

pub(crate) struct Fail(pub(crate) &'static str, pub(crate) String);

/// One simulated world: gateways, the connector, the network and the clock.
pub struct World {
    pub(crate) cfg: SimConfig,
    pub(crate) swarm: Swarm,
    pub(crate) rng: Rng,
    pub(crate) now: u64,
    pub(crate) seq: u64,
    pub(crate) step: u64,
    pub(crate) queue: BinaryHeap<Reverse<Queued>>,
    pub(crate) gws: Vec<Gw>,
    pub(crate) connector: Connector,
    pub(crate) conn_gen: u64,
    /// connector session -> (gateway, socket)
    pub(crate) sessions: BTreeMap<SessionId, (usize, u64)>,
    /// (gateway, socket) -> connector session
    pub(crate) socks: BTreeMap<(usize, u64), SessionId>,
    /// FIFO per link direction: (gateway, socket, to_gateway) -> last arrival.
    pub(crate) link_last: BTreeMap<(usize, u64, bool), u64>,
    /// Stalled links: (gateway, socket) -> nothing arrives before this time.
    pub(crate) stalls: BTreeMap<(usize, u64), u64>,
    pub(crate) healing: bool,
    pub(crate) heal_at: u64,
    pub(crate) revocations_left: u64,
    pub(crate) msg_counter: u64,
    pub(crate) hash: u64,
    pub(crate) tail: VecDeque<String>,
    pub(crate) stats: SimStats,
}

pub(crate) fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(crate) fn conn_wall(now_ms: u64) -> UnixTime {
    UnixTime::from_secs(WALL_BASE + now_ms / 1000)
}

pub(crate) fn gw_wall(now_ms: u64, skew: i64) -> UnixTime {
    let base = (WALL_BASE + now_ms / 1000) as i64;
    UnixTime::from_secs(base.saturating_add(skew).max(0) as u64)
}

pub(crate) fn short(text: &[u8]) -> String {
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
    /// Records the buffer id of a delivery of message `msg`.
    pub(crate) fn note_buffered(&mut self, gi: usize, d: &relay_connector::Delivery, msg: String) {
        if let relay_connector::Delivery::Buffered(bid) = d {
            let bid = bid.as_str().to_owned();
            self.gws[gi].buffered.insert(bid.clone());
            self.gws[gi].msg_of_buffer.insert(bid, msg);
        }
    }

    /// The connector replays a message it delivered to `gi` before: from
    /// its buffer (with a `bufferId`) or live again.
    pub(crate) fn replay(&mut self, gi: usize) -> Result<(), Fail> {
        if self.healing || self.gws[gi].delivered.is_empty() {
            return Ok(());
        }
        let n = self.gws[gi].delivered.len() as u64;
        let pick = self.rng.range_inclusive(0, n - 1) as usize;
        let e = self.gws[gi].delivered[pick].clone();
        let msg = e.message_id.as_deref().unwrap_or_default().to_owned();
        let id = self.gws[gi].id.clone();
        let now = Instant::from_millis(self.now);
        let d = if self.rng.chance(2, 3) {
            self.connector.replay(&id, e, now)
        } else {
            self.connector.deliver(&id, e, now)
        };
        self.stats.replays += 1;
        self.note_buffered(gi, &d, msg.clone());
        self.trace(format!("replay {msg} to {id}: {d:?}"));
        self.drain_conn()
    }

    /// The application shuts a random gateway down, whatever it is doing.
    pub(crate) fn app_shutdown(&mut self) -> Result<(), Fail> {
        if self.healing {
            return Ok(());
        }
        let gi = self.rng.range_inclusive(0, self.gws.len() as u64 - 1) as usize;
        if self.is_out(gi) {
            return Ok(());
        }
        let now = Instant::from_millis(self.now);
        // The last replies of a turn, still in flight when it stops.
        for n in 0..self.rng.range_inclusive(0, 3) {
            let action = relay_core::wire::Action::send(format!("chan-{gi}"), format!("last {n}"));
            if let Ok(id) = self.gws[gi].conn.send(action, now) {
                let sock = self.gws[gi].sock.unwrap_or(0);
                self.stats.requests += 1;
                self.trace(format!("gw{gi} request {id} before shutdown"));
                self.gws[gi]
                    .requests
                    .insert(id.as_str().to_owned(), (self.now + 30_000, sock));
            }
        }
        let drain = self.gws[gi]
            .conn
            .config()
            .map_or(0, |c| c.timeouts.shutdown_drain.as_millis() as u64);
        self.gws[gi].drain_deadline = Some(self.now + drain);
        self.stats.shutdowns += 1;
        let pending = self.gws[gi].requests.len();
        self.trace(format!(
            "gw{gi} APP SHUTDOWN with {pending} requests in flight"
        ));
        self.gws[gi].conn.shutdown(now);
        self.drain_gw(gi)
    }

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
                handed_msgs: BTreeSet::new(),
                msg_of_buffer: BTreeMap::new(),
                delivered: Vec::new(),
                parked_until: None,
                drain_deadline: None,
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

    pub(crate) fn trace(&mut self, line: String) {
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

    pub(crate) fn schedule(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at: at.max(self.now),
            seq: self.seq,
            ev,
        }));
    }

    pub(crate) fn one_way(&mut self, gi: usize) -> u64 {
        let (lat, jit) = (self.gws[gi].latency, self.gws[gi].jitter);
        lat + self.rng.range_inclusive(0, jit)
    }

    /// Schedules `ev` on a FIFO link direction.
    pub(crate) fn send_link(&mut self, gi: usize, sock: u64, to_gw: bool, ev: Ev) {
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
    pub(crate) fn chunks(&mut self, bytes: Vec<u8>) -> Vec<Vec<u8>> {
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
        for _ in 0..self.swarm.shutdowns {
            let t = self.rng.range_inclusive(0, self.cfg.fault_window_ms);
            self.schedule(t, Ev::Shutdown);
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

    pub(crate) fn report(&mut self, seed: u64, violation: Option<Violation>) -> Report {
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

    pub(crate) fn fail(&mut self, seed: u64, f: Fail) -> Report {
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

    pub(crate) fn handle(&mut self, ev: Ev) -> Result<(), Fail> {
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
                    e.source.platform = "discord".into();
                    e.source.chat_id = format!("chan-{gi}").into();
                    e.message_id = Some(format!("m-{}", self.msg_counter).into());
                    self.gws[gi].delivered.push(e.clone());
                    let id = self.gws[gi].id.clone();
                    let d = self
                        .connector
                        .deliver(&id, e, Instant::from_millis(self.now));
                    self.stats.deliveries += 1;
                    self.note_buffered(gi, &d, format!("m-{}", self.msg_counter));
                    self.trace(format!("deliver m-{} to {id}: {d:?}", self.msg_counter));
                    self.drain_conn()?;
                    if self.swarm.replay_pct > 0 && self.rng.chance(self.swarm.replay_pct, 100) {
                        let t = self.now + self.rng.range_inclusive(0, 8_000);
                        self.schedule(t, Ev::Replay(gi));
                    }
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
            Ev::Replay(gi) => self.replay(gi)?,
            Ev::Shutdown => self.app_shutdown()?,
            Ev::Heal => {
                self.stalls.clear();
                self.healing = true;
                self.trace("HEAL: faults off".to_owned());
                self.connector
                    .set_responder(Box::new(DefaultResponder::new()));
                for gi in 0..self.gws.len() {
                    self.set_skew(gi, 0);
                    // A held re-dial would only slow the convergence.
                    if !self.is_out(gi) {
                        let _ = self.gws[gi]
                            .conn
                            .release_redial(Instant::from_millis(self.now));
                    }
                    if self.gws[gi].idle_mode != Some(IdleMode::Dormant) {
                        let _ = self.gws[gi].conn.wake(Instant::from_millis(self.now));
                    }
                    self.drain_gw(gi)?;
                }
            }
        }
        Ok(())
    }
}
