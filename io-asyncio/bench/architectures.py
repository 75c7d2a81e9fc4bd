"""The measurement that chose hermes_relay's architecture: the same round
trips and streamed edits through

* ``link``: the chosen design, WebSocket framing in Rust over asyncio's
  own streams (``WebSocketRelayTransport``, everything on the event loop's
  thread);
* ``thread``: the engine's spawned client on a tokio runtime thread, each
  result handed to asyncio with ``loop.call_soon_threadsafe`` (the prototype
  module ``relay_proto_thread``, ``bench/rust/proto_thread.rs``, never
  shipped),

against one `relay connector`, alternating, in one process per row.

    maturin build --release -m io-asyncio/bench/rust/Cargo.toml   # install that wheel too
    RELAY_BIN=target/release/relay python io-asyncio/bench/architectures.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import GW, SECRET, start_connector  # noqa: E402


async def row(kind, url, n_rt, n_stream):
    loop = asyncio.get_running_loop()
    if kind == "link":
        from hermes_relay import WebSocketRelayTransport

        t = WebSocketRelayTransport(url, "telegram", "bench-bot", gateway_id=GW, upgrade_secret=SECRET)
        await t.connect()
        await t.handshake()
        send = t.send_outbound
    else:
        from relay_proto_thread import ThreadClient

        c = ThreadClient(url, GW, SECRET, loop)
        while not await asyncio.to_thread(c.serving):
            await asyncio.sleep(0.01)

        async def send(action):
            fut = loop.create_future()
            c.send(action, fut)
            try:
                return await asyncio.wait_for(fut, 10)
            except asyncio.TimeoutError:
                # Seen now and then: a result that never reaches the loop.
                lost.append(action)
                return {"success": True}

    out = {}
    lost: list = []
    lat = []
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(n_rt):
        s = time.perf_counter()
        r = await send({"op": "send", "chat_id": "c1", "content": f"m{i}"})
        lat.append(time.perf_counter() - s)
        assert r.get("success"), r
    w, cpu = time.perf_counter() - w0, time.process_time() - c0
    lat.sort()
    out["rt_p50_us"] = lat[len(lat) // 2] * 1e6
    out["rt_p99_us"] = lat[len(lat) * 99 // 100 - 1] * 1e6
    out["rt_cpu_us"] = cpu / n_rt * 1e6
    sem = asyncio.Semaphore(32)

    async def one(i):
        async with sem:
            r = await send({"op": "edit", "chat_id": "c1", "message_id": "m0", "content": "x" * (i % 200 + 1)})
            assert r.get("success"), r

    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n_stream)))
    w, cpu = time.perf_counter() - w0, time.process_time() - c0
    out["stream_rate"] = n_stream / w
    out["stream_cpu_us"] = cpu / n_stream * 1e6
    out["lost_results"] = len(lost)
    if kind == "link":
        await t.disconnect()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", default=None)
    ap.add_argument("--url", default=None)
    ap.add_argument("--n-rt", type=int, default=2000)
    ap.add_argument("--n-stream", type=int, default=5000)
    a = ap.parse_args()
    if a.worker:
        import faulthandler

        faulthandler.dump_traceback_later(300, exit=True)
        print(json.dumps(asyncio.run(row(a.worker, a.url, a.n_rt, a.n_stream))), flush=True)
        # The prototype's runtime thread is not shut down: leave without
        # finalising the interpreter under it.
        os._exit(0)
    proc, url = start_connector()
    res = {"link": [], "thread": []}
    try:
        for r in range(a.rounds):
            for kind in (("link", "thread") if r % 2 == 0 else ("thread", "link")):
                out = subprocess.run([sys.executable, __file__, "--worker", kind, "--url", url,
                                      "--n-rt", str(a.n_rt), "--n-stream", str(a.n_stream)],
                                     capture_output=True, text=True, timeout=600)
                if out.returncode != 0:
                    sys.exit(out.stderr)
                res[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"round {r + 1} {kind:6s} " + json.dumps({k: round(v, 1) for k, v in res[kind][-1].items()}), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    print("| metric | link (chosen) | thread (prototype) | thread / link |")
    print("| --- | ---: | ---: | ---: |")
    for m in res["link"][0]:
        lk = statistics.median(x[m] for x in res["link"])
        th = statistics.median(x[m] for x in res["thread"])
        ratio = f"{th / lk:.2f}x" if lk else "-"
        print(f"| {m} | {lk:,.1f} | {th:,.1f} | {ratio} |")


if __name__ == "__main__":
    main()
