//! Loading a configuration from the environment (the variables are in the
//! [module docs](super)); the `config.yaml` reader shares the loader.

use core::time::Duration;
use std::collections::HashMap;
use std::ffi::OsString;

use super::check::{
    check_credentials_named, check_http_url, check_identities, check_relay_url, check_timeouts,
    normalize_opt_http_url, normalize_relay_url, slack_command_entry,
};
use super::error::{ConfigError, ConfigWarning};
use super::manifest::{parse_manifest, read_manifest_file};
use super::relevance::parse_policy_map;
use super::settings::{Names, Var};
use super::types::{IdleMode, IdpConfig, PlatformIdentity, RelayConfig, RevocationPolicy};

impl RelayConfig {
    /// Reads the configuration from the process environment (see the module
    /// documentation for the variables). Returns warnings for the caller to
    /// log alongside the config.
    pub fn from_env() -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        RelayConfig::from_env_os_map(|name| std::env::var_os(name))
    }

    /// Reads the configuration through `get` returning raw OS strings, as
    /// [`RelayConfig::from_env`] reads the process environment: a value that
    /// is not valid UTF-8 is a [`ConfigError::NotUnicode`] naming the
    /// variable.
    pub fn from_env_os_map(
        get: impl Fn(&str) -> Option<OsString>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        let env = unicode_env(get)?;
        RelayConfig::from_env_map(|name| env.get(name).cloned())
    }

    /// Reads the configuration through `get` (a variable's value, or `None`
    /// when unset), exactly as [`RelayConfig::from_env`] reads the process
    /// environment.
    pub fn from_env_map(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        load(&|key: Var| {
            get(key.env()).map(|v| Found {
                value: Raw::Text(v),
                names: Names::Env,
            })
        })
    }

    /// Reads the configuration from `(name, value)` pairs, as
    /// [`RelayConfig::from_env`] reads the process environment. A later pair
    /// wins over an earlier one with the same name.
    pub fn from_vars<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        RelayConfig::from_env_map(|name| map.get(name).cloned())
    }
}

/// Every variable the loader reads, from `get`, as UTF-8; the first value
/// that is not UTF-8 is an error naming its variable.
pub(super) fn unicode_env(
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<HashMap<&'static str, String>, ConfigError> {
    let mut env = HashMap::new();
    for key in Var::ALL {
        if let Some(value) = get(key.env()) {
            let value = value.into_string().map_err(|_| ConfigError::NotUnicode {
                setting: key.env().to_owned(),
            })?;
            env.insert(key.env(), value);
        }
    }
    Ok(env)
}

/// A raw setting value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Raw {
    Text(String),
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    List(Vec<String>),
    /// A structured value written in the config file itself.
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    Json(serde_json::Value),
}

/// A setting found in some source.
#[derive(Clone, Debug)]
pub(super) struct Found {
    pub(super) value: Raw,
    pub(super) names: Names,
}

/// Looks a setting up in the sources, most important first.
pub(super) type Lookup<'a> = dyn Fn(Var) -> Option<Found> + 'a;

/// The trimmed text of a setting; empty counts as unset. A list where text is
/// expected is an error.
fn text(lookup: &Lookup<'_>, key: Var) -> Result<Option<(String, Names)>, ConfigError> {
    let Some(found) = lookup(key) else {
        return Ok(None);
    };
    match found.value {
        Raw::Text(t) => {
            let t = t.trim();
            Ok((!t.is_empty()).then(|| (t.to_owned(), found.names)))
        }
        Raw::List(items) => Err(found.names.invalid(
            key,
            &items.join(","),
            "expected a single string, not a list",
        )),
        Raw::Json(_) => {
            Err(found
                .names
                .invalid(key, "<mapping>", "expected a single string, not a mapping"))
        }
    }
}

/// A comma list (or a list from the config file): items trimmed, empty items
/// dropped.
fn list(lookup: &Lookup<'_>, key: Var) -> Vec<String> {
    let items: Vec<String> = match lookup(key).map(|f| f.value) {
        None | Some(Raw::Json(_)) => return Vec::new(),
        Some(Raw::Text(t)) => t.split(',').map(str::to_owned).collect(),
        Some(Raw::List(items)) => items,
    };
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Longest display name declared (the connector's own cap).
pub(super) const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// A display name as declared: trimmed, at most 64 characters.
pub(super) fn display_name(name: &str) -> String {
    name.trim()
        .chars()
        .take(MAX_DISPLAY_NAME_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Parses decimal seconds (`30`, `0.5`, at most 3 decimals).
fn parse_secs(s: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a number of seconds such as 30 or 0.5";
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(EXPECTED.to_owned());
    }
    if frac.len() > 3 {
        return Err("at most millisecond precision (3 decimals)".to_owned());
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| format!("{EXPECTED}; this one is too large"))?;
    let frac_ms: u64 = format!("{frac:0<3}").parse().unwrap_or(0);
    whole
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(frac_ms))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{EXPECTED}; this one is too large"))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Applies `GATEWAY_RELAY_BOT_IDS` to the platform list.
fn identities_from(
    platforms: &[String],
    bot_ids: Option<&str>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<PlatformIdentity> {
    let map = match bot_ids.map(serde_json::from_str::<serde_json::Value>) {
        None => None,
        Some(Ok(serde_json::Value::Object(map))) => Some(map),
        Some(Ok(other)) => {
            let kind = match other {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            };
            warnings.push(ConfigWarning::MalformedBotIds {
                detail: format!("it is {kind}"),
            });
            None
        }
        Some(Err(e)) => {
            warnings.push(ConfigWarning::MalformedBotIds {
                detail: format!("not JSON: {e}"),
            });
            None
        }
    };
    platforms
        .iter()
        .map(|platform| {
            let bot_id = match map.as_ref().and_then(|m| m.get(platform)) {
                None => String::new(),
                Some(serde_json::Value::Object(entry)) => match entry.get("botId") {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.trim().to_owned(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    Some(_) => {
                        warnings.push(ConfigWarning::MalformedBotIdEntry {
                            platform: platform.clone(),
                        });
                        String::new()
                    }
                },
                Some(_) => {
                    warnings.push(ConfigWarning::MalformedBotIdEntry {
                        platform: platform.clone(),
                    });
                    String::new()
                }
            };
            PlatformIdentity::new(platform.clone(), bot_id)
        })
        .collect()
}

/// Reads every setting through `lookup`.
pub(super) fn load(lookup: &Lookup<'_>) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
    let mut warnings = Vec::new();
    let mut c = RelayConfig::default();

    let (url, url_names) = text(lookup, Var::Url)?.ok_or_else(|| {
        let names = if lookup(Var::Url).is_some_and(|f| f.names == Names::File) {
            Names::File
        } else {
            Names::Env
        };
        names.missing(Var::Url)
    })?;
    check_relay_url(&url).map_err(|r| url_names.invalid(Var::Url, url.trim(), r))?;
    c.relay_url = normalize_relay_url(&url);

    c.gateway_id = text(lookup, Var::Id)?.map(|(v, _)| v);
    c.secret = text(lookup, Var::Secret)?.map(|(v, _)| v);
    c.delivery_key = text(lookup, Var::DeliveryKey)?.map(|(v, _)| v);
    c.instance_id = text(lookup, Var::InstanceId)?.map(|(v, _)| v);
    c.enroll_token = text(lookup, Var::EnrollToken)?.map(|(v, _)| v);
    if let Some((name, _)) = text(lookup, Var::DisplayName)? {
        let chars = name.chars().count();
        if chars > MAX_DISPLAY_NAME_CHARS {
            warnings.push(ConfigWarning::DisplayNameTruncated { chars });
        }
        c.display_name = Some(display_name(&name));
    }
    if let Some((v, names)) = text(lookup, Var::Policy)? {
        c.relevance = parse_policy_map(&v).map_err(|r| names.invalid(Var::Policy, "<JSON>", r))?;
    }
    for (key, slot) in [
        (Var::Endpoint, &mut c.endpoint),
        (Var::WakeUrl, &mut c.wake_url),
    ] {
        if let Some((v, names)) = text(lookup, key)? {
            *slot = normalize_opt_http_url(Some(v), key, names)?;
        }
    }
    c.route_keys = list(lookup, Var::RouteKeys);

    let platforms = list(lookup, Var::Platforms);
    let bot_ids = text(lookup, Var::BotIds)?.map(|(v, _)| v);
    if platforms.is_empty() {
        if bot_ids.is_some() {
            warnings.push(ConfigWarning::BotIdsWithoutPlatforms);
        }
    } else {
        c.identities = identities_from(&platforms, bot_ids.as_deref(), &mut warnings);
        check_identities(&c.identities, Names::Env)?;
    }

    if let Some((token_url, names)) = text(lookup, Var::IdpTokenUrl)? {
        let token_url = token_url.trim_end_matches('/').to_owned();
        check_http_url(&token_url).map_err(|r| names.invalid(Var::IdpTokenUrl, &token_url, r))?;
        // Neither client id nor secret: an ambient token endpoint; exactly
        // one: a mistyped client-credentials setup, refused.
        let client_id = text(lookup, Var::IdpClientId)?;
        let client_secret = text(lookup, Var::IdpClientSecret)?;
        match (&client_id, &client_secret) {
            (Some(_), None) => return Err(names.missing(Var::IdpClientSecret)),
            (None, Some(_)) => return Err(names.missing(Var::IdpClientId)),
            _ => {}
        }
        c.idp = Some(Box::new(IdpConfig {
            token_url,
            client_id: client_id.map(|(v, _)| v).unwrap_or_default(),
            client_secret: client_secret.map(|(v, _)| v).unwrap_or_default(),
            scope: text(lookup, Var::IdpScope)?.map(|(v, _)| v),
        }));
    }

    let t = &mut c.timeouts;
    for (key, slot) in [
        (Var::HandshakeTimeout, &mut t.handshake),
        (Var::RequestTimeout, &mut t.request),
        (Var::IdleAckTimeout, &mut t.idle_ack),
        (Var::KeepaliveInterval, &mut t.keepalive_interval),
        (Var::PongTimeout, &mut t.pong_timeout),
        (Var::StableAfter, &mut t.stable_after),
        (Var::BackoffInitial, &mut t.backoff_initial),
        (Var::BackoffMax, &mut t.backoff_max),
    ] {
        if let Some((v, names)) = text(lookup, key)? {
            *slot = parse_secs(&v).map_err(|r| names.invalid(key, &v, r))?;
            if slot.is_zero() {
                return Err(names.invalid(key, &v, "must be greater than zero"));
            }
        }
    }
    if let Some((v, names)) = text(lookup, Var::DormantRedial)? {
        let d = parse_secs(&v).map_err(|r| names.invalid(Var::DormantRedial, &v, r))?;
        t.dormant_redial = (!d.is_zero()).then_some(d);
    }
    if let Some((v, names)) = text(lookup, Var::TokenTtl)? {
        t.token_ttl_secs = v.parse().ok().filter(|&n: &u64| n > 0).ok_or_else(|| {
            names.invalid(
                Var::TokenTtl,
                &v,
                "expected a whole number of seconds, at least 1",
            )
        })?;
    }
    if let Some((v, names)) = text(lookup, Var::Revocation)? {
        c.revocation_policy = match v.to_ascii_lowercase().as_str() {
            "confirm-once" | "confirm_once" => RevocationPolicy::ConfirmOnce,
            "immediate" => RevocationPolicy::Immediate,
            _ => {
                return Err(names.invalid(
                    Var::Revocation,
                    &v,
                    "expected confirm-once or immediate",
                ));
            }
        };
    }
    if let Some((v, names)) = text(lookup, Var::MaxFrameBytes)? {
        c.limits.max_frame_bytes = v.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| {
            names.invalid(
                Var::MaxFrameBytes,
                &v,
                "expected a whole number of bytes, at least 1",
            )
        })?;
    }
    if let Some((v, names)) = text(lookup, Var::WriteGuildId)? {
        c.write_guild_id = parse_bool(&v)
            .ok_or_else(|| names.invalid(Var::WriteGuildId, &v, "expected true or false"))?;
    }
    if let Some((v, names)) = text(lookup, Var::IdleMode)? {
        c.idle_mode =
            Some(IdleMode::parse(&v).ok_or_else(|| {
                names.invalid(Var::IdleMode, &v, "expected keep, close or dormant")
            })?);
    }
    if let Some((v, names)) = text(lookup, Var::AllowUnauthenticated)? {
        c.allow_unauthenticated = parse_bool(&v).ok_or_else(|| {
            names.invalid(
                Var::AllowUnauthenticated,
                &v,
                "expected 1, true or yes (or 0, false, no)",
            )
        })?;
    }
    load_parity(lookup, &mut c, &mut warnings)?;
    check_timeouts(&c.timeouts, Names::Env)?;
    let id_names = lookup(Var::Id).map_or(Names::Env, |f| f.names);
    let secret_names = lookup(Var::Secret).map_or(Names::Env, |f| f.names);
    check_credentials_named(&c, id_names, secret_names)?;
    Ok((c, warnings))
}

/// The settings of the drain, the held re-dial, replay dedupe, Slack's
/// `/hermes` words and the command manifest.
fn load_parity(
    lookup: &Lookup<'_>,
    c: &mut RelayConfig,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    if let Some((v, names)) = text(lookup, Var::ShutdownDrain)? {
        c.timeouts.shutdown_drain =
            parse_secs(&v).map_err(|r| names.invalid(Var::ShutdownDrain, &v, r))?;
    }
    if let Some((v, names)) = text(lookup, Var::RedialHoldMax)? {
        let d = parse_secs(&v).map_err(|r| names.invalid(Var::RedialHoldMax, &v, r))?;
        if d.is_zero() {
            return Err(names.invalid(Var::RedialHoldMax, &v, "must be greater than zero"));
        }
        c.timeouts.redial_hold_max = d;
    }
    if let Some((v, names)) = text(lookup, Var::ReplayWindow)? {
        c.limits.replay_window = v.parse().map_err(|_| {
            names.invalid(
                Var::ReplayWindow,
                &v,
                "expected a whole number of messages (0 turns it off)",
            )
        })?;
    }
    if let Some(found) = lookup(Var::SlackCommands) {
        let names = found.names;
        let items = list(lookup, Var::SlackCommands);
        if !items.is_empty() {
            let mut commands = std::collections::BTreeMap::new();
            for item in items {
                let (word, command) = slack_command_entry(&item)
                    .map_err(|r| names.invalid(Var::SlackCommands, &item, r))?;
                commands.insert(word, command);
            }
            c.slack_commands = Some(commands);
        }
    }
    if let Some(found) = lookup(Var::CommandManifest) {
        let source = found.names.name(Var::CommandManifest);
        let value = match found.value {
            Raw::Json(v) => Some(v),
            Raw::Text(path) if !path.trim().is_empty() => {
                Some(read_manifest_file(path.trim(), &source)?)
            }
            Raw::Text(_) => None,
            Raw::List(_) => {
                return Err(found.names.invalid(
                    Var::CommandManifest,
                    "[...]",
                    "expected a file name or a mapping of platform to commands",
                ));
            }
        };
        if let Some(value) = value {
            c.command_manifests = parse_manifest(&value, &source, warnings)?;
            let fronted = c.hello_identities();
            for platform in c.command_manifests.keys() {
                if !fronted.iter().any(|i| &i.platform == platform) {
                    warnings.push(ConfigWarning::ManifestPlatformNotFronted {
                        platform: platform.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}
