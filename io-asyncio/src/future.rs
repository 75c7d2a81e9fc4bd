//! `LinkFuture`: a one-shot result that an asyncio task can await and that
//! can resume the task within the current loop turn.
//!
//! An `asyncio.Future` always hands its callbacks to `loop.call_soon`: a task
//! waiting on a request's result resumes on the event loop's next turn, one
//! more `epoll_wait` per request. This future speaks the protocol
//! `asyncio.Task` uses for foreign futures (`_asyncio_future_blocking`,
//! `get_loop`, `add_done_callback`, `result`, `cancel`) and lets the driver
//! run the callbacks itself (`wake`) at the end of the socket read that
//! resolved it, where no task is running: resolved while its owner's `_turn`
//! is a `Turn` (a read is being handled), it joins it there. Resolved
//! anywhere else, or cancelled, it schedules its callbacks as asyncio's
//! futures do. It is its own iterator for `await`, so awaiting it, resolving
//! it and resuming its task run no Python-level frame.

use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyStopIteration};
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::{PyTraverseError, PyTypeInfo};

static INVALID_STATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CANCELLED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONTEXT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONTEXT_RUN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Finished,
    Cancelled,
}

/// A callback and the context to run it in (`None`: the current one).
type Callback = (Py<PyAny>, Option<Py<PyAny>>);

/// The callbacks of a future: nearly always one (the awaiting task's), kept
/// inline so that a request allocates no vector for it.
#[derive(Default)]
struct Callbacks {
    first: Option<Callback>,
    more: Vec<Callback>,
}

impl Callbacks {
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    fn push(&mut self, cb: Callback) {
        if self.first.is_none() {
            self.first = Some(cb);
        } else {
            self.more.push(cb);
        }
    }

    /// All of them, in the order they were added.
    fn iter(&self) -> impl Iterator<Item = &Callback> {
        self.first.iter().chain(self.more.iter())
    }

    /// Takes them all, in order, leaving none.
    fn take(&mut self) -> impl Iterator<Item = Callback> + use<> {
        let first = self.first.take();
        let more = std::mem::take(&mut self.more);
        first.into_iter().chain(more)
    }
}

/// A one-shot result for a task to await (see the module docs).
#[pyclass(module = "hermes_relay._core")]
pub struct LinkFuture {
    /// Set while a task waits on it (asyncio's marker of a future).
    #[pyo3(get, set, name = "_asyncio_future_blocking")]
    blocking: bool,
    event_loop: Py<PyAny>,
    owner: Py<PyAny>,
    state: State,
    result: Option<Py<PyAny>>,
    exception: Option<Py<PyAny>>,
    cancel_msg: Option<Py<PyAny>>,
    callbacks: Callbacks,
}

fn invalid_state(py: Python<'_>, msg: String) -> PyResult<PyErr> {
    let ty = INVALID_STATE.import(py, "asyncio", "InvalidStateError")?;
    Ok(PyErr::from_value(ty.call1((msg,))?))
}

/// Sets `StopIteration(value)` as the current error, without making the
/// exception where the interpreter does not need it: `await` takes a value
/// set as the error's value, unnormalised, as the result (as it does for
/// CPython's own generators). A tuple would be taken for the arguments and
/// an exception instance for the exception itself, so those two are
/// wrapped in a `StopIteration`; `None` needs no error at all.
fn stop_iteration(value: Bound<'_, PyAny>) -> PyResult<()> {
    if value.is_none() {
        return Ok(());
    }
    let stop = PyStopIteration::type_object(value.py());
    let value = if value.is_instance_of::<PyTuple>() || value.is_instance_of::<PyBaseException>() {
        stop.call1((value,))?
    } else {
        value
    };
    // SAFETY: both are valid objects and the thread is attached (`value`
    // proves it); the error indicator takes its own references.
    unsafe { pyo3::ffi::PyErr_SetObject(stop.as_ptr(), value.as_ptr()) };
    Ok(())
}

/// `f(future)` run in `ctx`. A `contextvars.Context` is entered through
/// the unbound `Context.run` (no bound method made per call); any other
/// object through its own `run`, as asyncio's handles call it.
fn run_in<'py>(
    ctx: &Bound<'py, PyAny>,
    f: &Bound<'py, PyAny>,
    future: &Bound<'py, LinkFuture>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = ctx.py();
    let ty = CONTEXT.import(py, "contextvars", "Context")?;
    if ctx.is_exact_instance(ty) {
        let run = CONTEXT_RUN.get_or_try_init(py, || ty.getattr("run").map(Bound::unbind))?;
        run.bind(py).call1((ctx, f, future))
    } else {
        ctx.call_method1(intern!(py, "run"), (f, future))
    }
}

impl LinkFuture {
    fn cancelled_error(&self, py: Python<'_>) -> PyResult<PyErr> {
        let ty = CANCELLED.import(py, "asyncio", "CancelledError")?;
        let exc = match &self.cancel_msg {
            None => ty.call0()?,
            Some(m) => ty.call1((m.clone_ref(py),))?,
        };
        Ok(PyErr::from_value(exc))
    }

    /// The outcome as Python sees it: the result, or the error it raises.
    fn outcome(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.state {
            State::Finished => match &self.exception {
                Some(e) => Err(PyErr::from_value(e.bind(py).clone())),
                None => Ok(self
                    .result
                    .as_ref()
                    .map_or_else(|| py.None(), |r| r.clone_ref(py))),
            },
            State::Cancelled => Err(self.cancelled_error(py)?),
            State::Pending => Err(invalid_state(py, "Result is not ready.".into())?),
        }
    }

    /// Resolves with `result` unless already done; false then. Used by the
    /// link for each request's result, without a Python-level call.
    pub fn resolve(slf: &Bound<'_, Self>, result: Py<PyAny>) -> PyResult<bool> {
        {
            let mut this = slf.borrow_mut();
            if this.state != State::Pending {
                return Ok(false);
            }
            this.result = Some(result);
            this.state = State::Finished;
        }
        Self::resolved(slf)?;
        Ok(true)
    }

    /// Queues the callbacks: on the owner's turn when a read is being
    /// handled, else on the loop.
    fn resolved(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let owner = {
            let this = slf.borrow();
            if this.callbacks.is_empty() {
                return Ok(());
            }
            this.owner.clone_ref(py)
        };
        let turn = owner.bind(py).getattr(intern!(py, "_turn"))?;
        if turn.is_none() {
            Self::schedule(slf)
        } else if let Ok(t) = turn.cast::<Turn>() {
            t.borrow_mut().futures.push(slf.clone().unbind());
            Ok(())
        } else {
            turn.call_method1(intern!(py, "append"), (slf,))?;
            Ok(())
        }
    }

    fn take(&mut self) -> impl Iterator<Item = Callback> + use<> {
        self.callbacks.take()
    }
}

#[pymethods]
impl LinkFuture {
    /// A pending future of `event_loop`; `owner` has a `_turn` attribute: a
    /// list while a socket read is being handled, else None.
    #[new]
    pub(crate) fn new(event_loop: Py<PyAny>, owner: Py<PyAny>) -> Self {
        LinkFuture {
            blocking: false,
            event_loop,
            owner,
            state: State::Pending,
            result: None,
            exception: None,
            cancel_msg: None,
            callbacks: Callbacks::default(),
        }
    }

    /// The event loop the future belongs to.
    fn get_loop(&self, py: Python<'_>) -> Py<PyAny> {
        self.event_loop.clone_ref(py)
    }

    /// Whether it has a result, an exception or was cancelled.
    fn done(&self) -> bool {
        self.state != State::Pending
    }

    /// Whether it was cancelled.
    fn cancelled(&self) -> bool {
        self.state == State::Cancelled
    }

    /// The result; raises its exception, `CancelledError`, or
    /// `InvalidStateError` while pending.
    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.outcome(py)
    }

    /// Its exception (None if it has a result); raises `CancelledError`, or
    /// `InvalidStateError` while pending.
    fn exception(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match self.state {
            State::Finished => Ok(self.exception.as_ref().map(|e| e.clone_ref(py))),
            State::Cancelled => Err(self.cancelled_error(py)?),
            State::Pending => Err(invalid_state(py, "Exception is not set.".into())?),
        }
    }

    /// Calls `fn(future)` once done (on the loop's next turn if it already is).
    #[pyo3(signature = (r#fn, *, context=None))]
    fn add_done_callback(
        slf: &Bound<'_, Self>,
        r#fn: Py<PyAny>,
        context: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let mut this = slf.borrow_mut();
        if this.state == State::Pending {
            this.callbacks.push((r#fn, context));
            return Ok(());
        }
        let event_loop = this.event_loop.clone_ref(py);
        drop(this);
        let kw = PyDict::new(py);
        kw.set_item(intern!(py, "context"), context)?;
        event_loop
            .bind(py)
            .call_method(intern!(py, "call_soon"), (r#fn, slf), Some(&kw))?;
        Ok(())
    }

    /// Removes every registration of `fn`; how many there were.
    fn remove_done_callback(&mut self, py: Python<'_>, r#fn: Py<PyAny>) -> PyResult<usize> {
        let before = self.callbacks.len();
        let mut kept = Callbacks::default();
        for (f, c) in self.take() {
            if !f.bind(py).eq(r#fn.bind(py))? {
                kept.push((f, c));
            }
        }
        let removed = before - kept.len();
        self.callbacks = kept;
        Ok(removed)
    }

    /// Finishes with `result`; `InvalidStateError` if already done.
    fn set_result(slf: &Bound<'_, Self>, result: Py<PyAny>) -> PyResult<()> {
        if !Self::resolve(slf, result)? {
            let state = slf.borrow().state_name();
            return Err(invalid_state(slf.py(), format!("invalid state: {state}"))?);
        }
        Ok(())
    }

    /// Finishes with `exception` (a class is instantiated);
    /// `InvalidStateError` if already done.
    fn set_exception(slf: &Bound<'_, Self>, exception: Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let exception = if exception.is_instance_of::<PyType>() {
            exception.call0()?
        } else {
            exception
        };
        {
            let mut this = slf.borrow_mut();
            if this.state != State::Pending {
                let state = this.state_name();
                return Err(invalid_state(py, format!("invalid state: {state}"))?);
            }
            this.exception = Some(exception.unbind());
            this.state = State::Finished;
        }
        Self::resolved(slf)
    }

    /// Cancels a pending future (its callbacks go to the loop); false if done.
    #[pyo3(signature = (msg=None))]
    fn cancel(slf: &Bound<'_, Self>, msg: Option<Py<PyAny>>) -> PyResult<bool> {
        {
            let mut this = slf.borrow_mut();
            if this.state != State::Pending {
                return Ok(false);
            }
            this.state = State::Cancelled;
            this.cancel_msg = msg;
        }
        Self::schedule(slf)?;
        Ok(true)
    }

    /// Hands the callbacks to the loop, as asyncio's futures do.
    pub(crate) fn schedule(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let (callbacks, event_loop) = {
            let mut this = slf.borrow_mut();
            (this.take(), this.event_loop.clone_ref(py))
        };
        let call_soon = event_loop.bind(py).getattr(intern!(py, "call_soon"))?;
        for (f, c) in callbacks {
            let kw = PyDict::new(py);
            kw.set_item(intern!(py, "context"), c)?;
            call_soon.call((f, slf), Some(&kw))?;
        }
        Ok(())
    }

    /// Runs the callbacks now (the waiting task's next step). One that
    /// raises is reported to the loop's exception handler, as the loop
    /// reports a failing callback; `SystemExit` and `KeyboardInterrupt`
    /// propagate, the callbacks after it going to the loop.
    pub(crate) fn wake(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let (callbacks, event_loop) = {
            let mut this = slf.borrow_mut();
            (this.take(), this.event_loop.clone_ref(py))
        };
        let mut rest = callbacks;
        while let Some((f, c)) = rest.next() {
            let outcome = match &c {
                None => f.bind(py).call1((slf,)),
                Some(ctx) => run_in(ctx.bind(py), f.bind(py), slf),
            };
            let Err(e) = outcome else { continue };
            let fatal = e.is_instance_of::<pyo3::exceptions::PySystemExit>(py)
                || e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py);
            if fatal {
                let call_soon = event_loop.bind(py).getattr(intern!(py, "call_soon"))?;
                for (f, c) in rest {
                    let kw = PyDict::new(py);
                    kw.set_item(intern!(py, "context"), c)?;
                    call_soon.call((f, slf), Some(&kw))?;
                }
                return Err(e);
            }
            let report = PyDict::new(py);
            report.set_item("message", "Exception in a LinkFuture callback")?;
            report.set_item("exception", e.value(py))?;
            report.set_item("future", slf)?;
            event_loop
                .bind(py)
                .call_method1(intern!(py, "call_exception_handler"), (report,))?;
        }
        Ok(())
    }

    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// One step of `await`: the future itself while pending (the task then
    /// waits on it), else the end of the iteration with the result (or its
    /// error).
    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let mut this = slf.borrow_mut();
        if this.state == State::Pending {
            if this.blocking {
                // Resumed without a result: not awaited through a task.
                return Err(PyRuntimeError::new_err("await wasn't used with future"));
            }
            this.blocking = true;
            return Ok(Some(slf.clone().into_any().unbind()));
        }
        let value = this.outcome(py)?;
        drop(this);
        stop_iteration(value.into_bound(py))?;
        // The end of the iteration, its error set above (None: no value).
        Ok(None)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.event_loop)?;
        visit.call(&self.owner)?;
        visit.call(&self.result)?;
        visit.call(&self.exception)?;
        visit.call(&self.cancel_msg)?;
        for (f, c) in self.callbacks.iter() {
            visit.call(f)?;
            visit.call(c)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.result = None;
        self.exception = None;
        self.cancel_msg = None;
        self.callbacks = Callbacks::default();
    }
}

impl LinkFuture {
    fn state_name(&self) -> &'static str {
        match self.state {
            State::Pending => "PENDING",
            State::Finished => "FINISHED",
            State::Cancelled => "CANCELLED",
        }
    }
}

/// The futures resolved during one socket read, woken at its end, in
/// order, from Rust (no Python-level loop per future).
#[pyclass(module = "hermes_relay._core")]
#[derive(Default)]
pub struct Turn {
    futures: Vec<Py<LinkFuture>>,
    /// How many were taken (woken or scheduled).
    taken: usize,
}

impl Turn {
    fn take_next(slf: &Bound<'_, Self>) -> Option<Py<LinkFuture>> {
        let mut this = slf.borrow_mut();
        let fut = this.futures.get(this.taken)?.clone_ref(slf.py());
        this.taken += 1;
        Some(fut)
    }
}

#[pymethods]
impl Turn {
    /// An empty turn.
    #[new]
    fn new() -> Self {
        Turn::default()
    }

    /// How many are still to wake.
    fn __len__(&self) -> usize {
        self.futures.len() - self.taken
    }

    /// Adds `future` to wake at the end of the read.
    fn append(&mut self, future: Py<LinkFuture>) {
        self.futures.push(future);
    }

    /// Resumes the tasks of the futures, in order, those resolved meanwhile
    /// too (see `LinkFuture.wake`); only where no task is running.
    fn wake_all(slf: &Bound<'_, Self>) -> PyResult<()> {
        while let Some(fut) = Self::take_next(slf) {
            LinkFuture::wake(fut.bind(slf.py()))?;
        }
        Ok(())
    }

    /// Hands the callbacks of those not woken to the loop.
    fn schedule_rest(slf: &Bound<'_, Self>) -> PyResult<()> {
        while let Some(fut) = Self::take_next(slf) {
            LinkFuture::schedule(fut.bind(slf.py()))?;
        }
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for f in &self.futures {
            visit.call(f)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.futures.clear();
        self.taken = 0;
    }
}
