"""A future that can resume its waiting task within the current loop turn.

An ``asyncio.Future`` always hands its callbacks to ``loop.call_soon``: a
task waiting on a request's result resumes on the event loop's next turn,
which costs one more ``epoll_wait`` per request. ``LinkFuture`` speaks the
same protocol to ``asyncio.Task`` (``_asyncio_future_blocking``,
``get_loop``, ``add_done_callback``, ``result``, ``cancel``), and lets the
driver run those callbacks itself, at the end of the socket read that
resolved it (``Turn``), where no task is running. Resolved anywhere else, or
cancelled, it schedules its callbacks as asyncio's futures do.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Optional

_PENDING = 0
_FINISHED = 1
_CANCELLED = 2


class Turn:
    """The futures resolved during one socket read, resumed at its end."""

    __slots__ = ("ready", "uncork")

    def __init__(self) -> None:
        self.ready: List["LinkFuture"] = []
        # The link asked for an uncork (frames were corked) during the read.
        self.uncork = False


class LinkFuture:
    """A one-shot result for a task to await (see the module docs).

    ``owner`` has a ``_turn`` attribute: a ``Turn`` while a socket read is
    being handled, else None.
    """

    __slots__ = ("_asyncio_future_blocking", "_loop", "_owner", "_state", "_result", "_exception",
                 "_cancel_msg", "_callbacks")

    def __init__(self, loop: asyncio.AbstractEventLoop, owner: Any) -> None:
        # A slot, not a class attribute: asyncio.isfuture() then holds.
        self._asyncio_future_blocking = False
        self._loop = loop
        self._owner = owner
        self._state = _PENDING
        self._result: Any = None
        self._exception: Optional[BaseException] = None
        self._cancel_msg: Any = None
        self._callbacks: List[Any] = []

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def result(self) -> Any:
        if self._state == _FINISHED:
            if self._exception is not None:
                raise self._exception
            return self._result
        if self._state == _CANCELLED:
            raise asyncio.CancelledError(*(() if self._cancel_msg is None else (self._cancel_msg,)))
        raise asyncio.InvalidStateError("Result is not ready.")

    def exception(self) -> Optional[BaseException]:
        if self._state == _FINISHED:
            return self._exception
        if self._state == _CANCELLED:
            raise asyncio.CancelledError(*(() if self._cancel_msg is None else (self._cancel_msg,)))
        raise asyncio.InvalidStateError("Exception is not set.")

    def add_done_callback(self, fn: Callable[[Any], Any], *, context: Any = None) -> None:
        if self._state != _PENDING:
            self._loop.call_soon(fn, self, context=context)
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Any], Any]) -> int:
        kept = [(f, c) for f, c in self._callbacks if f != fn]
        removed = len(self._callbacks) - len(kept)
        self._callbacks = kept
        return removed

    def set_result(self, result: Any) -> None:
        if self._state != _PENDING:
            raise asyncio.InvalidStateError(f"invalid state: {self._state}")
        self._result = result
        self._state = _FINISHED
        self._resolved()

    def set_exception(self, exception: BaseException) -> None:
        if self._state != _PENDING:
            raise asyncio.InvalidStateError(f"invalid state: {self._state}")
        if isinstance(exception, type):
            exception = exception()
        self._exception = exception
        self._state = _FINISHED
        self._resolved()

    def cancel(self, msg: Any = None) -> bool:
        if self._state != _PENDING:
            return False
        self._state = _CANCELLED
        self._cancel_msg = msg
        self.schedule()
        return True

    def _resolved(self) -> None:
        if not self._callbacks:
            return
        turn = self._owner._turn
        if turn is not None:
            turn.ready.append(self)
        else:
            self.schedule()

    def schedule(self) -> None:
        """Hands the callbacks to the loop, as asyncio's futures do."""
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            self._loop.call_soon(fn, self, context=context)

    def wake(self) -> None:
        """Runs the callbacks now (the waiting task's next step)."""
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            try:
                if context is None:
                    fn(self)
                else:
                    context.run(fn, self)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - as the loop reports a failing callback
                self._loop.call_exception_handler(
                    {"message": "Exception in a LinkFuture callback", "exception": exc, "future": self}
                )

    def __await__(self) -> Any:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self
        if self._state == _PENDING:
            raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__


def end_turn(turn: Turn, loop: asyncio.AbstractEventLoop) -> None:
    """Resumes the tasks whose futures the read resolved, in order (more may
    be added meanwhile), where no task is running; else schedules them."""
    ready = turn.ready
    i = 0
    try:
        if asyncio.current_task(loop) is None:
            while i < len(ready):
                fut = ready[i]
                i += 1
                fut.wake()
    finally:
        while i < len(ready):
            ready[i].schedule()
            i += 1
