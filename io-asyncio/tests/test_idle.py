"""Going idle as the reference does: ``go_idle`` keeps the socket and keeps
serving; ``go_dormant`` (after it, or on its own) closes the socket and,
with ``reconnect=True``, re-dials after about a second, draining what the
connector buffered; ``reconnect=False`` means no re-dial after a close."""

from __future__ import annotations

import asyncio
import time

from miniws import MiniConnector
from test_connector import BOUND, started, wait_until
from test_driver import handshake_only, make


async def upgrades(connector):
    return (await connector.stats())["model"]["upgrades_accepted"]


async def test_go_idle_keeps_the_socket_and_keeps_serving(connector):
    t, inbox, _ = await started(connector, reconnect=True)
    try:
        before = await upgrades(connector)
        assert await asyncio.wait_for(t.go_idle(), BOUND) is True
        assert (await connector.model())["going_idle"] == 1
        # Still connected, still serving requests, no new socket.
        assert t.state == "buffered"
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c1", "content": "after idle"}), BOUND)
        assert r["success"] is True, r
        # The connector buffers inbound for us now.
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c9", "text": "while idle", "platform": "telegram"}})
        assert body["delivery"] == "buffered", body
        await asyncio.sleep(1.5)
        assert await upgrades(connector) == before
        assert not inbox.items
        # go_idle again: already idle with the socket, True at once.
        assert await asyncio.wait_for(t.go_idle(), BOUND) is True
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_go_dormant_after_go_idle_redials_in_about_a_second_and_drains(connector):
    t, inbox, _ = await started(connector, reconnect=True)
    try:
        assert await asyncio.wait_for(t.go_idle(), BOUND) is True
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        returned = time.monotonic()
        assert t.state == "buffered"
        n = await upgrades(connector)
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c9", "text": "while dormant", "platform": "telegram"}})
        assert body["delivery"] == "buffered", body
        got = await inbox.next(timeout=BOUND)
        elapsed = time.monotonic() - returned
        assert got.text == "while dormant"
        assert await upgrades(connector) == n + 1
        assert 0.6 <= elapsed <= 3.0, elapsed
        assert await wait_until(lambda: _acked(connector, 1))
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_go_dormant_without_reconnect_waits_for_wake(connector):
    t, inbox, _ = await started(connector, reconnect=False)
    try:
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        n = await upgrades(connector)
        await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c9", "text": "later", "platform": "telegram"}})
        await asyncio.sleep(2.0)
        assert await upgrades(connector) == n
        assert not inbox.items
        t.wake()
        assert (await inbox.next()).text == "later"
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_go_dormant_when_not_connected_is_false(connector):
    t, _, _ = await started(connector, reconnect=True)
    try:
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        # No socket now: nothing to quiesce.
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is False
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def _acked(connector, n):
    return (await connector.model())["acked"] >= n


async def test_reconnect_false_does_not_redial_after_an_unexpected_close():
    async def script(peer):
        await handshake_only(peer)
        await asyncio.sleep(0.2)
        await peer.close(1011, "going away")

    async with MiniConnector(script) as mc:
        t = make(mc.url, reconnect=False, reconnect_backoff_s=0.05)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert await wait_until(lambda: _async(t.state == "closed"), timeout=5.0)
        await asyncio.sleep(1.0)
        assert len(mc.peers) == 1
        r = await t.send_outbound({"op": "send", "chat_id": "c", "content": "x"})
        assert r == {"success": False, "error": "relay transport not connected"}
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_reconnect_true_redials_after_an_unexpected_close():
    async def script(peer):
        await handshake_only(peer)
        if peer.index == 1:
            await asyncio.sleep(0.2)
            await peer.close(1011, "going away")
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = make(mc.url, reconnect=True, reconnect_backoff_s=0.05)
        await asyncio.wait_for(t.connect(), BOUND)
        assert await wait_until(lambda: _async(len(mc.peers) >= 2 and t.state == "serving"), timeout=5.0)
        await asyncio.wait_for(t.disconnect(), BOUND)


async def _async(v):
    return v
