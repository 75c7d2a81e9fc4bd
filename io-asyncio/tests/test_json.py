"""What goes out as JSON: exactly what ``json.dumps`` would accept, nothing
coerced. The bare core raises ``json.dumps``'s own errors; the transport,
like the reference, answers with a failed result and sends nothing."""

from __future__ import annotations

import asyncio
import enum
import json
import math

import pytest

from hermes_relay import _core
from test_connector import BOUND, started
from test_core import serving


class Colour(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


REFUSED = [
    ({"x": float("nan")}, ValueError),
    ({"x": math.inf}, ValueError),
    ({"x": -math.inf}, ValueError),
    ({(1, 2): "tuple key"}, TypeError),
    ({"x": object()}, TypeError),
    ({"x": {1, 2}}, TypeError),
    ({"x": b"bytes"}, TypeError),
    ({"x": 2**70}, ValueError),
]


def send_action(**metadata):
    return {"op": "send", "chat_id": "c", "content": "hi", "metadata": metadata}


@pytest.mark.parametrize("meta,exc", REFUSED)
def test_the_core_refuses_what_json_dumps_refuses(meta, exc):
    action = send_action(**{"m": meta})
    if exc is not ValueError or 2**70 not in meta.values():
        with pytest.raises(exc):
            json.dumps(action, allow_nan=False)
    conn = serving()
    conn.drain()
    with pytest.raises(exc):
        conn.send(10, action)
    outs, _ = conn.drain()
    assert not [o for o in outs if type(o) is _core.Transmit], "nothing may be sent"
    assert conn.pending_requests == 0


def test_what_json_dumps_accepts_goes_out_as_it_would():
    meta = {"s": Colour.RED, "i": Level.HIGH, "t": (1, "two"), 1: "int key", None: "none key",
            True: "bool key", 2.5: "float key", "f": 0.1, "n": None, "nested": [{"a": [1.5e300]}]}
    conn = serving()
    conn.drain()
    conn.send(10, send_action(m=meta))
    outs, _ = conn.drain()
    sent = [json.loads(o.text) for o in outs if type(o) is _core.Transmit]
    assert len(sent) == 1
    assert sent[0]["action"]["metadata"]["m"] == json.loads(json.dumps(meta))


def test_nesting_is_bounded():
    deep: list = []
    cur = deep
    for _ in range(200):
        cur.append([])
        cur = cur[0]
    conn = serving()
    conn.drain()
    with pytest.raises(ValueError):
        conn.send(10, send_action(deep=deep))


async def test_the_transport_answers_a_failed_result_and_sends_nothing(connector):
    t, _, _ = await started(connector)
    try:
        for meta, exc in REFUSED:
            r = await asyncio.wait_for(t.send_outbound(send_action(m=meta)), BOUND)
            assert r["success"] is False and r["error"].startswith("relay send failed: "), r
            assert "ambiguous" not in r
        assert t.stats()["requests_sent"] == 0
        assert (await connector.model())["outbound_requests"] == 0
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


# Keys the action decoder does not read (unknown at the top level) and
# values it reads: the transport's link refuses what json.dumps refuses
# wherever it is, read or not.
SKIPPED_OR_READ = [
    ({"op": "send", "chat_id": "c", "content": "hi", "unknown": float("nan")}, ValueError),
    ({"op": "send", "chat_id": "c", "content": "hi", "unknown": [1, object()]}, TypeError),
    ({"op": "send", "chat_id": "c", "content": "hi", "unknown": {"k": 2**70}}, ValueError),
    ({"op": "send", "chat_id": "c", "unknown": {1.5: math.inf}, "content": "hi"}, ValueError),
    ({"op": "send", "chat_id": "c", "content": "hi", "reply_to": b"bytes"}, TypeError),
    ({"op": "send", "chat_id": "c", "content": "hi", "metadata": {"t": (1, {2, 3})}}, TypeError),
]


async def test_the_link_refuses_what_json_dumps_refuses_read_or_skipped(connector):
    deep: list = []
    cur = deep
    for _ in range(200):
        cur.append([])
        cur = cur[0]
    cases = SKIPPED_OR_READ + [({"op": "send", "chat_id": "c", "content": "hi", "unknown": deep}, ValueError),
                               ({"op": "send", "chat_id": "c", "content": "hi", "metadata": {"d": deep}},
                                ValueError)]
    t, _, _ = await started(connector)
    try:
        for action, exc in cases:
            if exc is TypeError or "nan" in repr(action) or "inf" in repr(action):
                # (json.dumps takes integers past 64 bits and deeper nesting.)
                with pytest.raises(exc):
                    json.dumps(action, allow_nan=False)
            r = await asyncio.wait_for(t.send_outbound(action), BOUND)
            assert r["success"] is False and r["error"].startswith("relay send failed: "), (action, r)
        assert t.stats()["requests_sent"] == 0
        assert (await connector.model())["outbound_requests"] == 0
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_what_the_link_sends_is_what_json_dumps_makes(connector):
    # Only str keys (the link's fast path); every kind of value.
    meta = {"s": Colour.RED, "i": Level.HIGH, "neg": -(2**63), "big": 2**64 - 1, "zero": 0,
            "f": 0.1, "tiny": -5e-324, "n": None, "yes": True, "no": False,
            "t": (1, "two", [3.5]), "nested": [{"a": [1.5e300, {"b": "é\u2028\"\\"}]}], "empty": {}}
    action = {"op": "send", "chat_id": 42, "content": "hi", "reply_to": None, "metadata": meta,
              "unknown": {"x": [1, 2.5, None]}}
    t, _, _ = await started(connector)
    try:
        r = await asyncio.wait_for(t.send_outbound(action), BOUND)
        assert r["success"] is True, r
        (sent,) = [f for f in await connector.frames("in", "outbound")
                   if f["action"].get("content") == "hi"]
        expected = json.loads(json.dumps(action))
        assert sent["action"]["metadata"] == expected["metadata"]
        # Ids sent as numbers go out as strings (the core's lenient decode).
        assert sent["action"]["chat_id"] == "42"
        assert "unknown" not in sent["action"]
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)


class Word(str):
    """A str subclass with a text of its own making."""


async def test_the_link_reads_every_kind_of_str_as_its_text(connector):
    # The decoder lends the text of each str it reads: subclasses, non-ASCII
    # and astral text, keys and values, many actions in a row, go out as
    # the text they hold.
    t, _, _ = await started(connector)
    try:
        sent = []
        for i in range(40):
            content = Word(f"édit {i} 🙏 \u2028 \"q\" " + "x" * i)
            action = {Word("op"): Word("edit"), "chat_id": Colour.RED, Word("message_id"): f"m{i}é",
                      "content": content, "finalize": bool(i % 2),
                      "metadata": {Word("k"): Word("v🙂"), "ключ": ["значение", Word("w")]}}
            r = await asyncio.wait_for(t.send_outbound(action), BOUND)
            assert r["success"] is True, r
            sent.append(json.loads(json.dumps({k: v for k, v in action.items()})))
        frames = [f["action"] for f in await connector.frames("in", "outbound")
                  if f["action"].get("op") == "edit"]
        assert len(frames) == 40
        for got, want in zip(frames, sent):
            assert got == {**want, "chat_id": "red"}, (got, want)
    finally:
        await asyncio.wait_for(t.disconnect(), BOUND)
