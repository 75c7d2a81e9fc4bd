//! What a driver feeds the model besides upgrades and closes: the bytes of
//! a session (lines reassembled across messages, decoded, logged, and each
//! frame handed to the part of the model that answers it) and due timers.

use relay_core::time::Instant;
use relay_core::wire::{GatewayFrame, decode_gateway_frame};

use super::connector::{Connector, bump};
use super::interface::SessionId;
use super::observe::Direction;

impl Connector {
    /// Fires due timers: delayed answers and deferred wake pokes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock(now);
        self.fire_due_replies(now);
        self.fire_due_pokes(now);
    }

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

    /// Hands a decoded frame to the part of the model that answers it.
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
}
