//! Sessions and their credentials: registered gateways, the upgrade and
//! its token check, the session table, and the hello that starts serving.

use relay_core::auth;
use relay_core::descriptor::CapabilityDescriptor;
use relay_core::time::{Instant, UnixTime};
use relay_core::wire::{ConnectorFrame, Hello, LineBuffer};

use super::config::RejectMode;
use super::connector::{Connector, GatewayRecord, Session, bump};
use super::interface::{Accept, CLOSE_NORMAL, CLOSE_UNAUTHORIZED, ConnectorOutput, SessionId};
use super::platforms::platform_descriptor;

/// The instance of sessions accepted without credentials.
pub const ANONYMOUS_INSTANCE: &str = "";

/// Distinct hello platforms remembered per session (more are still answered).
const MAX_HELLOS_PER_SESSION: usize = 64;

/// Why a credential was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    Unauthorized,
    Expired,
    Revoked,
}

impl Refusal {
    /// The close reason (or HTTP error) for it.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Refusal::Expired => "expired",
            Refusal::Unauthorized | Refusal::Revoked => "unauthorized",
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme matched
/// case-insensitively), or `None`.
pub(super) fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Connector {
    /// Registers (or replaces the secrets of) gateway `id`, with its rotation
    /// list (primary first). Its tenant is the id itself unless it already had
    /// one. Returns false (and does nothing) for an empty id.
    pub fn add_gateway(&mut self, id: &str, secrets: &[&str]) -> bool {
        let tenant = self
            .gateways
            .get(id)
            .map_or_else(|| id.to_owned(), |g| g.tenant.clone());
        self.add_gateway_in_tenant(id, secrets, &tenant)
    }

    /// Registers gateway `id` with its rotation list, in `tenant`. Returns
    /// false (and does nothing) for an empty id.
    pub fn add_gateway_in_tenant(&mut self, id: &str, secrets: &[&str], tenant: &str) -> bool {
        if id.is_empty() {
            return false;
        }
        self.gateways.insert(
            id.to_owned(),
            GatewayRecord {
                secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
                tenant: tenant.to_owned(),
            },
        );
        true
    }

    /// The tenant of gateway `id` (`""` for the anonymous instance).
    pub fn gateway_tenant(&self, id: &str) -> Option<&str> {
        if id == ANONYMOUS_INSTANCE {
            return Some("");
        }
        self.gateways.get(id).map(|g| g.tenant.as_str())
    }

    /// Sets the descriptor answered to hellos for `platform`.
    pub fn set_descriptor(&mut self, platform: &str, descriptor: CapabilityDescriptor) {
        self.descriptors.insert(platform.to_owned(), descriptor);
    }

    /// The descriptor answered to a hello for `platform`: the one set (by
    /// configuration or [`Connector::set_descriptor`]), else the platform's
    /// default ([`platform_descriptor`]), else
    /// [`CapabilityDescriptor::minimal`].
    pub fn descriptor_for(&self, platform: &str) -> CapabilityDescriptor {
        self.descriptors
            .get(platform)
            .cloned()
            .or_else(|| platform_descriptor(platform))
            .unwrap_or_else(|| CapabilityDescriptor::minimal(platform))
    }

    /// Handles a WebSocket upgrade request to `/relay` with these headers
    /// (the driver answers 400 for other paths). See [`Accept`].
    pub fn accept(&mut self, headers: &[(String, String)], now: Instant, wall: UnixTime) -> Accept {
        self.clock(now);
        let header = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str());
        let authed = match header {
            None if !self.config.require_auth => Ok(None),
            None => Err(Refusal::Unauthorized),
            Some(v) => self.authenticate(v, wall).map(Some),
        };
        match authed {
            Ok(gateway) => {
                bump(&mut self.stats.upgrades_accepted);
                let sid = self.alloc_session();
                let authenticated = gateway.is_some();
                let instance = gateway.unwrap_or_default();
                let tenant = self.gateway_tenant(&instance).unwrap_or("").to_owned();
                let old = self.instances.get(&instance).and_then(|i| i.current);
                if let Some(old) = old {
                    self.close_session(old, CLOSE_NORMAL, "superseded");
                    bump(&mut self.stats.sessions_superseded);
                }
                self.sessions.insert(
                    sid,
                    Session {
                        instance: instance.clone(),
                        tenant,
                        authenticated,
                        lines: LineBuffer::new(self.config.max_frame_bytes),
                        hellos: Vec::new(),
                        serving: false,
                        draining: false,
                    },
                );
                self.instances.entry(instance).or_default().current = Some(sid);
                Accept::Accepted(sid)
            }
            Err(refusal) => {
                bump(&mut self.stats.upgrades_refused);
                match self.config.reject_mode {
                    RejectMode::Close4401 => {
                        let sid = self.alloc_session();
                        bump(&mut self.stats.closes_4401);
                        self.outputs.push_back(ConnectorOutput::Close {
                            session: sid,
                            code: CLOSE_UNAUTHORIZED,
                            reason: refusal.reason().to_owned(),
                        });
                        Accept::Accepted(sid)
                    }
                    RejectMode::Http { status } => Accept::RejectHttp { status },
                    RejectMode::HttpRevokedGone => Accept::RejectHttp {
                        status: if refusal == Refusal::Revoked {
                            410
                        } else {
                            401
                        },
                    },
                }
            }
        }
    }

    /// Verifies an `Authorization` value and returns the gateway id.
    pub(super) fn authenticate(&self, header: &str, wall: UnixTime) -> Result<String, Refusal> {
        let token = bearer_token(header).ok_or(Refusal::Unauthorized)?;
        let gateway = auth::peek_payload(token).map_err(|_| Refusal::Unauthorized)?;
        if gateway.is_empty() {
            return Err(Refusal::Unauthorized);
        }
        if self.revoked.contains(&gateway) {
            return Err(Refusal::Revoked);
        }
        let record = self.gateways.get(&gateway).ok_or(Refusal::Unauthorized)?;
        let secrets: Vec<&str> = record.secrets.iter().map(String::as_str).collect();
        let at = wall.saturating_sub_secs(self.config.token_leeway_secs);
        match auth::verify_token(token, &secrets, at) {
            Ok(payload) if payload == gateway => Ok(gateway),
            Ok(_) => Err(Refusal::Unauthorized),
            // A braced pattern matches the variant whatever its shape.
            #[allow(clippy::unneeded_struct_pattern)]
            Err(auth::TokenError::Expired { .. }) => Err(Refusal::Expired),
            Err(_) => Err(Refusal::Unauthorized),
        }
    }

    /// A fresh session id.
    fn alloc_session(&mut self) -> SessionId {
        let sid = SessionId(self.next_session);
        self.next_session = self.next_session.saturating_add(1);
        sid
    }

    /// Emits a close for `sid` and forgets it.
    pub(super) fn close_session(&mut self, sid: SessionId, code: u16, reason: &str) {
        self.forget_session(sid);
        self.outputs.push_back(ConnectorOutput::Close {
            session: sid,
            code,
            reason: reason.to_owned(),
        });
    }

    /// Forgets `sid` (and frees its instance's slot); false if unknown.
    fn forget_session(&mut self, sid: SessionId) -> bool {
        let Some(s) = self.sessions.remove(&sid) else {
            return false;
        };
        if let Some(inst) = self.instances.get_mut(&s.instance)
            && inst.current == Some(sid)
        {
            inst.current = None;
        }
        true
    }

    /// The socket of `session` closed (any code, or a dropped link).
    pub fn handle_closed(&mut self, session: SessionId, now: Instant) {
        self.clock(now);
        self.forget_session(session);
    }

    /// A hello: the platform's descriptor in answer; the first one starts
    /// serving and the drain.
    pub(super) fn on_hello(&mut self, sid: SessionId, hello: Hello, now: Instant) {
        bump(&mut self.stats.hellos);
        let descriptor = self.descriptor_for(&hello.platform);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if let Some(h) = s.hellos.iter_mut().find(|h| h.platform == hello.platform) {
            *h = hello;
        } else if s.hellos.len() < MAX_HELLOS_PER_SESSION {
            s.hellos.push(hello);
        }
        let first = !s.serving;
        s.serving = true;
        if first {
            s.draining = true;
        }
        let instance = s.instance.clone();
        bump(&mut self.stats.descriptors_sent);
        self.transmit(sid, &ConnectorFrame::Descriptor(Box::new(descriptor)), now);
        if first {
            self.pump(&instance, now);
        }
    }
}
