"""Benchmark: hermes_relay's Rust-backed transport against the reference's
pure-Python transport (hermes-agent==0.19.0), both against one `relay
connector` on 127.0.0.1.

    RELAY_BIN=target/release/relay python io-asyncio/bench/bench.py [--quick]

Three workloads, each run alternately for both transports, several rounds:

* round trip: sequential `send` ops, one in flight (latency);
* streaming: `edit` ops with up to 32 in flight (throughput of a streamed
  reply);
* drain: inbound messages the connector buffered while the gateway was
  dormant, delivered (and acked) after it re-dials; timed from the re-dial
  to the last delivery, handshake included. The reference has no wake(), so
  the bench parks its dormant re-dial and calls its own dial routine.

Reported per workload: wall-clock rate, process CPU per message, and the
ratio ours/reference. Not a test: it asserts only that every message made it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from hermes_relay import WebSocketRelayTransport as Ours
from gateway.relay.ws_transport import WebSocketRelayTransport as Reference

GW, SECRET = "bench-gw", "bench-secret"


def start_connector():
    binary = os.environ.get("RELAY_BIN")
    if not binary:
        sys.exit("set RELAY_BIN to a built `relay` binary")
    cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"gateways": {GW: [SECRET]}}, cfg)
    cfg.close()
    proc = subprocess.Popen(
        [binary, "connector", "--listen", "127.0.0.1:0", "--config", cfg.name],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        m = re.search(r"relay URL:\s+(ws://127\.0\.0\.1:\d+)", proc.stdout.readline())
        if m:
            return proc, m.group(1)
    proc.kill()
    sys.exit("relay connector did not start")


def admin(http, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(http + path, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def make(cls, url, **kw):
    return cls(url, "telegram", "bench-bot", gateway_id=GW, upgrade_secret=SECRET,
               connect_timeout_s=10, outbound_timeout_s=30, **kw)


class Counter:
    def __init__(self):
        self.n = 0
        self.first = None
        self.last = None
        self.done = asyncio.Event()
        self.target = 0

    async def __call__(self, event):
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        self.n += 1
        if self.n >= self.target:
            self.done.set()


async def session(cls, url, http, n_rt, n_stream, n_drain):
    counter = Counter()
    # No dormant re-dial: the drain below starts when the bench says so.
    t = make(cls, url, reconnect=True, dormant_redial_s=None) if cls is Ours else make(cls, url, reconnect=True)
    t.set_inbound_handler(counter)
    await asyncio.wait_for(t.connect(), 20)
    await asyncio.wait_for(t.handshake(), 20)
    out = {}

    # round trip
    c0, w0 = time.process_time(), time.perf_counter()
    lat = []
    for i in range(n_rt):
        s = time.perf_counter()
        r = await asyncio.wait_for(t.send_outbound({"op": "send", "chat_id": "c1", "content": f"m{i}", "reply_to": None, "metadata": {}}), 30)
        lat.append(time.perf_counter() - s)
        assert r and r.get("success"), r
    w, c = time.perf_counter() - w0, time.process_time() - c0
    out["rt"] = {"rate": n_rt / w, "cpu_us": c / n_rt * 1e6, "p50_us": statistics.median(lat) * 1e6,
                 "p99_us": sorted(lat)[int(len(lat) * 0.99) - 1] * 1e6}

    # streaming: edits, 32 in flight
    sem = asyncio.Semaphore(32)

    async def one(i):
        async with sem:
            r = await t.send_outbound({"op": "edit", "chat_id": "c1", "message_id": "m0", "content": "x" * (i % 200 + 1), "finalize": False})
            assert r and r.get("success"), r

    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n_stream))), 120)
    w, c = time.perf_counter() - w0, time.process_time() - c0
    out["stream"] = {"rate": n_stream / w, "cpu_us": c / n_stream * 1e6}

    # drain
    if cls is Reference:
        # The reference has no wake(): park its dormant re-dial, and dial
        # below exactly as its own supervisor would.
        t._dormant_redial_s = 3600.0
        assert await asyncio.wait_for(t.go_dormant(), 20) is True
    else:
        assert await asyncio.wait_for(t.go_dormant(), 20) is True
    for i in range(n_drain):
        d = await asyncio.to_thread(admin, http, "/dev/inbound", {"instance": GW, "event": {"chat_id": "c2", "text": f"in {i}", "platform": "telegram"}})
        assert d["delivery"] == "buffered", d
    assert counter.n == 0
    counter.target = n_drain
    c0, w0 = time.process_time(), time.perf_counter()
    if cls is Ours:
        t.wake()
    else:
        t._supervisor.cancel()
        await t._dial_and_start()
    await asyncio.wait_for(counter.done.wait(), 120)
    c = time.process_time() - c0
    out["drain"] = {"rate": n_drain / (counter.last - w0), "cpu_us": c / n_drain * 1e6}
    for _ in range(200):
        if admin(http, "/dev/stats")["buffered"] == 0:
            break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(t.disconnect(), 20)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    n_rt, n_stream, n_drain = (300, 1000, 200) if a.quick else (2000, 5000, 1000)
    proc, url = start_connector()
    http = url.replace("ws://", "http://")
    results = {"ours": [], "reference": []}
    try:
        for r in range(a.rounds):
            for name, cls in (("reference", Reference), ("ours", Ours)):
                res = asyncio.run(session(cls, url, http, n_rt, n_stream, n_drain))
                results[name].append(res)
                print(f"round {r + 1} {name:9s} " + json.dumps({k: {m: round(v, 1) for m, v in d.items()} for k, d in res.items()}), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def med(name, wl, metric):
        return statistics.median(x[wl][metric] for x in results[name])

    print()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; python {platform.python_version()}; "
          f"{os.cpu_count()} CPUs; {platform.machine()}; rounds={a.rounds}; n_rt={n_rt} n_stream={n_stream} n_drain={n_drain}")
    print("| workload | metric | reference | hermes_relay | ratio |")
    print("| --- | --- | ---: | ---: | ---: |")
    for wl, metrics in (("rt", ["rate", "p50_us", "p99_us", "cpu_us"]), ("stream", ["rate", "cpu_us"]), ("drain", ["rate", "cpu_us"])):
        for m in metrics:
            ref, ours = med("reference", wl, m), med("ours", wl, m)
            ratio = ours / ref if ref else float("nan")
            print(f"| {wl} | {m} | {ref:.1f} | {ours:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
