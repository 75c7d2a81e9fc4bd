"""hermes_relay: the relay-rs gateway core for Python.

``hermes_relay._core`` is the sans-IO state machine compiled from Rust;
``hermes_relay.WebSocketRelayTransport`` drives it from asyncio over the
``websockets`` library and is a drop-in for the Hermes gateway transport of
the same name.
"""

from ._core import (
    AlreadyAckedError,
    CommandRefusedError,
    Config,
    ConfigError,
    Connection,
    InvalidActionError,
    InvalidStateError,
    NotConnectedError,
    OpNotSupportedError,
    RelayError,
    SendRefusedError,
    TooManyPendingError,
    UnknownDeliveryError,
)
from .transport import RelayRevokedError, TransportClosedError, WebSocketRelayTransport

__all__ = [
    "AlreadyAckedError",
    "CommandRefusedError",
    "Config",
    "ConfigError",
    "Connection",
    "InvalidActionError",
    "InvalidStateError",
    "NotConnectedError",
    "OpNotSupportedError",
    "RelayError",
    "RelayRevokedError",
    "SendRefusedError",
    "TooManyPendingError",
    "TransportClosedError",
    "UnknownDeliveryError",
    "WebSocketRelayTransport",
]
__version__ = "0.1.0"
