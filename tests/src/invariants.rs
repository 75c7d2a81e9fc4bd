//! The invariants checked after every step and at convergence, and the
//! bookkeeping they rest on.

use std::fmt::Write as _;

use relay_core::State;

use crate::consts::REQUEST_TOLERANCE_MS;
use crate::world::{Ev, Fail, World};

impl World {
    pub(crate) fn is_out(&self, gi: usize) -> bool {
        let g = &self.gws[gi];
        g.revoked || self.connector.is_revoked(&g.id) || g.drain_deadline.is_some()
    }

    /// Whether buffered delivery `bid` carried a message the application
    /// was handed already (a replay: the core acks it by itself).
    pub(crate) fn is_replay_of_handed(&self, gi: usize, bid: &str) -> bool {
        let g = &self.gws[gi];
        g.msg_of_buffer
            .get(bid)
            .is_some_and(|m| g.handed_msgs.contains(m))
    }

    /// A message reached the application: never the same one twice (every
    /// run stays far below the core's window of 512 identities).
    pub(crate) fn handed_message(&mut self, gi: usize, msg: Option<&str>) -> Result<(), Fail> {
        let Some(msg) = msg else {
            return Ok(());
        };
        if !self.gws[gi].handed_msgs.insert(msg.to_owned()) {
            return Err(Fail(
                "no-replay-handed-twice",
                format!("gw{gi} handed message {msg} to the app twice"),
            ));
        }
        Ok(())
    }

    /// A re-dial became due while held: it waits at most the cap.
    pub(crate) fn held_redial(&mut self, gi: usize, until: u64) -> Result<(), Fail> {
        let cap = self.gws[gi]
            .conn
            .config()
            .map_or(0, |c| c.timeouts.redial_hold_max.as_millis() as u64);
        if until > self.now + cap {
            return Err(Fail(
                "held-redial-within-cap",
                format!("gw{gi} parked a re-dial until {until}, past the {cap} ms cap"),
            ));
        }
        self.gws[gi].parked_until = Some(until);
        Ok(())
    }

    /// Whether `gi` shows the (fixed) late-`going_idle_ack` fault: still on
    /// the socket whose `go_idle` timed out while the connector is flipped for
    /// it. Only labels a liveness failure, to make a regression easy to spot.
    pub(crate) fn stuck_late_idle_ack(&self, gi: usize) -> bool {
        let g = &self.gws[gi];
        g.sock.is_some() && g.idle_refused_sock == g.sock && self.connector.is_flipped(&g.id)
    }

    pub(crate) fn converged(&self) -> bool {
        (0..self.gws.len()).all(|gi| {
            self.is_out(gi)
                || (self.gws[gi].conn.state() == State::Serving
                    && self.connector.buffer_len(&self.gws[gi].id) == 0)
        })
    }

    /// Every item the connector buffered for a gateway that is still in
    /// play reached its application.
    pub(crate) fn check_nothing_lost(&self) -> Result<(), Fail> {
        for (gi, g) in self.gws.iter().enumerate() {
            if self.is_out(gi) {
                continue;
            }
            let reached = |bid: &String| {
                g.handed.contains(bid)
                    || g.msg_of_buffer
                        .get(bid)
                        .is_some_and(|m| g.handed_msgs.contains(m))
            };
            if let Some(bid) = g.buffered.iter().find(|b| !reached(b)) {
                return Err(Fail(
                    "no-lost-buffered-item",
                    format!(
                        "{} never handed {bid} to the app, yet the buffer is empty",
                        g.id
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn liveness_detail(&self) -> String {
        let mut s = String::from("not converged:");
        for (gi, g) in self.gws.iter().enumerate() {
            if self.is_out(gi) {
                continue;
            }
            let _ = write!(
                s,
                " {}={}/buf{}{}",
                g.id,
                g.conn.state(),
                self.connector.buffer_len(&g.id),
                if self.stuck_late_idle_ack(gi) {
                    "(late-idle-ack)"
                } else {
                    ""
                }
            );
        }
        s
    }

    pub(crate) fn check(&self) -> Result<(), Fail> {
        for g in &self.gws {
            if let Some(until) = g.parked_until
                && self.now > until + REQUEST_TOLERANCE_MS
                && !g.conn.is_terminal()
            {
                return Err(Fail(
                    "held-redial-within-cap",
                    format!("{} still holds a re-dial due by {until}", g.id),
                ));
            }
            if let Some(deadline) = g.drain_deadline
                && self.now > deadline + REQUEST_TOLERANCE_MS
                && !g.requests.is_empty()
            {
                return Err(Fail(
                    "shutdown-ends-requests-within-drain",
                    format!(
                        "{} still has {} requests past its drain ({deadline})",
                        g.id,
                        g.requests.len()
                    ),
                ));
            }
            for (id, &(deadline, sock)) in &g.requests {
                if g.sock != Some(sock) {
                    return Err(Fail(
                        "requests-fail-with-their-socket",
                        format!(
                            "{} request {id} sent on sock{sock} still pending after that socket ended",
                            g.id
                        ),
                    ));
                }
                if self.now > deadline + REQUEST_TOLERANCE_MS {
                    return Err(Fail(
                        "request-ends-by-deadline",
                        format!("{} request {id} still pending past {deadline}ms", g.id),
                    ));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn on_revoked(&mut self, gi: usize) -> Result<(), Fail> {
        let g = &mut self.gws[gi];
        if !g.revoked {
            g.revoked = true;
            let (served, got_410) = (g.ever_served, g.got_410);
            self.trace(format!(
                "gw{gi} REVOKED (ever_served={served} got_410={got_410})"
            ));
            if !served && !got_410 {
                return Err(Fail(
                    "cold-start-4401-never-revokes",
                    format!("gw{gi} revoked without ever serving and without HTTP 410"),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn handed(&mut self, gi: usize, bid: String) -> Result<(), Fail> {
        if !self.gws[gi].handed.insert(bid.clone()) {
            return Err(Fail(
                "no-duplicate-handoff",
                format!("gw{gi} handed {bid} to the app twice"),
            ));
        }
        self.stats.handed += 1;
        let max = if self.healing {
            500
        } else {
            self.swarm.ack_delay_max_ms
        };
        let t = self.now + self.rng.range_inclusive(0, max);
        self.schedule(t, Ev::AppAck(gi, bid.clone()));
        if self.swarm.ack_dup_pct > 0 && self.rng.chance(self.swarm.ack_dup_pct, 100) {
            let t2 = t + self.rng.range_inclusive(0, 5_000);
            self.schedule(t2, Ev::AppAck(gi, bid));
        }
        Ok(())
    }

    pub(crate) fn end_request(&mut self, gi: usize, id: &str, how: &str) -> Result<(), Fail> {
        self.trace(format!("gw{gi} request {id} {how}"));
        let g = &mut self.gws[gi];
        match g.requests.remove(id) {
            Some((deadline, _)) => {
                g.ended.insert(id.to_owned());
                if self.now > deadline + REQUEST_TOLERANCE_MS {
                    return Err(Fail(
                        "request-ends-by-deadline",
                        format!("gw{gi} request {id} ended at {} > {deadline}", self.now),
                    ));
                }
                Ok(())
            }
            None if g.ended.contains(id) => Err(Fail(
                "request-ends-once",
                format!("gw{gi} request {id} ended twice ({how})"),
            )),
            None => Err(Fail(
                "request-ends-once",
                format!("gw{gi} request {id} ended but was never sent ({how})"),
            )),
        }
    }
}
