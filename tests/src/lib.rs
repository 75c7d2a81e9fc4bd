//! Deterministic simulation of many relay gateways against the reference
//! connector model.
//!
//! Every run is a pure function of one `u64` seed: the seed picks which
//! faults are on (swarm testing) and drives every latency, drop, delivery and
//! application decision. Time is simulated: an event queue ordered by
//! `(time, seq)`. See `docs/simulation.md`.
//!
//! [`engine`] is the second world: whole clients (the engine and the core)
//! on a seeded simulation runtime over a simulated network.

#![forbid(unsafe_code)]

#[cfg(feature = "planted-bugs")]
pub use relay_core::connection::PlantedBug;

pub mod cli;
mod connector_side;
mod consts;
pub mod engine;
mod gateway;
mod invariants;
pub mod minimize;
mod report;
mod run;
pub mod seeds;
mod swarm;
mod world;

pub use report::{Report, SimConfig, SimStats, Violation};
pub use run::{CoreWorld, Minimized, determinism_check, first_failure, minimize, run_seed};
pub use swarm::{Fault, Swarm};
pub use world::World;

pub use consts::{IDLE_ACK_MS, REQUEST_TOLERANCE_MS, TOKEN_TTL_SECS, TRACE_TAIL, WALL_BASE};

/// The Rust blocks of the README and of every guide in `docs/`, compiled
/// (and, unless marked `no_run`, run) as doctests, so the docs cannot drift
/// from the API.
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../docs/architecture.md")]
    pub struct Architecture;
    #[doc = include_str!("../../docs/benchmarks.md")]
    pub struct Benchmarks;
    #[doc = include_str!("../../docs/benchmarks-loopback.md")]
    pub struct BenchmarksLoopback;
    #[doc = include_str!("../../docs/connector-model.md")]
    pub struct ConnectorModel;
    #[doc = include_str!("../../docs/embedding.md")]
    pub struct Embedding;
    #[doc = include_str!("../../docs/embedding-tokio.md")]
    pub struct EmbeddingTokio;
    #[doc = include_str!("../../docs/fuzzing.md")]
    pub struct Fuzzing;
    #[doc = include_str!("../../docs/interop.md")]
    pub struct Interop;
    #[doc = include_str!("../../docs/limits.md")]
    pub struct Limits;
    #[doc = include_str!("../../docs/benchmarks-python.md")]
    pub struct BenchmarksPython;
    #[doc = include_str!("../../docs/python.md")]
    pub struct Python;
    #[doc = include_str!("../../docs/protocol.md")]
    pub struct Protocol;
    #[doc = include_str!("../../docs/simulation.md")]
    pub struct Simulation;
}
