//! The connector's side and the network faults: upgrades (and refused
//! ones), forced drops, and what the connector's outputs become.

use relay_connector::{Accept, ConnectorOutput, SessionId};
use relay_core::Instant;

use crate::world::{Ev, Fail, ToGw, World, conn_wall};

impl World {
    pub(crate) fn fault_drop(&mut self) -> Result<(), Fail> {
        if self.healing {
            return Ok(());
        }
        if let Some(m) = self.swarm.drop_mean_ms {
            let t = self.now + self.rng.range_inclusive(1, 2 * m);
            self.schedule(t, Ev::Drop);
        }
        let open: Vec<(usize, u64, SessionId)> = self
            .socks
            .iter()
            .map(|(&(g, s), &sid)| (g, s, sid))
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let pick = self.rng.range_inclusive(0, open.len() as u64 - 1) as usize;
        let (gi, sock, sid) = open[pick];
        let (code, reason) = match self.rng.range_inclusive(0, 9) {
            0..=1 => (Some(1000), "fault"),
            2 => (Some(1001), "going away"),
            3..=5 => (None, ""),
            6..=7 => (Some(1011), "internal error"),
            8 => (Some(4401), "unauthorized"),
            _ => (Some(4401), "expired"),
        };
        self.stats.drops += 1;
        self.trace(format!(
            "FAULT drop gw{gi} sock{sock} {sid} code {code:?} {reason}"
        ));
        self.socks.remove(&(gi, sock));
        self.sessions.remove(&sid);
        self.connector
            .handle_closed(sid, Instant::from_millis(self.now));
        self.send_link(
            gi,
            sock,
            true,
            Ev::ToGw(gi, sock, ToGw::Closed(code, reason.to_owned())),
        );
        self.drain_conn()
    }

    pub(crate) fn on_accept(
        &mut self,
        gi: usize,
        sock: u64,
        headers: Vec<(String, String)>,
    ) -> Result<(), Fail> {
        if self.gws[gi].sock != Some(sock) {
            self.trace(format!("gw{gi} sock{sock} upgrade abandoned"));
            return Ok(());
        }
        if !self.healing
            && self.swarm.http_refusal_pct > 0
            && self.rng.chance(self.swarm.http_refusal_pct, 100)
        {
            let status = match self.rng.range_inclusive(0, 19) {
                0 => Some(410),
                1..=8 => Some(401),
                9 => None,
                _ => Some(503),
            };
            self.trace(format!(
                "FAULT gw{gi} sock{sock} upgrade refused {status:?}"
            ));
            self.send_link(gi, sock, true, Ev::ToGw(gi, sock, ToGw::DialFailed(status)));
            return Ok(());
        }
        let now = Instant::from_millis(self.now);
        match self.connector.accept(&headers, now, conn_wall(self.now)) {
            Accept::Accepted(sid) => {
                self.trace(format!("gw{gi} sock{sock} accepted as {sid}"));
                self.sessions.insert(sid, (gi, sock));
                self.socks.insert((gi, sock), sid);
                self.send_link(gi, sock, true, Ev::ToGw(gi, sock, ToGw::Opened));
            }
            Accept::RejectHttp { status } => {
                self.trace(format!("gw{gi} sock{sock} refused HTTP {status}"));
                let ev = Ev::ToGw(gi, sock, ToGw::DialFailed(Some(status)));
                self.send_link(gi, sock, true, ev);
            }
        }
        self.drain_conn()
    }

    pub(crate) fn drain_conn(&mut self) -> Result<(), Fail> {
        for _ in 0..100_000 {
            match self.connector.poll_output() {
                ConnectorOutput::Transmit { session, text } => {
                    let Some(&(gi, sock)) = self.sessions.get(&session) else {
                        continue;
                    };
                    let mut bytes = Vec::new();
                    if self.swarm.garbage_pct > 0 && self.rng.chance(self.swarm.garbage_pct, 100) {
                        let g: &[u8] = match self.rng.range_inclusive(0, 3) {
                            0 => b"{not json\n",
                            1 => b"\xff\xfe garbage\n",
                            2 => b"{\"type\": \"bogus_frame\", \"x\": 1}\n",
                            _ => b"[1,2,3]\n",
                        };
                        bytes.extend_from_slice(g);
                        self.trace(format!("FAULT garbage line to gw{gi}"));
                    }
                    bytes.extend_from_slice(text.as_bytes());
                    for chunk in self.chunks(bytes) {
                        self.send_link(gi, sock, true, Ev::ToGw(gi, sock, ToGw::Msg(chunk)));
                    }
                }
                ConnectorOutput::Close {
                    session,
                    code,
                    reason,
                } => {
                    if let Some((gi, sock)) = self.sessions.remove(&session) {
                        self.socks.remove(&(gi, sock));
                        self.trace(format!("conn close {session} gw{gi} {code} {reason}"));
                        let code = (code != 1006).then_some(code);
                        self.send_link(
                            gi,
                            sock,
                            true,
                            Ev::ToGw(gi, sock, ToGw::Closed(code, reason)),
                        );
                    }
                }
                ConnectorOutput::Dropped { session } => {
                    if let Some((gi, sock)) = self.sessions.remove(&session) {
                        self.socks.remove(&(gi, sock));
                        self.trace(format!("conn dropped {session} gw{gi}"));
                        self.send_link(
                            gi,
                            sock,
                            true,
                            Ev::ToGw(gi, sock, ToGw::Closed(None, String::new())),
                        );
                    }
                }
                ConnectorOutput::WakePoke { instance, .. } => {
                    self.trace(format!("conn wake poke {instance}"));
                    if let Some(gi) = self.gws.iter().position(|g| g.id == instance) {
                        let t = self.now + self.one_way(gi);
                        self.schedule(t, Ev::Wake(gi));
                    }
                }
                ConnectorOutput::Wait(deadline) => {
                    self.conn_gen += 1;
                    if let Some(d) = deadline {
                        let generation = self.conn_gen;
                        self.schedule(d.as_millis(), Ev::ConnTimer(generation));
                    }
                    return Ok(());
                }
            }
        }
        Err(Fail(
            "no-output-storm",
            "connector never reached Wait".to_owned(),
        ))
    }
}
