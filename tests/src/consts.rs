//! The simulation's fixed numbers.

/// Wall clock (Unix seconds) at simulated time zero.
pub const WALL_BASE: u64 = 1_700_000_000;
/// How many trace lines a violation report keeps.
pub const TRACE_TAIL: usize = 200;
/// How late a request may end after its deadline (ms).
pub const REQUEST_TOLERANCE_MS: u64 = 1_000;
/// The gateways' idle-ack timeout (ms), the core's default.
pub const IDLE_ACK_MS: u64 = 10_000;
/// Upgrade token lifetime the gateways use (seconds).
pub const TOKEN_TTL_SECS: u64 = 300;
