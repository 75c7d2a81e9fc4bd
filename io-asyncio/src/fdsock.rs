//! `FdTransport`: a plain TCP socket whose reads and writes the link does
//! itself, registered with a selector event loop (`loop.add_reader`).
//!
//! With asyncio's own transport, every read costs Python code on the
//! critical path: the transport's read callback, a `bytes` object, the
//! protocol's `data_received` (the turn, the cork, the feed), and the
//! `transport.write` of what the read answered. Here the loop calls
//! [`FdTransport::_read_ready`] directly: it receives into a buffer it
//! keeps, feeds the link, runs the turn (the tasks the read finished resume
//! at its end, and everything written meanwhile goes out in one `send`),
//! all in Rust. Only when `send` would block is the rest kept (the backlog)
//! and the socket registered for writing until it drains.
//!
//! Ownership: the Python `socket.socket` object owns the descriptor. This
//! object holds it, uses its number only while the transport is not closing,
//! and is the only one to close it (through `socket.close()`, after
//! `connection_lost`); Rust never closes the descriptor itself.
//!
//! It behaves as the asyncio transport does for its protocol (`Stream`):
//! `connection_lost(exc)` on the loop's next turn after an end of stream, an
//! error, `close()` (once the backlog is written) or `abort()`, and
//! `pause_writing()` / `resume_writing()` around the backlog's high and low
//! water marks.

use std::io;

use pyo3::PyTraverseError;
use pyo3::exceptions::{PyConnectionError, PyNotImplementedError, PyOSError};
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::future::Turn;
use crate::link::Link;

/// Bytes received per read (asyncio's transport reads up to 256 KiB; the
/// connector's frames are small, and one read per loop turn keeps it fair).
const READ_BYTES: usize = 64 * 1024;
/// Above this backlog the protocol is told to pause writing (asyncio's
/// default high-water mark): senders wait for it to drain.
pub const WRITE_HIGH: usize = 64 * 1024;
/// At or below this backlog, after a pause, the protocol is told to resume.
pub const WRITE_LOW: usize = 16 * 1024;
/// The most the backlog may hold: beyond it the peer is not reading, and the
/// stream fails (the core treats it as lost and re-dials).
pub const WRITE_MAX: usize = 16 * 1024 * 1024;

static CURRENT_TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[cfg(unix)]
mod sys {
    use std::io;

    /// One `recv` on a non-blocking socket.
    pub fn recv(fd: i32, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length; `fd` is an open
        // socket while the caller's transport is not closing.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// One `send`, never raising SIGPIPE.
    pub fn send(fd: i32, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: as for `recv`, `buf` being valid for reads.
        let n = unsafe {
            libc::send(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    pub const SUPPORTED: bool = true;
}

#[cfg(not(unix))]
mod sys {
    use std::io;

    pub fn recv(_fd: i32, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub fn send(_fd: i32, _buf: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub const SUPPORTED: bool = false;
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// The Python exception for a socket error: `OSError(errno, strerror)`,
/// which Python maps to its subclass (`ConnectionResetError`, ...), as the
/// `socket` module raises it.
fn os_error(py: Python<'_>, e: &io::Error) -> PyResult<Py<PyAny>> {
    let err = match e.raw_os_error() {
        Some(code) => {
            let text: String = py
                .import(intern!(py, "os"))?
                .call_method1(intern!(py, "strerror"), (code,))?
                .extract()?;
            PyOSError::new_err((code, text))
        }
        None => PyOSError::new_err(e.to_string()),
    };
    Ok(err.into_value(py).into_any())
}

/// A plain TCP socket read and written by the link (see the module docs).
#[pyclass(module = "hermes_relay._core", unsendable, weakref)]
pub struct FdTransport {
    fd: i32,
    sock: Py<PyAny>,
    event_loop: Py<PyAny>,
    protocol: Py<PyAny>,
    owner: Py<PyAny>,
    dial_no: u64,
    rbuf: Vec<u8>,
    /// What `send` did not take yet, from `sent` on, in order.
    backlog: Vec<u8>,
    sent: usize,
    reading: bool,
    read_paused: bool,
    writing: bool,
    write_paused: bool,
    closing: bool,
    closed: bool,
    sends: u64,
}

impl FdTransport {
    fn pending(&self) -> usize {
        self.backlog.len() - self.sent
    }

    fn call_loop(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, pyo3::types::PyString>,
        callback: Option<&str>,
    ) -> PyResult<()> {
        let py = slf.py();
        let (event_loop, fd) = {
            let t = slf.borrow();
            (t.event_loop.clone_ref(py), t.fd)
        };
        match callback {
            Some(cb) => event_loop
                .bind(py)
                .call_method1(name, (fd, slf.getattr(cb)?))?,
            None => event_loop.bind(py).call_method1(name, (fd,))?,
        };
        Ok(())
    }

    /// Writes `data` after the backlog: at once when nothing waits, else
    /// queued; the link calls this for every flush.
    pub fn write_bytes(slf: &Bound<'_, Self>, data: &[u8]) -> PyResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let py = slf.py();
        let (register, pause) = {
            let mut t = slf.borrow_mut();
            if t.closing {
                return Ok(());
            }
            let mut rest = data;
            if t.pending() == 0 {
                t.sends += 1;
                match sys::send(t.fd, data) {
                    Ok(n) => rest = &data[n..],
                    Err(e) if would_block(&e) => {}
                    Err(e) => {
                        drop(t);
                        let exc = os_error(py, &e)?;
                        return Self::force_close(slf, Some(exc));
                    }
                }
                if rest.is_empty() {
                    return Ok(());
                }
            }
            if t.pending() + rest.len() > WRITE_MAX {
                drop(t);
                let exc = PyConnectionError::new_err(format!(
                    "the peer is not reading: write backlog over {WRITE_MAX} bytes"
                ))
                .into_value(py)
                .into_any();
                return Self::force_close(slf, Some(exc));
            }
            t.backlog.extend_from_slice(rest);
            let register = !t.writing;
            t.writing = true;
            let pause = !t.write_paused && t.pending() > WRITE_HIGH;
            if pause {
                t.write_paused = true;
            }
            (register, pause)
        };
        if register {
            Self::call_loop(slf, intern!(py, "add_writer"), Some("_write_ready"))?;
        }
        if pause {
            let protocol = slf.borrow().protocol.clone_ref(py);
            protocol.call_method0(py, intern!(py, "pause_writing"))?;
        }
        Ok(())
    }

    /// Schedules `connection_lost(exc)` for the loop's next turn, as
    /// asyncio's transports report the end of a stream.
    fn lost_next_turn(
        slf: &Bound<'_, Self>,
        event_loop: &Py<PyAny>,
        exc: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        event_loop.call_method1(
            py,
            intern!(py, "call_soon"),
            (slf.getattr(intern!(py, "_call_connection_lost"))?, exc),
        )?;
        Ok(())
    }

    /// Stops everything now and reports `connection_lost(exc)` on the next
    /// turn (asyncio's `_force_close`).
    fn force_close(slf: &Bound<'_, Self>, exc: Option<Py<PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let (reading, writing, event_loop) = {
            let mut t = slf.borrow_mut();
            if t.closed {
                return Ok(());
            }
            let was_closing = t.closing;
            t.closing = true;
            t.backlog = Vec::new();
            t.sent = 0;
            let r = (t.reading, t.writing, t.event_loop.clone_ref(py));
            t.reading = false;
            t.writing = false;
            if was_closing && !r.1 {
                // `close()` already scheduled the end.
                return Ok(());
            }
            r
        };
        if reading {
            Self::call_loop(slf, intern!(py, "remove_reader"), None)?;
        }
        if writing {
            Self::call_loop(slf, intern!(py, "remove_writer"), None)?;
        }
        Self::lost_next_turn(slf, &event_loop, exc)
    }

    /// The end of the stream: the rest of the backlog is written, then the
    /// stream ends (asyncio's transport does the same when its protocol's
    /// `eof_received` returns False).
    fn on_eof(slf: &Bound<'_, Self>) -> PyResult<()> {
        Self::close(slf)
    }

    /// Hands `data` to the link in a turn: the tasks it finishes resume at
    /// its end, and what is written meanwhile goes out at once at its end.
    /// No borrow of the transport is held: the link writes through it.
    /// Both stream paths read through here (asyncio's through
    /// [`deliver_read`]).
    ///
    /// `from_loop`: the caller is the loop's own reader callback, where no
    /// task can be running, so the check for one (a Python call on 3.11) is
    /// skipped.
    pub(crate) fn deliver(
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        owner: &Bound<'_, PyAny>,
        dial_no: u64,
        data: &[u8],
        from_loop: bool,
    ) -> PyResult<()> {
        let link_obj = owner.getattr(intern!(py, "_link"))?;
        let Ok(link) = link_obj.cast::<Link>() else {
            return Ok(());
        };
        if !owner.getattr(intern!(py, "_turn"))?.is_none() {
            // Re-entered (not expected): the enclosing read ends the turn.
            let evs = link.borrow_mut().feed(py, dial_no, data)?;
            if let Some(evs) = evs {
                owner.call_method1(intern!(py, "_handle"), (evs,))?;
            }
            return Ok(());
        }
        let turn = Bound::new(py, Turn::default())?;
        owner.setattr(intern!(py, "_turn"), &turn)?;
        link.borrow_mut().cork();
        let body = (|| -> PyResult<()> {
            let evs = link.borrow_mut().feed(py, dial_no, data)?;
            if let Some(evs) = evs {
                owner.call_method1(intern!(py, "_handle"), (evs,))?;
            }
            // In order, more being added meanwhile; only where no task runs.
            if turn.len()? > 0 {
                let idle = from_loop || {
                    let current = CURRENT_TASK.import(py, "asyncio", "current_task")?;
                    current.call1((event_loop,))?.is_none()
                };
                if idle {
                    turn.call_method0(intern!(py, "wake_all"))?;
                }
            }
            Ok(())
        })();
        // Written first: the bookkeeping below only schedules callbacks for
        // a later turn, and need not delay the frames (the peer's answer).
        link.borrow_mut().uncork(py);
        let cleared = owner.setattr(intern!(py, "_turn"), py.None());
        let rest = turn.call_method0(intern!(py, "schedule_rest"));
        body.and(cleared).and(rest.map(|_| ()))
    }
}

/// One read of a stream on asyncio's own transport (`Stream.data_received`),
/// handed to `owner`'s link in a turn, as the link's own socket does it.
#[pyfunction]
pub fn deliver_read(
    py: Python<'_>,
    event_loop: &Bound<'_, PyAny>,
    owner: &Bound<'_, PyAny>,
    dial_no: u64,
    data: &[u8],
) -> PyResult<()> {
    FdTransport::deliver(py, event_loop, owner, dial_no, data, false)
}

#[pymethods]
impl FdTransport {
    /// A transport for the connected, non-blocking `sock` of dial `dial_no`
    /// on `event_loop`; `protocol` receives `connection_lost`,
    /// `pause_writing` and `resume_writing`; `owner` is the driver (its
    /// `_link`, `_turn` and `_handle`). Not reading until `start()`.
    /// `NotImplementedError` where the platform has no such sockets.
    #[new]
    fn new(
        event_loop: Py<PyAny>,
        sock: &Bound<'_, PyAny>,
        protocol: Py<PyAny>,
        owner: Py<PyAny>,
        dial_no: u64,
    ) -> PyResult<Self> {
        if !sys::SUPPORTED {
            return Err(PyNotImplementedError::new_err(
                "the link reads sockets itself only on Unix",
            ));
        }
        let fd: i32 = sock.call_method0("fileno")?.extract()?;
        if fd < 0 {
            return Err(PyOSError::new_err("the socket is closed"));
        }
        Ok(FdTransport {
            fd,
            sock: sock.clone().unbind(),
            event_loop,
            protocol,
            owner,
            dial_no,
            rbuf: vec![0; READ_BYTES],
            backlog: Vec::new(),
            sent: 0,
            reading: false,
            read_paused: false,
            writing: false,
            write_paused: false,
            closing: false,
            closed: false,
            sends: 0,
        })
    }

    /// Starts reading (`loop.add_reader`); `NotImplementedError` on a loop
    /// without it.
    fn start(slf: &Bound<'_, Self>) -> PyResult<()> {
        {
            let mut t = slf.borrow_mut();
            if t.closing || t.reading || t.read_paused {
                return Ok(());
            }
            t.reading = true;
        }
        let r = Self::call_loop(slf, intern!(slf.py(), "add_reader"), Some("_read_ready"));
        if r.is_err() {
            slf.borrow_mut().reading = false;
        }
        r
    }

    /// The loop's reader callback: one `recv`, fed to the link in a turn.
    fn _read_ready(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let (mut buf, got) = {
            let mut t = slf.borrow_mut();
            if t.closing {
                return Ok(());
            }
            let mut buf = std::mem::take(&mut t.rbuf);
            let got = sys::recv(t.fd, &mut buf);
            (buf, got)
        };
        let n = match got {
            Ok(0) => {
                slf.borrow_mut().rbuf = buf;
                return Self::on_eof(slf);
            }
            Ok(n) => n,
            Err(e) => {
                slf.borrow_mut().rbuf = buf;
                if would_block(&e) {
                    return Ok(());
                }
                let exc = os_error(py, &e)?;
                return Self::force_close(slf, Some(exc));
            }
        };
        let (event_loop, owner, dial_no) = {
            let t = slf.borrow();
            (t.event_loop.clone_ref(py), t.owner.clone_ref(py), t.dial_no)
        };
        let result = Self::deliver(
            py,
            event_loop.bind(py),
            owner.bind(py),
            dial_no,
            &buf[..n],
            true,
        );
        if buf.len() < READ_BYTES {
            buf.resize(READ_BYTES, 0);
        }
        slf.borrow_mut().rbuf = buf;
        result
    }

    /// The loop's writer callback: sends what the backlog holds.
    fn _write_ready(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let (unregister, resume, finish) = {
            let mut t = slf.borrow_mut();
            if t.closed || !t.writing {
                return Ok(());
            }
            let start = t.sent;
            t.sends += 1;
            match sys::send(t.fd, &t.backlog[start..]) {
                Ok(n) => t.sent += n,
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) => {
                    drop(t);
                    let exc = os_error(py, &e)?;
                    return Self::force_close(slf, Some(exc));
                }
            }
            let resume = t.write_paused && t.pending() <= WRITE_LOW;
            if resume {
                t.write_paused = false;
            }
            let drained = t.pending() == 0;
            if drained {
                t.backlog.clear();
                t.sent = 0;
                t.writing = false;
            } else if t.sent > t.backlog.len() / 2 {
                let sent = t.sent;
                t.backlog.drain(..sent);
                t.sent = 0;
            }
            (drained, resume, drained && t.closing)
        };
        if unregister {
            Self::call_loop(slf, intern!(py, "remove_writer"), None)?;
        }
        if resume {
            let protocol = slf.borrow().protocol.clone_ref(py);
            protocol.call_method0(py, intern!(py, "resume_writing"))?;
        }
        if finish {
            let event_loop = slf.borrow().event_loop.clone_ref(py);
            Self::lost_next_turn(slf, &event_loop, None)?;
        }
        Ok(())
    }

    /// Writes `data` (see `write_bytes`); the link writes without it.
    fn write(slf: &Bound<'_, Self>, data: &[u8]) -> PyResult<()> {
        Self::write_bytes(slf, data)
    }

    /// Stops reading; the stream ends once the backlog is written.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let (reading, drained, event_loop) = {
            let mut t = slf.borrow_mut();
            if t.closing {
                return Ok(());
            }
            t.closing = true;
            let r = (t.reading, t.pending() == 0, t.event_loop.clone_ref(py));
            t.reading = false;
            r
        };
        if reading {
            Self::call_loop(slf, intern!(py, "remove_reader"), None)?;
        }
        if drained {
            Self::lost_next_turn(slf, &event_loop, None)?;
        }
        Ok(())
    }

    /// Ends the stream now; what the backlog holds is dropped.
    fn abort(slf: &Bound<'_, Self>) -> PyResult<()> {
        Self::force_close(slf, None)
    }

    /// Reports the end to the protocol, then closes the socket.
    fn _call_connection_lost(slf: &Bound<'_, Self>, exc: Option<Py<PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let (protocol, sock) = {
            let mut t = slf.borrow_mut();
            if t.closed {
                return Ok(());
            }
            t.closed = true;
            (t.protocol.clone_ref(py), t.sock.clone_ref(py))
        };
        let lost = protocol.call_method1(py, intern!(py, "connection_lost"), (exc,));
        let closed = sock.call_method0(py, intern!(py, "close"));
        lost.and(closed).map(|_| ())
    }

    /// Whether the stream is closing or closed.
    fn is_closing(&self) -> bool {
        self.closing
    }

    /// Whether the socket is being read.
    fn is_reading(&self) -> bool {
        self.reading
    }

    /// Stops reading until `resume_reading` (backpressure).
    fn pause_reading(slf: &Bound<'_, Self>) -> PyResult<()> {
        {
            let mut t = slf.borrow_mut();
            if t.closing || t.read_paused {
                return Ok(());
            }
            t.read_paused = true;
            if !t.reading {
                return Ok(());
            }
            t.reading = false;
        }
        Self::call_loop(slf, intern!(slf.py(), "remove_reader"), None)
    }

    /// Reads again after `pause_reading`.
    fn resume_reading(slf: &Bound<'_, Self>) -> PyResult<()> {
        {
            let mut t = slf.borrow_mut();
            if t.closing || !t.read_paused {
                return Ok(());
            }
            t.read_paused = false;
        }
        Self::start(slf)
    }

    /// Bytes waiting in the backlog.
    fn get_write_buffer_size(&self) -> usize {
        self.pending()
    }

    /// `send` calls made so far (a write that went out at once is one).
    #[getter]
    fn sends(&self) -> u64 {
        self.sends
    }

    /// The descriptor's number (the socket object owns it).
    fn fileno(&self) -> i32 {
        self.fd
    }

    /// asyncio's `get_extra_info`: `socket` (the socket object) and
    /// `peername`; `default` for anything else.
    #[pyo3(signature = (name, default=None))]
    fn get_extra_info(
        &self,
        py: Python<'_>,
        name: &str,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match name {
            "socket" => Ok(self.sock.clone_ref(py)),
            "peername" | "sockname" if !self.closed => {
                let m = if name == "peername" {
                    "getpeername"
                } else {
                    "getsockname"
                };
                self.sock.call_method0(py, m)
            }
            _ => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.sock)?;
        visit.call(&self.event_loop)?;
        visit.call(&self.protocol)?;
        visit.call(&self.owner)?;
        Ok(())
    }

    fn __clear__(&mut self) {
        Python::attach(|py| {
            self.protocol = py.None();
            self.owner = py.None();
            self.event_loop = py.None();
        });
    }
}

impl Drop for FdTransport {
    /// Collected while open (its loop closed under it): the socket is
    /// closed and reported, as asyncio reports an unclosed transport.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        Python::attach(|py| {
            let msg = format!("unclosed transport <FdTransport fd={}>", self.fd);
            if let Ok(warn) = py.import("warnings") {
                let category = py.get_type::<pyo3::exceptions::PyResourceWarning>();
                let _ = warn.call_method1("warn", (msg, category));
            }
            let _ = self.sock.call_method0(py, "close");
        });
    }
}
