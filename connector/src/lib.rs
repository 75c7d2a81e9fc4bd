#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
pub mod fuzzing;
mod http;
mod observe;
mod platforms;
mod responder;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use relay_core::auth;

pub use config::{ConnectorConfig, RejectMode};
pub use http::{DEFAULT_TENANT, HttpResponse, PolicyRecord, ProvisionRecord};
pub use observe::{ConnectorStats, Direction, FrameLog, LogEntry};
pub use platforms::{KNOWN_PLATFORMS, platform_descriptor};
pub use responder::{
    DefaultResponder, Request, Responder, Response, Script, ScriptStep, ScriptedResponder,
};

use relay_core::descriptor::CapabilityDescriptor;
use relay_core::message::MessageEvent;
use relay_core::rng::Rng;
use relay_core::time::{Instant, UnixTime};
use relay_core::wire::{
    Action, ActionResult, BufferId, ConnectorFrame, GatewayFrame, Hello, LineBuffer, Outbound,
    PassthroughForward, decode_gateway_frame,
};

/// The instance of sessions accepted without credentials.
pub const ANONYMOUS_INSTANCE: &str = "";

/// Close code for a refused or revoked credential.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// Close code for a normal close (used when a newer session supersedes).
pub const CLOSE_NORMAL: u16 = 1000;

/// Distinct hello platforms remembered per session (more are still answered).
const MAX_HELLOS_PER_SESSION: usize = 64;

/// Acked buffer ids remembered per instance to tell duplicate acks apart.
const RECENT_ACKS: usize = 1024;

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

/// Identifies one accepted upgrade. Ids are never reused, not even across
/// [`Connector::restart`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

impl core::fmt::Display for SessionId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// The answer to an upgrade request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Complete the WebSocket upgrade; the session exists under this id. (A
    /// refused credential in [`RejectMode::Close4401`] is also accepted: its
    /// 4401 close is then waiting in [`Connector::poll_output`].)
    Accepted(SessionId),
    /// Refuse the upgrade with this HTTP status.
    RejectHttp {
        /// The HTTP status.
        status: u16,
    },
}

/// What the connector wants the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectorOutput {
    /// Send `text` (one frame, ending in `\n`) as one WS text message.
    Transmit {
        /// The session to send on.
        session: SessionId,
        /// The frame.
        text: String,
    },
    /// Close the session's socket with this code and reason. The session is
    /// already forgotten; a later [`Connector::handle_closed`] is harmless.
    Close {
        /// The session.
        session: SessionId,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The session was lost in a [`Connector::restart`]: cut the link without
    /// a close frame.
    Dropped {
        /// The session.
        session: SessionId,
    },
    /// Send a payload-free, unsigned HTTP GET to `url` to wake `instance`.
    WakePoke {
        /// The instance.
        instance: String,
        /// Its registered wake URL.
        url: String,
    },
    /// Nothing more to do now; call [`Connector::handle_timeout`] at this
    /// deadline (`None`: only new input matters).
    Wait(Option<Instant>),
}

/// What [`Connector::deliver`] did with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Pushed live (no `bufferId`) on this session.
    Live(SessionId),
    /// Appended to the instance's buffer under this id (and possibly already
    /// sent as part of a drain).
    Buffered(BufferId),
    /// Dropped: the instance is not connected, not flipped, and
    /// [`ConnectorConfig::buffer_when_disconnected`] is off.
    Dropped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Unauthorized,
    Expired,
    Revoked,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Expired => "expired",
            Refusal::Unauthorized | Refusal::Revoked => "unauthorized",
        }
    }
}

#[derive(Debug)]
struct Session {
    instance: String,
    tenant: String,
    authenticated: bool,
    lines: LineBuffer,
    hellos: Vec<Hello>,
    /// Has said hello at least once.
    serving: bool,
    /// Drains the instance's buffer (from the first hello until `going_idle`).
    draining: bool,
}

#[derive(Clone, Debug)]
enum Payload {
    Inbound(Box<MessageEvent>),
    Passthrough(Box<PassthroughForward>),
}

#[derive(Debug)]
struct Item {
    seq: u64,
    id: BufferId,
    payload: Payload,
    acked: bool,
    sends: u32,
    sent_on: Option<SessionId>,
}

#[derive(Debug, Default)]
struct InstanceState {
    buffer: VecDeque<Item>,
    flipped: bool,
    current: Option<SessionId>,
    poke_owed: bool,
    last_poke: Option<Instant>,
    poke_due: Option<Instant>,
    recent_acks: VecDeque<u64>,
}

#[derive(Clone, Debug)]
struct GatewayRecord {
    secrets: Vec<String>,
    tenant: String,
}

#[derive(Clone, Debug)]
struct Binding {
    instance: String,
    tenant: String,
}

#[derive(Clone, Debug)]
struct Capability {
    tenant: String,
    /// Valid up to and including this instant (`None`: no expiry).
    expires_at: Option<Instant>,
}

#[derive(Debug)]
struct PendingReply {
    session: SessionId,
    request_id: String,
    result: ActionResult,
}

/// The connector model. See the [module documentation](self).
pub struct Connector {
    config: ConnectorConfig,
    rng: Rng,
    now: Instant,
    next_session: u64,
    next_buffer_seq: u64,
    next_reply_seq: u64,
    gateways: BTreeMap<String, GatewayRecord>,
    revoked: BTreeSet<String>,
    descriptors: BTreeMap<String, CapabilityDescriptor>,
    wake_urls: BTreeMap<String, String>,
    sessions: BTreeMap<SessionId, Session>,
    instances: BTreeMap<String, InstanceState>,
    bindings: BTreeMap<String, Binding>,
    vault: BTreeMap<(String, String), Capability>,
    pending_replies: BTreeMap<(Instant, u64), PendingReply>,
    responder: Box<dyn Responder>,
    outputs: VecDeque<ConnectorOutput>,
    log: FrameLog,
    stats: ConnectorStats,
    http: http::HttpState,
}

impl core::fmt::Debug for Connector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connector")
            .field("now", &self.now)
            .field("sessions", &self.sessions.len())
            .field("instances", &self.instances.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}

/// The token of an `Authorization: Bearer <token>` value (scheme matched
/// case-insensitively), or `None`.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The chat id inside a session key (`agent:<ns>:<platform>:<type>:<chat>…`),
/// or `""` when the key has no chat part.
pub fn chat_id_of_session_key(session_key: &str) -> &str {
    session_key.split(':').nth(4).unwrap_or("")
}

impl Connector {
    /// A connector with `config`, drawing every random value (ids, secrets)
    /// from a generator seeded with `seed`.
    pub fn new(config: ConnectorConfig, seed: u64) -> Self {
        let mut c = Connector {
            log: FrameLog::new(config.log_capacity, config.log_text_limit),
            descriptors: config.descriptors.clone(),
            wake_urls: config.wake_urls.clone(),
            config,
            rng: Rng::new(seed),
            now: Instant::ZERO,
            next_session: 1,
            next_buffer_seq: 1,
            next_reply_seq: 0,
            gateways: BTreeMap::new(),
            revoked: BTreeSet::new(),
            sessions: BTreeMap::new(),
            instances: BTreeMap::new(),
            bindings: BTreeMap::new(),
            vault: BTreeMap::new(),
            pending_replies: BTreeMap::new(),
            responder: Box::new(DefaultResponder::new()),
            outputs: VecDeque::new(),
            stats: ConnectorStats::default(),
            http: http::HttpState::default(),
        };
        let initial: Vec<(String, Vec<String>)> = c
            .config
            .gateways
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, secrets) in initial {
            let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
            c.add_gateway(&id, &refs);
        }
        c
    }

    // ------------------------------------------------------------------
    // Registration

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

    /// Registers the wake URL of `instance`.
    pub fn set_wake_url(&mut self, instance: &str, url: &str) {
        self.wake_urls.insert(instance.to_owned(), url.to_owned());
    }

    /// The wake URL of `instance`.
    pub fn wake_url(&self, instance: &str) -> Option<&str> {
        self.wake_urls.get(instance).map(String::as_str)
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

    /// Replaces the responder that answers `outbound` requests.
    pub fn set_responder(&mut self, responder: Box<dyn Responder>) {
        self.responder = responder;
    }

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

    // ------------------------------------------------------------------
    // Introspection

    /// The counters.
    pub fn stats(&self) -> &ConnectorStats {
        &self.stats
    }

    /// The frame log.
    pub fn log(&self) -> &FrameLog {
        &self.log
    }

    /// The frame log, mutably (to clear or take it).
    pub fn log_mut(&mut self) -> &mut FrameLog {
        &mut self.log
    }

    /// The configuration.
    pub fn config(&self) -> &ConnectorConfig {
        &self.config
    }

    /// Items in `instance`'s buffer (in flight or not yet sent).
    pub fn buffer_len(&self, instance: &str) -> usize {
        self.instances.get(instance).map_or(0, |i| i.buffer.len())
    }

    /// The buffer ids of `instance`'s buffer, in order.
    pub fn buffer_ids(&self, instance: &str) -> Vec<BufferId> {
        self.instances.get(instance).map_or_else(Vec::new, |i| {
            i.buffer.iter().map(|it| it.id.clone()).collect()
        })
    }

    /// Items buffered over all instances.
    pub fn total_buffered(&self) -> usize {
        self.instances.values().map(|i| i.buffer.len()).sum()
    }

    /// Whether `instance` is flipped to buffered-only.
    pub fn is_flipped(&self, instance: &str) -> bool {
        self.instances.get(instance).is_some_and(|i| i.flipped)
    }

    /// The live session of `instance` (accepted, not closed; it may not have
    /// said hello yet).
    pub fn session_of(&self, instance: &str) -> Option<SessionId> {
        self.instances.get(instance).and_then(|i| i.current)
    }

    /// The instance of a live session.
    pub fn instance_of(&self, session: SessionId) -> Option<&str> {
        self.sessions.get(&session).map(|s| s.instance.as_str())
    }

    /// Whether a live session authenticated with a token.
    pub fn is_authenticated(&self, session: SessionId) -> bool {
        self.sessions.get(&session).is_some_and(|s| s.authenticated)
    }

    /// The hellos a live session sent (one per distinct platform, latest wins).
    pub fn hellos(&self, session: SessionId) -> &[Hello] {
        self.sessions.get(&session).map_or(&[], |s| &s.hellos)
    }

    /// The live sessions, in id order.
    pub fn sessions(&self) -> Vec<SessionId> {
        self.sessions.keys().copied().collect()
    }

    // ------------------------------------------------------------------
    // Upgrades

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
    fn authenticate(&self, header: &str, wall: UnixTime) -> Result<String, Refusal> {
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

    fn alloc_session(&mut self) -> SessionId {
        let sid = SessionId(self.next_session);
        self.next_session = self.next_session.saturating_add(1);
        sid
    }

    /// Emits a close for `sid` and forgets it.
    fn close_session(&mut self, sid: SessionId, code: u16, reason: &str) {
        self.forget_session(sid);
        self.outputs.push_back(ConnectorOutput::Close {
            session: sid,
            code,
            reason: reason.to_owned(),
        });
    }

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

    // ------------------------------------------------------------------
    // Socket input

    /// Handles the payload of one WS message (text or binary) on `session`.
    /// Lines are reassembled across messages; a line that does not decode is
    /// logged, counted and skipped.
    pub fn handle_message(&mut self, session: SessionId, bytes: &[u8], now: Instant) {
        let now = self.clock(now);
        let Some(s) = self.sessions.get_mut(&session) else {
            bump(&mut self.stats.input_for_unknown_session);
            return;
        };
        s.lines.extend(bytes);
        let mut lines = Vec::new();
        while let Some(line) = s.lines.next_line() {
            lines.push(line.map(<[u8]>::to_vec));
        }
        for line in lines {
            // Stop if handling an earlier line ended the session.
            if !self.sessions.contains_key(&session) {
                break;
            }
            bump(&mut self.stats.frames_in);
            let decoded = match &line {
                Ok(l) => decode_gateway_frame(l),
                Err(e) => Err(e.clone()),
            };
            let text = match &line {
                Ok(l) => String::from_utf8_lossy(l).into_owned(),
                Err(_) => String::new(),
            };
            match decoded {
                Ok(frame) => {
                    self.log_frame(now, session, Direction::In, frame.type_name(), text, None);
                    self.handle_frame(session, frame, now);
                }
                Err(e) => {
                    bump(&mut self.stats.bad_frames);
                    self.log_frame(
                        now,
                        session,
                        Direction::In,
                        "invalid",
                        text,
                        Some(e.to_string()),
                    );
                }
            }
        }
    }

    /// The socket of `session` closed (any code, or a dropped link).
    pub fn handle_closed(&mut self, session: SessionId, now: Instant) {
        self.clock(now);
        self.forget_session(session);
    }

    /// Fires due timers: delayed answers and deferred wake pokes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        while let Some(entry) = self.pending_replies.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let reply = entry.remove();
            if self.sessions.contains_key(&reply.session) {
                self.send_result(reply.session, reply.request_id, reply.result, now);
            } else {
                bump(&mut self.stats.outbound_unanswered);
            }
        }
        let due: Vec<String> = self
            .instances
            .iter()
            .filter(|(_, i)| i.poke_due.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for instance in due {
            let still_owed = self.instances.get_mut(&instance).is_some_and(|i| {
                i.poke_due = None;
                i.flipped && !i.buffer.is_empty()
            });
            if still_owed {
                self.try_poke(&instance, now);
            }
        }
    }

    /// The next thing to do; [`ConnectorOutput::Wait`] once drained.
    pub fn poll_output(&mut self) -> ConnectorOutput {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        let reply = self.pending_replies.keys().next().map(|k| k.0);
        let poke = self.instances.values().filter_map(|i| i.poke_due).min();
        ConnectorOutput::Wait(match (reply, poke) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Drains every output up to (not including) the `Wait`, and returns them
    /// with the `Wait` deadline (convenient for tests and simple drivers).
    pub fn drain_outputs(&mut self) -> (Vec<ConnectorOutput>, Option<Instant>) {
        let mut out = Vec::new();
        loop {
            match self.poll_output() {
                ConnectorOutput::Wait(deadline) => return (out, deadline),
                o => out.push(o),
            }
        }
    }

    fn clock(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    fn log_frame(
        &mut self,
        at: Instant,
        session: SessionId,
        direction: Direction,
        frame_type: &str,
        text: String,
        error: Option<String>,
    ) {
        self.log.push(LogEntry {
            at,
            session,
            direction,
            frame_type: frame_type.to_owned(),
            text,
            error,
        });
    }

    fn transmit(&mut self, session: SessionId, frame: &ConnectorFrame, now: Instant) {
        let text = frame.to_line();
        bump(&mut self.stats.frames_out);
        self.log_frame(
            now,
            session,
            Direction::Out,
            frame.type_name(),
            text.clone(),
            None,
        );
        self.outputs
            .push_back(ConnectorOutput::Transmit { session, text });
    }

    // ------------------------------------------------------------------
    // Frames

    fn handle_frame(&mut self, sid: SessionId, frame: GatewayFrame, now: Instant) {
        match frame {
            GatewayFrame::Hello(hello) => self.on_hello(sid, hello, now),
            GatewayFrame::Outbound(outbound) => self.on_outbound(sid, *outbound, now),
            GatewayFrame::Interrupt { session_key, .. } => {
                self.on_interrupt(sid, &session_key, now)
            }
            GatewayFrame::GoingIdle => self.on_going_idle(sid, now),
            GatewayFrame::InboundAck { buffer_id } => self.on_ack(sid, &buffer_id, now),
            // Frame types added to the codec later are ignored here.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn on_hello(&mut self, sid: SessionId, hello: Hello, now: Instant) {
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

    fn on_going_idle(&mut self, sid: SessionId, now: Instant) {
        bump(&mut self.stats.going_idle);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        s.draining = false;
        let inst = self.instances.entry(s.instance.clone()).or_default();
        if !inst.flipped {
            inst.flipped = true;
            inst.poke_owed = true;
        }
        self.transmit(sid, &ConnectorFrame::GoingIdleAck, now);
    }

    fn on_ack(&mut self, sid: SessionId, id: &BufferId, now: Instant) {
        let Some(instance) = self.sessions.get(&sid).map(|s| s.instance.clone()) else {
            return;
        };
        let inst = self.instances.entry(instance.clone()).or_default();
        let seq = id
            .as_str()
            .strip_prefix("buf-")
            .and_then(|n| n.parse::<u64>().ok());
        let found = seq.and_then(|seq| {
            inst.buffer
                .binary_search_by_key(&seq, |it| it.seq)
                .ok()
                .and_then(|i| inst.buffer.get_mut(i))
                .filter(|it| it.sends > 0)
        });
        match found {
            Some(item) if !item.acked => {
                item.acked = true;
                let seq = item.seq;
                if inst.recent_acks.len() >= RECENT_ACKS {
                    inst.recent_acks.pop_front();
                }
                inst.recent_acks.push_back(seq);
                bump(&mut self.stats.acked);
            }
            Some(_) => bump(&mut self.stats.acks_duplicate),
            None if seq.is_some_and(|s| inst.recent_acks.contains(&s)) => {
                bump(&mut self.stats.acks_duplicate)
            }
            None => bump(&mut self.stats.acks_unknown),
        }
        self.pump(&instance, now);
    }

    fn on_interrupt(&mut self, sid: SessionId, session_key: &str, now: Instant) {
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

    fn on_outbound(&mut self, sid: SessionId, outbound: Outbound, now: Instant) {
        bump(&mut self.stats.outbound_requests);
        let Some(s) = self.sessions.get(&sid) else {
            return;
        };
        let (instance, tenant) = (s.instance.clone(), s.tenant.clone());
        if let Some(p) = &outbound.platform
            && !s.hellos.iter().any(|h| &h.platform == p)
        {
            let err = format!("platform {p} is not fronted on this connection");
            let result = ActionResult::failure(err, false);
            self.send_result(sid, outbound.request_id, result, now);
            return;
        }
        if let Action::FollowUp(f) = &outbound.action {
            let refusal = match self.vault.get(&(f.session_key.clone(), f.kind.clone())) {
                None => Some("no capability for this session"),
                Some(cap) if cap.tenant != tenant => Some("capability belongs to another tenant"),
                Some(cap) if cap.expires_at.is_some_and(|at| now > at) => {
                    Some("capability expired")
                }
                Some(_) => None,
            };
            if let Some(err) = refusal {
                bump(&mut self.stats.follow_ups_refused);
                let result = ActionResult::failure(err, false);
                self.send_result(sid, outbound.request_id, result, now);
                return;
            }
        }
        let response = {
            let req = Request {
                instance: &instance,
                tenant: &tenant,
                session: sid,
                outbound: &outbound,
                now,
            };
            self.responder.respond(&req, &mut self.rng)
        };
        match response {
            Response::Reply(result) => self.send_result(sid, outbound.request_id, result, now),
            Response::After { delay, result } => {
                let at = now.saturating_add(delay);
                let seq = self.next_reply_seq;
                self.next_reply_seq = self.next_reply_seq.wrapping_add(1);
                self.pending_replies.insert(
                    (at, seq),
                    PendingReply {
                        session: sid,
                        request_id: outbound.request_id,
                        result,
                    },
                );
            }
            Response::Silence => bump(&mut self.stats.outbound_unanswered),
        }
    }

    fn send_result(
        &mut self,
        sid: SessionId,
        request_id: String,
        result: ActionResult,
        now: Instant,
    ) {
        bump(&mut self.stats.outbound_results);
        let frame = ConnectorFrame::OutboundResult {
            request_id,
            result: Some(result),
        };
        self.transmit(sid, &frame, now);
    }

    // ------------------------------------------------------------------
    // Delivery

    /// Delivers an inbound message to `instance`: live when it has a serving
    /// session, is not flipped and has nothing buffered; otherwise buffered
    /// (flipped, draining, or disconnected with buffering on) or dropped.
    pub fn deliver(&mut self, instance: &str, event: MessageEvent, now: Instant) -> Delivery {
        self.deliver_payload(instance, Payload::Inbound(Box::new(event)), now)
    }

    /// Delivers a passthrough forward to `instance`, exactly like
    /// [`Connector::deliver`].
    pub fn deliver_passthrough(
        &mut self,
        instance: &str,
        forward: PassthroughForward,
        now: Instant,
    ) -> Delivery {
        self.deliver_payload(instance, Payload::Passthrough(Box::new(forward)), now)
    }

    fn deliver_payload(&mut self, instance: &str, payload: Payload, now: Instant) -> Delivery {
        let now = self.clock(now);
        let inst = self.instances.entry(instance.to_owned()).or_default();
        let serving = inst
            .current
            .filter(|sid| self.sessions.get(sid).is_some_and(|s| s.serving));
        if let Some(sid) = serving
            && !inst.flipped
            && inst.buffer.is_empty()
        {
            bump(&mut self.stats.delivered_live);
            self.transmit(sid, &frame_for(payload, None), now);
            return Delivery::Live(sid);
        }
        if serving.is_none() && !inst.flipped && !self.config.buffer_when_disconnected {
            bump(&mut self.stats.dropped_undeliverable);
            return Delivery::Dropped;
        }
        let seq = self.next_buffer_seq;
        self.next_buffer_seq = self.next_buffer_seq.saturating_add(1);
        let id = BufferId(format!("buf-{seq}"));
        inst.buffer.push_back(Item {
            seq,
            id: id.clone(),
            payload,
            acked: false,
            sends: 0,
            sent_on: None,
        });
        bump(&mut self.stats.buffered);
        let poke = inst.flipped && inst.poke_owed;
        if poke {
            inst.poke_owed = false;
            self.try_poke(instance, now);
        }
        self.pump(instance, now);
        Delivery::Buffered(id)
    }

    /// Emits a wake poke for `instance` now, or defers it to the end of the
    /// cooldown.
    fn try_poke(&mut self, instance: &str, now: Instant) {
        let Some(url) = self.wake_urls.get(instance).cloned() else {
            return;
        };
        let cooldown = self.config.wake_cooldown;
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        let ready_at = inst
            .last_poke
            .map_or(Instant::ZERO, |t| t.saturating_add(cooldown));
        if now >= ready_at {
            inst.last_poke = Some(now);
            inst.poke_due = None;
            bump(&mut self.stats.wake_pokes);
            self.outputs.push_back(ConnectorOutput::WakePoke {
                instance: instance.to_owned(),
                url,
            });
        } else {
            inst.poke_due = Some(ready_at);
        }
    }

    /// Drops acked items from the front of the buffer, sends buffered items
    /// to the instance's draining session while the window allows, and
    /// clears the flip once a draining session has emptied the buffer.
    fn pump(&mut self, instance: &str, now: Instant) {
        let Some(inst) = self.instances.get_mut(instance) else {
            return;
        };
        while inst.buffer.front().is_some_and(|it| it.acked) {
            inst.buffer.pop_front();
        }
        let Some(sid) = inst
            .current
            .filter(|sid| self.sessions.get(sid).is_some_and(|s| s.draining))
        else {
            return;
        };
        let window = self.config.drain_window.max(1);
        let mut in_flight = 0usize;
        let mut frames = Vec::new();
        for item in inst.buffer.iter_mut() {
            if item.acked {
                continue;
            }
            if item.sent_on == Some(sid) {
                in_flight += 1;
                continue;
            }
            if in_flight >= window {
                break;
            }
            if item.sends > 0 {
                bump(&mut self.stats.redelivered);
            } else {
                bump(&mut self.stats.drained);
            }
            item.sends = item.sends.saturating_add(1);
            item.sent_on = Some(sid);
            let is_passthrough = matches!(item.payload, Payload::Passthrough(_));
            if is_passthrough && !self.config.ack_passthrough {
                item.acked = true;
            } else {
                in_flight += 1;
            }
            frames.push(frame_for(item.payload.clone(), Some(item.id.clone())));
        }
        while inst.buffer.front().is_some_and(|it| it.acked) {
            inst.buffer.pop_front();
        }
        if inst.buffer.is_empty() && inst.flipped {
            inst.flipped = false;
            inst.poke_owed = false;
            inst.poke_due = None;
            bump(&mut self.stats.flips_cleared);
        }
        for frame in frames {
            self.transmit(sid, &frame, now);
        }
    }
}

fn frame_for(payload: Payload, buffer_id: Option<BufferId>) -> ConnectorFrame {
    match payload {
        Payload::Inbound(event) => ConnectorFrame::Inbound { event, buffer_id },
        Payload::Passthrough(forward) => ConnectorFrame::PassthroughForward { forward, buffer_id },
    }
}
