//! `Connection`: the sans-IO core itself, for event loops that do their own
//! I/O (every input and command takes the caller's `now_ms`), with its
//! output and event objects.

use pyo3::PyTraverseError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use relay_core::connection::{
    Connection as CoreConnection, DeliveryHandle, Event, IdleRefusal, Input, Output, SendOptions,
};
use relay_core::wire::{Action, BufferId};
use relay_core::{Instant, UnixTime};

use crate::config::Config;
use crate::convert::{drain_budget, stats_dict};
use crate::errors::{InvalidActionError, command_error, send_error};
use crate::json::{from_py, json_of, to_py};

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

/// A re-dial became due while held: it waits for `release_redial` or
/// `wake`, and dials at `until_ms` at the latest.
#[pyclass(module = "hermes_relay._core", frozen, get_all)]
pub struct RedialHeld {
    until_ms: u64,
}

// The events that hold a dict are seen by the cyclic collector: the
// application may put into that dict something that refers back to the
// event. A dict in such a cycle is cleared by the collector, which frees it.
macro_rules! traversed {
    ($($ty:ident . $field:ident),*) => {$(
        #[pymethods]
        impl $ty {
            fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
                visit.call(&self.$field)
            }
        }
    )*};
}

traversed!(
    DescriptorReceived.descriptor,
    Inbound.event,
    Response.result,
    RequestFailed.result
);

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
        Event::RedialHeld { until } => Py::new(
            py,
            RedialHeld {
                until_ms: until.as_millis(),
            },
        )?
        .into_any(),
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
        self.inner
            .handle_input(Input::Opened, Instant::from_millis(now_ms));
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
        self.inner
            .handle_input(Input::Pong, Instant::from_millis(now_ms));
    }

    /// The last wait deadline passed.
    fn handle_timeout(&mut self, now_ms: u64) {
        self.inner
            .handle_input(Input::Timeout, Instant::from_millis(now_ms));
    }

    /// Sends an action object (`{"op": "send", ...}`), for `platform`'s
    /// identity when given; returns the request id. The result arrives as a
    /// `Response` or `RequestFailed` event.
    #[pyo3(signature = (now_ms, action, platform=None))]
    fn send(
        &mut self,
        now_ms: u64,
        action: &Bound<'_, PyAny>,
        platform: Option<&str>,
    ) -> PyResult<String> {
        let value = from_py(action)?;
        let action =
            Action::from_value(&value).map_err(|e| InvalidActionError::new_err(e.to_string()))?;
        let options = match platform {
            Some(p) => SendOptions::new().platform(p),
            None => SendOptions::new(),
        };
        self.inner
            .send_with(action, &options, Instant::from_millis(now_ms))
            .map(|id| id.as_str().to_owned())
            .map_err(send_error)
    }

    /// Sends a fire-and-forget `interrupt` for `session_key`.
    #[pyo3(signature = (now_ms, session_key, reason=None))]
    fn interrupt(
        &mut self,
        now_ms: u64,
        session_key: String,
        reason: Option<String>,
    ) -> PyResult<()> {
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

    /// Deliberate shutdown, never to dial again; idempotent. Requests in
    /// flight get up to `drain_s` seconds (clamped by the configured drain;
    /// `None`: the configured drain) for their results (state `closing`),
    /// then fail, and the socket closes with 1000.
    #[pyo3(signature = (now_ms, drain_s=None))]
    fn shutdown(&mut self, now_ms: u64, drain_s: Option<f64>) {
        let now = Instant::from_millis(now_ms);
        match drain_s {
            None => self.inner.shutdown(now),
            Some(s) => self.inner.shutdown_within(drain_budget(s), now),
        }
    }

    /// Holds the next re-dial until `release_redial` or `wake` (at most the
    /// configured cap).
    fn hold_redial(&mut self, now_ms: u64) -> PyResult<()> {
        self.inner
            .hold_redial(Instant::from_millis(now_ms))
            .map_err(command_error)
    }

    /// Ends a hold: a re-dial that waits dials now.
    fn release_redial(&mut self, now_ms: u64) -> PyResult<()> {
        self.inner
            .release_redial(Instant::from_millis(now_ms))
            .map_err(command_error)
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
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }
}
