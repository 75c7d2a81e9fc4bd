//! The connection's public vocabulary: inputs, outputs, events and errors.

use crate::config::{ConfigError, DialTarget};
use crate::descriptor::CapabilityDescriptor;
use crate::message::MessageEvent;
use crate::request_id::RequestId;
use crate::time::Instant;
use crate::wire::{ActionResult, BufferId, DecodeError, PassthroughForward};

/// Close code for a normal, deliberate close.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code meaning "abort the transport" (never sent on the wire).
pub const CLOSE_ABNORMAL: u16 = 1006;
/// Close code for a frame over the size limit.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for "try again later": sent when a new buffered delivery
/// arrives while [`Limits::max_unacked_deliveries`] are outstanding, so the
/// connector keeps it and redelivers it after the reconnect.
///
/// [`Limits::max_unacked_deliveries`]: crate::config::Limits::max_unacked_deliveries
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// Something that happened to the socket, reported by the driver.
///
/// Inputs always refer to the socket of the most recent [`Output::Dial`].
/// Once the core has emitted [`Output::Close`] (or a new `Dial`), the driver
/// drops the old socket and reports nothing more about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// The WebSocket upgrade succeeded.
    Opened,
    /// The upgrade failed (connect error, or an HTTP status instead of 101).
    DialFailed {
        /// The HTTP status, when the server answered one.
        http_status: Option<u16>,
        /// What went wrong, for logs.
        reason: String,
    },
    /// The payload of one text or binary WebSocket message.
    Message(&'a [u8]),
    /// The payload of one text message as the WebSocket library handed it
    /// over, already checked as UTF-8: read as [`Input::Message`] is,
    /// without checking the text again.
    Text(&'a str),
    /// The socket closed. `code` is the peer's close code, `None` for an
    /// abnormal end (EOF, reset, no close frame).
    Closed {
        /// Close code.
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// A pong arrived.
    Pong,
    /// The deadline of the last [`Output::Wait`] has passed.
    Timeout,
}

/// Something the core wants done. Drain with `poll_output` until `Wait`.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open a WebSocket to `target` with these extra request headers.
    Dial {
        /// Where to dial: scheme, ASCII host, port and path, parsed once from
        /// the relay URL. Connect to [`DialTarget::host`] and
        /// [`DialTarget::port`] as they are; [`DialTarget::url`] is the
        /// request URL (`ws://…/relay` or `wss://…/relay`).
        target: DialTarget,
        /// Extra headers (a freshly minted `Authorization: Bearer` when credentials exist).
        headers: Vec<(String, String)>,
    },
    /// Send this text as one WebSocket text message.
    Transmit(String),
    /// Send a WebSocket ping.
    Ping,
    /// Close the socket with this code and reason. Code 1006 means: abort the
    /// transport without a close frame (1006 may not be sent on the wire).
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Tell the application.
    Event(Event),
    /// Nothing more to do until `deadline` (then send [`Input::Timeout`]) or
    /// the next input or command, whichever comes first.
    Wait(Option<Instant>),
}

/// The state of the link, as the runtime wrapper reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting to dial, or dialing.
    Dialing,
    /// Socket open, hellos sent, waiting for the first descriptor.
    Handshaking,
    /// Descriptor received; frames flow both ways.
    Serving,
    /// `going_idle` sent; still serving until the ack.
    GoingIdle,
    /// The connector buffers for us; no socket.
    Buffered,
    /// Shutting down: waiting (within the drain budget) for the results of
    /// requests already written; new sends are refused.
    Closing,
    /// The credential was revoked. Terminal.
    Revoked,
    /// Shut down by the application. Terminal.
    Closed,
}

impl State {
    /// Whether no transition can leave this state.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Revoked | State::Closed)
    }

    /// Lowercase name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Dialing => "dialing",
            State::Handshaking => "handshaking",
            State::Serving => "serving",
            State::GoingIdle => "going_idle",
            State::Buffered => "buffered",
            State::Closing => "closing",
            State::Revoked => "revoked",
            State::Closed => "closed",
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Proof that a buffered delivery was handed to the application; pass it to
/// `ack` once the item is durably handed off, and only then is `inbound_ack`
/// sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryHandle {
    pub(crate) buffer_id: BufferId,
}

impl DeliveryHandle {
    /// The connector's `bufferId` of the delivery.
    pub fn buffer_id(&self) -> &BufferId {
        &self.buffer_id
    }

    /// A handle for `buffer_id` (for applications that persist handles).
    pub fn from_buffer_id(buffer_id: BufferId) -> Self {
        DeliveryHandle { buffer_id }
    }
}

/// Why a request ended without a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No `outbound_result` arrived within the request timeout.
    #[error("relay outbound timed out")]
    Timeout,
    /// The socket dropped after the frame was written.
    #[error("relay transport connection lost")]
    ConnectionLost,
    /// The application shut the connection down.
    #[error("relay transport closed")]
    Shutdown,
    /// The connector's `result` was `null` or not an object.
    #[error("malformed result")]
    MalformedResult,
}

impl RequestError {
    /// Whether the action may still have taken effect.
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            RequestError::Timeout | RequestError::ConnectionLost | RequestError::Shutdown
        )
    }

    /// The failure as the reference's result object (`success: false`,
    /// `error`, `ambiguous`).
    pub fn to_result(&self) -> ActionResult {
        ActionResult::failure(self.to_string(), self.is_ambiguous())
    }
}

/// Why a `going_idle` did not lead to `Buffered`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleRefusal {
    /// No `going_idle_ack` within the idle-ack timeout; still serving.
    AckTimeout,
    /// The socket dropped before the ack.
    ConnectionLost,
}

/// Something the application should know.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The link moved between states.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A re-dial became due while held ([`Connection::hold_redial`](super::Connection::hold_redial)):
    /// it waits for [`Connection::release_redial`](super::Connection::release_redial)
    /// (or [`wake`](super::Connection::wake)), and dials at `until` at the
    /// latest.
    RedialHeld {
        /// When the dial happens if nothing releases it first.
        until: Instant,
    },
    /// A dial is scheduled after a backoff.
    DialScheduled {
        /// Consecutive failed attempts so far.
        attempt: u32,
        /// When the dial happens.
        at: Instant,
    },
    /// The socket went away (peer close, abort, or our own close).
    Disconnected {
        /// Close code (`None`: abnormal end).
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// A capability descriptor arrived.
    Descriptor(Box<CapabilityDescriptor>),
    /// An inbound message. With a delivery handle, the connector buffered it:
    /// ack the handle after durable handoff.
    Inbound {
        /// The message.
        event: Box<MessageEvent>,
        /// Present for buffered deliveries.
        delivery: Option<DeliveryHandle>,
    },
    /// A passthrough forward (body already base64-decoded).
    Passthrough {
        /// The forward.
        forward: Box<PassthroughForward>,
        /// Present for buffered deliveries.
        delivery: Option<DeliveryHandle>,
    },
    /// The connector asks to interrupt a session's turn.
    Interrupt {
        /// Session to interrupt.
        session_key: String,
        /// Its chat.
        chat_id: String,
    },
    /// A request's result arrived.
    Response {
        /// The request.
        request_id: RequestId,
        /// The connector's result.
        result: Box<ActionResult>,
    },
    /// A request ended without a result.
    RequestFailed {
        /// The request.
        request_id: RequestId,
        /// Why.
        error: RequestError,
    },
    /// A frame could not be decoded and was skipped (the connection lives on).
    FrameRejected {
        /// Why.
        error: DecodeError,
    },
    /// `go_idle` did not complete.
    IdleRefused {
        /// Why.
        reason: IdleRefusal,
    },
    /// The credential was revoked; the link will never dial again.
    Revoked,
    /// The configuration cannot be dialed (a relay URL that does not parse,
    /// which only a config assembled field by field can hold): the link
    /// never dials and, through [`Connection`](super::Connection), is
    /// `Closed` at once.
    ConfigRejected {
        /// What is wrong with the configuration.
        error: ConfigError,
    },
}

/// How to send one action ([`Connection::send_with`](super::Connection::send_with)).
///
/// ```
/// use relay_core::connection::SendOptions;
///
/// // A scheduled message to a chat no inbound has taught the link yet.
/// let options = SendOptions::new().platform("telegram");
/// assert_eq!(options.platform.as_deref(), Some("telegram"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOptions {
    /// The platform (identity) the action is for. The frame is tagged with
    /// it (`platform`, and the `botId` of the identity said hello for with
    /// that platform, when it has one), even on a gateway fronting a single
    /// identity, and the op is checked against that platform's descriptor
    /// when one was negotiated. `None` (or `""`): the chat's learned
    /// platform, tagged only on a gateway fronting several identities.
    pub platform: Option<String>,
}

impl SendOptions {
    /// No option: tagged and checked as the chat was learned.
    pub fn new() -> Self {
        SendOptions::default()
    }

    /// Sends for `platform` (see [`SendOptions::platform`](Self#structfield.platform)).
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }
}

/// Why `send` refused an action (nothing was sent).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No serving connection right now.
    #[error("relay transport not connected (state: {state})")]
    NotConnected {
        /// The current state.
        state: State,
    },
    /// The connector did not advertise this op.
    #[error("op {op:?} is not supported by the connector for platform {platform:?}")]
    OpNotSupported {
        /// The op.
        op: String,
        /// The platform whose descriptor was consulted.
        platform: String,
    },
    /// Too many requests in flight.
    #[error("too many requests in flight (limit {limit})")]
    TooManyPending {
        /// The limit.
        limit: usize,
    },
    /// The link is shutting down: it only waits for the results of requests
    /// already written.
    #[error("relay transport closed")]
    Closing,
}

impl SendError {
    /// The refusal as the reference's result object.
    pub fn to_result(&self) -> ActionResult {
        match self {
            SendError::OpNotSupported { .. } => ActionResult::failure("Not supported", false),
            other => ActionResult::failure(other.to_string(), false),
        }
    }
}

/// Why an application command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command is not legal in the current state.
    #[error("{command} is not possible while {state}")]
    InvalidState {
        /// The command.
        command: &'static str,
        /// The current state.
        state: State,
    },
    /// `ack` of a delivery this link never handed out (or long forgotten).
    #[error("unknown delivery {buffer_id}")]
    UnknownDelivery {
        /// The delivery's `bufferId`.
        buffer_id: String,
    },
    /// `ack` of a delivery that was already acked.
    #[error("delivery {buffer_id} was already acked")]
    AlreadyAcked {
        /// The delivery's `bufferId`.
        buffer_id: String,
    },
}

/// Counters, for observability and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Dials emitted.
    pub dials: u64,
    /// Frames decoded from the connector.
    pub frames_in: u64,
    /// Frames sent to the connector.
    pub frames_out: u64,
    /// Lines that failed to decode.
    pub frames_rejected: u64,
    /// Requests sent.
    pub requests_sent: u64,
    /// Results for unknown or already-finished requests (ignored).
    pub unknown_results: u64,
    /// Buffered deliveries seen again and not handed to the application.
    pub duplicate_deliveries: u64,
    /// `inbound_ack` frames sent.
    pub acks_sent: u64,
    /// New buffered deliveries refused because
    /// [`Limits::max_unacked_deliveries`](crate::config::Limits::max_unacked_deliveries)
    /// were outstanding (each closed the socket with 1013; the connector
    /// redelivers them).
    pub deliveries_deferred: u64,
    /// Descriptors ignored after a connection's first: for a platform
    /// already described on the connection, for one the gateway never said
    /// hello for, or beyond one per hello (no event is raised for them).
    pub descriptors_ignored: u64,
    /// Inbound messages not handed to the application because one with the
    /// same identity (platform, chat id, message id) was handed over
    /// recently ([`Limits::replay_window`](crate::config::Limits::replay_window));
    /// those carrying a `bufferId` were acked at once.
    pub replays_dropped: u64,
}
