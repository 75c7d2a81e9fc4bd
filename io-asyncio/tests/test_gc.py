"""Transports and links are garbage once nothing refers to them.

The ``Link`` holds the transport's callbacks (bound methods) and the
transport holds the ``Link``: a reference cycle that only Python's cyclic
collector can free, and only when the ``Link`` takes part in it. Each test
drops every reference, runs ``gc.collect()`` and checks with ``weakref``
that the objects are gone.
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
import weakref

import hermes_relay as hr
from hermes_relay import _core
from hermes_relay._stream import Stream

from conftest import run
from test_connector import BOUND, started

EDIT = {"op": "edit", "chat_id": "c1", "message_id": "m1", "content": "x", "finalize": False}


def streams():
    return [o for o in gc.get_objects() if type(o) is Stream]


async def test_disconnected_transport_is_collected(connector):
    t, _, _ = await started(connector)
    assert (await asyncio.wait_for(t.send_outbound(dict(EDIT)), BOUND))["success"] is True
    aio = weakref.ref(t._stream.transport)
    await t.disconnect()
    # The stream's connection_lost and the last uncork run on later turns.
    for _ in range(5):
        await asyncio.sleep(0)
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is None
    assert aio() is None
    assert streams() == []


def test_transport_dropped_open_is_collected_and_its_socket_reported(connector):
    """Dropped while serving, with a request in flight, its loop then closed:
    the socket is closed by asyncio's transport as it is collected, which
    reports it with a ResourceWarning ("unclosed transport")."""
    refs = {}

    async def main():
        t, _, _ = await started(connector)
        refs["t"] = weakref.ref(t)
        refs["aio"] = weakref.ref(t._stream.transport)
        task = asyncio.get_running_loop().create_task(t.send_outbound(dict(EDIT)))
        refs["task"] = weakref.ref(task)
        await asyncio.sleep(0)
        assert t._link.pending_requests == 1

    # As a program ends: the request's task is cancelled, the loop closed.
    run(main())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert refs["t"]() is None
    assert refs["aio"]() is None
    assert refs["task"]() is None
    messages = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    # The warning held the socket's transport (its source) until now.
    del caught
    gc.collect()
    assert streams() == []
    assert len([m for m in messages if m.startswith("unclosed transport")]) == 1, messages


class Owner:
    """Holds a hand-made link whose callbacks are its own bound methods."""

    def __init__(self):
        config = hr.Config("ws://127.0.0.1:9/", [("telegram", "tg")], gateway_id="gw", secret="s")
        self.link = _core.Link(config, 7, 1_800_000_000, self.arm, self.defer,
                               self.build, self.build)

    def arm(self, delay):
        pass

    def defer(self):
        return True

    def build(self, *args):
        return args


def test_hand_made_link_in_a_cycle_is_collected():
    owner = Owner()
    evs = owner.link.start()
    assert [e[0] for e in evs][-1] == "dial"
    ref = weakref.ref(owner)
    del owner, evs
    gc.collect()
    assert ref() is None


def test_link_holding_its_writer_is_collected():
    """The stream's writer refers back to the link's owner."""
    owner = Owner()
    evs = owner.link.start()
    dial_no = [e for e in evs if e[0] == "dial"][0][1]

    class Writer:
        def __init__(self, owner):
            self.owner = owner
            self.data = []

        def write(self, data):
            self.data.append(data)

    writer = Writer(owner)
    assert owner.link.opened(dial_no, writer) is True
    # The upgrade request went out through the writer.
    assert b"".join(writer.data).startswith(b"GET /")
    ref = weakref.ref(owner)
    wref = weakref.ref(writer)
    del owner, evs, writer
    gc.collect()
    assert ref() is None
    assert wref() is None


class Marker:
    pass


def test_sans_io_events_holding_themselves_are_collected():
    """An event object whose dict (the application may keep things in it)
    refers back to the event."""
    from test_core import serving

    conn = serving()
    rid = conn.send(10, {"op": "send", "chat_id": "c", "content": "hi"})
    conn.drain()
    conn.handle_message(11, json.dumps({"type": "outbound_result", "requestId": rid,
                                        "result": {"success": True}}) + "\n")
    (resp,) = conn.drain()[0]
    assert type(resp) is _core.Response
    marker = Marker()
    resp.result["marker"] = marker
    resp.result["event"] = resp
    ref = weakref.ref(marker)
    del resp, marker
    gc.collect()
    assert ref() is None
