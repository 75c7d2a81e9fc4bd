"""The reference as a test peer: its transport, dialed to a `relay connector`,
with what it hands to its handlers collected, and its adapter on top."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Sequence, Tuple

from conftest import GATEWAY, OPENED, SECRET, STEP_TIMEOUT_S
from gateway.relay.adapter import RelayAdapter
from gateway.relay.descriptor import CapabilityDescriptor
from gateway.relay.ws_transport import WebSocketRelayTransport
from standins import PlatformConfig

IDENTITIES = [("telegram", "bot-tg-1"), ("discord", "app-dc-1")]
KEY = "agent:main:telegram:group:chat-7:user-3"


def transport(connector, **kw) -> WebSocketRelayTransport:
    """A reference transport for the main gateway, fronting two platforms."""
    args: Dict[str, Any] = dict(
        identities=IDENTITIES,
        gateway_id=GATEWAY,
        upgrade_secret=SECRET,
        connect_timeout_s=STEP_TIMEOUT_S,
        outbound_timeout_s=STEP_TIMEOUT_S,
    )
    args.update(kw)
    platform, bot = args["identities"][0]
    t = WebSocketRelayTransport(connector.url, platform, bot, **args)
    OPENED.append(t)
    return t


class Inbox:
    """Collects what the reference transport hands to its handlers."""

    def __init__(self, t: WebSocketRelayTransport) -> None:
        self.events: List[Any] = []
        self.interrupts: List[tuple] = []
        self.forwards: List[tuple] = []
        t.set_inbound_handler(self._inbound)
        t.set_interrupt_inbound_handler(self._interrupt)
        t.set_passthrough_handler(self._passthrough)

    async def _inbound(self, event: Any) -> None:
        self.events.append(event)

    async def _interrupt(self, session_key: str, chat_id: str) -> None:
        self.interrupts.append((session_key, chat_id))

    async def _passthrough(self, forward: Any, buffer_id: Any) -> None:
        self.forwards.append((forward, buffer_id))


async def call(fn, *args):
    """Runs a blocking admin call off the event loop (the reference's reader
    keeps running meanwhile)."""
    return await asyncio.to_thread(fn, *args)


async def wait_stat(connector, key: str, at_least: int) -> int:
    return await call(connector.wait_stat, key, at_least)


async def connected(connector, **kw):
    t = transport(connector, **kw)
    inbox = Inbox(t)
    await t.connect()
    descriptor = await t.handshake()
    return t, inbox, descriptor


def placeholder(platform: str = "telegram") -> CapabilityDescriptor:
    """The descriptor an adapter starts from, before the handshake replaces it."""
    return CapabilityDescriptor(
        contract_version=1, platform=platform, label="Relay", max_message_length=4096,
        supports_draft_streaming=False, supports_edit=True, supports_threads=False,
        markdown_dialect="plain", len_unit="chars")


async def adapter_on(connector, identities: Sequence[Tuple[str, str]] = IDENTITIES,
                     **kw) -> Tuple[RelayAdapter, WebSocketRelayTransport]:
    """A connected reference `RelayAdapter` over its own transport."""
    t = transport(connector, identities=list(identities), **kw)
    adapter = RelayAdapter(PlatformConfig(), placeholder(identities[0][0]), transport=t)
    assert await adapter.connect(), "the adapter connects"
    return adapter, t
