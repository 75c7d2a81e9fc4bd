//! The connector model's state: the struct, what it keeps per session and
//! per instance, its construction and the read-only views of it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use relay_core::descriptor::CapabilityDescriptor;
use relay_core::message::MessageEvent;
use relay_core::rng::Rng;
use relay_core::time::Instant;
use relay_core::wire::{ActionResult, BufferId, Hello, LineBuffer, PassthroughForward};

use super::config::ConnectorConfig;
use super::egress::DeclineRule;
use super::interface::{ConnectorOutput, SessionId};
use super::media_store::MediaStore;
use super::observe::{ConnectorStats, FrameLog};
use super::records::ManagementState;
use super::responder::{DefaultResponder, Responder, ScriptedResponder};

/// The connector model. See the [crate documentation](crate).
pub struct Connector {
    pub(super) config: ConnectorConfig,
    pub(super) rng: Rng,
    pub(super) now: Instant,
    pub(super) next_session: u64,
    pub(super) next_buffer_seq: u64,
    pub(super) next_reply_seq: u64,
    pub(super) gateways: BTreeMap<String, GatewayRecord>,
    pub(super) revoked: BTreeSet<String>,
    pub(super) descriptors: BTreeMap<String, CapabilityDescriptor>,
    pub(super) wake_urls: BTreeMap<String, String>,
    pub(super) sessions: BTreeMap<SessionId, Session>,
    pub(super) instances: BTreeMap<String, InstanceState>,
    pub(super) bindings: BTreeMap<String, Binding>,
    pub(super) vault: BTreeMap<(String, String), Capability>,
    pub(super) pending_replies: BTreeMap<(Instant, u64), PendingReply>,
    pub(super) responder: Box<dyn Responder>,
    /// One-shot answers consulted before the responder.
    pub(super) scripts: ScriptedResponder,
    /// Targets declined.
    pub(super) declines: Vec<DeclineRule>,
    pub(super) outputs: VecDeque<ConnectorOutput>,
    pub(super) log: FrameLog,
    pub(super) stats: ConnectorStats,
    pub(super) management: ManagementState,
    pub(super) media: MediaStore,
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

/// One accepted session.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) instance: String,
    pub(super) tenant: String,
    pub(super) authenticated: bool,
    pub(super) lines: LineBuffer,
    pub(super) hellos: Vec<Hello>,
    /// Has said hello at least once.
    pub(super) serving: bool,
    /// Drains the instance's buffer (from the first hello until `going_idle`).
    pub(super) draining: bool,
}

/// What a buffered item carries.
#[derive(Clone, Debug)]
pub(super) enum Payload {
    Inbound(Box<MessageEvent>),
    Passthrough(Box<PassthroughForward>),
}

/// One item of an instance's buffer.
#[derive(Debug)]
pub(super) struct Item {
    pub(super) seq: u64,
    pub(super) id: BufferId,
    pub(super) payload: Payload,
    pub(super) acked: bool,
    pub(super) sends: u32,
    pub(super) sent_on: Option<SessionId>,
}

/// What an instance keeps whichever session it is on: its buffer, the
/// flip, its live session and its wake pokes.
#[derive(Debug, Default)]
pub(super) struct InstanceState {
    pub(super) buffer: VecDeque<Item>,
    pub(super) flipped: bool,
    pub(super) current: Option<SessionId>,
    pub(super) poke_owed: bool,
    pub(super) last_poke: Option<Instant>,
    pub(super) poke_due: Option<Instant>,
    pub(super) recent_acks: VecDeque<u64>,
}

/// A registered gateway: its secret rotation list (primary first) and its
/// tenant.
#[derive(Clone, Debug)]
pub(super) struct GatewayRecord {
    pub(super) secrets: Vec<String>,
    pub(super) tenant: String,
}

/// The owner of a session key.
#[derive(Clone, Debug)]
pub(super) struct Binding {
    pub(super) instance: String,
    pub(super) tenant: String,
}

/// A stored capability's tenant and expiry.
#[derive(Clone, Debug)]
pub(super) struct Capability {
    pub(super) tenant: String,
    /// Valid up to and including this instant (`None`: no expiry).
    pub(super) expires_at: Option<Instant>,
}

/// An answer to an `outbound` request, due later.
#[derive(Debug)]
pub(super) struct PendingReply {
    pub(super) session: SessionId,
    pub(super) request_id: String,
    pub(super) result: ActionResult,
}

/// Adds one to a counter (saturating).
pub(super) fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
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
            scripts: ScriptedResponder::new(),
            declines: Vec::new(),
            outputs: VecDeque::new(),
            stats: ConnectorStats::default(),
            management: ManagementState::default(),
            media: MediaStore::default(),
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

    /// Moves the model's time to `now` (never backwards) and returns it.
    pub(super) fn clock(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

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
}
