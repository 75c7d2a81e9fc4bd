//! `Config`: the gateway's relay configuration, validated by the core.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use relay_core::config::{RelayConfig, RevocationPolicy, Timeouts};
use relay_core::wire::ManifestCommand;
use serde_json::Value;

use crate::errors::ConfigError;
use crate::json::from_py;

fn secs(name: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_millis(
            (s * 1000.0).round().max(1.0) as u64,
        ))),
        Some(s) => Err(ConfigError::new_err(format!(
            "{name} must be a positive number of seconds, not {s}"
        ))),
    }
}

/// One platform's command manifest: a list of `{"name", "description",
/// "options"?}` dicts, the options passed through verbatim (the core checks
/// the rules when the configuration is built).
fn manifest_commands(
    platform: &str,
    commands: &Bound<'_, PyAny>,
) -> PyResult<Vec<ManifestCommand>> {
    let bad =
        |what: String| ConfigError::new_err(format!("command_manifests[{platform:?}]: {what}"));
    let mut out = Vec::new();
    for (i, item) in commands.try_iter()?.enumerate() {
        let Value::Object(mut m) = from_py(&item?)? else {
            return Err(bad(format!("entry {i} is not a dict")));
        };
        let mut text = |k: &str| match m.remove(k) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(bad(format!("entry {i} has no string {k:?}"))),
        };
        let name = text("name")?;
        let description = text("description")?;
        let options = m.remove("options").filter(|v| !v.is_null());
        if let Some(k) = m.keys().next() {
            return Err(bad(format!(
                "entry {i} ({name:?}) has an unknown key {k:?}"
            )));
        }
        out.push(ManifestCommand {
            name,
            description,
            options,
        });
    }
    Ok(out)
}

/// The gateway's relay configuration (validated by the core).
#[pyclass(module = "hermes_relay._core", frozen)]
#[derive(Clone)]
pub struct Config {
    pub(crate) inner: RelayConfig,
}

#[pymethods]
impl Config {
    /// `identities` is a list of `(platform, bot_id)`; timers are in seconds.
    /// Without `gateway_id` and `secret` the build fails unless
    /// `allow_unauthenticated=True` asks for a dial without credentials.
    #[new]
    #[pyo3(signature = (url, identities, *, gateway_id=None, secret=None, instance_id=None,
        handshake_timeout_s=None, request_timeout_s=None, idle_ack_timeout_s=None,
        keepalive_interval_s=None, pong_timeout_s=None, backoff_initial_s=None,
        backoff_max_s=None, stable_after_s=None, dormant_redial_s=None, revocation=None,
        max_frame_bytes=None, allow_unauthenticated=false, shutdown_drain_s=None,
        redial_hold_max_s=None, replay_window=None, command_manifests=None, slack_commands=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: String,
        identities: Vec<(String, String)>,
        gateway_id: Option<String>,
        secret: Option<String>,
        instance_id: Option<String>,
        handshake_timeout_s: Option<f64>,
        request_timeout_s: Option<f64>,
        idle_ack_timeout_s: Option<f64>,
        keepalive_interval_s: Option<f64>,
        pong_timeout_s: Option<f64>,
        backoff_initial_s: Option<f64>,
        backoff_max_s: Option<f64>,
        stable_after_s: Option<f64>,
        dormant_redial_s: Option<f64>,
        revocation: Option<String>,
        max_frame_bytes: Option<usize>,
        allow_unauthenticated: bool,
        shutdown_drain_s: Option<f64>,
        redial_hold_max_s: Option<f64>,
        replay_window: Option<usize>,
        command_manifests: Option<&Bound<'_, PyDict>>,
        slack_commands: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut t = Timeouts::default();
        for (name, v, slot) in [
            ("handshake_timeout_s", handshake_timeout_s, &mut t.handshake),
            ("request_timeout_s", request_timeout_s, &mut t.request),
            ("idle_ack_timeout_s", idle_ack_timeout_s, &mut t.idle_ack),
            (
                "keepalive_interval_s",
                keepalive_interval_s,
                &mut t.keepalive_interval,
            ),
            ("pong_timeout_s", pong_timeout_s, &mut t.pong_timeout),
            (
                "backoff_initial_s",
                backoff_initial_s,
                &mut t.backoff_initial,
            ),
            ("backoff_max_s", backoff_max_s, &mut t.backoff_max),
            ("stable_after_s", stable_after_s, &mut t.stable_after),
            (
                "redial_hold_max_s",
                redial_hold_max_s,
                &mut t.redial_hold_max,
            ),
        ] {
            if let Some(d) = secs(name, v)? {
                *slot = d;
            }
        }
        t.dormant_redial = secs("dormant_redial_s", dormant_redial_s)?;
        if let Some(s) = shutdown_drain_s {
            // Zero is allowed: close at once.
            t.shutdown_drain = if s == 0.0 {
                Duration::ZERO
            } else {
                secs("shutdown_drain_s", Some(s))?.unwrap_or_default()
            };
        }
        let mut b = RelayConfig::builder(url).timeouts(t);
        if let Some(manifests) = command_manifests {
            for (platform, commands) in manifests.iter() {
                let platform: String = platform.extract()?;
                b = b.command_manifest(platform.clone(), manifest_commands(&platform, &commands)?);
            }
        }
        if let Some(words) = slack_commands {
            let pairs: Vec<(String, String)> = words
                .iter()
                .map(|(w, c)| Ok((w.extract::<String>()?, c.extract::<String>()?)))
                .collect::<PyResult<_>>()?;
            b = b.slack_commands(pairs);
        }
        for (platform, bot_id) in identities {
            b = b.identity(platform, bot_id);
        }
        if let Some(id) = gateway_id {
            b = b.gateway_id(id);
        }
        if let Some(s) = secret {
            b = b.secret(s);
        }
        if let Some(i) = instance_id {
            b = b.instance_id(i);
        }
        if allow_unauthenticated {
            b = b.allow_unauthenticated();
        }
        if let Some(r) = revocation {
            b = b.revocation_policy(match r.to_ascii_lowercase().replace('_', "-").as_str() {
                "confirm-once" => RevocationPolicy::ConfirmOnce,
                "immediate" => RevocationPolicy::Immediate,
                other => {
                    return Err(ConfigError::new_err(format!(
                        "revocation must be confirm-once or immediate, not {other:?}"
                    )));
                }
            });
        }
        let mut c = b.build().map_err(|e| ConfigError::new_err(e.to_string()))?;
        if let Some(m) = max_frame_bytes {
            if m == 0 {
                return Err(ConfigError::new_err("max_frame_bytes must be at least 1"));
            }
            c.limits.max_frame_bytes = m;
        }
        if let Some(w) = replay_window {
            c.limits.replay_window = w;
        }
        Ok(Config { inner: c })
    }

    /// Reads the `GATEWAY_RELAY_*` environment variables (as the core does).
    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        let (inner, _warnings) =
            RelayConfig::from_env().map_err(|e| ConfigError::new_err(e.to_string()))?;
        Ok(Config { inner })
    }

    /// The dial URL (`ws(s)://…/relay`).
    #[getter]
    fn dial_url(&self) -> String {
        self.inner.dial_url()
    }

    /// The configured `(platform, bot_id)` identities.
    #[getter]
    fn identities(&self) -> Vec<(String, String)> {
        self.inner
            .identities
            .iter()
            .map(|i| (i.platform.clone(), i.bot_id.clone()))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(url={:?}, identities={:?}, gateway_id={:?})",
            self.inner.relay_url,
            self.identities(),
            self.inner.gateway_id
        )
    }
}
