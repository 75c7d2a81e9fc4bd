//! A platform's relevance settings (the knobs the reference reads from a
//! platform's configuration block), declared to the connector as its
//! relevance policy.

use std::collections::BTreeMap;

use serde_json::Value;

/// One platform's relevance settings.
///
/// `require_mention` distinguishes *unset* (`None`: the connector's default
/// applies, nothing is declared for it) from an explicit `false` (declared:
/// every message is relevant).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelevanceSettings {
    /// Only messages that address the bot are relevant (`require_mention`).
    pub require_mention: Option<bool>,
    /// Scopes (channels) where every message is relevant
    /// (`free_response_channels`).
    pub free_response_channels: Vec<String>,
    /// Which bots' messages are relevant (`allow_bots`, the reference's
    /// `{PLATFORM}_ALLOW_BOTS`): `mentions` or `all` admit other bots.
    pub allow_bots: Option<String>,
}

impl RelevanceSettings {
    /// Whether `allow_bots` admits other bots (`mentions` or `all`, any
    /// case).
    pub fn allows_other_bots(&self) -> bool {
        self.allow_bots
            .as_deref()
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "mentions" | "all"))
    }
}

/// Truthiness of a config value: booleans, numbers (non-zero), and the
/// strings `true/yes/on/1` (any case); everything else is false.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "1"
        ),
        _ => false,
    }
}

/// A list of scopes: a list of strings / numbers, or a comma string; items
/// trimmed, empty ones dropped.
pub(crate) fn scopes(v: &Value) -> Vec<String> {
    let items: Vec<String> = match v {
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads `GATEWAY_RELAY_RS_POLICY`: a JSON object of platform →
/// `{"require_mention"?, "free_response_channels"?, "allow_bots"?}`. Any
/// other shape, and any other key, is an error saying what was expected.
pub(crate) fn parse_policy_map(text: &str) -> Result<BTreeMap<String, RelevanceSettings>, String> {
    const SHAPE: &str = "expected a JSON object of platform -> {\"require_mention\": bool, \"free_response_channels\": [..] or \"a,b\", \"allow_bots\": \"mentions\"|\"all\"|\"none\"}";
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e}); {SHAPE}"))?;
    let Value::Object(platforms) = value else {
        return Err(SHAPE.to_owned());
    };
    let mut out = BTreeMap::new();
    for (platform, block) in platforms {
        let platform = platform.trim().to_owned();
        let Value::Object(block) = block else {
            return Err(format!(
                "the entry for {platform:?} is not an object; {SHAPE}"
            ));
        };
        let mut settings = RelevanceSettings::default();
        for (key, v) in &block {
            match key.as_str() {
                "require_mention" => {
                    settings.require_mention = (!v.is_null()).then(|| truthy(v));
                }
                "free_response_channels" => settings.free_response_channels = scopes(v),
                "allow_bots" => {
                    settings.allow_bots = match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.trim().to_owned()),
                        _ => {
                            return Err(format!(
                                "allow_bots of {platform:?} is not a string; {SHAPE}"
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!("unknown key {other:?} for {platform:?}; {SHAPE}"));
                }
            }
        }
        if !platform.is_empty() {
            out.insert(platform, settings);
        }
    }
    Ok(out)
}
