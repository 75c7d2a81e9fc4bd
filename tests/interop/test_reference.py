"""The published reference gateway transport and adapter (`gateway/relay/`
`ws_transport.py` and `adapter.py` of hermes-agent 0.19.0 and of the
0.22.2.post1 packaging) against `relay connector`, asserted on both sides:
what the reference's transport and adapter report, and what the connector
counted and logged. Where the two releases behave differently, each scenario
asserts each release's own behaviour (`ref.series`)."""

from __future__ import annotations

import asyncio
import base64
import json
import re

from conftest import GATEWAY, OTHER_GATEWAY, STEP_TIMEOUT_S, run, until
from gateway.relay.adapter import RelayAdapter
from gateway.relay.descriptor import CapabilityDescriptor
from gateway.relay.ws_transport import WebSocketRelayTransport
from peer import IDENTITIES, KEY, call, connected, placeholder, transport, wait_stat
from standins import Platform, PlatformConfig
from websockets.exceptions import ConnectionClosed


def test_handshake_two_identities_and_descriptors(connector, ck, ref):
    async def scenario():
        t, _, d = await connected(connector)
        ck(isinstance(d, CapabilityDescriptor), "handshake() gives a descriptor")
        ck.eq(d.platform, "telegram", "the first hello's descriptor resolves the handshake")
        ck.eq(d.label, "Telegram", "telegram label")
        ck.eq(d.max_message_length, 4096, "telegram limit")
        ck.eq(d.markdown_dialect, "markdown_v2", "telegram dialect")
        ck.eq(d.len_unit, "utf16", "telegram length unit")
        ck.eq(d.contract_version, 1, "contract version")
        ck.eq(await wait_stat(connector, "descriptors_sent", 2), 2, "one descriptor per hello")
        if ref.series == "0.19":
            # 0.19 keeps the last descriptor of the dial as its only one.
            ck(await until(lambda: t._descriptor is not None
                           and t._descriptor.platform == "discord"),
               "the second hello's descriptor arrives")
            dc = t._descriptor
        else:
            # 0.22 keeps the first as the session default and one per platform.
            ck(await until(lambda: t.descriptor_for_platform("discord") is not None),
               "the second hello's descriptor arrives")
            ck.eq(t._descriptor.platform, "telegram", "the first descriptor stays the default")
            ck.eq(t.descriptor_for_platform("telegram").max_message_length, 4096,
                  "telegram's descriptor kept per platform")
            dc = t.descriptor_for_platform("discord")
        ck.eq(dc.label, "Discord", "discord label")
        ck.eq(dc.max_message_length, 2000, "discord limit")
        ck.eq(dc.markdown_dialect, "discord", "discord dialect")
        ck.eq(dc.len_unit, "chars", "discord length unit")
        raw_hellos = [e["text"] for e in await call(connector.frames, "in", "hello")]
        hellos = [json.loads(text) for text in raw_hellos]
        ck.eq([(h["platform"], h["botId"]) for h in hellos], IDENTITIES, "hellos in configured order")
        ck("command_manifest" not in hellos[0], "no command manifest on the telegram hello")
        if ref.series == "0.19":
            ck("command_manifest" not in hellos[1], "0.19 sends no command manifest")
        else:
            # 0.22 declares its Discord slash commands on the discord hello, after botId.
            ck(raw_hellos[1].startswith('{"type": "hello", "platform": "discord", '
                                        '"botId": "app-dc-1", "command_manifest": ['),
               "command_manifest follows botId on the discord hello")
            manifest = hellos[1]["command_manifest"]
            ck(len(manifest) > 0 and all(
                re.fullmatch(r"[a-z0-9_-]{1,32}", c["name"]) and isinstance(c["description"], str)
                for c in manifest), "every entry has a valid name and a description")
            options = [o for c in manifest for o in c.get("options", [])]
            ck(options and all({"type", "name", "description"} <= set(o) for o in options),
               "options are Discord option objects")
        m = await call(connector.model)
        ck.eq(m["hellos"], 2, "connector counted two hellos")
        ck.eq(m["bad_frames"], 0, "no frame rejected")
        await t.disconnect()
        # A descriptor set at runtime is what the next handshake gets.
        custom = dict(contract_version=1, platform="telegram", label="Telegram (test)",
                      max_message_length=1234, supports_draft_streaming=True,
                      supports_edit=True, supports_threads=False,
                      markdown_dialect="markdown_v2", len_unit="utf16")
        await call(connector.post, "/dev/descriptor", {"platform": "telegram", "descriptor": custom})
        t2, _, d2 = await connected(connector)
        ck.eq(d2.max_message_length, 1234, "runtime descriptor limit")
        ck.eq(d2.label, "Telegram (test)", "runtime descriptor label")
        ck.eq(d2.supports_draft_streaming, True, "runtime descriptor flag")
        await t2.disconnect()

    run(scenario())


def test_inbound_every_field(connector, ck, ref):
    event = {
        "text": "héllo 😀 wörld",
        "message_type": "photo",
        "message_id": "m-1",
        "reply_to_message_id": "m-0",
        "media_urls": ["https://media.example/a.png", "https://media.example/b.ogg"],
        "media": [{"url": "https://media.example/b.ogg", "mime": "audio/ogg"},
                  {"url": "https://media.example/a.png", "mime": "image/png"}],
        "reply_to": {"text": "quoted", "author": "ann", "is_own": True},
        "prompt_response": {"prompt_id": "ab12cd.0011aabb", "option_id": "once",
                            "prompt_message_id": "pm-1"},
        "context": [{"text": "earlier", "source": {"user_name": "ann"}}],
        "source": {
            "platform": "telegram", "chat_id": "chat-7", "chat_type": "group",
            "chat_name": "Team", "user_id": "user-3", "user_name": "bob",
            "user_display_name": "Bob B.", "user_handle": "@bob",
            "thread_id": "th-1", "chat_topic": "topic", "user_id_alt": "alt-u",
            "chat_id_alt": "alt-c", "scope_id": "scope-9", "parent_chat_id": "parent-1",
            "message_id": "m-1", "profile": "coder", "auto_thread_created": True,
            "auto_thread_initial_name": "Topic", "prospective_thread_id": "th-9",
        },
    }

    async def scenario():
        t, inbox, _ = await connected(connector)
        answer = await call(connector.post, "/dev/inbound", {"instance": GATEWAY, "event": event})
        ck.eq(answer.get("delivery"), "live", "delivered live")
        ck(await until(lambda: len(inbox.events) == 1), "the reference received the inbound")
        e = inbox.events[0]
        ck.eq(e.text, event["text"], "text")
        ck.eq(e.message_type.value, "photo", "message_type")
        ck.eq(e.message_id, "m-1", "message_id")
        ck.eq(e.reply_to_message_id, "m-0", "reply_to_message_id")
        ck.eq(e.media_urls, event["media_urls"], "media_urls")
        ck.eq(e.channel_context, "[Recent channel messages]\nann: earlier", "context rendered")
        s = e.source
        ck.eq(s.platform, Platform.TELEGRAM, "source.platform")
        for key in ("chat_id", "chat_type", "chat_name", "user_id", "thread_id",
                    "chat_topic", "user_id_alt", "chat_id_alt", "scope_id", "parent_chat_id",
                    "message_id", "profile"):
            ck.eq(getattr(s, key), event["source"][key], f"source.{key}")
        ck.eq(s.delivered_via_upstream_relay, True, "stamped by the reference")
        if ref.series == "0.19":
            # 0.19 reads the raw user name and none of the later fields.
            ck.eq(s.user_name, "bob", "source.user_name")
            ck(not {"auto_thread_created", "prospective_thread_id"} & set(vars(s)),
               "no auto-thread fields")
            ck(not {"reply_to_text", "media_types", "prompt_response"} & set(vars(e)),
               "no reply_to, media types or prompt_response")
        else:
            ck.eq(s.user_name, "Bob B.", "source.user_name prefers user_display_name")
            ck.eq((s.auto_thread_created, s.auto_thread_initial_name, s.prospective_thread_id),
                  (True, "Topic", "th-9"), "auto-thread fields")
            ck.eq((e.reply_to_text, e.reply_to_author_name, e.reply_to_is_own_message),
                  ("quoted", "ann", True), "reply_to fields")
            ck.eq(e.media_types, ["image/png", "audio/ogg"], "media types matched by url")
            ck.eq(e.prompt_response, event["prompt_response"], "prompt_response verbatim")
        frame = json.loads((await call(connector.frames, "out", "inbound"))[-1]["text"])
        ck("bufferId" not in frame, "a live inbound has no bufferId")
        ck.eq(frame["event"]["source"].get("guild_id"), "scope-9", "scope also written as guild_id")
        await asyncio.sleep(0.2)
        ck.eq(len(await call(connector.frames, "in", "inbound_ack")), 0, "live frames are not acked")
        await t.disconnect()

    run(scenario())


def test_send_edit_typing_get_chat_info(connector, ck, ref):
    async def scenario():
        t, _, _ = await connected(connector)
        r = await t.send_outbound({"op": "send", "chat_id": "chat-7", "content": "é😀 hi",
                                   "reply_to": None, "metadata": {"scope_id": "scope-9"}})
        ck.eq(r.get("success"), True, "send succeeds")
        ck(str(r.get("message_id", "")).startswith("msg-"), "send gives a message id")
        mid = r["message_id"]
        r = await t.send_outbound({"op": "edit", "chat_id": "chat-7", "message_id": mid,
                                   "content": "edited", "finalize": True, "metadata": {}})
        ck.eq(r.get("success"), True, "edit succeeds")
        r = await t.send_outbound({"op": "typing", "chat_id": "chat-7", "metadata": {}})
        ck.eq(r.get("success"), True, "typing succeeds")
        info = await t.get_chat_info("chat-7")
        ck.eq(set(info), {"name", "type"}, "chat info has name and type")
        ck(isinstance(info["name"], str) and info["name"], "chat info name")
        # Per-frame tagging: a fronted platform with its botId, and one not fronted.
        r = await t.send_outbound({"op": "send", "chat_id": "dc-1", "content": "x",
                                   "reply_to": None, "metadata": {}}, platform="discord")
        ck.eq(r.get("success"), True, "a send tagged with a fronted platform succeeds")
        r = await t.send_outbound({"op": "send", "chat_id": "sl-1", "content": "x",
                                   "reply_to": None, "metadata": {}}, platform="slack")
        ck.eq(r.get("success"), False, "a platform not fronted fails")
        ck("not fronted" in str(r.get("error")), "with a structured error")
        frames = [json.loads(e["text"]) for e in await call(connector.frames, "in", "outbound")]
        ck.eq([f["action"]["op"] for f in frames],
              ["send", "edit", "typing", "get_chat_info", "send", "send"], "ops in order")
        ck.eq(frames[0]["action"]["content"], "é😀 hi", "non-ASCII content intact")
        ck.eq(frames[4].get("platform"), "discord", "tagged platform")
        ck.eq(frames[4].get("botId"), "app-dc-1", "tagged with the matching botId")
        ck("botId" not in frames[5], "no botId for a platform not fronted")
        ck("platform" not in frames[0], "untagged frame for an unknown chat")
        results = await call(connector.frames, "out", "outbound_result")
        ck.eq(len(results), 6, "one result per request")
        m = await call(connector.model)
        ck.eq((m["outbound_requests"], m["outbound_results"]), (6, 6), "connector counts")
        await t.disconnect()

    run(scenario())


def test_python_json_spelling_and_no_deflate(connector, ck, ref):
    async def scenario():
        t, _, _ = await connected(connector)
        ws = t._ws
        ck(ws.response is not None, "the upgrade was answered")
        ck.eq(ws.response.status_code, 101, "101 Switching Protocols")
        ck(ws.response.headers.get("Sec-WebSocket-Extensions") is None,
           "permessage-deflate offered by the reference is declined")
        await t.send_interrupt(KEY, None)
        await t.send_outbound({"op": "send", "chat_id": "c", "content": "\u00e9\U0001f600",
                               "reply_to": None, "metadata": {}})
        raw = [e["text"] for e in await call(connector.frames, "in")]
        ck.eq(raw[0], '{"type": "hello", "platform": "telegram", "botId": "bot-tg-1"}',
              "the hello exactly as Python's json.dumps spells it")
        ck(all('": ' in line for line in raw), "Python separators in every frame")
        ck(any("\\ud83d\\ude00" in line for line in raw), "surrogate-pair escapes seen")
        m = await call(connector.model)
        ck.eq(m["bad_frames"], 0, "the connector decoded every Python-spelled frame")
        await t.disconnect()

    run(scenario())


def test_follow_up_capability(connector, ck, ref):
    action = {"op": "follow_up", "session_key": KEY, "kind": "telegram.callback",
              "content": "done", "metadata": {}}

    async def scenario():
        t, _, _ = await connected(connector)
        r = await t.send_follow_up(dict(action))
        ck.eq(r.get("success"), False, "no capability: refused")
        ck.eq(r.get("error"), "no capability for this session", "no capability: error")
        await call(connector.post, "/dev/capability", {"session_key": KEY, "instance": GATEWAY,
                                                       "kind": "telegram.callback",
                                                       "expires_in_secs": 60})
        r = await t.send_follow_up(dict(action), platform="telegram")
        ck.eq(r.get("success"), True, "granted capability: succeeds")
        await call(connector.post, "/dev/capability", {"session_key": KEY, "instance": GATEWAY,
                                                       "kind": "telegram.callback", "revoke": True})
        r = await t.send_follow_up(dict(action))
        ck.eq(r.get("success"), False, "revoked capability: refused")
        await call(connector.post, "/dev/capability", {"session_key": KEY, "instance": GATEWAY,
                                                       "kind": "telegram.callback",
                                                       "expires_in_secs": 1})
        await asyncio.sleep(1.2)
        r = await t.send_follow_up(dict(action))
        ck.eq(r.get("success"), False, "expired capability: refused")
        ck("expired" in str(r.get("error")), "expired capability: says so")
        other_key = "agent:main:telegram:group:chat-8:user-4"
        await call(connector.post, "/dev/capability", {"session_key": other_key,
                                                       "instance": OTHER_GATEWAY,
                                                       "kind": "telegram.callback",
                                                       "expires_in_secs": 60})
        r = await t.send_follow_up(dict(action, session_key=other_key))
        ck.eq(r.get("success"), False, "another tenant's session: refused")
        ck.eq(r.get("error"), "capability belongs to another tenant", "another tenant: error")
        m = await call(connector.model)
        ck.eq(m["follow_ups_refused"], 4, "connector counted four refusals")
        await t.disconnect()

    run(scenario())


def test_interrupts_both_ways(connector, ck, ref):
    async def scenario():
        t, inbox, _ = await connected(connector)
        # Connector -> gateway: a user's stop for a session this gateway owns.
        status, answer = await call(connector.request, "POST", "/dev/interrupt",
                                    {"session_key": KEY, "chat_id": "chat-7"})
        ck.eq(status, 404, "no owner yet: 404")
        ck("error" in answer, "with an error")
        await call(connector.post, "/dev/bind", {"session_key": KEY, "instance": GATEWAY})
        await call(connector.post, "/dev/interrupt", {"session_key": KEY, "chat_id": "chat-7"})
        ck(await until(lambda: len(inbox.interrupts) == 1), "interrupt_inbound reached the reference")
        ck.eq(inbox.interrupts[0], (KEY, "chat-7"), "session key and chat id")
        # Gateway -> connector: routed to the owner (this gateway), counted.
        await t.send_interrupt(KEY, "user asked to stop")
        ck(await until(lambda: len(inbox.interrupts) == 2), "routed back to the owning session")
        ck.eq(inbox.interrupts[1], (KEY, "chat-7"), "chat id taken from the key")
        await t.send_interrupt("agent:main:telegram:group:nobody:x", None)
        ck.eq(await wait_stat(connector, "interrupts_unrouted", 1), 1, "unbound key: unrouted")
        m = await call(connector.model)
        ck.eq(m["interrupts_routed"], 1, "one routed")
        frames = [json.loads(e["text"]) for e in await call(connector.frames, "in", "interrupt")]
        ck.eq(frames[0], {"type": "interrupt", "session_key": KEY, "reason": "user asked to stop"},
              "interrupt frame fields")
        ck.eq(frames[1]["reason"], None, "reason key present as null")
        await t.disconnect()

    run(scenario())


def test_passthrough_bytes_and_headers(connector, ck, ref):
    body = bytes(range(256)) + b'{"type": 2}'
    headers = [["X-Signature", "abc"], ["content-type", "application/json"], ["X-A", "1"],
               ["x-a", "2"]]

    async def scenario():
        t, inbox, _ = await connected(connector)
        answer = await call(connector.post, "/dev/passthrough", {
            "instance": GATEWAY, "platform": "discord", "bot_id": "app-dc-1", "method": "POST",
            "path": "/interactions/discord/app-dc-1", "headers": headers,
            "body_b64": base64.b64encode(body).decode()})
        ck.eq(answer.get("delivery"), "live", "delivered live")
        ck(await until(lambda: len(inbox.forwards) == 1), "passthrough_forward reached the reference")
        fwd, buffer_id = inbox.forwards[0]
        ck.eq(fwd.body, body, "body bytes exact")
        ck.eq(fwd.headers, [tuple(h) for h in headers], "headers in order, duplicates kept")
        ck.eq((fwd.platform, fwd.bot_id, fwd.method, fwd.path),
              ("discord", "app-dc-1", "POST", "/interactions/discord/app-dc-1"), "forward fields")
        ck(buffer_id is None, "live: no bufferId")
        # Buffered while idle, delivered on the next connection with its bufferId.
        ck.eq(await t.go_idle(timeout_s=STEP_TIMEOUT_S), True, "idle acked")
        answer = await call(connector.post, "/dev/passthrough", {
            "instance": GATEWAY, "platform": "discord", "method": "POST", "path": "/p",
            "headers": [], "body_b64": base64.b64encode(b"later").decode()})
        ck.eq(answer.get("delivery"), "buffered", "buffered while idle")
        await t.disconnect()
        t2, inbox2, _ = await connected(connector)
        ck(await until(lambda: len(inbox2.forwards) == 1), "drained on the next connection")
        fwd, buffer_id = inbox2.forwards[0]
        ck.eq(fwd.body, b"later", "buffered body")
        ck.eq(buffer_id, answer["buffer_id"], "carries its bufferId")
        ck.eq(fwd.bot_id, "", "bot_id optional")
        ck.eq(await wait_stat(connector, "flips_cleared", 1), 1, "drain done")
        stats = await call(connector.stats)
        ck.eq(stats["buffered"], 0, "buffer empty")
        await t2.disconnect()

    run(scenario())


def test_going_idle_buffered_drain(connector, ck, ref):
    async def scenario():
        t, inbox, _ = await connected(connector)
        ck.eq(await t.go_idle(timeout_s=STEP_TIMEOUT_S), True, "going_idle acked")
        ck(t._ws is not None, "the reference keeps its socket after go_idle")
        ids = []
        for i in range(3):
            a = await call(connector.post, "/dev/inbound", {
                "instance": GATEWAY,
                "event": {"chat_id": "chat-7", "text": f"queued {i}", "platform": "telegram"}})
            ck.eq(a.get("delivery"), "buffered", f"item {i} buffered")
            ids.append(a["buffer_id"])
        await asyncio.sleep(0.3)
        ck.eq(len(inbox.events), 0, "nothing pushed live on the idle socket")
        stats = await call(connector.stats)
        ck.eq(stats["buffered"], 3, "three items buffered")
        ck.eq(stats["sockets_open"], 1, "the idle socket is still open")
        await t.disconnect()
        t2, inbox2, _ = await connected(connector)
        ck(await until(lambda: len(inbox2.events) == 3), "drained after the new handshake")
        ck.eq([e.text for e in inbox2.events], ["queued 0", "queued 1", "queued 2"], "in order")
        ck.eq(await wait_stat(connector, "acked", 3), 3, "three acks")
        acks = [json.loads(e["text"]) for e in await call(connector.frames, "in", "inbound_ack")]
        ck.eq([a["bufferId"] for a in acks], ids, "one ack per item, in order")
        stats = await call(connector.stats)
        ck.eq(stats["buffered"], 0, "buffer empty after the drain")
        ck.eq((stats["model"]["acks_duplicate"], stats["model"]["acks_unknown"]), (0, 0),
              "no stray acks")
        a = await call(connector.post, "/dev/inbound", {
            "instance": GATEWAY, "event": {"chat_id": "chat-7", "text": "live again"}})
        ck.eq(a.get("delivery"), "live", "live delivery resumes")
        ck(await until(lambda: len(inbox2.events) == 4), "live inbound arrives")
        ck.eq(await t2.go_idle(timeout_s=STEP_TIMEOUT_S), True, "idle acked again")
        going = await call(connector.frames, "in", "going_idle")
        ck.eq(len(going), 2, "one going_idle per call")
        await t2.disconnect()

    run(scenario())


def test_dormant_redial(connector, ck, ref):
    async def scenario():
        t, inbox, _ = await connected(connector, reconnect=True)
        ck.eq(await t.go_dormant(timeout_s=STEP_TIMEOUT_S), True, "go_dormant acked")
        ck.eq(t._dormant, True, "dormant")
        ck.eq(t.auth_revoked, False, "not revoked")
        a = await call(connector.post, "/dev/inbound", {
            "instance": GATEWAY, "event": {"chat_id": "chat-7", "text": "while dormant"}})
        ck.eq(a.get("delivery"), "buffered", "buffered while dormant")
        # The reference re-dials by itself on its 1 s dormant cadence.
        ck(await until(lambda: len(inbox.events) == 1, timeout=4.0), "re-dialed and drained")
        ck.eq(inbox.events[0].text, "while dormant", "the buffered item")
        ck.eq(await wait_stat(connector, "acked", 1), 1, "acked")
        stats = await call(connector.stats)
        ck.eq(stats["upgrades_accepted"], 2, "exactly one re-dial")
        ck.eq(stats["buffered"], 0, "buffer empty")
        ck.eq(t._dormant, False, "dormant flag cleared by the re-dial")
        await t.disconnect()

    run(scenario())


def test_revocation_after_handshake(connector, ck, ref):
    async def scenario():
        t, _, _ = await connected(connector, reconnect=True, reconnect_backoff_s=0.1)
        await call(connector.post, "/dev/revoke", {"gateway_id": GATEWAY})
        if ref.series == "0.19":
            ck(await until(lambda: t.auth_revoked),
               "0.19 latches revocation on the first 4401")
            before = (await call(connector.stats))["upgrades_attempted"]
            await asyncio.sleep(0.6)
            after = (await call(connector.stats))["upgrades_attempted"]
            ck.eq(after, before, "no re-dial after revocation")
            ck(t._supervisor is None, "no reconnect supervisor")
            m = await call(connector.model)
            ck.eq(m["closes_4401"], 1, "the connector closed once with 4401")
        else:
            # 0.22 confirms once: the first 4401 earns an immediate re-dial with a
            # fresh token; the connector refuses that one too, and it latches.
            ck(await until(lambda: connector.stats()["upgrades_attempted"] >= 2),
               "a fresh-token re-dial follows the first 4401")
            ck(await until(lambda: t.auth_revoked), "revocation latched on the second 4401")
            await asyncio.sleep(0.5)
            # Its reconnect supervisor does not stop at the latch: a dial whose
            # hellos lose the race with the 4401 counts as a failed dial and is
            # retried on the backoff. Each such stray dial is refused too.
            ck(await until(lambda: connector.model()["closes_4401"]
                           == connector.stats()["upgrades_attempted"]),
               "every connection after the revocation closed 4401")
            m = await call(connector.model)
            ck.eq(m["descriptors_sent"], 2, "no descriptor after the revocation")
            ck.eq(t.auth_revoked, True, "the latch holds")
        await t.disconnect()

    run(scenario())


async def connect_refused(t: WebSocketRelayTransport) -> None:
    """`connect()` against a refusing connector: the upgrade succeeds and the
    4401 close follows; when it lands before the hellos are written, the
    reference's `connect()` raises the close (its reader still runs)."""
    try:
        await t.connect()
    except ConnectionClosed as e:
        assert e.rcvd is not None and e.rcvd.code == 4401, e


def test_wrong_secret(connector, ck, ref):
    async def scenario():
        t = transport(connector, upgrade_secret="not-the-secret", connect_timeout_s=0.5)
        await connect_refused(t)
        try:
            await t.handshake()
            ck(False, "a wrong secret must not complete the handshake")
        except asyncio.TimeoutError:
            ck(True, "no descriptor for a wrong secret")
        ck.eq(t.auth_revoked, False, "a 4401 before any descriptor is not a revocation")
        m = await call(connector.model)
        ck(m["upgrades_refused"] >= 1, "the connector refused the upgrade")
        ck(m["closes_4401"] >= 1, "with a 4401 close")
        ck.eq(m["descriptors_sent"], 0, "no descriptor sent")
        await t.disconnect()
        # With reconnect on, the cold-start 4401 stays retryable.
        t2 = transport(connector, upgrade_secret="not-the-secret", reconnect=True,
                       reconnect_backoff_s=0.1, connect_timeout_s=0.5)
        await connect_refused(t2)
        ck(await until(lambda: (connector.model()["upgrades_refused"]) >= 3),
           "the reference retries after a cold-start 4401")
        await t2.disconnect()

    run(scenario())


def test_relay_adapter_end_to_end(connector, ck, ref):
    async def scenario():
        t = transport(connector)
        adapter = RelayAdapter(PlatformConfig(), placeholder(), transport=t)
        ck.eq(await adapter.connect(), True, "adapter connects")
        ck.eq(adapter.descriptor.label, "Telegram", "negotiated descriptor adopted")
        ck.eq(adapter.MAX_MESSAGE_LENGTH, 4096, "message limit from the descriptor")
        ck.eq(adapter.supports_code_blocks, True, "markdown_v2 allows code blocks")
        ck.eq(adapter.message_len_fn("\U0001f600"), 2, "utf16 length function")
        await call(connector.post, "/dev/inbound", {"instance": GATEWAY, "event": {
            "text": "hi", "source": {"platform": "discord", "chat_id": "dc-9",
                                     "chat_type": "group", "scope_id": "guild-5",
                                     "user_id": "u-1"}}})
        ck(await until(lambda: len(adapter.messages) == 1), "inbound reached handle_message")
        r = await adapter.send("dc-9", "reply")
        ck.eq(r.success, True, "adapter send succeeds")
        sent = json.loads((await call(connector.frames, "in", "outbound"))[-1]["text"])
        ck.eq(sent["action"]["metadata"].get("scope_id"), "guild-5", "scope re-attached")
        if ref.series == "0.19":
            ck("user_id" not in sent["action"]["metadata"], "0.19: user_id only for DMs")
        else:
            ck.eq(sent["action"]["metadata"].get("user_id"), "u-1",
                  "0.22: the author's user_id re-attached on a scoped chat too")
        ck.eq(sent.get("platform"), "discord", "reply tagged with the inbound's platform")
        ck.eq(sent.get("botId"), "app-dc-1", "and its botId")
        await call(connector.post, "/dev/bind", {"session_key": KEY, "instance": GATEWAY})
        await call(connector.post, "/dev/interrupt", {"session_key": KEY, "chat_id": "chat-7"})
        ck(await until(lambda: len(adapter.interrupts) == 1), "interrupt reached the adapter")
        await adapter.disconnect()
        going = await call(connector.frames, "in", "going_idle")
        ck.eq(len(going), 1, "disconnect sends exactly one going_idle")
        ck.eq(adapter.fatal, None, "no fatal error")

    run(scenario())
