//! [`RelayConfigBuilder`]: a configuration built in code, normalised and
//! checked.

use super::check::{
    check_credentials, check_http_url, check_identities, check_limits, check_relay_url,
    check_timeouts, normalize_opt_http_url, normalize_relay_url, slack_command_entry,
};
use super::env::display_name;
use super::error::ConfigError;
use super::manifest::check_manifest;
use super::relevance::RelevanceSettings;
use super::settings::{Names, Var};
use super::types::{
    IdleMode, IdpConfig, Limits, PlatformIdentity, RelayConfig, RevocationPolicy, Timeouts,
};
use crate::wire::ManifestCommand;

/// Builds a [`RelayConfig`] and checks it ([`RelayConfig::builder`]).
#[derive(Clone, Debug)]
#[must_use]
pub struct RelayConfigBuilder {
    config: RelayConfig,
}

impl RelayConfigBuilder {
    /// Appends one fronted identity (hello order is call order).
    pub fn identity(mut self, platform: impl Into<String>, bot_id: impl Into<String>) -> Self {
        self.config
            .identities
            .push(PlatformIdentity::new(platform, bot_id));
        self
    }

    /// Replaces the fronted identities.
    pub fn identities(mut self, identities: impl IntoIterator<Item = PlatformIdentity>) -> Self {
        self.config.identities = identities.into_iter().collect();
        self
    }

    /// Sets the gateway id.
    pub fn gateway_id(mut self, id: impl Into<String>) -> Self {
        self.config.gateway_id = Some(id.into());
        self
    }

    /// Sets the per-gateway secret.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.config.secret = Some(secret.into());
        self
    }

    /// Sets the delivery key.
    pub fn delivery_key(mut self, key: impl Into<String>) -> Self {
        self.config.delivery_key = Some(key.into());
        self
    }

    /// Sets the legacy inbound endpoint (trailing `/` removed on build).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint = Some(url.into());
        self
    }

    /// Sets the route keys (items trimmed, empty ones dropped on build).
    pub fn route_keys<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.config.route_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the instance id.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.config.instance_id = Some(id.into());
        self
    }

    /// Sets the wake URL (trailing `/` removed on build).
    pub fn wake_url(mut self, url: impl Into<String>) -> Self {
        self.config.wake_url = Some(url.into());
        self
    }

    /// Sets the name provisioning declares (`displayName`; trimmed and cut
    /// to 64 characters on build).
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.config.display_name = Some(name.into());
        self
    }

    /// Sets one platform's relevance settings (declared as its relevance
    /// policy).
    pub fn relevance(mut self, platform: impl Into<String>, settings: RelevanceSettings) -> Self {
        self.config.relevance.insert(platform.into(), settings);
        self
    }

    /// Sets the identity provider.
    pub fn idp(mut self, idp: IdpConfig) -> Self {
        self.config.idp = Some(Box::new(idp));
        self
    }

    /// Sets the enrollment token.
    pub fn enroll_token(mut self, token: impl Into<String>) -> Self {
        self.config.enroll_token = Some(token.into());
        self
    }

    /// Replaces the timers.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }

    /// Replaces the memory bounds.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sets what a 4401 after a handshake means.
    pub fn revocation_policy(mut self, policy: RevocationPolicy) -> Self {
        self.config.revocation_policy = policy;
        self
    }

    /// Sets whether the learned scope is also written as `metadata.guild_id`.
    pub fn write_guild_id(mut self, on: bool) -> Self {
        self.config.write_guild_id = on;
        self
    }

    /// Sets what `go_idle` does after the ack (see [`IdleMode`]).
    pub fn idle_mode(mut self, mode: IdleMode) -> Self {
        self.config.idle_mode = Some(mode);
        self
    }

    /// Sets how long a shutdown waits for the results of requests already
    /// written ([`Timeouts::shutdown_drain`]; zero closes at once).
    pub fn shutdown_drain(mut self, drain: core::time::Duration) -> Self {
        self.config.timeouts.shutdown_drain = drain;
        self
    }

    /// Declares `commands` in the `hello` of `platform` (`command_manifest`;
    /// see [`config::manifest`](super::manifest) for the rules, checked on
    /// build). Replaces an earlier manifest of the platform.
    pub fn command_manifest(
        mut self,
        platform: impl Into<String>,
        commands: impl IntoIterator<Item = ManifestCommand>,
    ) -> Self {
        self.config
            .command_manifests
            .insert(platform.into(), commands.into_iter().collect());
        self
    }

    /// Replaces the words after Slack's `/hermes` and the commands they
    /// stand for: `(word, command)` pairs, the command with or without its
    /// leading `/` (see [`RelayConfig::slack_commands`]).
    pub fn slack_commands<W: Into<String>, C: Into<String>>(
        mut self,
        commands: impl IntoIterator<Item = (W, C)>,
    ) -> Self {
        self.config.slack_commands = Some(
            commands
                .into_iter()
                .map(|(w, c)| (w.into(), c.into()))
                .collect(),
        );
        self
    }

    /// Allows a config without a gateway id or secret: the link then dials
    /// without `Authorization` (for a connector with authentication off).
    /// Without this, [`RelayConfigBuilder::build`] refuses such a config.
    pub fn allow_unauthenticated(mut self) -> Self {
        self.config.allow_unauthenticated = true;
        self
    }

    /// Normalizes and checks the configuration.
    ///
    /// The relay URL must be an `http`, `https`, `ws` or `wss` URL; the
    /// endpoint, wake URL and identity provider URL must be `http(s)`;
    /// platforms must be non-empty and distinct; timers must be positive and
    /// `backoff_initial <= backoff_max`; limits must be positive; every
    /// command manifest must follow [`config::manifest`](super::manifest)'s
    /// rules; Slack words and commands are single words. Empty optional
    /// strings count as unset. The gateway id and secret are
    /// required unless [`RelayConfigBuilder::allow_unauthenticated`] was
    /// called.
    pub fn build(self) -> Result<RelayConfig, ConfigError> {
        let names = Names::Builder;
        let mut c = self.config;
        check_relay_url(&c.relay_url)
            .map_err(|r| names.invalid(Var::Url, c.relay_url.trim(), r))?;
        c.relay_url = normalize_relay_url(&c.relay_url);
        for opt in [
            &mut c.gateway_id,
            &mut c.secret,
            &mut c.delivery_key,
            &mut c.instance_id,
            &mut c.enroll_token,
        ] {
            *opt = opt
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
        }
        c.display_name = c
            .display_name
            .take()
            .map(|n| display_name(&n))
            .filter(|n| !n.is_empty());
        c.endpoint = normalize_opt_http_url(c.endpoint.take(), Var::Endpoint, names)?;
        c.wake_url = normalize_opt_http_url(c.wake_url.take(), Var::WakeUrl, names)?;
        c.route_keys = c
            .route_keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        for id in &mut c.identities {
            id.platform = id.platform.trim().to_owned();
            id.bot_id = id.bot_id.trim().to_owned();
        }
        check_identities(&c.identities, names)?;
        // Kept by every connection made from it: no spare room.
        c.identities.shrink_to_fit();
        if let Some(idp) = &c.idp {
            check_http_url(&idp.token_url)
                .map_err(|r| names.invalid(Var::IdpTokenUrl, &idp.token_url, r))?;
            // Neither: an ambient endpoint; exactly one: refused.
            match (
                idp.client_id.trim().is_empty(),
                idp.client_secret.is_empty(),
            ) {
                (false, true) => return Err(names.missing(Var::IdpClientSecret)),
                (true, false) => return Err(names.missing(Var::IdpClientId)),
                _ => {}
            }
        }
        check_timeouts(&c.timeouts, names)?;
        check_limits(&c.limits, names)?;
        for (platform, commands) in &c.command_manifests {
            check_manifest(platform, commands, &names.name(Var::CommandManifest))?;
        }
        if let Some(commands) = c.slack_commands.take() {
            let mut checked = std::collections::BTreeMap::new();
            for (word, command) in commands {
                let item = format!("{word}={command}");
                let (word, command) = slack_command_entry(&item)
                    .map_err(|r| names.invalid(Var::SlackCommands, &item, r))?;
                checked.insert(word, command);
            }
            c.slack_commands = Some(checked);
        }
        check_credentials(&c, names)?;
        Ok(c)
    }
}

impl RelayConfig {
    /// Starts a [`RelayConfigBuilder`] for the connector at `relay_url`.
    pub fn builder(relay_url: impl Into<String>) -> RelayConfigBuilder {
        RelayConfigBuilder {
            config: RelayConfig::new(relay_url),
        }
    }
}
