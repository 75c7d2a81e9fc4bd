//! Shrinking a failing run, in either world: a smaller population, a
//! shorter fault window and fewer faults, as long as the seed still breaks
//! the same invariant; and the regression test a shrunk core-world seed
//! becomes.

use std::fmt::Write as _;

use crate::SimConfig;
use crate::seeds::{SimWorld, run_caught};

/// Fault windows tried, shortest first (ms).
const WINDOWS_MS: [u64; 9] = [
    500, 1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 45_000,
];

/// The result of [`shrink`].
pub struct Shrunk<W: SimWorld> {
    /// The seed.
    pub seed: u64,
    /// The smallest configuration found that still fails.
    pub cfg: W::Config,
    /// The invariant it breaks (the same as the original run's).
    pub invariant: &'static str,
    /// Steps of the original run.
    pub original_steps: u64,
    /// Steps of the minimized run.
    pub steps: u64,
    /// How many runs the search took.
    pub runs: u64,
}

impl<W: SimWorld> std::fmt::Debug for Shrunk<W>
where
    W::Config: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shrunk")
            .field("world", &W::NAME)
            .field("seed", &self.seed)
            .field("cfg", &self.cfg)
            .field("invariant", &self.invariant)
            .field("original_steps", &self.original_steps)
            .field("steps", &self.steps)
            .field("runs", &self.runs)
            .finish()
    }
}

impl<W: SimWorld> Shrunk<W> {
    /// The faults still on in the minimized run.
    pub fn faults_on(&self) -> Vec<W::Fault> {
        crate::seeds::faults_on::<W>(self.seed, &self.cfg)
    }

    /// The `relay-sim` arguments that replay the minimized run.
    pub fn command(&self) -> String {
        replay_command::<W>(self.seed, &self.cfg, true)
    }
}

/// The `relay-sim` arguments that replay `seed` under `cfg` (without
/// `--trace`). With `full`, the population and the fault window are
/// always given; otherwise only where they differ from the defaults.
pub fn replay_command<W: SimWorld>(seed: u64, cfg: &W::Config, full: bool) -> String {
    let mut cfg = cfg.clone();
    let mut defaults = W::Config::default();
    let d = W::knobs(&mut defaults);
    let (d_population, d_window, d_heal) = (*d.population, *d.fault_window_ms, *d.heal_bound_ms);
    let plant = crate::seeds::planted::<W>(&cfg);
    let k = W::knobs(&mut cfg);
    let mut s = String::from("relay-sim");
    if W::NAME != "core" {
        let _ = write!(s, " --world {}", W::NAME);
    }
    let _ = write!(s, " --seed {seed}");
    if full || *k.population != d_population {
        let _ = write!(s, " --{} {}", W::POPULATION, k.population);
    }
    if full || *k.fault_window_ms != d_window {
        let _ = write!(s, " --fault-window {}", k.fault_window_ms);
    }
    if *k.heal_bound_ms != d_heal {
        let _ = write!(s, " --heal-bound {}", k.heal_bound_ms);
    }
    if !k.faults_off.is_empty() {
        let off: Vec<String> = k.faults_off.iter().map(ToString::to_string).collect();
        let _ = write!(s, " --off {}", off.join(","));
    }
    if let Some(plant) = plant {
        let _ = write!(s, " --plant {plant}");
    }
    s
}

/// The invariant and the steps of `seed` under `cfg`, if it fails.
fn failure<W: SimWorld>(seed: u64, cfg: &W::Config, runs: &mut u64) -> Option<(&'static str, u64)> {
    *runs += 1;
    let r = run_caught::<W>(seed, cfg);
    r.violation.map(|v| (v.invariant, r.steps))
}

/// Re-runs a failing `seed` with smaller configurations derived from `cfg`
/// and keeps the smallest one that breaks the same invariant: the smallest
/// population, then the shortest fault window, then as few faults as
/// possible, repeated until nothing shrinks. `None` when `seed` passes
/// under `cfg`.
pub fn shrink<W: SimWorld>(seed: u64, cfg: &W::Config) -> Option<Shrunk<W>> {
    let mut cur = cfg.clone();
    *W::knobs(&mut cur).print_trace = false;
    let mut runs = 0;
    let (invariant, original_steps) = failure::<W>(seed, &cur, &mut runs)?;
    let mut steps = original_steps;
    let mut still_fails = |c: &W::Config, runs: &mut u64| match failure::<W>(seed, c, runs) {
        Some((inv, s)) if inv == invariant => {
            steps = s;
            true
        }
        _ => false,
    };
    let size = |c: &mut W::Config| {
        let k = W::knobs(c);
        (*k.population, *k.fault_window_ms, k.faults_off.len())
    };
    for _round in 0..4 {
        let before = size(&mut cur);
        for n in 1..before.0 {
            let mut c = cur.clone();
            *W::knobs(&mut c).population = n;
            if still_fails(&c, &mut runs) {
                cur = c;
                break;
            }
        }
        let window = size(&mut cur).1;
        for w in WINDOWS_MS.into_iter().filter(|w| *w < window) {
            let mut c = cur.clone();
            *W::knobs(&mut c).fault_window_ms = w;
            if still_fails(&c, &mut runs) {
                cur = c;
                break;
            }
        }
        for f in crate::seeds::faults_on::<W>(seed, &cur) {
            let mut c = cur.clone();
            W::knobs(&mut c).faults_off.insert(f);
            if still_fails(&c, &mut runs) {
                cur = c;
            }
        }
        if before == size(&mut cur) {
            break;
        }
    }
    Some(Shrunk {
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
