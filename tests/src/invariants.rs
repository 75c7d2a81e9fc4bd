//! The invariants checked after every step and at convergence, and the
//! bookkeeping they rest on.

use std::fmt::Write as _;

use relay_core::State;

use crate::REQUEST_TOLERANCE_MS;
use crate::world::{Ev, Fail, World};

impl World {
    pub(crate) fn is_out(&self, gi: usize) -> bool {
        let g = &self.gws[gi];
        g.revoked || self.connector.is_revoked(&g.id)
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
            if let Some(bid) = g.buffered.difference(&g.handed).next() {
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
