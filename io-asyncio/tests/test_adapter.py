"""The reference's RelayAdapter (hermes-agent==0.19.0) on this transport:
an inbound message through the adapter to its message handler, and the
handler's reply back out through the connector."""

from __future__ import annotations

import asyncio

from gateway.config import PlatformConfig
from gateway.relay.adapter import RelayAdapter
from gateway.relay.descriptor import CapabilityDescriptor

from hermes_relay import WebSocketRelayTransport
from conftest import GATEWAYS

BOUND = 20.0


class RecordingTransport(WebSocketRelayTransport):
    """Ours, recording what the adapter sends and what came back."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent = []
        self.sent_event = asyncio.Event()

    async def send_outbound(self, action, *, platform=None):
        result = await super().send_outbound(action, platform=platform)
        self.sent.append((action, platform, result))
        self.sent_event.set()
        return result


async def test_relay_adapter_round_trip(connector):
    transport = RecordingTransport(
        connector.url, "telegram", "tg-bot",
        identities=[("telegram", "tg-bot"), ("discord", "dc-bot")],
        gateway_id="gw", upgrade_secret=GATEWAYS["gw"],
        connect_timeout_s=5.0, outbound_timeout_s=5.0, reconnect=True,
    )
    placeholder = CapabilityDescriptor(
        contract_version=1, platform="relay", label="Relay", max_message_length=100,
        supports_draft_streaming=False, supports_edit=False, supports_threads=False,
        markdown_dialect="plain", len_unit="chars",
    )
    adapter = RelayAdapter(PlatformConfig(enabled=True), placeholder, transport=transport)
    seen = []

    async def handler(event):
        seen.append(event)
        return f"echo: {event.text}"

    adapter.set_message_handler(handler)
    assert await asyncio.wait_for(adapter.connect(), BOUND) is True
    try:
        # The adapter adopted the negotiated descriptor.
        assert adapter.descriptor.platform == "telegram"
        assert adapter.MAX_MESSAGE_LENGTH == 4096
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": {
            "text": "ping", "message_type": "text",
            "source": {"platform": "discord", "chat_id": "chan-1", "chat_type": "group",
                       "user_id": "u-1", "user_name": "Ann", "scope_id": "guild-1"},
            "message_id": "m-1"}})
        assert status == 200 and body["delivery"] == "live", body
        async def reply_sent():
            while not any(a.get("op") == "send" for a, _, _ in transport.sent):
                transport.sent_event.clear()
                await transport.sent_event.wait()

        await asyncio.wait_for(reply_sent(), BOUND)
        action, platform, result = next(x for x in transport.sent if x[0].get("op") == "send")
        assert seen and seen[0].text == "ping"
        assert action["op"] == "send" and action["chat_id"] == "chan-1"
        assert action["content"] == "echo: ping"
        assert platform == "discord"
        assert result["success"] is True and result["message_id"].startswith("msg-"), result
        model = await connector.model()
        assert model["outbound_results"] >= 1
    finally:
        await asyncio.wait_for(adapter.disconnect(), BOUND)
    assert transport.state == "closed"
