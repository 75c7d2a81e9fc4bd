//! What arrives on a connection: lines decoded into frames, deliveries
//! handed to the application once (and acked once it says so), descriptors
//! kept per platform, results matched to their requests.

use super::shared::Shared;
use super::types::{
    CLOSE_TOO_BIG, CLOSE_TRY_AGAIN_LATER, CommandError, DeliveryHandle, Event, RequestError,
};
use crate::dedupe::{Admit, DeliveryState};
use crate::descriptor::CapabilityDescriptor;
use crate::lax::DecodeError;
use crate::message::{
    CompactString, MessageEvent, normalize_slack_command, shared_default_slack_commands,
};
use crate::replay::{self, Lookup};
use crate::request_id::RequestId;
use crate::scope::Learned;
use crate::wire::{
    BufferId, ConnectorFrame, GatewayFrame, decode_connector_frame_in, decode_connector_text_in,
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

/// A value that is set and not empty (what a chat's memory learns from).
fn nonempty(v: &Option<CompactString>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// Close reason when the bound of outstanding buffered deliveries is reached.
const TOO_MANY_UNACKED: &str = "too many unacked deliveries";

impl ReadSignals {
    /// The close this read calls for, if any: an over-long line (1009), else
    /// a new buffered delivery beyond the bound (1013).
    pub(super) fn close(&self) -> Option<(u16, &'static str)> {
        if self.too_large {
            Some((CLOSE_TOO_BIG, "frame too large"))
        } else if self.deliveries_full {
            Some((CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED))
        } else {
            None
        }
    }
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

impl Shared {
    /// The part of a message to read: all of it while the socket is live,
    /// nothing otherwise.
    pub(super) fn admit_message<'a>(&self, message: Unread<'a>) -> Unread<'a> {
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
    pub(super) fn read_lines(&mut self, rest: &mut Unread<'_>) -> ReadSignals {
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
    /// over the size limit (the socket is then closed). Rare: out of line.
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
        // Each text read once, for both the chat's memory and the identity.
        let (platform, chat_id) = (src.platform.as_str(), src.chat_id.as_str());
        self.scope.learn(
            chat_id,
            Learned {
                scope: nonempty(&src.scope_id),
                platform: Some(platform).filter(|p| *p != "relay" && !p.is_empty()),
                user_id: nonempty(&src.user_id),
                profile: nonempty(&src.profile),
            },
        );
        // One probe of the replay memory serves the check and the record.
        let identity = replay::identity_of_parts(platform, chat_id, event.message_id.as_deref())
            .map(|identity| (identity, self.replays.look_up(identity)));
        // PLANTED BUG when skipped: a replay is handed over again.
        if let Some((_, lookup)) = identity
            && !planted!(self, HandReplays)
            && lookup == Lookup::Known
            && buffer_id
                .as_ref()
                .is_none_or(|b| self.dedupe.get(b.as_str()).is_none())
        {
            self.drop_replay(buffer_id);
            return false;
        }
        match self.admit(buffer_id) {
            Admitted::Hand(delivery) => {
                if let Some((identity, lookup)) = identity {
                    self.replays.remember_new(identity, lookup);
                }
                let mut event = event;
                self.normalize_slack(&mut event);
                self.event(Event::Inbound { event, delivery });
            }
            Admitted::Skip => {}
            Admitted::Full => {
                signals.deliveries_full = true;
                return true;
            }
        }
        false
    }

    /// A message the application was handed already (a replay): not handed
    /// again; a buffered one is acked at once, since the application has it.
    #[cold]
    fn drop_replay(&mut self, buffer_id: Option<BufferId>) {
        self.stats.replays_dropped += 1;
        if let Some(buffer_id) = buffer_id {
            let id = buffer_id.0.clone();
            if self.send_ack(buffer_id) {
                self.dedupe.record_acked(&id);
            }
        }
    }

    /// Rewrites Slack's `/hermes <command>` into the command it names.
    fn normalize_slack(&self, event: &mut MessageEvent) {
        if event.source.platform != "slack" {
            return;
        }
        let commands = match &self.config.slack_commands {
            Some(commands) => commands,
            None => shared_default_slack_commands(),
        };
        if let Some((text, kind)) = normalize_slack_command(&event.text, commands) {
            event.text = text;
            event.message_type = kind;
        }
    }

    /// Every frame but an inbound message (far rarer: out of line).
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
                        Some(result) => Event::Response { request_id, result },
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
    pub(super) fn ack(&mut self, handle: DeliveryHandle) -> Result<(), CommandError> {
        let id = handle.buffer_id;
        let live = self.socket_live;
        match self.dedupe.app_acked(id.as_str(), live) {
            None => Err(CommandError::UnknownDelivery { buffer_id: id.0 }),
            Some(DeliveryState::Acked | DeliveryState::AckQueued) => {
                Err(CommandError::AlreadyAcked { buffer_id: id.0 })
            }
            Some(DeliveryState::Handed) => {
                self.send_ack(id);
                Ok(())
            }
        }
    }

    // ----- descriptors ----------------------------------------------------

    pub(super) fn descriptor(&self, platform: Option<&str>) -> Option<&CapabilityDescriptor> {
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
}
