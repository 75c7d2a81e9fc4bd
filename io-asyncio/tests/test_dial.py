"""Dial failures as ``connect()`` reports them."""

from __future__ import annotations

import asyncio

import pytest

from hermes_relay import UpgradeRefusedError
from test_driver import make

BOUND = 20.0


async def http_server(status: int, reason: str):
    """A server that answers every request with a bare HTTP status."""
    requests = []

    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        requests.append(head)
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}", requests


@pytest.mark.parametrize("status,reason,revoked", [(403, "Forbidden", False), (410, "Gone", True)])
async def test_a_refused_upgrade_raises_with_its_status(status, reason, revoked):
    server, url, requests = await http_server(status, reason)
    async with server:
        t = make(url, reconnect=True, reconnect_backoff_s=5.0, gateway_id="gw", upgrade_secret="s")
        with pytest.raises(UpgradeRefusedError) as info:
            await asyncio.wait_for(t.connect(), BOUND)
        assert info.value.status == status
        assert isinstance(info.value, ConnectionError)
        # The upgrade request carried the bearer; 410 is a revocation.
        assert requests and b"GET /relay HTTP/1.1" in requests[0]
        assert b"authorization: bearer " in requests[0].lower()
        assert t.auth_revoked is revoked
        assert t.state == "closed" or (revoked and t.state == "revoked")
