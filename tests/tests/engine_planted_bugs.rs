//! Mutation check of the engine world: each bug planted in the engine
//! (`hermes-relay-engine` feature `planted-bugs`) must be caught within
//! `BUDGET` seeds of the standard scenario, by the invariant written for
//! it, on a seed the real engine runs clean.

use relay_sim::engine::{
    EngineConfig, EnginePlantedBug, engine_first_failure, minimize_engine, run_engine_seed,
};

/// How many seeds a planted bug may take to be found.
const BUDGET: u64 = 1_000;

fn caught(bug: EnginePlantedBug, invariants: &[&str]) -> u64 {
    let cfg = EngineConfig {
        plant: bug,
        ..EngineConfig::default()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(r) = engine_first_failure(0..BUDGET, &cfg, threads) else {
        panic!("planted engine bug {bug} survived seeds 0..{BUDGET}");
    };
    let Some(v) = r.violation else {
        panic!("engine_first_failure returned a clean report");
    };
    assert!(
        invariants.contains(&v.invariant),
        "planted engine bug {bug}: seed {} broke {} instead: {}",
        r.seed,
        v.invariant,
        v.detail
    );
    let real = run_engine_seed(r.seed, &EngineConfig::default());
    assert!(
        real.violation.is_none(),
        "engine seed {} also fails on the real engine: {:?}",
        r.seed,
        real.violation.map(|v| v.to_string())
    );
    println!("{bug}: first caught by seed {} [{}]", r.seed, v.invariant);
    r.seed
}

#[test]
fn unbounded_write_queue_is_caught() {
    caught(
        EnginePlantedBug::UnboundedWriteQueue,
        &["write-queue-bound"],
    );
}

#[test]
fn ack_before_app_is_caught() {
    caught(
        EnginePlantedBug::AckBeforeApp,
        &["inbound-ack-after-app-ack"],
    );
}

#[test]
fn redial_after_revoked_is_caught() {
    caught(
        EnginePlantedBug::RedialAfterRevoked,
        &["no-dial-after-revoked"],
    );
}

#[test]
fn lost_dial_wake_is_caught() {
    caught(EnginePlantedBug::LostDialWake, &["liveness"]);
}

#[test]
fn drop_replies_on_disconnect_is_caught() {
    // An inline client's request then never ends; a spawned client's
    // caller is told `Stopped` by a client that did not stop.
    caught(
        EnginePlantedBug::DropRepliesOnDisconnect,
        &["request-ends-by-deadline", "request-answered-once"],
    );
}

#[test]
fn keep_running_when_dropped_is_caught() {
    caught(
        EnginePlantedBug::KeepRunningWhenDropped,
        &["no-leak-after-drop"],
    );
}

#[test]
fn spin_when_idle_is_caught() {
    caught(EnginePlantedBug::SpinWhenIdle, &["no-busy-loop"]);
}

#[test]
fn minimize_shrinks_an_engine_failure() {
    let cfg = EngineConfig {
        plant: EnginePlantedBug::AckBeforeApp,
        ..EngineConfig::default()
    };
    let seed = caught(
        EnginePlantedBug::AckBeforeApp,
        &["inbound-ack-after-app-ack"],
    );
    let Some(m) = minimize_engine(seed, &cfg) else {
        panic!("seed {seed} no longer catches ack-before-app");
    };
    assert_eq!(m.invariant, "inbound-ack-after-app-ack");
    assert!(
        m.cfg.clients < cfg.clients
            || m.cfg.fault_window_ms < cfg.fault_window_ms
            || !m.cfg.faults_off.is_empty(),
        "nothing shrank: {m:?}"
    );
    let again = run_engine_seed(seed, &m.cfg).violation.map(|v| v.invariant);
    assert_eq!(again, Some(m.invariant));
    assert!(m.command().contains("--world engine"), "{}", m.command());
    assert_eq!(
        minimize_engine(seed, &EngineConfig::default()).map(|m| m.seed),
        None
    );
}
