"""hermes_relay._core driven by hand, with no network and a fake clock."""

from __future__ import annotations

import json

import pytest

import hermes_relay as hr
from hermes_relay import _core


def config(**kw):
    kw.setdefault("gateway_id", "gw")
    kw.setdefault("secret", "s3cret")
    return hr.Config("http://127.0.0.1:9/", [("telegram", "tg"), ("discord", "dc")], **kw)


def kinds(outs):
    return [type(o).__name__ for o in outs]


def serving(now=0):
    conn = hr.Connection(config(), 7, now, 1_800_000_000)
    outs, _ = conn.drain()
    assert kinds(outs) == ["Dial"]
    conn.handle_opened(now + 1)
    outs, deadline = conn.drain()
    hellos = [json.loads(o.text) for o in outs if type(o) is _core.Transmit]
    assert [h["platform"] for h in hellos] == ["telegram", "discord"]
    desc = {"contract_version": 1, "platform": "telegram", "label": "T", "max_message_length": 0,
            "supports_draft_streaming": False, "supports_edit": True, "supports_threads": False,
            "markdown_dialect": "plain", "len_unit": "chars"}
    conn.handle_message(now + 2, json.dumps({"type": "descriptor", "descriptor": desc}) + "\n")
    outs, _ = conn.drain()
    changes = [(o.from_state, o.to_state) for o in outs if type(o) is _core.StateChanged]
    assert changes == [("handshaking", "serving")]
    assert conn.state == "serving"
    return conn


def test_config_is_validated_by_the_core():
    with pytest.raises(hr.ConfigError):
        hr.Config("ftp://nowhere", [("telegram", "x")])
    with pytest.raises(hr.ConfigError):
        hr.Config("ws://h", [("telegram", "a"), ("telegram", "b")])
    with pytest.raises(hr.ConfigError):
        hr.Config("ws://h", [("telegram", "a")], backoff_initial_s=5, backoff_max_s=1)
    with pytest.raises(hr.ConfigError):
        hr.Config("ws://h", [("telegram", "a")], request_timeout_s=0)
    assert issubclass(hr.ConfigError, hr.RelayError)
    assert config().dial_url == "ws://127.0.0.1:9/relay"


def test_first_output_is_a_dial_with_a_fresh_token():
    conn = hr.Connection(config(), 1, 0, 1_800_000_000)
    outs, deadline = conn.drain()
    (dial,) = outs
    assert type(dial) is _core.Dial
    assert dial.url == "ws://127.0.0.1:9/relay"
    headers = dict(dial.headers)
    assert headers["Authorization"].startswith("Bearer ")
    assert conn.state == "dialing"


def test_descriptor_is_normalised_and_kept_per_platform():
    conn = serving()
    d = conn.descriptor(None)
    assert d["platform"] == "telegram" and d["max_message_length"] == 4096
    assert conn.descriptor("discord") is None


def test_send_and_results():
    conn = serving()
    rid = conn.send(10, {"op": "send", "chat_id": "c", "content": "hi", "reply_to": None, "metadata": {}})
    (frame,) = conn.drain()[0]
    sent = json.loads(frame.text)
    assert sent["type"] == "outbound" and sent["requestId"] == rid
    assert sent["action"]["content"] == "hi"
    conn.handle_message(11, json.dumps({"type": "outbound_result", "requestId": rid, "result": {"success": True, "message_id": "m1"}}) + "\n")
    (resp,) = conn.drain()[0]
    assert type(resp) is _core.Response and resp.result == {"success": True, "message_id": "m1"}
    rid2 = conn.send(12, {"op": "send", "chat_id": "c", "content": "again"})
    conn.drain()
    conn.handle_message(13, json.dumps({"type": "outbound_result", "requestId": rid2, "result": None}) + "\n")
    (failed,) = conn.drain()[0]
    assert type(failed) is _core.RequestFailed
    assert failed.result == {"success": False, "error": "malformed result"}
    assert failed.ambiguous is False


def test_request_deadline_is_the_cores():
    conn = serving()
    rid = conn.send(100, {"op": "send", "chat_id": "c", "content": "hi"})
    _, deadline = conn.drain()
    assert deadline is not None and deadline <= 100 + 30_000
    conn.handle_timeout(100 + 30_000)
    outs, _ = conn.drain()
    failed = [o for o in outs if type(o) is _core.RequestFailed]
    assert [f.request_id for f in failed] == [rid]
    assert failed[0].result == {"success": False, "error": "relay outbound timed out", "ambiguous": True}


def test_a_bad_frame_is_skipped_not_fatal():
    conn = serving()
    conn.handle_message(20, "[1]\n")
    outs, _ = conn.drain()
    assert kinds(outs) == ["FrameRejected"]
    conn.handle_message(21, b"\xff\xfe\n")
    assert kinds(conn.drain()[0]) == ["FrameRejected"]
    assert conn.state == "serving"


def test_typed_refusals():
    conn = hr.Connection(config(), 1, 0, 1_800_000_000)
    conn.drain()
    with pytest.raises(hr.NotConnectedError):
        conn.send(1, {"op": "send", "chat_id": "c", "content": "x"})
    with pytest.raises(hr.InvalidStateError):
        conn.go_idle(1)
    with pytest.raises(hr.UnknownDeliveryError):
        conn.ack(1, "buf-nope")
    s = serving()
    with pytest.raises(hr.OpNotSupportedError):
        s.send(5, {"op": "thread_create", "chat_id": "c", "thread_name": "t"})
    with pytest.raises(hr.InvalidActionError):
        s.send(5, "not an action")
    assert issubclass(hr.NotConnectedError, hr.SendRefusedError)


def test_buffered_inbound_is_acked_only_after_ack():
    conn = serving()
    ev = {"text": "hi", "source": {"platform": "telegram", "chat_id": "c"}}
    line = json.dumps({"type": "inbound", "event": ev, "bufferId": "b-1"}) + "\n"
    conn.handle_message(30, line)
    (inbound,) = conn.drain()[0]
    assert type(inbound) is _core.Inbound and inbound.buffer_id == "b-1"
    assert inbound.event["text"] == "hi" and inbound.event["source"]["chat_id"] == "c"
    # Redelivered before the ack: not handed over twice.
    conn.handle_message(31, line)
    assert kinds(conn.drain()[0]) == []
    conn.ack(32, "b-1")
    (ack,) = conn.drain()[0]
    assert json.loads(ack.text) == {"type": "inbound_ack", "bufferId": "b-1"}
    with pytest.raises(hr.AlreadyAckedError):
        conn.ack(33, "b-1")


def test_shutdown_is_terminal():
    conn = serving()
    rid = conn.send(40, {"op": "send", "chat_id": "c", "content": "x"})
    conn.drain()
    conn.shutdown(41, 0.0)
    outs, deadline = conn.drain()
    assert deadline is None
    assert any(type(o) is _core.Close and o.code == 1000 for o in outs)
    failed = [o for o in outs if type(o) is _core.RequestFailed]
    assert failed[0].request_id == rid and failed[0].ambiguous
    assert conn.is_terminal and conn.state == "closed"
    conn.handle_timeout(10_000_000)
    assert conn.drain() == ([], None)


def test_shutdown_drains_requests_in_flight():
    conn = serving()
    rid = conn.send(40, {"op": "send", "chat_id": "c", "content": "x"})
    conn.drain()
    conn.shutdown(41, 2.0)
    outs, deadline = conn.drain()
    assert conn.state == "closing" and not any(type(o) is _core.Close for o in outs)
    assert deadline == 41 + 2000, "the drain deadline is the core's timer"
    with pytest.raises(hr.SendRefusedError):
        conn.send(42, {"op": "send", "chat_id": "c", "content": "late"})
    result = {"type": "outbound_result", "requestId": rid, "result": {"success": True, "message_id": "m-1"}}
    conn.handle_message(500, json.dumps(result) + "\n")
    outs, deadline = conn.drain()
    (resp,) = [o for o in outs if type(o) is _core.Response]
    assert resp.request_id == rid
    assert any(type(o) is _core.Close and o.code == 1000 for o in outs)
    assert conn.state == "closed" and deadline is None


def test_an_unanswered_drain_ends_at_its_deadline():
    conn = serving()
    rid = conn.send(40, {"op": "send", "chat_id": "c", "content": "x"})
    conn.drain()
    conn.shutdown(41, 1.0)
    _, deadline = conn.drain()
    conn.handle_timeout(deadline)
    outs, _ = conn.drain()
    (failed,) = [o for o in outs if type(o) is _core.RequestFailed]
    assert failed.request_id == rid and failed.ambiguous and failed.error == "relay transport closed"
    assert conn.state == "closed"
