//! The engine world as a [`SimWorld`], and running its seeds: one, twice
//! for determinism, or a range for the first failure.

use relay_core::rng::Rng;

use super::config::EngineConfig;
use super::monitor::EngineStats;
use super::report::EngineReport;
use super::swarm::{EngineFault, EngineSwarm};
use super::world;
use crate::cli::Command;
use crate::seeds::{self, Knobs, SimWorld};

/// The engine world: whole clients on a seeded simulation runtime over a
/// simulated network.
pub struct EngineWorld;

/// The busiest client of a sweep: the most engine polls in one virtual
/// second and in one virtual millisecond, each with its seed.
#[derive(Default)]
pub struct Busiest {
    /// `(polls, seed)` in one virtual second.
    pub second: (u64, u64),
    /// `(polls, seed)` in one virtual millisecond.
    pub instant: (u64, u64),
}

impl SimWorld for EngineWorld {
    type Config = EngineConfig;
    type Swarm = EngineSwarm;
    type Stats = EngineStats;
    type Fault = EngineFault;
    #[cfg(feature = "planted-bugs")]
    type Bug = super::EnginePlantedBug;
    type Tally = Busiest;

    const NAME: &'static str = "engine";
    const PANIC_HINT: &'static str = "(replay with --world engine --seed N --trace)";
    const FAULTS: &'static [EngineFault] = &EngineFault::ALL;
    const POPULATION: &'static str = "clients";

    fn run_world(seed: u64, cfg: EngineConfig) -> EngineReport {
        world::World::new(seed, cfg).run()
    }

    fn drawn(seed: u64) -> EngineSwarm {
        EngineSwarm::from_rng(&mut Rng::new(seed))
    }

    fn knobs(cfg: &mut EngineConfig) -> Knobs<'_, EngineFault> {
        Knobs {
            population: &mut cfg.clients,
            fault_window_ms: &mut cfg.fault_window_ms,
            heal_bound_ms: &mut cfg.heal_bound_ms,
            print_trace: &mut cfg.print_trace,
            faults_off: &mut cfg.faults_off,
        }
    }

    fn turn_off(swarm: &mut EngineSwarm, fault: EngineFault) {
        swarm.turn_off(fault);
    }

    fn on(swarm: &EngineSwarm) -> Vec<EngineFault> {
        swarm.on()
    }

    #[cfg(feature = "planted-bugs")]
    fn bug(cfg: &mut EngineConfig) -> &mut super::EnginePlantedBug {
        &mut cfg.plant
    }

    fn one_line(r: &EngineReport) -> String {
        let s = &r.stats;
        format!(
            "engine seed {} steps {} end {}ms hash {:016x} deliveries {} handed {} requests {} (answered {}, failed {}) dials {} faults {} revoked {} shut down {} dropped {} max polls/s {}",
            r.seed,
            r.steps,
            r.end_ms,
            r.trace_hash,
            s.deliveries,
            s.handed,
            s.requests,
            s.answered,
            s.failed,
            s.dials,
            s.faults,
            s.revoked,
            s.shut_down,
            s.dropped,
            s.max_polls_per_second
        )
    }

    fn tally(t: &mut Busiest, r: &EngineReport) {
        if r.stats.max_polls_per_second > t.second.0 {
            t.second = (r.stats.max_polls_per_second, r.seed);
        }
        if r.stats.max_polls_per_instant > t.instant.0 {
            t.instant = (r.stats.max_polls_per_instant, r.seed);
        }
    }

    fn tally_line(t: &Busiest) -> Option<String> {
        Some(format!(
            "most engine polls of one client: {} in one virtual second (seed {}), {} in one virtual millisecond (seed {})",
            t.second.0, t.second.1, t.instant.0, t.instant.1
        ))
    }
}

impl Command for EngineWorld {}

/// Runs one engine-world seed; a panic anywhere is the `no-panic`
/// violation.
pub fn run_engine_seed(seed: u64, cfg: &EngineConfig) -> EngineReport {
    seeds::run_caught::<EngineWorld>(seed, cfg)
}

/// Runs `seed` twice; both trace hashes (equal when deterministic).
pub fn engine_determinism_check(seed: u64, cfg: &EngineConfig) -> (u64, u64) {
    seeds::determinism_check::<EngineWorld>(seed, cfg)
}

/// The failing report with the lowest seed in `seeds` (run on `threads`
/// threads; seeds above the lowest failure found so far are skipped), or
/// `None` if all pass.
pub fn engine_first_failure(
    seeds: std::ops::Range<u64>,
    cfg: &EngineConfig,
    threads: usize,
) -> Option<EngineReport> {
    seeds::first_failure::<EngineWorld>(seeds, cfg, threads)
}

/// A shrunk engine-world run.
pub type EngineMinimized = crate::minimize::Shrunk<EngineWorld>;

/// Re-runs a failing `seed` with smaller configurations and keeps the
/// smallest that breaks the same invariant; `None` when `seed` passes.
pub fn minimize_engine(seed: u64, cfg: &EngineConfig) -> Option<EngineMinimized> {
    crate::minimize::shrink::<EngineWorld>(seed, cfg)
}
