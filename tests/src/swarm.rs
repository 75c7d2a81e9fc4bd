//! Which faults a seed turns on (swarm testing), by name.

use relay_core::rng::Rng;

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
    /// Percent of deliveries the connector later replays (the same message
    /// again, live or from its buffer), 0: off.
    pub replay_pct: u64,
    /// Whether the application holds and releases re-dials at random.
    pub holds: bool,
    /// How many gateways the application shuts down during the fault
    /// window (with its requests in flight drained).
    pub shutdowns: u64,
    /// Percent of sends naming their platform (the fronted one, or one
    /// never said hello for), 0: off.
    pub tagged_pct: u64,
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
            // Drawn last, so the faults above keep their values per seed.
            replay_pct: if on(rng) {
                rng.range_inclusive(5, 50)
            } else {
                0
            },
            holds: on(rng),
            shutdowns: if rng.chance(1, 3) {
                rng.range_inclusive(1, 2)
            } else {
                0
            },
            tagged_pct: if on(rng) {
                rng.range_inclusive(5, 40)
            } else {
                0
            },
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
    /// Replayed deliveries (`replay`).
    Replay,
    /// Held re-dials (`holds`).
    Hold,
    /// Application shutdowns (`shutdowns`).
    Shutdown,
    /// Sends naming their platform (`tagged`).
    Tagged,
}

impl Fault {
    /// Every fault, in `Swarm` field order.
    pub const ALL: [Fault; 17] = [
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
        Fault::Replay,
        Fault::Hold,
        Fault::Shutdown,
        Fault::Tagged,
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
            Fault::Replay => "replay",
            Fault::Hold => "hold",
            Fault::Shutdown => "shutdown",
            Fault::Tagged => "tagged",
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
            Fault::Replay => self.replay_pct > 0,
            Fault::Hold => self.holds,
            Fault::Shutdown => self.shutdowns > 0,
            Fault::Tagged => self.tagged_pct > 0,
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
            Fault::Replay => self.replay_pct = 0,
            Fault::Hold => self.holds = false,
            Fault::Shutdown => self.shutdowns = 0,
            Fault::Tagged => self.tagged_pct = 0,
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
             reject_http={} latency_max={}ms stall_mean={:?} replay={}% holds={} \
             shutdowns={} tagged={}%",
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
            self.stall_mean_ms,
            self.replay_pct,
            self.holds,
            self.shutdowns,
            self.tagged_pct
        )
    }
}
