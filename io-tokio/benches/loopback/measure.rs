//! What a measuring child counts: process CPU time, RSS, allocations, and
//! the round-trip and streamed-frame tallies built on them.

use std::time::{Duration, Instant};

use relay_core::wire::ActionResult;
use relay_tokio::ClientError;

use crate::alloc;
use crate::workload::RTT_WARMUP;

/// Process CPU time (user + system) in microseconds.
pub fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Round-trip samples (warm-up included), CPU µs over the timed part, and
/// failed requests.
pub struct Rtt {
    pub samples: Vec<Duration>,
    pub cpu: u64,
    pub allocs: u64,
    pub failures: u32,
}

impl Rtt {
    pub fn new(iters: usize) -> Self {
        Rtt {
            samples: Vec::with_capacity(RTT_WARMUP + iters),
            cpu: 0,
            allocs: 0,
            failures: 0,
        }
    }

    pub fn mark(&mut self, i: usize) {
        if i == RTT_WARMUP {
            self.cpu = cpu_us();
            self.allocs = alloc::snapshot().0;
        }
    }

    pub fn record(&mut self, i: usize, start: Instant, result: Result<ActionResult, ClientError>) {
        match result {
            Ok(result) => {
                assert!(result.success);
                self.samples.push(start.elapsed());
            }
            Err(error) => {
                eprintln!("request {i} failed after {:?}: {error}", start.elapsed());
                self.failures += 1;
            }
        }
    }

    pub fn done(&mut self) {
        self.cpu = cpu_us() - self.cpu;
        self.allocs = alloc::snapshot().0 - self.allocs;
    }
}

/// Counts streamed frames, timing from the first.
pub struct Frames {
    pub left: usize,
    pub first: Option<(Instant, u64, u64)>,
}

impl Frames {
    pub fn new(n: usize) -> Self {
        Frames {
            left: n,
            first: None,
        }
    }

    pub fn more(&self) -> bool {
        self.left > 0
    }

    pub fn got(&mut self, frame: bool) {
        if frame {
            self.first
                .get_or_insert_with(|| (Instant::now(), cpu_us(), alloc::snapshot().0));
            self.left -= 1;
        }
    }

    /// Wall time, CPU µs and allocations since the first frame.
    pub fn finish(&self) -> (Duration, u64, u64) {
        let (start, cpu, allocs) =
            self.first
                .unwrap_or((Instant::now(), cpu_us(), alloc::snapshot().0));
        (
            start.elapsed(),
            cpu_us() - cpu,
            alloc::snapshot().0 - allocs,
        )
    }
}

/// Resident set size in bytes.
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page
}
