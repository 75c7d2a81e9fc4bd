//! `Link`: the core and the WebSocket framing in one object, for a driver
//! that owns only the TCP (or TLS) stream, such as an asyncio protocol.
//!
//! The driver opens a connection when told to (`dial` events), hands every
//! chunk it reads to [`Link::feed`], and reports the end of the stream with
//! [`Link::lost`]. Everything else happens here, on the caller's thread: the
//! upgrade and the framing (tungstenite over memory buffers), the core's
//! decisions, the writes (through the stream's `write` method, or with
//! `send` from Rust on an [`FdTransport`](crate::fdsock::FdTransport)), request
//! results (set on the caller's futures) and the timer (through the `arm`
//! callback, only when the deadline moves earlier). What the driver must
//! act on comes back as a list of tuples, or `None` when there is nothing.

use std::collections::HashMap;
use std::time::Instant as StdInstant;

use foldhash::fast::FixedState;
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::{IntoPyObjectExt, PyTraverseError};
use relay_core::config::IdleMode;
use relay_core::connection::{
    Connection as CoreConnection, DeliveryHandle, Event, IdleRefusal, Input, Output, RequestId,
    SendOptions,
};
use relay_core::wire::{Action, BufferId};
use relay_core::{Instant, UnixTime};
use serde::Deserialize;

use crate::config::Config;
use crate::convert::{drain_budget, result_dict, stats_dict};
use crate::errors::{InvalidActionError, command_error, send_error};
use crate::fdsock::FdTransport;
use crate::future::LinkFuture;
use crate::json::{from_py, json_of, to_py};
use crate::models::{self, Fields, Models};
use crate::pyde::{GaveUp, Held, PyDe};
use crate::ws::{Incoming, WsSocket};

/// The current socket: its framing and where its bytes go.
struct Socket {
    framing: WsSocket,
    writer: Writer,
}

/// Where the framing's bytes are written.
enum Writer {
    /// A Python transport's `write` (asyncio's, for TLS or a loop without
    /// `add_reader`): one `bytes` object per flush.
    Transport(Py<PyAny>),
    /// A socket the link writes itself (`FdTransport`), from the buffer.
    Fd(Py<FdTransport>),
}

/// A dial the driver was asked to make and has not opened yet.
struct DialPlan {
    url: String,
    headers: Vec<(String, String)>,
}

/// The relay link for an asyncio-style driver (see the module docs).
#[pyclass(module = "hermes_relay._core", unsendable)]
pub struct Link {
    conn: CoreConnection,
    epoch: StdInstant,
    dial_no: u64,
    plan: Option<DialPlan>,
    sock: Option<Socket>,
    /// Each pending request's future (only ids the core drew are stored, so
    /// a fixed hash seed is enough).
    futures: HashMap<RequestId, Py<PyAny>, FixedState>,
    /// Room for the strings an action's decode lends (see `Held`), reused.
    lent: Vec<Py<PyString>>,
    events: Vec<Py<PyAny>>,
    incoming: Vec<Incoming>,
    armed: Option<u64>,
    arm: Py<PyAny>,
    corked: bool,
    defer: Py<PyAny>,
    build_inbound: Py<PyAny>,
    build_forward: Py<PyAny>,
    models: Models,
}

fn tuple<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Py<PyAny>> {
    Ok(PyTuple::new(py, items)?.into_any().unbind())
}

/// A Rust tuple as the Python tuple of an event.
fn items<'py>(py: Python<'py>, t: impl IntoPyObject<'py>) -> PyResult<Py<PyAny>> {
    t.into_py_any(py)
}

impl Link {
    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// Writes what the framing produced, or holds it: the first frame
    /// outside a cork asks the driver's `defer` callback to run `uncork` on
    /// the event loop's next turn, so that the frames of many coroutines go
    /// out in one system call; `defer` answers whether to write this one at
    /// once (a lone request, with nothing else about to run, is not
    /// delayed).
    fn flush_batched(&mut self, py: Python<'_>) -> PyResult<()> {
        let pending = self
            .sock
            .as_mut()
            .is_some_and(|s| !s.framing.output().is_empty());
        if !pending || self.corked {
            return Ok(());
        }
        self.corked = true;
        if self.defer.call0(py)?.is_truthy(py)? {
            self.flush(py);
        }
        Ok(())
    }

    /// Writes what the framing produced to the stream, now.
    fn flush(&mut self, py: Python<'_>) {
        if let Some(sock) = self.sock.as_mut() {
            let out = sock.framing.output();
            if out.is_empty() {
                return;
            }
            // A stream that is going away reports it through `lost`.
            match &sock.writer {
                Writer::Transport(write) => {
                    let bytes = PyBytes::new(py, out);
                    out.clear();
                    let _ = write.call1(py, (bytes,));
                }
                Writer::Fd(t) => {
                    let _ = FdTransport::write_bytes(t.bind(py), out);
                    out.clear();
                }
            }
        }
    }

    /// Drops the current socket after writing what it still holds, and tells
    /// the driver to close (gracefully) or abort the stream.
    fn drop_socket(&mut self, py: Python<'_>, abort: bool) -> PyResult<()> {
        self.flush(py);
        if self.sock.take().is_some() || self.plan.take().is_some() {
            let kind = if abort { "abort" } else { "close" };
            let ev = tuple(
                py,
                vec![
                    kind.into_pyobject(py)?.into_any(),
                    self.dial_no.into_pyobject(py)?.into_any(),
                ],
            )?;
            self.events.push(ev);
        }
        Ok(())
    }

    /// Tells the driver why the upgrade of the current dial failed.
    fn dial_failed_event(
        &mut self,
        py: Python<'_>,
        status: Option<u16>,
        reason: &str,
    ) -> PyResult<()> {
        let ev = tuple(
            py,
            vec![
                "dial_failed".into_pyobject(py)?.into_any(),
                self.dial_no.into_pyobject(py)?.into_any(),
                status.into_pyobject(py)?.into_any(),
                reason.into_pyobject(py)?.into_any(),
            ],
        )?;
        self.events.push(ev);
        Ok(())
    }

    /// Hands `result` to `fut`, a request's future already taken from
    /// the table.
    fn resolve(py: Python<'_>, fut: Py<PyAny>, result: Py<PyAny>) -> PyResult<()> {
        let fut = fut.bind(py);
        if let Ok(f) = fut.cast::<LinkFuture>() {
            // A caller that gave up left a cancelled future: the result
            // is dropped.
            LinkFuture::resolve(f, result)?;
            return Ok(());
        }
        // A caller that gave up (cancelled) left a finished future, which
        // refuses the result; asked only then, one call per result.
        if let Err(e) = fut.call_method1(intern!(py, "set_result"), (result,)) {
            let refused = py.import("asyncio")?.getattr("InvalidStateError")?;
            if !(e.is_instance(py, &refused)
                && fut.call_method0(intern!(py, "done"))?.is_truthy()?)
            {
                return Err(e);
            }
        }
        Ok(())
    }

    fn on_event(&mut self, py: Python<'_>, event: Event) -> PyResult<()> {
        let ev = match event {
            Event::Response { request_id, result } => {
                let Some(fut) = self.futures.remove(&request_id) else {
                    return Ok(());
                };
                let r = result_dict(py, &result)?;
                return Self::resolve(py, fut, r);
            }
            Event::RequestFailed { request_id, error } => {
                let Some(fut) = self.futures.remove(&request_id) else {
                    return Ok(());
                };
                let r = result_dict(py, &error.to_result())?;
                return Self::resolve(py, fut, r);
            }
            Event::Inbound { event, delivery } => {
                let skw = models::source_kwargs(py, &self.models, &event.source)?;
                let ekw = models::event_kwargs(py, &self.models, &event)?;
                let obj = match self.build_inbound.call1(py, (skw, ekw)) {
                    Ok(o) => o,
                    Err(e) => return self.unbuildable(py, "inbound message", e),
                };
                let buffer = delivery.map(|d| d.buffer_id().as_str().to_owned());
                tuple(
                    py,
                    vec![
                        "inbound".into_pyobject(py)?.into_any(),
                        obj.into_bound(py),
                        buffer.into_pyobject(py)?.into_any(),
                    ],
                )?
            }
            Event::Passthrough { forward, delivery } => {
                let kw = models::forward_kwargs(py, &self.models, &forward)?;
                let obj = match self.build_forward.call1(py, (kw,)) {
                    Ok(o) => o,
                    Err(e) => return self.unbuildable(py, "passthrough forward", e),
                };
                let buffer = delivery.map(|d| d.buffer_id().as_str().to_owned());
                tuple(
                    py,
                    vec![
                        "passthrough".into_pyobject(py)?.into_any(),
                        obj.into_bound(py),
                        buffer.into_pyobject(py)?.into_any(),
                    ],
                )?
            }
            Event::Interrupt {
                session_key,
                chat_id,
            } => items(py, ("interrupt", session_key, chat_id))?,
            Event::StateChanged { from, to } => items(py, ("state", from.as_str(), to.as_str()))?,
            Event::DialScheduled { attempt, at } => {
                items(py, ("dial_scheduled", attempt, at.as_millis()))?
            }
            Event::Disconnected { code, reason } => items(py, ("disconnected", code, reason))?,
            Event::Descriptor(d) => items(py, ("descriptor", d.platform.as_str()))?,
            Event::FrameRejected { error } => items(py, ("rejected", error.to_string()))?,
            Event::IdleRefused { reason } => tuple(
                py,
                vec![
                    "idle_refused".into_pyobject(py)?.into_any(),
                    match reason {
                        IdleRefusal::AckTimeout => "ack_timeout",
                        IdleRefusal::ConnectionLost => "connection_lost",
                    }
                    .into_pyobject(py)?
                    .into_any(),
                ],
            )?,
            Event::Revoked => tuple(py, vec!["revoked".into_pyobject(py)?.into_any()])?,
            Event::RedialHeld { until } => tuple(
                py,
                vec![
                    "redial_held".into_pyobject(py)?.into_any(),
                    until.as_millis().into_pyobject(py)?.into_any(),
                ],
            )?,
            other => tuple(
                py,
                vec![
                    "rejected".into_pyobject(py)?.into_any(),
                    format!("{other:?}").into_pyobject(py)?.into_any(),
                ],
            )?,
        };
        self.events.push(ev);
        Ok(())
    }

    /// An event the application's class refused: reported, not delivered
    /// (and so not acknowledged), and the link carries on.
    fn unbuildable(&mut self, py: Python<'_>, what: &str, e: PyErr) -> PyResult<()> {
        let ev = tuple(
            py,
            vec![
                "rejected".into_pyobject(py)?.into_any(),
                format!("could not build the {what}: {e}")
                    .into_pyobject(py)?
                    .into_any(),
            ],
        )?;
        self.events.push(ev);
        Ok(())
    }

    /// Carries out every output of the core, then writes and re-arms.
    fn pump(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let deadline = loop {
            match self.conn.poll_output() {
                Output::Transmit(text) => {
                    if let Some(s) = self.sock.as_mut() {
                        s.framing.send_text(text);
                    }
                }
                Output::Ping => {
                    if let Some(s) = self.sock.as_mut() {
                        s.framing.send_ping();
                    }
                }
                Output::Close { code, reason } => {
                    let abort = code == relay_core::connection::CLOSE_ABNORMAL;
                    if let Some(s) = self.sock.as_mut()
                        && !abort
                    {
                        s.framing.close(code, &reason);
                    }
                    self.drop_socket(py, abort)?;
                }
                Output::Dial { target, headers } => {
                    self.drop_socket(py, true)?;
                    self.dial_no += 1;
                    self.plan = Some(DialPlan {
                        url: target.url().to_owned(),
                        headers,
                    });
                    let ev = tuple(
                        py,
                        vec![
                            "dial".into_pyobject(py)?.into_any(),
                            self.dial_no.into_pyobject(py)?.into_any(),
                            target.host().into_pyobject(py)?.into_any(),
                            target.port().into_pyobject(py)?.into_any(),
                            pyo3::types::PyBool::new(py, target.is_secure())
                                .to_owned()
                                .into_any(),
                        ],
                    )?;
                    self.events.push(ev);
                }
                Output::Event(e) => self.on_event(py, e)?,
                Output::Wait(d) => break d,
            }
        };
        self.flush_batched(py)?;
        if let Some(d) = deadline.map(Instant::as_millis)
            && self.armed.is_none_or(|a| d < a)
        {
            self.armed = Some(d);
            let now = self.now().as_millis();
            let delay = d.saturating_sub(now) as f64 / 1000.0 + 0.001;
            self.arm.call1(py, (delay,))?;
        }
        if self.events.is_empty() {
            return Ok(None);
        }
        let list = PyList::new(py, self.events.drain(..))?;
        Ok(Some(list.into_any().unbind()))
    }

    fn input(&mut self, py: Python<'_>, input: Input<'_>) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        self.conn.handle_input(input, now);
        self.pump(py)
    }
}

#[pymethods]
impl Link {
    /// A link for `config`. `arm(delay_s)` is called to (re)arm the timer;
    /// `defer()` must have `uncork()` called on the event loop's next turn
    /// and returns whether to write the frame that asked at once (true) or
    /// hold it for that `uncork` (false);
    /// `build_inbound(source_kwargs, event_kwargs)` and
    /// `build_forward(kwargs)` make the application's objects, whose classes
    /// accept the names in `source_fields`, `event_fields` and
    /// `forward_fields` (`None`: any name).
    #[new]
    #[pyo3(signature = (config, seed, wall_s, arm, defer, build_inbound, build_forward,
        source_fields=None, event_fields=None, forward_fields=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        config: &Config,
        seed: u64,
        wall_s: u64,
        arm: Py<PyAny>,
        defer: Py<PyAny>,
        build_inbound: Py<PyAny>,
        build_forward: Py<PyAny>,
        source_fields: Option<&Bound<'_, PyAny>>,
        event_fields: Option<&Bound<'_, PyAny>>,
        forward_fields: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let epoch = StdInstant::now();
        Ok(Link {
            conn: CoreConnection::new(
                config.inner.clone(),
                seed,
                Instant::from_millis(0),
                UnixTime::from_secs(wall_s),
            ),
            epoch,
            dial_no: 0,
            plan: None,
            sock: None,
            futures: HashMap::default(),
            lent: Vec::new(),
            events: Vec::new(),
            incoming: Vec::new(),
            armed: None,
            arm,
            corked: false,
            defer,
            build_inbound,
            build_forward,
            models: Models {
                source: Fields::from_py(py, source_fields, models::Src::NAMES)?,
                event: Fields::from_py(py, event_fields, models::Ev::NAMES)?,
                forward: Fields::from_py(py, forward_fields, &[])?,
            },
        })
    }

    /// Holds every frame until `uncork`: a driver corks before handling a
    /// socket read, so that what the read and the tasks it resumes write
    /// goes out in one write at its end.
    pub(crate) fn cork(&mut self) {
        self.corked = true;
    }

    /// Writes what was corked (by `cork`, or since the last turn, see
    /// `defer`), now; the next frame is written at once again.
    pub(crate) fn uncork(&mut self, py: Python<'_>) {
        self.corked = false;
        self.flush(py);
    }

    /// The first outputs (the dial).
    fn start(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.pump(py)
    }

    /// The stream of dial `dial_no` is open; `transport.write` takes its
    /// bytes (an `FdTransport` is written from Rust, without `bytes`).
    /// False when that dial is no longer wanted (close the stream).
    fn opened(
        &mut self,
        py: Python<'_>,
        dial_no: u64,
        transport: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        if dial_no != self.dial_no || self.sock.is_some() {
            return Ok(false);
        }
        let Some(plan) = self.plan.take() else {
            return Ok(false);
        };
        match WsSocket::connect(&plan.url, &plan.headers) {
            Ok(framing) => {
                let writer = match transport.cast::<FdTransport>() {
                    Ok(t) => Writer::Fd(t.clone().unbind()),
                    Err(_) => Writer::Transport(transport.getattr("write")?.unbind()),
                };
                self.sock = Some(Socket { framing, writer });
                self.flush(py);
                Ok(true)
            }
            Err(reason) => {
                let now = self.now();
                self.conn.handle_input(
                    Input::DialFailed {
                        http_status: None,
                        reason,
                    },
                    now,
                );
                self.pump(py)?;
                Ok(false)
            }
        }
    }

    /// Whether dial `dial_no` is still waiting for its upgrade to complete.
    fn upgrading(&self, dial_no: u64) -> bool {
        dial_no == self.dial_no
            && (self.plan.is_some() || self.sock.as_ref().is_some_and(|s| !s.framing.is_open()))
    }

    /// Dial `dial_no` failed before the upgrade completed.
    #[pyo3(signature = (dial_no, reason=String::new(), http_status=None))]
    fn connect_failed(
        &mut self,
        py: Python<'_>,
        dial_no: u64,
        reason: String,
        http_status: Option<u16>,
    ) -> PyResult<Option<Py<PyAny>>> {
        if !self.upgrading(dial_no) {
            return Ok(None);
        }
        self.sock = None;
        self.plan = None;
        self.input(
            py,
            Input::DialFailed {
                http_status,
                reason,
            },
        )
    }

    /// Bytes read from the stream of dial `dial_no`.
    pub(crate) fn feed(
        &mut self,
        py: Python<'_>,
        dial_no: u64,
        data: &[u8],
    ) -> PyResult<Option<Py<PyAny>>> {
        if dial_no != self.dial_no {
            return Ok(None);
        }
        let Some(sock) = self.sock.as_mut() else {
            return Ok(None);
        };
        let mut incoming = std::mem::take(&mut self.incoming);
        sock.framing.feed(data, &mut incoming);
        let now = self.now();
        for item in incoming.drain(..) {
            match item {
                Incoming::Opened => self.conn.handle_input(Input::Opened, now),
                Incoming::Text(text) => self.conn.handle_input(Input::Text(text.as_str()), now),
                Incoming::Binary(bytes) => self.conn.handle_input(Input::Message(&bytes), now),
                Incoming::Pong => self.conn.handle_input(Input::Pong, now),
                Incoming::Refused { status } => {
                    self.dial_failed_event(py, Some(status), &format!("HTTP {status}"))?;
                    self.conn.handle_input(
                        Input::DialFailed {
                            http_status: Some(status),
                            reason: format!("HTTP {status}"),
                        },
                        now,
                    );
                    self.drop_socket(py, true)?;
                }
                Incoming::Closed { code, reason } => {
                    // tungstenite queued the reply to the close frame.
                    self.drop_socket(py, false)?;
                    self.conn.handle_input(Input::Closed { code, reason }, now);
                }
                Incoming::Failed { reason } => {
                    let opened = self.sock.as_ref().is_some_and(|s| s.framing.is_open());
                    self.drop_socket(py, true)?;
                    if opened {
                        self.conn
                            .handle_input(Input::Closed { code: None, reason }, now);
                    } else {
                        self.dial_failed_event(py, None, &reason)?;
                        self.conn.handle_input(
                            Input::DialFailed {
                                http_status: None,
                                reason,
                            },
                            now,
                        );
                    }
                }
            }
            if self.sock.is_none() {
                break;
            }
        }
        incoming.clear();
        self.incoming = incoming;
        self.pump(py)
    }

    /// The stream of dial `dial_no` ended (or failed).
    #[pyo3(signature = (dial_no, reason=String::new()))]
    fn lost(
        &mut self,
        py: Python<'_>,
        dial_no: u64,
        reason: String,
    ) -> PyResult<Option<Py<PyAny>>> {
        if dial_no != self.dial_no {
            return Ok(None);
        }
        let Some(sock) = self.sock.take() else {
            return Ok(None);
        };
        if sock.framing.is_open() {
            self.input(py, Input::Closed { code: None, reason })
        } else {
            self.input(
                py,
                Input::DialFailed {
                    http_status: None,
                    reason,
                },
            )
        }
    }

    /// The timer fired.
    fn timeout(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.armed = None;
        self.input(py, Input::Timeout)
    }

    /// Sends an action object; returns the `LinkFuture` (of `event_loop`,
    /// for `owner`, see `LinkFuture`) that receives its result dict, or
    /// `(future, events)` when the driver has events to act on as well.
    /// Made here, the future costs no Python-level construction per request.
    /// Raises `TypeError`/`ValueError` for a value `json.dumps` would
    /// refuse, `InvalidActionError` for an invalid action and a
    /// `SendRefusedError` when the core refuses (nothing is sent then).
    #[pyo3(signature = (action, event_loop, owner, platform=None))]
    fn send(
        &mut self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        event_loop: Py<PyAny>,
        owner: Py<PyAny>,
        platform: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let held = Held::new(std::mem::take(&mut self.lent));
        let decoded = Action::deserialize(PyDe::new(action, &held));
        self.lent = held.release();
        let action = match decoded {
            Ok(a) => a,
            // Refused or unusual: the slow path says exactly why, or
            // decodes what the fast one does not take.
            Err(GaveUp) => {
                let value = from_py(action)?;
                Action::from_value(&value)
                    .map_err(|e| InvalidActionError::new_err(e.to_string()))?
            }
        };
        let options = match platform {
            Some(p) => SendOptions::new().platform(p),
            None => SendOptions::new(),
        };
        let future = Py::new(py, LinkFuture::new(event_loop, owner))?.into_any();
        let now = self.now();
        let id = self
            .conn
            .send_with(action, &options, now)
            .map_err(send_error)?;
        self.futures.insert(id, future.clone_ref(py));
        match self.pump(py)? {
            None => Ok(future),
            Some(events) => (future, events).into_py_any(py),
        }
    }

    /// Sends a fire-and-forget interrupt.
    #[pyo3(signature = (session_key, reason=None))]
    fn interrupt(
        &mut self,
        py: Python<'_>,
        session_key: String,
        reason: Option<String>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        self.conn
            .interrupt(session_key, reason, now)
            .map_err(send_error)?;
        self.pump(py)
    }

    /// Asks the connector to buffer for us; after the ack the link does
    /// what `mode` says (`keep`, `close` or `dormant`).
    fn go_idle(&mut self, py: Python<'_>, mode: &str) -> PyResult<Option<Py<PyAny>>> {
        let mode = IdleMode::parse(mode).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "idle mode must be keep, close or dormant, not {mode:?}"
            ))
        })?;
        let now = self.now();
        self.conn.go_idle_with(mode, now).map_err(command_error)?;
        self.pump(py)
    }

    /// Dials now if buffered.
    fn wake(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        self.conn.wake(now).map_err(command_error)?;
        self.pump(py)
    }

    /// The application took over the buffered delivery `buffer_id`.
    fn ack(&mut self, py: Python<'_>, buffer_id: String) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        self.conn
            .ack(DeliveryHandle::from_buffer_id(BufferId(buffer_id)), now)
            .map_err(command_error)?;
        self.pump(py)
    }

    /// Deliberate shutdown (idempotent), never to dial again. Requests in
    /// flight get up to `drain_s` seconds (clamped by the configured
    /// drain; `None`: the configured drain) for their results, in state
    /// `closing`; then what is still pending fails and the socket closes
    /// with 1000. With nothing in flight it closes at once.
    #[pyo3(signature = (drain_s=None))]
    fn shutdown(&mut self, py: Python<'_>, drain_s: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        match drain_s {
            None => self.conn.shutdown(now),
            Some(s) => self.conn.shutdown_within(drain_budget(s), now),
        }
        self.pump(py)
    }

    /// Holds the next re-dial until `release_redial` (or `wake`), at most
    /// the configured cap (60 s) from when it became due.
    fn hold_redial(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        self.conn.hold_redial(now).map_err(command_error)?;
        self.pump(py)
    }

    /// Ends a hold: a re-dial that waits dials now.
    fn release_redial(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let now = self.now();
        self.conn.release_redial(now).map_err(command_error)?;
        self.pump(py)
    }

    /// The generation of the current dial.
    #[getter]
    fn dial_no(&self) -> u64 {
        self.dial_no
    }

    /// The core's state name.
    #[getter]
    fn state(&self) -> &'static str {
        self.conn.state().as_str()
    }

    /// Whether the link can never leave its state.
    #[getter]
    fn is_terminal(&self) -> bool {
        self.conn.is_terminal()
    }

    /// Whether a socket is open (or opening) for the link.
    #[getter]
    fn socket_open(&self) -> bool {
        self.conn.socket_open()
    }

    /// Requests in flight.
    #[getter]
    fn pending_requests(&self) -> usize {
        self.conn.pending_requests()
    }

    /// The descriptor object for `platform` (the default one for None).
    #[pyo3(signature = (platform=None))]
    fn descriptor(&self, py: Python<'_>, platform: Option<&str>) -> PyResult<Py<PyAny>> {
        match self.conn.descriptor(platform) {
            Some(d) => to_py(py, &json_of(d)),
            None => Ok(py.None()),
        }
    }

    /// Counters as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.conn.stats())
    }

    /// Visits every Python object the link holds, for the cyclic garbage
    /// collector: the driver's callbacks usually refer back to the driver,
    /// which holds the link.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.arm)?;
        visit.call(&self.defer)?;
        visit.call(&self.build_inbound)?;
        visit.call(&self.build_forward)?;
        match self.sock.as_ref().map(|s| &s.writer) {
            Some(Writer::Transport(w)) => visit.call(w)?,
            Some(Writer::Fd(t)) => visit.call(t)?,
            None => {}
        }
        for f in self.futures.values() {
            visit.call(f)?;
        }
        for e in &self.events {
            visit.call(e)?;
        }
        Ok(())
    }

    /// Drops every reference the link holds (the collector breaks a cycle).
    fn __clear__(&mut self) {
        self.sock = None;
        self.futures.clear();
        self.events.clear();
        Python::attach(|py| {
            for f in [
                &mut self.arm,
                &mut self.defer,
                &mut self.build_inbound,
                &mut self.build_forward,
            ] {
                *f = py.None();
            }
        });
    }
}
