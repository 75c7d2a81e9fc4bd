//! The admin calls: who owns a session key (and so where interrupts go),
//! the capabilities `follow_up` needs, revocation and a modelled restart.

use relay_core::time::Instant;
use relay_core::wire::ConnectorFrame;

use super::connector::{Binding, Capability, Connector, bump};
use super::interface::{CLOSE_UNAUTHORIZED, ConnectorOutput, SessionId};

/// Most session bindings, and most stored capabilities, the model keeps.
pub const MAX_ADMIN_ENTRIES: usize = 65_536;

/// Why an admin call ([`Connector::bind_instance`],
/// [`Connector::grant_instance_capability`], [`Connector::push_interrupt`],
/// ...) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminError {
    /// No gateway with this id is registered.
    UnknownInstance(String),
    /// No instance owns this session key (bind it first).
    NoOwner(String),
    /// The owning instance has no serving session.
    OwnerOffline(String),
    /// [`MAX_ADMIN_ENTRIES`] bindings or capabilities are stored already.
    Full,
}

impl core::fmt::Display for AdminError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AdminError::UnknownInstance(i) => write!(f, "unknown instance {i:?}"),
            AdminError::NoOwner(k) => write!(f, "no instance owns session {k:?}"),
            AdminError::OwnerOffline(i) => write!(f, "instance {i:?} is not connected"),
            AdminError::Full => write!(f, "too many entries (at most {MAX_ADMIN_ENTRIES})"),
        }
    }
}

impl std::error::Error for AdminError {}

/// The chat id inside a session key (`agent:<ns>:<platform>:<type>:<chat>…`),
/// or `""` when the key has no chat part.
pub fn chat_id_of_session_key(session_key: &str) -> &str {
    session_key.split(':').nth(4).unwrap_or("")
}

impl Connector {
    /// Records that `session_key` is owned by `instance` in `tenant`
    /// (interrupts for it are routed to that instance's live session).
    pub fn bind_session(&mut self, session_key: &str, instance: &str, tenant: &str) {
        self.bindings.insert(
            session_key.to_owned(),
            Binding {
                instance: instance.to_owned(),
                tenant: tenant.to_owned(),
            },
        );
    }

    /// Records that `session_key` is owned by the registered gateway
    /// `instance`, in that gateway's tenant (what a real connector learns
    /// from inbound traffic): interrupts for the key are routed to the
    /// instance's live session.
    pub fn bind_instance(&mut self, session_key: &str, instance: &str) -> Result<(), AdminError> {
        let tenant = self.known_tenant(instance)?;
        if !self.bindings.contains_key(session_key) && self.bindings.len() >= MAX_ADMIN_ENTRIES {
            return Err(AdminError::Full);
        }
        self.bind_session(session_key, instance, &tenant);
        Ok(())
    }

    /// The instance that owns `session_key`, if bound.
    pub fn session_owner(&self, session_key: &str) -> Option<&str> {
        self.bindings.get(session_key).map(|b| b.instance.as_str())
    }

    /// Stores a capability of `kind` for `session_key`, belonging to `tenant`
    /// (what `follow_up` needs), with no expiry.
    pub fn grant_capability(&mut self, session_key: &str, kind: &str, tenant: &str) {
        self.grant_capability_until(session_key, kind, tenant, None);
    }

    /// Stores a capability of `kind` for `session_key`, belonging to
    /// `tenant`, valid up to and including `expires_at` (`None`: forever).
    /// Replaces an earlier grant of the same key and kind.
    pub fn grant_capability_until(
        &mut self,
        session_key: &str,
        kind: &str,
        tenant: &str,
        expires_at: Option<Instant>,
    ) {
        self.vault.insert(
            (session_key.to_owned(), kind.to_owned()),
            Capability {
                tenant: tenant.to_owned(),
                expires_at,
            },
        );
    }

    /// [`Connector::grant_capability_until`] in the tenant of the registered
    /// gateway `instance`.
    pub fn grant_instance_capability(
        &mut self,
        session_key: &str,
        instance: &str,
        kind: &str,
        expires_at: Option<Instant>,
    ) -> Result<(), AdminError> {
        let tenant = self.known_tenant(instance)?;
        let key = (session_key.to_owned(), kind.to_owned());
        if !self.vault.contains_key(&key) && self.vault.len() >= MAX_ADMIN_ENTRIES {
            return Err(AdminError::Full);
        }
        self.grant_capability_until(session_key, kind, &tenant, expires_at);
        Ok(())
    }

    /// Removes every capability of `session_key` that belongs to the tenant
    /// of the registered gateway `instance`; returns how many.
    pub fn revoke_capabilities(
        &mut self,
        session_key: &str,
        instance: &str,
    ) -> Result<usize, AdminError> {
        let tenant = self.known_tenant(instance)?;
        let before = self.vault.len();
        self.vault
            .retain(|(key, _), cap| !(key == session_key && cap.tenant == tenant));
        Ok(before - self.vault.len())
    }

    /// Pushes `interrupt_inbound { session_key, chat_id }` to the serving
    /// session of the instance that owns `session_key` (a user's stop on the
    /// platform side); returns that session.
    pub fn push_interrupt(
        &mut self,
        session_key: &str,
        chat_id: &str,
        now: Instant,
    ) -> Result<SessionId, AdminError> {
        let now = self.clock(now);
        let owner = self
            .bindings
            .get(session_key)
            .ok_or_else(|| AdminError::NoOwner(session_key.to_owned()))?
            .instance
            .clone();
        let sid = self
            .instances
            .get(&owner)
            .and_then(|i| i.current)
            .filter(|sid| self.sessions.get(sid).is_some_and(|s| s.serving))
            .ok_or_else(|| AdminError::OwnerOffline(owner.clone()))?;
        let frame = ConnectorFrame::InterruptInbound {
            session_key: session_key.to_owned(),
            chat_id: chat_id.to_owned(),
        };
        self.transmit(sid, &frame, now);
        Ok(sid)
    }

    /// An `interrupt` from a gateway: routed to the live session of the key's
    /// owner, in the sender's tenant only.
    pub(super) fn on_interrupt(&mut self, sid: SessionId, session_key: &str, now: Instant) {
        let sender_tenant = self.sessions.get(&sid).map(|s| s.tenant.clone());
        let target = self.bindings.get(session_key).and_then(|b| {
            let owner = self.instances.get(&b.instance)?.current?;
            (sender_tenant.as_deref() == Some(b.tenant.as_str())).then_some(owner)
        });
        match target {
            Some(owner) => {
                bump(&mut self.stats.interrupts_routed);
                let frame = ConnectorFrame::InterruptInbound {
                    session_key: session_key.to_owned(),
                    chat_id: chat_id_of_session_key(session_key).to_owned(),
                };
                self.transmit(owner, &frame, now);
            }
            None => bump(&mut self.stats.interrupts_unrouted),
        }
    }

    /// The tenant of a registered gateway (or the anonymous instance).
    fn known_tenant(&self, instance: &str) -> Result<String, AdminError> {
        self.gateway_tenant(instance)
            .map(str::to_owned)
            .ok_or_else(|| AdminError::UnknownInstance(instance.to_owned()))
    }

    /// Revokes gateway `id`: its live session is closed with 4401
    /// `unauthorized` and every later upgrade (and policy call) with its
    /// tokens is refused.
    pub fn revoke(&mut self, id: &str, now: Instant) {
        self.clock(now);
        self.revoked.insert(id.to_owned());
        if let Some(sid) = self.instances.get(id).and_then(|i| i.current) {
            self.close_session(sid, CLOSE_UNAUTHORIZED, "unauthorized");
            bump(&mut self.stats.closes_4401);
        }
    }

    /// Whether gateway `id` was revoked.
    pub fn is_revoked(&self, id: &str) -> bool {
        self.revoked.contains(id)
    }

    /// Models a connector process restart: every session is lost without a
    /// close frame (each reported as [`ConnectorOutput::Dropped`]), along with
    /// queued frames and delayed answers. Buffers, flips, registrations,
    /// bindings, the vault, HTTP records, the log and the counters are kept;
    /// items that were in flight are redelivered on the next session.
    pub fn restart(&mut self, now: Instant) {
        self.clock(now);
        self.outputs.retain(|o| {
            !matches!(
                o,
                ConnectorOutput::Transmit { .. } | ConnectorOutput::Close { .. }
            )
        });
        self.pending_replies.clear();
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        self.sessions.clear();
        for inst in self.instances.values_mut() {
            inst.current = None;
        }
        for session in ids {
            bump(&mut self.stats.sessions_dropped);
            self.outputs.push_back(ConnectorOutput::Dropped { session });
        }
    }
}
