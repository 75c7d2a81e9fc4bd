"""Python reference baseline for docs/benchmarks.md.

The same workloads the Rust benches run, written the way the Python
reference gateway does them:

* codec: ``json.loads`` of every connector -> gateway corpus line, then a
  dispatch on ``type`` that builds event dataclasses (as the reference's
  ``_event_from_wire`` does; the passthrough body is base64-decoded), and
  ``json.dumps(frame) + "\\n"`` of every gateway -> connector ``outbound``
  frame (as the reference's ``_send`` does);
* ws: a loopback WebSocket request/response round trip with the
  ``websockets`` package, client and server in two processes, JSON encoded
  and decoded on both sides, a ~340-byte frame, sequential; median and p99.

Setup and run (from the workspace root):

    cargo run --release -p hermes-relay-core --example gen_corpus
    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install -r bench/python/requirements.txt
    target/bench-venv/bin/python bench/python/bench.py codec
    target/bench-venv/bin/python bench/python/bench.py ws

Codec figures are medians over 15 timed runs after one warm-up run, in
thread CPU time (``time.thread_time``, as the Rust summaries use) and wall
time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

CORPUS_DIR = os.environ.get("RELAY_BENCH_CORPUS", "target/bench-corpus")
ROUNDS = 15


# ---------------------------------------------------------------------------
# Event objects, as the reference builds them


@dataclass
class SessionSource:
    platform: str
    chat_id: str
    chat_type: str = "dm"
    chat_name: Optional[str] = None
    user_id: Optional[str] = None
    user_name: Optional[str] = None
    thread_id: Optional[str] = None
    chat_topic: Optional[str] = None
    scope_id: Optional[str] = None
    message_id: Optional[str] = None
    user_display_name: Optional[str] = None


@dataclass
class MessageEvent:
    text: str
    message_type: str
    source: SessionSource
    message_id: Optional[str] = None
    reply_to_message_id: Optional[str] = None
    media_urls: list = field(default_factory=list)
    buffer_id: Optional[str] = None


@dataclass
class OutboundResult:
    request_id: str
    success: bool
    message_id: Optional[str] = None
    thread_id: Optional[str] = None
    error: Optional[str] = None
    ambiguous: bool = False


@dataclass
class PassthroughForward:
    platform: str
    bot_id: str
    method: str
    path: str
    headers: list
    body: bytes
    buffer_id: Optional[str] = None


@dataclass
class Interrupt:
    session_key: str
    chat_id: str


@dataclass
class Descriptor:
    platform: str
    label: str
    max_message_length: int
    supports_edit: bool
    supported_ops: Optional[list]
    raw: dict


@dataclass
class IdleAck:
    pass


def _opt(v: Any) -> Optional[str]:
    if v is None:
        return None
    return str(v)


def _source_from_wire(s: dict) -> SessionSource:
    return SessionSource(
        platform=s.get("platform") or "relay",
        chat_id=str(s.get("chat_id") or ""),
        chat_type=s.get("chat_type") or "dm",
        chat_name=_opt(s.get("chat_name")),
        user_id=_opt(s.get("user_id")),
        user_name=_opt(s.get("user_name")),
        thread_id=_opt(s.get("thread_id")),
        chat_topic=_opt(s.get("chat_topic")),
        scope_id=_opt(s.get("scope_id") or s.get("guild_id")),
        message_id=_opt(s.get("message_id")),
        user_display_name=_opt(s.get("user_display_name")),
    )


def event_from_wire(frame: dict) -> Any:
    t = frame.get("type")
    if t == "inbound":
        e = frame["event"]
        return MessageEvent(
            text=e.get("text") or "",
            message_type=e.get("message_type") or "text",
            source=_source_from_wire(e.get("source") or {}),
            message_id=_opt(e.get("message_id")),
            reply_to_message_id=_opt(e.get("reply_to_message_id")),
            media_urls=list(e.get("media_urls") or []),
            buffer_id=_opt(frame.get("bufferId")) or None,
        )
    if t == "outbound_result":
        r = frame.get("result") or {}
        return OutboundResult(
            request_id=str(frame["requestId"]),
            success=bool(r.get("success")),
            message_id=_opt(r.get("message_id")),
            thread_id=_opt(r.get("thread_id")),
            error=_opt(r.get("error")),
            ambiguous=bool(r.get("ambiguous")),
        )
    if t == "passthrough_forward":
        f = frame["forward"]
        return PassthroughForward(
            platform=f.get("platform") or "",
            bot_id=f.get("botId") or "",
            method=f.get("method") or "",
            path=f.get("path") or "",
            headers=[(h[0], h[1]) for h in f.get("headers") or [] if len(h) == 2],
            body=base64.b64decode(f.get("bodyB64") or ""),
            buffer_id=_opt(frame.get("bufferId")) or None,
        )
    if t == "interrupt_inbound":
        return Interrupt(
            session_key=str(frame.get("session_key") or ""),
            chat_id=str(frame.get("chat_id") or ""),
        )
    if t == "descriptor":
        d = frame.get("descriptor") or {}
        return Descriptor(
            platform=d["platform"],
            label=d.get("label", ""),
            max_message_length=int(d.get("max_message_length", 0)),
            supports_edit=bool(d.get("supports_edit")),
            supported_ops=d.get("supported_ops"),
            raw=d,
        )
    if t == "going_idle_ack":
        return IdleAck()
    raise ValueError(f"unknown frame type {t!r}")


# ---------------------------------------------------------------------------
# Codec


def _timed(fn, rounds: int = ROUNDS):
    fn()  # warm-up
    cpu, wall = [], []
    for _ in range(rounds):
        c0, w0 = time.thread_time(), time.perf_counter()
        fn()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall), min(wall), max(wall)


def codec() -> None:
    with open(os.path.join(CORPUS_DIR, "c2g.ndjson"), "rb") as f:
        c2g = [line.decode("utf-8") for line in f.read().splitlines() if line.strip()]
    with open(os.path.join(CORPUS_DIR, "g2c.ndjson"), "rb") as f:
        g2c_raw = f.read()
    g2c = [json.loads(line) for line in g2c_raw.splitlines() if line.strip()]
    c2g_bytes = sum(len(line.encode("utf-8")) + 1 for line in c2g)

    def decode():
        out = None
        for line in c2g:
            out = event_from_wire(json.loads(line))
        return out

    def loads_only():
        for line in c2g:
            json.loads(line)

    def encode():
        n = 0
        for frame in g2c:
            n += len(json.dumps(frame) + "\n")
        return n

    enc_bytes = sum(len((json.dumps(fr) + "\n").encode("utf-8")) for fr in g2c)
    n_in, n_out = len(c2g), len(g2c)
    print(f"python {sys.version.split()[0]}; corpus: {n_in} c2g frames ({c2g_bytes / 1e6:.2f} MB), "
          f"{n_out} g2c frames; median of {ROUNDS} runs")
    print(f"{'workload':<40} {'cpu frames/s':>13} {'MB/s':>7} {'wall frames/s':>14} {'wall range k/s':>16}")
    for name, fn, n, nbytes in [
        ("decode: json.loads + dataclasses", decode, n_in, c2g_bytes),
        ("decode: json.loads only", loads_only, n_in, c2g_bytes),
        ("encode: json.dumps + newline", encode, n_out, enc_bytes),
    ]:
        cpu, wall, lo, hi = _timed(fn)
        print(f"{name:<40} {n / cpu:>13.0f} {nbytes / cpu / 1e6:>7.0f} {n / wall:>14.0f} "
              f"{n / hi / 1e3:>7.0f}-{n / lo / 1e3:.0f}")
    print(f"encode output: {enc_bytes} bytes (json.dumps defaults: ASCII escapes, ', ' separators)")


# ---------------------------------------------------------------------------
# WebSocket round trip

FRAME = {
    "type": "outbound",
    "requestId": "9f1c2e0d4b5a46f7a8b9c0d1e2f3a4b5",
    "action": {
        "op": "send",
        "chat_id": "900000000000696872",
        "content": "Deploy finished: 3 services updated, 0 failed. See #ops.",
        "reply_to": None,
        "metadata": {"scope_id": "guild-4", "user_id": "700000000000104729"},
    },
    "platform": "discord",
    "botId": "1180000000000000000",
}


async def _server(compression: Optional[str]) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws):
        async for msg in ws:
            req = json.loads(msg)
            reply = {
                "type": "outbound_result",
                "requestId": req["requestId"],
                "result": {"success": True, "message_id": "1293560361966395976"},
            }
            await ws.send(json.dumps(reply))

    async with serve(handler, "127.0.0.1", 0, compression=compression) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def _client(port: int, n: int, compression: Optional[str]):
    from websockets.asyncio.client import connect

    rtts = []
    async with connect(f"ws://127.0.0.1:{port}", compression=compression) as ws:
        for i in range(n + 200):
            frame = dict(FRAME)
            frame["requestId"] = f"{i:032x}"
            t0 = time.perf_counter()
            await ws.send(json.dumps(frame))
            reply = json.loads(await ws.recv())
            dt = time.perf_counter() - t0
            assert reply["requestId"] == frame["requestId"]
            if i >= 200:
                rtts.append(dt)
    return rtts


def ws(n: int = 3000) -> None:
    size = len(json.dumps(FRAME))
    print(f"websockets; {size}-byte request frame, {n} sequential round trips after 200 warm-up")
    print(f"{'variant':<28} {'median us':>10} {'p99 us':>8} {'msg/s':>8} {'client cpu us/rt':>17}")
    for label, compression in [("no compression", None), ("permessage-deflate", "deflate")]:
        server = subprocess.Popen(
            [sys.executable, __file__, "server", compression or "none"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            port = int(server.stdout.readline())
            c0 = time.process_time()
            w0 = time.perf_counter()
            rtts = asyncio.run(_client(port, n, compression))
            wall = time.perf_counter() - w0
            cpu = time.process_time() - c0
        finally:
            server.stdin.close()
            server.wait(timeout=10)
        rtts.sort()
        med = statistics.median(rtts)
        p99 = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
        total = n + 200
        print(f"{label:<28} {med * 1e6:>10.0f} {p99 * 1e6:>8.0f} {1 / med:>8.0f} "
              f"{cpu / total * 1e6:>17.0f}   (wall {total / wall:.0f} rt/s)")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "server":
        mode = sys.argv[2] if len(sys.argv) > 2 else "none"
        asyncio.run(_server(None if mode == "none" else mode))
    elif what == "codec":
        codec()
    elif what == "ws":
        ws()
    else:
        codec()
        ws()


if __name__ == "__main__":
    main()
