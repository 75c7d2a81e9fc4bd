"""hermes_relay.WebSocketRelayTransport against a real `relay connector`.

The interop scenarios: handshake with two identities, inbound with every
field, outbound ops, follow_up, interrupts both ways, passthrough, idle and
drain with acks, revocation, wrong secret. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import time

import pytest

from hermes_relay import WebSocketRelayTransport
from conftest import DESCRIPTORS, GATEWAYS

BOUND = 15.0


def transport(connector, gw="gw", secret=None, **kw):
    kw.setdefault("connect_timeout_s", 5.0)
    kw.setdefault("outbound_timeout_s", 5.0)
    identities = kw.pop("identities", [("telegram", "tg-bot"), ("discord", "dc-bot")])
    return WebSocketRelayTransport(
        connector.url,
        identities[0][0],
        identities[0][1],
        identities=identities,
        gateway_id=gw,
        upgrade_secret=secret or GATEWAYS[gw],
        **kw,
    )


async def wait_until(pred, timeout=BOUND, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pred():
            return True
        await asyncio.sleep(step)
    return await pred()


class Inbox:
    def __init__(self):
        self.items = []
        self.event = asyncio.Event()

    async def __call__(self, *args):
        self.items.append(args[0] if len(args) == 1 else args)
        self.event.set()

    async def next(self, timeout=BOUND):
        deadline = time.monotonic() + timeout
        while not self.items:
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), max(0.0, deadline - time.monotonic()))
        return self.items.pop(0)


async def started(connector, **kw):
    t = transport(connector, **kw)
    inbox = Inbox()
    t.set_inbound_handler(inbox)
    assert await asyncio.wait_for(t.connect(), BOUND) is True
    desc = await asyncio.wait_for(t.handshake(), BOUND)
    return t, inbox, desc


async def test_handshake_with_two_identities(connector):
    t, _, desc = await started(connector)
    try:
        assert desc.platform == "telegram"
        assert desc.max_message_length == 4096
        assert desc.len_unit == "utf16"
        assert desc.markdown_dialect == "markdown_v2"
        # The handshake completes on the first descriptor; the second
        # platform's descriptor is its own frame and may still be in flight.
        deadline = time.monotonic() + BOUND
        discord = t.descriptor_for_platform("discord")
        while discord is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            discord = t.descriptor_for_platform("discord")
        assert discord is not None and discord.platform == "discord"
        assert discord.max_message_length == 2000
        assert t.descriptor_for_platform("slack") is None
        model = await connector.model()
        assert model["hellos"] == 2
        assert t.state == "serving"
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


FULL_EVENT = {
    "text": "a photo of the sea",
    "message_type": "photo",
    "source": {
        "platform": "telegram",
        "chat_id": "chat-9",
        "chat_name": "Sea lovers",
        "chat_type": "group",
        "user_id": "u-1",
        "user_name": "Ann",
        "thread_id": "t-3",
        "chat_topic": "waves",
        "user_id_alt": "u-1-alt",
        "chat_id_alt": "chat-9-alt",
        "scope_id": "scope-7",
        "parent_chat_id": "parent-1",
        "message_id": "src-m-1",
        "profile": "work",
    },
    "message_id": "m-42",
    "reply_to_message_id": "m-41",
    "media_urls": ["https://example.invalid/sea.jpg"],
    "context": [
        {"text": "earlier", "source": {"user_name": "Bob"}},
        {"text": "later"},
    ],
}


async def test_inbound_with_every_field(connector):
    t, inbox, _ = await started(connector)
    try:
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": FULL_EVENT})
        assert status == 200 and body["delivery"] == "live", body
        ev = await inbox.next()
        assert ev.text == "a photo of the sea"
        assert ev.message_type.value == "photo"
        assert ev.message_id == "m-42"
        assert ev.reply_to_message_id == "m-41"
        assert ev.media_urls == ["https://example.invalid/sea.jpg"]
        assert ev.channel_context == "[Recent channel messages]\nBob: earlier\nlater"
        s = ev.source
        assert s.platform.value == "telegram"
        assert (s.chat_id, s.chat_name, s.chat_type) == ("chat-9", "Sea lovers", "group")
        assert (s.user_id, s.user_name, s.thread_id, s.chat_topic) == ("u-1", "Ann", "t-3", "waves")
        assert (s.user_id_alt, s.chat_id_alt, s.scope_id) == ("u-1-alt", "chat-9-alt", "scope-7")
        assert (s.parent_chat_id, s.message_id, s.profile) == ("parent-1", "src-m-1", "work")
        assert s.delivered_via_upstream_relay is True
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_outbound_ops(connector):
    t, inbox, _ = await started(connector)
    try:
        # Teach the core the chat's platform and scope, as a real inbound does.
        await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c1", "text": "hi", "platform": "telegram"}})
        await inbox.next()
        sent = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c1", "content": "hello", "reply_to": None, "metadata": {}}), BOUND)
        assert sent["success"] is True and sent["message_id"].startswith("msg-"), sent
        edited = await asyncio.wait_for(t.send_outbound({"op": "edit", "chat_id": "c1", "message_id": sent["message_id"], "content": "hello!", "finalize": True}), BOUND)
        assert edited["success"] is True, edited
        typing = await asyncio.wait_for(t.send_outbound({"op": "typing", "chat_id": "c1"}), BOUND)
        assert typing["success"] is True, typing
        react = await asyncio.wait_for(t.send_outbound({"op": "react", "chat_id": "c1", "message_id": sent["message_id"], "emoji": "+1"}), BOUND)
        assert react["success"] is True, react
        info = await asyncio.wait_for(t.get_chat_info("c1"), BOUND)
        assert set(info) == {"name", "type"} and isinstance(info["name"], str)
        # An op the descriptor does not advertise is refused locally.
        refused = await asyncio.wait_for(t.send_outbound({"op": "thread_create", "chat_id": "c1", "thread_name": "x"}), BOUND)
        assert refused == {"success": False, "error": "Not supported"}
        model = await connector.model()
        assert model["outbound_requests"] == 5, model
        assert t.stats()["requests_sent"] == 5
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_outbound_when_not_connected(connector):
    t = transport(connector)
    assert await t.send_outbound({"op": "send", "chat_id": "c", "content": "x"}) == {
        "success": False, "error": "relay transport not connected"}
    t2, _, _ = await started(connector)
    await asyncio.wait_for(t2.disconnect(), BOUND)
    # After disconnect() the reference answers "closed", not "not connected".
    assert await t2.send_outbound({"op": "send", "chat_id": "c", "content": "x"}) == {
        "success": False, "error": "relay transport closed"}


async def test_follow_up_without_capability_is_refused(connector):
    t, _, _ = await started(connector)
    try:
        r = await asyncio.wait_for(t.send_follow_up({"op": "follow_up", "session_key": "sk-1", "kind": "telegram.token", "content": "later", "metadata": {}}), BOUND)
        assert r["success"] is False and "capability" in r["error"], r
        assert (await connector.model())["follow_ups_refused"] == 1
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_follow_up_with_capability(connector):
    """Needs POST /dev/capability."""
    t, _, _ = await started(connector)
    try:
        status, body = await connector.post("/dev/capability", {"session_key": "sk-1", "instance": "gw", "kind": "telegram.token", "expires_in_secs": 60})
        assert status == 200, (status, body)
        r = await asyncio.wait_for(t.send_follow_up({"op": "follow_up", "session_key": "sk-1", "kind": "telegram.token", "content": "later", "metadata": {}}), BOUND)
        assert r["success"] is True, r
        status, body = await connector.post("/dev/capability", {"session_key": "sk-1", "instance": "gw", "revoke": True})
        assert status == 200, (status, body)
        r = await asyncio.wait_for(t.send_follow_up({"op": "follow_up", "session_key": "sk-1", "kind": "telegram.token", "content": "again", "metadata": {}}), BOUND)
        assert r["success"] is False, r
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_interrupt_gateway_to_connector_unrouted(connector):
    t, _, _ = await started(connector)
    try:
        await asyncio.wait_for(t.send_interrupt("agent:main:telegram:dm:nobody", "stop"), BOUND)
        assert await wait_until(lambda: _model_has(connector, "interrupts_unrouted", 1))
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)
    with pytest.raises(RuntimeError):
        await t.send_interrupt("agent:main:telegram:dm:nobody")


async def _model_has(connector, key, value):
    return (await connector.model())[key] >= value


async def test_interrupt_both_ways_with_binding(connector):
    """Needs POST /dev/bind: the connector routes our interrupt back to the
    owning instance (this one) as interrupt_inbound."""
    t, _, _ = await started(connector)
    interrupts = Inbox()
    t.set_interrupt_inbound_handler(interrupts)
    try:
        key = "agent:main:telegram:group:chat-5:u-1"
        status, body = await connector.post("/dev/bind", {"session_key": key, "instance": "gw"})
        assert status == 200, (status, body)
        await asyncio.wait_for(t.send_interrupt(key, "stop"), BOUND)
        got = await interrupts.next()
        assert got[0] == key
        assert (await connector.model())["interrupts_routed"] == 1
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_interrupt_connector_to_gateway(connector):
    """Needs POST /dev/interrupt."""
    t, _, _ = await started(connector)
    interrupts = Inbox()
    t.set_interrupt_inbound_handler(interrupts)
    try:
        key = "agent:main:telegram:dm:chat-8"
        status, body = await connector.post("/dev/bind", {"session_key": key, "instance": "gw"})
        assert status == 200, (status, body)
        status, body = await connector.post("/dev/interrupt", {"session_key": key, "chat_id": "chat-8"})
        assert status == 200, (status, body)
        assert await interrupts.next() == (key, "chat-8")
        status, _ = await connector.post("/dev/interrupt", {"session_key": "agent:main:x:dm:none", "chat_id": "none"})
        assert status == 404
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_passthrough(connector):
    """Needs POST /dev/passthrough."""
    t, _, _ = await started(connector)
    forwards = Inbox()
    t.set_passthrough_handler(forwards)
    try:
        body = b"\x00\x01binary body\xff"
        status, resp = await connector.post("/dev/passthrough", {
            "instance": "gw", "platform": "telegram", "bot_id": "tg-bot", "method": "POST",
            "path": "/hook", "headers": [["X-A", "1"], ["X-B", "2"]],
            "body_b64": base64.b64encode(body).decode()})
        assert status == 200 and resp["delivery"] == "live", (status, resp)
        fwd, buffer_id = await forwards.next()
        assert (fwd.platform, fwd.bot_id, fwd.method, fwd.path) == ("telegram", "tg-bot", "POST", "/hook")
        assert fwd.headers == [("X-A", "1"), ("X-B", "2")]
        assert fwd.body == body
        assert buffer_id is None
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_idle_and_drain_with_acks(connector):
    t, inbox, _ = await started(connector, reconnect=False)
    try:
        assert await asyncio.wait_for(t.go_idle(), BOUND) is True
        assert t.state == "buffered"
        ids = []
        for i in range(3):
            status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c9", "text": f"while idle {i}", "platform": "telegram"}})
            assert status == 200 and body["delivery"] == "buffered", body
            ids.append(body["buffer_id"])
        assert (await connector.stats())["buffered"] == 3
        t.wake()
        texts = [(await inbox.next()).text for _ in range(3)]
        assert texts == ["while idle 0", "while idle 1", "while idle 2"]
        assert await wait_until(lambda: _model_has(connector, "acked", 3))
        stats = await connector.stats()
        assert stats["buffered"] == 0 and stats["model"]["acked"] == 3
        assert t.stats()["acks_sent"] == 3
        # Live traffic after the drain is not acked.
        await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c9", "text": "live", "platform": "telegram"}})
        assert (await inbox.next()).text == "live"
        await asyncio.sleep(0.2)
        assert t.stats()["acks_sent"] == 3
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_go_dormant_redials_and_drains(connector):
    t, inbox, _ = await started(connector, reconnect=True, dormant_redial_s=0.3)
    try:
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": {"chat_id": "c9", "text": "wake me", "platform": "telegram"}})
        assert body["delivery"] == "buffered", body
        assert (await inbox.next()).text == "wake me"
        assert await wait_until(lambda: _model_has(connector, "acked", 1))
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_revocation_is_terminal(connector):
    t, _, _ = await started(connector, reconnect=True, reconnect_backoff_s=0.05)
    try:
        status, body = await connector.post("/dev/revoke", {"gateway_id": "gw"})
        assert status == 200, body
        assert await wait_until(lambda: _async(t.auth_revoked))
        assert t.state == "revoked"
        before = (await connector.stats())["upgrades_attempted"]
        await asyncio.sleep(1.0)
        assert (await connector.stats())["upgrades_attempted"] == before
        r = await t.send_outbound({"op": "send", "chat_id": "c", "content": "x"})
        assert r == {"success": False, "error": "relay transport not connected"}
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def _async(v):
    return v


async def test_wrong_secret(connector):
    t = transport(connector, secret="not-the-secret", connect_timeout_s=1.5, reconnect=True, reconnect_backoff_s=0.05)
    try:
        # The upgrade itself succeeds; the connector then closes with 4401.
        # Before any descriptor that is not a revocation: no descriptor, and
        # the core keeps retrying on its backoff ladder.
        assert await asyncio.wait_for(t.connect(), BOUND) is True
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(t.handshake(), BOUND)
        assert t.auth_revoked is False
        stats = await connector.stats()
        assert stats["model"]["closes_4401"] >= 2
        assert stats["model"]["descriptors_sent"] == 0
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_descriptor_update_reaches_the_next_handshake(connector):
    """Needs POST /dev/descriptor."""
    t, _, desc = await started(connector, reconnect=False)
    try:
        assert desc.max_message_length == 4096
        new = dict(DESCRIPTORS["telegram"], max_message_length=1234, label="Telegram 2")
        status, body = await connector.post("/dev/descriptor", {"platform": "telegram", "descriptor": new})
        assert status == 200, (status, body)
        assert await asyncio.wait_for(t.go_idle(), BOUND) is True
        t.wake()
        desc = await asyncio.wait_for(t.handshake(), BOUND)
        assert (desc.max_message_length, desc.label) == (1234, "Telegram 2")
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)
