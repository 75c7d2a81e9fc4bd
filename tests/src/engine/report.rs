//! The outcome of one engine-world seed.

use super::monitor::EngineStats;
use super::swarm::EngineSwarm;
use crate::Violation;

/// The outcome of one engine-world seed.
#[derive(Clone, Debug)]
pub struct EngineReport {
    /// The seed.
    pub seed: u64,
    /// What it turned on.
    pub swarm: EngineSwarm,
    /// Task polls.
    pub steps: u64,
    /// Virtual time at the end (ms).
    pub end_ms: u64,
    /// FNV-1a hash of the whole trace.
    pub trace_hash: u64,
    /// The first broken invariant, if any.
    pub violation: Option<Violation>,
    /// Counters.
    pub stats: EngineStats,
}
