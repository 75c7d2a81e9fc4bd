"""A future that can resume its waiting task within the current loop turn.

An ``asyncio.Future`` always hands its callbacks to ``loop.call_soon``: a
task waiting on a request's result resumes on the event loop's next turn,
which costs one more ``epoll_wait`` per request. ``LinkFuture`` (in Rust,
``hermes_relay._core``) speaks the same protocol to ``asyncio.Task``
(``_asyncio_future_blocking``, ``get_loop``, ``add_done_callback``,
``result``, ``cancel``), and lets the driver run those callbacks itself
(``wake``), at the end of the socket read that resolved it (``Turn``), where
no task is running. Resolved anywhere else, or cancelled, it schedules its
callbacks as asyncio's futures do.
"""

from __future__ import annotations

from ._core import LinkFuture, Turn

__all__ = ["LinkFuture", "Turn"]
