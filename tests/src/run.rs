//! The core world as a [`SimWorld`], and running its seeds: one, twice for
//! determinism, or a range for the first failure.

use relay_core::rng::Rng;

use crate::cli::Command;
use crate::minimize::{Shrunk, regression_test, shrink};
use crate::seeds::{self, Knobs, SimWorld};
use crate::{Fault, Report, SimConfig, SimStats, Swarm, World};

/// The core world: gateways (the real core) against the connector model,
/// on simulated time.
pub struct CoreWorld;

impl SimWorld for CoreWorld {
    type Config = SimConfig;
    type Swarm = Swarm;
    type Stats = SimStats;
    type Fault = Fault;
    #[cfg(feature = "planted-bugs")]
    type Bug = crate::PlantedBug;
    type Tally = ();

    const NAME: &'static str = "core";
    const PANIC_HINT: &'static str = "(replay with --seed N --trace to see the trace)";
    const FAULTS: &'static [Fault] = &Fault::ALL;
    const POPULATION: &'static str = "gateways";

    fn run_world(seed: u64, cfg: SimConfig) -> Report {
        World::new(seed, cfg).run(seed)
    }

    fn drawn(seed: u64) -> Swarm {
        Swarm::from_rng(&mut Rng::new(seed))
    }

    fn knobs(cfg: &mut SimConfig) -> Knobs<'_, Fault> {
        Knobs {
            population: &mut cfg.gateways,
            fault_window_ms: &mut cfg.fault_window_ms,
            heal_bound_ms: &mut cfg.heal_bound_ms,
            print_trace: &mut cfg.print_trace,
            faults_off: &mut cfg.faults_off,
        }
    }

    fn turn_off(swarm: &mut Swarm, fault: Fault) {
        swarm.turn_off(fault);
    }

    fn on(swarm: &Swarm) -> Vec<Fault> {
        swarm.on()
    }

    #[cfg(feature = "planted-bugs")]
    fn bug(cfg: &mut SimConfig) -> &mut crate::PlantedBug {
        &mut cfg.plant
    }

    fn one_line(r: &Report) -> String {
        let s = &r.stats;
        format!(
            "seed {} steps {} end {}ms hash {:016x} deliveries {} handed {} requests {} drops {} restarts {} revoked {} (by fault {}) idle keep/close/dormant {}/{}/{} replays {} held {} shutdowns {}",
            r.seed,
            r.steps,
            r.end_ms,
            r.trace_hash,
            s.deliveries,
            s.handed,
            s.requests,
            s.drops,
            s.restarts,
            s.revoked,
            s.revoked_by_fault,
            s.idle_keep,
            s.idle_close,
            s.idle_dormant,
            s.replays,
            s.held,
            s.shutdowns
        )
    }

    fn tally(_t: &mut (), _r: &Report) {}

    fn tally_line(_t: &()) -> Option<String> {
        None
    }
}

/// Runs one core-world seed. Panics inside the core are caught and
/// reported as a violation of the `no-panic` invariant.
pub fn run_seed(seed: u64, cfg: &SimConfig) -> Report {
    seeds::run_caught::<CoreWorld>(seed, cfg)
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
    seeds::first_failure::<CoreWorld>(seeds, cfg, threads)
}

/// Runs `seed` twice and returns both trace hashes (equal when the
/// simulation is deterministic).
pub fn determinism_check(seed: u64, cfg: &SimConfig) -> (u64, u64) {
    seeds::determinism_check::<CoreWorld>(seed, cfg)
}

impl Command for CoreWorld {
    /// The `#[test]` that replays the shrunk seed on the real core.
    fn after_minimized(m: &Minimized) -> Option<String> {
        let why = format!(
            "Seed {}, minimized; broke `{}` ({}).",
            m.seed,
            m.invariant,
            m.command()
        );
        Some(format!(
            "// for tests/tests/regressions.rs (asserts the real core runs it clean):\n{}",
            regression_test(&test_name(m.seed, &m.cfg), m.seed, &m.cfg, &why)
        ))
    }
}

/// `seed_48_minimized`, or `planted_ack_on_delivery_seed_1` with a plant.
fn test_name(seed: u64, cfg: &SimConfig) -> String {
    match seeds::planted::<CoreWorld>(cfg) {
        Some(plant) => format!("planted_{}_seed_{seed}", plant.replace('-', "_")),
        None => format!("seed_{seed}_minimized"),
    }
}

/// A shrunk core-world run.
pub type Minimized = Shrunk<CoreWorld>;

/// Re-runs a failing core-world `seed` with smaller configurations and
/// keeps the smallest that breaks the same invariant; `None` when `seed`
/// passes under `cfg`.
pub fn minimize(seed: u64, cfg: &SimConfig) -> Option<Minimized> {
    shrink::<CoreWorld>(seed, cfg)
}
