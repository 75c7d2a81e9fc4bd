//! The gateways' side: the simulated application (sends, idle, wake,
//! acks) and what each gateway's core outputs become on the network.

use relay_core::config::IdleMode;
use relay_core::connection::SendOptions;
use relay_core::wire::{Action, GatewayFrame, SendAction, decode_gateway_frame};
use relay_core::{Event, Input, Instant, Output, State};

use crate::consts::IDLE_ACK_MS;
use crate::world::{Ev, Fail, ToGw, World, gw_wall, short};

impl World {
    pub(crate) fn set_skew(&mut self, gi: usize, skew: i64) {
        self.gws[gi].skew = skew;
        self.trace(format!("gw{gi} skew {skew}s"));
        let wall = gw_wall(self.now, skew);
        self.gws[gi]
            .conn
            .set_wall_clock(Instant::from_millis(self.now), wall);
    }

    pub(crate) fn app_tick(&mut self, gi: usize) -> Result<(), Fail> {
        let now = Instant::from_millis(self.now);
        let state = self.gws[gi].conn.state();
        if self.healing {
            // A dormant gateway must come back by itself (its cadence); the
            // others wait for their application.
            if matches!(state, State::Buffered) && self.gws[gi].idle_mode != Some(IdleMode::Dormant)
            {
                let r = self.gws[gi].conn.wake(now);
                self.trace(format!("gw{gi} heal wake -> {r:?}"));
            }
        } else {
            let roll = self.rng.range_inclusive(0, 99);
            if roll < 40 && matches!(state, State::Serving | State::GoingIdle | State::Closing) {
                let action = Action::Send(SendAction {
                    chat_id: format!("chan-{gi}"),
                    content: format!("reply {}", self.step),
                    ..Default::default()
                });
                // Some sends name their platform: the fronted one, or one
                // the gateway never said hello for (the connector refuses).
                let mut options = SendOptions::new();
                if self.swarm.tagged_pct > 0 && self.rng.chance(self.swarm.tagged_pct, 100) {
                    let platform = if self.rng.chance(1, 2) {
                        "discord"
                    } else {
                        "slack"
                    };
                    options = options.platform(platform);
                }
                let sent = self.gws[gi].conn.send_with(action, &options, now);
                if state == State::Closing && sent.is_ok() {
                    return Err(Fail(
                        "no-send-while-closing",
                        format!("gw{gi} wrote a request while shutting down"),
                    ));
                }
                match sent {
                    Ok(id) => {
                        let deadline = self.now + 30_000;
                        let sock = self.gws[gi].sock.unwrap_or(0);
                        self.stats.requests += 1;
                        self.trace(format!("gw{gi} request {id} deadline {deadline}"));
                        self.gws[gi]
                            .requests
                            .insert(id.as_str().to_owned(), (deadline, sock));
                    }
                    Err(e) => self.trace(format!("gw{gi} send refused: {e}")),
                }
            } else if self.swarm.idle_wake && roll < 55 && state == State::Serving {
                // Both of the reference's modes (keep the socket; close and
                // re-dial on a cadence) and the wake-only one.
                let mode = match self.rng.range_inclusive(0, 2) {
                    0 => IdleMode::Keep,
                    1 => IdleMode::Close,
                    _ => IdleMode::Dormant,
                };
                let r = self.gws[gi].conn.go_idle_with(mode, now);
                if r.is_ok() {
                    self.gws[gi].idle_mode = Some(mode);
                    match mode {
                        IdleMode::Keep => self.stats.idle_keep += 1,
                        IdleMode::Close => self.stats.idle_close += 1,
                        IdleMode::Dormant => self.stats.idle_dormant += 1,
                    }
                }
                self.trace(format!("gw{gi} go_idle({}) -> {r:?}", mode.as_str()));
            } else if self.swarm.idle_wake && roll < 70 {
                let r = self.gws[gi].conn.wake(now);
                self.trace(format!("gw{gi} wake ({state}) -> {r:?}"));
            } else if self.swarm.holds && roll < 80 {
                let r = if self.rng.chance(1, 2) {
                    ("hold", self.gws[gi].conn.hold_redial(now))
                } else {
                    ("release", self.gws[gi].conn.release_redial(now))
                };
                self.trace(format!("gw{gi} {} redial ({state}) -> {:?}", r.0, r.1));
            }
        }
        self.drain_gw(gi)?;
        let t = self.now + self.rng.range_inclusive(100, 3_000);
        self.schedule(t, Ev::AppTick(gi));
        Ok(())
    }

    pub(crate) fn on_to_gw(&mut self, gi: usize, sock: u64, what: ToGw) -> Result<(), Fail> {
        if self.gws[gi].sock != Some(sock) {
            return Ok(());
        }
        let now = Instant::from_millis(self.now);
        let conn = &mut self.gws[gi].conn;
        let line = match what {
            ToGw::Opened => {
                conn.handle_input(Input::Opened, now);
                "opened".to_owned()
            }
            ToGw::Msg(bytes) => {
                conn.handle_input(Input::Message(&bytes), now);
                format!("<- {}", short(&bytes))
            }
            ToGw::Closed(code, reason) => {
                self.gws[gi].sock = None;
                self.gws[gi].going_idle_at = None;
                self.gws[gi].conn.handle_input(
                    Input::Closed {
                        code,
                        reason: reason.clone(),
                    },
                    now,
                );
                format!("closed by peer {code:?} {reason}")
            }
            ToGw::Pong => {
                conn.handle_input(Input::Pong, now);
                "pong".to_owned()
            }
            ToGw::DialFailed(status) => {
                self.gws[gi].sock = None;
                if status == Some(410) {
                    self.gws[gi].got_410 = true;
                }
                let reason = match status {
                    Some(s) => format!("HTTP {s}"),
                    None => "connection refused".to_owned(),
                };
                self.gws[gi].conn.handle_input(
                    Input::DialFailed {
                        http_status: status,
                        reason: reason.clone(),
                    },
                    now,
                );
                format!("dial failed: {reason}")
            }
        };
        self.trace(format!("gw{gi} sock{sock} {line}"));
        self.drain_gw(gi)
    }

    pub(crate) fn drain_gw(&mut self, gi: usize) -> Result<(), Fail> {
        // The ack arrived (Buffered) or its deadline passed (Serving again):
        // the window in which the gateway must keep the socket is over.
        if matches!(self.gws[gi].conn.state(), State::Buffered | State::Serving) {
            self.gws[gi].going_idle_at = None;
        }
        for _ in 0..100_000 {
            let out = self.gws[gi].conn.poll_output();
            match out {
                Output::Dial { target, headers } => {
                    self.gws[gi].parked_until = None;
                    if self.gws[gi].revoked || self.gws[gi].conn.state() == State::Revoked {
                        return Err(Fail(
                            "no-dial-after-revoked",
                            format!("gw{gi} dialed {target}"),
                        ));
                    }
                    let g = &mut self.gws[gi];
                    g.sock_counter += 1;
                    let sock = g.sock_counter;
                    g.sock = Some(sock);
                    self.trace(format!("gw{gi} dial sock{sock}"));
                    let t = self.now + self.one_way(gi);
                    self.schedule(t, Ev::Accept(gi, sock, headers));
                }
                Output::Transmit(text) => {
                    let Some(sock) = self.gws[gi].sock else {
                        self.trace(format!(
                            "gw{gi} transmit without socket: {}",
                            short(text.as_bytes())
                        ));
                        continue;
                    };
                    self.trace(format!("gw{gi} -> {}", short(text.as_bytes())));
                    if text.contains("\"going_idle\"") {
                        self.gws[gi].going_idle_at = Some(self.now);
                    }
                    if text.contains("\"inbound_ack\"")
                        && let Ok(GatewayFrame::InboundAck { buffer_id }) =
                            decode_gateway_frame(text.trim_end().as_bytes())
                        && !self.gws[gi].app_acked.contains(buffer_id.as_str())
                        && !self.is_replay_of_handed(gi, buffer_id.as_str())
                    {
                        return Err(Fail(
                            "inbound-ack-after-app-ack",
                            format!(
                                "gw{gi} sent inbound_ack for {buffer_id:?} before the app acked it"
                            ),
                        ));
                    }
                    if let Some(&sid) = self.socks.get(&(gi, sock)) {
                        for chunk in self.chunks(text.into_bytes()) {
                            self.send_link(gi, sock, false, Ev::ToConnMsg(sid, chunk));
                        }
                    }
                }
                Output::Ping => {
                    if let Some(sock) = self.gws[gi].sock {
                        let back = self.one_way(gi);
                        let mut at = self.now + back;
                        if let Some(&until) = self.stalls.get(&(gi, sock)) {
                            at = at.max(until);
                        }
                        let last = self.link_last.entry((gi, sock, true)).or_insert(0);
                        let at = (at + back).max(*last);
                        *last = at;
                        self.schedule(at, Ev::ToGw(gi, sock, ToGw::Pong));
                    }
                }
                Output::Close { code, reason } => {
                    let sock = self.gws[gi].sock.take();
                    self.trace(format!("gw{gi} close {sock:?} {code} {reason}"));
                    // A deliberate shutdown by the application may close
                    // at any time.
                    if let Some(at) = self.gws[gi].going_idle_at.take()
                        && self.now < at + IDLE_ACK_MS
                        && self.gws[gi].drain_deadline.is_none()
                    {
                        return Err(Fail(
                            "no-close-while-awaiting-idle-ack",
                            format!(
                                "gw{gi} closed ({code} {reason}) {}ms after going_idle",
                                self.now - at
                            ),
                        ));
                    }
                    if let Some(sock) = sock
                        && let Some(sid) = self.socks.remove(&(gi, sock))
                    {
                        self.sessions.remove(&sid);
                        self.send_link(gi, sock, false, Ev::ToConnClosed(sid));
                    }
                }
                Output::Event(e) => self.on_event(gi, e)?,
                Output::Wait(deadline) => {
                    let g = &mut self.gws[gi];
                    g.timer_gen += 1;
                    let generation = g.timer_gen;
                    if let Some(d) = deadline {
                        self.schedule(d.as_millis(), Ev::GwTimer(gi, generation));
                    }
                    return Ok(());
                }
            }
        }
        Err(Fail(
            "no-output-storm",
            format!("gw{gi} never reached Wait"),
        ))
    }

    pub(crate) fn on_event(&mut self, gi: usize, e: Event) -> Result<(), Fail> {
        match e {
            Event::StateChanged { from, to } => {
                self.trace(format!("gw{gi} state {from} -> {to}"));
                if to == State::Serving {
                    self.gws[gi].ever_served = true;
                }
                if from == State::GoingIdle {
                    self.gws[gi].going_idle_at = None;
                }
                if to == State::Revoked {
                    self.on_revoked(gi)?;
                }
            }
            Event::Revoked => self.on_revoked(gi)?,
            Event::Inbound { event, delivery } => {
                self.handed_message(gi, event.message_id.as_deref())?;
                if let Some(handle) = delivery {
                    let bid = handle.buffer_id().as_str().to_owned();
                    self.trace(format!("gw{gi} app got {bid} {}", event.text));
                    self.handed(gi, bid)?;
                } else {
                    self.trace(format!("gw{gi} app got live {}", event.text));
                }
            }
            Event::RedialHeld { until } => {
                let until = until.as_millis();
                self.trace(format!("gw{gi} re-dial held until {until}"));
                self.stats.held += 1;
                self.held_redial(gi, until)?;
            }
            Event::Passthrough {
                delivery: Some(handle),
                ..
            } => {
                let bid = handle.buffer_id().as_str().to_owned();
                self.handed(gi, bid)?;
            }
            Event::Response { request_id, .. } => {
                self.end_request(gi, request_id.as_str(), "response")?;
            }
            Event::RequestFailed { request_id, error } => {
                let how = format!("failed: {error}");
                self.end_request(gi, request_id.as_str(), &how)?;
                // Every request of the simulation was written: its failure
                // may have taken effect.
                if !error.is_ambiguous() {
                    return Err(Fail(
                        "written-request-fails-ambiguous",
                        format!("gw{gi} request {request_id} failed unambiguously: {error}"),
                    ));
                }
            }
            Event::IdleRefused {
                reason: relay_core::connection::IdleRefusal::AckTimeout,
            } => {
                self.trace(format!("gw{gi} idle refused: ack timeout"));
                self.gws[gi].idle_refused_sock = self.gws[gi].sock;
            }
            other => {
                let s = format!("{other:?}");
                self.trace(format!("gw{gi} event {}", short(s.as_bytes())));
            }
        }
        Ok(())
    }
}
