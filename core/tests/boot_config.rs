//! What boot provisioning and policy read from the configuration: the
//! display name, the relevance settings per platform, and the provision
//! response shapes that are refused.

use std::ffi::OsString;

use relay_core::calls::{
    HttpCallError, PolicyBody, ProvisionOutcome, parse_provision_response, provision_body,
    relevance_policies,
};
use relay_core::config::{
    ConfigError, ConfigWarning, IdleMode, PlatformIdentity, RelayConfig, RelevanceSettings,
};

fn load(vars: &[(&str, &str)]) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
    let mut all = vec![
        ("GATEWAY_RELAY_URL", "wss://c.example"),
        ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", "1"),
    ];
    all.extend_from_slice(vars);
    RelayConfig::from_vars(all.iter().map(|(k, v)| (*k, *v)))
}

#[test]
fn the_display_name_is_trimmed_cut_to_64_and_declared_only_when_set() {
    let (config, warnings) = load(&[("GATEWAY_RELAY_DISPLAY_NAME", "  Ops Bot  ")]).unwrap();
    assert_eq!(config.display_name.as_deref(), Some("Ops Bot"));
    assert!(warnings.is_empty());
    let identity = PlatformIdentity::new("telegram", "b");
    let body = serde_json::to_value(provision_body(&config, "gw", &identity)).unwrap();
    assert_eq!(body["displayName"], "Ops Bot");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "gatewayId",
            "platform",
            "botId",
            "gatewayEndpoint",
            "routeKeys",
            "displayName"
        ]
    );

    let long = "\u{e9}".repeat(70);
    let (config, warnings) = load(&[("GATEWAY_RELAY_DISPLAY_NAME", &long)]).unwrap();
    assert_eq!(
        config.display_name.as_deref().map(|n| n.chars().count()),
        Some(64)
    );
    assert_eq!(
        warnings,
        vec![ConfigWarning::DisplayNameTruncated { chars: 70 }]
    );

    let (config, _) = load(&[("GATEWAY_RELAY_DISPLAY_NAME", "   ")]).unwrap();
    assert_eq!(config.display_name, None);
    let body = serde_json::to_value(provision_body(&config, "gw", &identity)).unwrap();
    assert!(body.get("displayName").is_none(), "absent, never empty");

    let built = RelayConfig::builder("ws://h:1")
        .allow_unauthenticated()
        .display_name(format!(" {} ", "x".repeat(80)))
        .build()
        .unwrap();
    assert_eq!(built.display_name.map(|n| n.len()), Some(64));
}

#[test]
fn relevance_settings_come_from_the_policy_variable() {
    let (config, _) = load(&[
        ("GATEWAY_RELAY_PLATFORMS", "telegram,discord,slack"),
        (
            "GATEWAY_RELAY_RS_POLICY",
            r#"{"telegram": {"require_mention": false},
                "discord": {"require_mention": "yes", "free_response_channels": "c-1, c-2", "allow_bots": "mentions"},
                "slack": {"require_mention": null, "allow_bots": "none"}}"#,
        ),
    ])
    .unwrap();
    assert_eq!(
        config.relevance.get("telegram"),
        Some(&RelevanceSettings {
            require_mention: Some(false),
            ..RelevanceSettings::default()
        })
    );
    let policies = relevance_policies(&config);
    assert_eq!(
        policies,
        vec![
            (
                "telegram".to_owned(),
                Some(PolicyBody {
                    platform: "telegram".into(),
                    require_address: false,
                    free_response_scopes: vec![],
                    allow_other_bots: false,
                })
            ),
            (
                "discord".to_owned(),
                Some(PolicyBody {
                    platform: "discord".into(),
                    require_address: true,
                    free_response_scopes: vec!["c-1".into(), "c-2".into()],
                    allow_other_bots: true,
                })
            ),
            ("slack".to_owned(), None),
        ],
        "an explicit require_mention: false is declared; nothing configured is not"
    );
    for bad in [
        r#"{"telegram": {"require_mentions": true}}"#,
        r#"{"telegram": true}"#,
        r#"["telegram"]"#,
        r#"{"telegram": {"allow_bots": 1}}"#,
        "not json",
    ] {
        let err = load(&[("GATEWAY_RELAY_RS_POLICY", bad)]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { setting, .. } if setting == "GATEWAY_RELAY_RS_POLICY"),
            "{bad}: {err}"
        );
    }
    let err = load(&[("GATEWAY_RELAY_RS_POLICY", r#"{"t": {"bogus": 1}}"#)]).unwrap_err();
    assert!(
        err.to_string().contains("bogus"),
        "names the unknown key: {err}"
    );
}

#[test]
fn malformed_provision_responses_are_refused() {
    for bad in [
        &br#"[false, "s"]"#[..],
        br#""secret""#,
        br#"{"secretIssued": true}"#,
        br#"{"secretIssued": "false"}"#,
        br#"{"secret": 5}"#,
        br#"{}"#,
    ] {
        assert!(
            matches!(
                parse_provision_response(200, bad),
                Err(HttpCallError::NoSecret | HttpCallError::InvalidBody { .. })
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(matches!(
        parse_provision_response(200, br#"{"secretIssued": false, "tenant": "t"}"#),
        Ok(ProvisionOutcome::NotIssued { .. })
    ));
}

#[test]
fn the_idle_mode_is_read_from_the_process_environment_too() {
    let vars = [
        ("GATEWAY_RELAY_URL", "wss://c.example"),
        ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", "1"),
        ("GATEWAY_RELAY_RS_IDLE_MODE", "keep"),
    ];
    let (config, _) = RelayConfig::from_env_os_map(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    })
    .unwrap();
    assert_eq!(config.idle_mode, Some(IdleMode::Keep));
}
