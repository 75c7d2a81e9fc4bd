//! Replays of specific (seed, configuration) pairs that once failed, on the
//! real core: each must run clean. `relay-sim --seed N --minimize` prints a
//! test in this shape for a failing seed.
//!
//! The configurations are tied to the simulator's draw order: a change to
//! the world (a new fault, a new draw) replays them differently, so after
//! such a change re-derive the minimized ones (see `docs/simulation.md`).

use std::collections::BTreeSet;

use relay_sim::{Fault, SimConfig, run_seed};

/// The set of faults to switch off.
fn off(faults: &[Fault]) -> BTreeSet<Fault> {
    faults.iter().copied().collect()
}

/// Runs `seed` under `cfg` and fails with the violation's report, if any.
fn assert_clean(seed: u64, cfg: &SimConfig) {
    let r = run_seed(seed, cfg);
    if let Some(v) = r.violation {
        panic!("seed {seed} with {cfg:?}: {v}");
    }
}

// ----- a going_idle_ack after its deadline stranded the buffer -------------
//
// Fixed in "A going_idle_ack after its deadline closes and re-dials so the
// connector drains". Each of these broke `liveness` on the core before that
// fix (a gateway serving on the socket whose go_idle timed out while the
// connector stayed flipped and buffered for it).

/// Standard scenario, seeds that failed before the fix.
#[test]
fn late_idle_ack_standard_seeds() {
    for seed in [48, 1797, 1823, 1984] {
        assert_clean(seed, &SimConfig::default());
    }
}

/// Seed 146, minimized on the old core; broke `liveness` with one gateway,
/// only `idle_wake` and `stall` on.
#[test]
fn late_idle_ack_seed_146_minimized() {
    let cfg = SimConfig {
        gateways: 1,
        fault_window_ms: 45_000,
        faults_off: off(&[
            Fault::Drop,
            Fault::Skew,
            Fault::SlowAcks,
            Fault::Garbage,
            Fault::Silence,
            Fault::Split,
        ]),
        ..SimConfig::default()
    };
    assert_clean(146, &cfg);
}

/// Seed 209, minimized on the old core; broke `liveness` with one gateway,
/// only `idle_wake` and `stall` on, in 269 steps.
#[test]
fn late_idle_ack_seed_209_minimized() {
    let cfg = SimConfig {
        gateways: 1,
        fault_window_ms: 30_000,
        faults_off: off(&[
            Fault::Restart,
            Fault::SlowAcks,
            Fault::AckDup,
            Fault::Garbage,
            Fault::Silence,
        ]),
        ..SimConfig::default()
    };
    assert_clean(209, &cfg);
}

// ----- minimized planted-bug cases ------------------------------------------
//
// The first catching seed of each planted bug (`tests/planted_bugs.rs`),
// minimized with `relay-sim --plant <bug> --seed N --minimize`. On the real
// core they run clean; with the `planted-bugs` feature, `planted_cases_still_catch`
// checks that the same small runs still catch their bug.

/// `redial-after-revoked`, seed 0: one gateway revoked by the connector.
fn redial_after_revoked_case() -> (u64, SimConfig) {
    let cfg = SimConfig {
        gateways: 1,
        fault_window_ms: 5_000,
        faults_off: off(&[
            Fault::HttpRefusal,
            Fault::AckDup,
            Fault::Garbage,
            Fault::Replay,
        ]),
        ..SimConfig::default()
    };
    (0, cfg)
}

/// `ack-on-delivery`, seed 0: two gateways, replays and garbage lines.
fn ack_on_delivery_case() -> (u64, SimConfig) {
    let cfg = SimConfig {
        gateways: 2,
        fault_window_ms: 15_000,
        faults_off: off(&[Fault::HttpRefusal, Fault::Revocations, Fault::AckDup]),
        ..SimConfig::default()
    };
    (0, cfg)
}

/// `keep-requests-on-disconnect`, seed 1: a request pending when the
/// gateway closes for going idle.
fn keep_requests_case() -> (u64, SimConfig) {
    let cfg = SimConfig {
        gateways: 1,
        fault_window_ms: 15_000,
        ..SimConfig::default()
    };
    (1, cfg)
}

/// `cold-start-4401-revokes`, seed 979: the connector revokes a gateway
/// before its first handshake; its 4401 must not revoke.
fn cold_start_case() -> (u64, SimConfig) {
    let cfg = SimConfig {
        gateways: 8,
        fault_window_ms: 1_000,
        faults_off: off(&[Fault::SlowAcks, Fault::Replay]),
        ..SimConfig::default()
    };
    (979, cfg)
}

#[test]
fn planted_cases_are_clean_on_the_real_core() {
    for (seed, cfg) in [
        redial_after_revoked_case(),
        ack_on_delivery_case(),
        keep_requests_case(),
        cold_start_case(),
    ] {
        assert_clean(seed, &cfg);
    }
}

#[cfg(feature = "planted-bugs")]
#[test]
fn planted_cases_still_catch() {
    use relay_sim::PlantedBug;
    for (bug, (seed, cfg), invariant) in [
        (
            PlantedBug::RedialAfterRevoked,
            redial_after_revoked_case(),
            "no-dial-after-revoked",
        ),
        (
            PlantedBug::AckOnDelivery,
            ack_on_delivery_case(),
            "inbound-ack-after-app-ack",
        ),
        (
            PlantedBug::KeepRequestsOnDisconnect,
            keep_requests_case(),
            "requests-fail-with-their-socket",
        ),
        (
            PlantedBug::ColdStart4401Revokes,
            cold_start_case(),
            "cold-start-4401-never-revokes",
        ),
    ] {
        let cfg = SimConfig { plant: bug, ..cfg };
        let got = run_seed(seed, &cfg).violation.map(|v| v.invariant);
        assert_eq!(got, Some(invariant), "{bug} on seed {seed}");
    }
}
