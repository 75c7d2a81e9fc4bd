//! Interleaved timing for the ratio summaries the benches print after the
//! criterion runs: every variant runs once per round, in turn, so machine
//! load hits all of them alike; each figure is the median over rounds of the
//! thread's CPU time (time spent descheduled on a shared machine does not
//! count; cache and SMT interference still do).

#![allow(dead_code)]

use std::time::Duration;

/// CPU time consumed by the calling thread.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One timed variant.
pub struct Variant<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnMut() + 'a>,
}

impl<'a> Variant<'a> {
    pub fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Variant {
            name,
            run: Box::new(run),
        }
    }
}

/// Runs `rounds` rounds (after one warm-up round) and returns each
/// variant's median, min and max duration of one run.
pub fn medians(rounds: usize, variants: &mut [Variant<'_>]) -> Vec<(Duration, Duration, Duration)> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); variants.len()];
    for v in variants.iter_mut() {
        (v.run)();
    }
    for _ in 0..rounds {
        for (i, v) in variants.iter_mut().enumerate() {
            let t = thread_cpu();
            (v.run)();
            times[i].push(thread_cpu() - t);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            (t[t.len() / 2], t[0], t[t.len() - 1])
        })
        .collect()
}

/// Frames per second for `frames` frames in `d`.
pub fn per_sec(frames: usize, d: Duration) -> f64 {
    frames as f64 / d.as_secs_f64()
}
