//! Outbound requests: the platform check, declined targets, the
//! `follow_up` capability check, a queued script or the responder's answer
//! (now, later or never) and the result.

use relay_core::time::Instant;
use relay_core::wire::{Action, ActionResult, ConnectorFrame, Outbound};

use super::connector::{Connector, PendingReply, bump};
use super::interface::SessionId;
use super::responder::{Request, Responder, Response, ScriptStep};

impl Connector {
    /// Replaces the responder that answers `outbound` requests.
    pub fn set_responder(&mut self, responder: Box<dyn Responder>) {
        self.responder = responder;
    }

    /// An `outbound` request: checked, then answered by the responder now,
    /// later or never.
    pub(super) fn on_outbound(&mut self, sid: SessionId, outbound: Outbound, now: Instant) {
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
        let default_platform = s.hellos.first().map(|h| h.platform.clone());
        if let Some(result) = self.declined(
            &outbound,
            &instance,
            default_platform.as_deref().unwrap_or("relay"),
        ) {
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
        let script = self.scripts.take(outbound.action.op());
        let response = {
            let req = Request {
                instance: &instance,
                tenant: &tenant,
                session: sid,
                outbound: &outbound,
                now,
            };
            match script {
                Some(ScriptStep::Respond(r)) => *r,
                // The responder's own answer, later (what it would send now).
                Some(ScriptStep::DelayDefault(delay)) => {
                    match self.responder.respond(&req, &mut self.rng) {
                        Response::Reply(result) | Response::After { result, .. } => {
                            Response::After { delay, result }
                        }
                        Response::Silence => Response::Silence,
                    }
                }
                None => self.responder.respond(&req, &mut self.rng),
            }
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

    /// Sends the `outbound_result` of `request_id`.
    pub(super) fn send_result(
        &mut self,
        sid: SessionId,
        request_id: String,
        result: ActionResult,
        now: Instant,
    ) {
        bump(&mut self.stats.outbound_results);
        let frame = ConnectorFrame::OutboundResult {
            request_id,
            result: Some(Box::new(result)),
        };
        self.transmit(sid, &frame, now);
    }

    /// Sends the delayed answers due at `now` (counted unanswered when
    /// their session is gone).
    pub(super) fn fire_due_replies(&mut self, now: Instant) {
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
    }
}
