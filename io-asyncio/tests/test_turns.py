"""Event-loop turns: a task waiting on a request's result, and the handler
of a delivered event, run at the end of the socket read that brought them,
not on a later turn; what that must not change (the ack still follows the
handler, a handler runs inside a task, its context stays its own, a waiting
caller can be cancelled)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import time

from hermes_relay import WebSocketRelayTransport
from hermes_relay import transport as transport_module
from miniws import MiniConnector, descriptor
from conftest import GATEWAYS, needs_asyncio_loop

BOUND = 20.0


class SelectCounter:
    """Counts the event loop's waits for I/O (one per loop turn)."""

    def __init__(self, loop):
        self.selector = loop._selector
        self.real = self.selector.select
        self.n = 0

    def __enter__(self):
        def select(timeout=None):
            self.n += 1
            return self.real(timeout)

        self.selector.select = select
        return self

    def __exit__(self, *exc):
        self.selector.select = self.real


def relay(connector, **kw):
    return WebSocketRelayTransport(
        connector.url, "telegram", "tg-bot", gateway_id="gw", upgrade_secret=GATEWAYS["gw"],
        connect_timeout_s=5.0, outbound_timeout_s=5.0, **kw,
    )


@needs_asyncio_loop("asyncio's selector or its socket transport")
async def test_a_round_trip_takes_one_loop_turn(connector):
    t = relay(connector)
    await asyncio.wait_for(t.connect(), BOUND)
    await asyncio.wait_for(t.handshake(), BOUND)
    try:
        n = 300
        with SelectCounter(asyncio.get_running_loop()) as turns:
            for i in range(n):
                r = await t.send_outbound({"op": "send", "chat_id": "c1", "content": f"m{i}"})
                assert r["success"], r
        # One wait for the result's read per request; a later turn for the
        # waiting task (or for the write's uncork) would make it 2 or 3.
        assert turns.n < 1.3 * n, turns.n
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


@needs_asyncio_loop("asyncio's selector or its socket transport")
async def test_a_drained_message_takes_one_loop_turn(connector):
    seen = []

    async def handler(event):
        seen.append(event.text)

    t = relay(connector, reconnect=False)
    t.set_inbound_handler(handler)
    await asyncio.wait_for(t.connect(), BOUND)
    await asyncio.wait_for(t.handshake(), BOUND)
    try:
        assert await asyncio.wait_for(t.go_idle(), BOUND) is True
        n = 200
        for i in range(n):
            status, body = await connector.post(
                "/dev/inbound", {"instance": "gw", "event": {"chat_id": "c", "text": f"i{i}", "platform": "telegram"}})
            assert status == 200 and body["delivery"] == "buffered", body
        with SelectCounter(asyncio.get_running_loop()) as turns:
            t.wake()
            deadline = time.monotonic() + BOUND
            while len(seen) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        assert seen == [f"i{i}" for i in range(n)]
        # The drain is ack-gated: one read per message, and the handler and
        # the ack in that read's turn.
        assert turns.n < 1.5 * n, turns.n
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


def make(url, **kw):
    kw.setdefault("connect_timeout_s", 2.0)
    kw.setdefault("outbound_timeout_s", 2.0)
    return WebSocketRelayTransport(url, "telegram", "tg-bot", **kw)


async def handshake_only(peer):
    await peer.recv_type("hello")
    await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})


def inbound(text, buffer_id):
    ev = {"text": text, "source": {"platform": "telegram", "chat_id": "c"}}
    return {"type": "inbound", "event": ev, "bufferId": buffer_id}


def acks(peer):
    return [f["bufferId"] for f in peer.lines if f.get("type") == "inbound_ack"]


async def until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return pred()


VAR = contextvars.ContextVar("VAR", default="unset")


async def test_the_ack_waits_for_a_suspended_handler_and_handlers_run_in_a_task():
    release = asyncio.Event()
    seen = []

    async def script(peer):
        await handshake_only(peer)
        await peer.send_frame(inbound("first", "b-1"))
        await peer.send_frame(inbound("second", "b-2"))
        await peer.idle()

    async def handler(event):
        # A handler runs inside a task (asyncio.timeout needs one) ...
        task = asyncio.current_task()
        assert task is not None
        seen.append((event.text, VAR.get()))
        VAR.set(event.text)
        if event.text == "first":
            await release.wait()

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        t.set_inbound_handler(handler)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        peer = mc.peers[0]
        assert await until(lambda: len(seen) == 1)
        await asyncio.sleep(0.1)
        # ... the first is still running: nothing acked, the second waits.
        assert acks(peer) == [] and len(seen) == 1
        release.set()
        assert await until(lambda: acks(peer) == ["b-1", "b-2"])
        assert [s[0] for s in seen] == ["first", "second"]
        # ... and what a handler sets in its context stays out of the
        # application's.
        assert VAR.get() == "unset"
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_waiting_caller_can_be_cancelled_and_a_late_result_is_dropped():
    gate = asyncio.Event()

    async def script(peer):
        await handshake_only(peer)
        first = await peer.recv_type("outbound")
        await gate.wait()
        await peer.send_frame({"type": "outbound_result", "requestId": first["requestId"],
                               "result": {"success": True, "message_id": "late"}})
        second = await peer.recv_type("outbound")
        await peer.send_frame({"type": "outbound_result", "requestId": second["requestId"],
                               "result": {"success": True, "message_id": "m2"}})
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = make(mc.url, outbound_timeout_s=10.0)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        peer = mc.peers[0]
        task = asyncio.ensure_future(t.send_outbound({"op": "send", "chat_id": "c", "content": "a"}))
        assert await until(lambda: any(f.get("type") == "outbound" for f in peer.lines))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the cancelled caller got a result")
        assert task.cancelled()
        gate.set()
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "b"}), BOUND)
        assert r == {"success": True, "message_id": "m2"}
        assert t.state == "serving"
        await asyncio.wait_for(t.disconnect(), BOUND)


@needs_asyncio_loop("asyncio's selector or its socket transport")
async def test_what_the_tasks_a_read_resumes_write_goes_out_in_one_write(monkeypatch):
    writes = []
    real_write = asyncio.selector_events._SelectorSocketTransport.write

    def write(self, data):
        writes.append((self, bytes(data)))
        return real_write(self, data)

    # Before the dial: the link takes the transport's write when it opens.
    monkeypatch.setattr(asyncio.selector_events._SelectorSocketTransport, "write", write)
    monkeypatch.setattr(transport_module, "_FD_PATH", False)
    marks = {}

    async def script(peer):
        await handshake_only(peer)
        first = await peer.recv_type("outbound")
        second = await peer.recv_type("outbound")
        await asyncio.sleep(0.05)
        marks["before"] = len(writes)
        # Both results in one TCP write: the client reads them together.
        peer.writer.write(b"".join(
            peer.frame(0x1, (json.dumps({"type": "outbound_result", "requestId": f["requestId"],
                                         "result": {"success": True, "message_id": m}}) + "\n").encode())
            for f, m in ((first, "m1"), (second, "m2"))))
        await peer.writer.drain()
        for _ in range(2):
            follow = await peer.recv_type("outbound")
            await peer.send_frame({"type": "outbound_result", "requestId": follow["requestId"],
                                   "result": {"success": True, "message_id": "f"}})
        await peer.idle()

    async def caller(t, name):
        r = await t.send_outbound({"op": "send", "chat_id": "c", "content": name})
        assert r["success"], r
        # Resumed at the end of the read that brought both results.
        r = await t.send_outbound({"op": "send", "chat_id": "c", "content": name + "-follow"})
        assert r["success"], r

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        await asyncio.wait_for(asyncio.gather(caller(t, "a"), caller(t, "b")), BOUND)
        follow_ups = [f for f in mc.peers[0].lines if f.get("type") == "outbound"][2:]
        assert len(follow_ups) == 2
        # Both follow-ups went out in the one write that ended the read (the
        # in-process peer's writes are not counted).
        ours = [d for w, d in writes[marks["before"]:] if w is t._stream.transport]
        assert len(ours) == 1, ours
        await asyncio.wait_for(t.disconnect(), BOUND)


def count_writes(monkeypatch, turns=None):
    """Records every transport write as (transport, bytes, loop turns so far),
    on asyncio's transport (the link's own socket: test_fd_path.py)."""
    monkeypatch.setattr(transport_module, "_FD_PATH", False)
    writes = []
    real_write = asyncio.selector_events._SelectorSocketTransport.write

    def write(self, data):
        writes.append((self, bytes(data), turns.n if turns is not None else None))
        return real_write(self, data)

    monkeypatch.setattr(asyncio.selector_events._SelectorSocketTransport, "write", write)
    return writes


def client_frames(data):
    """The JSON lines of the masked text frames in `data` (one write)."""
    out, i = [], 0
    while i < len(data):
        assert data[i] & 0x0F == 0x1, data[i]
        n, i = data[i + 1] & 0x7F, i + 2
        if n == 126:
            n, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        elif n == 127:
            n, i = int.from_bytes(data[i:i + 8], "big"), i + 8
        mask, i = data[i:i + 4], i + 4
        payload = bytes(b ^ mask[j % 4] for j, b in enumerate(data[i:i + n]))
        out.extend(json.loads(line) for line in payload.decode().splitlines() if line)
        i += n
    return out


async def answer_outbounds(peer, n):
    """Answers `n` outbound frames once all `n` have arrived."""
    got = [await peer.recv_type("outbound") for _ in range(n)]
    for f in got:
        await peer.send_frame({"type": "outbound_result", "requestId": f["requestId"],
                               "result": {"success": True, "message_id": f["action"]["content"]}})


@needs_asyncio_loop("asyncio's selector or its socket transport")
async def test_the_frames_of_tasks_that_run_in_one_turn_go_out_in_one_write(monkeypatch):
    writes = count_writes(monkeypatch)
    n = 8

    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, n)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        await asyncio.sleep(0.05)
        before = len(writes)
        # gather() makes a task of each: all run in the same loop turn.
        results = await asyncio.wait_for(asyncio.gather(*(
            t.send_outbound({"op": "send", "chat_id": "c", "content": f"s{i}"}) for i in range(n))), BOUND)
        assert [r["message_id"] for r in results] == [f"s{i}" for i in range(n)]
        ours = [d for w, d, _ in writes[before:] if w is t._stream.transport]
        # All n frames in one write: the first is held for the others too.
        assert len(ours) == 1, [len(d) for d in ours]
        assert [f["type"] for f in client_frames(ours[0])] == ["outbound"] * n
        await asyncio.wait_for(t.disconnect(), BOUND)


@needs_asyncio_loop("asyncio's selector or its socket transport")
async def test_a_lone_request_is_written_before_the_loop_waits_again(monkeypatch):
    async def script(peer):
        await handshake_only(peer)
        for _ in range(3):
            await answer_outbounds(peer, 1)
        await peer.idle()

    turns = SelectCounter(asyncio.get_running_loop())
    # Before the dial: the link takes the transport's write when it opens.
    writes = count_writes(monkeypatch, turns)
    async with MiniConnector(script) as mc:
        t = make(mc.url)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        with turns:
            for i in range(3):
                await asyncio.sleep(0.05)
                before, at = len(writes), turns.n
                # Awaited in this task (wait_for would start another, a turn
                # later); the link's own timeout bounds it.
                r = await t.send_outbound({"op": "send", "chat_id": "c", "content": f"l{i}"})
                assert r["message_id"] == f"l{i}"
                ours = [(d, n) for w, d, n in writes[before:] if w is t._stream.transport]
                # Written in the turn that sent it, not after another wait.
                assert len(ours) == 1 and ours[0][1] == at, (ours, at)
        await asyncio.wait_for(t.disconnect(), BOUND)
