//! `hermes_relay._core`: the relay-rs gateway core for Python.
//!
//! Two ways to drive the core (`relay_core::Connection`) from Python:
//! [`link::Link`] holds the core and the WebSocket framing and needs only a
//! byte stream (the asyncio transport of `hermes_relay` uses it; a plain TCP
//! stream it reads and writes itself, through [`fdsock::FdTransport`]);
//! [`sansio::Connection`] is the bare core, for event loops that do their
//! own WebSocket I/O. Every protocol decision (backoff, revocation, dedupe,
//! request deadlines, idle) is made in Rust by the core; this module moves
//! bytes and converts values.

mod config;
mod convert;
mod errors;
mod fdsock;
mod future;
mod json;
mod link;
mod models;
mod pyde;
mod sansio;
mod ws;

use pyo3::prelude::*;

use config::Config;
use errors::*;
use fdsock::{FdTransport, deliver_read};
use future::{LinkFuture, Turn};
use link::Link;
use sansio::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Config>()?;
    m.add_class::<Connection>()?;
    m.add_class::<Link>()?;
    m.add_class::<FdTransport>()?;
    m.add_function(wrap_pyfunction!(deliver_read, m)?)?;
    m.add_class::<LinkFuture>()?;
    m.add_class::<Turn>()?;
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
    m.add_class::<RedialHeld>()?;
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
        (
            "UnknownDeliveryError",
            py.get_type::<UnknownDeliveryError>(),
        ),
        ("AlreadyAckedError", py.get_type::<AlreadyAckedError>()),
    ] {
        m.add(name, ty)?;
    }
    Ok(())
}
