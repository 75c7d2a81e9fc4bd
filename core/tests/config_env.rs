//! RelayConfig from environment variables and from the builder.

use std::time::Duration;

use relay_core::config::{
    ConfigError, ConfigWarning, IdpConfig, PlatformIdentity, RelayConfig, RevocationPolicy,
    Timeouts,
};

/// Loads `vars` over a gateway id and secret (later pairs win).
fn load(vars: &[(&str, &str)]) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
    let creds = [
        ("GATEWAY_RELAY_ID", "gw-test"),
        ("GATEWAY_RELAY_SECRET", "test-secret"),
    ];
    RelayConfig::from_vars(creds.into_iter().chain(vars.iter().copied()))
}

fn ok(vars: &[(&str, &str)]) -> (RelayConfig, Vec<ConfigWarning>) {
    load(vars).expect("config loads")
}

fn invalid_setting(err: ConfigError) -> String {
    match err {
        ConfigError::Invalid { setting, .. } => setting,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

const URL: (&str, &str) = ("GATEWAY_RELAY_URL", "https://connector.example");

#[test]
fn minimal_config() {
    let (c, w) = ok(&[URL]);
    assert!(w.is_empty());
    assert_eq!(c.relay_url, "https://connector.example");
    assert_eq!(c.dial_url(), "wss://connector.example/relay");
    assert_eq!(
        c.hello_identities(),
        vec![PlatformIdentity::new("relay", "")]
    );
    assert_eq!(c.credentials(), Some(("gw-test", "test-secret")));
    assert!(!c.allow_unauthenticated);
    assert_eq!(c.timeouts, Timeouts::default());
}

#[test]
fn url_is_trimmed_and_one_trailing_slash_removed() {
    let (c, _) = ok(&[("GATEWAY_RELAY_URL", "  https://c.example/  ")]);
    assert_eq!(c.relay_url, "https://c.example");
    let (c, _) = ok(&[("GATEWAY_RELAY_URL", "https://c.example//")]);
    assert_eq!(c.relay_url, "https://c.example/");
}

#[test]
fn missing_url_names_the_variable() {
    let err = load(&[]).expect_err("no URL");
    assert_eq!(
        err,
        ConfigError::Missing {
            setting: "GATEWAY_RELAY_URL".to_owned(),
            hint: "set it to the connector's base URL, e.g. https://connector.example",
        }
    );
    assert!(
        err.to_string()
            .starts_with("GATEWAY_RELAY_URL is not set: ")
    );
    // Whitespace-only counts as unset.
    assert!(matches!(
        load(&[("GATEWAY_RELAY_URL", "  ")]),
        Err(ConfigError::Missing { .. })
    ));
}

#[test]
fn bad_urls_name_the_variable() {
    for bad in [
        "connector.example",
        "ftp://x",
        "HTTPS://x",
        "https://",
        "https://a b",
        "https:///x",
    ] {
        let err = load(&[("GATEWAY_RELAY_URL", bad)]).expect_err(bad);
        assert_eq!(invalid_setting(err), "GATEWAY_RELAY_URL", "{bad}");
    }
    for good in [
        "ws://127.0.0.1:9",
        "wss://x/relay",
        "http://localhost:8080/api",
    ] {
        assert!(load(&[("GATEWAY_RELAY_URL", good)]).is_ok(), "{good}");
    }
}

#[test]
fn credentials_and_ids_are_trimmed() {
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_ID", " gw-1 "),
        ("GATEWAY_RELAY_SECRET", " s3cret\n"),
        ("GATEWAY_RELAY_DELIVERY_KEY", "dk"),
        ("GATEWAY_RELAY_INSTANCE_ID", "  inst-7  "),
        ("GATEWAY_RELAY_ENROLL_TOKEN", "enr-1"),
    ]);
    assert_eq!(c.credentials(), Some(("gw-1", "s3cret")));
    assert_eq!(c.delivery_key.as_deref(), Some("dk"));
    assert_eq!(c.instance_id.as_deref(), Some("inst-7"));
    assert_eq!(c.enroll_token.as_deref(), Some("enr-1"));
}

#[test]
fn endpoint_and_wake_url_lose_trailing_slashes() {
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_ENDPOINT", " https://gw.example/hook/ "),
        ("GATEWAY_RELAY_WAKE_URL", "https://gw.example/wake//"),
    ]);
    assert_eq!(c.endpoint.as_deref(), Some("https://gw.example/hook"));
    assert_eq!(c.wake_url.as_deref(), Some("https://gw.example/wake"));
    let err = load(&[URL, ("GATEWAY_RELAY_WAKE_URL", "gw.example/wake")]).expect_err("bad");
    assert_eq!(invalid_setting(err), "GATEWAY_RELAY_WAKE_URL");
    let err = load(&[URL, ("GATEWAY_RELAY_ENDPOINT", "wss://gw.example")]).expect_err("bad");
    assert_eq!(invalid_setting(err), "GATEWAY_RELAY_ENDPOINT");
}

#[test]
fn outbound_only_has_no_endpoint_and_no_route_keys() {
    let (c, _) = ok(&[URL]);
    assert_eq!(c.endpoint, None);
    assert!(c.route_keys.is_empty());
    assert_eq!(c.wake_url, None);
    assert_eq!(c.instance_id, None);
}

#[test]
fn route_keys_comma_list() {
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_ROUTE_KEYS", "guild-1, guild-2 ,, guild-3"),
    ]);
    assert_eq!(c.route_keys, ["guild-1", "guild-2", "guild-3"]);
}

#[test]
fn multiplatform_example() {
    let (c, w) = ok(&[
        URL,
        ("GATEWAY_RELAY_PLATFORMS", "discord, telegram"),
        (
            "GATEWAY_RELAY_BOT_IDS",
            r#"{"discord": {"botId": "app-1"}, "telegram": {"botId": "bot-9", "username": "b9"}}"#,
        ),
    ]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        c.hello_identities(),
        vec![
            PlatformIdentity::new("discord", "app-1"),
            PlatformIdentity::new("telegram", "bot-9")
        ]
    );
    assert_eq!(
        c.identities[0].platform, "discord",
        "the primary is the first"
    );
}

#[test]
fn malformed_bot_ids_give_empty_bot_ids_and_a_warning() {
    let (c, w) = ok(&[
        URL,
        ("GATEWAY_RELAY_PLATFORMS", "discord"),
        ("GATEWAY_RELAY_BOT_IDS", "{not json"),
    ]);
    assert_eq!(c.identities, vec![PlatformIdentity::new("discord", "")]);
    assert!(
        matches!(w.as_slice(), [ConfigWarning::MalformedBotIds { .. }]),
        "{w:?}"
    );
    assert!(w[0].to_string().contains("GATEWAY_RELAY_BOT_IDS"));

    let (c, w) = ok(&[
        URL,
        ("GATEWAY_RELAY_PLATFORMS", "discord"),
        ("GATEWAY_RELAY_BOT_IDS", "[1,2]"),
    ]);
    assert_eq!(c.identities, vec![PlatformIdentity::new("discord", "")]);
    assert_eq!(w.len(), 1);
}

#[test]
fn bot_id_entries() {
    let (c, w) = ok(&[
        URL,
        ("GATEWAY_RELAY_PLATFORMS", "discord,telegram,slack,matrix"),
        (
            "GATEWAY_RELAY_BOT_IDS",
            r#"{"discord": "app-1", "telegram": {"botId": 42}, "slack": {"botId": ["x"]}}"#,
        ),
    ]);
    assert_eq!(
        c.identities,
        vec![
            PlatformIdentity::new("discord", ""),
            PlatformIdentity::new("telegram", "42"),
            PlatformIdentity::new("slack", ""),
            PlatformIdentity::new("matrix", ""),
        ]
    );
    assert_eq!(
        w,
        vec![
            ConfigWarning::MalformedBotIdEntry {
                platform: "discord".to_owned()
            },
            ConfigWarning::MalformedBotIdEntry {
                platform: "slack".to_owned()
            },
        ]
    );
}

#[test]
fn bot_ids_without_platforms_warns() {
    let (c, w) = ok(&[
        URL,
        ("GATEWAY_RELAY_BOT_IDS", r#"{"discord": {"botId": "a"}}"#),
    ]);
    assert!(c.identities.is_empty());
    assert_eq!(w, vec![ConfigWarning::BotIdsWithoutPlatforms]);
}

#[test]
fn duplicate_platform_is_an_error() {
    let err = load(&[
        URL,
        ("GATEWAY_RELAY_PLATFORMS", "discord, telegram, discord"),
    ])
    .expect_err("dup");
    assert_eq!(invalid_setting(err), "GATEWAY_RELAY_PLATFORMS");
}

#[test]
fn platforms_list_drops_empty_items() {
    let (c, _) = ok(&[URL, ("GATEWAY_RELAY_PLATFORMS", " , discord,, ")]);
    assert_eq!(c.identities, vec![PlatformIdentity::new("discord", "")]);
}

#[test]
fn idp_settings() {
    let (c, _) = ok(&[
        URL,
        (
            "GATEWAY_RELAY_IDP_TOKEN_URL",
            "https://idp.example/oauth/token",
        ),
        ("GATEWAY_RELAY_IDP_CLIENT_ID", "cid"),
        ("GATEWAY_RELAY_IDP_CLIENT_SECRET", "csecret"),
        ("GATEWAY_RELAY_IDP_SCOPE", "relay"),
    ]);
    assert_eq!(
        c.idp.as_deref(),
        Some(&IdpConfig {
            token_url: "https://idp.example/oauth/token".to_owned(),
            client_id: "cid".to_owned(),
            client_secret: "csecret".to_owned(),
            scope: Some("relay".to_owned()),
        })
    );
    // A token URL alone is an ambient token endpoint.
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_IDP_TOKEN_URL", "https://idp.example/t"),
    ]);
    assert_eq!(
        c.idp.as_deref(),
        Some(&IdpConfig::ambient("https://idp.example/t"))
    );
    let err = load(&[
        URL,
        ("GATEWAY_RELAY_IDP_TOKEN_URL", "https://idp.example/t"),
        ("GATEWAY_RELAY_IDP_CLIENT_SECRET", "csecret"),
    ])
    .expect_err("a secret without its id");
    assert!(
        matches!(&err, ConfigError::Missing { setting, .. } if setting == "GATEWAY_RELAY_IDP_CLIENT_ID"),
        "{err:?}"
    );
    let err = load(&[URL, ("GATEWAY_RELAY_IDP_TOKEN_URL", "idp")]).expect_err("bad url");
    assert_eq!(invalid_setting(err), "GATEWAY_RELAY_IDP_TOKEN_URL");
    // Client settings without a token URL are not an identity provider.
    let (c, _) = ok(&[URL, ("GATEWAY_RELAY_IDP_CLIENT_ID", "cid")]);
    assert_eq!(c.idp, None);
}

#[test]
fn relay_rs_knobs() {
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_RS_HANDSHAKE_TIMEOUT_SECS", "5"),
        ("GATEWAY_RELAY_RS_REQUEST_TIMEOUT_SECS", "0.25"),
        ("GATEWAY_RELAY_RS_IDLE_ACK_TIMEOUT_SECS", "2.5"),
        ("GATEWAY_RELAY_RS_KEEPALIVE_INTERVAL_SECS", "20"),
        ("GATEWAY_RELAY_RS_PONG_TIMEOUT_SECS", "20"),
        ("GATEWAY_RELAY_RS_STABLE_AFTER_SECS", "90"),
        ("GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS", "0.05"),
        ("GATEWAY_RELAY_RS_BACKOFF_MAX_SECS", "5"),
        ("GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS", "1"),
        ("GATEWAY_RELAY_RS_TOKEN_TTL_SECS", "120"),
        ("GATEWAY_RELAY_RS_REVOCATION", "immediate"),
        ("GATEWAY_RELAY_RS_MAX_FRAME_BYTES", "65536"),
        ("GATEWAY_RELAY_RS_WRITE_GUILD_ID", "false"),
    ]);
    let t = &c.timeouts;
    assert_eq!(t.handshake, Duration::from_secs(5));
    assert_eq!(t.request, Duration::from_millis(250));
    assert_eq!(t.idle_ack, Duration::from_millis(2500));
    assert_eq!(t.keepalive_interval, Duration::from_secs(20));
    assert_eq!(t.pong_timeout, Duration::from_secs(20));
    assert_eq!(t.stable_after, Duration::from_secs(90));
    assert_eq!(t.backoff_initial, Duration::from_millis(50));
    assert_eq!(t.backoff_max, Duration::from_secs(5));
    assert_eq!(t.dormant_redial, Some(Duration::from_secs(1)));
    assert_eq!(t.token_ttl_secs, 120);
    assert_eq!(c.revocation_policy, RevocationPolicy::Immediate);
    assert_eq!(c.limits.max_frame_bytes, 65536);
    assert!(!c.write_guild_id);

    let (c, _) = ok(&[URL, ("GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS", "0")]);
    assert_eq!(c.timeouts.dormant_redial, None);
}

#[test]
fn bad_knobs_name_their_variable() {
    let cases = [
        ("GATEWAY_RELAY_RS_HANDSHAKE_TIMEOUT_SECS", "abc"),
        ("GATEWAY_RELAY_RS_HANDSHAKE_TIMEOUT_SECS", "0"),
        ("GATEWAY_RELAY_RS_REQUEST_TIMEOUT_SECS", "-1"),
        ("GATEWAY_RELAY_RS_REQUEST_TIMEOUT_SECS", "1."),
        ("GATEWAY_RELAY_RS_IDLE_ACK_TIMEOUT_SECS", "0.0001"),
        ("GATEWAY_RELAY_RS_PONG_TIMEOUT_SECS", "99999999999999999999"),
        ("GATEWAY_RELAY_RS_TOKEN_TTL_SECS", "0"),
        ("GATEWAY_RELAY_RS_TOKEN_TTL_SECS", "1.5"),
        ("GATEWAY_RELAY_RS_REVOCATION", "sometimes"),
        ("GATEWAY_RELAY_RS_MAX_FRAME_BYTES", "0"),
        ("GATEWAY_RELAY_RS_WRITE_GUILD_ID", "maybe"),
        ("GATEWAY_RELAY_RS_IDLE_MODE", "sleepy"),
        ("GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS", "60"),
    ];
    for (var, value) in cases {
        let err = load(&[URL, (var, value)]).expect_err(var);
        assert_eq!(invalid_setting(err.clone()), var, "{var}={value}: {err}");
        assert!(err.to_string().starts_with(var));
    }
}

#[test]
fn later_pairs_win_in_from_vars() {
    let (c, _) = ok(&[URL, ("GATEWAY_RELAY_URL", "wss://other.example/relay")]);
    assert_eq!(c.relay_url, "wss://other.example/relay");
}

#[test]
fn from_env_map_uses_the_closure() {
    let (c, _) = RelayConfig::from_env_map(|name| match name {
        "GATEWAY_RELAY_URL" => Some("http://localhost:8080".to_owned()),
        "GATEWAY_RELAY_ID" => Some("gw-9".to_owned()),
        "GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED" => Some("1".to_owned()),
        _ => None,
    })
    .expect("loads");
    assert_eq!(c.dial_url(), "ws://localhost:8080/relay");
    assert_eq!(c.gateway_id.as_deref(), Some("gw-9"));
    assert_eq!(c.credentials(), None, "no secret, no credentials");
}

#[test]
fn debug_output_redacts_secrets() {
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_ID", "gw-1"),
        ("GATEWAY_RELAY_SECRET", "TOPSECRET1"),
        ("GATEWAY_RELAY_DELIVERY_KEY", "TOPSECRET2"),
        ("GATEWAY_RELAY_ENROLL_TOKEN", "TOPSECRET3"),
        ("GATEWAY_RELAY_IDP_TOKEN_URL", "https://idp.example/t"),
        ("GATEWAY_RELAY_IDP_CLIENT_ID", "cid"),
        ("GATEWAY_RELAY_IDP_CLIENT_SECRET", "TOPSECRET4"),
    ]);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("TOPSECRET"), "{dbg}");
    assert!(dbg.contains("gw-1"));
    assert!(dbg.contains("<redacted>"));
}

// ---- builder ----

#[test]
fn builder_builds_and_normalizes() {
    let c = RelayConfig::builder(" https://c.example/ ")
        .identity("discord", "app-1")
        .identity("telegram", "bot-9")
        .gateway_id("gw-1")
        .secret("s")
        .endpoint("https://gw.example/in/")
        .route_keys([" a ", "", "b"])
        .instance_id("i-1")
        .wake_url("https://gw.example/wake/")
        .revocation_policy(RevocationPolicy::Immediate)
        .write_guild_id(false)
        .build()
        .expect("valid");
    assert_eq!(c.relay_url, "https://c.example");
    assert_eq!(c.credentials(), Some(("gw-1", "s")));
    assert_eq!(c.endpoint.as_deref(), Some("https://gw.example/in"));
    assert_eq!(c.wake_url.as_deref(), Some("https://gw.example/wake"));
    assert_eq!(c.route_keys, ["a", "b"]);
    assert_eq!(c.identities.len(), 2);
    assert_eq!(c.revocation_policy, RevocationPolicy::Immediate);
    assert!(!c.write_guild_id);
}

#[test]
fn builder_errors_name_the_builder_setting() {
    let err = RelayConfig::builder("nope").build().expect_err("bad url");
    assert_eq!(invalid_setting(err), "RelayConfig::builder(relay_url)");
    let err = RelayConfig::builder("https://c.example")
        .wake_url("x")
        .build()
        .expect_err("bad");
    assert_eq!(invalid_setting(err), "RelayConfigBuilder::wake_url");
    let err = RelayConfig::builder("https://c.example")
        .identity("discord", "")
        .identity("discord", "x")
        .build()
        .expect_err("dup");
    assert_eq!(invalid_setting(err), "RelayConfigBuilder::identities");
    let err = RelayConfig::builder("https://c.example")
        .timeouts(Timeouts {
            request: Duration::ZERO,
            ..Timeouts::default()
        })
        .build()
        .expect_err("zero");
    assert_eq!(invalid_setting(err), "Timeouts::request");
    let err = RelayConfig::builder("https://c.example")
        .timeouts(Timeouts {
            token_ttl_secs: 0,
            ..Timeouts::default()
        })
        .build()
        .expect_err("zero ttl");
    assert_eq!(invalid_setting(err), "Timeouts::token_ttl_secs");
    let err = RelayConfig::builder("https://c.example")
        .idp(IdpConfig {
            token_url: "https://idp.example/t".to_owned(),
            client_id: " ".to_owned(),
            client_secret: "s".to_owned(),
            scope: None,
        })
        .build()
        .expect_err("no client id");
    assert!(matches!(err, ConfigError::Missing { .. }));
}

#[test]
fn builder_drops_empty_optional_strings() {
    let c = RelayConfig::builder("https://c.example")
        .gateway_id("  ")
        .secret("")
        .endpoint(" ")
        .allow_unauthenticated()
        .build()
        .expect("valid");
    assert_eq!(c.gateway_id, None);
    assert_eq!(c.secret, None);
    assert_eq!(c.endpoint, None);
}

#[test]
fn idle_mode_from_env_and_its_defaults() {
    use relay_core::config::IdleMode;
    for (value, mode) in [
        ("keep", IdleMode::Keep),
        ("Close", IdleMode::Close),
        (" dormant ", IdleMode::Dormant),
    ] {
        let (c, _) = ok(&[URL, ("GATEWAY_RELAY_RS_IDLE_MODE", value)]);
        assert_eq!(c.idle_mode, Some(mode), "{value}");
        assert_eq!(c.effective_idle_mode(), mode, "{value}");
    }
    // Unset: dormant without a wake URL, so a buffer never waits for a wake
    // nobody sends; close (wait for the poke) with one.
    let (c, _) = ok(&[URL]);
    assert_eq!(c.idle_mode, None);
    assert_eq!(c.effective_idle_mode(), IdleMode::Dormant);
    assert_eq!(c.dormant_redial_every(), Duration::from_secs(1));
    let (c, _) = ok(&[URL, ("GATEWAY_RELAY_WAKE_URL", "https://gw.example/wake")]);
    assert_eq!(c.effective_idle_mode(), IdleMode::Close);
    let (c, _) = ok(&[
        URL,
        ("GATEWAY_RELAY_WAKE_URL", "https://gw.example/wake"),
        ("GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS", "5"),
    ]);
    assert_eq!(c.effective_idle_mode(), IdleMode::Dormant);
    assert_eq!(c.dormant_redial_every(), Duration::from_secs(5));
}
