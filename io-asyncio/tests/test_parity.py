"""Today's transport API through the core, against a real `relay connector`:
the per-frame platform, the draining disconnect, held re-dials, the newer
ops, declines, replay dedupe, the hello's command manifest and Slack's
`/hermes` words from the installed Hermes, and the core's counters. What
went out is read back from the connector's frame log (``GET /dev/log``),
never from the arguments."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time

import pytest

from conftest import all_ops_descriptors
from miniws import MiniConnector, descriptor
from test_connector import BOUND, Inbox, started, transport

EXPECTED = os.environ.get("HERMES_EXPECTED")
EDIT = {"op": "edit", "chat_id": "chat-7", "message_id": "msg-1", "content": "final", "metadata": {}}


def send(chat_id, content="x"):
    return {"op": "send", "chat_id": chat_id, "content": content, "reply_to": None, "metadata": {}}


async def until(pred, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        await asyncio.sleep(step)
    return None


def hermes_installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# -- the per-frame platform ----------------------------------------------------


async def test_a_send_names_its_platform_and_the_frame_carries_it(connector):
    t, _, _ = await started(connector)
    try:
        # A chat no inbound taught (a scheduled send): tagged as named.
        r = await t.send_outbound(send("home-1", "scheduled"), platform="discord")
        assert r["success"] is True, r
        f = (await connector.frames("in", "outbound"))[-1]
        assert list(f) == ["type", "requestId", "action", "platform", "botId"], f
        assert (f["action"]["chat_id"], f["platform"], f["botId"]) == ("home-1", "discord", "dc-bot")
        r = await t.send_follow_up({"op": "follow_up", "session_key": "s", "kind": "k", "content": "c",
                                    "metadata": {}}, platform="discord")
        f = (await connector.frames("in", "outbound"))[-1]
        assert (f["action"]["op"], f["platform"], f["botId"]) == ("follow_up", "discord", "dc-bot"), f
        # Without a platform the untaught chat goes out untagged.
        await t.send_outbound(send("home-2"))
        f = (await connector.frames("in", "outbound"))[-1]
        assert "platform" not in f and "botId" not in f, f
        # A platform never said hello for: tagged without a bot id, and
        # refused by the connector with a definite, structured failure.
        r = await t.send_outbound(send("sl-1"), platform="slack")
        f = (await connector.frames("in", "outbound"))[-1]
        assert (f["action"]["chat_id"], f["platform"], "botId" in f) == ("sl-1", "slack", False), f
        assert r["success"] is False and "not fronted" in r["error"] and not r.get("ambiguous"), r
        assert r == await connector.result_for(f["requestId"]), "the connector's result, verbatim"
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_single_identity_gateway_may_name_its_platform(connector):
    t, _, _ = await started(connector, identities=[("telegram", "tg-bot")])
    try:
        r = await t.send_outbound(send("tg-1"), platform="telegram")
        assert r["success"] is True, r
        f = (await connector.frames("in", "outbound"))[-1]
        assert (f.get("platform"), f.get("botId")) == ("telegram", "tg-bot"), f
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


# -- the draining disconnect -----------------------------------------------------


async def _edit_in_flight(connector, t, delay_ms):
    status, body = await connector.post("/dev/script", {"op": "edit", "delay_ms": delay_ms})
    assert status == 200, body
    task = asyncio.ensure_future(t.send_outbound(EDIT))
    frames = await until(lambda: connector.frames("in", "outbound"))
    assert frames, "the edit is in flight"
    return task, frames[-1]["requestId"]


async def test_disconnect_waits_for_a_result_on_its_way(connector):
    t, _, _ = await started(connector)
    task, request_id = await _edit_in_flight(connector, t, 800)
    started_at = time.monotonic()
    closing = asyncio.ensure_future(t.disconnect(budget_s=5.0))
    await asyncio.sleep(0.05)
    assert t.state == "closing"
    # New requests fail at once during the drain, with the reference's dict,
    # and are never written.
    late = await asyncio.wait_for(t.send_outbound(dict(EDIT, chat_id="late-1")), 0.5)
    assert late == {"success": False, "error": "relay transport closed"}
    result = await asyncio.wait_for(task, BOUND)
    assert result == await connector.result_for(request_id)
    assert result["success"] is True
    await asyncio.wait_for(closing, BOUND)
    took = time.monotonic() - started_at
    assert 0.6 <= took < 3.0, took
    assert [f["action"]["chat_id"] for f in await connector.frames("in", "outbound")] == ["chat-7"]
    assert t.state == "closed"
    assert await t.send_outbound(EDIT) == {"success": False, "error": "relay transport closed"}
    assert await until(lambda: _sockets_open(connector) == 0)


def _sockets_open(connector):
    status, body = connector._call("GET", "/dev/stats", None)
    return body["sockets_open"]


async def test_the_budget_bounds_the_drain_and_keeps_a_reserve(connector):
    t, _, _ = await started(connector)
    task, _ = await _edit_in_flight(connector, t, 3000)
    started_at = time.monotonic()
    await asyncio.wait_for(t.disconnect(budget_s=1.5), BOUND)
    took = time.monotonic() - started_at
    # 1.5 s of budget: a 1.0 s drain, then the close within the 0.5 s reserve.
    assert 0.9 <= took < 1.5, took
    result = await asyncio.wait_for(task, 0.5)
    assert result == {"success": False, "error": "relay transport closed", "ambiguous": True}


async def test_without_a_budget_the_runners_env_budget_applies(connector, monkeypatch):
    monkeypatch.setenv("HERMES_GATEWAY_ADAPTER_DISCONNECT_TIMEOUT", "1.2")
    t, _, _ = await started(connector)
    task, _ = await _edit_in_flight(connector, t, 3000)
    started_at = time.monotonic()
    await asyncio.wait_for(t.disconnect(), BOUND)
    took = time.monotonic() - started_at
    assert 0.6 <= took < 1.2, took
    assert (await asyncio.wait_for(task, 0.5))["error"] == "relay transport closed"


async def test_nothing_in_flight_closes_at_once(connector):
    t, _, _ = await started(connector)
    started_at = time.monotonic()
    await asyncio.wait_for(t.disconnect(budget_s=5.0), BOUND)
    assert time.monotonic() - started_at < 0.5
    assert t.state == "closed"


async def test_the_drain_ends_with_a_normal_close():
    answered = []

    async def script(peer):
        await peer.recv_type("hello")
        await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})
        frame = await peer.recv_type("outbound")
        await asyncio.sleep(0.3)
        await peer.send_frame({"type": "outbound_result", "requestId": frame["requestId"],
                               "result": {"success": True, "message_id": "m-9"}})
        answered.append(time.monotonic())
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = transport_for(mc.url)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        task = asyncio.ensure_future(t.send_outbound(EDIT))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(t.disconnect(budget_s=5.0), BOUND)
        assert await task == {"success": True, "message_id": "m-9"}
        assert await until(lambda: mc.peers[0].client_closed)
        assert mc.peers[0].close_code == 1000


def transport_for(url, **kw):
    from hermes_relay import WebSocketRelayTransport

    return WebSocketRelayTransport(url, "telegram", "tg-bot", connect_timeout_s=2.0,
                                   outbound_timeout_s=5.0, **kw)


# -- held re-dials -----------------------------------------------------------------


def _dials(connector):
    status, body = connector._call("GET", "/dev/stats", None)
    return body["upgrades_attempted"]


async def test_a_held_redial_waits_for_release_or_the_cap(connector):
    t = transport(connector, reconnect=True, dormant_redial_s=0.2, redial_hold_max_s=1.2)
    await asyncio.wait_for(t.connect(), BOUND)
    await asyncio.wait_for(t.handshake(), BOUND)
    try:
        t.hold_redial()
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        await asyncio.sleep(0.8)  # well past the 0.2 s cadence
        assert _dials(connector) == 1, "no dial while held"
        t.release_redial()
        assert await until(lambda: _dials(connector) == 2, timeout=0.5), "released: dialed at once"
        assert await until(lambda: t.state == "serving")
        # Nobody releases this one: the cap ends it, and the hold is used up.
        t.hold_redial()
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        await asyncio.sleep(0.7)
        assert _dials(connector) == 2, "still held before the cap"
        assert await until(lambda: _dials(connector) == 3, timeout=2.0), "dialed once the cap passed"
        assert await until(lambda: t.state == "serving")
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        assert await until(lambda: _dials(connector) == 4, timeout=1.0), "the hold was used up"
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_hold_taken_before_connect_applies(connector):
    t = transport(connector, reconnect=True, dormant_redial_s=0.2)
    t.hold_redial()
    await asyncio.wait_for(t.connect(), BOUND)
    await asyncio.wait_for(t.handshake(), BOUND)
    try:
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        await asyncio.sleep(0.6)
        assert _dials(connector) == 1
        t.release_redial()
        assert await until(lambda: _dials(connector) == 2, timeout=0.5)
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


# -- the newer ops, declines -------------------------------------------------------


async def test_draft_task_card_and_delete_pass_through(make_connector):
    connector = make_connector(all_ops_descriptors(drafts=True))
    t, _, _ = await started(connector)
    try:
        actions = [
            {"op": "draft", "chat_id": "c-1", "draft_id": 1, "content": "Hel", "final": False, "metadata": {}},
            {"op": "draft", "chat_id": "c-1", "draft_id": 1, "content": "Hello", "final": True, "metadata": {}},
            {"op": "task_card", "chat_id": "c-1", "card_id": "card-1",
             "chunks": [{"id": "t1", "title": "Search", "status": "in_progress"}], "metadata": {}},
            {"op": "task_card_stop", "chat_id": "c-1", "card_id": "card-1", "metadata": {}},
            {"op": "delete", "chat_id": "c-1", "message_id": "msg-3", "metadata": {}},
        ]
        results = [await t.send_outbound(a) for a in actions]
        frames = await connector.frames("in", "outbound")
        assert [f["action"] for f in frames] == actions, "each action as written, keys in order"
        assert [list(f["action"]) for f in frames] == [list(a) for a in actions]
        for f, r in zip(frames, results):
            assert r == await connector.result_for(f["requestId"])
            assert r["success"] is True, r
        assert results[0].get("message_id") and results[1]["message_id"] == results[0]["message_id"]
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_decline_is_the_connectors_result_verbatim(connector):
    t, _, _ = await started(connector)
    try:
        status, body = await connector.post("/dev/decline", {"chat_id": "blocked-1"})
        assert status == 200, body
        r = await t.send_outbound(send("blocked-1", "secret"))
        f = (await connector.frames("in", "outbound"))[-1]
        assert r == await connector.result_for(f["requestId"])
        assert (r["success"], r["code"]) == (False, "egress_declined"), r
        assert "egress declined:" in r["error"].lower() and not r.get("ambiguous"), r
        if hermes_installed("gateway.relay.egress"):
            from gateway.relay.egress import is_egress_decline

            assert is_egress_decline(r)
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


# -- replays, counters ---------------------------------------------------------------


async def test_a_replayed_message_is_acked_not_handed_over_again(connector):
    t, inbox, _ = await started(connector, reconnect=True, dormant_redial_s=0.2)
    try:
        event = {"text": "run it", "message_id": "m-77",
                 "source": {"platform": "telegram", "chat_id": "chat-7", "chat_type": "group"}}
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": event})
        assert body["delivery"] == "live", body
        assert (await inbox.next()).message_id == "m-77"
        assert await asyncio.wait_for(t.go_dormant(), BOUND) is True
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": event})
        assert body["delivery"] == "buffered", body
        acks = await until(lambda: connector.log("in", "inbound_ack"), timeout=BOUND)
        assert [a["bufferId"] for a in acks] == [body["buffer_id"]]
        await asyncio.sleep(0.2)
        assert inbox.items == [], "the replay never reached the handler"
        assert t.stats()["replays_dropped"] == 1
        event = dict(event, message_id="m-78")
        await connector.post("/dev/inbound", {"instance": "gw", "event": event})
        assert (await inbox.next()).message_id == "m-78", "another message id is new"
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_stats_carry_every_core_counter(connector):
    t, _, _ = await started(connector)
    try:
        assert set(t.stats()) == {
            "dials", "frames_in", "frames_out", "frames_rejected", "requests_sent",
            "unknown_results", "duplicate_deliveries", "acks_sent", "deliveries_deferred",
            "descriptors_ignored", "replays_dropped"}
        assert t.stats()["dials"] == 1
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


# -- the hello's command manifest, Slack's /hermes words ---------------------------


async def test_the_discord_hello_carries_the_installed_hermes_manifest(connector):
    t, _, _ = await started(connector)
    try:
        hellos = {h["platform"]: h for h in await connector.frames("in", "hello")}
        if hermes_installed("gateway.relay.command_manifest"):
            from gateway.relay.command_manifest import build_relay_command_manifest

            assert list(hellos["discord"]) == ["type", "platform", "botId", "command_manifest"]
            assert hellos["discord"]["command_manifest"] == build_relay_command_manifest()
        else:
            assert "command_manifest" not in hellos["discord"]
        assert "command_manifest" not in hellos["telegram"]
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_manifest_given_to_the_transport_goes_in_that_hello(connector):
    manifest = [{"name": "ping", "description": "Ping the agent"}]
    t, _, _ = await started(connector, command_manifests={"discord": manifest})
    try:
        hellos = {h["platform"]: h for h in await connector.frames("in", "hello")}
        assert hellos["discord"]["command_manifest"] == manifest
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def _slack_texts(connector, texts, **kw):
    t, inbox, _ = await started(connector, identities=[("slack", "B-1")], **kw)
    try:
        for i, text in enumerate(texts):
            await connector.post("/dev/inbound", {"instance": "gw", "event": {
                "text": text, "message_id": f"17.{i}",
                "source": {"platform": "slack", "chat_id": "C-1"}}})
        return [((e := await inbox.next()).text, e.message_type.value) for _ in texts]
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_slack_hermes_words_are_the_installed_hermes_commands(connector):
    got = await _slack_texts(connector, ["/hermes compact now", "/hermes start over", "/hermes"])
    assert got[0] == ("/compress now", "command"), "compact stands for /compress"
    assert got[2] == ("/help", "command")
    if hermes_installed("hermes_cli.commands_platforms"):
        # Hermes registers /start; the core's own default set does not.
        assert got[1] == ("/start over", "command")
    else:
        assert got[1] == ("start over", "text")


async def test_slack_words_given_to_the_transport(connector):
    got = await _slack_texts(connector, ["/hermes ship it", "/hermes compact"],
                             slack_commands={"ship": "/deploy"})
    assert got == [("/deploy it", "command"), ("compact", "text")]


def test_a_malformed_manifest_is_a_config_error():
    from hermes_relay import ConfigError, WebSocketRelayTransport

    for bad in ([{"name": "ping"}], [{"name": "ping", "description": "d", "colour": "red"}], ["ping"]):
        with pytest.raises(ConfigError, match="command_manifests"):
            WebSocketRelayTransport("ws://127.0.0.1:9", "discord", "dc-bot", command_manifests={"discord": bad})
