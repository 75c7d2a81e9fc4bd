//! `relay-sim`: replay one seed or sweep a range of seeds.
//!
//! ```text
//! relay-sim --seed 42 [--trace]      replay one seed (trace on stdout)
//! relay-sim --seeds 0..2000          sweep, one thread per core
//! relay-sim --check-determinism --seed 42
//! options: --gateways N  --threads N
//! ```

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use relay_sim::{Report, SimConfig, determinism_check, run_seed};

struct Args {
    seed: Option<u64>,
    seeds: Option<(u64, u64)>,
    trace: bool,
    check: bool,
    threads: Option<usize>,
    cfg: SimConfig,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        seed: None,
        seeds: None,
        trace: false,
        check: false,
        threads: None,
        cfg: SimConfig::default(),
    };
    let mut it = std::env::args().skip(1);
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
                return Err("usage: relay-sim (--seed N [--trace] | --seeds A..B) \
                            [--check-determinism] [--gateways N] [--threads N]"
                    .to_owned());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(a)
}

fn one_line(r: &Report) -> String {
    format!(
        "seed {} steps {} end {}ms hash {:016x} deliveries {} handed {} requests {} drops {} restarts {} revoked {} (by fault {})",
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
        r.stats.revoked_by_fault
    )
}

fn main() -> ExitCode {
    let args = match parse() {
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
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= hi {
                        break;
                    }
                    let r = run_seed(seed, &args.cfg);
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
    let n = hi.saturating_sub(lo);
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
    if let Some(r) = failures.first() {
        println!(
            "replay the first failure with: relay-sim --seed {} --trace",
            r.seed
        );
    }
    if failures.is_empty() && mismatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
