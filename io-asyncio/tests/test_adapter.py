"""The reference's RelayAdapter (of whichever Hermes is installed: 0.19.0 or
0.22.2.post1) running on this transport against a real `relay connector`.
What went out is read back from the connector's frame log (``GET
/dev/log``), never from what the adapter passed to the transport."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

pytest.importorskip("gateway.relay.adapter", reason="the Hermes gateway is not installed")

from gateway.config import PlatformConfig  # noqa: E402
from gateway.relay.adapter import RelayAdapter  # noqa: E402
from gateway.relay.descriptor import CapabilityDescriptor  # noqa: E402

from hermes_relay import WebSocketRelayTransport  # noqa: E402
from conftest import GATEWAYS  # noqa: E402

BOUND = 20.0


def frames(connector, direction, frame_type):
    """Frames of the connector's log, parsed (``in``: what the gateway sent)."""
    status, body = connector._call("GET", "/dev/log", None)
    assert status == 200, body
    return [json.loads(e["text"]) for e in body["entries"]
            if e["direction"] == direction and e["type"] == frame_type and e["text"]]


async def until(pred, timeout=BOUND, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        await asyncio.sleep(step)
    return None


def make_adapter(connector, **kw):
    kw.setdefault("identities", [("telegram", "tg-bot"), ("discord", "dc-bot")])
    transport = WebSocketRelayTransport(
        connector.url, "telegram", "tg-bot",
        gateway_id="gw", upgrade_secret=GATEWAYS["gw"],
        connect_timeout_s=5.0, outbound_timeout_s=5.0, reconnect=True, **kw,
    )
    placeholder = CapabilityDescriptor(
        contract_version=1, platform="relay", label="Relay", max_message_length=100,
        supports_draft_streaming=False, supports_edit=False, supports_threads=False,
        markdown_dialect="plain", len_unit="chars",
    )
    return RelayAdapter(PlatformConfig(enabled=True), placeholder, transport=transport), transport


INBOUND = {"text": "ping", "message_type": "text",
           "source": {"platform": "discord", "chat_id": "chan-1", "chat_type": "group",
                      "user_id": "u-1", "user_name": "Ann", "scope_id": "guild-1"},
           "message_id": "m-1"}


async def test_inbound_then_reply(connector):
    adapter, transport = make_adapter(connector)
    seen = []

    async def handler(event):
        seen.append(event)
        return f"echo: {event.text}"

    adapter.set_message_handler(handler)
    assert await asyncio.wait_for(adapter.connect(), BOUND) is True
    try:
        assert adapter.descriptor.platform == "telegram"
        assert adapter.MAX_MESSAGE_LENGTH == 4096
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": INBOUND})
        assert status == 200 and body["delivery"] == "live", body
        sent = await until(lambda: [f for f in frames(connector, "in", "outbound") if f["action"].get("op") == "send"])
        assert sent, "no send frame reached the connector"
        frame = sent[0]
        assert seen and seen[0].text == "ping" and seen[0].source.delivered_via_upstream_relay is True
        assert frame["action"]["chat_id"] == "chan-1"
        assert frame["action"]["content"] == "echo: ping"
        # Tagged for the chat's platform, with its bot id, as the reference tags it.
        assert (frame.get("platform"), frame.get("botId")) == ("discord", "dc-bot"), frame
        # The tenant scope learned inbound rides on the reply's metadata.
        assert frame["action"]["metadata"].get("scope_id") == "guild-1", frame
        results = await until(lambda: frames(connector, "out", "outbound_result"))
        assert any(r["requestId"] == frame["requestId"] and r["result"]["success"] for r in results)
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)
    assert transport.state == "closed"
    # The adapter's disconnect asked the connector to buffer first.
    assert frames(connector, "in", "going_idle")


async def test_prompt_response_reaches_the_adapter(connector):
    adapter, transport = make_adapter(connector)
    if not hasattr(adapter, "_mint_prompt"):
        pytest.skip("this Hermes version has no interactive prompts")
    seen = []

    async def handler(event):
        seen.append(event)
        return None

    adapter.set_message_handler(handler)
    assert await asyncio.wait_for(adapter.connect(), BOUND) is True
    try:
        # A pending prompt of a kind with no resolver: the adapter consumes
        # the answer (never hands it on as chat) and records it as resolved.
        prompt_id = adapter._mint_prompt("test_only_kind", {"chat_id": "chan-1"})
        event = dict(INBOUND, text="Approve", message_id="m-2",
                     prompt_response={"prompt_id": prompt_id, "option_id": "approve", "label": "Approve"})
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": event})
        assert status == 200, body
        assert await until(lambda: prompt_id in adapter._resolved_prompts)
        assert prompt_id not in adapter._pending_prompts
        await asyncio.sleep(0.2)
        assert seen == [], "a prompt answer must not be dispatched as chat"
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)


async def test_go_idle_then_go_dormant_then_drain(connector):
    adapter, transport = make_adapter(connector)
    seen = []

    async def handler(event):
        seen.append(event.text)
        return None

    adapter.set_message_handler(handler)
    assert await asyncio.wait_for(adapter.connect(), BOUND) is True
    try:
        assert await asyncio.wait_for(transport.go_idle(), BOUND) is True
        # Still serving after go_idle: the adapter's sends go out.
        r = await asyncio.wait_for(adapter.send("chan-1", "still here"), BOUND)
        assert r.success, r
        assert await asyncio.wait_for(adapter.go_dormant(), BOUND) is True
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": dict(INBOUND, text="queued", message_id="m-3")})
        assert body["delivery"] == "buffered", body
        assert await until(lambda: seen == ["queued"]), seen
        assert await until(lambda: _acked(connector))
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)


def _acked(connector):
    status, body = connector._call("GET", "/dev/stats", None)
    return body["model"]["acked"] >= 1


async def test_revocation_disables_the_adapter(connector):
    adapter, transport = make_adapter(connector)
    assert await asyncio.wait_for(adapter.connect(), BOUND) is True
    try:
        status, body = await connector.post("/dev/revoke", {"gateway_id": "gw"})
        assert status == 200, body
        assert await until(lambda: transport.auth_revoked)
        # The adapter's monitor polls once a second.
        assert await until(lambda: getattr(adapter, "_fatal_error_code", None) == "relay_disabled", timeout=5.0)
        assert getattr(adapter, "_fatal_error_retryable", None) is False
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)
