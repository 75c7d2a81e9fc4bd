//! Model-based property test: random inputs and commands, invariants checked
//! after every step.

#[path = "connection_harness.rs"]
mod harness;

use std::collections::{HashMap, HashSet};

use harness::*;
use proptest::prelude::*;
use relay_core::connection::{
    CommandError, DeliveryHandle, Event, IdleRefusal, Input, Output, State,
};

#[derive(Clone, Debug)]
enum Op {
    Opened,
    DialFailed(Option<u16>),
    Message(usize),
    ResultFor(usize, bool),
    Closed(Option<u16>, &'static str),
    Pong,
    Advance(u64),
    FireDeadline,
    Back(u64),
    Send,
    GoIdle,
    Wake,
    Ack(usize),
    Shutdown,
}

fn pool() -> Vec<String> {
    vec![
        DISCORD_DESC.to_owned(),
        TELEGRAM_DESC.to_owned(),
        group_inbound("c1", None),
        group_inbound("c1", Some("buf-0")),
        group_inbound("c2", Some("buf-1")),
        group_inbound("c3", Some("buf-2")),
        "{\"type\":\"passthrough_forward\",\"forward\":{\"platform\":\"discord\",\"botId\":\"a\",\"method\":\"POST\",\"path\":\"/p\",\"headers\":[],\"bodyB64\":\"eyJ0eXBlIjogMn0=\"},\"bufferId\":\"pbuf-7\"}\n".to_owned(),
        IDLE_ACK.to_owned(),
        result_line(&"f".repeat(32), "{\"success\":true}"),
        "not json\n".to_owned(),
        "{}\n".to_owned(),
        "[1,2]\n".to_owned(),
        "{\"type\":\"nope\"}\n".to_owned(),
        "{\"type\":\"interrupt_inbound\",\"session_key\":\"k\",\"chat_id\":\"c1\"}\n".to_owned(),
        "{\"type\":\"inbound\",\"ev".to_owned(),
        "ent\":{}}\n".to_owned(),
        format!("{DISCORD_DESC}{}", group_inbound("c4", Some("buf-3"))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let status = prop_oneof![
        Just(None),
        Just(Some(401)),
        Just(Some(403)),
        Just(Some(410)),
        Just(Some(500)),
        Just(Some(503)),
    ];
    let code = prop_oneof![
        Just(None),
        Just(Some(1000)),
        Just(Some(1001)),
        Just(Some(1006)),
        Just(Some(1009)),
        Just(Some(1011)),
        Just(Some(4401)),
    ];
    let reason = prop_oneof![Just(""), Just("unauthorized"), Just("expired")];
    prop_oneof![
        4 => Just(Op::Opened),
        2 => status.prop_map(Op::DialFailed),
        8 => (0usize..17).prop_map(Op::Message),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(i, ok)| Op::ResultFor(i, ok)),
        3 => (code, reason).prop_map(|(c, r)| Op::Closed(c, r)),
        1 => Just(Op::Pong),
        3 => (0u64..120_000).prop_map(Op::Advance),
        4 => Just(Op::FireDeadline),
        1 => (0u64..20_000).prop_map(Op::Back),
        3 => Just(Op::Send),
        2 => Just(Op::GoIdle),
        1 => Just(Op::Wake),
        2 => any::<usize>().prop_map(Op::Ack),
        1 => Just(Op::Shutdown),
    ]
}

/// What the model remembers across steps.
#[derive(Default)]
struct Model {
    terminal: bool,
    open_socket: bool,
    dial_in_flight: bool,
    ever_serving: bool,
    handed: HashSet<String>,
    handles: Vec<DeliveryHandle>,
    sent: Vec<String>,
    ended: HashMap<String, u32>,
}

impl Model {
    fn check_outputs(
        &mut self,
        op: &Op,
        before: State,
        out: &[Output],
        h: &H,
    ) -> Result<(), TestCaseError> {
        for o in out {
            match o {
                Output::Dial { .. } => {
                    prop_assert!(!self.terminal, "dial after terminal state");
                    prop_assert!(!self.open_socket, "dial while a socket is open");
                    prop_assert!(!self.dial_in_flight, "dial while a dial is in flight");
                    self.dial_in_flight = true;
                }
                Output::Close { reason, .. } => {
                    if matches!(before, State::GoingIdle | State::Closing) {
                        prop_assert!(
                            [
                                "going idle",
                                "frame too large",
                                "keepalive timeout",
                                "shutdown"
                            ]
                            .contains(&reason.as_str()),
                            "close {reason:?} between going_idle and its ack"
                        );
                    }
                    self.open_socket = false;
                }
                Output::Event(Event::StateChanged { to, .. }) => {
                    if *to == State::Serving {
                        self.ever_serving = true;
                    }
                    if to.is_terminal() {
                        self.terminal = true;
                    }
                }
                Output::Event(Event::Revoked) => {
                    prop_assert!(
                        self.ever_serving || matches!(op, Op::DialFailed(Some(410))),
                        "revoked without ever serving (op {op:?})"
                    );
                }
                Output::Event(Event::Inbound { delivery, .. })
                | Output::Event(Event::Passthrough { delivery, .. }) => {
                    if let Some(d) = delivery {
                        let id = d.buffer_id().as_str().to_owned();
                        prop_assert!(self.handed.insert(id.clone()), "{id} handed twice");
                        self.handles.push(d.clone());
                    }
                }
                Output::Event(Event::Response { request_id, .. })
                | Output::Event(Event::RequestFailed { request_id, .. }) => {
                    let id = request_id.as_str().to_owned();
                    prop_assert!(self.sent.contains(&id), "result for unsent {id}");
                    let n = self.ended.entry(id.clone()).or_insert(0);
                    *n += 1;
                    prop_assert_eq!(*n, 1, "request {} ended twice", id);
                }
                Output::Event(Event::IdleRefused { reason }) => {
                    prop_assert!(
                        before == State::GoingIdle,
                        "IdleRefused outside GoingIdle: {reason:?}"
                    );
                    if *reason == IdleRefusal::AckTimeout {
                        prop_assert!(closes(out).is_empty());
                    }
                }
                _ => {}
            }
        }
        let open = self.sent.len() - self.ended.len();
        prop_assert_eq!(h.conn.pending_requests(), open);
        if self.terminal {
            prop_assert_eq!(h.deadline, None);
            prop_assert!(h.conn.is_terminal());
        }
        Ok(())
    }
}

/// Runs `ops`; returns the state reached before the final shutdown and how
/// many buffered items were handed over.
fn run(seed: u64, ops: Vec<Op>) -> Result<(State, usize), TestCaseError> {
    let lines = pool();
    let (mut h, out) = H::new(cfg_two(), seed);
    let mut m = Model::default();
    m.check_outputs(&Op::Wake, State::Dialing, &out, &h)?;
    for op in ops {
        let before = h.state();
        let out = match &op {
            Op::Opened => {
                let was_in_flight = m.dial_in_flight;
                m.dial_in_flight = false;
                let out = h.open();
                if was_in_flight && closes(&out).is_empty() {
                    m.open_socket = true;
                }
                out
            }
            Op::DialFailed(s) => {
                m.dial_in_flight = false;
                h.dial_failed(*s)
            }
            Op::Message(i) => h.msg(&lines[*i % lines.len()]),
            Op::ResultFor(i, ok) => {
                let id = if m.sent.is_empty() {
                    "0".repeat(32)
                } else {
                    m.sent[*i % m.sent.len()].clone()
                };
                let body = if *ok { "{\"success\":true}" } else { "null" };
                h.msg(&result_line(&id, body))
            }
            Op::Closed(c, r) => {
                m.dial_in_flight = false;
                m.open_socket = false;
                h.closed(*c, r)
            }
            Op::Pong => h.input(Input::Pong),
            Op::Advance(d) => {
                let t = h.now + d;
                h.timeout_at(t)
            }
            Op::FireDeadline => match h.deadline {
                Some(_) => h.fire(),
                None => h.input(Input::Timeout),
            },
            Op::Back(d) => {
                h.now = h.now.saturating_sub(*d);
                h.input(Input::Timeout)
            }
            Op::Send => {
                let now = h.at();
                if let Ok(id) = h.conn.send(send_action("c1"), now) {
                    m.sent.push(id.as_str().to_owned());
                }
                h.drain()
            }
            Op::GoIdle => {
                let now = h.at();
                let r = h.conn.go_idle(now);
                prop_assert_eq!(r.is_ok(), before == State::Serving);
                h.drain()
            }
            Op::Wake => {
                let now = h.at();
                let r = h.conn.wake(now);
                prop_assert_eq!(r.is_ok(), !before.is_terminal());
                h.drain()
            }
            Op::Ack(i) => {
                if m.handles.is_empty() {
                    Vec::new()
                } else {
                    let d = m.handles[*i % m.handles.len()].clone();
                    let (r, out) = h.ack(d);
                    prop_assert!(
                        matches!(r, Ok(()) | Err(CommandError::AlreadyAcked { .. })),
                        "ack: {r:?}"
                    );
                    out
                }
            }
            Op::Shutdown => {
                m.dial_in_flight = false;
                let out = h.shutdown();
                // With requests in flight on a socket it drains first.
                prop_assert!(
                    h.conn.is_terminal()
                        || (h.state() == State::Closing && h.conn.pending_requests() > 0)
                );
                out
            }
        };
        m.check_outputs(&op, before, &out, &h)?;
    }
    // Shutting down at once ends every request still open.
    let before = h.state();
    let reached = (before, m.handed.len());
    let now = h.at();
    h.conn.shutdown_within(std::time::Duration::ZERO, now);
    let out = h.drain();
    m.check_outputs(&Op::Shutdown, before, &out, &h)?;
    prop_assert_eq!(m.ended.len(), m.sent.len());
    prop_assert!(m.ended.values().all(|n| *n == 1));
    Ok(reached)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn connection_invariants_hold(seed in any::<u64>(), ops in prop::collection::vec(op(), 0..80)) {
        run(seed, ops)?;
    }
}

/// The happy path through every state, as a smoke test of the model itself.
#[test]
fn model_accepts_a_full_lifecycle() {
    let ops = vec![
        Op::Opened,
        Op::Message(0),
        Op::Send,
        Op::ResultFor(0, true),
        Op::Message(3),
        Op::Ack(0),
        Op::GoIdle,
        Op::Message(7),
        Op::Wake,
        Op::Opened,
        Op::Message(16),
        Op::Closed(Some(4401), "unauthorized"),
        Op::Opened,
        Op::Closed(Some(4401), "unauthorized"),
        Op::FireDeadline,
    ];
    assert_eq!(run(5, ops).expect("model holds"), (State::Revoked, 2));
}
