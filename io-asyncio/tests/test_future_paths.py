"""``LinkFuture``'s cheaper paths keep asyncio's behaviour: the end of an
``await`` (no exception object made where none is needed)."""

from __future__ import annotations

import asyncio

import pytest

from hermes_relay._future import LinkFuture


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
