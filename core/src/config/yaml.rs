//! Reading the `gateway.*` keys of a `config.yaml` (cargo feature `yaml`).

use std::collections::HashMap;

use super::env::{Found, Raw, load, unicode_env};
use super::error::{ConfigError, ConfigWarning};
use super::settings::{Names, Var};
use super::types::RelayConfig;

impl Var {
    /// Every key that has a `config.yaml` twin.
    const WITH_YAML_TWIN: [Var; 16] = [
        Var::Url,
        Var::Id,
        Var::Secret,
        Var::Endpoint,
        Var::RouteKeys,
        Var::InstanceId,
        Var::WakeUrl,
        Var::IdpTokenUrl,
        Var::IdpClientId,
        Var::IdpClientSecret,
        Var::IdpScope,
        Var::ShutdownDrain,
        Var::RedialHoldMax,
        Var::ReplayWindow,
        Var::SlackCommands,
        Var::CommandManifest,
    ];
}

/// Reading the `gateway.*` keys of a `config.yaml` (cargo feature `yaml`).
///
/// The file's twins of the environment variables are `gateway.relay_url`,
/// `relay_id`, `relay_secret`, `relay_endpoint`, `relay_route_keys` (a list,
/// or a comma string), `relay_instance_id`, `relay_wake_url` and
/// `gateway.idp.{token_url, client_id, client_secret, scope}`, and relay-rs's
/// `relay_shutdown_drain_secs`, `relay_redial_hold_max_secs`,
/// `relay_replay_window`, `relay_slack_commands` (a list, or a comma
/// string) and `relay_command_manifest` (the manifest itself, a mapping of
/// platform to commands, or the name of a JSON file holding it). Every other
/// key of the file is ignored. A variable set in the environment wins over its
/// twin in the file; variables without a twin come from the environment only.
impl RelayConfig {
    /// Reads the configuration from a `config.yaml` text alone (no
    /// environment).
    pub fn from_yaml_str(yaml: &str) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        RelayConfig::from_env_map_and_yaml(yaml, |_| None)
    }

    /// Reads the configuration from the process environment over a
    /// `config.yaml` text.
    pub fn from_env_and_yaml(yaml: &str) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        let env = unicode_env(|name| std::env::var_os(name))?;
        RelayConfig::from_env_map_and_yaml(yaml, |name| env.get(name).cloned())
    }

    /// Reads the configuration through `get` (as
    /// [`RelayConfig::from_env_map`]) over a `config.yaml` text.
    pub fn from_env_map_and_yaml(
        yaml: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        let file = yaml_settings(yaml)?;
        load(&|key: Var| {
            let from_env = get(key.env()).filter(|v| !v.trim().is_empty());
            match from_env {
                Some(v) => Some(Found {
                    value: Raw::Text(v),
                    names: Names::Env,
                }),
                None => file.get(&key).map(|raw| Found {
                    value: raw.clone(),
                    names: Names::File,
                }),
            }
        })
    }
}

/// The `gateway.*` settings of a YAML document.
fn yaml_settings(yaml: &str) -> Result<HashMap<Var, Raw>, ConfigError> {
    use serde_norway::Value;

    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    let doc: Value = serde_norway::from_str(yaml).map_err(|e| ConfigError::File {
        detail: e.to_string(),
    })?;
    let mut out = HashMap::new();
    let gateway = match &doc {
        Value::Null => return Ok(out),
        Value::Mapping(m) => match m.get("gateway") {
            None | Some(Value::Null) => return Ok(out),
            Some(g @ Value::Mapping(_)) => g,
            Some(_) => {
                return Err(ConfigError::File {
                    detail: "`gateway` must be a mapping of relay settings".to_owned(),
                });
            }
        },
        _ => {
            return Err(ConfigError::File {
                detail: "the document must be a mapping with a `gateway` section".to_owned(),
            });
        }
    };
    for key in Var::WITH_YAML_TWIN {
        let Some(path) = key.yaml_path() else {
            continue;
        };
        let mut node = Some(gateway);
        for part in path {
            node = node.and_then(|n| n.get(part));
        }
        let raw = match node {
            None | Some(Value::Null) => continue,
            Some(v @ Value::Mapping(_)) if key == Var::CommandManifest => {
                Raw::Json(serde_json::to_value(v).map_err(|e| {
                    Names::File.invalid(key, "<mapping>", format!("not a manifest: {e}"))
                })?)
            }
            Some(Value::Sequence(items)) if matches!(key, Var::RouteKeys | Var::SlackCommands) => {
                let items: Option<Vec<String>> = items.iter().map(scalar).collect();
                Raw::List(items.ok_or_else(|| {
                    Names::File.invalid(key, "[...]", "expected a list of strings")
                })?)
            }
            Some(v) => {
                Raw::Text(scalar(v).ok_or_else(|| {
                    Names::File.invalid(key, "<not a scalar>", "expected a string")
                })?)
            }
        };
        out.insert(key, raw);
    }
    Ok(out)
}
