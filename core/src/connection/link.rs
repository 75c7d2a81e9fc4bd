//! What every state shares: configuration, timers, the request table, the
//! memories (scope, dedupe), the line buffer and the output queue. The state
//! types decide *when* things happen; the link knows *how*.

use std::collections::VecDeque;

use core::time::Duration;

use super::types::{DeliveryHandle, Event, Output, RequestError, SendError, State, Stats};
use crate::auth::mint_token;
use crate::backoff::Backoff;
use crate::config::RelayConfig;
use crate::dedupe::{Admit, DedupeWindow, DeliveryState};
use crate::descriptor::CapabilityDescriptor;
use crate::message::{ChatType, MessageEvent};
use crate::recycle::EventPool;
use crate::request_id::RequestId;
use crate::requests::Requests;
use crate::rng::Rng;
use crate::scope::ScopeMemory;
use crate::time::{Instant, UnixTime};
use crate::timer::{Timer, TimerTable};
use crate::wire::{
    Action, BufferId, ConnectorFrame, DecodeError, GatewayFrame, Hello, LineBuffer,
    decode_connector_frame_in, decode_connector_text_in, encode_gateway_frame, encode_outbound,
};

/// The unread part of a message: bytes from any driver, or text the
/// WebSocket library has already checked as UTF-8.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unread<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
}

/// One line read in place from an [`Unread`].
enum Line<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
}

impl<'a> Unread<'a> {
    fn is_empty(&self) -> bool {
        match self {
            Unread::Bytes(bytes) => bytes.is_empty(),
            Unread::Text(text) => text.is_empty(),
        }
    }

    /// Its bytes, leaving it empty.
    fn take(&mut self) -> &'a [u8] {
        let bytes = match *self {
            Unread::Bytes(bytes) => bytes,
            Unread::Text(text) => text.as_bytes(),
        };
        *self = Unread::Bytes(&[]);
        bytes
    }
}

/// Largest up-front buffer for an encoded frame (one large frame must not
/// make every later one reserve as much).
const MAX_ENCODE_HINT: usize = 16 * 1024;

/// Close code for a normal, deliberate close.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code meaning "abort the transport" (never sent on the wire).
pub const CLOSE_ABNORMAL: u16 = 1006;
/// Close code for a frame over the size limit.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for "try again later": sent when a new buffered delivery
/// arrives while [`Limits::max_unacked_deliveries`] are outstanding, so the
/// connector keeps it and redelivers it after the reconnect.
///
/// [`Limits::max_unacked_deliveries`]: crate::config::Limits::max_unacked_deliveries
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// What draining the line buffer found that the state must act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadSignals {
    /// The first descriptor of this connection was processed (reading stopped
    /// right after it so the state can move to `Serving` first).
    pub(crate) first_descriptor: bool,
    /// A `going_idle_ack` was processed.
    pub(crate) idle_ack: bool,
    /// A line exceeded the size limit: the connection must be closed (1009).
    pub(crate) too_large: bool,
    /// A new buffered delivery arrived with the bound of outstanding ones
    /// reached: it was neither handed over nor acked, and the connection
    /// must be closed (1013) so the connector redelivers it later.
    pub(crate) deliveries_full: bool,
}

/// What `admit` decided for one delivery.
enum Admitted {
    /// Hand it to the application (with a handle when buffered).
    Hand(Option<DeliveryHandle>),
    /// A redelivery: not handed over (re-acked if already acked).
    Skip,
    /// Too many buffered deliveries outstanding: close and let the connector
    /// redeliver.
    Full,
}

/// The shared part of every state.
#[derive(Debug)]
pub(crate) struct Link {
    /// Its hellos ([`RelayConfig::hello_identities`]) are read from it.
    config: RelayConfig,
    multi_platform: bool,
    rng: Rng,
    wall_anchor: (Instant, UnixTime),
    now: Instant,
    outputs: VecDeque<Output>,
    pub(crate) timers: TimerTable,
    backoff: Backoff,
    requests: Requests,
    scope: ScopeMemory,
    dedupe: DedupeWindow,
    /// This connection's descriptors in arrival order (the first is the
    /// default), at most one per hello and one per platform.
    descriptors: Vec<CapabilityDescriptor>,
    /// The platforms said hello for, sorted (found by binary search), each
    /// with the index of its descriptor in `descriptors`; empty when only
    /// the `relay` hello is sent. No map is kept per connection.
    fronted: Vec<(String, Option<u32>)>,
    descriptor_seen_this_connection: bool,
    lines: LineBuffer,
    /// Inbound events handed back by the application, decoded into again.
    pub(crate) pool: EventPool,
    /// Some connection of this link received a descriptor.
    pub(crate) ever_served: bool,
    /// When the current connection received its first descriptor.
    served_since: Option<Instant>,
    /// A socket is open (between `Opened` and its loss or our `Close`).
    socket_live: bool,
    /// `going_idle` was sent on this socket and its ack has not arrived.
    pub(crate) idle_unacked: bool,
    /// Capacity for the next encoded frame: the largest frame so far, so a
    /// frame is written into one allocation that becomes its `Transmit`.
    encode_hint: usize,
    pub(crate) stats: Stats,
    /// The deliberate mistake this link makes (see `planted.rs`).
    #[cfg(feature = "planted-bugs")]
    pub(crate) planted: super::PlantedBug,
}

impl Link {
    pub(crate) fn new(config: RelayConfig, seed: u64, now: Instant, wall: UnixTime) -> Self {
        let hellos = config.hello_count();
        let mut fronted: Vec<(String, Option<u32>)> = config
            .identities
            .iter()
            .map(|i| (i.platform.clone(), None))
            .collect();
        fronted.sort_unstable();
        fronted.dedup();
        // Sized for one descriptor per hello, so the first one does not
        // leave room for three more behind.
        let descriptors = Vec::with_capacity(hellos);
        Link {
            multi_platform: hellos > 1,
            rng: Rng::new(seed),
            wall_anchor: (now, wall),
            now,
            outputs: VecDeque::new(),
            timers: TimerTable::default(),
            backoff: Backoff::new(config.timeouts.backoff_initial, config.timeouts.backoff_max),
            requests: Requests::default(),
            scope: ScopeMemory::new(config.limits.scope_memory),
            dedupe: DedupeWindow::new(
                config.limits.dedupe_window,
                config.limits.max_unacked_deliveries,
            ),
            descriptors,
            fronted,
            descriptor_seen_this_connection: false,
            lines: LineBuffer::new(config.limits.max_frame_bytes),
            pool: EventPool::default(),
            ever_served: false,
            served_since: None,
            socket_live: false,
            idle_unacked: false,
            encode_hint: 256,
            stats: Stats::default(),
            #[cfg(feature = "planted-bugs")]
            planted: super::PlantedBug::None,
            config,
        }
    }

    // ----- time -----------------------------------------------------------

    /// Clamps `now` so time never goes backwards, and returns it.
    pub(crate) fn tick(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// Whether a socket is live (opened and not yet lost).
    pub(crate) fn socket_live(&self) -> bool {
        self.socket_live
    }

    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn release_idle_memory(&mut self) {
        if self.outputs.is_empty() {
            self.outputs = VecDeque::new();
        }
        self.lines.release_if_drained();
        self.pool.clear();
    }

    pub(crate) fn set_wall_clock(&mut self, now: Instant, wall: UnixTime) {
        let now = self.tick(now);
        self.wall_anchor = (now, wall);
    }

    fn wall_now(&self) -> UnixTime {
        let (at, wall) = self.wall_anchor;
        wall.saturating_add_secs(self.now.saturating_duration_since(at).as_secs())
    }

    pub(crate) fn config(&self) -> &RelayConfig {
        &self.config
    }

    // ----- outputs --------------------------------------------------------

    pub(crate) fn emit(&mut self, out: Output) {
        self.outputs.push_back(out);
    }

    pub(crate) fn event(&mut self, ev: Event) {
        self.outputs.push_back(Output::Event(ev));
    }

    pub(crate) fn state_changed(&mut self, from: State, to: State) {
        if from != to {
            self.event(Event::StateChanged { from, to });
        }
    }

    pub(crate) fn pop_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest deadline of any timer or request.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match (self.timers.next(), self.requests.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn transmit(&mut self, frame: &GatewayFrame) {
        let mut buf = Vec::with_capacity(self.encode_hint);
        encode_gateway_frame(frame, &mut buf);
        self.transmit_encoded(buf);
    }

    /// Sends one frame already encoded into `buf`.
    fn transmit_encoded(&mut self, buf: Vec<u8>) {
        self.encode_hint = self.encode_hint.max(buf.len()).min(MAX_ENCODE_HINT);
        // serde_json writes valid UTF-8; the lossy arm only keeps this total.
        let text = String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.stats.frames_out += 1;
        self.emit(Output::Transmit(text));
    }

    // ----- dialing --------------------------------------------------------

    /// Whether the configured relay URL cannot be dialed.
    pub(crate) fn undialable(&self) -> bool {
        self.config.dial_target().is_err()
    }

    /// Emits a dial with a freshly minted token. A relay URL that does not
    /// parse is reported instead, and no timer is left to retry it.
    pub(crate) fn dial(&mut self) {
        self.timers.stop(Timer::Dial);
        // Parsed again at each dial (dials are rare) rather than held by
        // every idle connection.
        let target = match self.config.dial_target() {
            Ok(target) => target,
            Err(error) => {
                self.stop_everything();
                self.event(Event::ConfigRejected { error });
                return;
            }
        };
        let mut headers = Vec::new();
        if let Some((id, secret)) = self.config.credentials() {
            let token = mint_token(
                id,
                secret,
                self.config.timeouts.token_ttl_secs,
                self.wall_now(),
            );
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        self.stats.dials += 1;
        self.emit(Output::Dial { target, headers });
    }

    /// Schedules the next dial after a failure, on the backoff ladder.
    pub(crate) fn schedule_backoff(&mut self) {
        let delay = self.backoff.next_delay(&mut self.rng);
        self.schedule_dial_in(delay);
        let attempt = self.backoff.failures();
        let at = self.timers.get(Timer::Dial).unwrap_or(self.now);
        self.event(Event::DialScheduled { attempt, at });
    }

    pub(crate) fn schedule_dial_in(&mut self, delay: Duration) {
        let at = self.now.saturating_add(delay);
        self.timers.set(Timer::Dial, at);
    }

    /// Whether the dial timer has fired.
    pub(crate) fn dial_due(&mut self) -> bool {
        self.timers.expire(Timer::Dial, self.now)
    }

    // ----- socket lifecycle ------------------------------------------------

    /// The upgrade succeeded: arm the handshake and keepalive timers and say hello.
    pub(crate) fn on_socket_opened(&mut self) {
        self.socket_live = true;
        self.idle_unacked = false;
        self.lines.clear();
        self.descriptor_seen_this_connection = false;
        self.served_since = None;
        let t = &self.config.timeouts;
        let (handshake, keepalive) = (t.handshake, t.keepalive_interval);
        self.timers
            .set(Timer::Handshake, self.now.saturating_add(handshake));
        self.timers
            .set(Timer::Keepalive, self.now.saturating_add(keepalive));
        self.timers.stop(Timer::PongDeadline);
        for i in 0..self.config.hello_count() {
            let Some((platform, bot_id)) = self.config.hello(i) else {
                break;
            };
            let frame = GatewayFrame::Hello(Hello {
                platform: platform.to_owned(),
                bot_id: bot_id.to_owned(),
                command_manifest: None,
            });
            self.transmit(&frame);
        }
    }

    /// The connection reached `Serving`.
    pub(crate) fn on_served(&mut self) {
        self.ever_served = true;
        self.served_since = Some(self.now);
        self.timers.stop(Timer::Handshake);
    }

    /// The socket is gone (peer close, abort, or our own close): fail what
    /// was in flight and forget per-socket state. `our_close` emits the
    /// `Close` output first, so a socket is never left behind.
    pub(crate) fn lose_socket(&mut self, code: Option<u16>, reason: &str, our_close: bool) {
        if self.socket_live && our_close {
            let code = code.unwrap_or(CLOSE_NORMAL);
            self.emit(Output::Close {
                code,
                reason: reason.to_owned(),
            });
        }
        let was_live = self.socket_live;
        self.socket_live = false;
        for t in [
            Timer::Handshake,
            Timer::IdleAck,
            Timer::Keepalive,
            Timer::PongDeadline,
        ] {
            self.timers.stop(t);
        }
        self.lines.clear();
        // PLANTED BUG when skipped: requests outlive their socket.
        if !planted!(self, KeepRequestsOnDisconnect) {
            self.fail_all(RequestError::ConnectionLost);
        }
        if was_live {
            self.event(Event::Disconnected {
                code,
                reason: reason.to_owned(),
            });
        }
        // A connection that served for `stable_after` resets the ladder;
        // shorter ones count as failures (the caller schedules the backoff).
        if let Some(since) = self.served_since.take()
            && self.now.saturating_duration_since(since) >= self.config.timeouts.stable_after
        {
            self.backoff.reset();
        }
    }

    /// Fails every pending request with `error`.
    pub(crate) fn fail_all(&mut self, error: RequestError) {
        for request_id in self.requests.drain_all() {
            self.event(Event::RequestFailed {
                request_id,
                error: error.clone(),
            });
        }
    }

    /// Terminal: no timer may ever fire again.
    pub(crate) fn stop_everything(&mut self) {
        self.timers.clear();
    }

    // ----- timers while a socket is open -------------------------------------

    /// Runs request deadlines and keepalive. `true` when the pong deadline
    /// passed (the caller abandons the socket).
    pub(crate) fn run_socket_timers(&mut self) -> bool {
        let now = self.now;
        for request_id in self.requests.expire(now) {
            self.event(Event::RequestFailed {
                request_id,
                error: RequestError::Timeout,
            });
        }
        if self.timers.expire(Timer::PongDeadline, now) {
            return true;
        }
        if self.timers.expire(Timer::Keepalive, now) {
            self.emit(Output::Ping);
            let t = &self.config.timeouts;
            let (interval, pong) = (t.keepalive_interval, t.pong_timeout);
            self.timers
                .set(Timer::Keepalive, now.saturating_add(interval));
            if !self.timers.is_armed(Timer::PongDeadline) {
                self.timers
                    .set(Timer::PongDeadline, now.saturating_add(pong));
            }
        }
        false
    }

    pub(crate) fn on_pong(&mut self) {
        self.timers.stop(Timer::PongDeadline);
    }

    // ----- reading -----------------------------------------------------------

    /// The part of a message to read: all of it while the socket is live,
    /// nothing otherwise.
    pub(crate) fn admit_message<'a>(&self, message: Unread<'a>) -> Unread<'a> {
        if self.socket_live {
            message
        } else {
            Unread::Bytes(&[])
        }
    }

    /// Decodes and handles complete lines: those of `rest` (the unread part
    /// of a message) in place while nothing is pending in the line buffer,
    /// then whatever the buffer holds. Stops right after the first
    /// descriptor of a connection so the state can change before the frames
    /// behind it are handled; what is left of `rest` is then kept in the
    /// buffer, as is a trailing partial line.
    pub(crate) fn read_lines(&mut self, rest: &mut Unread<'_>) -> ReadSignals {
        let mut signals = ReadSignals::default();
        loop {
            let decoded = if !rest.is_empty() && self.lines.is_idle() {
                let next = match rest {
                    Unread::Bytes(bytes) => {
                        self.lines.split_line(bytes).map(|r| r.map(Line::Bytes))
                    }
                    Unread::Text(text) => {
                        self.lines.split_text_line(text).map(|r| r.map(Line::Text))
                    }
                };
                match next {
                    Some(Ok(Line::Bytes(line))) => decode_connector_frame_in(line, &mut self.pool),
                    // A line of a text message is text: not checked again.
                    Some(Ok(Line::Text(line))) => decode_connector_text_in(line, &mut self.pool),
                    Some(Err(e)) => Err(e),
                    // Nothing pending and nothing left: no line either.
                    None if rest.is_empty() => break,
                    None => {
                        self.lines.extend(rest.take());
                        continue;
                    }
                }
            } else {
                if !rest.is_empty() {
                    self.lines.extend(rest.take());
                } else if self.lines.is_idle() {
                    // Nothing pending and nothing left (the usual end of a
                    // message): no line to look for.
                    break;
                }
                match self.lines.next_line() {
                    None => break,
                    Some(Err(e)) => Err(e),
                    Some(Ok(line)) => decode_connector_frame_in(line, &mut self.pool),
                }
            };
            match decoded {
                Err(error) => {
                    if self.reject(error) {
                        signals.too_large = true;
                        break;
                    }
                }
                Ok(frame) => {
                    self.stats.frames_in += 1;
                    if self.handle_frame(frame, &mut signals) {
                        break;
                    }
                }
            }
        }
        if !rest.is_empty() {
            self.lines.extend(rest.take());
        }
        if signals.first_descriptor {
            self.lines.release_if_drained();
        }
        signals
    }

    /// A line that did not decode: counted and reported. `true` when it was
    /// over the size limit (the socket is then closed). Out of line: the
    /// per-frame reading loop stays small in the instruction cache.
    #[cold]
    #[inline(never)]
    fn reject(&mut self, error: DecodeError) -> bool {
        let too_large = matches!(error, DecodeError::TooLarge { .. });
        self.stats.frames_rejected += 1;
        self.event(Event::FrameRejected { error });
        too_large
    }

    /// Handles one decoded frame; `true` asks the reader to pause.
    fn handle_frame(&mut self, frame: ConnectorFrame, signals: &mut ReadSignals) -> bool {
        match frame {
            ConnectorFrame::Inbound { event, buffer_id } => {
                self.handle_inbound(event, buffer_id, signals)
            }
            other => self.handle_other_frame(other, signals),
        }
    }

    /// An inbound message: its chat is remembered, and it goes to the
    /// application unless it is a duplicate or the deliveries are full.
    fn handle_inbound(
        &mut self,
        event: Box<MessageEvent>,
        buffer_id: Option<BufferId>,
        signals: &mut ReadSignals,
    ) -> bool {
        let src = &event.source;
        let is_dm = src.chat_type == ChatType::Dm;
        let platform = Some(src.platform.as_str()).filter(|p| *p != "relay" && !p.is_empty());
        self.scope.learn(
            &src.chat_id,
            src.scope_id.as_deref(),
            platform,
            src.user_id.as_deref(),
            is_dm,
        );
        match self.admit(buffer_id) {
            Admitted::Hand(delivery) => self.event(Event::Inbound { event, delivery }),
            Admitted::Skip => {}
            Admitted::Full => {
                signals.deliveries_full = true;
                return true;
            }
        }
        false
    }

    /// Every frame but an inbound message: far rarer, so out of line, which
    /// keeps the inbound path small in the instruction cache.
    #[inline(never)]
    fn handle_other_frame(&mut self, frame: ConnectorFrame, signals: &mut ReadSignals) -> bool {
        match frame {
            // Taken by `handle_frame` before it comes here; handled the same
            // way all the same, so that no frame can be dropped.
            ConnectorFrame::Inbound { event, buffer_id } => {
                return self.handle_inbound(event, buffer_id, signals);
            }
            ConnectorFrame::Descriptor(d) => {
                let first = !self.descriptor_seen_this_connection;
                if self.store_descriptor(&d, first) {
                    self.event(Event::Descriptor(d));
                } else {
                    self.stats.descriptors_ignored += 1;
                }
                if first {
                    signals.first_descriptor = true;
                    return true;
                }
            }
            ConnectorFrame::PassthroughForward { forward, buffer_id } => {
                match self.admit(buffer_id) {
                    Admitted::Hand(delivery) => {
                        self.event(Event::Passthrough { forward, delivery });
                    }
                    Admitted::Skip => {}
                    Admitted::Full => {
                        signals.deliveries_full = true;
                        return true;
                    }
                }
            }
            ConnectorFrame::OutboundResult { request_id, result } => {
                if let Some(request_id) = RequestId::from_wire(&request_id)
                    && self.requests.resolve(&request_id)
                {
                    self.event(match result {
                        Some(result) => Event::Response {
                            request_id,
                            result: Box::new(result),
                        },
                        None => Event::RequestFailed {
                            request_id,
                            error: RequestError::MalformedResult,
                        },
                    });
                } else {
                    self.stats.unknown_results += 1;
                }
            }
            ConnectorFrame::InterruptInbound {
                session_key,
                chat_id,
            } => {
                self.event(Event::Interrupt {
                    session_key,
                    chat_id,
                });
            }
            // An unsolicited ack (no `going_idle` on this socket) is ignored.
            ConnectorFrame::GoingIdleAck => {
                signals.idle_ack = self.idle_unacked;
                self.idle_unacked = false;
            }
        }
        false
    }

    /// Per platform, the first descriptor wins; the first of a connection
    /// replaces the previous connection's set and is the default. Later ones
    /// are kept only for a platform said hello for, so the table holds at
    /// most one descriptor per hello. `false`: ignored (a platform already
    /// described, never said hello for, or one more than the hellos).
    fn store_descriptor(&mut self, d: &CapabilityDescriptor, first_of_connection: bool) -> bool {
        let slot = self.fronted_slot(&d.platform);
        if first_of_connection {
            self.descriptors.clear();
            for (_, described) in &mut self.fronted {
                *described = None;
            }
            self.descriptor_seen_this_connection = true;
        } else {
            let new_platform = match slot {
                Some(i) => self.fronted[i].1.is_none() && !self.is_default_for(&d.platform),
                // Only the `relay` hello: the table holds one descriptor,
                // so this scan is of one entry at most.
                None if self.fronted.is_empty() => {
                    !self.descriptors.iter().any(|s| s.platform == d.platform)
                }
                None => false,
            };
            if !new_platform || self.descriptors.len() >= self.config.hello_count() {
                return false;
            }
        }
        if let Some(i) = slot {
            // The table is bounded by the hellos, far below `u32::MAX`.
            self.fronted[i].1 = u32::try_from(self.descriptors.len()).ok();
        }
        self.descriptors.push(d.clone());
        true
    }

    /// Where `platform` is in `fronted`, if said hello for.
    fn fronted_slot(&self, platform: &str) -> Option<usize> {
        self.fronted
            .binary_search_by(|(p, _)| p.as_str().cmp(platform))
            .ok()
    }

    /// Whether the connection's first (default) descriptor is for `platform`.
    fn is_default_for(&self, platform: &str) -> bool {
        self.descriptors
            .first()
            .is_some_and(|d| d.platform == platform)
    }

    /// Decides whether a delivery goes to the application. Live deliveries
    /// always do. A buffered one does the first time; seen again, it is
    /// re-acked if the application already acked it, and otherwise waits
    /// for that ack. A new buffered one beyond the bound of outstanding
    /// deliveries is refused (see `dedupe`).
    fn admit(&mut self, buffer_id: Option<BufferId>) -> Admitted {
        let Some(buffer_id) = buffer_id else {
            return Admitted::Hand(None);
        };
        match self.dedupe.get(buffer_id.as_str()) {
            None => match self.dedupe.admit_new(buffer_id.as_str()) {
                Admit::Hand => {
                    if planted!(self, AckOnDelivery) {
                        self.send_ack(buffer_id.clone()); // PLANTED BUG: ack before the app did
                    }
                    Admitted::Hand(Some(DeliveryHandle { buffer_id }))
                }
                Admit::Full => {
                    self.stats.deliveries_deferred += 1;
                    Admitted::Full
                }
            },
            Some(DeliveryState::Handed) => {
                self.stats.duplicate_deliveries += 1;
                Admitted::Skip
            }
            Some(DeliveryState::AckQueued | DeliveryState::Acked) => {
                self.stats.duplicate_deliveries += 1;
                if self.send_ack(buffer_id.clone()) {
                    self.dedupe.ack_written(buffer_id.as_str());
                }
                Admitted::Skip
            }
        }
    }

    /// Writes an `inbound_ack` if a socket is open; whether it was written.
    fn send_ack(&mut self, buffer_id: BufferId) -> bool {
        if self.socket_live {
            self.stats.acks_sent += 1;
            self.transmit(&GatewayFrame::InboundAck { buffer_id });
            true
        } else {
            false
        }
    }

    /// The application acked a delivery: `inbound_ack` now if a socket is
    /// open, else on its redelivery.
    pub(crate) fn ack(&mut self, handle: DeliveryHandle) -> Result<(), super::CommandError> {
        let id = handle.buffer_id;
        let live = self.socket_live;
        match self.dedupe.app_acked(id.as_str(), live) {
            None => Err(super::CommandError::UnknownDelivery { buffer_id: id.0 }),
            Some(DeliveryState::Acked | DeliveryState::AckQueued) => {
                Err(super::CommandError::AlreadyAcked { buffer_id: id.0 })
            }
            Some(DeliveryState::Handed) => {
                self.send_ack(id);
                Ok(())
            }
        }
    }

    // ----- descriptors ----------------------------------------------------

    pub(crate) fn descriptor(&self, platform: Option<&str>) -> Option<&CapabilityDescriptor> {
        match platform {
            None => self.descriptors.first(),
            Some(p) => match self.fronted_slot(p) {
                Some(i) => self.fronted[i]
                    .1
                    .and_then(|at| self.descriptors.get(at as usize)),
                // The first descriptor is kept whatever its platform.
                None => self.descriptors.first().filter(|d| d.platform == p),
            },
        }
    }

    // ----- sending --------------------------------------------------------

    /// Sends `going_idle` and arms the ack deadline.
    pub(crate) fn send_going_idle(&mut self) {
        self.transmit(&GatewayFrame::GoingIdle);
        self.idle_unacked = true;
        let at = self.now.saturating_add(self.config.timeouts.idle_ack);
        self.timers.set(Timer::IdleAck, at);
    }

    pub(crate) fn send_interrupt(&mut self, session_key: String, reason: Option<String>) {
        self.transmit(&GatewayFrame::Interrupt {
            session_key,
            reason,
        });
    }

    /// Tags, enriches, checks and sends one request.
    pub(crate) fn send_request(&mut self, mut action: Action) -> Result<RequestId, SendError> {
        let limit = self.config.limits.max_pending_requests;
        if self.requests.len() >= limit {
            return Err(SendError::TooManyPending { limit });
        }
        let platform = self.frame_platform(&action);
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
        let mut buf = Vec::with_capacity(self.encode_hint);
        let platform = platform.as_deref();
        let bot_id = platform.and_then(|p| {
            self.config
                .identities
                .iter()
                .find(|i| i.platform == p && !i.bot_id.is_empty())
                .map(|i| i.bot_id.as_str())
        });
        encode_outbound(id.as_str(), &action, platform, bot_id, &mut buf);
        self.transmit_encoded(buf);
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

    /// Re-attaches the learned scope (as `scope_id`, and `guild_id` when
    /// configured) and author (`user_id`) to a chat op's metadata, never
    /// overwriting what the caller set.
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
        if let Some(user) = &memory.user_id
            && (memory.is_dm || memory.scope.is_some())
            && !meta.contains_key("user_id")
        {
            meta.insert("user_id".into(), user.clone().into());
        }
    }

    pub(crate) fn pending_requests(&self) -> usize {
        self.requests.len()
    }
}
