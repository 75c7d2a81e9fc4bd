//! The exceptions of `hermes_relay._core`, and the core's refusals mapped
//! onto them.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use relay_core::connection::{CommandError, SendError};

create_exception!(
    _core,
    RelayError,
    PyException,
    "Base class of every error raised by hermes_relay."
);
create_exception!(
    _core,
    ConfigError,
    RelayError,
    "The configuration is invalid."
);
create_exception!(
    _core,
    SendRefusedError,
    RelayError,
    "The core refused to send an action; nothing was sent."
);
create_exception!(
    _core,
    NotConnectedError,
    SendRefusedError,
    "No serving connection right now."
);
create_exception!(
    _core,
    OpNotSupportedError,
    SendRefusedError,
    "The connector did not advertise this op."
);
create_exception!(
    _core,
    TooManyPendingError,
    SendRefusedError,
    "Too many requests in flight."
);
create_exception!(
    _core,
    InvalidActionError,
    SendRefusedError,
    "The action is not a valid action object."
);
create_exception!(
    _core,
    CommandRefusedError,
    RelayError,
    "An application command is not legal now."
);
create_exception!(
    _core,
    InvalidStateError,
    CommandRefusedError,
    "The command is not legal in the current state."
);
create_exception!(
    _core,
    UnknownDeliveryError,
    CommandRefusedError,
    "Ack of a delivery this link never handed out."
);
create_exception!(
    _core,
    AlreadyAckedError,
    CommandRefusedError,
    "Ack of a delivery that was already acked."
);

pub fn send_error(e: SendError) -> PyErr {
    let msg = e.to_string();
    match e {
        SendError::NotConnected { .. } => NotConnectedError::new_err(msg),
        SendError::OpNotSupported { .. } => OpNotSupportedError::new_err(msg),
        SendError::TooManyPending { .. } => TooManyPendingError::new_err(msg),
        _ => SendRefusedError::new_err(msg),
    }
}

pub fn command_error(e: CommandError) -> PyErr {
    let msg = e.to_string();
    match e {
        CommandError::InvalidState { .. } => InvalidStateError::new_err(msg),
        CommandError::UnknownDelivery { .. } => UnknownDeliveryError::new_err(msg),
        CommandError::AlreadyAcked { .. } => AlreadyAckedError::new_err(msg),
        _ => CommandRefusedError::new_err(msg),
    }
}
