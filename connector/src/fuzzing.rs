//! Fuzz-target body of the connector model (feature `arbitrary`).
//!
//! The `connector_ops` cargo-fuzz target in `fuzz/` is a one-line call into
//! this module, and the seed replay test in `tests/` replays every committed
//! seed through the same function. A body panics only when an invariant is
//! broken: that is the finding. The byte layout helpers are the core's
//! ([`relay_core::fuzzing`]).

use core::time::Duration;

use arbitrary::Arbitrary;
use relay_core::UnixTime;
use relay_core::auth::mint_token;
use relay_core::fuzzing::{FuzzEncode, byte_list, variant};
use relay_core::message::MessageEvent;
use relay_core::time::Instant;

use crate::{Accept, Connector, ConnectorConfig, ConnectorOutput, SessionId};

/// One step of the `connector_ops` target.
#[derive(Arbitrary, Clone, Debug)]
pub enum ConnectorOp {
    /// An upgrade with a valid, expired, foreign or missing token.
    Accept(u8),
    /// A gateway line into the n-th session.
    Message(u8, u8),
    /// Raw bytes into the n-th session.
    Raw(u8, Vec<u8>),
    /// The n-th session closed.
    Closed(u8),
    /// Time passes.
    Advance(u16),
    /// A platform event for the gateway.
    Deliver,
    /// Revoke the gateway.
    Revoke,
    /// Restart the connector.
    Restart,
    /// An HTTP management call with arbitrary body.
    Http(u8, Vec<u8>),
}

const GATEWAY_LINES: [&str; 8] = [
    "{\"type\":\"hello\",\"platform\":\"discord\",\"botId\":\"b\"}\n",
    "{\"type\":\"going_idle\"}\n",
    "{\"type\":\"inbound_ack\",\"bufferId\":\"buf-1\"}\n",
    "{\"type\":\"inbound_ack\",\"bufferId\":\"buf-2\"}\n",
    "{\"type\":\"outbound\",\"requestId\":\"0123456789abcdef0123456789abcdef\",\"action\":{\"op\":\"send\",\"chat_id\":\"c\",\"content\":\"x\",\"reply_to\":null,\"metadata\":{}}}\n",
    "{\"type\":\"interrupt\",\"session_key\":\"agent:main:discord:group:c:u\",\"reason\":null}\n",
    "{\"type\":\"outbound\",\"requestId\":\"a\",\"action\":{\"op\":\"follow_up\",\"session_key\":\"k\",\"kind\":\"discord.x\",\"content\":\"y\",\"metadata\":{}}}\n",
    "{\"type\":\"bogus\"}\n",
];

/// Replays `ops` against the connector model: never panics, never hands out
/// the same `bufferId` for two items.
pub fn connector_ops(ops: &[ConnectorOp]) {
    let _ = connector_ops_stats(ops);
}

/// [`connector_ops`], returning the connector's counters after the last op
/// (the seed generator checks that each structured seed does what its name
/// says).
pub fn connector_ops_stats(ops: &[ConnectorOp]) -> crate::ConnectorStats {
    let mut conn = Connector::new(ConnectorConfig::default(), 3);
    conn.add_gateway("gw", &["s"]);
    conn.set_wake_url("gw", "http://wake");
    let wall = UnixTime::from_secs(1_700_000_000);
    let mut now = Instant::ZERO;
    let mut sessions: Vec<SessionId> = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    let pick = |s: &[SessionId], n: u8| s.get(usize::from(n) % s.len().max(1)).copied();
    for op in ops {
        match op {
            ConnectorOp::Accept(kind) => {
                let token = match kind % 4 {
                    0 => Some(mint_token("gw", "s", 300, wall)),
                    1 => Some(mint_token("gw", "s", 1, UnixTime::from_secs(1))),
                    2 => Some(mint_token("gw", "wrong", 300, wall)),
                    _ => None,
                };
                let headers: Vec<(String, String)> = token
                    .into_iter()
                    .map(|t| ("Authorization".to_owned(), format!("Bearer {t}")))
                    .collect();
                if let Accept::Accepted(s) = conn.accept(&headers, now, wall) {
                    sessions.push(s);
                }
            }
            ConnectorOp::Message(n, line) => {
                if let Some(s) = pick(&sessions, *n) {
                    let line = GATEWAY_LINES[usize::from(*line) % GATEWAY_LINES.len()];
                    conn.handle_message(s, line.as_bytes(), now);
                }
            }
            ConnectorOp::Raw(n, bytes) => {
                if let Some(s) = pick(&sessions, *n) {
                    conn.handle_message(s, bytes, now);
                }
            }
            ConnectorOp::Closed(n) => {
                if let Some(s) = pick(&sessions, *n) {
                    conn.handle_closed(s, now);
                }
            }
            ConnectorOp::Advance(ms) => {
                now = now.saturating_add(Duration::from_millis(u64::from(*ms) * 10));
                conn.handle_timeout(now);
            }
            ConnectorOp::Deliver => {
                let ev = MessageEvent {
                    text: "x".into(),
                    ..MessageEvent::default()
                };
                if let crate::Delivery::Buffered(id) = conn.deliver("gw", ev, now) {
                    assert!(ids.insert(id.to_string()), "bufferId reused");
                }
            }
            ConnectorOp::Revoke => conn.revoke("gw", now),
            ConnectorOp::Restart => conn.restart(now),
            ConnectorOp::Http(route, body) => {
                let path = [
                    "/relay/provision",
                    "/relay/enroll",
                    "/relay/policy",
                    "/nope",
                ][usize::from(*route % 4)];
                let _ = conn.handle_http("POST", path, Some("Bearer x"), body, wall);
            }
        }
        for _ in 0..100_000 {
            if let ConnectorOutput::Wait(_) = conn.poll_output() {
                break;
            }
        }
    }
    conn.stats().clone()
}

impl FuzzEncode for ConnectorOp {
    fn fuzz_encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 9;
        match self {
            ConnectorOp::Accept(kind) => {
                variant(out, 0, N);
                out.push(*kind);
            }
            ConnectorOp::Message(n, line) => {
                variant(out, 1, N);
                out.extend_from_slice(&[*n, *line]);
            }
            ConnectorOp::Raw(n, bytes) => {
                variant(out, 2, N);
                out.push(*n);
                byte_list(out, bytes);
            }
            ConnectorOp::Closed(n) => {
                variant(out, 3, N);
                out.push(*n);
            }
            ConnectorOp::Advance(ms) => {
                variant(out, 4, N);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            ConnectorOp::Deliver => variant(out, 5, N),
            ConnectorOp::Revoke => variant(out, 6, N),
            ConnectorOp::Restart => variant(out, 7, N),
            ConnectorOp::Http(route, body) => {
                variant(out, 8, N);
                out.push(*route);
                byte_list(out, body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_core::fuzzing::assert_ops_round_trip;

    #[test]
    fn every_connector_op_decodes_back() {
        let ops = [
            ConnectorOp::Accept(0),
            ConnectorOp::Accept(3),
            ConnectorOp::Message(1, 4),
            ConnectorOp::Raw(0, b"{\"type\":\"going_idle\"}\n".to_vec()),
            ConnectorOp::Raw(2, Vec::new()),
            ConnectorOp::Closed(5),
            ConnectorOp::Advance(3_000),
            ConnectorOp::Deliver,
            ConnectorOp::Revoke,
            ConnectorOp::Restart,
            ConnectorOp::Http(1, b"{}".to_vec()),
        ];
        assert_ops_round_trip(&ops);
        for op in &ops {
            assert_ops_round_trip(core::slice::from_ref(op));
        }
    }
}
