//! End to end, in process: a real `Connection` wired to the reference
//! `Connector` model with zero latency. No sockets, no real time.

use core::time::Duration;

use relay_connector::{Accept, Connector, ConnectorConfig, ConnectorOutput, Delivery, SessionId};
use relay_core::config::{PlatformIdentity, RelayConfig};
use relay_core::connection::{Connection, DeliveryHandle, Event, Input, Output, State};
use relay_core::message::{ChatType, MessageEvent, SessionSource};
use relay_core::wire::Action;
use relay_core::{Instant, UnixTime};

const GW: &str = "gw-1";
const SECRET: &str = "s3cret";
const WALL0: u64 = 1_700_000_000;

/// A gateway and a connector joined by an instantaneous, lossless link.
struct Pair {
    gw: Connection,
    conn: Connector,
    session: Option<SessionId>,
    now: Instant,
    events: Vec<Event>,
    dials: usize,
    pokes: usize,
    auto_wake: bool,
}

fn gateway_config(identities: Vec<PlatformIdentity>) -> RelayConfig {
    RelayConfig {
        relay_url: "http://connector.test".into(),
        identities,
        gateway_id: Some(GW.into()),
        secret: Some(SECRET.into()),
        ..RelayConfig::default()
    }
}

impl Pair {
    fn new(config: RelayConfig, secrets: &[&str]) -> Self {
        let mut conn = Connector::new(ConnectorConfig::default(), 7);
        conn.add_gateway(GW, secrets);
        let now = Instant::ZERO;
        let gw = Connection::new(config, 42, now, UnixTime::from_secs(WALL0));
        let mut p = Pair {
            gw,
            conn,
            session: None,
            now,
            events: Vec::new(),
            dials: 0,
            pokes: 0,
            auto_wake: true,
        };
        p.pump();
        p
    }

    fn wall(&self) -> UnixTime {
        UnixTime::from_secs(WALL0 + self.now.as_millis() / 1000)
    }

    /// Moves outputs both ways until neither side has anything to do.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            loop {
                match self.gw.poll_output() {
                    Output::Wait(_) => break,
                    out => {
                        moved = true;
                        self.gateway_output(out);
                    }
                }
            }
            loop {
                match self.conn.poll_output() {
                    ConnectorOutput::Wait(_) => break,
                    out => {
                        moved = true;
                        self.connector_output(out);
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    fn gateway_output(&mut self, out: Output) {
        let now = self.now;
        match out {
            Output::Dial { headers, .. } => {
                self.dials += 1;
                match self.conn.accept(&headers, now, self.wall()) {
                    Accept::Accepted(sid) => {
                        self.session = Some(sid);
                        self.gw.handle_input(Input::Opened, now);
                    }
                    Accept::RejectHttp { status } => self.gw.handle_input(
                        Input::DialFailed {
                            http_status: Some(status),
                            reason: "refused".into(),
                        },
                        now,
                    ),
                }
            }
            Output::Transmit(text) => {
                if let Some(sid) = self.session {
                    self.conn.handle_message(sid, text.as_bytes(), now);
                }
            }
            Output::Close { .. } => {
                if let Some(sid) = self.session.take() {
                    self.conn.handle_closed(sid, now);
                }
            }
            Output::Ping => self.gw.handle_input(Input::Pong, now),
            Output::Event(e) => self.events.push(e),
            Output::Wait(_) => {}
        }
    }

    fn connector_output(&mut self, out: ConnectorOutput) {
        let now = self.now;
        match out {
            ConnectorOutput::Transmit { session, text } if Some(session) == self.session => {
                self.gw.handle_input(Input::Message(text.as_bytes()), now);
            }
            ConnectorOutput::Close {
                session,
                code,
                reason,
            } if Some(session) == self.session => {
                self.session = None;
                self.gw.handle_input(
                    Input::Closed {
                        code: Some(code),
                        reason,
                    },
                    now,
                );
            }
            ConnectorOutput::Dropped { session } if Some(session) == self.session => {
                self.session = None;
                self.gw.handle_input(
                    Input::Closed {
                        code: None,
                        reason: "dropped".into(),
                    },
                    now,
                );
            }
            ConnectorOutput::WakePoke { .. } => {
                self.pokes += 1;
                if self.auto_wake {
                    let _ = self.gw.wake(now);
                }
            }
            _ => {}
        }
    }

    /// Advances time step by step, firing every deadline on the way.
    fn advance(&mut self, by: Duration) {
        let end = self.now.saturating_add(by);
        while self.now < end {
            self.now = self.now.saturating_add(Duration::from_millis(100)).min(end);
            self.gw.handle_input(Input::Timeout, self.now);
            self.conn.handle_timeout(self.now);
            self.pump();
        }
    }

    /// The drop of the socket as the gateway sees it (abnormal end).
    fn drop_link(&mut self) {
        if let Some(sid) = self.session.take() {
            self.conn.handle_closed(sid, self.now);
        }
        self.gw.handle_input(
            Input::Closed {
                code: None,
                reason: "reset".into(),
            },
            self.now,
        );
        self.pump();
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Buffered inbound handed to the app: (text, handle).
    fn inbound_handles(&mut self) -> Vec<(String, DeliveryHandle)> {
        self.take_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Inbound {
                    event,
                    delivery: Some(d),
                } => Some((event.text, d)),
                _ => None,
            })
            .collect()
    }
}

fn message(chat: &str, text: &str) -> MessageEvent {
    MessageEvent {
        text: text.into(),
        source: SessionSource {
            platform: "discord".into(),
            chat_id: chat.into(),
            chat_type: ChatType::Group,
            scope_id: Some("guild-1".into()),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}

#[test]
fn handshake_with_two_platforms_serves_with_both_descriptors() {
    let p = Pair::new(
        gateway_config(vec![
            PlatformIdentity::new("discord", "app-1"),
            PlatformIdentity::new("telegram", "bot-9"),
        ]),
        &[SECRET],
    );
    assert_eq!(p.gw.state(), State::Serving);
    assert_eq!(
        p.gw.descriptor(None).map(|d| d.platform.as_str()),
        Some("discord")
    );
    assert_eq!(
        p.gw.descriptor(Some("telegram"))
            .map(|d| d.platform.as_str()),
        Some("telegram")
    );
    let sid = p.session.expect("a live session");
    let hellos: Vec<_> = p
        .conn
        .hellos(sid)
        .iter()
        .map(|h| (h.platform.clone(), h.bot_id.clone()))
        .collect();
    assert_eq!(
        hellos,
        [
            ("discord".into(), "app-1".into()),
            ("telegram".into(), "bot-9".into())
        ]
    );
    assert_eq!(p.dials, 1);
}

#[test]
fn request_is_answered_and_correlated() {
    let mut p = Pair::new(gateway_config(vec![]), &[SECRET]);
    p.take_events();
    let id =
        p.gw.send(Action::send("chan-1", "hi"), p.now)
            .expect("serving");
    p.pump();
    let results: Vec<_> = p
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Response { request_id, result } => Some((request_id, result)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, id);
    assert!(results[0].1.success);
    assert!(results[0].1.message_id.is_some());
    assert_eq!(p.gw.pending_requests(), 0);
}

#[test]
fn idle_buffer_wake_drain_acks_each_item_exactly_once() {
    let mut p = Pair::new(gateway_config(vec![]), &[SECRET]);
    p.conn.set_wake_url(GW, "http://gateway.test/wake");
    p.gw.go_idle(p.now).expect("serving");
    p.auto_wake = false;
    p.pump();
    assert_eq!(p.gw.state(), State::Buffered);
    assert!(p.conn.is_flipped(GW));
    p.take_events();

    for i in 1..=3 {
        let d = p
            .conn
            .deliver(GW, message("chan-1", &format!("m{i}")), p.now);
        assert!(
            matches!(d, Delivery::Buffered(_)),
            "item {i} must be buffered, got {d:?}"
        );
        p.pump();
    }
    assert_eq!(p.pokes, 1, "one wake poke per cooldown");
    assert_eq!(p.conn.buffer_len(GW), 3);

    p.gw.wake(p.now).expect("buffered");
    p.pump();
    assert_eq!(p.gw.state(), State::Serving);

    let mut received = Vec::new();
    for _ in 0..3 {
        let handed = p.inbound_handles();
        assert_eq!(handed.len(), 1, "ack-gated drain hands one item at a time");
        let (text, handle) = handed.into_iter().next().expect("one item");
        assert_eq!(
            p.conn.buffer_len(GW),
            3 - received.len(),
            "no ack before the app acks"
        );
        p.gw.ack(handle, p.now).expect("first ack");
        p.pump();
        received.push(text);
    }
    assert_eq!(received, ["m1", "m2", "m3"]);
    assert_eq!(p.conn.buffer_len(GW), 0);
    assert_eq!(p.conn.stats().acked, 3);
    assert_eq!(p.conn.stats().acks_duplicate, 0);
    assert!(!p.conn.is_flipped(GW), "the flip clears once drained");

    // Live delivery resumes: no handle, never acked.
    assert!(matches!(
        p.conn.deliver(GW, message("chan-1", "live"), p.now),
        Delivery::Live(_)
    ));
    p.pump();
    let live: Vec<_> = p
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Inbound { event, delivery } => Some((event.text, delivery.is_none())),
            _ => None,
        })
        .collect();
    assert_eq!(live, [("live".to_string(), true)]);
    assert_eq!(p.gw.stats().acks_sent, 3);
}

#[test]
fn drop_mid_drain_redelivers_exactly_the_unacked_tail() {
    let mut p = Pair::new(gateway_config(vec![]), &[SECRET]);
    p.auto_wake = false;
    p.gw.go_idle(p.now).expect("serving");
    p.pump();
    for i in 1..=3 {
        p.conn
            .deliver(GW, message("chan-1", &format!("m{i}")), p.now);
    }
    p.take_events();
    p.gw.wake(p.now).expect("buffered");
    p.pump();

    // m1 handed and acked; m2 handed, not yet acked; then the link drops.
    let (t1, h1) = p.inbound_handles().into_iter().next().expect("m1");
    assert_eq!(t1, "m1");
    p.gw.ack(h1, p.now).expect("ack m1");
    p.pump();
    let (t2, h2) = p.inbound_handles().into_iter().next().expect("m2");
    assert_eq!(t2, "m2");
    p.drop_link();
    assert_eq!(p.conn.buffer_ids(GW).len(), 2, "m2 and m3 stay buffered");

    // Reconnect on the backoff ladder; m2 is redelivered but not handed twice.
    p.advance(Duration::from_secs(2));
    assert_eq!(p.gw.state(), State::Serving);
    assert!(
        p.inbound_handles().is_empty(),
        "m2 must not reach the app twice"
    );
    assert!(p.gw.stats().duplicate_deliveries >= 1);

    // The app's late ack of m2 releases it on the new connection; m3 follows.
    p.gw.ack(h2, p.now).expect("ack m2");
    p.pump();
    let tail = p.inbound_handles();
    assert_eq!(
        tail.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["m3"]
    );
    for (_, h) in tail {
        p.gw.ack(h, p.now).expect("ack m3");
    }
    p.pump();
    assert_eq!(p.conn.buffer_len(GW), 0);
    assert_eq!(p.conn.stats().acked, 3);
    assert!(p.conn.stats().redelivered >= 1);
}

#[test]
fn revoke_closes_4401_confirms_once_then_never_dials_again() {
    let mut p = Pair::new(gateway_config(vec![]), &[SECRET]);
    assert_eq!(p.gw.state(), State::Serving);
    let dials_before = p.dials;
    let now = p.now;
    p.conn.revoke(GW, now);
    p.pump();
    assert_eq!(
        p.dials,
        dials_before + 1,
        "exactly one confirming re-dial, at once"
    );
    assert_eq!(p.gw.state(), State::Revoked);
    assert!(p.take_events().iter().any(|e| matches!(e, Event::Revoked)));
    p.advance(Duration::from_secs(3600));
    assert_eq!(p.dials, dials_before + 1, "no dial after Revoked");
    assert!(p.gw.is_terminal());
}

#[test]
fn cold_start_4401_keeps_retrying() {
    let mut p = Pair::new(gateway_config(vec![]), &["another-secret"]);
    assert_eq!(p.gw.state(), State::Dialing);
    p.advance(Duration::from_secs(120));
    assert!(
        p.dials >= 5,
        "retries on the backoff ladder, got {} dials",
        p.dials
    );
    assert!(!p.gw.is_terminal());
    assert_eq!(p.conn.stats().closes_4401 as usize, p.dials);
}

#[test]
fn expired_token_is_not_revocation() {
    // The gateway's wall clock runs an hour behind the connector's: every
    // token it mints is already expired when checked.
    let mut conn = Connector::new(ConnectorConfig::default(), 7);
    conn.add_gateway(GW, &[SECRET]);
    let gw = Connection::new(
        gateway_config(vec![]),
        1,
        Instant::ZERO,
        UnixTime::from_secs(WALL0 - 3600),
    );
    let mut p = Pair {
        gw,
        conn,
        session: None,
        now: Instant::ZERO,
        events: Vec::new(),
        dials: 0,
        pokes: 0,
        auto_wake: true,
    };
    p.pump();
    p.advance(Duration::from_secs(60));
    assert!(p.dials >= 3);
    assert!(!p.gw.is_terminal());
}
