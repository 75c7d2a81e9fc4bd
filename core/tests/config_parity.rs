//! The settings of the drain, the held re-dial, replay dedupe, Slack's
//! `/hermes` words and the command manifest: environment, config file and
//! builder, and the manifest in the hello.

use std::ffi::OsString;
use std::time::Duration;

#[path = "connection_harness.rs"]
mod harness;

use relay_core::config::manifest::MAX_MANIFEST_BYTES;
use relay_core::config::{ConfigError, ConfigWarning, IdleMode, RelayConfig};
use relay_core::wire::ManifestCommand;
use serde_json::json;

fn load(vars: &[(&str, &str)]) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
    let base = [
        ("GATEWAY_RELAY_URL", "https://connector.example"),
        ("GATEWAY_RELAY_ID", "gw-test"),
        ("GATEWAY_RELAY_SECRET", "test-secret"),
        ("GATEWAY_RELAY_PLATFORMS", "discord,slack"),
    ];
    RelayConfig::from_vars(base.into_iter().chain(vars.iter().copied()))
}

/// A file of `content` in the temporary directory, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, content: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("relay-{}-{name}", std::process::id()));
        std::fs::write(&path, content).expect("temp file written");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn defaults() {
    let (c, w) = load(&[]).expect("loads");
    assert!(w.is_empty());
    assert_eq!(c.timeouts.shutdown_drain, Duration::from_secs(5));
    assert_eq!(c.timeouts.redial_hold_max, Duration::from_secs(60));
    assert_eq!(c.limits.replay_window, 512);
    assert!(c.command_manifests.is_empty());
    let slack = c.slack_commands();
    assert_eq!(slack.get("compact").map(String::as_str), Some("/compress"));
    assert_eq!(
        slack.get("reload-mcp").map(String::as_str),
        Some("/reload-mcp")
    );
    assert_eq!(slack.len(), 29);
}

#[test]
fn environment_settings() {
    let (c, _) = load(&[
        ("GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS", "1.5"),
        ("GATEWAY_RELAY_RS_REDIAL_HOLD_MAX_SECS", "90"),
        ("GATEWAY_RELAY_RS_REPLAY_WINDOW", "0"),
        (
            "GATEWAY_RELAY_RS_SLACK_COMMANDS",
            " new , go=/start,x=stop ",
        ),
    ])
    .expect("loads");
    assert_eq!(c.timeouts.shutdown_drain, Duration::from_millis(1_500));
    assert_eq!(c.timeouts.redial_hold_max, Duration::from_secs(90));
    assert_eq!(c.limits.replay_window, 0);
    let slack = c.slack_commands();
    assert_eq!(slack.len(), 3);
    assert_eq!(slack["go"], "/start");
    assert_eq!(slack["x"], "/stop");
    assert_eq!(slack["new"], "/new");
    let (c, _) = load(&[("GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS", "0")]).expect("zero drain");
    assert_eq!(c.timeouts.shutdown_drain, Duration::ZERO);
}

#[test]
fn bad_environment_values_name_their_variable() {
    for (var, value) in [
        ("GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS", "soon"),
        ("GATEWAY_RELAY_RS_REDIAL_HOLD_MAX_SECS", "0"),
        ("GATEWAY_RELAY_RS_REPLAY_WINDOW", "-1"),
        ("GATEWAY_RELAY_RS_SLACK_COMMANDS", "two words"),
        ("GATEWAY_RELAY_RS_SLACK_COMMANDS", "a=b/c"),
    ] {
        match load(&[(var, value)]) {
            Err(ConfigError::Invalid { setting, .. }) => assert_eq!(setting, var),
            other => panic!("{var}={value}: {other:?}"),
        }
    }
}

/// The process environment is read through the same list of settings as
/// the map: the idle mode and every new setting are among them.
#[test]
fn the_os_environment_reads_every_setting() {
    let vars = [
        ("GATEWAY_RELAY_URL", "https://c.example"),
        ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", "1"),
        ("GATEWAY_RELAY_RS_IDLE_MODE", "keep"),
        ("GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS", "2"),
        ("GATEWAY_RELAY_RS_REPLAY_WINDOW", "7"),
    ];
    let (c, _) = RelayConfig::from_env_os_map(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    })
    .expect("loads");
    assert_eq!(c.idle_mode, Some(IdleMode::Keep));
    assert_eq!(c.timeouts.shutdown_drain, Duration::from_secs(2));
    assert_eq!(c.limits.replay_window, 7);
}

#[test]
fn a_manifest_file_is_read_and_bad_entries_are_dropped_with_a_warning() {
    let manifest = json!({
        "discord": [
            {"name": "new", "description": "Start a new conversation"},
            {"name": "model", "description": "Show or change the model",
             "options": [{"type": 3, "name": "name", "description": "Model", "required": false}]},
            {"name": "Bad Name", "description": "x"},
            {"name": "new", "description": "twice"},
            {"name": "empty", "description": ""},
            {"name": "opts", "description": "x", "options": {"not": "a list"}},
            "not an object"
        ],
        "telegram": [{"name": "x", "description": "y"}]
    });
    let file = TempFile::new("manifest.json", manifest.to_string().as_bytes());
    let (c, w) = load(&[("GATEWAY_RELAY_RS_COMMAND_MANIFEST_FILE", file.path())]).expect("loads");
    let names: Vec<&str> = c.command_manifests["discord"]
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["new", "model"]);
    assert_eq!(
        c.command_manifests["discord"][1].options,
        Some(json!([{"type": 3, "name": "name", "description": "Model", "required": false}])),
        "options verbatim"
    );
    let dropped = w
        .iter()
        .filter(|w| matches!(w, ConfigWarning::ManifestEntryDropped { platform, .. } if platform == "discord"))
        .count();
    assert_eq!(dropped, 5, "{w:?}");
    assert!(w.contains(&ConfigWarning::ManifestPlatformNotFronted {
        platform: "telegram".into()
    }));
}

#[test]
fn a_manifest_file_that_cannot_be_used_is_an_error() {
    let var = "GATEWAY_RELAY_RS_COMMAND_MANIFEST_FILE";
    let not_json = TempFile::new("not-json.json", b"{nope");
    let not_object = TempFile::new("list.json", b"[{\"name\": \"x\"}]");
    let big = TempFile::new("big.json", &vec![b' '; MAX_MANIFEST_BYTES as usize + 1]);
    for (path, expect) in [
        (not_json.path(), "is not JSON"),
        (not_object.path(), "expected an object"),
        (big.path(), "holds more than"),
        ("/nonexistent/relay-manifest.json", "cannot be read"),
    ] {
        match load(&[(var, path)]) {
            Err(ConfigError::Invalid {
                setting, reason, ..
            }) => {
                assert_eq!(setting, var);
                assert!(reason.contains(expect), "{path}: {reason}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[cfg(feature = "yaml")]
#[test]
fn config_file_twins() {
    let yaml = r#"
gateway:
  relay_url: https://c.example
  relay_id: gw
  relay_secret: s
  relay_shutdown_drain_secs: 3
  relay_redial_hold_max_secs: 30
  relay_replay_window: 64
  relay_slack_commands: [new, "go=start"]
  relay_command_manifest:
    relay:
      - name: new
        description: Start
      - name: BAD
        description: x
"#;
    let (c, w) = RelayConfig::from_yaml_str(yaml).expect("loads");
    assert_eq!(c.timeouts.shutdown_drain, Duration::from_secs(3));
    assert_eq!(c.timeouts.redial_hold_max, Duration::from_secs(30));
    assert_eq!(c.limits.replay_window, 64);
    assert_eq!(c.slack_commands().len(), 2);
    assert_eq!(c.command_manifests["relay"].len(), 1);
    assert_eq!(w.len(), 1, "{w:?}");
}

#[test]
fn the_builder_checks_manifests_and_slack_words() {
    let base = || {
        RelayConfig::builder("https://c.example")
            .identity("discord", "app-1")
            .allow_unauthenticated()
    };
    let cmd = |name: &str, description: &str| ManifestCommand {
        name: name.into(),
        description: description.into(),
        options: None,
    };
    let c = base()
        .command_manifest("discord", [cmd("new", "Start")])
        .slack_commands([("go", "start")])
        .shutdown_drain(Duration::from_millis(250))
        .build()
        .expect("valid");
    assert_eq!(c.slack_commands()["go"], "/start");
    assert_eq!(c.timeouts.shutdown_drain, Duration::from_millis(250));
    for bad in [
        base().command_manifest("discord", [cmd("Nope", "x")]),
        base().command_manifest("discord", [cmd("a", "x"), cmd("a", "y")]),
        base().command_manifest("discord", [cmd("a", &"d".repeat(101))]),
        base().slack_commands([("two words", "x")]),
    ] {
        assert!(
            matches!(bad.build(), Err(ConfigError::Invalid { .. })),
            "refused"
        );
    }
}

#[test]
fn the_manifest_rides_in_its_platforms_hello_after_bot_id() {
    use harness::*;
    let options = json!([{"type": 3, "name": "name", "description": "Model", "required": false}]);
    let config = RelayConfig::builder("https://connector.example")
        .identity("telegram", "bot-9")
        .identity("discord", "app-1")
        .gateway_id(GATEWAY)
        .secret(SECRET)
        .command_manifest(
            "discord",
            [
                ManifestCommand {
                    name: "new".into(),
                    description: "Start".into(),
                    options: None,
                },
                ManifestCommand {
                    name: "model".into(),
                    description: "Model".into(),
                    options: Some(options),
                },
            ],
        )
        .build()
        .expect("valid");
    let (mut h, _) = H::new(config, 1);
    let hellos = transmits(&h.open());
    assert_eq!(
        hellos,
        vec![
            "{\"type\":\"hello\",\"platform\":\"telegram\",\"botId\":\"bot-9\"}\n".to_owned(),
            "{\"type\":\"hello\",\"platform\":\"discord\",\"botId\":\"app-1\",\"command_manifest\":[{\"name\":\"new\",\"description\":\"Start\"},{\"name\":\"model\",\"description\":\"Model\",\"options\":[{\"type\":3,\"name\":\"name\",\"description\":\"Model\",\"required\":false}]}]}\n".to_owned(),
        ]
    );
}
