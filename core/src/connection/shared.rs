//! [`Shared`]: what every state of a connection shares (configuration,
//! clocks, timers, the request table, the memories, the line buffer and the
//! output queue) and how it dials, loses a socket and runs the socket's
//! timers. The typed states decide *when* things happen; `Shared` knows
//! *how*. What arrives is handled in `receiving.rs`, what is sent in
//! `sending.rs`.

use std::collections::VecDeque;

use core::time::Duration;

#[cfg(feature = "planted-bugs")]
use super::planted::PlantedBug;
use super::types::{CLOSE_NORMAL, Event, Output, RequestError, State, Stats};
use crate::auth::mint_token;
use crate::backoff::Backoff;
use crate::config::RelayConfig;
use crate::dedupe::DedupeWindow;
use crate::descriptor::CapabilityDescriptor;
use crate::recycle::EventPool;
use crate::redial_hold::{RedialHold, WhenDue};
use crate::replay::ReplayMemory;
use crate::requests::Requests;
use crate::rng::Rng;
use crate::scope::ScopeMemory;
use crate::time::{Instant, UnixTime};
use crate::timer::{Timer, TimerTable};
use crate::wire::{GatewayFrame, Hello, LineBuffer, gateway_line};

/// Largest up-front buffer for an encoded frame (one large frame must not
/// make every later one reserve as much).
const MAX_ENCODE_HINT: usize = 16 * 1024;

/// What every state of a connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Its hellos ([`RelayConfig::hello_identities`]) are read from it.
    pub(super) config: RelayConfig,
    pub(super) multi_platform: bool,
    pub(super) rng: Rng,
    pub(super) wall_anchor: (Instant, UnixTime),
    pub(super) now: Instant,
    pub(super) outputs: VecDeque<Output>,
    pub(super) timers: TimerTable,
    pub(super) backoff: Backoff,
    pub(super) requests: Requests,
    pub(super) scope: ScopeMemory,
    pub(super) dedupe: DedupeWindow,
    /// Identities of the inbound messages handed over (replays dropped).
    pub(super) replays: ReplayMemory,
    /// Whether due re-dials are held.
    pub(super) hold: RedialHold,
    /// This connection's descriptors in arrival order (the first is the
    /// default), at most one per hello and one per platform.
    pub(super) descriptors: Vec<CapabilityDescriptor>,
    /// The platforms said hello for, sorted (found by binary search), each
    /// with the index of its descriptor in `descriptors`; empty when only
    /// the `relay` hello is sent. No map is kept per connection.
    pub(super) fronted: Vec<(String, Option<u32>)>,
    pub(super) descriptor_seen_this_connection: bool,
    pub(super) lines: LineBuffer,
    /// Inbound events handed back by the application, decoded into again.
    pub(super) pool: EventPool,
    /// Some connection of this link received a descriptor.
    pub(super) ever_served: bool,
    /// When the current connection received its first descriptor.
    pub(super) served_since: Option<Instant>,
    /// A socket is open (between `Opened` and its loss or our `Close`).
    pub(super) socket_live: bool,
    /// `going_idle` was sent on this socket and its ack has not arrived.
    pub(super) idle_unacked: bool,
    /// Capacity for the next encoded frame: the largest frame so far, so a
    /// frame is written into one allocation that becomes its `Transmit`.
    pub(super) encode_hint: usize,
    pub(super) stats: Stats,
    /// The deliberate mistake this link makes (see `planted.rs`).
    #[cfg(feature = "planted-bugs")]
    pub(super) planted: PlantedBug,
}

impl Shared {
    pub(super) fn new(config: RelayConfig, seed: u64, now: Instant, wall: UnixTime) -> Self {
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
        Shared {
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
            replays: ReplayMemory::new(config.limits.replay_window),
            hold: RedialHold::default(),
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
            planted: PlantedBug::None,
            config,
        }
    }

    // ----- time -----------------------------------------------------------

    /// Clamps `now` so time never goes backwards, and returns it.
    pub(super) fn tick(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// Whether a socket is live (opened and not yet lost).
    pub(super) fn socket_live(&self) -> bool {
        self.socket_live
    }

    pub(super) fn now(&self) -> Instant {
        self.now
    }

    pub(super) fn release_idle_memory(&mut self) {
        if self.outputs.is_empty() {
            self.outputs = VecDeque::new();
        }
        self.lines.release_if_drained();
        self.pool.clear();
    }

    pub(super) fn set_wall_clock(&mut self, now: Instant, wall: UnixTime) {
        let now = self.tick(now);
        self.wall_anchor = (now, wall);
    }

    fn wall_now(&self) -> UnixTime {
        let (at, wall) = self.wall_anchor;
        wall.saturating_add_secs(self.now.saturating_duration_since(at).as_secs())
    }

    pub(super) fn config(&self) -> &RelayConfig {
        &self.config
    }

    // ----- outputs --------------------------------------------------------

    pub(super) fn emit(&mut self, out: Output) {
        self.outputs.push_back(out);
    }

    pub(super) fn event(&mut self, ev: Event) {
        self.outputs.push_back(Output::Event(ev));
    }

    pub(super) fn state_changed(&mut self, from: State, to: State) {
        if from != to {
            self.event(Event::StateChanged { from, to });
        }
    }

    pub(super) fn pop_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest deadline of any timer or request.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        // Asked after every output; most of the time no request is pending
        // and there is no queue of deadlines to walk.
        let requests = if self.requests.len() == 0 {
            None
        } else {
            self.requests.next_deadline()
        };
        match (self.timers.next(), requests) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn transmit(&mut self, frame: &GatewayFrame) {
        let line = gateway_line(frame, self.encode_hint);
        self.transmit_line(line);
    }

    /// Sends one frame already encoded as `line`.
    pub(super) fn transmit_line(&mut self, line: String) {
        self.encode_hint = self.encode_hint.max(line.len()).min(MAX_ENCODE_HINT);
        self.stats.frames_out += 1;
        self.emit(Output::Transmit(line));
    }

    // ----- dialing --------------------------------------------------------

    /// Whether the configured relay URL cannot be dialed.
    pub(super) fn undialable(&self) -> bool {
        self.config.dial_target().is_err()
    }

    /// Emits a dial with a freshly minted token. A relay URL that does not
    /// parse is reported instead, and no timer is left to retry it.
    pub(super) fn dial(&mut self) {
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
    pub(super) fn schedule_backoff(&mut self) {
        let delay = self.backoff.next_delay(&mut self.rng);
        self.schedule_dial_in(delay);
        let attempt = self.backoff.failures();
        let at = self.timers.get(Timer::Dial).unwrap_or(self.now);
        self.event(Event::DialScheduled { attempt, at });
    }

    pub(super) fn schedule_dial_in(&mut self, delay: Duration) {
        let at = self.now.saturating_add(delay);
        self.timers.set(Timer::Dial, at);
    }

    /// Whether a dial is due now: the dial timer fired and no hold parks
    /// it (a held one is re-armed for the end of its wait instead).
    pub(super) fn dial_due(&mut self) -> bool {
        if !self.timers.expire(Timer::Dial, self.now) {
            return false;
        }
        let mut cap = self.config.timeouts.redial_hold_max;
        if planted!(self, HoldPastCap) {
            cap = cap.saturating_mul(2); // PLANTED BUG: waits past the cap
        }
        match self.hold.on_due(self.now, cap) {
            WhenDue::Dial => true,
            WhenDue::Park { until } => {
                self.timers.set(Timer::Dial, until);
                self.event(Event::RedialHeld { until });
                false
            }
        }
    }

    /// Ends a hold; when a re-dial was waiting, it is due now.
    pub(super) fn release_hold(&mut self) {
        if self.hold.release() {
            self.timers.set(Timer::Dial, self.now);
        }
    }

    // ----- socket lifecycle ------------------------------------------------

    /// The upgrade succeeded: arm the handshake and keepalive timers and say hello.
    pub(super) fn on_socket_opened(&mut self) {
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
                command_manifest: self.config.command_manifests.get(platform).cloned(),
            });
            self.transmit(&frame);
        }
    }

    /// The connection reached `Serving`.
    pub(super) fn on_served(&mut self) {
        self.ever_served = true;
        self.served_since = Some(self.now);
        self.timers.stop(Timer::Handshake);
    }

    /// The socket is gone (peer close, abort, or our own close): fail what
    /// was in flight and forget per-socket state. `our_close` emits the
    /// `Close` output first, so a socket is never left behind.
    pub(super) fn lose_socket(&mut self, code: Option<u16>, reason: &str, our_close: bool) {
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
    pub(super) fn fail_all(&mut self, error: RequestError) {
        for request_id in self.requests.drain_all() {
            self.event(Event::RequestFailed {
                request_id,
                error: error.clone(),
            });
        }
    }

    /// Terminal: no timer may ever fire again.
    pub(super) fn stop_everything(&mut self) {
        self.timers.clear();
    }

    // ----- timers while a socket is open -------------------------------------

    /// Runs request deadlines and keepalive. `true` when the pong deadline
    /// passed (the caller abandons the socket).
    pub(super) fn run_socket_timers(&mut self) -> bool {
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

    pub(super) fn on_pong(&mut self) {
        self.timers.stop(Timer::PongDeadline);
    }
}
