//! Running engine-world seeds: one, twice for determinism, or a range for
//! the first failure.

use super::config::EngineConfig;
use super::monitor::EngineStats;
use super::report::EngineReport;
use super::swarm::EngineSwarm;
use super::world;
use crate::Violation;

/// Runs one engine-world seed; a panic anywhere is the `no-panic`
/// violation.
pub fn run_engine_seed(seed: u64, cfg: &EngineConfig) -> EngineReport {
    let cfg2 = cfg.clone();
    let result = std::panic::catch_unwind(move || world::World::new(seed, cfg2).run());
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned());
            let mut rng = relay_core::rng::Rng::new(seed);
            EngineReport {
                seed,
                swarm: EngineSwarm::from_rng(&mut rng),
                steps: 0,
                end_ms: 0,
                trace_hash: 0,
                violation: Some(Violation {
                    invariant: "no-panic",
                    detail: msg,
                    step: 0,
                    at_ms: 0,
                    trace_tail: vec!["(replay with --world engine --seed N --trace)".to_owned()],
                }),
                stats: EngineStats::default(),
            }
        }
    }
}

/// Runs `seed` twice; both trace hashes (equal when deterministic).
pub fn engine_determinism_check(seed: u64, cfg: &EngineConfig) -> (u64, u64) {
    let mut quiet = cfg.clone();
    quiet.print_trace = false;
    (
        run_engine_seed(seed, &quiet).trace_hash,
        run_engine_seed(seed, &quiet).trace_hash,
    )
}

/// The failing report with the lowest seed in `seeds` (run on `threads`
/// threads; seeds above the lowest failure found so far are skipped), or
/// `None` if all pass.
pub fn engine_first_failure(
    seeds: std::ops::Range<u64>,
    cfg: &EngineConfig,
    threads: usize,
) -> Option<EngineReport> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = AtomicU64::new(seeds.start);
    let lowest = AtomicU64::new(u64::MAX);
    let found: Mutex<Option<EngineReport>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end || seed > lowest.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = run_engine_seed(seed, cfg);
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
