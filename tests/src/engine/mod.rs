//! The engine world: whole clients (the engine and the core as shipped,
//! spawned `RelayClient`s and `InlineClient`s) on a seeded simulation
//! runtime, over a simulated network, against the connector model behind a
//! real WebSocket server. See `docs/simulation.md`.

mod apps;
mod config;
mod conn;
mod connector;
mod executor;
mod faults;
mod link;
mod monitor;
mod net;
mod net_faults;
mod net_io;
#[cfg(test)]
mod net_tests;
mod report;
mod run;
mod runtime;
mod swarm;
mod traffic;
mod world;

pub use config::EngineConfig;
pub use monitor::EngineStats;
#[cfg(feature = "planted-bugs")]
pub use relay_engine::PlantedBug as EnginePlantedBug;
pub use report::EngineReport;
pub use run::{
    Busiest, EngineMinimized, EngineWorld, engine_determinism_check, engine_first_failure,
    minimize_engine, run_engine_seed,
};
pub use swarm::{EngineFault, EngineSwarm};
