//! `hermes_relay._core`: the relay-rs gateway core for Python.
//!
//! A thin PyO3 layer over `relay_core::Connection`. Python feeds socket
//! events, timer expiries and application commands, each with the current
//! time in milliseconds, and drains what the core wants done. Every protocol
//! decision (backoff, revocation, dedupe, request deadlines, idle) is made in
//! Rust; this module only converts values.

use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use relay_core::config::{RelayConfig, RevocationPolicy, Timeouts};
use relay_core::connection::{
    CommandError, Connection as CoreConnection, DeliveryHandle, Event, IdleRefusal, Input, Output,
    SendError,
};
use relay_core::wire::{Action, BufferId};
use relay_core::{Instant, UnixTime};
use serde_json::{Map, Value};

create_exception!(_core, RelayError, PyException, "Base class of every error raised by hermes_relay.");
create_exception!(_core, ConfigError, RelayError, "The configuration is invalid.");
create_exception!(_core, SendRefusedError, RelayError, "The core refused to send an action; nothing was sent.");
create_exception!(_core, NotConnectedError, SendRefusedError, "No serving connection right now.");
create_exception!(_core, OpNotSupportedError, SendRefusedError, "The connector did not advertise this op.");
create_exception!(_core, TooManyPendingError, SendRefusedError, "Too many requests in flight.");
create_exception!(_core, InvalidActionError, SendRefusedError, "The action is not a valid action object.");
create_exception!(_core, CommandRefusedError, RelayError, "An application command is not legal now.");
create_exception!(_core, InvalidStateError, CommandRefusedError, "The command is not legal in the current state.");
create_exception!(_core, UnknownDeliveryError, CommandRefusedError, "Ack of a delivery this link never handed out.");
create_exception!(_core, AlreadyAckedError, CommandRefusedError, "Ack of a delivery that was already acked.");

fn send_error(e: SendError) -> PyErr {
    let msg = e.to_string();
    match e {
        SendError::NotConnected { .. } => NotConnectedError::new_err(msg),
        SendError::OpNotSupported { .. } => OpNotSupportedError::new_err(msg),
        SendError::TooManyPending { .. } => TooManyPendingError::new_err(msg),
        _ => SendRefusedError::new_err(msg),
    }
}

fn command_error(e: CommandError) -> PyErr {
    let msg = e.to_string();
    match e {
        CommandError::InvalidState { .. } => InvalidStateError::new_err(msg),
        CommandError::UnknownDelivery { .. } => UnknownDeliveryError::new_err(msg),
        CommandError::AlreadyAcked { .. } => AlreadyAckedError::new_err(msg),
        _ => CommandRefusedError::new_err(msg),
    }
}

// ---------------------------------------------------------------------------
// JSON values <-> Python objects

fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64().unwrap_or(0.0).into_pyobject(py)?.into_any().unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

fn from_py(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > 64 {
        return Err(InvalidActionError::new_err("action nests too deeply"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::from(v));
        }
        return Ok(Value::String(i.str()?.to_string()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_str()?.to_owned(),
                Err(_) => k.str()?.to_string(),
            };
            map.insert(key, from_py(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| from_py(&v, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| from_py(&v, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    Ok(Value::String(obj.str()?.to_string()))
}

fn json_of<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------
// Configuration

fn secs(name: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_millis((s * 1000.0).round().max(1.0) as u64))),
        Some(s) => Err(ConfigError::new_err(format!("{name} must be a positive number of seconds, not {s}"))),
    }
}

/// The gateway's relay configuration (validated by the core).
#[pyclass(module = "hermes_relay._core", frozen)]
#[derive(Clone)]
pub struct Config {
    inner: RelayConfig,
}

#[pymethods]
impl Config {
    /// `identities` is a list of `(platform, bot_id)`; timers are in seconds.
    /// Without `gateway_id` and `secret` the build fails unless
    /// `allow_unauthenticated=True` asks for a dial without credentials.
    #[new]
    #[pyo3(signature = (url, identities, *, gateway_id=None, secret=None, instance_id=None,
        handshake_timeout_s=None, request_timeout_s=None, idle_ack_timeout_s=None,
        keepalive_interval_s=None, pong_timeout_s=None, backoff_initial_s=None,
        backoff_max_s=None, stable_after_s=None, dormant_redial_s=None, revocation=None,
        max_frame_bytes=None, allow_unauthenticated=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: String,
        identities: Vec<(String, String)>,
        gateway_id: Option<String>,
        secret: Option<String>,
        instance_id: Option<String>,
        handshake_timeout_s: Option<f64>,
        request_timeout_s: Option<f64>,
        idle_ack_timeout_s: Option<f64>,
        keepalive_interval_s: Option<f64>,
        pong_timeout_s: Option<f64>,
        backoff_initial_s: Option<f64>,
        backoff_max_s: Option<f64>,
        stable_after_s: Option<f64>,
        dormant_redial_s: Option<f64>,
        revocation: Option<String>,
        max_frame_bytes: Option<usize>,
        allow_unauthenticated: bool,
    ) -> PyResult<Self> {
        let mut t = Timeouts::default();
        for (name, v, slot) in [
            ("handshake_timeout_s", handshake_timeout_s, &mut t.handshake),
            ("request_timeout_s", request_timeout_s, &mut t.request),
            ("idle_ack_timeout_s", idle_ack_timeout_s, &mut t.idle_ack),
            ("keepalive_interval_s", keepalive_interval_s, &mut t.keepalive_interval),
            ("pong_timeout_s", pong_timeout_s, &mut t.pong_timeout),
            ("backoff_initial_s", backoff_initial_s, &mut t.backoff_initial),
            ("backoff_max_s", backoff_max_s, &mut t.backoff_max),
            ("stable_after_s", stable_after_s, &mut t.stable_after),
        ] {
            if let Some(d) = secs(name, v)? {
                *slot = d;
            }
        }
        t.dormant_redial = secs("dormant_redial_s", dormant_redial_s)?;
        let mut b = RelayConfig::builder(url).timeouts(t);
        for (platform, bot_id) in identities {
            b = b.identity(platform, bot_id);
        }
        if let Some(id) = gateway_id {
            b = b.gateway_id(id);
        }
        if let Some(s) = secret {
            b = b.secret(s);
        }
        if let Some(i) = instance_id {
            b = b.instance_id(i);
        }
        if allow_unauthenticated {
            b = b.allow_unauthenticated();
        }
        if let Some(r) = revocation {
            b = b.revocation_policy(match r.to_ascii_lowercase().replace('_', "-").as_str() {
                "confirm-once" => RevocationPolicy::ConfirmOnce,
                "immediate" => RevocationPolicy::Immediate,
                other => {
                    return Err(ConfigError::new_err(format!(
                        "revocation must be confirm-once or immediate, not {other:?}"
                    )));
                }
            });
        }
        let mut c = b.build().map_err(|e| ConfigError::new_err(e.to_string()))?;
        if let Some(m) = max_frame_bytes {
            if m == 0 {
                return Err(ConfigError::new_err("max_frame_bytes must be at least 1"));
            }
            c.limits.max_frame_bytes = m;
        }
        Ok(Config { inner: c })
    }

    /// Reads the `GATEWAY_RELAY_*` environment variables (as the core does).
    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        let (inner, _warnings) =
            RelayConfig::from_env().map_err(|e| ConfigError::new_err(e.to_string()))?;
        Ok(Config { inner })
    }

    /// The dial URL (`ws(s)://…/relay`).
    #[getter]
    fn dial_url(&self) -> String {
        self.inner.dial_url()
    }

    /// The configured `(platform, bot_id)` identities.
    #[getter]
    fn identities(&self) -> Vec<(String, String)> {
        self.inner
            .identities
            .iter()
            .map(|i| (i.platform.clone(), i.bot_id.clone()))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(url={:?}, identities={:?}, gateway_id={:?})",
            self.inner.relay_url,
            self.identities(),
            self.inner.gateway_id
        )
    }
}

// ---------------------------------------------------------------------------
// Outputs

/// Open a WebSocket to `url` with these extra headers; then report
/// `handle_opened` or `handle_dial_failed`.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Dial {
    url: String,
    headers: Vec<(String, String)>,
}

/// Send `text` as one WebSocket text message.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Transmit {
    text: String,
}

/// Send a WebSocket ping; report `handle_pong` when it returns.
#[pyclass(module = "hermes_relay._core", frozen)]
pub struct Ping;

/// Close the socket with `code` (1006: abort without a close frame) and
/// forget it.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Close {
    code: u16,
    reason: String,
}

// ---------------------------------------------------------------------------
// Events

/// The link moved between states (`from_state` -> `to_state`).
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct StateChanged {
    from_state: &'static str,
    to_state: &'static str,
}

/// A dial is scheduled after a backoff, at `at_ms`.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct DialScheduled {
    attempt: u32,
    at_ms: u64,
}

/// The socket went away.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Disconnected {
    code: Option<u16>,
    reason: String,
}

/// A capability descriptor arrived (`descriptor` is its JSON object).
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct DescriptorReceived {
    platform: String,
    descriptor: Py<PyAny>,
}

/// An inbound message (`event` is the wire `MessageEvent` object). A
/// `buffer_id` means the connector buffered it: `ack` it after handoff.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Inbound {
    event: Py<PyAny>,
    buffer_id: Option<String>,
}

/// A passthrough forward (body already decoded).
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Passthrough {
    platform: String,
    bot_id: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Py<PyBytes>,
    body_undecodable: bool,
    profile: Option<String>,
    buffer_id: Option<String>,
}

/// The connector asks to interrupt a session's turn.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Interrupt {
    session_key: String,
    chat_id: String,
}

/// A request's result arrived (`result` is the result object).
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct Response {
    request_id: String,
    result: Py<PyAny>,
}

/// A request ended without a result; `result` is the failure as a result
/// object (`success: False`, `error`, `ambiguous`).
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct RequestFailed {
    request_id: String,
    error: String,
    ambiguous: bool,
    result: Py<PyAny>,
}

/// A frame could not be decoded and was skipped; the connection lives on.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct FrameRejected {
    error: String,
}

/// `go_idle` did not complete (`reason`: `ack_timeout` or `connection_lost`).
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct IdleRefused {
    reason: &'static str,
}

/// The credential was revoked; the link never dials again.
#[pyclass(module = "hermes_relay._core", frozen)]
pub struct Revoked;

fn event_to_py(py: Python<'_>, event: Event) -> PyResult<Py<PyAny>> {
    let buffer = |d: Option<DeliveryHandle>| d.map(|d| d.buffer_id().as_str().to_owned());
    Ok(match event {
        Event::StateChanged { from, to } => Py::new(
            py,
            StateChanged {
                from_state: from.as_str(),
                to_state: to.as_str(),
            },
        )?
        .into_any(),
        Event::DialScheduled { attempt, at } => Py::new(
            py,
            DialScheduled {
                attempt,
                at_ms: at.as_millis(),
            },
        )?
        .into_any(),
        Event::Disconnected { code, reason } => {
            Py::new(py, Disconnected { code, reason })?.into_any()
        }
        Event::Descriptor(d) => Py::new(
            py,
            DescriptorReceived {
                platform: d.platform.clone(),
                descriptor: to_py(py, &json_of(&*d))?,
            },
        )?
        .into_any(),
        Event::Inbound { event, delivery } => Py::new(
            py,
            Inbound {
                event: to_py(py, &json_of(&*event))?,
                buffer_id: buffer(delivery),
            },
        )?
        .into_any(),
        Event::Passthrough { forward, delivery } => {
            let f = *forward;
            Py::new(
                py,
                Passthrough {
                    platform: f.platform,
                    bot_id: f.bot_id,
                    method: f.method,
                    path: f.path,
                    headers: f.headers,
                    body: PyBytes::new(py, &f.body).unbind(),
                    body_undecodable: f.body_undecodable,
                    profile: f.profile,
                    buffer_id: buffer(delivery),
                },
            )?
            .into_any()
        }
        Event::Interrupt {
            session_key,
            chat_id,
        } => Py::new(
            py,
            Interrupt {
                session_key,
                chat_id,
            },
        )?
        .into_any(),
        Event::Response { request_id, result } => Py::new(
            py,
            Response {
                request_id: request_id.as_str().to_owned(),
                result: to_py(py, &json_of(&*result))?,
            },
        )?
        .into_any(),
        Event::RequestFailed { request_id, error } => Py::new(
            py,
            RequestFailed {
                request_id: request_id.as_str().to_owned(),
                error: error.to_string(),
                ambiguous: error.is_ambiguous(),
                result: to_py(py, &json_of(&error.to_result()))?,
            },
        )?
        .into_any(),
        Event::FrameRejected { error } => Py::new(
            py,
            FrameRejected {
                error: error.to_string(),
            },
        )?
        .into_any(),
        Event::IdleRefused { reason } => Py::new(
            py,
            IdleRefused {
                reason: match reason {
                    IdleRefusal::AckTimeout => "ack_timeout",
                    IdleRefusal::ConnectionLost => "connection_lost",
                },
            },
        )?
        .into_any(),
        Event::Revoked => Py::new(py, Revoked)?.into_any(),
        other => Py::new(
            py,
            FrameRejected {
                error: format!("unhandled event {other:?}"),
            },
        )?
        .into_any(),
    })
}

/// What `poll_output` returns: a Dial, Transmit, Ping, Close or an event
/// object, or an `int`/`None` deadline meaning "drained; wait".
enum Polled {
    Out(Py<PyAny>),
    Wait(Option<u64>),
}

fn output_to_py(py: Python<'_>, out: Output) -> PyResult<Polled> {
    Ok(Polled::Out(match out {
        Output::Dial { target, headers } => Py::new(
            py,
            Dial {
                url: target.url().to_owned(),
                headers,
            },
        )?
        .into_any(),
        Output::Transmit(text) => Py::new(py, Transmit { text })?.into_any(),
        Output::Ping => Py::new(py, Ping)?.into_any(),
        Output::Close { code, reason } => Py::new(py, Close { code, reason })?.into_any(),
        Output::Event(e) => event_to_py(py, e)?,
        Output::Wait(deadline) => return Ok(Polled::Wait(deadline.map(Instant::as_millis))),
    }))
}

// ---------------------------------------------------------------------------
// The connection

/// One gateway's relay link: the core's `Connection`. Every method takes
/// `now_ms`, a monotonic millisecond clock chosen by the caller. After each
/// input or command, call `drain` (or `poll_output` until it returns the
/// wait deadline).
#[pyclass(module = "hermes_relay._core")]
pub struct Connection {
    inner: CoreConnection,
}

#[pymethods]
impl Connection {
    /// A new link; its first output is the dial.
    #[new]
    fn new(config: &Config, seed: u64, now_ms: u64, wall_s: u64) -> Self {
        Connection {
            inner: CoreConnection::new(
                config.inner.clone(),
                seed,
                Instant::from_millis(now_ms),
                UnixTime::from_secs(wall_s),
            ),
        }
    }

    /// The WebSocket upgrade succeeded.
    fn handle_opened(&mut self, now_ms: u64) {
        self.inner.handle_input(Input::Opened, Instant::from_millis(now_ms));
    }

    /// The dial failed (`http_status` when the server answered one).
    #[pyo3(signature = (now_ms, http_status=None, reason=String::new()))]
    fn handle_dial_failed(&mut self, now_ms: u64, http_status: Option<u16>, reason: String) {
        self.inner.handle_input(
            Input::DialFailed {
                http_status,
                reason,
            },
            Instant::from_millis(now_ms),
        );
    }

    /// One text or binary WebSocket message (`str` or `bytes`).
    fn handle_message(&mut self, now_ms: u64, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let now = Instant::from_millis(now_ms);
        if let Ok(s) = data.cast::<PyString>() {
            self.inner
                .handle_input(Input::Message(s.to_str()?.as_bytes()), now);
        } else if let Ok(b) = data.cast::<PyBytes>() {
            self.inner.handle_input(Input::Message(b.as_bytes()), now);
        } else {
            let v: Vec<u8> = data.extract()?;
            self.inner.handle_input(Input::Message(&v), now);
        }
        Ok(())
    }

    /// The socket closed (`code` None: no close frame).
    #[pyo3(signature = (now_ms, code=None, reason=String::new()))]
    fn handle_closed(&mut self, now_ms: u64, code: Option<u16>, reason: String) {
        self.inner
            .handle_input(Input::Closed { code, reason }, Instant::from_millis(now_ms));
    }

    /// A pong arrived.
    fn handle_pong(&mut self, now_ms: u64) {
        self.inner.handle_input(Input::Pong, Instant::from_millis(now_ms));
    }

    /// The last wait deadline passed.
    fn handle_timeout(&mut self, now_ms: u64) {
        self.inner.handle_input(Input::Timeout, Instant::from_millis(now_ms));
    }

    /// Sends an action object (`{"op": "send", ...}`); returns the request id.
    /// The result arrives as a `Response` or `RequestFailed` event.
    fn send(&mut self, now_ms: u64, action: &Bound<'_, PyAny>) -> PyResult<String> {
        let value = from_py(action, 0)?;
        let action =
            Action::from_value(&value).map_err(|e| InvalidActionError::new_err(e.to_string()))?;
        self.inner
            .send(action, Instant::from_millis(now_ms))
            .map(|id| id.as_str().to_owned())
            .map_err(send_error)
    }

    /// Sends a fire-and-forget `interrupt` for `session_key`.
    #[pyo3(signature = (now_ms, session_key, reason=None))]
    fn interrupt(&mut self, now_ms: u64, session_key: String, reason: Option<String>) -> PyResult<()> {
        self.inner
            .interrupt(session_key, reason, Instant::from_millis(now_ms))
            .map_err(send_error)
    }

    /// Asks the connector to buffer for us (serving only).
    fn go_idle(&mut self, now_ms: u64) -> PyResult<()> {
        self.inner
            .go_idle(Instant::from_millis(now_ms))
            .map_err(command_error)
    }

    /// Dials now if buffered; a no-op in live states.
    fn wake(&mut self, now_ms: u64) -> PyResult<()> {
        self.inner
            .wake(Instant::from_millis(now_ms))
            .map_err(command_error)
    }

    /// The application durably took over the buffered delivery `buffer_id`.
    fn ack(&mut self, now_ms: u64, buffer_id: String) -> PyResult<()> {
        self.inner
            .ack(
                DeliveryHandle::from_buffer_id(BufferId(buffer_id)),
                Instant::from_millis(now_ms),
            )
            .map_err(command_error)
    }

    /// Deliberate shutdown: fails pending requests, closes with 1000, never
    /// dials again. Idempotent. At once: the Python transport tears its
    /// socket down right after, so it does not wait for a drain.
    fn shutdown(&mut self, now_ms: u64) {
        self.inner
            .shutdown_within(Duration::ZERO, Instant::from_millis(now_ms));
    }

    /// Re-anchors the wall clock used to mint tokens.
    fn set_wall_clock(&mut self, now_ms: u64, wall_s: u64) {
        self.inner
            .set_wall_clock(Instant::from_millis(now_ms), UnixTime::from_secs(wall_s));
    }

    /// The next output object, or the wait deadline (`int` ms or `None`) once
    /// drained.
    fn poll_output(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match output_to_py(py, self.inner.poll_output())? {
            Polled::Out(o) => Ok(o),
            Polled::Wait(Some(d)) => Ok(d.into_pyobject(py)?.into_any().unbind()),
            Polled::Wait(None) => Ok(py.None()),
        }
    }

    /// Drains every output: `(outputs, deadline_ms_or_None)`.
    fn drain(&mut self, py: Python<'_>) -> PyResult<(Vec<Py<PyAny>>, Option<u64>)> {
        let mut outs = Vec::new();
        loop {
            match output_to_py(py, self.inner.poll_output())? {
                Polled::Out(o) => outs.push(o),
                Polled::Wait(d) => return Ok((outs, d)),
            }
        }
    }

    /// The current state name (`dialing`, `handshaking`, `serving`,
    /// `going_idle`, `buffered`, `revoked`, `closed`).
    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state().as_str()
    }

    /// Whether the link can never leave its state.
    #[getter]
    fn is_terminal(&self) -> bool {
        self.inner.is_terminal()
    }

    /// Whether the link is re-dialing to confirm a possible revocation.
    #[getter]
    fn is_confirming_revocation(&self) -> bool {
        self.inner.is_confirming_revocation()
    }

    /// Requests in flight.
    #[getter]
    fn pending_requests(&self) -> usize {
        self.inner.pending_requests()
    }

    /// The descriptor object for `platform` (or the default one), or None.
    #[pyo3(signature = (platform=None))]
    fn descriptor(&self, py: Python<'_>, platform: Option<&str>) -> PyResult<Py<PyAny>> {
        match self.inner.descriptor(platform) {
            Some(d) => to_py(py, &json_of(d)),
            None => Ok(py.None()),
        }
    }

    /// Counters as a dict.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("dials", s.dials)?;
        d.set_item("frames_in", s.frames_in)?;
        d.set_item("frames_out", s.frames_out)?;
        d.set_item("frames_rejected", s.frames_rejected)?;
        d.set_item("requests_sent", s.requests_sent)?;
        d.set_item("unknown_results", s.unknown_results)?;
        d.set_item("duplicate_deliveries", s.duplicate_deliveries)?;
        d.set_item("acks_sent", s.acks_sent)?;
        Ok(d.into_any().unbind())
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Config>()?;
    m.add_class::<Connection>()?;
    m.add_class::<Dial>()?;
    m.add_class::<Transmit>()?;
    m.add_class::<Ping>()?;
    m.add_class::<Close>()?;
    m.add_class::<StateChanged>()?;
    m.add_class::<DialScheduled>()?;
    m.add_class::<Disconnected>()?;
    m.add_class::<DescriptorReceived>()?;
    m.add_class::<Inbound>()?;
    m.add_class::<Passthrough>()?;
    m.add_class::<Interrupt>()?;
    m.add_class::<Response>()?;
    m.add_class::<RequestFailed>()?;
    m.add_class::<FrameRejected>()?;
    m.add_class::<IdleRefused>()?;
    m.add_class::<Revoked>()?;
    for (name, ty) in [
        ("RelayError", py.get_type::<RelayError>()),
        ("ConfigError", py.get_type::<ConfigError>()),
        ("SendRefusedError", py.get_type::<SendRefusedError>()),
        ("NotConnectedError", py.get_type::<NotConnectedError>()),
        ("OpNotSupportedError", py.get_type::<OpNotSupportedError>()),
        ("TooManyPendingError", py.get_type::<TooManyPendingError>()),
        ("InvalidActionError", py.get_type::<InvalidActionError>()),
        ("CommandRefusedError", py.get_type::<CommandRefusedError>()),
        ("InvalidStateError", py.get_type::<InvalidStateError>()),
        ("UnknownDeliveryError", py.get_type::<UnknownDeliveryError>()),
        ("AlreadyAckedError", py.get_type::<AlreadyAckedError>()),
    ] {
        m.add(name, ty)?;
    }
    Ok(())
}
