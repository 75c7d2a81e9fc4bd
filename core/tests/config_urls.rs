//! URL derivations: docs/protocol.md, "Roles and transport" (dial) and "HTTP calls to the connector".

use relay_core::config::{
    RelayConfig, dial_url, enroll_url, http_base_url, policy_url, provision_url,
};

const DIAL_EXAMPLES: &[(&str, &str)] = &[
    (
        "https://connector.example.com",
        "wss://connector.example.com/relay",
    ),
    ("http://localhost:8080/api", "ws://localhost:8080/api/relay"),
    ("wss://x/relay", "wss://x/relay"),
    ("https://connector.example", "wss://connector.example/relay"),
    (
        "http://connector.local:8080",
        "ws://connector.local:8080/relay",
    ),
    (
        "wss://connector.example/relay",
        "wss://connector.example/relay",
    ),
    (
        "https://connector.example/relay/",
        "wss://connector.example/relay",
    ),
    ("ws://127.0.0.1:9", "ws://127.0.0.1:9/relay"),
];

#[test]
fn every_dial_example() {
    for (input, want) in DIAL_EXAMPLES {
        assert_eq!(dial_url(input), *want, "input {input:?}");
        assert_eq!(RelayConfig::new(*input).dial_url(), *want);
    }
}

#[test]
fn dial_url_is_idempotent() {
    for (input, _) in DIAL_EXAMPLES {
        let once = dial_url(input);
        assert_eq!(dial_url(&once), once, "input {input:?}");
    }
}

#[test]
fn dial_url_edge_cases() {
    assert_eq!(dial_url("  https://c.example//  "), "wss://c.example/relay");
    assert_eq!(dial_url(""), "/relay");
    // The scheme check is case-sensitive, like the reference.
    assert_eq!(dial_url("HTTPS://c.example"), "HTTPS://c.example/relay");
}

#[test]
fn http_derivation_examples() {
    assert_eq!(
        provision_url("wss://c.example/relay"),
        "https://c.example/relay/provision"
    );
    assert_eq!(
        provision_url("ws://c.example/relay"),
        "http://c.example/relay/provision"
    );
    assert_eq!(
        provision_url("https://c.example"),
        "https://c.example/relay/provision"
    );
    assert_eq!(
        policy_url("https://connector.example"),
        "https://connector.example/relay/policy"
    );
    assert_eq!(
        enroll_url("wss://c.example/relay/"),
        "https://c.example/relay/enroll"
    );
    assert_eq!(
        http_base_url("http://h:8080/api/relay"),
        "http://h:8080/api"
    );
    // Only one trailing /relay is removed.
    assert_eq!(http_base_url("https://h/relay/relay"), "https://h/relay");
}

#[test]
fn http_derivation_of_every_dial_example_matches_its_dial_url() {
    for (input, _) in DIAL_EXAMPLES {
        assert_eq!(
            provision_url(input),
            provision_url(&dial_url(input)),
            "{input}"
        );
    }
}

#[test]
fn config_methods_use_the_relay_url() {
    let c = RelayConfig::new("wss://c.example/relay");
    assert_eq!(c.provision_url(), "https://c.example/relay/provision");
    assert_eq!(c.policy_url(), "https://c.example/relay/policy");
    assert_eq!(c.enroll_url(), "https://c.example/relay/enroll");
}
