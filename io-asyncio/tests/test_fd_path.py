"""The two ways a stream is driven: a plain ``ws://`` stream on a loop with
``add_reader`` is read and written by the link itself (``FdTransport``);
TLS, a loop without ``add_reader`` (the Proactor) or ``_FD_PATH = False``
use asyncio's transport. Both must behave the same: the tests that compare
them run on each (``path``)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import shutil
import socket
import ssl
import struct
import subprocess
import warnings
import weakref

import pytest

from hermes_relay import _core
from hermes_relay import transport as transport_module
from hermes_relay._stream import Stream
from conftest import ON_UVLOOP, needs_asyncio_loop, run
from miniws import MiniConnector, Peer
from test_connector import started as connector_started
from test_turns import SelectCounter, acks, answer_outbounds, handshake_only, inbound, make

BOUND = 20.0
HAS_FD = hasattr(_core, "FdTransport")


@pytest.fixture(params=["fd", "asyncio"])
def path(request, monkeypatch):
    if request.param == "fd" and not HAS_FD:
        pytest.skip("no FdTransport on this platform")
    monkeypatch.setattr(transport_module, "_FD_PATH", request.param == "fd")
    return request.param


def is_fd(t):
    return HAS_FD and isinstance(t._stream.transport, _core.FdTransport)


async def started(mc, **kw):
    t = make(mc.url, **kw)
    await asyncio.wait_for(t.connect(), BOUND)
    await asyncio.wait_for(t.handshake(), BOUND)
    return t


async def test_each_path_serves_round_trips(path):
    async def script(peer):
        await handshake_only(peer)
        for _ in range(3):
            await answer_outbounds(peer, 1)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = await started(mc)
        assert is_fd(t) == (path == "fd")
        for i in range(3):
            r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": f"r{i}"}), BOUND)
            assert r["message_id"] == f"r{i}", r
        await asyncio.wait_for(t.disconnect(), BOUND)
        assert mc.peers[0].close_code == 1000


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop without ``add_reader``, as the Proactor answers it."""

    def add_reader(self, *args, **kw):
        raise NotImplementedError

    def remove_reader(self, *args, **kw):
        raise NotImplementedError


def test_a_loop_without_add_reader_falls_back_to_asyncios_transport():
    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, 1)
        await peer.idle()

    async def main():
        async with MiniConnector(script) as mc:
            t = await started(mc)
            assert not is_fd(t)
            assert isinstance(t._stream.transport, asyncio.Transport)
            r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "p"}), BOUND)
            assert r["message_id"] == "p", r
            await asyncio.wait_for(t.disconnect(), BOUND)

    loop = NoReaderLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


async def test_a_platform_without_the_links_sockets_falls_back(monkeypatch):
    class Unsupported:
        def __init__(self, *args):
            raise NotImplementedError("not on this platform")

    monkeypatch.setattr(_core, "FdTransport", Unsupported)

    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, 1)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = await started(mc)
        # The loop's own transport (uvloop's is not an asyncio.Transport).
        assert not is_fd(t) and t._stream.transport.get_extra_info("socket") is not None
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "u"}), BOUND)
        assert r["message_id"] == "u", r
        await asyncio.wait_for(t.disconnect(), BOUND)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a certificate")
async def test_tls_uses_asyncios_transport(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, 1)
        await peer.idle()

    mc = MiniConnector(script)
    mc.server = await asyncio.start_server(mc._serve, "127.0.0.1", 0, ssl=server_ctx)
    mc.url = f"wss://127.0.0.1:{mc.server.sockets[0].getsockname()[1]}"
    try:
        t = await started(mc, ssl=client_ctx)
        assert not is_fd(t)
        assert t._stream.transport.get_extra_info("ssl_object") is not None
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "tls"}), BOUND)
        assert r["message_id"] == "tls", r
        await asyncio.wait_for(t.disconnect(), BOUND)
    finally:
        await mc.__aexit__(None, None, None)


async def test_a_slow_reader_gets_every_frame_in_order(path):
    """The peer stops reading: writes would block, the rest is kept (senders
    wait above the high-water mark), and once it reads again everything
    arrives, in order, and the senders resume."""
    n, size = 16, 256 * 1024
    gate = asyncio.Event()

    async def script(peer):
        await handshake_only(peer)
        await gate.wait()
        await answer_outbounds(peer, n)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = await started(mc, outbound_timeout_s=30.0)
        sends = [asyncio.ensure_future(t.send_outbound(
            {"op": "send", "chat_id": "c", "content": f"{i:02d}" + "x" * size})) for i in range(n)]
        assert await _until(lambda: t._paused_writing)
        stream = t._stream
        held = stream.transport.get_write_buffer_size()
        assert held > 64 * 1024, held
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*sends), BOUND)
        assert [r["message_id"][:2] for r in results] == [f"{i:02d}" for i in range(n)]
        got = [f["action"]["content"] for f in mc.peers[0].lines if f.get("type") == "outbound"]
        assert got == [f"{i:02d}" + "x" * size for i in range(n)]
        assert not t._paused_writing
        assert stream.transport.get_write_buffer_size() == 0
        await asyncio.wait_for(t.disconnect(), BOUND)


async def _until(pred, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred() and loop.time() < deadline:
        await asyncio.sleep(0.01)
    return pred()


def _lost_reasons(caplog):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("relay socket closed")]


@pytest.mark.parametrize("how", ["eof", "reset"])
async def test_the_stream_ending_mid_frame_ends_the_socket(path, how, caplog):
    caplog.set_level(logging.INFO, logger="hermes_relay")
    got = asyncio.Event()

    async def script(peer):
        await handshake_only(peer)
        await peer.recv_type("outbound")
        got.set()
        # A text frame announcing 100 bytes, of which 10 arrive.
        peer.writer.write(struct.pack("!BB", 0x81, 100) + b"0123456789")
        await peer.writer.drain()
        await asyncio.sleep(0.05)
        if how == "reset":
            sock = peer.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.writer.transport.abort()
        else:
            peer.writer.close()

    async with MiniConnector(script) as mc:
        t = await started(mc)
        stream = t._stream
        sock = stream.transport.get_extra_info("socket")
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "cut"}), BOUND)
        assert got.is_set()
        # The request cannot know whether it was carried out.
        assert r["success"] is False and r.get("ambiguous") is True, r
        assert await _until(lambda: t.state == "closed")
        assert t._stream is None
        assert stream.transport.is_closing()
        assert await _until(lambda: sock.fileno() == -1), "the socket was not closed"
        reasons = _lost_reasons(caplog)
        assert len(reasons) == 1, reasons
        if how == "reset":
            assert "reset by peer" in reasons[0], reasons
        else:
            assert "reason=connection closed" in reasons[0], reasons
        await asyncio.wait_for(t.disconnect(), BOUND)


def _streams():
    return [o for o in gc.get_objects() if type(o) is Stream]


def test_a_transport_dropped_open_is_collected(path, connector):
    if path == "asyncio" and ON_UVLOOP:
        pytest.skip("counts asyncio's transport's ResourceWarning, which uvloop's transport does not give")
    """Dropped while serving, its loop then closed: transport, stream and
    socket are freed, the socket closed and reported once."""
    refs = {}
    socks = []

    async def main():
        t, _, _ = await connector_started(connector)
        assert is_fd(t) == (path == "fd")
        refs["t"] = weakref.ref(t)
        refs["aio"] = weakref.ref(t._stream.transport)
        socks.append(t._stream.transport.get_extra_info("socket"))
        assert socks[0].fileno() >= 0

    run(main())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert refs["t"]() is None
    assert refs["aio"]() is None
    messages = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    del caught
    gc.collect()
    assert _streams() == []
    assert len([m for m in messages if m.startswith("unclosed transport")]) == 1, messages
    # The socket object was closed with the transport.
    assert socks[0].fileno() == -1


@pytest.mark.skipif(not HAS_FD, reason="no FdTransport on this platform")
async def test_what_a_read_resumes_goes_out_in_one_send():
    """On the link's own socket, the follow-ups two tasks send when one read
    resumes them go out in one ``send``."""
    ready = asyncio.Event()
    marks = {}

    async def script(peer):
        await handshake_only(peer)
        first = await peer.recv_type("outbound")
        second = await peer.recv_type("outbound")
        await asyncio.sleep(0.05)
        marks["before"] = peer_transport["t"].sends
        peer.writer.write(b"".join(
            peer.frame(0x1, (__import__("json").dumps(
                {"type": "outbound_result", "requestId": f["requestId"],
                 "result": {"success": True, "message_id": m}}) + "\n").encode())
            for f, m in ((first, "m1"), (second, "m2"))))
        await peer.writer.drain()
        await answer_outbounds(peer, 2)
        ready.set()
        await peer.idle()

    peer_transport = {}

    async def caller(t, name):
        r = await t.send_outbound({"op": "send", "chat_id": "c", "content": name})
        assert r["success"], r
        r = await t.send_outbound({"op": "send", "chat_id": "c", "content": name + "-follow"})
        assert r["success"], r

    async with MiniConnector(script) as mc:
        t = await started(mc)
        assert is_fd(t)
        peer_transport["t"] = t._stream.transport
        await asyncio.wait_for(asyncio.gather(caller(t, "a"), caller(t, "b")), BOUND)
        # The one send that ended the read carried both follow-ups.
        assert t._stream.transport.sends - marks["before"] == 1
        await asyncio.wait_for(t.disconnect(), BOUND)


async def gather_sends(t, n):
    """How many sends of the link's socket carried ``n`` requests made
    together (``gather``), once the connection is quiet; every result is
    checked against its request."""
    ft = t._stream.transport
    assert is_fd(t)
    await asyncio.sleep(0.05)
    before = ft.sends
    results = await asyncio.wait_for(asyncio.gather(*(
        t.send_outbound({"op": "send", "chat_id": "c", "content": f"s{i}"}) for i in range(n))), BOUND)
    assert [r["message_id"] for r in results] == [f"s{i}" for i in range(n)]
    return ft.sends - before


@pytest.mark.skipif(not ON_UVLOOP, reason="uvloop's behaviour: asyncio's is tested below")
@pytest.mark.skipif(not HAS_FD, reason="no FdTransport on this platform")
async def test_on_uvloop_a_gather_goes_out_in_two_sends():
    """uvloop hides its ready queue: the gather's first request goes out at
    once, the others together at the end of the turn."""
    n = 8

    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, n)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = await started(mc)
        assert await gather_sends(t, n) == 2
        await asyncio.wait_for(t.disconnect(), BOUND)


@needs_asyncio_loop("asyncio's ready queue and its selector")
@pytest.mark.skipif(not HAS_FD, reason="no FdTransport on this platform")
async def test_on_the_links_socket_a_gather_goes_out_in_one_send_and_a_lone_request_at_once():
    n = 8

    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, n)
        for _ in range(3):
            await answer_outbounds(peer, 1)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = await started(mc)
        ft = t._stream.transport
        assert await gather_sends(t, n) == 1
        seen = []
        with SelectCounter(asyncio.get_running_loop()) as turns:
            real = turns.selector.select

            def select(timeout=None):
                seen.append(ft.sends)
                return real(timeout)

            turns.selector.select = select
            for i in range(3):
                await asyncio.sleep(0.05)
                before, at = ft.sends, len(seen)
                r = await t.send_outbound({"op": "send", "chat_id": "c", "content": f"l{i}"})
                assert r["message_id"] == f"l{i}"
                # Sent before the loop waited again.
                assert seen[at] == before + 1, (seen[at:], before)
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_name_with_several_addresses_reaches_the_one_listening(path, monkeypatch):
    """A name that resolves to an address that refuses and to one that
    listens: the dial tries them as ``create_connection`` does (staggered)
    and keeps the one that answers."""
    async def script(peer):
        await handshake_only(peer)
        await answer_outbounds(peer, 1)
        await peer.idle()

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    asked = []

    async def getaddrinfo(host, port, **kw):
        asked.append(host)
        if host != "relay.test":
            return await real(host, port, **kw)
        tcp = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
        return [(*tcp, ("127.0.0.1", refused_port)), (*tcp, ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    async with MiniConnector(script) as mc:
        t = make(mc.url.replace("127.0.0.1", "relay.test"))
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert "relay.test" in asked
        assert is_fd(t) == (path == "fd")
        assert t._stream.transport.get_extra_info("peername")[1] == int(mc.url.rsplit(":", 1)[1])
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c", "content": "two"}), BOUND)
        assert r["message_id"] == "two", r
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_dial_alternates_address_families(path, monkeypatch):
    """A name that resolves to two IPv6 then two IPv4 addresses: the dial
    (on either path) tries one of each family in turn (v6, v4, v6, v4), as
    ``create_connection`` does with a happy-eyeballs delay, so a host whose
    IPv6 addresses all hang reaches IPv4 after one delay, not after one
    delay per IPv6 address."""
    async def script(peer):
        await handshake_only(peer)
        await peer.idle()

    loop = asyncio.get_running_loop()
    real_getaddrinfo, real_connect = loop.getaddrinfo, loop.sock_connect
    tried = []

    async def sock_connect(sock, address):
        tried.append((sock.family, address[0], address[1]))
        if sock.family == socket.AF_INET6 or address[1] in (1, 2):
            raise ConnectionRefusedError(111, "refused (test)")
        return await real_connect(sock, address)

    async with MiniConnector(script) as mc:
        port = int(mc.url.rsplit(":", 1)[1])

        async def getaddrinfo(host, port_, **kw):
            if host != "relay.test":
                return await real_getaddrinfo(host, port_, **kw)
            v6 = (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
            v4 = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
            return [(*v6, ("::1", 3, 0, 0)), (*v6, ("::1", 4, 0, 0)),
                    (*v4, ("127.0.0.1", 1)), (*v4, ("127.0.0.1", port))]

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(loop, "sock_connect", sock_connect)
        t = make(mc.url.replace("127.0.0.1", "relay.test"))
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert [(f, p) for f, _, p in tried] == [
            (socket.AF_INET6, 3), (socket.AF_INET, 1), (socket.AF_INET6, 4), (socket.AF_INET, port)
        ], tried
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_a_peer_that_never_reads_fails_the_stream_past_the_backlog_cap(monkeypatch, caplog):
    """The link's own socket keeps what the kernel does not take, up to
    ``WRITE_MAX`` (16 MiB): past it the peer is taken as not reading, the
    stream fails and every request on it ends, instead of the backlog
    growing without bound or the senders waiting forever."""
    if not HAS_FD:
        pytest.skip("no FdTransport on this platform")
    monkeypatch.setattr(transport_module, "_FD_PATH", True)
    caplog.set_level(logging.INFO, logger="hermes_relay")
    stop = asyncio.Event()

    async def script(peer):
        await handshake_only(peer)
        await stop.wait()  # never reads again

    # 40 MiB in one loop turn: past the cap and past what the kernel's
    # socket buffers on both ends hold.
    n, size = 160, 256 * 1024
    async with MiniConnector(script) as mc:
        t = await started(mc, outbound_timeout_s=60.0, reconnect=False)
        stream = t._stream
        assert is_fd(t)
        sends = [asyncio.ensure_future(t.send_outbound(
            {"op": "send", "chat_id": "c", "content": f"{i:03d}" + "x" * size})) for i in range(n)]
        results = await asyncio.wait_for(asyncio.gather(*sends), BOUND)
        assert all(r["success"] is False for r in results), [r for r in results if r["success"]][:1]
        assert any(r.get("ambiguous") for r in results), results[0]
        reasons = _lost_reasons(caplog)
        assert len(reasons) == 1 and "not reading" in reasons[0], reasons
        assert stream.transport.is_closing()
        assert stream.transport.get_write_buffer_size() == 0
        stop.set()
        await asyncio.wait_for(t.disconnect(), BOUND)


async def test_frames_of_every_size_and_split_arrive_whole_and_in_order(path):
    """Frames the peer writes several to a write, and frames dribbled a few
    bytes per write (a header cut in two, payloads larger than the framing's
    read buffer): each inbound message reaches the handler whole, in order."""
    sizes = [1, 125, 126, 2047, 2048, 2049, 4096, 16 * 1024 + 3, 65535, 65536, 300 * 1024]
    texts = [f"{i:02d}" + "y" * n for i, n in enumerate(sizes)]
    seen = []

    async def handler(event):
        seen.append(event.text)

    def frame(i, text):
        return Peer.frame(0x1, (json.dumps(inbound(text, f"b{i}")) + "\n").encode())

    async def script(peer):
        await handshake_only(peer)
        # The small ones together in one write.
        peer.writer.write(b"".join(frame(i, t) for i, t in enumerate(texts[:6])))
        await peer.writer.drain()
        # The large ones a few bytes at a time, then in uneven pieces.
        for i, t in enumerate(texts[6:], start=6):
            data = frame(i, t)
            step = 3 if i == 6 else 7919
            for at in range(0, len(data), step):
                peer.writer.write(data[at:at + step])
                await peer.writer.drain()
                if step == 3:
                    await asyncio.sleep(0)
        await peer.idle()

    async with MiniConnector(script) as mc:
        t = make(mc.url)
        t.set_inbound_handler(handler)
        await asyncio.wait_for(t.connect(), BOUND)
        await asyncio.wait_for(t.handshake(), BOUND)
        assert await _until(lambda: len(seen) == len(texts))
        assert [len(s) for s in seen] == [len(s) for s in texts]
        assert seen == texts
        assert await _until(lambda: acks(mc.peers[0]) == [f"b{i}" for i in range(len(texts))])
        await asyncio.wait_for(t.disconnect(), BOUND)
