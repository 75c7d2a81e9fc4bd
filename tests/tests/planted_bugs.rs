//! Mutation check of the harness: each planted bug in the core
//! (`hermes-relay-core` feature `planted-bugs`) must be caught by the standard
//! scenario within 10,000 seeds, by the invariant written for it, on a seed
//! that the real core runs clean.

use relay_sim::{PlantedBug, SimConfig, first_failure, run_seed};

/// How many seeds a planted bug may take to be found.
const BUDGET: u64 = 10_000;

fn caught(bug: PlantedBug, invariant: &str) {
    let cfg = SimConfig {
        plant: bug,
        ..SimConfig::default()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(r) = first_failure(0..BUDGET, &cfg, threads) else {
        panic!("planted bug {bug} survived seeds 0..{BUDGET}");
    };
    let Some(v) = r.violation else {
        panic!("first_failure returned a clean report");
    };
    assert_eq!(
        v.invariant, invariant,
        "planted bug {bug}: seed {} broke {} instead: {}",
        r.seed, v.invariant, v.detail
    );
    let real = run_seed(r.seed, &SimConfig::default());
    assert!(
        real.violation.is_none(),
        "seed {} also fails on the real core: {:?}",
        r.seed,
        real.violation.map(|v| v.to_string())
    );
    println!("{bug}: first caught by seed {} [{invariant}]", r.seed);
}

#[test]
fn redial_after_revoked_is_caught() {
    caught(PlantedBug::RedialAfterRevoked, "no-dial-after-revoked");
}

#[test]
fn ack_on_delivery_is_caught() {
    caught(PlantedBug::AckOnDelivery, "inbound-ack-after-app-ack");
}

#[test]
fn keep_requests_on_disconnect_is_caught() {
    caught(
        PlantedBug::KeepRequestsOnDisconnect,
        "requests-fail-with-their-socket",
    );
}

#[test]
fn cold_start_4401_revoking_is_caught() {
    caught(
        PlantedBug::ColdStart4401Revokes,
        "cold-start-4401-never-revokes",
    );
}

#[test]
fn handing_replays_over_is_caught() {
    caught(PlantedBug::HandReplays, "no-replay-handed-twice");
}

#[test]
fn a_hold_past_its_cap_is_caught() {
    caught(PlantedBug::HoldPastCap, "held-redial-within-cap");
}

#[test]
fn a_drain_past_its_budget_is_caught() {
    caught(
        PlantedBug::DrainPastBudget,
        "shutdown-ends-requests-within-drain",
    );
}

#[test]
fn minimize_shrinks_a_planted_failure() {
    // Seed 1 catches ack-on-delivery with 8 gateways; the minimized run must
    // still catch it, with less of everything.
    let cfg = SimConfig {
        plant: PlantedBug::AckOnDelivery,
        ..SimConfig::default()
    };
    let Some(m) = relay_sim::minimize(1, &cfg) else {
        panic!("seed 1 no longer catches ack-on-delivery");
    };
    assert_eq!(m.invariant, "inbound-ack-after-app-ack");
    assert!(m.cfg.gateways < cfg.gateways, "{m:?}");
    assert!(m.steps <= m.original_steps, "{m:?}");
    let again = run_seed(1, &m.cfg).violation.map(|v| v.invariant);
    assert_eq!(again, Some(m.invariant));
    let test = relay_sim::minimize::regression_test("t", 1, &m.cfg, "why");
    assert!(test.contains("assert_clean(1, &cfg);"), "{test}");
    assert!(
        test.contains(&format!("gateways: {},", m.cfg.gateways)),
        "{test}"
    );
    assert_eq!(
        relay_sim::minimize(1, &SimConfig::default()).map(|m| m.seed),
        None
    );
}
