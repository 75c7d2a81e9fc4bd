"""More of the reference's RelayAdapter on this transport, against a real
`relay connector`: a draft sealed, a media send, a send for a named platform,
a drain at disconnect, and a held re-dial. Steps the installed Hermes version
does not have are skipped (0.19.0 has no drafts, media lane, per-platform
sends or re-dial hold). What went out is read from the connector's frame log."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("gateway.relay.adapter", reason="the Hermes gateway is not installed")

from conftest import all_ops_descriptors  # noqa: E402
from test_adapter import BOUND, INBOUND, frames, make_adapter, until  # noqa: E402

SLACK_INBOUND = {"text": "hi", "message_type": "text", "message_id": "17.1",
                 "source": {"platform": "slack", "chat_id": "C-1", "chat_type": "group", "user_id": "U-1"}}


def needs(adapter, name):
    if not hasattr(adapter, name):
        pytest.skip(f"this Hermes version's adapter has no {name}")


async def connected(connector, **kw):
    adapter, transport = make_adapter(connector, **kw)
    seen = []

    async def handler(event):
        seen.append(event)
        return None

    adapter.set_message_handler(handler)
    assert await asyncio.wait_for(adapter.connect(), BOUND) is True
    return adapter, transport, seen


async def test_a_draft_is_sealed_by_the_turns_final_send(make_connector):
    connector = make_connector(all_ops_descriptors(drafts=True))
    adapter, transport, seen = await connected(
        connector, identities=[("telegram", "tg-bot"), ("discord", "dc-bot"), ("slack", "B-1")])
    try:
        needs(adapter, "_seal_open_draft")
        await connector.post("/dev/inbound", {"instance": "gw", "event": SLACK_INBOUND})
        assert await until(lambda: seen), "the Slack message reached the adapter"
        r = await asyncio.wait_for(adapter.send_draft("C-1", 1, "Hel"), BOUND)
        assert r.success, r
        r = await asyncio.wait_for(adapter.send("C-1", "Hello"), BOUND)
        assert r.success, r
        drafts = [f for f in frames(connector, "in", "outbound") if f["action"]["op"] == "draft"]
        assert [(f["action"]["content"], f["action"]["final"]) for f in drafts] == [
            ("Hel", False), ("Hello", True)], "the final send went out as the sealing draft"
        assert all((f.get("platform"), f.get("botId")) == ("slack", "B-1") for f in drafts), drafts
        assert not [f for f in frames(connector, "in", "outbound") if f["action"]["op"] == "send"]
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)


async def test_a_media_send(make_connector):
    connector = make_connector(all_ops_descriptors())
    adapter, transport, _ = await connected(connector)
    try:
        needs(adapter, "_send_media")
        r = await asyncio.wait_for(
            adapter.send_image("chan-9", "https://cdn.invalid/cat.png", caption="a cat"), BOUND)
        assert r.success, r
        (f,) = [f for f in frames(connector, "in", "outbound") if f["action"]["op"] == "send_media"]
        assert (f["action"]["media_kind"], f["action"]["source_url"], f["action"]["content"]) == (
            "image", "https://cdn.invalid/cat.png", "a cat")
        results = {x["requestId"]: x["result"] for x in frames(connector, "out", "outbound_result")}
        assert results[f["requestId"]]["message_id"] == r.message_id
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)


async def test_a_send_for_a_named_platform_is_tagged(connector):
    adapter, transport, _ = await connected(connector)
    try:
        needs(adapter, "send_for_platform")
        # No inbound taught this chat: the platform comes from the caller.
        r = await asyncio.wait_for(adapter.send_for_platform("discord", "home-1", "scheduled"), BOUND)
        assert r.success, r
        (f,) = [f for f in frames(connector, "in", "outbound") if f["action"]["chat_id"] == "home-1"]
        assert (f.get("platform"), f.get("botId"), f["action"]["content"]) == ("discord", "dc-bot", "scheduled")
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)


async def test_disconnect_drains_a_send_in_flight(connector):
    adapter, transport, seen = await connected(connector)
    disconnected = False
    try:
        await connector.post("/dev/inbound", {"instance": "gw", "event": INBOUND})
        assert await until(lambda: seen)
        status, body = await connector.post("/dev/script", {"op": "send", "delay_ms": 600})
        assert status == 200, body
        reply = asyncio.ensure_future(adapter.send("chan-1", "final words"))
        assert await until(lambda: [f for f in frames(connector, "in", "outbound")
                                    if f["action"]["op"] == "send"])
        await asyncio.wait_for(adapter.disconnect(), BOUND)
        disconnected = True
        r = await asyncio.wait_for(reply, 1.0)
        assert r.success, r
        (f,) = [f for f in frames(connector, "in", "outbound") if f["action"]["op"] == "send"]
        results = {x["requestId"]: x["result"] for x in frames(connector, "out", "outbound_result")}
        assert results[f["requestId"]]["success"] is True, "the connector answered before the close"
        assert transport.state == "closed"
    finally:
        if not disconnected:
            await asyncio.wait_for(adapter.disconnect(), BOUND)


async def test_a_held_redial_through_the_adapter(connector):
    adapter, transport, _ = await connected(connector, dormant_redial_s=0.2)
    try:
        needs(adapter, "hold_redial")
        assert adapter.hold_redial() is True, "the hold took"
        assert await asyncio.wait_for(adapter.go_dormant(), BOUND) is True
        await asyncio.sleep(0.8)
        assert _dials(connector) == 1, "no re-dial while held"
        assert adapter.release_redial() is True
        assert await until(lambda: _dials(connector) == 2, timeout=2.0)
        assert await until(lambda: transport.state == "serving")
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)


def _dials(connector):
    status, body = connector._call("GET", "/dev/stats", None)
    return body["upgrades_attempted"]
