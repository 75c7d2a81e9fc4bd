//! What a run is given and what it reports: its configuration, the first
//! broken invariant and its counters.

use std::collections::BTreeSet;

#[cfg(feature = "planted-bugs")]
use relay_core::connection::PlantedBug;

use crate::swarm::{Fault, Swarm};

/// Parameters of a run that the seed does not pick.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of gateways.
    pub gateways: usize,
    /// Length of the fault window (ms of simulated time).
    pub fault_window_ms: u64,
    /// Time allowed after the fault window for everything to converge (ms).
    pub heal_bound_ms: u64,
    /// Print every trace line to stdout as it happens.
    pub print_trace: bool,
    /// Faults switched off whatever the seed picks (the seed still draws
    /// them, so the other draws of the swarm stay the same).
    pub faults_off: BTreeSet<Fault>,
    /// The deliberate mistake every gateway's core makes (feature
    /// `planted-bugs`; `PlantedBug::None` is the real core).
    #[cfg(feature = "planted-bugs")]
    pub plant: PlantedBug,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            gateways: 8,
            fault_window_ms: 60_000,
            heal_bound_ms: 120_000,
            print_trace: false,
            faults_off: BTreeSet::new(),
            #[cfg(feature = "planted-bugs")]
            plant: PlantedBug::None,
        }
    }
}

/// A broken invariant.
#[derive(Clone, Debug)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// Details.
    pub detail: String,
    /// The step at which it was detected.
    pub step: u64,
    /// Simulated time (ms).
    pub at_ms: u64,
    /// The last [`TRACE_TAIL`](crate::TRACE_TAIL) trace lines.
    pub trace_tail: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "VIOLATION {} at step {} (t={}ms): {}",
            self.invariant, self.step, self.at_ms, self.detail
        )?;
        writeln!(f, "--- last {} trace lines ---", self.trace_tail.len())?;
        for line in &self.trace_tail {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// The outcome of one seed, in either world: `S` is what the seed switched
/// on, `T` the world's counters.
#[derive(Clone, Debug)]
pub struct Report<S = Swarm, T = SimStats> {
    /// The seed.
    pub seed: u64,
    /// What it switched on.
    pub swarm: S,
    /// Events processed.
    pub steps: u64,
    /// Simulated time at the end (ms).
    pub end_ms: u64,
    /// FNV-1a hash of the whole trace (equal seeds, equal hashes).
    pub trace_hash: u64,
    /// The first broken invariant, if any.
    pub violation: Option<Violation>,
    /// Counters.
    pub stats: T,
}

impl<S, T: Default> Report<S, T> {
    /// The report of a seed whose run panicked with `detail`: a violation
    /// of the `no-panic` invariant; `hint` says how to see the trace.
    pub(crate) fn panicked(seed: u64, swarm: S, detail: String, hint: &str) -> Self {
        Report {
            seed,
            swarm,
            steps: 0,
            end_ms: 0,
            trace_hash: 0,
            violation: Some(Violation {
                invariant: "no-panic",
                detail,
                step: 0,
                at_ms: 0,
                trace_tail: vec![hint.to_owned()],
            }),
            stats: T::default(),
        }
    }
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages delivered through the connector.
    pub deliveries: u64,
    /// Buffered items handed to applications.
    pub handed: u64,
    /// Requests sent.
    pub requests: u64,
    /// Forced drops.
    pub drops: u64,
    /// Connector restarts.
    pub restarts: u64,
    /// Gateways that ended `Revoked`.
    pub revoked: u64,
    /// Gateways revoked although the connector never revoked them (410 or
    /// two injected 4401s).
    pub revoked_by_fault: u64,
    /// `go_idle` calls that keep the socket while buffered.
    pub idle_keep: u64,
    /// `go_idle` calls that close and wait for a wake.
    pub idle_close: u64,
    /// `go_idle` calls that close and re-dial on the dormant cadence.
    pub idle_dormant: u64,
    /// Deliveries the connector replayed.
    pub replays: u64,
    /// Re-dials that waited while held.
    pub held: u64,
    /// Gateways the application shut down.
    pub shutdowns: u64,
}
