//! The `relay-sim` command for one world: its arguments, and replaying,
//! checking, shrinking or sweeping seeds.

use std::process::ExitCode;

use crate::minimize::{Shrunk, replay_command, shrink};
use crate::seeds::{self, SimWorld, determinism_check, run_caught, sweep};

/// The usage line.
pub const USAGE: &str = "usage: relay-sim [--world core|engine|both] \
    (--seed N [--trace | --minimize] | --seeds A..B) \
    [--check-determinism] [--plant BUG] [--gateways N | --clients N] \
    [--fault-window MS] [--heal-bound MS] [--off FAULT,...] [--threads N]";

/// What a world adds to the command beyond [`SimWorld`].
pub trait Command: SimWorld + Sized {
    /// More to print after a shrunk seed (the core world's regression
    /// test).
    fn after_minimized(_m: &Shrunk<Self>) -> Option<String> {
        None
    }
}

/// The options of a command.
pub struct Args<C> {
    /// `--seed N`.
    pub seed: Option<u64>,
    /// `--seeds A..B`.
    pub seeds: Option<(u64, u64)>,
    /// `--trace`.
    pub trace: bool,
    /// `--check-determinism`.
    pub check: bool,
    /// `--minimize`.
    pub minimize: bool,
    /// A bug was planted (`--plant`).
    pub planted: bool,
    /// `--threads N`.
    pub threads: Option<usize>,
    /// The rest.
    pub cfg: C,
}

/// Parses a world's arguments (`--world` already taken out).
pub fn parse<W: SimWorld>(args: &[String]) -> Result<Args<W::Config>, String> {
    let mut a = Args {
        seed: None,
        seeds: None,
        trace: false,
        check: false,
        minimize: false,
        planted: false,
        threads: None,
        cfg: W::Config::default(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let num = |name: &str, v: &str| v.parse::<u64>().map_err(|e| format!("{name}: {e}"));
        match arg.as_str() {
            "--seed" => a.seed = Some(num("--seed", &val("--seed")?)?),
            "--seeds" => {
                let v = val("--seeds")?;
                let (lo, hi) = v.split_once("..").ok_or("--seeds wants A..B")?;
                a.seeds = Some((num("--seeds", lo)?, num("--seeds", hi)?));
            }
            "--trace" => a.trace = true,
            "--check-determinism" => a.check = true,
            "--minimize" => a.minimize = true,
            "--fault-window" => {
                *W::knobs(&mut a.cfg).fault_window_ms =
                    num("--fault-window", &val("--fault-window")?)?;
            }
            "--heal-bound" => {
                *W::knobs(&mut a.cfg).heal_bound_ms = num("--heal-bound", &val("--heal-bound")?)?;
            }
            "--gateways" | "--clients" => {
                let n =
                    usize::try_from(num(arg, &val(arg)?)?).map_err(|e| format!("{arg}: {e}"))?;
                *W::knobs(&mut a.cfg).population = n.max(1);
            }
            "--threads" => {
                let n = num("--threads", &val("--threads")?)?;
                a.threads = Some(usize::try_from(n).map_err(|e| format!("--threads: {e}"))?);
            }
            "--off" => {
                for name in val("--off")?.split(',').filter(|n| !n.is_empty()) {
                    let f = seeds::fault::<W>(name).map_err(|known| {
                        format!(
                            "--off: unknown {} fault {name:?} (known: {})",
                            W::NAME,
                            known.join(", ")
                        )
                    })?;
                    W::knobs(&mut a.cfg).faults_off.insert(f);
                }
            }
            "--plant" => {
                a.planted = seeds::plant::<W>(&mut a.cfg, &val("--plant")?)
                    .map_err(|e| format!("--plant: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => {
                return Err(format!(
                    "unknown argument {other:?} for the {} world (try --help)",
                    W::NAME
                ));
            }
        }
    }
    Ok(a)
}

/// `engine ` for the engine world, nothing for the core world: the prefix
/// of lines about one seed.
fn label<W: SimWorld>() -> &'static str {
    if W::NAME == "core" { "" } else { "engine " }
}

/// Runs a command: one seed (replayed, checked or shrunk), or a sweep.
pub fn run<W: Command>(a: &Args<W::Config>) -> ExitCode {
    let l = label::<W>();
    if let Some(seed) = a.seed {
        if a.check {
            let (x, y) = determinism_check::<W>(seed, &a.cfg);
            println!("{l}seed {seed}: trace hashes {x:016x} {y:016x}");
            return if x == y {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        if a.minimize {
            return print_minimized::<W>(seed, &a.cfg);
        }
        let mut cfg = a.cfg.clone();
        *W::knobs(&mut cfg).print_trace = a.trace;
        let r = run_caught::<W>(seed, &cfg);
        println!("{l}swarm: {}", r.swarm);
        println!("{}", W::one_line(&r));
        return match &r.violation {
            None => ExitCode::SUCCESS,
            Some(v) => {
                println!("{l}seed {seed}: {v}");
                println!(
                    "replay: {} --trace",
                    replay_command::<W>(seed, &a.cfg, false)
                );
                ExitCode::FAILURE
            }
        };
    }
    let Some((lo, hi)) = a.seeds else {
        eprintln!("give --seed N or --seeds A..B (try --help)");
        return ExitCode::from(2);
    };
    print_sweep::<W>(a, lo, hi)
}

fn print_minimized<W: Command>(seed: u64, cfg: &W::Config) -> ExitCode {
    let l = label::<W>();
    let Some(m) = shrink::<W>(seed, cfg) else {
        println!("{l}seed {seed} passes under this configuration: nothing to minimize");
        return ExitCode::SUCCESS;
    };
    println!(
        "{l}seed {seed} [{}]: minimized in {} runs, {} -> {} steps",
        m.invariant, m.runs, m.original_steps, m.steps
    );
    let mut shrunk = m.cfg.clone();
    let k = W::knobs(&mut shrunk);
    let on: Vec<String> = m.faults_on().iter().map(ToString::to_string).collect();
    println!(
        "smallest failing config: {} {} fault_window {}ms faults on: {}",
        W::POPULATION,
        k.population,
        k.fault_window_ms,
        on.join(",")
    );
    println!("replay: {} --trace", m.command());
    if let Some(more) = W::after_minimized(&m) {
        println!();
        print!("{more}");
    }
    ExitCode::FAILURE
}

fn print_sweep<W: Command>(a: &Args<W::Config>, lo: u64, hi: u64) -> ExitCode {
    let l = label::<W>();
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // With a planted bug, only the first catching seed matters.
    let s = sweep::<W>(lo..hi, &a.cfg, threads, a.check, a.planted);
    for o in &s.failures {
        if let Some(v) = &o.violation {
            println!(
                "FAIL {l}seed {} [{}] step {} t={}ms: {}",
                o.seed, v.invariant, v.step, v.at_ms, v.detail
            );
            println!(
                "  replay: {} --trace",
                replay_command::<W>(o.seed, &a.cfg, false)
            );
        }
    }
    for seed in &s.mismatched {
        println!("NONDETERMINISTIC {l}seed {seed}");
    }
    let secs = s.secs.max(1e-9);
    println!(
        "{} world: {} seeds in {:.2}s on {} threads: {:.1} seeds/s, {:.0} steps/s; {} clean, {} failed",
        W::NAME,
        s.ran,
        s.secs,
        s.threads,
        s.ran as f64 / secs,
        s.steps as f64 / secs,
        s.ran - s.failures.len() as u64,
        s.failures.len()
    );
    if let Some(line) = W::tally_line(&s.tally) {
        println!("{line}");
    }
    let first = s.failures.first();
    if a.planted {
        return match first {
            Some(o) => {
                let inv = o.violation.as_ref().map_or("", |v| v.invariant);
                println!(
                    "planted bug caught: first catching seed {} [{inv}] after {} seeds",
                    o.seed,
                    o.seed - lo + 1
                );
                ExitCode::SUCCESS
            }
            None => {
                println!("planted bug NOT caught in seeds {lo}..{hi}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(o) = first {
        println!(
            "shrink the first failure with: {} --minimize",
            replay_command::<W>(o.seed, &a.cfg, false)
        );
    }
    if s.failures.is_empty() && s.mismatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
