"""The event loop the suite runs on is the one asked for
(HERMES_RELAY_TEST_LOOP): a run meant for uvloop must not quietly test
asyncio's loop instead."""

from __future__ import annotations

import asyncio

from conftest import TEST_LOOP, run


def loop_kind(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.split(".")[0] == "uvloop" else "asyncio"


async def test_an_async_test_runs_on_the_loop_under_test():
    assert loop_kind(asyncio.get_running_loop()) == TEST_LOOP


def test_run_starts_the_loop_under_test():
    async def kind():
        return loop_kind(asyncio.get_running_loop())

    assert run(kind()) == TEST_LOOP
