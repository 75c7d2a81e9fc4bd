//! What both worlds share around a seed: the [`SimWorld`] each one is,
//! running a seed with panics caught, running it twice for determinism, and
//! sweeping a range of seeds on threads.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Report;

/// The parameters of a run that the seed does not pick, as the shrinker
/// and the command line see them in either world.
pub struct Knobs<'a, F> {
    /// Gateways (core world) or clients (engine world).
    pub population: &'a mut usize,
    /// Length of the fault window (ms).
    pub fault_window_ms: &'a mut u64,
    /// Time allowed after the fault window to converge (ms).
    pub heal_bound_ms: &'a mut u64,
    /// Print every trace line as it happens.
    pub print_trace: &'a mut bool,
    /// Faults switched off whatever the seed picks.
    pub faults_off: &'a mut BTreeSet<F>,
}

/// The report of a seed in world `W`.
pub type WorldReport<W> = Report<<W as SimWorld>::Swarm, <W as SimWorld>::Stats>;

/// One simulated world: a seed and a configuration in, a report out.
pub trait SimWorld {
    /// The parameters the seed does not pick.
    type Config: Clone + Default + Send + Sync + std::panic::UnwindSafe + 'static;
    /// What a seed switches on.
    type Swarm: fmt::Display + Send;
    /// The world's counters.
    type Stats: Default + Send;
    /// A fault the seed can switch on.
    type Fault: Copy + Ord + fmt::Display + 'static;
    /// What a sweep adds up beyond the common figures.
    type Tally: Default + Send;

    /// `core` or `engine`.
    const NAME: &'static str;
    /// What a population is called on the command line (`gateways`,
    /// `clients`).
    const POPULATION: &'static str;

    /// How to see the trace of a seed whose run panicked.
    const PANIC_HINT: &'static str;

    /// Runs one seed (it may panic: see [`run_caught`]).
    fn run_world(seed: u64, cfg: Self::Config) -> WorldReport<Self>;
    /// What `seed` switches on, before any fault is switched off.
    fn drawn(seed: u64) -> Self::Swarm;
    /// The configuration's knobs.
    fn knobs(cfg: &mut Self::Config) -> Knobs<'_, Self::Fault>;
    /// Switches `fault` off in `swarm`.
    fn turn_off(swarm: &mut Self::Swarm, fault: Self::Fault);
    /// The faults that are on in `swarm`.
    fn on(swarm: &Self::Swarm) -> Vec<Self::Fault>;
    /// Every fault, in the order of their names' list.
    const FAULTS: &'static [Self::Fault];
    /// The deliberate mistake the world's code can be told to make.
    #[cfg(feature = "planted-bugs")]
    type Bug: std::str::FromStr<Err: fmt::Display> + fmt::Display + Default + PartialEq;
    /// The configuration's planted bug.
    #[cfg(feature = "planted-bugs")]
    fn bug(cfg: &mut Self::Config) -> &mut Self::Bug;
    /// The report's counters on one line.
    fn one_line(r: &WorldReport<Self>) -> String;
    /// Adds `r` to a sweep's tally.
    fn tally(t: &mut Self::Tally, r: &WorldReport<Self>);
    /// The tally's line at the end of a sweep, if it has one.
    fn tally_line(t: &Self::Tally) -> Option<String>;
}

/// The faults `seed` switches on in world `W` under `cfg`.
pub fn faults_on<W: SimWorld>(seed: u64, cfg: &W::Config) -> Vec<W::Fault> {
    let mut swarm = W::drawn(seed);
    let mut cfg = cfg.clone();
    for f in W::knobs(&mut cfg).faults_off.iter() {
        W::turn_off(&mut swarm, *f);
    }
    W::on(&swarm)
}

/// The fault of world `W` called `name`; every known name on failure.
pub fn fault<W: SimWorld>(name: &str) -> Result<W::Fault, Vec<String>> {
    W::FAULTS
        .iter()
        .find(|f| f.to_string() == name)
        .copied()
        .ok_or_else(|| W::FAULTS.iter().map(ToString::to_string).collect())
}

/// Plants the bug called `name` in `cfg`: whether one is now planted.
#[cfg(feature = "planted-bugs")]
pub fn plant<W: SimWorld>(cfg: &mut W::Config, name: &str) -> Result<bool, String> {
    let bug = name.parse::<W::Bug>().map_err(|e| e.to_string())?;
    let planted = bug != W::Bug::default();
    *W::bug(cfg) = bug;
    Ok(planted)
}

/// Plants the bug called `name` in `cfg`: not in a build without the
/// `planted-bugs` feature.
#[cfg(not(feature = "planted-bugs"))]
pub fn plant<W: SimWorld>(_cfg: &mut W::Config, _name: &str) -> Result<bool, String> {
    Err("needs a build with `--features planted-bugs`".to_owned())
}

/// The name of the bug planted in `cfg`, when there is one.
#[cfg(feature = "planted-bugs")]
pub fn planted<W: SimWorld>(cfg: &W::Config) -> Option<String> {
    let mut cfg = cfg.clone();
    let bug = W::bug(&mut cfg);
    (*bug != W::Bug::default()).then(|| bug.to_string())
}

/// The name of the bug planted in `cfg`: none without the `planted-bugs`
/// feature.
#[cfg(not(feature = "planted-bugs"))]
pub fn planted<W: SimWorld>(_cfg: &W::Config) -> Option<String> {
    None
}

/// The message of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panic".to_owned())
}

/// Runs one seed; a panic anywhere is reported as a violation of the
/// `no-panic` invariant.
pub fn run_caught<W: SimWorld>(seed: u64, cfg: &W::Config) -> WorldReport<W> {
    let cfg = cfg.clone();
    match std::panic::catch_unwind(move || W::run_world(seed, cfg)) {
        Ok(r) => r,
        Err(payload) => Report::panicked(
            seed,
            W::drawn(seed),
            panic_message(payload.as_ref()),
            W::PANIC_HINT,
        ),
    }
}

/// Runs `seed` twice without printing its trace and returns both trace
/// hashes (equal when the world is deterministic).
pub fn determinism_check<W: SimWorld>(seed: u64, cfg: &W::Config) -> (u64, u64) {
    let mut quiet = cfg.clone();
    *W::knobs(&mut quiet).print_trace = false;
    let hash = |c: &W::Config| run_caught::<W>(seed, c).trace_hash;
    (hash(&quiet), hash(&quiet))
}

/// What a sweep found.
pub struct Swept<R, T> {
    /// The failing reports, lowest seed first.
    pub failures: Vec<R>,
    /// Seeds whose second run hashed differently (with `check`).
    pub mismatched: Vec<u64>,
    /// Seeds run.
    pub ran: u64,
    /// Steps of all runs.
    pub steps: u64,
    /// Wall time (s).
    pub secs: f64,
    /// Threads used.
    pub threads: usize,
    /// The world's own tally.
    pub tally: T,
}

/// Runs the seeds of `seeds` on `threads` threads. With `check`, each seed
/// runs twice and a different trace hash is recorded. With `first_only`,
/// seeds above the lowest failure found so far are not run, so the sweep
/// stops soon after its first failure and finds the same lowest failing
/// seed for any thread count.
pub fn sweep<W: SimWorld>(
    seeds: Range<u64>,
    cfg: &W::Config,
    threads: usize,
    check: bool,
    first_only: bool,
) -> Swept<WorldReport<W>, W::Tally> {
    let threads = threads.max(1);
    let next = AtomicU64::new(seeds.start);
    let lowest = AtomicU64::new(u64::MAX);
    let ran = AtomicU64::new(0);
    let steps = AtomicU64::new(0);
    let failures: Mutex<Vec<WorldReport<W>>> = Mutex::new(Vec::new());
    let mismatched: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let tally: Mutex<W::Tally> = Mutex::new(W::Tally::default());
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end || (first_only && seed > lowest.load(Ordering::Relaxed)) {
                        break;
                    }
                    let r = run_caught::<W>(seed, cfg);
                    ran.fetch_add(1, Ordering::Relaxed);
                    steps.fetch_add(r.steps, Ordering::Relaxed);
                    if let Ok(mut t) = tally.lock() {
                        W::tally(&mut t, &r);
                    }
                    if check
                        && run_caught::<W>(seed, cfg).trace_hash != r.trace_hash
                        && let Ok(mut m) = mismatched.lock()
                    {
                        m.push(seed);
                    }
                    if r.violation.is_some() {
                        lowest.fetch_min(seed, Ordering::Relaxed);
                        if let Ok(mut f) = failures.lock() {
                            f.push(r);
                        }
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|r| r.seed);
    let mut mismatched = mismatched.into_inner().unwrap_or_default();
    mismatched.sort_unstable();
    Swept {
        failures,
        mismatched,
        ran: ran.into_inner(),
        steps: steps.into_inner(),
        secs: start.elapsed().as_secs_f64(),
        threads,
        tally: tally.into_inner().unwrap_or_default(),
    }
}

/// The failing report with the lowest seed in `seeds` (run on `threads`
/// threads, stopping soon after the first failure), or `None` if all pass.
pub fn first_failure<W: SimWorld>(
    seeds: Range<u64>,
    cfg: &W::Config,
    threads: usize,
) -> Option<WorldReport<W>> {
    sweep::<W>(seeds, cfg, threads, false, true)
        .failures
        .into_iter()
        .next()
}
