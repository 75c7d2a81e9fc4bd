//! The faults and application behaviours an engine-world seed turns on
//! (swarm testing), and the names `relay-sim --world engine --off` takes.

use relay_core::rng::Rng;

/// What an engine-world seed turns on, and how hard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSwarm {
    /// Largest one-way base latency (ms); jitter is up to half of it.
    pub latency_max_ms: u64,
    /// Writes cut into segments and reads returned in pieces at arbitrary
    /// points.
    pub split: bool,
    /// Percent of connects refused.
    pub refuse_pct: u64,
    /// Percent of connects never answered (the dial times out).
    pub silent_connect_pct: u64,
    /// Small TCP windows (a stalled reader stalls the writer sooner).
    pub small_window: bool,
    /// Mean time between connection resets (ms).
    pub reset_mean_ms: Option<u64>,
    /// Mean time between connections turning half-open (ms).
    pub half_open_mean_ms: Option<u64>,
    /// Mean time between partitions of one client's path (ms).
    pub partition_mean_ms: Option<u64>,
    /// Mean time between the connector pausing its reads of one socket
    /// (ms).
    pub stop_reading_mean_ms: Option<u64>,
    /// Mean time between the connector closing a socket with a code (ms).
    pub close_mean_ms: Option<u64>,
    /// Mean time between connector restarts (ms).
    pub restart_mean_ms: Option<u64>,
    /// Gateways the connector revokes.
    pub revocations: u64,
    /// Percent of upgrades refused with HTTP 401, 410 or 503.
    pub http_refusal_pct: u64,
    /// The connector refuses revoked credentials with HTTP 410 (else it
    /// closes with 4401).
    pub reject_http: bool,
    /// Percent of requests never answered.
    pub silence_pct: u64,
    /// Percent of requests answered late.
    pub late_answer_pct: u64,
    /// Applications that pause after events.
    pub slow_consumers: bool,
    /// Applications that hand messages back.
    pub recycle: bool,
    /// Acks up to 20 s late (else within 1 s).
    pub late_acks: bool,
    /// Percent of deliveries acked twice.
    pub ack_dup_pct: u64,
    /// Random `go_idle` (every mode) and `wake`.
    pub idle_wake: bool,
    /// Applications that shut their client down during the run.
    pub shutdowns: bool,
    /// Applications that drop their client during the run.
    pub drops: bool,
    /// Bursts of interrupts and requests.
    pub floods: bool,
    /// Small event and write queues.
    pub small_queues: bool,
    /// Clock skew of the clients' wall clocks (seconds).
    pub skew_max_secs: u64,
}

impl EngineSwarm {
    /// Draws a swarm.
    pub fn from_rng(rng: &mut Rng) -> EngineSwarm {
        let on = |rng: &mut Rng| rng.chance(1, 2);
        let mean =
            |rng: &mut Rng, lo: u64, hi: u64| rng.chance(1, 3).then(|| rng.range_inclusive(lo, hi));
        EngineSwarm {
            latency_max_ms: rng.range_inclusive(1, 150),
            split: on(rng),
            refuse_pct: if rng.chance(1, 3) {
                rng.range_inclusive(1, 25)
            } else {
                0
            },
            silent_connect_pct: if rng.chance(1, 4) {
                rng.range_inclusive(1, 15)
            } else {
                0
            },
            small_window: on(rng),
            reset_mean_ms: mean(rng, 2_000, 20_000),
            half_open_mean_ms: mean(rng, 5_000, 30_000),
            partition_mean_ms: mean(rng, 3_000, 20_000),
            stop_reading_mean_ms: mean(rng, 3_000, 20_000),
            close_mean_ms: mean(rng, 2_000, 20_000),
            restart_mean_ms: mean(rng, 5_000, 40_000),
            revocations: if rng.chance(1, 3) {
                rng.range_inclusive(1, 2)
            } else {
                0
            },
            http_refusal_pct: if rng.chance(1, 3) {
                rng.range_inclusive(1, 25)
            } else {
                0
            },
            reject_http: rng.chance(1, 4),
            silence_pct: if on(rng) {
                rng.range_inclusive(1, 30)
            } else {
                0
            },
            late_answer_pct: if on(rng) {
                rng.range_inclusive(1, 30)
            } else {
                0
            },
            slow_consumers: on(rng),
            recycle: on(rng),
            late_acks: on(rng),
            ack_dup_pct: if on(rng) {
                rng.range_inclusive(1, 40)
            } else {
                0
            },
            idle_wake: on(rng),
            shutdowns: rng.chance(1, 3),
            drops: rng.chance(1, 3),
            floods: on(rng),
            small_queues: on(rng),
            skew_max_secs: match rng.range_inclusive(0, 9) {
                0..=6 => 0,
                7..=8 => 60,
                _ => 400,
            },
        }
    }

    /// Whether `fault` is on.
    pub fn is_on(&self, fault: EngineFault) -> bool {
        match fault {
            EngineFault::Split => self.split,
            EngineFault::Refuse => self.refuse_pct > 0,
            EngineFault::SilentConnect => self.silent_connect_pct > 0,
            EngineFault::SmallWindow => self.small_window,
            EngineFault::Reset => self.reset_mean_ms.is_some(),
            EngineFault::HalfOpen => self.half_open_mean_ms.is_some(),
            EngineFault::Partition => self.partition_mean_ms.is_some(),
            EngineFault::StopReading => self.stop_reading_mean_ms.is_some(),
            EngineFault::Close => self.close_mean_ms.is_some(),
            EngineFault::Restart => self.restart_mean_ms.is_some(),
            EngineFault::Revocations => self.revocations > 0,
            EngineFault::HttpRefusal => self.http_refusal_pct > 0,
            EngineFault::RejectHttp => self.reject_http,
            EngineFault::Silence => self.silence_pct > 0,
            EngineFault::LateAnswers => self.late_answer_pct > 0,
            EngineFault::SlowConsumers => self.slow_consumers,
            EngineFault::Recycle => self.recycle,
            EngineFault::LateAcks => self.late_acks,
            EngineFault::AckDup => self.ack_dup_pct > 0,
            EngineFault::IdleWake => self.idle_wake,
            EngineFault::Shutdowns => self.shutdowns,
            EngineFault::Drops => self.drops,
            EngineFault::Floods => self.floods,
            EngineFault::SmallQueues => self.small_queues,
            EngineFault::Skew => self.skew_max_secs > 0,
        }
    }

    /// Switches `fault` off.
    pub fn turn_off(&mut self, fault: EngineFault) {
        match fault {
            EngineFault::Split => self.split = false,
            EngineFault::Refuse => self.refuse_pct = 0,
            EngineFault::SilentConnect => self.silent_connect_pct = 0,
            EngineFault::SmallWindow => self.small_window = false,
            EngineFault::Reset => self.reset_mean_ms = None,
            EngineFault::HalfOpen => self.half_open_mean_ms = None,
            EngineFault::Partition => self.partition_mean_ms = None,
            EngineFault::StopReading => self.stop_reading_mean_ms = None,
            EngineFault::Close => self.close_mean_ms = None,
            EngineFault::Restart => self.restart_mean_ms = None,
            EngineFault::Revocations => self.revocations = 0,
            EngineFault::HttpRefusal => self.http_refusal_pct = 0,
            EngineFault::RejectHttp => self.reject_http = false,
            EngineFault::Silence => self.silence_pct = 0,
            EngineFault::LateAnswers => self.late_answer_pct = 0,
            EngineFault::SlowConsumers => self.slow_consumers = false,
            EngineFault::Recycle => self.recycle = false,
            EngineFault::LateAcks => self.late_acks = false,
            EngineFault::AckDup => self.ack_dup_pct = 0,
            EngineFault::IdleWake => self.idle_wake = false,
            EngineFault::Shutdowns => self.shutdowns = false,
            EngineFault::Drops => self.drops = false,
            EngineFault::Floods => self.floods = false,
            EngineFault::SmallQueues => self.small_queues = false,
            EngineFault::Skew => self.skew_max_secs = 0,
        }
    }

    /// The faults that are on.
    pub fn on(&self) -> Vec<EngineFault> {
        EngineFault::ALL
            .into_iter()
            .filter(|f| self.is_on(*f))
            .collect()
    }
}

impl std::fmt::Display for EngineSwarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "latency_max={}ms", self.latency_max_ms)?;
        for fault in self.on() {
            write!(f, " {fault}")?;
        }
        write!(
            f,
            " (refuse={}% silent_connect={}% reset={:?} half_open={:?} partition={:?} stop_reading={:?} close={:?} restart={:?} revocations={} http_refusal={}% silence={}% late_answers={}% ack_dup={}% skew_max={}s)",
            self.refuse_pct,
            self.silent_connect_pct,
            self.reset_mean_ms,
            self.half_open_mean_ms,
            self.partition_mean_ms,
            self.stop_reading_mean_ms,
            self.close_mean_ms,
            self.restart_mean_ms,
            self.revocations,
            self.http_refusal_pct,
            self.silence_pct,
            self.late_answer_pct,
            self.ack_dup_pct,
            self.skew_max_secs
        )
    }
}

/// One switch of the engine swarm, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EngineFault {
    /// `split`: segments and reads cut at arbitrary points.
    Split,
    /// `refuse`: refused connects.
    Refuse,
    /// `silent_connect`: connects never answered.
    SilentConnect,
    /// `small_window`: small TCP windows.
    SmallWindow,
    /// `reset`: connection resets, often in the middle of a frame.
    Reset,
    /// `half_open`: the connector side vanishes without a word.
    HalfOpen,
    /// `partition`: a client's path holds everything for a while.
    Partition,
    /// `stop_reading`: the connector stops reading a socket for a while.
    StopReading,
    /// `close`: the connector closes a socket with a code (4401 included).
    Close,
    /// `restart`: connector restarts.
    Restart,
    /// `revocations`: the connector revokes gateways.
    Revocations,
    /// `http_refusal`: refused upgrades.
    HttpRefusal,
    /// `reject_http`: revoked credentials refused with HTTP 410.
    RejectHttp,
    /// `silence`: unanswered requests.
    Silence,
    /// `late_answers`: requests answered late.
    LateAnswers,
    /// `slow_consumers`: applications pause after events.
    SlowConsumers,
    /// `recycle`: applications hand messages back.
    Recycle,
    /// `late_acks`: acks up to 20 s late.
    LateAcks,
    /// `ack_dup`: acks sent twice.
    AckDup,
    /// `idle_wake`: random `go_idle` and `wake`.
    IdleWake,
    /// `shutdowns`: clients shut down during the run.
    Shutdowns,
    /// `drops`: clients dropped during the run.
    Drops,
    /// `floods`: bursts of interrupts and requests.
    Floods,
    /// `small_queues`: small event and write queues.
    SmallQueues,
    /// `skew`: wall-clock skew.
    Skew,
}

impl EngineFault {
    /// Every switch, in `EngineSwarm` field order.
    pub const ALL: [EngineFault; 25] = [
        EngineFault::Split,
        EngineFault::Refuse,
        EngineFault::SilentConnect,
        EngineFault::SmallWindow,
        EngineFault::Reset,
        EngineFault::HalfOpen,
        EngineFault::Partition,
        EngineFault::StopReading,
        EngineFault::Close,
        EngineFault::Restart,
        EngineFault::Revocations,
        EngineFault::HttpRefusal,
        EngineFault::RejectHttp,
        EngineFault::Silence,
        EngineFault::LateAnswers,
        EngineFault::SlowConsumers,
        EngineFault::Recycle,
        EngineFault::LateAcks,
        EngineFault::AckDup,
        EngineFault::IdleWake,
        EngineFault::Shutdowns,
        EngineFault::Drops,
        EngineFault::Floods,
        EngineFault::SmallQueues,
        EngineFault::Skew,
    ];

    /// The name `relay-sim --world engine --off` takes.
    pub fn name(self) -> &'static str {
        match self {
            EngineFault::Split => "split",
            EngineFault::Refuse => "refuse",
            EngineFault::SilentConnect => "silent_connect",
            EngineFault::SmallWindow => "small_window",
            EngineFault::Reset => "reset",
            EngineFault::HalfOpen => "half_open",
            EngineFault::Partition => "partition",
            EngineFault::StopReading => "stop_reading",
            EngineFault::Close => "close",
            EngineFault::Restart => "restart",
            EngineFault::Revocations => "revocations",
            EngineFault::HttpRefusal => "http_refusal",
            EngineFault::RejectHttp => "reject_http",
            EngineFault::Silence => "silence",
            EngineFault::LateAnswers => "late_answers",
            EngineFault::SlowConsumers => "slow_consumers",
            EngineFault::Recycle => "recycle",
            EngineFault::LateAcks => "late_acks",
            EngineFault::AckDup => "ack_dup",
            EngineFault::IdleWake => "idle_wake",
            EngineFault::Shutdowns => "shutdowns",
            EngineFault::Drops => "drops",
            EngineFault::Floods => "floods",
            EngineFault::SmallQueues => "small_queues",
            EngineFault::Skew => "skew",
        }
    }

    /// The switch called `name`.
    pub fn from_name(name: &str) -> Option<EngineFault> {
        EngineFault::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for EngineFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
