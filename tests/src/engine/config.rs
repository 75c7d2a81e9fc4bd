//! The parameters of an engine-world run that the seed does not pick.

use std::collections::BTreeSet;

#[cfg(feature = "planted-bugs")]
use relay_engine::PlantedBug as EnginePlantedBug;

use super::swarm::EngineFault;

/// Parameters of an engine-world run that the seed does not pick.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Number of clients.
    pub clients: usize,
    /// Length of the fault window (ms of virtual time).
    pub fault_window_ms: u64,
    /// Time allowed after the fault window to converge (ms).
    pub heal_bound_ms: u64,
    /// Print every trace line as it happens.
    pub print_trace: bool,
    /// Switches off whatever the seed picks (the seed still draws them).
    pub faults_off: BTreeSet<EngineFault>,
    /// The deliberate mistake every client's engine makes (feature
    /// `planted-bugs`).
    #[cfg(feature = "planted-bugs")]
    pub plant: EnginePlantedBug,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            clients: 4,
            fault_window_ms: 60_000,
            heal_bound_ms: 120_000,
            print_trace: false,
            faults_off: BTreeSet::new(),
            #[cfg(feature = "planted-bugs")]
            plant: EnginePlantedBug::None,
        }
    }
}
