"""The asyncio driver against a scripted peer: the behaviours documented as
deliberate differences from the reference."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from hermes_relay import WebSocketRelayTransport
from miniws import MiniConnector, descriptor

BOUND = 20.0


def make(url, **kw):
    kw.setdefault("connect_timeout_s", 2.0)
    kw.setdefault("outbound_timeout_s", 2.0)
    return WebSocketRelayTransport(url, "telegram", "tg-bot", **kw)


async def wait_until(pred, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()


async def handshake_only(peer):
    await peer.recv_type("hello")
    await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})


async def test_connect_failure_raises_the_dial_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t = make(f"ws://127.0.0.1:{port}")
    with pytest.raises(OSError):
        await asyncio.wait_for(t.connect(), BOUND)
    assert t.state == "closed"
    with pytest.raises(RuntimeError):
        await t.handshake()


async def test_idle_without_ack_keeps_serving():
    async def script(peer):
        await handshake_only(peer)
        await peer.recv_type("going_idle")
        await peer.idle()  # never acks

    async with MiniConnector(script) as mc:
        t = make(mc.url, idle_ack_timeout_s=0.3)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        started = time.monotonic()
        assert await asyncio.wait_for(t.go_idle(timeout_s=5.0), BOUND) is False
        assert time.monotonic() - started < 2.0
        assert t.state == "serving"
        await asyncio.sleep(0.2)
        assert [p.open for p in mc.peers] == [True]
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_lost_socket_fails_requests_at_once():
    async def script(peer):
        await handshake_only(peer)
        await peer.recv_type("outbound")
        await peer.close(1011, "gone")  # no result, ever

    async with MiniConnector(script) as mc:
        t = make(mc.url, outbound_timeout_s=30.0)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        started = time.monotonic()
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "x"}), BOUND)
        assert r == {"success": False, "error": "relay transport connection lost", "ambiguous": True}
        assert time.monotonic() - started < 5.0
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_raising_handler_is_not_acked_and_the_link_lives():
    async def script(peer):
        await handshake_only(peer)
        ev = {"text": "boom", "source": {"platform": "telegram", "chat_id": "c"}}
        await peer.send_frame({"type": "inbound", "event": ev, "bufferId": "b-1"})
        ev2 = {"text": "fine", "source": {"platform": "telegram", "chat_id": "c"}}
        await peer.send_frame({"type": "inbound", "event": ev2, "bufferId": "b-2"})
        await peer.idle()

    seen = []

    async def handler(event):
        seen.append(event.text)
        if event.text == "boom":
            raise ValueError("handler failed")

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        t.set_inbound_handler(handler)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert await wait_until(lambda: seen == ["boom", "fine"])
        assert await wait_until(lambda: any(f.get("type") == "inbound_ack" for f in mc.peers[0].lines))
        await asyncio.sleep(0.2)
        peer = mc.peers[0]
        assert await wait_until(lambda: any(f.get("type") == "inbound_ack" for f in peer.lines))
        acks = [f["bufferId"] for f in peer.lines if f.get("type") == "inbound_ack"]
        assert acks == ["b-2"]
        assert t.state == "serving"
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_over_long_line_closes_1009_and_redials():
    async def script(peer):
        await handshake_only(peer)
        if peer.index == 1:
            await peer.send_text("x" * 2000 + "\n")
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = make(mc.url, reconnect=True, reconnect_backoff_s=0.05, max_frame_bytes=1000)
        await asyncio.wait_for(t.connect(), BOUND)
        assert await wait_until(lambda: len(mc.peers) >= 2 and not mc.peers[0].open)
        assert await wait_until(lambda: t.state == "serving")
        assert [p.open for p in mc.peers] == [False, True]
        assert mc.peers[0].close_code == 1009
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_passthrough_buffered_is_acked_after_the_handler():
    async def script(peer):
        await handshake_only(peer)
        fwd = {"platform": "telegram", "botId": "tg-bot", "method": "POST", "path": "/h",
               "headers": [["A", "1"]], "bodyB64": "aGk="}
        await peer.send_frame({"type": "passthrough_forward", "forward": fwd, "bufferId": "p-1"})
        await peer.idle()

    got = []

    async def handler(forward, buffer_id):
        got.append((forward.body, forward.headers, buffer_id))

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        t.set_passthrough_handler(handler)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert await wait_until(lambda: got == [(b"hi", [("A", "1")], "p-1")])
        peer = mc.peers[0]
        assert await wait_until(lambda: any(f.get("type") == "inbound_ack" for f in peer.lines))
        await asyncio.wait_for(t.disconnect(), BOUND)
