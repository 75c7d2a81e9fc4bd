//! Structured seeds for the `connection_ops` and `connector_ops` fuzz
//! targets: realistic sessions written as op lists, encoded with
//! `relay_core::fuzzing::ops_to_bytes` into the bytes the targets decode.
//!
//! `committed_structured_seeds_are_current` checks that every seed still does
//! what its name says (the states it passes through, the counters it moves)
//! and that the file under `fuzz/seeds/<target>/` matches. After changing a
//! seed or the op enums, rewrite the files with
//!
//! ```sh
//! cargo test -p relay-sim --test fuzz_seeds -- --ignored
//! ```

use std::path::{Path, PathBuf};

use relay_connector::ConnectorStats;
use relay_connector::fuzzing::{ConnectorOp, connector_ops_stats};
use relay_core::connection::State;
use relay_core::fuzzing::{CloseCode, ConnOp, ConnectionTrace, connection_ops_trace, ops_to_bytes};

// ---------------------------------------------------------------------------
// Frames, taken from the examples in docs/protocol.md
// ---------------------------------------------------------------------------

const DESCRIPTOR_DISCORD: &str = "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"discord\",\"label\":\"Discord\",\"max_message_length\":2000,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":true,\"markdown_dialect\":\"discord\",\"len_unit\":\"chars\"}}\n";
const DESCRIPTOR_TELEGRAM: &str = "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"telegram\",\"label\":\"Telegram\",\"max_message_length\":4096,\"supports_draft_streaming\":true,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"markdown_v2\",\"len_unit\":\"utf16\"}}\n";
const GOING_IDLE_ACK: &str = "{\"type\":\"going_idle_ack\"}\n";
const INTERRUPT_INBOUND: &str = "{\"type\":\"interrupt_inbound\",\"session_key\":\"agent:main:discord:group:chanA:userX\",\"chat_id\":\"chanA\"}\n";
const PASSTHROUGH: &str = "{\"type\":\"passthrough_forward\",\"forward\":{\"platform\":\"discord\",\"botId\":\"b1\",\"method\":\"POST\",\"path\":\"/interactions/discord/b1\",\"headers\":[[\"content-type\",\"application/json\"]],\"bodyB64\":\"eyJ0eXBlIjogMn0=\"},\"bufferId\":\"pbuf-7\"}\n";
const RESULT_UNKNOWN: &str = "{\"type\":\"outbound_result\",\"requestId\":\"0123456789abcdef0123456789abcdef\",\"result\":{\"success\":true,\"message_id\":\"srv-send\"}}\n";

/// An `inbound` frame as the connector sends it: live without a buffer id,
/// buffered with one.
fn inbound(text: &str, buffer_id: Option<&str>) -> String {
    let buffer = buffer_id
        .map(|b| format!(",\"bufferId\":\"{b}\""))
        .unwrap_or_default();
    format!(
        "{{\"type\":\"inbound\",\"event\":{{\"text\":\"{text}\",\"message_type\":\"text\",\"source\":{{\"platform\":\"discord\",\"chat_id\":\"chan1\",\"chat_type\":\"group\",\"guild_id\":\"guildA\"}}}}{buffer}}}\n"
    )
}

fn raw(line: &str) -> ConnOp {
    ConnOp::Raw(line.as_bytes().to_vec())
}

/// `Advance` steps are scaled by 10 ms in the target.
fn secs(s: u16) -> ConnOp {
    ConnOp::Advance(s * 100)
}

/// Dial (emitted on creation), open, receive the descriptor.
fn handshake() -> Vec<ConnOp> {
    vec![ConnOp::Opened, raw(DESCRIPTOR_DISCORD)]
}

fn closed(code: CloseCode) -> ConnOp {
    ConnOp::Closed(code, false)
}

// ---------------------------------------------------------------------------
// connection_ops
// ---------------------------------------------------------------------------

struct ConnSeed {
    name: &'static str,
    ops: Vec<ConnOp>,
    /// States the run must pass through, in this order (others may come
    /// between).
    path: &'static [State],
    check: fn(&ConnectionTrace) -> bool,
}

fn any(_: &ConnectionTrace) -> bool {
    true
}

fn connection_seeds() -> Vec<ConnSeed> {
    use State::*;
    let cat = |parts: Vec<Vec<ConnOp>>| parts.into_iter().flatten().collect::<Vec<_>>();
    vec![
        ConnSeed {
            name: "handshake-hello-descriptor",
            ops: cat(vec![handshake(), vec![raw(DESCRIPTOR_TELEGRAM), secs(5)]]),
            path: &[Handshaking, Serving],
            check: any,
        },
        ConnSeed {
            name: "handshake-two-descriptors-one-message",
            ops: vec![
                ConnOp::Opened,
                raw(&format!("{DESCRIPTOR_DISCORD}{DESCRIPTOR_TELEGRAM}")),
            ],
            path: &[Handshaking, Serving],
            check: any,
        },
        ConnSeed {
            name: "frames-split-across-messages",
            ops: {
                let (a, b) = DESCRIPTOR_DISCORD.split_at(57);
                let line = inbound("split", None);
                let (c, d) = line.split_at(31);
                vec![
                    ConnOp::Opened,
                    raw(a),
                    raw(b),
                    raw(c),
                    raw(d),
                    raw("not json\n"),
                    raw("{\"type\":\"mystery\"}\n"),
                ]
            },
            path: &[Handshaking, Serving],
            check: |t| t.stats.frames_rejected >= 1,
        },
        ConnSeed {
            name: "inbound-live-buffered-passthrough-interrupt-acks",
            ops: cat(vec![
                handshake(),
                vec![
                    raw(&inbound("hello from connector", None)),
                    raw(&inbound("hello from connector", Some("buf-1"))),
                    ConnOp::Ack(0),
                    raw(INTERRUPT_INBOUND),
                    raw(PASSTHROUGH),
                    ConnOp::Ack(1),
                    // The application acks the first item again.
                    ConnOp::Ack(0),
                    // The connector redelivers an item already handed over.
                    raw(&inbound("hello from connector", Some("buf-1"))),
                ],
            ]),
            path: &[Serving],
            check: |t| t.deliveries == 2 && t.stats.acks_sent >= 2,
        },
        ConnSeed {
            name: "requests-results-null-duplicate-unknown-timeout",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::Send,
                    ConnOp::Send,
                    ConnOp::Send,
                    ConnOp::Result(0, false),
                    ConnOp::Result(1, true),
                    ConnOp::Result(0, false),
                    raw(RESULT_UNKNOWN),
                    secs(31),
                    ConnOp::Send,
                    ConnOp::Result(3, false),
                ],
            ]),
            path: &[Serving],
            check: |t| t.requests_ended == 4 && t.stats.requests_sent == 4,
        },
        ConnSeed {
            name: "go-idle-ack-buffered-wake-drain-acks",
            ops: cat(vec![
                handshake(),
                vec![
                    raw(&inbound("before idle", None)),
                    ConnOp::GoIdle,
                    raw(GOING_IDLE_ACK),
                    // The driver reports the close the state machine asked for.
                    closed(CloseCode::Normal),
                    secs(60),
                    ConnOp::Wake,
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                    raw(&inbound("while idle 1", Some("buf-1"))),
                    ConnOp::Ack(0),
                    raw(&inbound("while idle 2", Some("buf-2"))),
                    ConnOp::Ack(1),
                    raw(&inbound("live again", None)),
                ],
            ]),
            path: &[Serving, GoingIdle, Buffered, Dialing, Handshaking, Serving],
            check: |t| t.deliveries == 2 && t.stats.acks_sent == 2,
        },
        ConnSeed {
            name: "go-idle-drain-ack-after-reconnect",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::GoIdle,
                    raw(GOING_IDLE_ACK),
                    ConnOp::Wake,
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                    raw(&inbound("while idle", Some("buf-1"))),
                    // The socket drops before the application acks.
                    closed(CloseCode::Abnormal),
                    ConnOp::Ack(0),
                    secs(2),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                    raw(&inbound("while idle", Some("buf-1"))),
                ],
            ]),
            path: &[Buffered, Dialing, Serving, Dialing, Handshaking, Serving],
            check: |t| t.deliveries == 1,
        },
        ConnSeed {
            name: "go-idle-ack-timeout-stays-serving",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::GoIdle,
                    ConnOp::Send,
                    secs(11),
                    ConnOp::Result(0, false),
                ],
            ]),
            path: &[Serving, GoingIdle, Serving],
            check: |t| t.requests_ended == 1,
        },
        ConnSeed {
            name: "go-idle-late-ack-redials",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::GoIdle,
                    secs(11),
                    raw(GOING_IDLE_ACK),
                    secs(2),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
            ]),
            path: &[GoingIdle, Serving, Dialing, Handshaking, Serving],
            check: any,
        },
        ConnSeed {
            name: "go-idle-socket-lost-before-ack",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::GoIdle,
                    closed(CloseCode::GoingAway),
                    secs(2),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
            ]),
            path: &[GoingIdle, Dialing, Handshaking, Serving],
            check: any,
        },
        ConnSeed {
            name: "cold-4401-before-handshake-retries",
            ops: vec![
                ConnOp::Opened,
                closed(CloseCode::Unauthorized),
                secs(2),
                ConnOp::Opened,
                closed(CloseCode::Unauthorized),
                secs(4),
                ConnOp::Opened,
                raw(DESCRIPTOR_DISCORD),
            ],
            path: &[
                Handshaking,
                Dialing,
                Handshaking,
                Dialing,
                Handshaking,
                Serving,
            ],
            check: any,
        },
        ConnSeed {
            name: "4401-after-handshake-confirmed-revoked",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::Send,
                    closed(CloseCode::Unauthorized),
                    ConnOp::Opened,
                    closed(CloseCode::Unauthorized),
                    // Nothing may dial again.
                    ConnOp::Wake,
                    secs(60),
                    ConnOp::Opened,
                ],
            ]),
            path: &[Serving, Dialing, Handshaking, Revoked],
            check: |t| t.requests_ended == 1,
        },
        ConnSeed {
            name: "4401-after-handshake-confirm-succeeds",
            ops: cat(vec![
                handshake(),
                vec![
                    closed(CloseCode::Unauthorized),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                    closed(CloseCode::ServerError),
                    secs(2),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
            ]),
            path: &[Serving, Dialing, Handshaking, Serving, Dialing, Serving],
            check: |t| !t.states.contains(&State::Revoked),
        },
        ConnSeed {
            name: "4401-confirming-descriptor-then-4401-revoked",
            ops: cat(vec![
                handshake(),
                vec![
                    closed(CloseCode::Unauthorized),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                    closed(CloseCode::Unauthorized),
                ],
            ]),
            path: &[Serving, Dialing, Serving, Revoked],
            check: any,
        },
        ConnSeed {
            name: "4401-expired-token-retries",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::Closed(CloseCode::Unauthorized, true),
                    secs(2),
                    ConnOp::Opened,
                    ConnOp::Closed(CloseCode::Unauthorized, true),
                    secs(4),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
            ]),
            path: &[Serving, Dialing, Handshaking, Dialing, Serving],
            check: |t| !t.states.contains(&State::Revoked),
        },
        ConnSeed {
            name: "http-410-at-upgrade-revokes",
            ops: vec![
                ConnOp::DialFailed(Some(503)),
                secs(2),
                ConnOp::DialFailed(Some(410)),
                ConnOp::Wake,
            ],
            path: &[Revoked],
            check: any,
        },
        ConnSeed {
            name: "dial-failures-backoff-then-serve",
            ops: vec![
                ConnOp::DialFailed(None),
                secs(2),
                ConnOp::DialFailed(Some(503)),
                secs(4),
                ConnOp::DialFailed(Some(401)),
                secs(8),
                ConnOp::Opened,
                raw(DESCRIPTOR_DISCORD),
            ],
            path: &[Handshaking, Serving],
            check: |t| t.stats.dials >= 4,
        },
        ConnSeed {
            name: "handshake-timeout-redials",
            ops: vec![
                ConnOp::Opened,
                secs(31),
                secs(2),
                ConnOp::Opened,
                raw(DESCRIPTOR_DISCORD),
            ],
            path: &[Handshaking, Dialing, Handshaking, Serving],
            check: any,
        },
        ConnSeed {
            name: "keepalive-pong-then-timeout",
            ops: cat(vec![
                handshake(),
                vec![
                    secs(31),
                    ConnOp::Pong,
                    secs(31),
                    ConnOp::Pong,
                    secs(31),
                    secs(31),
                    secs(31),
                    secs(2),
                    ConnOp::Opened,
                ],
            ]),
            path: &[Serving, Dialing, Handshaking],
            check: any,
        },
        ConnSeed {
            name: "close-codes-while-serving",
            ops: cat(vec![
                handshake(),
                vec![
                    closed(CloseCode::GoingAway),
                    secs(2),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
                vec![
                    closed(CloseCode::TooBig),
                    secs(4),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
                vec![
                    closed(CloseCode::Other(4000)),
                    secs(8),
                    ConnOp::Opened,
                    raw(DESCRIPTOR_DISCORD),
                ],
                vec![closed(CloseCode::Normal)],
            ]),
            path: &[
                Serving, Dialing, Serving, Dialing, Serving, Dialing, Serving, Dialing,
            ],
            check: any,
        },
        ConnSeed {
            name: "shutdown-fails-pending-requests",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::Send,
                    ConnOp::Send,
                    ConnOp::Result(1, false),
                    ConnOp::Shutdown,
                    ConnOp::Result(0, false),
                    ConnOp::Opened,
                    ConnOp::Wake,
                    ConnOp::Shutdown,
                ],
            ]),
            path: &[Serving, Closed],
            check: |t| t.requests_ended == 2,
        },
        ConnSeed {
            name: "clock-steps-back-and-forward",
            ops: cat(vec![
                handshake(),
                vec![
                    ConnOp::Send,
                    ConnOp::Rewind(5000),
                    secs(10),
                    ConnOp::Rewind(65_535),
                    ConnOp::GoIdle,
                    ConnOp::Rewind(1000),
                    raw(GOING_IDLE_ACK),
                    ConnOp::Advance(65_535),
                    ConnOp::Wake,
                ],
            ]),
            path: &[Serving, GoingIdle, Buffered, Dialing],
            check: |t| t.requests_ended == 1,
        },
        ConnSeed {
            name: "lines-from-pool-handshake-and-idle",
            ops: vec![
                ConnOp::Opened,
                ConnOp::Line(10, 0),
                ConnOp::Line(0, 0),
                ConnOp::Line(1, 0),
                ConnOp::Line(2, 0),
                ConnOp::Line(6, 0),
                ConnOp::Ack(0),
                ConnOp::Ack(2),
                ConnOp::Line(11, 0),
                ConnOp::Line(3, 0),
                ConnOp::GoIdle,
                ConnOp::Line(4, 0),
            ],
            path: &[Handshaking, Serving, GoingIdle, Buffered],
            check: |t| t.deliveries == 3,
        },
    ]
}

// ---------------------------------------------------------------------------
// connector_ops
// ---------------------------------------------------------------------------

/// Indexes into the target's `GATEWAY_LINES`.
const HELLO: u8 = 0;
const GOING_IDLE: u8 = 1;
const OUTBOUND_SEND: u8 = 4;
const INTERRUPT: u8 = 5;
const FOLLOW_UP: u8 = 6;
const BOGUS: u8 = 7;

/// Token kinds of `ConnectorOp::Accept`.
const VALID: u8 = 0;
const EXPIRED: u8 = 1;
const FORGED: u8 = 2;
const MISSING: u8 = 3;

fn ack(session: u8, buffer_id: &str) -> ConnectorOp {
    let line = format!("{{\"type\":\"inbound_ack\",\"bufferId\":\"{buffer_id}\"}}\n");
    ConnectorOp::Raw(session, line.into_bytes())
}

fn gw(session: u8, line: &str) -> ConnectorOp {
    ConnectorOp::Raw(session, line.as_bytes().to_vec())
}

fn http(route: u8, body: &str) -> ConnectorOp {
    ConnectorOp::Http(route, body.as_bytes().to_vec())
}

const HELLO_TELEGRAM: &str = "{\"type\":\"hello\",\"platform\":\"telegram\",\"botId\":\"app-2\"}\n";
const OUTBOUND_GET_CHAT_INFO: &str = "{\"type\":\"outbound\",\"requestId\":\"9f1c2e0000000000000000000000abcd\",\"action\":{\"op\":\"get_chat_info\",\"chat_id\":\"c1\"}}\n";
const OUTBOUND_OTHER_PLATFORM: &str = "{\"type\":\"outbound\",\"requestId\":\"9f1c2e0000000000000000000000abce\",\"action\":{\"op\":\"send\",\"chat_id\":\"chan-1\",\"content\":\"hi\",\"reply_to\":null,\"metadata\":{\"guild_id\":\"g-1\"}},\"platform\":\"slack\",\"botId\":\"app-1\"}\n";

struct ConnectorSeed {
    name: &'static str,
    ops: Vec<ConnectorOp>,
    check: fn(&ConnectorStats) -> bool,
}

fn connector_seeds() -> Vec<ConnectorSeed> {
    use ConnectorOp::*;
    vec![
        ConnectorSeed {
            name: "hello-descriptor-live-delivery-requests",
            ops: vec![
                Accept(VALID),
                Message(0, HELLO),
                gw(0, HELLO_TELEGRAM),
                Deliver,
                Message(0, OUTBOUND_SEND),
                gw(0, OUTBOUND_GET_CHAT_INFO),
                gw(0, OUTBOUND_OTHER_PLATFORM),
                Message(0, FOLLOW_UP),
                Message(0, INTERRUPT),
                Deliver,
            ],
            check: |s| s.hellos == 2 && s.delivered_live == 2 && s.outbound_requests >= 3,
        },
        ConnectorSeed {
            name: "buffered-while-offline-drain-with-acks",
            ops: vec![
                Deliver,
                Deliver,
                Deliver,
                Accept(VALID),
                Message(0, HELLO),
                ack(0, "buf-1"),
                ack(0, "buf-2"),
                ack(0, "buf-3"),
                Deliver,
            ],
            check: |s| s.buffered == 3 && s.acked == 3 && s.delivered_live == 1,
        },
        ConnectorSeed {
            name: "going-idle-flip-wake-poke-redial-drain",
            ops: vec![
                Accept(VALID),
                Message(0, HELLO),
                Message(0, GOING_IDLE),
                Deliver,
                Deliver,
                Closed(0),
                Advance(3_100),
                Deliver,
                Accept(VALID),
                Message(1, HELLO),
                ack(1, "buf-1"),
                ack(1, "buf-2"),
                ack(1, "buf-3"),
                Deliver,
            ],
            check: |s| {
                s.going_idle == 1
                    && s.wake_pokes >= 1
                    && s.acked == 3
                    && s.flips_cleared == 1
                    && s.delivered_live == 1
            },
        },
        ConnectorSeed {
            name: "unacked-item-redelivered-on-next-session",
            ops: vec![
                Deliver,
                Deliver,
                Accept(VALID),
                Message(0, HELLO),
                Closed(0),
                Accept(VALID),
                Message(1, HELLO),
                ack(1, "buf-1"),
                ack(1, "buf-2"),
            ],
            check: |s| s.redelivered >= 1 && s.acked == 2,
        },
        ConnectorSeed {
            name: "duplicate-unknown-and-cross-session-acks",
            ops: vec![
                Deliver,
                Deliver,
                Accept(VALID),
                Message(0, HELLO),
                ack(0, "buf-1"),
                ack(0, "buf-1"),
                ack(0, "buf-99"),
                ack(0, "garbage\u{0}"),
                Accept(MISSING),
                ack(1, "buf-2"),
                ack(0, "buf-2"),
            ],
            check: |s| s.acks_duplicate >= 1 && s.acks_unknown >= 1 && s.acked == 2,
        },
        ConnectorSeed {
            name: "newer-session-supersedes-older",
            ops: vec![
                Accept(VALID),
                Message(0, HELLO),
                Deliver,
                Message(0, GOING_IDLE),
                Deliver,
                Accept(VALID),
                Message(1, HELLO),
                Message(0, HELLO),
                ack(0, "buf-1"),
                ack(1, "buf-1"),
            ],
            check: |s| s.sessions_superseded == 1 && s.acked == 1,
        },
        ConnectorSeed {
            name: "expired-forged-missing-tokens-closed-4401",
            ops: vec![
                Accept(EXPIRED),
                Message(0, HELLO),
                Accept(FORGED),
                Message(1, HELLO),
                Accept(MISSING),
                Message(2, HELLO),
                Deliver,
                Accept(VALID),
                Message(3, HELLO),
            ],
            check: |s| s.closes_4401 == 3 && s.upgrades_accepted >= 1,
        },
        ConnectorSeed {
            name: "revoke-while-serving-then-refused",
            ops: vec![
                Accept(VALID),
                Message(0, HELLO),
                Deliver,
                Revoke,
                Deliver,
                Accept(VALID),
                Message(1, HELLO),
                http(
                    2,
                    "{\"platform\":\"discord\",\"requireAddress\":true,\"allowOtherBots\":false}",
                ),
            ],
            check: |s| s.closes_4401 >= 1,
        },
        ConnectorSeed {
            name: "restart-drops-sessions-buffer-survives",
            ops: vec![
                Deliver,
                Accept(VALID),
                Message(0, HELLO),
                Restart,
                Deliver,
                Accept(VALID),
                Message(1, HELLO),
                ack(1, "buf-1"),
                ack(1, "buf-2"),
            ],
            check: |s| s.sessions_dropped >= 1 && s.acked == 2,
        },
        ConnectorSeed {
            name: "http-provision-enroll-policy",
            ops: vec![
                http(
                    0,
                    "{\"gatewayId\":\"gw-2\",\"platform\":\"discord\",\"botId\":\"app-1\",\"gatewayEndpoint\":\"https://gw.example\",\"routeKeys\":[\"guild:g-1\"],\"instanceId\":\"i-1\",\"wakeUrl\":\"https://gw.example/wake\"}",
                ),
                http(
                    0,
                    "{\"gatewayId\":\"gw-2\",\"platform\":\"discord\",\"botId\":\"app-1\"}",
                ),
                http(
                    0,
                    "{\"gatewayId\":\"gw\",\"platform\":\"discord\",\"botId\":\"app-1\"}",
                ),
                http(1, "{\"enrollmentToken\":\"enr-1\",\"gatewayId\":\"gw-3\"}"),
                http(
                    2,
                    "{\"platform\":\"discord\",\"requireAddress\":true,\"freeResponseScopes\":[\"guild:g-1\"],\"allowOtherBots\":false}",
                ),
                http(3, "{}"),
                http(0, "{\"gatewayId\":"),
            ],
            check: |_| true,
        },
        ConnectorSeed {
            name: "bad-and-split-frames",
            ops: vec![
                Accept(VALID),
                gw(0, "{\"type\":\"hello\",\"platform\":"),
                gw(0, "\"discord\",\"botId\":\"b\"}\n"),
                Message(0, BOGUS),
                gw(0, "not json\n"),
                gw(0, "{\"type\":\"inbound_ack\"}\n"),
                Deliver,
            ],
            check: |s| s.bad_frames >= 1,
        },
        ConnectorSeed {
            name: "wake-poke-cooldown",
            ops: vec![
                Accept(VALID),
                Message(0, HELLO),
                Message(0, GOING_IDLE),
                Closed(0),
                Deliver,
                Advance(100),
                Accept(VALID),
                Message(1, HELLO),
                ack(1, "buf-1"),
                Message(1, GOING_IDLE),
                Deliver,
                Advance(1_000),
                Advance(3_000),
            ],
            check: |s| s.wake_pokes >= 2,
        },
    ]
}

// ---------------------------------------------------------------------------

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

fn checked_files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for seed in connection_seeds() {
        let trace = connection_ops_trace(&seed.ops);
        let mut rest = trace.states.iter();
        for want in seed.path {
            assert!(
                rest.any(|s| s == want),
                "{}: no {want:?} in order {:?} in {:?}",
                seed.name,
                seed.path,
                trace.states
            );
        }
        assert!((seed.check)(&trace), "{}: {trace:?}", seed.name);
        let path = seed_dir("connection_ops").join(format!("{}.bin", seed.name));
        out.push((path, ops_to_bytes(&seed.ops)));
    }
    for seed in connector_seeds() {
        let stats = connector_ops_stats(&seed.ops);
        assert!((seed.check)(&stats), "{}: {stats:?}", seed.name);
        let path = seed_dir("connector_ops").join(format!("{}.bin", seed.name));
        out.push((path, ops_to_bytes(&seed.ops)));
    }
    out
}

#[test]
fn committed_structured_seeds_are_current() {
    for (path, bytes) in checked_files() {
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == bytes,
            "{} is missing or stale; rewrite with --ignored",
            path.display()
        );
    }
}

#[test]
#[ignore = "writes fuzz/seeds/; run it after changing a seed"]
fn write_structured_seeds() {
    for (path, bytes) in checked_files() {
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
