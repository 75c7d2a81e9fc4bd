//! What a connection sends on the application's behalf: requests (tagged
//! with their platform and enriched with what the link learned of the
//! chat), interrupts and `going_idle`.

use super::shared::Shared;
use super::types::SendError;
use crate::request_id::RequestId;
use crate::timer::Timer;
use crate::wire::{Action, GatewayFrame, outbound_line};

impl Shared {
    /// Sends `going_idle` and arms the ack deadline.
    pub(super) fn send_going_idle(&mut self) {
        self.transmit(&GatewayFrame::GoingIdle);
        self.idle_unacked = true;
        let at = self.now.saturating_add(self.config.timeouts.idle_ack);
        self.timers.set(Timer::IdleAck, at);
    }

    pub(super) fn send_interrupt(&mut self, session_key: String, reason: Option<String>) {
        self.transmit(&GatewayFrame::Interrupt {
            session_key,
            reason,
        });
    }

    /// Tags, enriches, checks and sends one request; `explicit` is the
    /// platform the application named (non-empty).
    pub(super) fn send_request(
        &mut self,
        mut action: Action,
        explicit: Option<&str>,
    ) -> Result<RequestId, SendError> {
        let limit = self.config.limits.max_pending_requests;
        if self.requests.len() >= limit {
            return Err(SendError::TooManyPending { limit });
        }
        let platform = match explicit {
            Some(p) => Some(p.to_owned()),
            None => self.frame_platform(&action),
        };
        let descriptor = self
            .descriptor(platform.as_deref())
            .or_else(|| self.descriptor(None));
        if let Some(d) = descriptor
            && !d.supports_op(action.op())
        {
            return Err(SendError::OpNotSupported {
                op: action.op().to_owned(),
                platform: d.platform.clone(),
            });
        }
        self.enrich_metadata(&mut action);
        let id = self.rng.request_id();
        // Encoded from borrowed fields: no owned frame, no copy of the id.
        let platform = platform.as_deref();
        let bot_id = platform.and_then(|p| {
            self.config
                .identities
                .iter()
                .find(|i| i.platform == p && !i.bot_id.is_empty())
                .map(|i| i.bot_id.as_str())
        });
        let line = outbound_line(id.as_str(), &action, platform, bot_id, self.encode_hint);
        self.transmit_line(line);
        let deadline = self.now.saturating_add(self.config.timeouts.request);
        self.requests.insert(id, deadline);
        self.stats.requests_sent += 1;
        Ok(id)
    }

    /// The per-frame `platform` tag (multi-platform gateways only): the chat's
    /// learned platform for chat ops, the `kind` prefix for a `follow_up` of a
    /// fronted platform; `get_chat_info` is never tagged.
    fn frame_platform(&self, action: &Action) -> Option<String> {
        if !self.multi_platform {
            return None;
        }
        match action {
            Action::GetChatInfo(_) => None,
            Action::FollowUp(f) => {
                let prefix = f.kind.split('.').next().unwrap_or_default();
                self.config
                    .identities
                    .iter()
                    .any(|i| i.platform == prefix)
                    .then(|| prefix.to_owned())
            }
            other => other
                .chat_id()
                .and_then(|c| self.scope.get(c))
                .and_then(|m| m.platform.clone()),
        }
    }

    /// Re-attaches what the chat's inbound taught: its scope (as
    /// `scope_id`, and `guild_id` when configured), its author (`user_id`)
    /// and its profile (`profile`), each when known and not set by the
    /// caller.
    fn enrich_metadata(&self, action: &mut Action) {
        if matches!(action, Action::FollowUp(_) | Action::GetChatInfo(_)) {
            return;
        }
        // Borrowed, not cloned: the memory is read while the action changes.
        let Some(memory) = action.chat_id().and_then(|c| self.scope.get(c)) else {
            return;
        };
        let write_guild_id = self.config.write_guild_id;
        let Some(meta) = action.metadata_mut() else {
            return;
        };
        if let Some(scope) = &memory.scope {
            if !meta.contains_key("scope_id") {
                meta.insert("scope_id".into(), scope.clone().into());
            }
            if write_guild_id && !meta.contains_key("guild_id") {
                meta.insert("guild_id".into(), scope.clone().into());
            }
        }
        for (key, value) in [("user_id", &memory.user_id), ("profile", &memory.profile)] {
            if let Some(value) = value
                && !meta.contains_key(key)
            {
                meta.insert(key.into(), value.clone().into());
            }
        }
    }

    pub(super) fn pending_requests(&self) -> usize {
        self.requests.len()
    }
}
