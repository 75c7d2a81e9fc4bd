"""``LinkFuture``'s cheaper paths keep asyncio's behaviour: the end of an
``await`` (no exception object made where none is needed), the callbacks
(the first kept apart from the rest) and the context they run in."""

from __future__ import annotations

import asyncio

import pytest

from hermes_relay._future import LinkFuture, Turn


class Owner:
    def __init__(self):
        self._turn = None


async def _await(fut):
    return await fut


@pytest.mark.parametrize("value", [{"success": True}, None, (1, 2), ValueError("v"), StopIteration(3)])
async def test_an_await_inside_an_except_block_returns_the_value(value):
    """While an exception is being handled, ending the iteration chains it
    (the interpreter makes the exception then): the value is still the result."""
    for through_task in (True, False):
        fut = LinkFuture(asyncio.get_running_loop(), Owner())
        try:
            raise KeyError("handled")
        except KeyError:
            if through_task:
                task = asyncio.ensure_future(_await(fut))
                await asyncio.sleep(0)
                fut.set_result(value)
                got = await task
            else:
                fut.set_result(value)
                got = await fut
        assert got is value


async def test_removing_the_first_callback_keeps_the_order_of_the_rest():
    loop = asyncio.get_running_loop()
    for in_turn in (True, False):
        owner = Owner()
        fut = LinkFuture(loop, owner)
        seen = []
        first = lambda f: seen.append("first")  # noqa: E731
        fut.add_done_callback(first)
        for name in ("b", "c", "d"):
            fut.add_done_callback(lambda f, name=name: seen.append(name))
        fut.add_done_callback(first)
        assert fut.remove_done_callback(first) == 2
        fut.add_done_callback(lambda f: seen.append("e"))
        if in_turn:
            turn = owner._turn = Turn()
            fut.set_result(None)
            owner._turn = None
            turn.wake_all()
        else:
            fut.set_result(None)
            assert seen == []
            await asyncio.sleep(0)
        assert seen == ["b", "c", "d", "e"]


async def test_a_context_that_is_not_a_contextvars_context_runs_the_callback_itself():
    class Ctx:
        def __init__(self):
            self.ran = []

        def run(self, fn, *args):
            self.ran.append(fn)
            return fn(*args)

    loop = asyncio.get_running_loop()
    owner = Owner()
    fut = LinkFuture(loop, owner)
    ctx = Ctx()
    seen = []
    cb = seen.append
    fut.add_done_callback(cb, context=ctx)
    owner._turn = Turn()
    fut.set_result(1)
    owner._turn.wake_all()
    assert seen == [fut] and ctx.ran == [cb]
