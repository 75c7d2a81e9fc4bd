//! The gateway's relay link as a sans-IO state machine.
//!
//! ```text
//!  Dialing ──opened──▶ Handshaking ──descriptor──▶ Serving ──go_idle──▶ GoingIdle ──ack──▶ Buffered
//!     ▲                    │                        │  ▲                   │                  │
//!     └────────────────────┴─── close / timeout ────┘  └──ack timeout──────┘                  │
//!     └───────────────────────────────────── wake / dormant re-dial ─────────────────────────┘
//!
//!  Serving, GoingIdle, Buffered ──shutdown with requests in flight──▶ Closing ──drained──▶ Closed
//! ```
//!
//! A connector refuses or revokes a credential by closing with 4401 or by
//! answering the upgrade with HTTP 410. A 410 revokes at once. A 4401 before
//! the connection ever received a descriptor is a cold-start race and is
//! retried; after one (and unless its reason is `expired`), the connection
//! re-dials at once with a fresh token, and a second 4401 revokes (with
//! [`RevocationPolicy::Immediate`](crate::config::RevocationPolicy::Immediate),
//! the first one after a descriptor does). `Revoked` and `Closed` are
//! terminal: nothing dials again.
//!
//! Drivers hold a [`Connection`] and run one loop:
//!
//! 1. feed what happened: [`Connection::handle_input`], or an application
//!    command ([`Connection::send`], [`Connection::go_idle`], …), each with
//!    `now`;
//! 2. drain [`Connection::poll_output`] until [`Output::Wait`];
//! 3. sleep until that deadline or the next input, whichever comes first; on
//!    the deadline, feed [`Input::Timeout`].
//!
//! Inside, each state is its own type and a transition returns only the
//! states it may legally lead to; `Dialing` and `Handshaking` also carry
//! whether they are the re-dial that confirms a possible revocation, so a
//! 4401 before any descriptor cannot revoke by construction. The 4401 rules
//! are in one file, `connection/revocation.rs`; docs/architecture.md draws
//! the files and their floors.
//!
//! What the remote does wrong becomes an event (and, where needed, a close
//! code); only the caller's misuse returns `Err`. No input, in any state, in
//! any order, panics; time going backwards is clamped.

/// `true` when `$shared` was built with the planted bug `PlantedBug::$bug`
/// (feature `planted-bugs`, see `planted.rs`); the constant `false` without
/// the feature. Every use is a deliberate mistake for the simulator to catch.
macro_rules! planted {
    ($shared:expr, $bug:ident) => {{
        #[cfg(feature = "planted-bugs")]
        let on = $shared.planted == $crate::connection::PlantedBug::$bug;
        #[cfg(not(feature = "planted-bugs"))]
        let on = false;
        on
    }};
}

mod any_state;
mod buffered;
mod closing;
mod dialing;
mod going_idle;
mod handshaking;
mod in_state;
mod outcomes;
#[cfg(feature = "planted-bugs")]
mod planted;
mod receiving;
mod revocation;
mod sending;
mod serving;
mod shared;
mod states;
mod types;

#[cfg(feature = "planted-bugs")]
pub use planted::{PlantedBug, UnknownPlantedBug};
pub use revocation::{CLOSE_UNAUTHORIZED, HTTP_GONE, REASON_EXPIRED};
pub use types::{
    CLOSE_ABNORMAL, CLOSE_NORMAL, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN_LATER, CommandError,
    DeliveryHandle, Event, IdleRefusal, Input, Output, RequestError, SendError, SendOptions, State,
    Stats,
};

pub use crate::request_id::RequestId;

use any_state::AnyState;
use in_state::InState;
use receiving::Unread;

use core::time::Duration;

use crate::config::{IdleMode, RelayConfig};
use crate::descriptor::CapabilityDescriptor;
use crate::message::MessageEvent;
use crate::recycle::EventPool;
use crate::time::{Instant, UnixTime};
use crate::wire::Action;

/// The runtime wrapper drivers hold: the current typed state behind one
/// uniform API. See the [module docs](self) for the loop contract.
#[derive(Debug)]
pub struct Connection {
    inner: Option<AnyState>,
}

impl Connection {
    /// A new link; its first output is the dial. A config whose relay URL
    /// does not parse (only one assembled field by field can have one)
    /// reports [`Event::ConfigRejected`] and is `Closed` at once, without a
    /// dial.
    pub fn new(config: RelayConfig, seed: u64, now: Instant, wall: UnixTime) -> Self {
        let c = InState::new(config, seed, now, wall);
        let inner = if c.shared.undialable() {
            AnyState::Closed(c.close_now())
        } else {
            AnyState::Dialing(c)
        };
        Connection { inner: Some(inner) }
    }

    /// A new link that makes the deliberate mistake `bug` (feature
    /// `planted-bugs`); with [`PlantedBug::None`] it is [`Connection::new`].
    #[cfg(feature = "planted-bugs")]
    pub fn with_planted_bug(
        config: RelayConfig,
        seed: u64,
        now: Instant,
        wall: UnixTime,
        bug: PlantedBug,
    ) -> Self {
        let mut c = Connection::new(config, seed, now, wall);
        if let Some(inner) = c.inner.as_mut() {
            inner.shared_mut().planted = bug;
        }
        c
    }

    /// Runs `f` on the owned state and puts the result back. `inner` is only
    /// `None` inside `f`, which cannot panic, so it is always `Some` here.
    fn step(&mut self, now: Instant, f: impl FnOnce(AnyState) -> AnyState) {
        if let Some(mut inner) = self.inner.take() {
            inner.tick(now);
            self.inner = Some(f(inner));
        }
    }

    /// [`step`](Self::step) for a message: read with the state in place.
    fn read(&mut self, now: Instant, message: Unread<'_>) {
        if let Some(inner) = self.inner.as_mut() {
            inner.tick(now);
            AnyState::on_message_in(&mut self.inner, message);
        }
    }

    fn with_inner<T>(&self, f: impl FnOnce(&AnyState) -> T) -> Option<T> {
        self.inner.as_ref().map(f)
    }

    /// Feeds one socket event or timer expiry.
    pub fn handle_input(&mut self, input: Input<'_>, now: Instant) {
        // Nearly every input is a message: handed on from here, without
        // the register saves and stack the other inputs need.
        match input {
            Input::Message(bytes) => self.read(now, Unread::Bytes(bytes)),
            Input::Text(text) => self.read(now, Unread::Text(text)),
            other => self.handle_other_input(other, now),
        }
    }

    /// [`handle_input`](Self::handle_input) for an input but a message.
    #[inline(never)]
    fn handle_other_input(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Opened => self.step(now, AnyState::on_opened),
            Input::DialFailed { http_status, .. } => self.step(now, |i| i.on_refused(http_status)),
            Input::Message(bytes) => self.read(now, Unread::Bytes(bytes)),
            Input::Text(text) => self.read(now, Unread::Text(text)),
            Input::Closed { code, reason } => self.step(now, |i| i.on_closed(code, &reason)),
            Input::Pong => self.step(now, |mut i| {
                i.shared_mut().on_pong();
                i
            }),
            Input::Timeout => self.step(now, AnyState::on_timeout),
        }
    }

    /// The next thing to do; `Output::Wait` once drained.
    pub fn poll_output(&mut self) -> Output {
        match self.inner.as_mut() {
            Some(inner) => inner.poll_output(),
            None => Output::Wait(None),
        }
    }

    /// Hands back the message of an [`Event::Inbound`] the application is
    /// done with: the next inbound messages are decoded into its box and
    /// text buffers, so that a steady stream decodes without allocating.
    /// Optional, and bounded (see [`crate::recycle`]); changes nothing the
    /// application can observe but allocations.
    pub fn recycle(&mut self, event: Box<MessageEvent>) {
        if let Some(inner) = self.inner.as_mut() {
            inner.shared_mut().pool.recycle(event);
        }
    }

    /// [`recycle`](Self::recycle) for every message of `pool` (collected
    /// elsewhere, for example on the application's thread), which is left
    /// empty.
    pub fn recycle_all(&mut self, pool: &mut EventPool) {
        match self.inner.as_mut() {
            Some(inner) => inner.shared_mut().pool.append(pool),
            None => pool.clear(),
        }
    }

    /// Frees the memory of queues that are empty now (the output queue, the
    /// buffer of partial lines, the messages handed back with
    /// [`recycle`](Self::recycle)). For a driver whose link went quiet
    /// (serving after the handshake, or waiting on a dial), whose bursts
    /// left room reserved that a quiet connection does not need. Changes
    /// nothing else.
    pub fn release_idle_memory(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.shared_mut().release_idle_memory();
        }
    }

    /// Sends an action. Its result arrives as [`Event::Response`] or
    /// [`Event::RequestFailed`]; refusals (not connected, op not advertised)
    /// are immediate and send nothing.
    pub fn send(&mut self, action: Action, now: Instant) -> Result<RequestId, SendError> {
        self.send_with(action, &SendOptions::default(), now)
    }

    /// [`send`](Self::send) with `options` (an explicit platform).
    pub fn send_with(
        &mut self,
        action: Action,
        options: &SendOptions,
        now: Instant,
    ) -> Result<RequestId, SendError> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(SendError::NotConnected {
                state: State::Closed,
            });
        };
        inner.tick(now);
        let platform = options.platform.as_deref().filter(|p| !p.is_empty());
        match inner {
            AnyState::Serving(c) => c.send(action, platform),
            AnyState::GoingIdle(c) => c.send(action, platform),
            AnyState::Buffered(c) => c.send(action, platform),
            AnyState::Closing(_) => Err(SendError::Closing),
            other => Err(SendError::NotConnected {
                state: other.state(),
            }),
        }
    }

    /// Sends a fire-and-forget `interrupt` for `session_key`.
    pub fn interrupt(
        &mut self,
        session_key: impl Into<String>,
        reason: Option<String>,
        now: Instant,
    ) -> Result<(), SendError> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(SendError::NotConnected {
                state: State::Closed,
            });
        };
        inner.tick(now);
        match inner {
            AnyState::Serving(c) => c.interrupt(session_key.into(), reason),
            AnyState::GoingIdle(c) => c.interrupt(session_key.into(), reason),
            AnyState::Buffered(c) if c.socket_open() => {
                c.interrupt(session_key.into(), reason);
            }
            AnyState::Closing(_) => return Err(SendError::Closing),
            other => {
                return Err(SendError::NotConnected {
                    state: other.state(),
                });
            }
        }
        Ok(())
    }

    /// Asks the connector to buffer for us (`Serving` only); after the ack
    /// the link does what [`RelayConfig::effective_idle_mode`] says.
    pub fn go_idle(&mut self, now: Instant) -> Result<(), CommandError> {
        let mode = self
            .config()
            .map_or(IdleMode::Dormant, RelayConfig::effective_idle_mode);
        self.go_idle_with(mode, now)
    }

    /// Asks the connector to buffer for us (`Serving` only); after the ack
    /// the link does what `mode` says, whatever the configuration.
    pub fn go_idle_with(&mut self, mode: IdleMode, now: Instant) -> Result<(), CommandError> {
        let state = self.state();
        if state != State::Serving {
            return Err(serving::go_idle_refused(state));
        }
        self.step(now, |i| match i {
            AnyState::Serving(c) => AnyState::GoingIdle(c.go_idle(mode)),
            other => other,
        });
        Ok(())
    }

    /// Whether a socket is open (or being opened) for this link: true while
    /// handshaking, serving and going idle, and while buffered after an
    /// [`IdleMode::Keep`] idle.
    pub fn socket_open(&self) -> bool {
        self.with_inner(|i| i.shared().socket_live())
            .unwrap_or(false)
    }

    /// Dials now if `Buffered` (closing a kept socket first), or if a held
    /// re-dial waits; a no-op in other live states. Releases a hold
    /// ([`hold_redial`](Self::hold_redial)). Refused once terminal.
    pub fn wake(&mut self, now: Instant) -> Result<(), CommandError> {
        self.refuse_if_terminal("wake")?;
        self.step(now, |mut i| {
            i.shared_mut().release_hold();
            match i {
                AnyState::Buffered(c) => AnyState::Dialing(c.wake()),
                other => other.on_timeout(),
            }
        });
        Ok(())
    }

    /// Holds the next re-dial: one that becomes due (after a backoff, or on
    /// the dormant cadence) waits until [`release_redial`](Self::release_redial)
    /// or [`wake`](Self::wake), and at most [`Timeouts::redial_hold_max`]
    /// (60 s) from when it became due, reporting [`Event::RedialHeld`]; the
    /// wait uses the hold up. For a brokered suspend of the machine: a
    /// re-dial in the middle would undo the connector's flip to buffering.
    /// The immediate fresh-token re-dial that confirms a possible
    /// revocation is never held. Refused once terminal.
    ///
    /// [`Timeouts::redial_hold_max`]: crate::config::Timeouts::redial_hold_max
    pub fn hold_redial(&mut self, now: Instant) -> Result<(), CommandError> {
        self.refuse_if_terminal("hold_redial")?;
        self.step(now, |mut i| {
            i.shared_mut().hold.hold();
            i
        });
        Ok(())
    }

    /// Ends a hold ([`hold_redial`](Self::hold_redial)): a re-dial that
    /// waits dials now. A no-op without a hold; refused once terminal.
    pub fn release_redial(&mut self, now: Instant) -> Result<(), CommandError> {
        self.refuse_if_terminal("release_redial")?;
        self.step(now, |mut i| {
            i.shared_mut().release_hold();
            i.on_timeout()
        });
        Ok(())
    }

    fn refuse_if_terminal(&self, command: &'static str) -> Result<(), CommandError> {
        let state = self.state();
        if state.is_terminal() {
            return Err(CommandError::InvalidState { command, state });
        }
        Ok(())
    }

    /// The application durably took over a buffered delivery: `inbound_ack`
    /// is sent now (or on its redelivery if no socket is open).
    pub fn ack(&mut self, delivery: DeliveryHandle, now: Instant) -> Result<(), CommandError> {
        match self.inner.as_mut() {
            Some(inner) => {
                inner.tick(now);
                inner.shared_mut().ack(delivery)
            }
            None => Err(CommandError::UnknownDelivery {
                buffer_id: delivery.buffer_id.0,
            }),
        }
    }

    /// Deliberate shutdown; never dials again. With requests in flight on a
    /// live socket, it first waits up to [`Timeouts::shutdown_drain`] (5 s)
    /// for their results (state `Closing`: new sends are refused, results
    /// and inbound frames are handled as usual); then what is still pending
    /// fails with `Shutdown` and the socket closes with 1000. With nothing
    /// in flight it closes at once. Idempotent. The rules are in
    /// `connection/closing.rs`.
    ///
    /// [`Timeouts::shutdown_drain`]: crate::config::Timeouts::shutdown_drain
    pub fn shutdown(&mut self, now: Instant) {
        self.shutdown_within(Duration::MAX, now);
    }

    /// [`shutdown`](Self::shutdown) with a drain of at most `budget` (the
    /// configured drain applies when it is shorter); `Duration::ZERO` closes
    /// at once. A later call may shorten a drain under way, never extend it.
    pub fn shutdown_within(&mut self, budget: Duration, now: Instant) {
        let budget = match self.config() {
            Some(config) => budget.min(config.timeouts.shutdown_drain),
            None => Duration::ZERO,
        };
        self.step(now, |i| i.shutdown(budget));
    }

    /// Re-anchors the wall clock used to mint tokens (call it now and then if
    /// the monotonic and wall clocks may drift apart).
    pub fn set_wall_clock(&mut self, now: Instant, wall: UnixTime) {
        if let Some(inner) = self.inner.as_mut() {
            inner.shared_mut().set_wall_clock(now, wall);
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.with_inner(AnyState::state).unwrap_or(State::Closed)
    }

    /// Whether the link can never leave its state (revoked or shut down).
    pub fn is_terminal(&self) -> bool {
        self.state().is_terminal()
    }

    /// Whether the link is re-dialing to confirm a possible revocation.
    pub fn is_confirming_revocation(&self) -> bool {
        matches!(
            self.inner,
            Some(AnyState::ConfirmDialing(_) | AnyState::ConfirmHandshaking(_))
        )
    }

    /// The descriptor for `platform`, or the default (first) one for `None`.
    pub fn descriptor(&self, platform: Option<&str>) -> Option<&CapabilityDescriptor> {
        self.inner
            .as_ref()
            .and_then(|i| i.shared().descriptor(platform))
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.with_inner(|i| i.shared().stats).unwrap_or_default()
    }

    /// Requests in flight.
    pub fn pending_requests(&self) -> usize {
        self.with_inner(|i| i.shared().pending_requests())
            .unwrap_or(0)
    }

    /// The configuration.
    pub fn config(&self) -> Option<&RelayConfig> {
        self.inner.as_ref().map(|i| i.shared().config())
    }
}
