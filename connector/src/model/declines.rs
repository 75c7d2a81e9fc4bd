//! Egress declines: targets the connector refuses to send to, answered
//! with a structured decline (`code: "egress_declined"`, never ambiguous),
//! and the one-shot scripted answers queued for later requests.

use relay_core::wire::{ActionResult, Outbound};

use super::admin::{AdminError, MAX_ADMIN_ENTRIES};
use super::connector::{Connector, bump};
use super::egress::{DeclineRule, decline_result};
use super::responder::Script;

/// Most one-shot scripts queued at once ([`Connector::push_script`]).
pub const MAX_SCRIPTS: usize = 1024;

impl Connector {
    /// Declines every later request to the target of `rule` (see
    /// [`DeclineRule`]). An identical rule is kept once.
    pub fn decline(&mut self, rule: DeclineRule) -> Result<(), AdminError> {
        if self.declines.contains(&rule) {
            return Ok(());
        }
        if self.declines.len() >= MAX_ADMIN_ENTRIES {
            return Err(AdminError::Full);
        }
        self.declines.push(rule);
        Ok(())
    }

    /// Queues `script` for the first later request it matches (whatever
    /// the responder); returns how many scripts are queued.
    pub fn push_script(&mut self, script: Script) -> Result<usize, AdminError> {
        if self.scripts.remaining() >= MAX_SCRIPTS {
            return Err(AdminError::Full);
        }
        self.scripts.push_script(script);
        Ok(self.scripts.remaining())
    }

    /// Scripts queued and not used yet.
    pub fn scripts_queued(&self) -> usize {
        self.scripts.remaining()
    }

    /// The decline for `outbound` from `instance` whose session said hello
    /// first for `default_platform`, if a rule matches.
    pub(super) fn declined(
        &mut self,
        outbound: &Outbound,
        instance: &str,
        default_platform: &str,
    ) -> Option<ActionResult> {
        let chat_id = outbound.action.chat_id()?;
        let platform = outbound.platform.as_deref().unwrap_or(default_platform);
        let hit = self.declines.iter().any(|r| {
            r.chat_id == chat_id
                && r.platform.as_deref().is_none_or(|p| p == platform)
                && r.instance.as_deref().is_none_or(|i| i == instance)
        });
        if !hit {
            return None;
        }
        bump(&mut self.stats.egress_declined);
        Some(decline_result(platform))
    }
}
