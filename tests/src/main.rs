//! `relay-sim`: replay one seed or sweep a range of seeds.
//!
//! ```text
//! relay-sim --seed 42 [--trace]      replay one seed (trace on stdout)
//! relay-sim --seeds 0..2000          sweep, one thread per core
//! relay-sim --check-determinism --seed 42
//! relay-sim --seed 48 --minimize     shrink a failing seed, print a regression test
//! relay-sim --plant ack-on-delivery --seeds 0..10000
//!                                    first seed that catches a planted bug
//!                                    (feature `planted-bugs`)
//! options: --gateways N  --fault-window MS  --heal-bound MS
//!          --off FAULT,FAULT  --threads N
//!
//! --world core|engine|both   which world (default both for --seeds, core
//!                            for --seed); the engine world takes --clients N
//!                            and its own --off and --plant names
//! ```

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use relay_sim::minimize::{minimize, regression_test};
use relay_sim::{Fault, Report, SimConfig, determinism_check, run_seed};

struct Args {
    seed: Option<u64>,
    seeds: Option<(u64, u64)>,
    trace: bool,
    check: bool,
    minimize: bool,
    planted: bool,
    threads: Option<usize>,
    cfg: SimConfig,
}

/// The world a command runs: the core-only world, the engine world, or
/// both (a sweep of both, one after the other).
#[derive(Clone, Copy, PartialEq, Eq)]
enum WorldArg {
    Core,
    Engine,
    Both,
}

/// Takes `--world` out of the arguments.
fn take_world(args: &mut Vec<String>) -> Result<WorldArg, String> {
    let Some(i) = args.iter().position(|a| a == "--world") else {
        let single = args.iter().any(|a| a == "--seed");
        return Ok(if single {
            WorldArg::Core
        } else {
            WorldArg::Both
        });
    };
    let value = args.get(i + 1).cloned().ok_or("--world needs a value")?;
    args.drain(i..i + 2);
    match value.as_str() {
        "core" => Ok(WorldArg::Core),
        "engine" => Ok(WorldArg::Engine),
        "both" => Ok(WorldArg::Both),
        other => Err(format!(
            "--world: unknown world {other:?} (core, engine or both)"
        )),
    }
}

fn parse(args: Vec<String>) -> Result<Args, String> {
    let mut a = Args {
        seed: None,
        seeds: None,
        trace: false,
        check: false,
        minimize: false,
        planted: false,
        threads: None,
        cfg: SimConfig::default(),
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seed" => a.seed = Some(val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--seeds" => {
                let v = val("--seeds")?;
                let (lo, hi) = v.split_once("..").ok_or("--seeds wants A..B")?;
                let lo = lo.parse().map_err(|e| format!("--seeds: {e}"))?;
                let hi = hi.parse().map_err(|e| format!("--seeds: {e}"))?;
                a.seeds = Some((lo, hi));
            }
            "--trace" => a.trace = true,
            "--check-determinism" => a.check = true,
            "--minimize" => a.minimize = true,
            "--fault-window" => {
                a.cfg.fault_window_ms = val("--fault-window")?
                    .parse()
                    .map_err(|e| format!("--fault-window: {e}"))?;
            }
            "--heal-bound" => {
                a.cfg.heal_bound_ms = val("--heal-bound")?
                    .parse()
                    .map_err(|e| format!("--heal-bound: {e}"))?;
            }
            "--off" => {
                for name in val("--off")?.split(',').filter(|n| !n.is_empty()) {
                    let f = Fault::from_name(name).ok_or_else(|| {
                        let known: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                        format!(
                            "--off: unknown fault {name:?} (known: {})",
                            known.join(", ")
                        )
                    })?;
                    a.cfg.faults_off.insert(f);
                }
            }
            "--plant" => {
                let v = val("--plant")?;
                a.planted = set_plant(&mut a.cfg, &v)?;
            }
            "--gateways" => {
                a.cfg.gateways = val("--gateways")?
                    .parse()
                    .map_err(|e| format!("--gateways: {e}"))?;
            }
            "--threads" => {
                a.threads = Some(
                    val("--threads")?
                        .parse()
                        .map_err(|e| format!("--threads: {e}"))?,
                );
            }
            "-h" | "--help" => {
                return Err("usage: relay-sim [--world core|engine|both] \
                            (--seed N [--trace | --minimize] | --seeds A..B) \
                            [--check-determinism] [--plant BUG] [--gateways N | --clients N] \
                            [--fault-window MS] [--heal-bound MS] [--off FAULT,...] \
                            [--threads N]"
                    .to_owned());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(a)
}

/// Selects a planted bug; `true` unless it is `none`.
#[cfg(feature = "planted-bugs")]
fn set_plant(cfg: &mut SimConfig, name: &str) -> Result<bool, String> {
    cfg.plant = name
        .parse::<relay_sim::PlantedBug>()
        .map_err(|e| format!("--plant: {e}"))?;
    Ok(cfg.plant != relay_sim::PlantedBug::None)
}

#[cfg(not(feature = "planted-bugs"))]
fn set_plant(_cfg: &mut SimConfig, _name: &str) -> Result<bool, String> {
    Err("--plant needs a build with `--features planted-bugs`".to_owned())
}

/// `seed_48_minimized`, or `planted_ack_on_delivery_seed_1` with a plant.
fn test_name(seed: u64, cfg: &SimConfig) -> String {
    #[cfg(feature = "planted-bugs")]
    if cfg.plant != relay_sim::PlantedBug::None {
        return format!("planted_{}_seed_{seed}", cfg.plant.name().replace('-', "_"));
    }
    let _ = cfg;
    format!("seed_{seed}_minimized")
}

fn print_minimized(seed: u64, cfg: &SimConfig) -> ExitCode {
    let Some(m) = minimize(seed, cfg) else {
        println!("seed {seed} passes under this configuration: nothing to minimize");
        return ExitCode::SUCCESS;
    };
    println!(
        "seed {seed} [{}]: minimized in {} runs, {} -> {} steps",
        m.invariant, m.runs, m.original_steps, m.steps
    );
    println!(
        "smallest failing config: gateways {} fault_window {}ms faults on: {}",
        m.cfg.gateways,
        m.cfg.fault_window_ms,
        m.faults_on()
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("replay: {} --trace", m.command());
    println!();
    println!("// for tests/tests/regressions.rs (asserts the real core runs it clean):");
    let why = format!(
        "Seed {seed}, minimized; broke `{}` ({}).",
        m.invariant,
        m.command()
    );
    print!(
        "{}",
        regression_test(&test_name(seed, cfg), seed, &m.cfg, &why)
    );
    ExitCode::FAILURE
}

fn one_line(r: &Report) -> String {
    format!(
        "seed {} steps {} end {}ms hash {:016x} deliveries {} handed {} requests {} drops {} restarts {} revoked {} (by fault {}) idle keep/close/dormant {}/{}/{} replays {} held {} shutdowns {}",
        r.seed,
        r.steps,
        r.end_ms,
        r.trace_hash,
        r.stats.deliveries,
        r.stats.handed,
        r.stats.requests,
        r.stats.drops,
        r.stats.restarts,
        r.stats.revoked,
        r.stats.revoked_by_fault,
        r.stats.idle_keep,
        r.stats.idle_close,
        r.stats.idle_dormant,
        r.stats.replays,
        r.stats.held,
        r.stats.shutdowns
    )
}

fn main() -> ExitCode {
    let mut raw: Vec<String> = std::env::args().skip(1).collect();
    let world = match take_world(&mut raw) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if world != WorldArg::Core && raw.iter().any(|a| a == "-h" || a == "--help") {
        return core_main(raw);
    }
    match world {
        WorldArg::Core => core_main(raw),
        WorldArg::Engine => engine_main(&raw),
        WorldArg::Both => {
            let core = core_main(raw.clone());
            let engine = engine_main(&raw);
            if core == ExitCode::SUCCESS {
                engine
            } else {
                core
            }
        }
    }
}

fn engine_main(raw: &[String]) -> ExitCode {
    match relay_sim::engine::cli::parse(raw) {
        Ok(a) => relay_sim::engine::cli::run(&a),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn core_main(raw: Vec<String>) -> ExitCode {
    let args = match parse(raw) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(seed) = args.seed {
        if args.check {
            let (a, b) = determinism_check(seed, &args.cfg);
            println!("seed {seed}: trace hashes {a:016x} {b:016x}");
            return if a == b {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        if args.minimize {
            return print_minimized(seed, &args.cfg);
        }
        let mut cfg = args.cfg.clone();
        cfg.print_trace = args.trace;
        let r = run_seed(seed, &cfg);
        println!("swarm: {}", r.swarm);
        println!("{}", one_line(&r));
        return match r.violation {
            None => ExitCode::SUCCESS,
            Some(v) => {
                println!("seed {seed}: {v}");
                ExitCode::FAILURE
            }
        };
    }
    let Some((lo, hi)) = args.seeds else {
        eprintln!("give --seed N or --seeds A..B (try --help)");
        return ExitCode::from(2);
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicU64::new(lo);
    let failures: Mutex<Vec<Report>> = Mutex::new(Vec::new());
    let steps = AtomicU64::new(0);
    let mismatched: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    // With a planted bug, only the first catching seed matters: seeds above
    // the lowest failure found so far are skipped.
    let first_fail = AtomicU64::new(u64::MAX);
    let ran = AtomicU64::new(0);
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= hi || (args.planted && seed > first_fail.load(Ordering::Relaxed)) {
                        break;
                    }
                    let r = run_seed(seed, &args.cfg);
                    ran.fetch_add(1, Ordering::Relaxed);
                    if r.violation.is_some() {
                        first_fail.fetch_min(seed, Ordering::Relaxed);
                    }
                    if args.check
                        && run_seed(seed, &args.cfg).trace_hash != r.trace_hash
                        && let Ok(mut m) = mismatched.lock()
                    {
                        m.push(seed);
                    }
                    steps.fetch_add(r.steps, Ordering::Relaxed);
                    if r.violation.is_some()
                        && let Ok(mut f) = failures.lock()
                    {
                        f.push(r);
                    }
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let n = ran.load(Ordering::Relaxed);
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|r| r.seed);
    for r in &failures {
        if let Some(v) = &r.violation {
            println!(
                "FAIL seed {} [{}] step {} t={}ms: {}",
                r.seed, v.invariant, v.step, v.at_ms, v.detail
            );
        }
    }
    let mismatched = mismatched.into_inner().unwrap_or_default();
    for s in &mismatched {
        println!("NONDETERMINISTIC seed {s}");
    }
    println!(
        "{n} seeds in {secs:.2}s on {threads} threads: {:.1} seeds/s, {:.0} steps/s; {} clean, {} failed",
        n as f64 / secs.max(1e-9),
        steps.load(Ordering::Relaxed) as f64 / secs.max(1e-9),
        n - failures.len() as u64,
        failures.len()
    );
    if args.planted {
        return match failures.first() {
            Some(r) => {
                let inv = r.violation.as_ref().map_or("", |v| v.invariant);
                println!(
                    "planted bug caught: first catching seed {} [{inv}] after {} seeds",
                    r.seed,
                    r.seed - lo + 1
                );
                ExitCode::SUCCESS
            }
            None => {
                println!("planted bug NOT caught in seeds {lo}..{hi}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(r) = failures.first() {
        println!(
            "replay the first failure with: relay-sim --seed {} --trace",
            r.seed
        );
        println!("shrink it with: relay-sim --seed {} --minimize", r.seed);
    }
    if failures.is_empty() && mismatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
