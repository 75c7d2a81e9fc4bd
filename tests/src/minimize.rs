//! Shrinking a failing run: fewer gateways, a shorter fault window and fewer
//! faults, as long as the seed still breaks the same invariant.

use std::fmt::Write as _;

use relay_core::rng::Rng;

use crate::{Fault, SimConfig, Swarm, run_seed};

/// Fault windows tried, shortest first (ms); both worlds use them.
pub(crate) const WINDOWS_MS: [u64; 9] = [
    500, 1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 45_000,
];

/// The result of [`minimize`].
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The seed.
    pub seed: u64,
    /// The smallest configuration found that still fails.
    pub cfg: SimConfig,
    /// The invariant it breaks (the same as the original run's).
    pub invariant: &'static str,
    /// Steps of the original run.
    pub original_steps: u64,
    /// Steps of the minimized run.
    pub steps: u64,
    /// How many runs the search took.
    pub runs: u64,
}

impl Minimized {
    /// The faults still on in the minimized run.
    pub fn faults_on(&self) -> Vec<Fault> {
        let mut rng = Rng::new(self.seed);
        let mut swarm = Swarm::from_rng(&mut rng);
        for f in &self.cfg.faults_off {
            swarm.turn_off(*f);
        }
        swarm.on()
    }

    /// The `relay-sim` arguments that replay the minimized run.
    pub fn command(&self) -> String {
        let mut s = format!(
            "relay-sim --seed {} --gateways {} --fault-window {}",
            self.seed, self.cfg.gateways, self.cfg.fault_window_ms
        );
        let off: Vec<&str> = self.cfg.faults_off.iter().map(|f| f.name()).collect();
        #[cfg(feature = "planted-bugs")]
        let plant = (self.cfg.plant != crate::PlantedBug::None).then(|| self.cfg.plant.to_string());
        #[cfg(not(feature = "planted-bugs"))]
        let plant = None;
        push_replay_flags(&mut s, &off, plant);
        s
    }
}

/// Appends the replay flags shared by both worlds: the faults switched off
/// and the planted bug, when there is one.
pub(crate) fn push_replay_flags(s: &mut String, off: &[&str], plant: Option<String>) {
    if !off.is_empty() {
        let _ = write!(s, " --off {}", off.join(","));
    }
    if let Some(plant) = plant {
        let _ = write!(s, " --plant {plant}");
    }
}

/// The invariant `seed` breaks under `cfg`, if any.
fn failure(seed: u64, cfg: &SimConfig, runs: &mut u64) -> Option<(&'static str, u64)> {
    *runs += 1;
    let r = run_seed(seed, cfg);
    r.violation.map(|v| (v.invariant, r.steps))
}

/// Re-runs a failing `seed` with smaller configurations derived from `cfg`
/// and keeps the smallest one that breaks the same invariant: fewest
/// gateways, then shortest fault window, then as few faults as possible,
/// repeated until nothing shrinks. `None` when `seed` passes under `cfg`.
pub fn minimize(seed: u64, cfg: &SimConfig) -> Option<Minimized> {
    let mut cur = cfg.clone();
    cur.print_trace = false;
    let mut runs = 0;
    let (invariant, original_steps) = failure(seed, &cur, &mut runs)?;
    let mut steps = original_steps;
    let still_fails = |c: &SimConfig, steps: &mut u64, runs: &mut u64| match failure(seed, c, runs)
    {
        Some((inv, s)) if inv == invariant => {
            *steps = s;
            true
        }
        _ => false,
    };
    for _round in 0..4 {
        let before = (cur.gateways, cur.fault_window_ms, cur.faults_off.len());
        for g in 1..cur.gateways {
            let c = SimConfig {
                gateways: g,
                ..cur.clone()
            };
            if still_fails(&c, &mut steps, &mut runs) {
                cur = c;
                break;
            }
        }
        for w in WINDOWS_MS.into_iter().filter(|w| *w < cur.fault_window_ms) {
            let c = SimConfig {
                fault_window_ms: w,
                ..cur.clone()
            };
            if still_fails(&c, &mut steps, &mut runs) {
                cur = c;
                break;
            }
        }
        let mut rng = Rng::new(seed);
        let mut swarm = Swarm::from_rng(&mut rng);
        for f in &cur.faults_off {
            swarm.turn_off(*f);
        }
        for f in swarm.on() {
            let mut c = cur.clone();
            c.faults_off.insert(f);
            if still_fails(&c, &mut steps, &mut runs) {
                cur = c;
            }
        }
        if before == (cur.gateways, cur.fault_window_ms, cur.faults_off.len()) {
            break;
        }
    }
    Some(Minimized {
        seed,
        cfg: cur,
        invariant,
        original_steps,
        steps,
        runs,
    })
}

/// `n` as a Rust literal with `_` every three digits (`45_000`).
fn lit(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// A `#[test]` for `tests/regressions.rs` that replays `seed` under `cfg`
/// on the real core and asserts it runs clean. `why` becomes its comment.
pub fn regression_test(name: &str, seed: u64, cfg: &SimConfig, why: &str) -> String {
    let defaults = SimConfig::default();
    let mut fields = String::new();
    if cfg.gateways != defaults.gateways {
        let _ = writeln!(fields, "        gateways: {},", cfg.gateways);
    }
    if cfg.fault_window_ms != defaults.fault_window_ms {
        let _ = writeln!(
            fields,
            "        fault_window_ms: {},",
            lit(cfg.fault_window_ms)
        );
    }
    if cfg.heal_bound_ms != defaults.heal_bound_ms {
        let _ = writeln!(fields, "        heal_bound_ms: {},", lit(cfg.heal_bound_ms));
    }
    if !cfg.faults_off.is_empty() {
        let off: Vec<String> = cfg
            .faults_off
            .iter()
            .map(|f| format!("Fault::{f:?}"))
            .collect();
        let _ = writeln!(fields, "        faults_off: off(&[{}]),", off.join(", "));
    }
    let mut s = String::new();
    for line in why.lines() {
        let _ = writeln!(s, "/// {line}");
    }
    let _ = writeln!(s, "#[test]");
    let _ = writeln!(s, "fn {name}() {{");
    let _ = writeln!(s, "    let cfg = SimConfig {{");
    s.push_str(&fields);
    let _ = writeln!(s, "        ..SimConfig::default()");
    let _ = writeln!(s, "    }};");
    let _ = writeln!(s, "    assert_clean({seed}, &cfg);");
    let _ = writeln!(s, "}}");
    s
}
