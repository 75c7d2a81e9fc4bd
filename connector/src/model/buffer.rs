//! Buffering and draining: deliveries live or into the instance's buffer,
//! the flip to buffered-only, the ack-gated drain and its acks.

use relay_core::message::MessageEvent;
use relay_core::time::Instant;
use relay_core::wire::{BufferId, ConnectorFrame, PassthroughForward};

use super::connector::{Connector, Item, Payload, bump};
use super::interface::{Delivery, SessionId};

/// Acked buffer ids remembered per instance to tell duplicate acks apart.
const RECENT_ACKS: usize = 1024;

impl Connector {
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

    /// Replays `event` to `instance` from the durable buffer, whatever the
    /// instance's state: it is appended to the buffer (and sent at once,
    /// with its `bufferId`, to a draining session), as a connector replays
    /// a message it had delivered live on a socket that then dropped.
    pub fn replay(&mut self, instance: &str, event: MessageEvent, now: Instant) -> Delivery {
        self.deliver_into(instance, Payload::Inbound(Box::new(event)), now, true)
    }

    /// Delivers `payload` live, into the buffer, or nowhere.
    fn deliver_payload(&mut self, instance: &str, payload: Payload, now: Instant) -> Delivery {
        self.deliver_into(instance, payload, now, false)
    }

    /// Delivers `payload` live (unless `buffered`), into the buffer, or
    /// nowhere.
    fn deliver_into(
        &mut self,
        instance: &str,
        payload: Payload,
        now: Instant,
        buffered: bool,
    ) -> Delivery {
        let now = self.clock(now);
        let inst = self.instances.entry(instance.to_owned()).or_default();
        let serving = inst
            .current
            .filter(|sid| self.sessions.get(sid).is_some_and(|s| s.serving));
        if let Some(sid) = serving
            && !buffered
            && !inst.flipped
            && inst.buffer.is_empty()
        {
            bump(&mut self.stats.delivered_live);
            self.transmit(sid, &frame_for(payload, None), now);
            return Delivery::Live(sid);
        }
        if serving.is_none() && !buffered && !inst.flipped && !self.config.buffer_when_disconnected
        {
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

    /// `going_idle`: the session stops draining and the instance flips to
    /// buffered-only (a wake poke owed).
    pub(super) fn on_going_idle(&mut self, sid: SessionId, now: Instant) {
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

    /// `inbound_ack`: marks the item acked (or counts the ack as a duplicate
    /// or unknown) and drains on.
    pub(super) fn on_ack(&mut self, sid: SessionId, id: &BufferId, now: Instant) {
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

    /// Drops acked items from the front of the buffer, sends buffered items
    /// to the instance's draining session while the window allows, and
    /// clears the flip once a draining session has emptied the buffer.
    pub(super) fn pump(&mut self, instance: &str, now: Instant) {
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

/// The frame that carries `payload`.
fn frame_for(payload: Payload, buffer_id: Option<BufferId>) -> ConnectorFrame {
    match payload {
        Payload::Inbound(event) => ConnectorFrame::Inbound { event, buffer_id },
        Payload::Passthrough(forward) => ConnectorFrame::PassthroughForward { forward, buffer_id },
    }
}
