//! RelayConfig from the `gateway.*` keys of a config.yaml (feature `yaml`).
#![cfg(feature = "yaml")]

use relay_core::config::{ConfigError, RelayConfig};

const FILE: &str = r#"
model: something-else
platforms:
  discord:
    require_mention: true
gateway:
  relay_url: "https://file.example/"
  relay_id: gw-file
  relay_secret: file-secret
  relay_endpoint: "https://gw.example/in/"
  relay_route_keys:
    - guild-1
    - " guild-2 "
    - ""
  relay_instance_id: " inst-file "
  relay_wake_url: "https://gw.example/wake/"
  other_key: ignored
  idp:
    token_url: https://idp.example/token
    client_id: cid
    client_secret: csecret
    scope: relay.provision
"#;

#[test]
fn reads_every_gateway_key() {
    let (c, w) = RelayConfig::from_yaml_str(FILE).expect("valid file");
    assert!(w.is_empty());
    assert_eq!(c.relay_url, "https://file.example");
    assert_eq!(c.gateway_id.as_deref(), Some("gw-file"));
    assert_eq!(c.secret.as_deref(), Some("file-secret"));
    assert_eq!(c.endpoint.as_deref(), Some("https://gw.example/in"));
    assert_eq!(c.route_keys, ["guild-1", "guild-2"]);
    assert_eq!(c.instance_id.as_deref(), Some("inst-file"));
    assert_eq!(c.wake_url.as_deref(), Some("https://gw.example/wake"));
    let idp = c.idp.expect("idp");
    assert_eq!(idp.token_url, "https://idp.example/token");
    assert_eq!(idp.client_id, "cid");
    assert_eq!(idp.client_secret, "csecret");
    assert_eq!(idp.scope.as_deref(), Some("relay.provision"));
}

#[test]
fn route_keys_may_be_a_comma_string() {
    let yaml = "gateway:\n  relay_url: https://c.example\n  relay_id: gw\n  relay_secret: s\n  relay_route_keys: \"a, b ,, c\"\n";
    let (c, _) = RelayConfig::from_yaml_str(yaml).expect("valid");
    assert_eq!(c.route_keys, ["a", "b", "c"]);
}

#[test]
fn env_wins_over_the_file() {
    let (c, _) = RelayConfig::from_env_map_and_yaml(FILE, |name| match name {
        "GATEWAY_RELAY_URL" => Some("wss://env.example/relay".to_owned()),
        "GATEWAY_RELAY_INSTANCE_ID" => Some("inst-env".to_owned()),
        "GATEWAY_RELAY_ROUTE_KEYS" => Some("k1,k2".to_owned()),
        // Empty env values fall through to the file.
        "GATEWAY_RELAY_ID" => Some("  ".to_owned()),
        "GATEWAY_RELAY_PLATFORMS" => Some("discord".to_owned()),
        _ => None,
    })
    .expect("valid");
    assert_eq!(c.relay_url, "wss://env.example/relay");
    assert_eq!(c.instance_id.as_deref(), Some("inst-env"));
    assert_eq!(c.route_keys, ["k1", "k2"]);
    assert_eq!(c.gateway_id.as_deref(), Some("gw-file"));
    assert_eq!(c.identities.len(), 1);
}

#[test]
fn numbers_are_read_as_strings() {
    let yaml = "gateway:\n  relay_url: https://c.example\n  relay_id: 12345\n  relay_secret: s\n  relay_route_keys: [1, 2]\n";
    let (c, _) = RelayConfig::from_yaml_str(yaml).expect("valid");
    assert_eq!(c.gateway_id.as_deref(), Some("12345"));
    assert_eq!(c.route_keys, ["1", "2"]);
}

#[test]
fn file_errors_name_the_file_key() {
    let yaml = "gateway:\n  relay_url: connector.example\n";
    match RelayConfig::from_yaml_str(yaml) {
        Err(ConfigError::Invalid { setting, .. }) => {
            assert_eq!(setting, "gateway.relay_url in the config file");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let yaml = "gateway:\n  relay_url: https://c.example\n  relay_wake_url: [a]\n";
    match RelayConfig::from_yaml_str(yaml) {
        Err(ConfigError::Invalid { setting, .. }) => {
            assert_eq!(setting, "gateway.relay_wake_url in the config file");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let yaml = "gateway:\n  relay_url: https://c.example\n  idp:\n    token_url: https://idp.example/t\n    client_secret: cs\n";
    match RelayConfig::from_yaml_str(yaml) {
        Err(ConfigError::Missing { setting, .. }) => {
            assert_eq!(setting, "gateway.idp.client_id in the config file");
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    // A token URL alone is an ambient token endpoint.
    let yaml = "gateway:\n  relay_url: https://c.example\n  relay_id: g\n  relay_secret: s\n  idp:\n    token_url: https://idp.example/t\n";
    let (config, _) = RelayConfig::from_yaml_str(yaml).expect("an ambient endpoint");
    assert!(config.idp.expect("an identity provider").is_ambient());
}

#[test]
fn missing_url_and_broken_files() {
    assert!(matches!(
        RelayConfig::from_yaml_str(""),
        Err(ConfigError::Missing { .. })
    ));
    assert!(matches!(
        RelayConfig::from_yaml_str("gateway: {relay_id: x}"),
        Err(ConfigError::Missing { .. })
    ));
    assert!(matches!(
        RelayConfig::from_yaml_str("gateway: [1"),
        Err(ConfigError::File { .. })
    ));
    assert!(matches!(
        RelayConfig::from_yaml_str("- a\n- b\n"),
        Err(ConfigError::File { .. })
    ));
    assert!(matches!(
        RelayConfig::from_yaml_str("gateway: 3\n"),
        Err(ConfigError::File { .. })
    ));
}
