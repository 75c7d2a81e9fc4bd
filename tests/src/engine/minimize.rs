//! Shrinking a failing engine-world run: fewer clients, a shorter fault
//! window, fewer faults, as long as the seed breaks the same invariant.

use relay_core::rng::Rng;

use super::config::EngineConfig;
use super::run::run_engine_seed;
use super::swarm::{EngineFault, EngineSwarm};
use crate::minimize::{WINDOWS_MS, push_replay_flags};

/// The result of [`minimize_engine`].
#[derive(Clone, Debug)]
pub struct EngineMinimized {
    /// The seed.
    pub seed: u64,
    /// The smallest configuration found that still fails.
    pub cfg: EngineConfig,
    /// The invariant it breaks.
    pub invariant: &'static str,
    /// Steps of the original and of the minimized run.
    pub original_steps: u64,
    pub steps: u64,
    /// Runs the search took.
    pub runs: u64,
}

impl EngineMinimized {
    /// The faults still on.
    pub fn faults_on(&self) -> Vec<EngineFault> {
        let mut swarm = EngineSwarm::from_rng(&mut Rng::new(self.seed));
        for f in &self.cfg.faults_off {
            swarm.turn_off(*f);
        }
        swarm.on()
    }

    /// The `relay-sim` arguments that replay the minimized run.
    pub fn command(&self) -> String {
        let mut s = format!(
            "relay-sim --world engine --seed {} --clients {} --fault-window {}",
            self.seed, self.cfg.clients, self.cfg.fault_window_ms
        );
        let off: Vec<&str> = self.cfg.faults_off.iter().map(|f| f.name()).collect();
        #[cfg(feature = "planted-bugs")]
        let plant =
            (self.cfg.plant != relay_engine::PlantedBug::None).then(|| self.cfg.plant.to_string());
        #[cfg(not(feature = "planted-bugs"))]
        let plant = None;
        push_replay_flags(&mut s, &off, plant);
        s
    }
}

/// Re-runs a failing `seed` with smaller configurations and keeps the
/// smallest that breaks the same invariant; `None` when `seed` passes.
pub fn minimize_engine(seed: u64, cfg: &EngineConfig) -> Option<EngineMinimized> {
    let mut cur = cfg.clone();
    cur.print_trace = false;
    let mut runs = 0;
    let mut failure = |c: &EngineConfig| {
        runs += 1;
        let r = run_engine_seed(seed, c);
        r.violation.map(|v| (v.invariant, r.steps))
    };
    let (invariant, original_steps) = failure(&cur)?;
    let mut steps = original_steps;
    let mut still_fails = |c: &EngineConfig, steps: &mut u64| match failure(c) {
        Some((inv, s)) if inv == invariant => {
            *steps = s;
            true
        }
        _ => false,
    };
    for _round in 0..4 {
        let before = (cur.clients, cur.fault_window_ms, cur.faults_off.len());
        for n in 1..cur.clients {
            let c = EngineConfig {
                clients: n,
                ..cur.clone()
            };
            if still_fails(&c, &mut steps) {
                cur = c;
                break;
            }
        }
        for w in WINDOWS_MS.into_iter().filter(|w| *w < cur.fault_window_ms) {
            let c = EngineConfig {
                fault_window_ms: w,
                ..cur.clone()
            };
            if still_fails(&c, &mut steps) {
                cur = c;
                break;
            }
        }
        let mut swarm = EngineSwarm::from_rng(&mut Rng::new(seed));
        for f in &cur.faults_off {
            swarm.turn_off(*f);
        }
        for f in swarm.on() {
            let mut c = cur.clone();
            c.faults_off.insert(f);
            if still_fails(&c, &mut steps) {
                cur = c;
            }
        }
        if before == (cur.clients, cur.fault_window_ms, cur.faults_off.len()) {
            break;
        }
    }
    Some(EngineMinimized {
        seed,
        cfg: cur,
        invariant,
        original_steps,
        steps,
        runs,
    })
}
