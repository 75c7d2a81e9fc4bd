"""One TCP (or TLS) stream of the asyncio driver, as an ``asyncio.Protocol``.

Its owner is the transport. On asyncio's transport (TLS, or a loop without
``add_reader``) every chunk read goes to the owner's ``Link`` here, and the
tasks that chunk finished resume at the end of the read. On a plain stream
read by the link itself (``_core.FdTransport``) the read and its turn happen
in Rust, and this object only hears of the stream's end and of writing
pausing and resuming.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from . import _core


class Stream(asyncio.Protocol):
    """One TCP (or TLS) stream: bytes in and out, nothing else."""

    __slots__ = ("_owner", "dial_no", "transport", "_closer")

    def __init__(self, owner: Any, dial_no: int) -> None:
        self._owner = owner
        self.dial_no = dial_no
        self.transport: Optional[asyncio.Transport] = None
        self._closer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        # The tasks whose results this read brings resume at its end, in
        # this loop turn, and everything written meanwhile goes out in one
        # write when it ends: the same turn as on the link's own socket.
        owner = self._owner
        _core.deliver_read(owner._loop, owner, self.dial_no, data)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self._closer is not None:
            self._closer.cancel()
            self._closer = None
        self._owner._stream_lost(self, exc)

    def pause_writing(self) -> None:
        self._owner._paused_writing = True

    def resume_writing(self) -> None:
        owner = self._owner
        owner._paused_writing = False
        waiters, owner._drain_waiters = owner._drain_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def close_after(self, delay: float) -> None:
        """The close frame is written: let the peer end the stream, or abort
        it after ``delay``."""
        t = self.transport
        if t is None or t.is_closing():
            return
        self._closer = asyncio.get_running_loop().call_later(delay, t.abort)
