"""A gateway that echoes every message, against a local `relay connector`.

    python io-asyncio/examples/echo.py --relay target/release/relay

Starts a development connector (``relay connector``) on 127.0.0.1, connects
``hermes_relay.WebSocketRelayTransport`` to it, has the connector deliver a
few messages (its admin API, as a chat platform would), answers each one,
and prints what the connector received. With ``--url`` it connects to a
connector that is already running instead (gateway ``gw-1``, secret
``secret-1``) and echoes until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import urllib.request

from hermes_relay import WebSocketRelayTransport

GATEWAY, SECRET = "gw-1", "secret-1"


def start_connector(relay: str):
    cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"gateways": {GATEWAY: [SECRET]}}, cfg)
    cfg.close()
    proc = subprocess.Popen([relay, "connector", "--listen", "127.0.0.1:0", "--config", cfg.name],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        m = re.search(r"relay URL:\s+(ws://\S+)", line)
        if m:
            return proc, m.group(1)
    sys.exit("the connector did not start")


def admin(url: str, path: str, body=None):
    req = urllib.request.Request(url.replace("ws://", "http://") + path, method="POST" if body else "GET",
                                 data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


async def run(url: str, demo: bool) -> None:
    transport = WebSocketRelayTransport(url, "telegram", "echo-bot", gateway_id=GATEWAY,
                                        upgrade_secret=SECRET, reconnect=True)
    answered = asyncio.Event()
    count = 0

    async def on_message(event):
        nonlocal count
        print(f"<- {event.source.platform.value}:{event.source.chat_id} {event.source.user_name}: {event.text}")
        result = await transport.send_outbound({"op": "send", "chat_id": event.source.chat_id,
                                                "content": f"echo: {event.text}"})
        print(f"-> echo sent: {result}")
        count += 1
        if count == 3:
            answered.set()

    transport.set_inbound_handler(on_message)
    await transport.connect()
    descriptor = await transport.handshake()
    print(f"connected: {descriptor.label} (max {descriptor.max_message_length} chars)")
    try:
        if not demo:
            await asyncio.Event().wait()
        for i, text in enumerate(["hello", "how are you?", "bye"]):
            event = {"text": text, "source": {"platform": "telegram", "chat_id": "chat-1",
                                              "user_id": "u-1", "user_name": "Ann"}, "message_id": f"m-{i}"}
            await asyncio.to_thread(admin, url, "/dev/inbound", {"instance": GATEWAY, "event": event})
        await asyncio.wait_for(answered.wait(), 10)
        stats = await asyncio.to_thread(admin, url, "/dev/stats")
        print(f"the connector saw {stats['model']['outbound_requests']} outbound requests")
    finally:
        await transport.disconnect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--relay", help="the relay binary: start a connector with it")
    ap.add_argument("--url", help="a running connector's relay URL")
    a = ap.parse_args()
    if not (a.relay or a.url):
        ap.error("give --relay or --url")
    if a.url:
        asyncio.run(run(a.url, demo=False))
        return
    proc, url = start_connector(a.relay)
    try:
        asyncio.run(run(url, demo=True))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
