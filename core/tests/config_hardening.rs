//! Configuration that must be refused (or normalised) at load time, never at
//! dial time: URL ports and hosts, credentials, and messages that name the
//! setting actually at fault.

use relay_core::config::{ConfigError, ConfigWarning, RelayConfig};

fn load(vars: &[(&str, &str)]) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
    RelayConfig::from_vars(vars.iter().copied())
}

const ID: (&str, &str) = ("GATEWAY_RELAY_ID", "gw-1");
const SECRET: (&str, &str) = ("GATEWAY_RELAY_SECRET", "s3cret");

fn with_creds(url: &str) -> [(&str, &str); 3] {
    [("GATEWAY_RELAY_URL", url), ID, SECRET]
}

fn setting_and_message(err: &ConfigError) -> (String, String) {
    match err {
        ConfigError::Invalid { setting, .. } | ConfigError::Missing { setting, .. } => {
            (setting.clone(), err.to_string())
        }
        other => (String::new(), other.to_string()),
    }
}

#[test]
fn a_port_that_does_not_parse_is_a_configuration_error() {
    for url in [
        "ws://127.0.0.1:99999",
        "ws://127.0.0.1:65536",
        "ws://127.0.0.1:-1",
        "ws://127.0.0.1:8080x",
        "wss://connector.example:99999/relay",
        "https://connector.example:70000",
    ] {
        let err = load(&with_creds(url)).expect_err(url);
        let (setting, message) = setting_and_message(&err);
        assert_eq!(setting, "GATEWAY_RELAY_URL", "{url}: {message}");
        assert!(message.contains("port"), "{url}: {message}");
    }
}

#[test]
fn a_valid_port_is_kept_and_never_replaced() {
    let (c, _) = load(&with_creds("ws://127.0.0.1:65535")).expect("loads");
    assert_eq!(c.dial_url(), "ws://127.0.0.1:65535/relay");
}

#[test]
fn a_non_ascii_host_is_refused_at_load_with_its_idna_form() {
    let err = load(&with_creds("ws://exämple.例え:8080/relay")).expect_err("refused at load");
    let (setting, message) = setting_and_message(&err);
    assert_eq!(setting, "GATEWAY_RELAY_URL", "{message}");
    assert!(message.contains("non-ASCII"), "{message}");
    assert!(message.contains("xn--exmple-cua.xn--r8jz45g"), "{message}");
    // The IDNA form itself loads and is dialled as written.
    let (c, _) = load(&with_creds("ws://xn--exmple-cua.xn--r8jz45g:8080/relay")).expect("loads");
    assert_eq!(c.dial_url(), "ws://xn--exmple-cua.xn--r8jz45g:8080/relay");
}

#[test]
fn a_scheme_alone_says_the_host_is_missing() {
    for url in ["ws://", "wss://", "https://", "http://"] {
        let err = load(&with_creds(url)).expect_err(url);
        let (setting, message) = setting_and_message(&err);
        assert_eq!(setting, "GATEWAY_RELAY_URL", "{url}: {message}");
        assert!(message.contains("no host"), "{url}: {message}");
        assert!(!message.contains(":/\""), "{url}: {message}");
    }
}

#[test]
fn backoff_cap_below_the_default_initial_blames_the_cap() {
    let mut vars = with_creds("https://c.example").to_vec();
    vars.push(("GATEWAY_RELAY_RS_BACKOFF_MAX_SECS", "0.001"));
    let err = load(&vars).expect_err("cap below initial");
    let (setting, message) = setting_and_message(&err);
    assert_eq!(setting, "GATEWAY_RELAY_RS_BACKOFF_MAX_SECS", "{message}");
}

#[test]
fn backoff_initial_above_the_default_cap_blames_the_initial() {
    let mut vars = with_creds("https://c.example").to_vec();
    vars.push(("GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS", "60"));
    let err = load(&vars).expect_err("initial above cap");
    let (setting, _) = setting_and_message(&err);
    assert_eq!(setting, "GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS");
}

#[test]
fn missing_or_empty_credentials_name_the_variable() {
    let url = ("GATEWAY_RELAY_URL", "https://c.example");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[url, ID], "GATEWAY_RELAY_SECRET"),
        (
            &[url, ID, ("GATEWAY_RELAY_SECRET", "  ")],
            "GATEWAY_RELAY_SECRET",
        ),
        (&[url, SECRET], "GATEWAY_RELAY_ID"),
        (&[url, SECRET, ("GATEWAY_RELAY_ID", "")], "GATEWAY_RELAY_ID"),
        (&[url], "GATEWAY_RELAY_ID"),
    ];
    for (vars, var) in cases {
        let err = load(vars).expect_err(var);
        let (setting, message) = setting_and_message(&err);
        assert_eq!(setting, var, "{message}");
        assert!(
            message.contains("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED"),
            "{message}"
        );
    }
}

#[test]
fn an_unauthenticated_dial_must_be_asked_for() {
    let url = ("GATEWAY_RELAY_URL", "https://c.example");
    for yes in ["1", "true", "yes", "TRUE"] {
        let (c, _) = load(&[url, ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", yes)]).expect(yes);
        assert_eq!(c.credentials(), None);
    }
    let err = load(&[url, ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", "0")]).expect_err("0");
    assert_eq!(setting_and_message(&err).0, "GATEWAY_RELAY_ID");
    let err =
        load(&[url, ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", "perhaps")]).expect_err("perhaps");
    assert_eq!(
        setting_and_message(&err).0,
        "GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED"
    );
}

#[test]
fn the_builder_refuses_a_config_without_credentials() {
    let err = RelayConfig::builder("https://c.example")
        .build()
        .expect_err("no credentials");
    assert_eq!(
        setting_and_message(&err).0,
        "RelayConfigBuilder::gateway_id"
    );
    let err = RelayConfig::builder("https://c.example")
        .gateway_id("gw")
        .secret(" ")
        .build()
        .expect_err("empty secret");
    assert_eq!(setting_and_message(&err).0, "RelayConfigBuilder::secret");
    let c = RelayConfig::builder("https://c.example")
        .gateway_id("gw")
        .secret("s")
        .build()
        .expect("credentials");
    assert_eq!(c.credentials(), Some(("gw", "s")));
}

#[test]
fn the_dial_target_is_typed_and_used_as_is() {
    use relay_core::config::{DialScheme, DialTarget};
    let (c, _) = load(&with_creds("https://Connector.Example:8443/api/")).expect("loads");
    let t = c.dial_target().expect("parsed");
    assert_eq!(t.scheme(), DialScheme::Wss);
    assert_eq!(t.host(), "connector.example");
    assert_eq!(t.port(), 8443);
    assert_eq!(t.path_and_query(), "/api/relay");
    assert_eq!(t.url(), "wss://connector.example:8443/api/relay");
    assert_eq!(t.http_base(), "https://connector.example:8443/api");
    assert_eq!(
        c.provision_url(),
        "https://connector.example:8443/api/relay/provision"
    );

    let t = DialTarget::parse("http://[::1]/relay/").expect("v6");
    assert_eq!(
        (t.scheme(), t.host(), t.port()),
        (DialScheme::Ws, "::1", 80)
    );
    assert_eq!(t.url(), "ws://[::1]/relay");
    let t = DialTarget::parse("wss://h.example").expect("default port");
    assert_eq!(t.port(), 443);
    let t = DialTarget::parse("ws://h.example:80/x?a=1").expect("query");
    assert_eq!((t.port(), t.path_and_query()), (80, "/x/relay?a=1"));
    assert_eq!(t.url(), "ws://h.example/x/relay?a=1");
    for bad in [
        "ws://user:pw@h.example",
        "ws://h.example/#frag",
        "ws://:80",
        "ws://a b",
    ] {
        assert!(DialTarget::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_wake_url_and_endpoint_are_parsed_too() {
    let mut vars = with_creds("https://c.example").to_vec();
    vars.push(("GATEWAY_RELAY_WAKE_URL", "https://GW.Example:8443/wake/"));
    let (c, _) = load(&vars).expect("loads");
    assert_eq!(c.wake_url.as_deref(), Some("https://gw.example:8443/wake"));
    let mut vars = with_creds("https://c.example").to_vec();
    vars.push(("GATEWAY_RELAY_WAKE_URL", "https://gw.exämple:8443/wake/"));
    let (setting, message) = setting_and_message(&load(&vars).expect_err("non-ASCII"));
    assert_eq!(setting, "GATEWAY_RELAY_WAKE_URL");
    assert!(message.contains("xn--exmple-cua"), "{message}");
    let mut vars = with_creds("https://c.example").to_vec();
    vars.push(("GATEWAY_RELAY_WAKE_URL", "https://gw.example:99999/wake"));
    let (setting, _) = setting_and_message(&load(&vars).expect_err("bad port"));
    assert_eq!(setting, "GATEWAY_RELAY_WAKE_URL");
}
