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

use relay_core::rng::Rng;

#[cfg(feature = "planted-bugs")]
pub use relay_core::connection::PlantedBug;

mod connector_side;
mod consts;
pub mod engine;
mod gateway;
mod invariants;
pub mod minimize;
mod report;
mod swarm;
mod world;

pub use report::{Report, SimConfig, SimStats, Violation};
pub use swarm::{Fault, Swarm};
pub use world::World;

pub use consts::{IDLE_ACK_MS, REQUEST_TOLERANCE_MS, TOKEN_TTL_SECS, TRACE_TAIL, WALL_BASE};

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
