//! Normalising and checking a configuration, for the builder and the
//! loaders alike.

use core::time::Duration;

use super::error::ConfigError;
use super::relay_url::{DialTarget, parse_url};
use super::settings::{Names, Var};
use super::types::{Limits, PlatformIdentity, RelayConfig, Timeouts};

/// Trims and removes one trailing `/` from a relay URL.
pub(super) fn normalize_relay_url(url: &str) -> String {
    let t = url.trim();
    t.strip_suffix('/').unwrap_or(t).to_owned()
}

/// Checks a relay base URL: it must parse into a [`DialTarget`].
pub(super) fn check_relay_url(url: &str) -> Result<(), String> {
    DialTarget::parse(url)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks an `http(s)` URL (parsed as [`DialTarget::parse`] parses the relay
/// URL, with only the HTTP schemes allowed).
pub(super) fn check_http_url(url: &str) -> Result<(), String> {
    parse_url(url, &["https://", "http://"])
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A gateway id and secret are required unless an unauthenticated dial was
/// asked for.
pub(super) fn check_credentials(c: &RelayConfig, names: Names) -> Result<(), ConfigError> {
    check_credentials_named(c, names, names)
}

pub(super) fn check_credentials_named(
    c: &RelayConfig,
    id_names: Names,
    secret_names: Names,
) -> Result<(), ConfigError> {
    if c.allow_unauthenticated {
        return Ok(());
    }
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    if !set(&c.gateway_id) {
        return Err(id_names.missing(Var::Id));
    }
    if !set(&c.secret) {
        return Err(secret_names.missing(Var::Secret));
    }
    Ok(())
}

/// Trims, drops empty, removes every trailing `/`, and parses an optional
/// `http(s)` URL, keeping its parsed (ASCII) form.
pub(super) fn normalize_opt_http_url(
    value: Option<String>,
    key: Var,
    names: Names,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = value else {
        return Ok(None);
    };
    let v = v.trim().trim_end_matches('/');
    if v.is_empty() {
        return Ok(None);
    }
    let parsed =
        parse_url(v, &["https://", "http://"]).map_err(|e| names.invalid(key, v, e.to_string()))?;
    // The parser's serialisation: ASCII (IDNA) host, default port dropped.
    Ok(Some(parsed.url.as_str().trim_end_matches('/').to_owned()))
}

pub(super) fn check_identities(
    identities: &[PlatformIdentity],
    names: Names,
) -> Result<(), ConfigError> {
    let joined = || {
        identities
            .iter()
            .map(|i| i.platform.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (i, id) in identities.iter().enumerate() {
        if id.platform.is_empty() {
            return Err(names.invalid(
                Var::Platforms,
                &joined(),
                "a platform name is empty; give each fronted platform a name such as discord",
            ));
        }
        if identities
            .get(..i)
            .unwrap_or_default()
            .iter()
            .any(|p| p.platform == id.platform)
        {
            return Err(names.invalid(
                Var::Platforms,
                &joined(),
                format!("{:?} is listed twice; list each platform once", id.platform),
            ));
        }
    }
    Ok(())
}

/// One Slack `/hermes` word: `word` (standing for `/word`) or
/// `word=command` (standing for `/command`; a leading `/` is allowed).
pub(super) fn slack_command_entry(item: &str) -> Result<(String, String), String> {
    let (word, command) = item.split_once('=').unwrap_or((item, item));
    let (word, command) = (word.trim(), command.trim().trim_start_matches('/'));
    let plain = |s: &str| !s.is_empty() && !s.chars().any(char::is_whitespace) && !s.contains('/');
    if !plain(word) || !plain(command) {
        return Err(
            "expected word or word=command, each one word without spaces or slashes".to_owned(),
        );
    }
    Ok((word.to_owned(), format!("/{command}")))
}

pub(super) fn check_timeouts(t: &Timeouts, names: Names) -> Result<(), ConfigError> {
    let positive = [
        (Var::HandshakeTimeout, t.handshake),
        (Var::RequestTimeout, t.request),
        (Var::IdleAckTimeout, t.idle_ack),
        (Var::KeepaliveInterval, t.keepalive_interval),
        (Var::PongTimeout, t.pong_timeout),
        (Var::StableAfter, t.stable_after),
        (Var::BackoffInitial, t.backoff_initial),
        (Var::BackoffMax, t.backoff_max),
    ];
    for (key, d) in positive {
        if d.is_zero() {
            return Err(names.invalid(key, "0", "must be greater than zero"));
        }
    }
    if t.dormant_redial.is_some_and(|d| d.is_zero()) {
        return Err(names.invalid(
            Var::DormantRedial,
            "0",
            "must be greater than zero (leave it unset to re-dial only on wake)",
        ));
    }
    if t.redial_hold_max.is_zero() {
        return Err(names.invalid(Var::RedialHoldMax, "0", "must be greater than zero"));
    }
    if t.token_ttl_secs == 0 {
        return Err(names.invalid(
            Var::TokenTtl,
            "0",
            "must be at least 1 second (a zero TTL would mint never-expiring tokens)",
        ));
    }
    if t.backoff_initial > t.backoff_max {
        // Blame the one that was changed: a cap lowered below the default
        // first step is the cap's fault.
        let defaults = Timeouts::default();
        if t.backoff_initial == defaults.backoff_initial && t.backoff_max != defaults.backoff_max {
            return Err(names.invalid(
                Var::BackoffMax,
                &format_secs(t.backoff_max),
                format!(
                    "must not be below the first backoff step ({} s)",
                    format_secs(t.backoff_initial)
                ),
            ));
        }
        return Err(names.invalid(
            Var::BackoffInitial,
            &format_secs(t.backoff_initial),
            format!(
                "must not exceed the backoff cap ({} s)",
                format_secs(t.backoff_max)
            ),
        ));
    }
    Ok(())
}

pub(super) fn check_limits(l: &Limits, names: Names) -> Result<(), ConfigError> {
    if l.max_frame_bytes == 0 {
        return Err(names.invalid(Var::MaxFrameBytes, "0", "must be greater than zero"));
    }
    Ok(())
}

fn format_secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}
