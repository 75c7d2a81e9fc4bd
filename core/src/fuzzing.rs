//! Fuzz-target bodies (feature `arbitrary`).
//!
//! Each cargo-fuzz target in `fuzz/` is a one-line call into this module, and
//! an ordinary test replays every committed seed and regression file through
//! the same functions, so a crash once found stays fixed in the normal test
//! run. A body panics only when an invariant is broken: that is the finding.

use core::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use crate::auth::{mint_token, verify_token};
use crate::config::{PlatformIdentity, RelayConfig};
use crate::connection::{Connection, Event, Input, Output, State};
use crate::recycle::EventPool;
use crate::time::{Instant, UnixTime};
use crate::wire::{
    Action, ConnectorFrame, LineBuffer, decode_connector_frame, decode_connector_frame_in,
    decode_gateway_frame, encode_connector_frame, encode_gateway_frame,
};

/// Arbitrary bytes through the line buffer (split into WS messages at
/// positions the input chooses) and both decoders. Never panics; memory stays
/// bounded by the line limit; every frame that decodes re-encodes to a line
/// that decodes to the same frame; decoding into recycled storage (every
/// earlier inbound message handed back) gives what a fresh decode gives.
pub fn frame_decode(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split % 64) + 1;
    let mut lines = LineBuffer::new(4096);
    let mut pool = EventPool::default();
    for piece in rest.chunks(chunk) {
        lines.extend(piece);
        while let Some(line) = lines.next_line() {
            let Ok(line) = line else { continue };
            let fresh = decode_connector_frame(line);
            let reused = decode_connector_frame_in(line, &mut pool);
            assert_eq!(reused, fresh, "recycled storage must decode the same");
            if let Ok(ConnectorFrame::Inbound { event, .. }) = reused {
                pool.recycle(event);
            }
            if let Ok(frame) = fresh {
                let mut out = Vec::new();
                encode_connector_frame(&frame, &mut out);
                let again = out.strip_suffix(b"\n").map(decode_connector_frame);
                assert_eq!(
                    again,
                    Some(Ok(frame)),
                    "connector frame must survive re-encoding"
                );
            }
            if let Ok(frame) = decode_gateway_frame(line) {
                let mut out = Vec::new();
                encode_gateway_frame(&frame, &mut out);
                let again = out.strip_suffix(b"\n").map(decode_gateway_frame);
                assert_eq!(
                    again,
                    Some(Ok(frame)),
                    "gateway frame must survive re-encoding"
                );
            }
        }
        assert!(
            lines.pending_len() <= 4096 + chunk,
            "line buffer must stay bounded"
        );
    }
}

/// Token verification never panics on any input; a minted token verifies to
/// its payload; a token altered in any one byte never verifies.
pub fn token_verify(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(payload), Ok(secret), Ok(ttl), Ok(now), Ok(pos), Ok(byte)) = (
        String::arbitrary(&mut u),
        String::arbitrary(&mut u),
        u16::arbitrary(&mut u),
        u32::arbitrary(&mut u),
        usize::arbitrary(&mut u),
        u8::arbitrary(&mut u),
    ) else {
        return;
    };
    let now = UnixTime::from_secs(u64::from(now));
    let raw = String::from_utf8_lossy(u.take_rest()).into_owned();
    let _ = verify_token(&raw, &[secret.as_str(), "other"], now);

    let token = mint_token(&payload, &secret, u64::from(ttl), now);
    if !secret.is_empty() {
        assert_eq!(
            verify_token(&token, &[secret.as_str()], now).ok(),
            Some(payload.clone())
        );
    }
    let mut bytes = token.into_bytes();
    if bytes.is_empty() {
        return;
    }
    let i = pos % bytes.len();
    let Some(b) = bytes.get_mut(i) else { return };
    if *b == byte {
        return;
    }
    *b = byte;
    let altered = String::from_utf8_lossy(&bytes);
    assert!(
        verify_token(&altered, &[secret.as_str()], now).is_err(),
        "a token altered at byte {i} must not verify"
    );
}

/// Close codes worth trying, plus anything else.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum CloseCode {
    /// 1000.
    Normal,
    /// 1001.
    GoingAway,
    /// No close frame.
    Abnormal,
    /// 1009.
    TooBig,
    /// 1011.
    ServerError,
    /// 4401.
    Unauthorized,
    /// Any code.
    Other(u16),
}

impl CloseCode {
    fn code(self) -> Option<u16> {
        match self {
            CloseCode::Normal => Some(1000),
            CloseCode::GoingAway => Some(1001),
            CloseCode::Abnormal => None,
            CloseCode::TooBig => Some(1009),
            CloseCode::ServerError => Some(1011),
            CloseCode::Unauthorized => Some(4401),
            CloseCode::Other(c) => Some(c),
        }
    }
}

/// Connector lines the gateway may receive.
const LINES: [&str; 12] = [
    "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"discord\",\"label\":\"D\",\"max_message_length\":2000,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"discord\",\"len_unit\":\"chars\"}}\n",
    "{\"type\":\"inbound\",\"event\":{\"text\":\"hi\",\"source\":{\"platform\":\"discord\",\"chat_id\":\"c1\",\"chat_type\":\"group\",\"scope_id\":\"g1\"}},\"bufferId\":\"buf-1\"}\n",
    "{\"type\":\"inbound\",\"event\":{\"text\":\"yo\",\"source\":{\"chat_id\":\"c2\"}},\"bufferId\":2}\n",
    "{\"type\":\"inbound\",\"event\":{\"text\":\"live\",\"source\":{\"chat_id\":\"c1\"}}}\n",
    "{\"type\":\"going_idle_ack\"}\n",
    "{\"type\":\"interrupt_inbound\",\"session_key\":\"k\",\"chat_id\":\"c1\"}\n",
    "{\"type\":\"passthrough_forward\",\"forward\":{\"platform\":\"discord\",\"botId\":\"b\",\"method\":\"POST\",\"path\":\"/x\",\"headers\":[[\"a\",\"b\"]],\"bodyB64\":\"eyJ0eXBlIjogMn0=\"},\"bufferId\":\"p-1\"}\n",
    "{\"type\":\"outbound_result\",\"requestId\":\"nope\",\"result\":{\"success\":true}}\n",
    "{\"type\":\"outbound_result\",\"requestId\":\"x\",\"result\":null}\n",
    "not json\n",
    "{\"type\":\"hello\"}\n",
    "{\"type\":\"inbound\",\"event\":{\"text\":\"sp",
];

/// One step of the `connection_ops` target.
#[derive(Arbitrary, Clone, Debug)]
pub enum ConnOp {
    /// The upgrade succeeded.
    Opened,
    /// The upgrade failed with an optional HTTP status.
    DialFailed(Option<u16>),
    /// A line from the pool, possibly cut short.
    Line(u8, u8),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// The result of the n-th request sent so far.
    Result(u8, bool),
    /// The socket closed.
    Closed(CloseCode, bool),
    /// A pong.
    Pong,
    /// Time passes (milliseconds, scaled) and the deadline is reported.
    Advance(u16),
    /// Time goes backwards.
    Rewind(u16),
    /// The application sends.
    Send,
    /// The application goes idle.
    GoIdle,
    /// The application wakes the link.
    Wake,
    /// The application acks the n-th delivery it holds (maybe twice).
    Ack(u8),
    /// The application shuts down.
    Shutdown,
}

/// Replays `ops` against a `Connection`, checking the invariants of
/// docs/architecture.md after every step.
pub fn connection_ops(ops: &[ConnOp]) {
    let _ = connection_ops_trace(ops);
}

/// What a [`connection_ops`] run went through; the seed generator checks
/// that each structured seed reaches the states it is named after.
#[derive(Clone, Debug, Default)]
pub struct ConnectionTrace {
    /// Every state entered, in order.
    pub states: Vec<State>,
    /// The link's counters after the last op.
    pub stats: crate::connection::Stats,
    /// Buffered deliveries handed to the application.
    pub deliveries: usize,
    /// Requests that ended (answered or failed).
    pub requests_ended: usize,
}

/// [`connection_ops`], returning what the run went through.
pub fn connection_ops_trace(ops: &[ConnOp]) -> ConnectionTrace {
    let config = RelayConfig {
        relay_url: "ws://fuzz".into(),
        identities: vec![
            PlatformIdentity::new("discord", "b1"),
            PlatformIdentity::new("telegram", "b2"),
        ],
        gateway_id: Some("gw".into()),
        secret: Some("s".into()),
        ..RelayConfig::default()
    };
    let mut now = Instant::from_millis(1_000_000);
    let mut c = Connection::new(config, 1, now, UnixTime::from_secs(1_700_000_000));
    let mut check = Invariants::default();
    check.drain(&mut c);
    for op in ops {
        match op {
            ConnOp::Opened => c.handle_input(Input::Opened, now),
            ConnOp::DialFailed(s) => c.handle_input(
                Input::DialFailed {
                    http_status: *s,
                    reason: String::new(),
                },
                now,
            ),
            ConnOp::Line(i, cut) => {
                let line = LINES[usize::from(*i) % LINES.len()].as_bytes();
                let end = line.len().saturating_sub(usize::from(*cut % 4));
                c.handle_input(Input::Message(line.get(..end).unwrap_or(line)), now);
            }
            ConnOp::Raw(bytes) => c.handle_input(Input::Message(bytes), now),
            ConnOp::Result(n, null) => {
                if let Some(id) = check.sent.get(usize::from(*n) % check.sent.len().max(1)) {
                    let result = if *null { "null" } else { "{\"success\":true}" };
                    let line = format!(
                        "{{\"type\":\"outbound_result\",\"requestId\":\"{id}\",\"result\":{result}}}\n"
                    );
                    c.handle_input(Input::Message(line.as_bytes()), now);
                }
            }
            ConnOp::Closed(code, expired) => {
                let reason = if *expired { "expired" } else { "unauthorized" };
                check.closed_with(code.code(), reason, c.state());
                c.handle_input(
                    Input::Closed {
                        code: code.code(),
                        reason: reason.into(),
                    },
                    now,
                );
            }
            ConnOp::Pong => c.handle_input(Input::Pong, now),
            ConnOp::Advance(ms) => {
                now = now.saturating_add(Duration::from_millis(u64::from(*ms) * 10));
                c.handle_input(Input::Timeout, now);
            }
            ConnOp::Rewind(ms) => c.handle_input(
                Input::Timeout,
                now.saturating_sub(Duration::from_millis(u64::from(*ms))),
            ),
            ConnOp::Send => {
                if let Ok(id) = c.send(Action::send("c1", "x"), now) {
                    assert!(
                        check.open.insert(id.to_string()),
                        "request ids must be unique"
                    );
                    check.sent.push(id.to_string());
                }
            }
            ConnOp::GoIdle => {
                let _ = c.go_idle(now);
            }
            ConnOp::Wake => {
                let _ = c.wake(now);
            }
            ConnOp::Ack(n) => {
                if !check.held.is_empty() {
                    let h = check.held[usize::from(*n) % check.held.len()].clone();
                    let _ = c.ack(h, now);
                }
            }
            ConnOp::Shutdown => c.shutdown(now),
        }
        check.drain(&mut c);
    }
    ConnectionTrace {
        states: check.states,
        stats: c.stats(),
        deliveries: check.handed.len(),
        requests_ended: check.sent.len().saturating_sub(check.open.len()),
    }
}

#[derive(Default)]
struct Invariants {
    terminal: bool,
    ever_served: bool,
    /// A 4401 on a link that never reached Serving was just reported.
    cold_4401: bool,
    handed: std::collections::BTreeSet<String>,
    held: Vec<crate::connection::DeliveryHandle>,
    open: std::collections::BTreeSet<String>,
    sent: Vec<String>,
    states: Vec<State>,
    /// Inbound messages seen (every other one is handed back).
    inbound: usize,
}

impl Invariants {
    fn closed_with(&mut self, code: Option<u16>, _reason: &str, state: State) {
        self.cold_4401 = code == Some(4401) && !self.ever_served && state != State::Revoked;
    }

    fn drain(&mut self, c: &mut Connection) {
        for _ in 0..100_000 {
            let out = match c.poll_output() {
                // Every other inbound message is handed back (after its
                // delivery is noted below), so that the state machine runs
                // on recycled storage too.
                Output::Event(Event::Inbound { event, delivery }) => {
                    self.inbound += 1;
                    if self.inbound.is_multiple_of(2) {
                        c.recycle(event.clone());
                    }
                    Output::Event(Event::Inbound { event, delivery })
                }
                other => other,
            };
            match out {
                Output::Wait(_) => break,
                Output::Dial { .. } => assert!(!self.terminal, "no dial after a terminal state"),
                Output::Event(Event::StateChanged { to, .. }) => {
                    self.states.push(to);
                    if to == State::Serving {
                        self.ever_served = true;
                    }
                    if to == State::Revoked {
                        assert!(
                            !self.cold_4401,
                            "a 4401 before any descriptor must not revoke"
                        );
                    }
                    self.terminal |= to.is_terminal();
                }
                Output::Event(
                    Event::Inbound {
                        delivery: Some(d), ..
                    }
                    | Event::Passthrough {
                        delivery: Some(d), ..
                    },
                ) => {
                    assert!(
                        self.handed.insert(d.buffer_id().to_string()),
                        "a buffered item was handed twice"
                    );
                    self.held.push(d);
                }
                Output::Event(
                    Event::Response { request_id, .. } | Event::RequestFailed { request_id, .. },
                ) => {
                    assert!(
                        self.open.remove(request_id.as_str()),
                        "a request ended twice (or was never sent)"
                    );
                }
                _ => {}
            }
        }
        self.cold_4401 = false;
    }
}

/// Decodes structured input for a target from raw fuzzer bytes (used by the
/// seed replay test).
pub fn ops_from_bytes<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Vec<T> {
    Vec::<T>::arbitrary_take_rest(Unstructured::new(data)).unwrap_or_default()
}

/// Writes a value in the byte layout `arbitrary` 1.x decodes it from, so seed
/// corpora can be written as op lists (see [`ops_to_bytes`]).
///
/// The layout, as `#[derive(Arbitrary)]` and the std impls read it: an enum
/// variant is a little-endian `u32` `x`, and the variant index is
/// `(x * variant_count) >> 32`; the fields follow in order. Integers are
/// little-endian, a `bool` is one byte (low bit), an `Option` is a `bool` then
/// the value, and a `Vec<u8>` field is each byte preceded by a `1` and the
/// whole list ended by a `0`. A unit test decodes every variant back.
pub trait FuzzEncode {
    /// Appends the encoding of `self` to `out`.
    fn fuzz_encode(&self, out: &mut Vec<u8>);
}

/// The inverse of [`ops_from_bytes`]: each op preceded by a `1` (a top-level
/// list decoded with `arbitrary_take_rest` ends where the data ends).
pub fn ops_to_bytes<T: FuzzEncode>(ops: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        out.push(1);
        op.fuzz_encode(&mut out);
    }
    out
}

/// Checks that `ops` survive [`ops_to_bytes`] then [`ops_from_bytes`]
/// unchanged (compared through their `Debug` form), which is what keeps a
/// seed corpus written as op lists meaningful.
///
/// # Panics
///
/// When an op decodes back as something else: its [`FuzzEncode`] layout
/// does not match its `Arbitrary` derive.
pub fn assert_ops_round_trip<T>(ops: &[T])
where
    T: FuzzEncode + core::fmt::Debug + for<'a> Arbitrary<'a>,
{
    let bytes = ops_to_bytes(ops);
    let back: Vec<T> = ops_from_bytes(&bytes);
    assert_eq!(format!("{back:?}"), format!("{ops:?}"));
}

/// The smallest `u32` that `#[derive(Arbitrary)]` maps to variant `index` of
/// `count`: `ceil(index * 2^32 / count)`.
pub fn variant(out: &mut Vec<u8>, index: u32, count: u32) {
    let count = u64::from(count.max(1));
    let x = (u64::from(index) << 32).div_ceil(count);
    out.extend_from_slice(&u32::try_from(x).unwrap_or(u32::MAX).to_le_bytes());
}

/// Appends a `Vec<u8>` field in the layout `arbitrary` reads it from.
pub fn byte_list(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&[1, b]);
    }
    out.push(0);
}

impl FuzzEncode for CloseCode {
    fn fuzz_encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 7;
        match self {
            CloseCode::Normal => variant(out, 0, N),
            CloseCode::GoingAway => variant(out, 1, N),
            CloseCode::Abnormal => variant(out, 2, N),
            CloseCode::TooBig => variant(out, 3, N),
            CloseCode::ServerError => variant(out, 4, N),
            CloseCode::Unauthorized => variant(out, 5, N),
            CloseCode::Other(code) => {
                variant(out, 6, N);
                out.extend_from_slice(&code.to_le_bytes());
            }
        }
    }
}

impl FuzzEncode for ConnOp {
    fn fuzz_encode(&self, out: &mut Vec<u8>) {
        const N: u32 = 14;
        match self {
            ConnOp::Opened => variant(out, 0, N),
            ConnOp::DialFailed(status) => {
                variant(out, 1, N);
                match status {
                    Some(s) => {
                        out.push(1);
                        out.extend_from_slice(&s.to_le_bytes());
                    }
                    None => out.push(0),
                }
            }
            ConnOp::Line(i, cut) => {
                variant(out, 2, N);
                out.extend_from_slice(&[*i, *cut]);
            }
            ConnOp::Raw(bytes) => {
                variant(out, 3, N);
                byte_list(out, bytes);
            }
            ConnOp::Result(n, null) => {
                variant(out, 4, N);
                out.extend_from_slice(&[*n, u8::from(*null)]);
            }
            ConnOp::Closed(code, expired) => {
                variant(out, 5, N);
                code.fuzz_encode(out);
                out.push(u8::from(*expired));
            }
            ConnOp::Pong => variant(out, 6, N),
            ConnOp::Advance(ms) => {
                variant(out, 7, N);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            ConnOp::Rewind(ms) => {
                variant(out, 8, N);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            ConnOp::Send => variant(out, 9, N),
            ConnOp::GoIdle => variant(out, 10, N),
            ConnOp::Wake => variant(out, 11, N),
            ConnOp::Ack(n) => {
                variant(out, 12, N);
                out.push(*n);
            }
            ConnOp::Shutdown => variant(out, 13, N),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_conn_op_decodes_back() {
        let codes = [
            CloseCode::Normal,
            CloseCode::GoingAway,
            CloseCode::Abnormal,
            CloseCode::TooBig,
            CloseCode::ServerError,
            CloseCode::Unauthorized,
            CloseCode::Other(4001),
        ];
        let mut ops = vec![
            ConnOp::Opened,
            ConnOp::DialFailed(None),
            ConnOp::DialFailed(Some(503)),
            ConnOp::Line(7, 3),
            ConnOp::Raw(b"{\"type\":\"hello\"}\n".to_vec()),
            ConnOp::Raw(Vec::new()),
            ConnOp::Result(2, true),
            ConnOp::Result(0, false),
            ConnOp::Pong,
            ConnOp::Advance(65_535),
            ConnOp::Rewind(1),
            ConnOp::Send,
            ConnOp::GoIdle,
            ConnOp::Wake,
            ConnOp::Ack(9),
            ConnOp::Shutdown,
        ];
        ops.extend(codes.iter().map(|&c| ConnOp::Closed(c, true)));
        ops.extend(codes.iter().map(|&c| ConnOp::Closed(c, false)));
        assert_ops_round_trip(&ops);
        // Each variant also decodes when it is the last thing in the input.
        for op in &ops {
            assert_ops_round_trip(core::slice::from_ref(op));
        }
    }
}
