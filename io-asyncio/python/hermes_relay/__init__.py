"""hermes_relay: the relay-rs gateway core for Python.

``hermes_relay._core`` is compiled from Rust: the sans-IO state machine
(``Connection``) and, with the WebSocket framing, ``Link``.
``hermes_relay.WebSocketRelayTransport`` drives a ``Link`` from asyncio and is
a drop-in for the Hermes gateway transport of the same name.
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
from ._errors import RelayRevokedError, TransportClosedError, UpgradeRefusedError
from .transport import WebSocketRelayTransport

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
    "UpgradeRefusedError",
    "WebSocketRelayTransport",
]
__version__ = "0.1.0"
