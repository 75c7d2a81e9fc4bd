//! `relay-sim --world engine`: replay, sweep, check and minimize engine
//! seeds.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    EngineConfig, EngineFault, EngineReport, engine_determinism_check, minimize_engine,
    run_engine_seed,
};

/// Options of an engine-world command.
pub struct EngineArgs {
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
    pub cfg: EngineConfig,
}

/// Parses the engine world's arguments (`--world` already taken out).
pub fn parse(args: &[String]) -> Result<EngineArgs, String> {
    let mut a = EngineArgs {
        seed: None,
        seeds: None,
        trace: false,
        check: false,
        minimize: false,
        planted: false,
        threads: None,
        cfg: EngineConfig::default(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let num = |name: &str, v: String| v.parse::<u64>().map_err(|e| format!("{name}: {e}"));
        match arg.as_str() {
            "--seed" => a.seed = Some(num("--seed", val("--seed")?)?),
            "--seeds" => {
                let v = val("--seeds")?;
                let (lo, hi) = v.split_once("..").ok_or("--seeds wants A..B")?;
                a.seeds = Some((
                    num("--seeds", lo.to_owned())?,
                    num("--seeds", hi.to_owned())?,
                ));
            }
            "--trace" => a.trace = true,
            "--check-determinism" => a.check = true,
            "--minimize" => a.minimize = true,
            "--fault-window" => {
                a.cfg.fault_window_ms = num("--fault-window", val("--fault-window")?)?
            }
            "--heal-bound" => a.cfg.heal_bound_ms = num("--heal-bound", val("--heal-bound")?)?,
            "--clients" | "--gateways" => {
                a.cfg.clients = num("--clients", val("--clients")?)?.max(1) as usize
            }
            "--threads" => a.threads = Some(num("--threads", val("--threads")?)? as usize),
            "--off" => {
                for name in val("--off")?.split(',').filter(|n| !n.is_empty()) {
                    let f = EngineFault::from_name(name).ok_or_else(|| {
                        let known: Vec<&str> = EngineFault::ALL.iter().map(|f| f.name()).collect();
                        format!(
                            "--off: unknown engine fault {name:?} (known: {})",
                            known.join(", ")
                        )
                    })?;
                    a.cfg.faults_off.insert(f);
                }
            }
            "--plant" => a.planted = set_plant(&mut a.cfg, &val("--plant")?)?,
            other => {
                return Err(format!(
                    "unknown argument {other:?} for the engine world (try --help)"
                ));
            }
        }
    }
    Ok(a)
}

#[cfg(feature = "planted-bugs")]
fn set_plant(cfg: &mut EngineConfig, name: &str) -> Result<bool, String> {
    cfg.plant = name
        .parse::<super::EnginePlantedBug>()
        .map_err(|e| format!("--plant: {e}"))?;
    Ok(cfg.plant != super::EnginePlantedBug::None)
}

#[cfg(not(feature = "planted-bugs"))]
fn set_plant(_cfg: &mut EngineConfig, _name: &str) -> Result<bool, String> {
    Err("--plant needs a build with `--features planted-bugs`".to_owned())
}

/// One line of a report.
pub fn one_line(r: &EngineReport) -> String {
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

/// The command that replays `seed` under `cfg`.
pub fn replay_command(seed: u64, cfg: &EngineConfig) -> String {
    let d = EngineConfig::default();
    let mut s = format!("relay-sim --world engine --seed {seed}");
    if cfg.clients != d.clients {
        s.push_str(&format!(" --clients {}", cfg.clients));
    }
    if cfg.fault_window_ms != d.fault_window_ms {
        s.push_str(&format!(" --fault-window {}", cfg.fault_window_ms));
    }
    if cfg.heal_bound_ms != d.heal_bound_ms {
        s.push_str(&format!(" --heal-bound {}", cfg.heal_bound_ms));
    }
    if !cfg.faults_off.is_empty() {
        let off: Vec<&str> = cfg.faults_off.iter().map(|f| f.name()).collect();
        s.push_str(&format!(" --off {}", off.join(",")));
    }
    #[cfg(feature = "planted-bugs")]
    if cfg.plant != super::EnginePlantedBug::None {
        s.push_str(&format!(" --plant {}", cfg.plant));
    }
    s.push_str(" --trace");
    s
}

/// Runs an engine-world command.
pub fn run(a: &EngineArgs) -> ExitCode {
    if let Some(seed) = a.seed {
        if a.check {
            let (x, y) = engine_determinism_check(seed, &a.cfg);
            println!("engine seed {seed}: trace hashes {x:016x} {y:016x}");
            return if x == y {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        if a.minimize {
            return print_minimized(seed, &a.cfg);
        }
        let mut cfg = a.cfg.clone();
        cfg.print_trace = a.trace;
        let r = run_engine_seed(seed, &cfg);
        println!("engine swarm: {}", r.swarm);
        println!("{}", one_line(&r));
        return match r.violation {
            None => ExitCode::SUCCESS,
            Some(v) => {
                println!("engine seed {seed}: {v}");
                println!("replay: {}", replay_command(seed, &a.cfg));
                ExitCode::FAILURE
            }
        };
    }
    let Some((lo, hi)) = a.seeds else {
        eprintln!("give --seed N or --seeds A..B (try --help)");
        return ExitCode::from(2);
    };
    sweep(a, lo, hi)
}

fn print_minimized(seed: u64, cfg: &EngineConfig) -> ExitCode {
    let Some(m) = minimize_engine(seed, cfg) else {
        println!("engine seed {seed} passes under this configuration: nothing to minimize");
        return ExitCode::SUCCESS;
    };
    println!(
        "engine seed {seed} [{}]: minimized in {} runs, {} -> {} steps",
        m.invariant, m.runs, m.original_steps, m.steps
    );
    let on: Vec<&str> = m.faults_on().iter().map(|f| f.name()).collect();
    println!(
        "smallest failing config: clients {} fault_window {}ms on: {}",
        m.cfg.clients,
        m.cfg.fault_window_ms,
        on.join(",")
    );
    println!("replay: {} --trace", m.command());
    ExitCode::FAILURE
}

fn sweep(a: &EngineArgs, lo: u64, hi: u64) -> ExitCode {
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicU64::new(lo);
    let failures: Mutex<Vec<EngineReport>> = Mutex::new(Vec::new());
    let mismatched: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let steps = AtomicU64::new(0);
    let ran = AtomicU64::new(0);
    // The most engine polls in one virtual second and millisecond, with
    // their seeds.
    let busiest = Mutex::new([(0u64, 0u64); 2]);
    let first_fail = AtomicU64::new(u64::MAX);
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= hi || (a.planted && seed > first_fail.load(Ordering::Relaxed)) {
                        break;
                    }
                    let r = run_engine_seed(seed, &a.cfg);
                    ran.fetch_add(1, Ordering::Relaxed);
                    steps.fetch_add(r.steps, Ordering::Relaxed);
                    if let Ok(mut b) = busiest.lock() {
                        for (i, n) in [r.stats.max_polls_per_second, r.stats.max_polls_per_instant]
                            .into_iter()
                            .enumerate()
                        {
                            if n > b[i].0 {
                                b[i] = (n, seed);
                            }
                        }
                    }
                    if a.check
                        && run_engine_seed(seed, &a.cfg).trace_hash != r.trace_hash
                        && let Ok(mut m) = mismatched.lock()
                    {
                        m.push(seed);
                    }
                    if r.violation.is_some() {
                        first_fail.fetch_min(seed, Ordering::Relaxed);
                        if let Ok(mut f) = failures.lock() {
                            f.push(r);
                        }
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
                "FAIL engine seed {} [{}] step {} t={}ms: {}",
                r.seed, v.invariant, v.step, v.at_ms, v.detail
            );
            println!("  replay: {}", replay_command(r.seed, &a.cfg));
        }
    }
    let mismatched = mismatched.into_inner().unwrap_or_default();
    for s in &mismatched {
        println!("NONDETERMINISTIC engine seed {s}");
    }
    println!(
        "engine world: {n} seeds in {secs:.2}s on {threads} threads: {:.1} seeds/s, {:.0} steps/s; {} clean, {} failed",
        n as f64 / secs.max(1e-9),
        steps.load(Ordering::Relaxed) as f64 / secs.max(1e-9),
        n - failures.len() as u64,
        failures.len()
    );
    let [(second, s_seed), (instant, i_seed)] = busiest.into_inner().unwrap_or_default();
    println!(
        "most engine polls of one client: {second} in one virtual second (seed {s_seed}), {instant} in one virtual millisecond (seed {i_seed})"
    );
    if a.planted {
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
            "shrink the first failure with: relay-sim --world engine --seed {} --minimize",
            r.seed
        );
    }
    if failures.is_empty() && mismatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
