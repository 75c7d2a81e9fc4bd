//! Interleaved timing for the ratio summaries the benches print after the
//! criterion runs: every variant runs once per round, in turn, so machine
//! load hits all of them alike; each figure is the median over rounds.

#![allow(dead_code)]

use std::time::{Duration, Instant};

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
            let t = Instant::now();
            (v.run)();
            times[i].push(t.elapsed());
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
