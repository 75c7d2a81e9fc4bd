"""The errors the asyncio driver raises besides the core's."""

from __future__ import annotations

from typing import Optional

from . import _core


class TransportClosedError(_core.RelayError, RuntimeError):
    """The transport was shut down (``disconnect()``) while a caller waited."""


class RelayRevokedError(_core.RelayError, RuntimeError):
    """The connector revoked this gateway's credential; the link is terminal."""


class UpgradeRefusedError(_core.RelayError, ConnectionError):
    """The connector answered the WebSocket upgrade with an HTTP error."""

    def __init__(self, status: Optional[int], reason: str) -> None:
        super().__init__(f"relay upgrade refused: {reason}")
        self.status = status
