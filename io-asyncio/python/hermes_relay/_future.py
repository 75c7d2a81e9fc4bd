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


class Turn(list):
    """The futures resolved during one socket read, resumed at its end (a
    list: made without a Python-level call, once per read)."""

    __slots__ = ()


class LinkFuture:
    """A one-shot result for a task to await (see the module docs).

    ``owner`` has a ``_turn`` attribute: a ``Turn`` while a socket read is
    being handled, else None.
    """

    # The first callback (a waiting task has exactly one) is kept in two
    # slots, any others in a list: no list or tuple per request.
    __slots__ = ("_asyncio_future_blocking", "_loop", "_owner", "_state", "_result", "_exception",
                 "_cancel_msg", "_fn", "_ctx", "_more")

    def __init__(self, loop: asyncio.AbstractEventLoop, owner: Any) -> None:
        # A slot, not a class attribute: asyncio.isfuture() then holds.
        self._asyncio_future_blocking = False
        self._loop = loop
        self._owner = owner
        self._state = _PENDING
        self._result: Any = None
        self._exception: Optional[BaseException] = None
        self._cancel_msg: Any = None
        self._fn: Optional[Callable[[Any], Any]] = None
        self._ctx: Any = None
        self._more: Optional[List[Any]] = None

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
        elif self._fn is None:
            self._fn = fn
            self._ctx = context
        elif self._more is None:
            self._more = [(fn, context)]
        else:
            self._more.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Any], Any]) -> int:
        callbacks = self._take()
        kept = [(f, c) for f, c in callbacks if f != fn]
        for f, c in kept:
            self.add_done_callback(f, context=c)
        return len(callbacks) - len(kept)

    def _take(self) -> List[Any]:
        """Every callback, in order, leaving none."""
        fn = self._fn
        if fn is None:
            return []
        callbacks = [(fn, self._ctx)]
        if self._more is not None:
            callbacks.extend(self._more)
            self._more = None
        self._fn = self._ctx = None
        return callbacks

    def set_result(self, result: Any) -> None:
        if self._state != _PENDING:
            raise asyncio.InvalidStateError(f"invalid state: {self._state}")
        self._result = result
        self._state = _FINISHED
        # As _resolved(), inlined: this runs once per request.
        if self._fn is not None:
            turn = self._owner._turn
            if turn is not None:
                turn.append(self)
            else:
                self.schedule()

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
        if self._fn is None:
            return
        turn = self._owner._turn
        if turn is not None:
            turn.append(self)
        else:
            self.schedule()

    def schedule(self) -> None:
        """Hands the callbacks to the loop, as asyncio's futures do."""
        for fn, context in self._take():
            self._loop.call_soon(fn, self, context=context)

    def wake(self) -> None:
        """Runs the callbacks now (the waiting task's next step)."""
        fn, context, more = self._fn, self._ctx, self._more
        self._fn = self._ctx = self._more = None
        while fn is not None:
            try:
                if context is None:
                    fn(self)
                else:
                    context.run(fn, self)
            except (SystemExit, KeyboardInterrupt):
                if more:
                    for f, c in more:
                        self._loop.call_soon(f, self, context=c)
                raise
            except BaseException as exc:  # noqa: BLE001 - as the loop reports a failing callback
                self._loop.call_exception_handler(
                    {"message": "Exception in a LinkFuture callback", "exception": exc, "future": self}
                )
            if not more:
                break
            fn, context = more.pop(0)

    def __await__(self) -> Any:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self
        state = self._state
        if state == _FINISHED and self._exception is None:
            return self._result
        if state == _PENDING:
            raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__
