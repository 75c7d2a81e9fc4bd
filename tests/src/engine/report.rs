//! The outcome of one engine-world seed.

use super::monitor::EngineStats;
use super::swarm::EngineSwarm;

/// The outcome of one engine-world seed.
pub type EngineReport = crate::Report<EngineSwarm, EngineStats>;
