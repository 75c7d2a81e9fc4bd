"""``LinkFuture``: what ``asyncio.Task`` and callers rely on (await, result,
exception, cancellation, callbacks), and the turn: resolved while its owner
handles a read, it waits in the owner's list for ``wake()`` instead of the
loop's next turn."""

from __future__ import annotations

import asyncio

import pytest

from hermes_relay._future import LinkFuture


class Owner:
    def __init__(self):
        self._turn = None


def make():
    return LinkFuture(asyncio.get_running_loop(), Owner())


async def test_a_task_awaits_it_and_gets_the_result_on_the_loop():
    fut = make()
    assert asyncio.isfuture(fut) and not fut.done()
    task = asyncio.ensure_future(_await(fut))
    await asyncio.sleep(0)
    assert not task.done()
    fut.set_result({"success": True})
    assert fut.done() and not fut.cancelled() and fut.result() == {"success": True}
    assert fut.exception() is None
    assert await task == {"success": True}
    # Awaiting a finished one returns at once.
    assert await fut == {"success": True}


async def _await(fut):
    return await fut


@pytest.mark.parametrize("value", [None, 0, "s", (1, 2), (), ((1,),), ValueError("v"), [1]])
async def test_any_result_reaches_the_awaiting_task_as_it_is(value):
    """A tuple is not taken for arguments, an exception instance is a
    value, not raised: the same as awaiting an asyncio future."""
    for through_task in (True, False):
        fut = make()
        if through_task:
            task = asyncio.ensure_future(_await(fut))
            await asyncio.sleep(0)
            fut.set_result(value)
            got = await task
        else:
            fut.set_result(value)
            got = await fut
        assert got is value
        with pytest.raises(StopIteration) as stop:
            next(fut.__await__())
        assert stop.value.value is value


async def test_an_exception_is_raised_to_the_awaiting_task():
    fut = make()
    task = asyncio.ensure_future(_await(fut))
    await asyncio.sleep(0)
    fut.set_exception(ValueError)  # a class is instantiated
    with pytest.raises(ValueError):
        await task
    assert isinstance(fut.exception(), ValueError)
    with pytest.raises(ValueError):
        fut.result()


async def test_states_are_enforced():
    fut = make()
    with pytest.raises(asyncio.InvalidStateError):
        fut.result()
    with pytest.raises(asyncio.InvalidStateError):
        fut.exception()
    fut.set_result(1)
    with pytest.raises(asyncio.InvalidStateError):
        fut.set_result(2)
    with pytest.raises(asyncio.InvalidStateError):
        fut.set_exception(ValueError("x"))
    assert fut.cancel() is False
    assert fut.result() == 1


async def test_cancelling_the_task_cancels_the_future():
    fut = make()
    task = asyncio.ensure_future(_await(fut))
    await asyncio.sleep(0)
    task.cancel("bye")
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fut.cancelled() and fut.done()
    with pytest.raises(asyncio.CancelledError):
        fut.result()
    with pytest.raises(asyncio.CancelledError):
        fut.exception()
    assert fut.cancel() is False
    with pytest.raises(asyncio.InvalidStateError):
        fut.set_result(1)


async def test_wait_for_times_out_and_cancels_it():
    fut = make()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(fut, 0.01)
    assert fut.cancelled()


async def test_callbacks_run_on_the_loop_outside_a_turn():
    fut = make()
    seen = []
    fut.add_done_callback(lambda f: seen.append(("a", f)))
    fut.add_done_callback(lambda f: seen.append(("b", f)))
    drop = lambda f: seen.append(("dropped", f))  # noqa: E731
    fut.add_done_callback(drop)
    fut.add_done_callback(drop)
    assert fut.remove_done_callback(drop) == 2
    fut.set_result(None)
    assert seen == []  # scheduled, not run
    await asyncio.sleep(0)
    assert seen == [("a", fut), ("b", fut)]
    # Added once done: scheduled too.
    fut.add_done_callback(lambda f: seen.append(("late", f)))
    assert len(seen) == 2
    await asyncio.sleep(0)
    assert seen[-1] == ("late", fut)


async def test_resolved_during_a_turn_it_waits_for_wake():
    owner = Owner()
    fut = LinkFuture(asyncio.get_running_loop(), owner)
    seen = []
    fut.add_done_callback(seen.append)
    owner._turn = []
    fut.set_result(7)
    assert owner._turn == [fut] and seen == []
    owner._turn = None
    fut.wake()
    assert seen == [fut]
    fut.wake()  # callbacks run once
    assert seen == [fut]
    await asyncio.sleep(0)
    assert seen == [fut]


async def test_a_failing_callback_is_reported_and_the_others_run():
    loop = asyncio.get_running_loop()
    reports = []
    loop.set_exception_handler(lambda _loop, ctx: reports.append(ctx))
    try:
        owner = Owner()
        fut = LinkFuture(loop, owner)
        seen = []

        def boom(f):
            raise RuntimeError("boom")

        fut.add_done_callback(boom)
        fut.add_done_callback(seen.append)
        owner._turn = []
        fut.set_result(None)
        fut.wake()
        assert seen == [fut]
        assert len(reports) == 1 and isinstance(reports[0]["exception"], RuntimeError)
        assert reports[0]["future"] is fut
    finally:
        loop.set_exception_handler(None)


async def test_a_callback_runs_in_its_context():
    import contextvars

    var = contextvars.ContextVar("var", default="outer")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "inner")
    owner = Owner()
    fut = LinkFuture(asyncio.get_running_loop(), owner)
    seen = []
    fut.add_done_callback(lambda f: seen.append(var.get()), context=ctx)
    owner._turn = []
    fut.set_result(None)
    fut.wake()
    assert seen == ["inner"] and var.get() == "outer"


async def test_a_turn_wakes_in_order_those_joining_meanwhile_too_and_schedules_the_rest():
    from hermes_relay._future import Turn

    loop = asyncio.get_running_loop()
    owner = Owner()
    a, b, c, d = (LinkFuture(loop, owner) for _ in range(4))
    seen = []
    # a's callback resolves c while the turn is being woken: c joins it.
    a.add_done_callback(lambda f: (seen.append("a"), c.set_result(3)))
    b.add_done_callback(lambda f: seen.append("b"))
    c.add_done_callback(lambda f: seen.append("c"))
    turn = owner._turn = Turn()
    a.set_result(1)
    b.set_result(2)
    assert len(turn) == 2 and seen == []
    turn.wake_all()
    assert seen == ["a", "b", "c"] and len(turn) == 0
    # Those not woken (an error, or a task running) go to the loop.
    d.add_done_callback(lambda f: seen.append("d"))
    d.set_result(4)
    assert len(turn) == 1
    owner._turn = None
    turn.schedule_rest()
    assert seen == ["a", "b", "c"]
    await asyncio.sleep(0)
    assert seen == ["a", "b", "c", "d"]
