"""Fixtures: a real `relay connector` process on 127.0.0.1, and its admin API."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))

GATEWAYS = {"gw": "gw-secret", "gw2": "gw2-secret"}

# HERMES_RELAY_TEST_LOOP=uvloop runs every test on uvloop's event loop (the
# async tests, and the ones that start a loop themselves via `run`); unset or
# "asyncio": asyncio's default loop. A requested loop that cannot be imported
# fails the run rather than quietly testing asyncio's.
TEST_LOOP = os.environ.get("HERMES_RELAY_TEST_LOOP", "asyncio") or "asyncio"
if TEST_LOOP == "uvloop":
    try:
        import uvloop
    except ImportError as exc:
        raise pytest.UsageError(
            f"HERMES_RELAY_TEST_LOOP=uvloop but uvloop cannot be imported: {exc}") from None
    new_loop = uvloop.new_event_loop
elif TEST_LOOP == "asyncio":
    new_loop = asyncio.new_event_loop
else:
    raise pytest.UsageError(
        f"HERMES_RELAY_TEST_LOOP={TEST_LOOP!r}: expected 'asyncio' or 'uvloop'")

ON_UVLOOP = TEST_LOOP == "uvloop"


def run(coro: Any) -> Any:
    """``asyncio.run`` on the loop under test."""
    if not ON_UVLOOP:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(coro)


def needs_asyncio_loop(what: str) -> Any:
    """Skips a test that inspects asyncio's own loop (``what``) on uvloop."""
    return pytest.mark.skipif(ON_UVLOOP, reason=f"inspects {what}, which uvloop's loop does not have")


if ON_UVLOOP:
    def pytest_asyncio_loop_factories(config: Any, item: Any) -> Dict[str, Any]:
        return {"uvloop": new_loop}


def pytest_report_header(config: Any) -> str:
    return f"event loop under test: {TEST_LOOP}"

DESCRIPTORS = {
    "telegram": {
        "contract_version": 1,
        "platform": "telegram",
        "label": "Telegram",
        "max_message_length": 4096,
        "supports_draft_streaming": True,
        "supports_edit": True,
        "supports_threads": False,
        "markdown_dialect": "markdown_v2",
        "len_unit": "utf16",
        "supported_ops": ["send", "edit", "typing", "follow_up", "react"],
    },
    "discord": {
        "contract_version": 1,
        "platform": "discord",
        "label": "Discord",
        "max_message_length": 2000,
        "supports_draft_streaming": False,
        "supports_edit": True,
        "supports_threads": True,
        "markdown_dialect": "discord",
        "len_unit": "chars",
    },
}


def relay_bin() -> str:
    path = os.environ.get("RELAY_BIN")
    if not path:
        pytest.fail("RELAY_BIN is not set: point it at a built `relay` binary", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"RELAY_BIN={path} is not an executable", pytrace=False)
    return path


class Connector:
    """A running `relay connector` and a small client for its admin API."""

    def __init__(self, proc: subprocess.Popen, url: str, http: str):
        self.proc = proc
        self.url = url
        self.http = http

    def _call(self, method: str, path: str, body: Optional[dict]) -> Tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.http + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw or b"null")
            except ValueError:
                return err.code, raw.decode("utf-8", "replace")

    async def post(self, path: str, body: dict) -> Tuple[int, Any]:
        return await asyncio.wait_for(asyncio.to_thread(self._call, "POST", path, body), 10)

    async def stats(self) -> Dict[str, Any]:
        status, body = await asyncio.wait_for(asyncio.to_thread(self._call, "GET", "/dev/stats", None), 10)
        assert status == 200, body
        return body

    async def model(self) -> Dict[str, Any]:
        return (await self.stats())["model"]

    def log(self, direction: str, frame_type: str) -> List[Dict[str, Any]]:
        """The frames of one type the connector logged (``in``: what the
        gateway sent), parsed: what actually crossed the wire."""
        status, body = self._call("GET", "/dev/log", None)
        assert status == 200, body
        return [json.loads(e["text"]) for e in body["entries"]
                if e["direction"] == direction and e["type"] == frame_type and e["text"]]

    async def frames(self, direction: str, frame_type: str) -> List[Dict[str, Any]]:
        return await asyncio.wait_for(asyncio.to_thread(self.log, direction, frame_type), 10)

    async def result_for(self, request_id: str) -> Optional[Dict[str, Any]]:
        """The result the connector sent for ``request_id``, if any."""
        for f in await self.frames("out", "outbound_result"):
            if f["requestId"] == request_id:
                return f["result"]
        return None


def start_connector(tmp: Path, descriptors: Optional[Dict[str, Any]] = None) -> Connector:
    config = tmp / f"connector-{time.monotonic_ns()}.json"
    config.write_text(json.dumps({
        "gateways": {gid: [secret] for gid, secret in GATEWAYS.items()},
        "descriptors": DESCRIPTORS if descriptors is None else descriptors,
    }))
    proc = subprocess.Popen(
        [relay_bin(), "connector", "--listen", "127.0.0.1:0", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = None
    deadline = time.monotonic() + 15
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"relay URL:\s+(ws://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail("relay connector did not report its URL", pytrace=False)
    return Connector(proc, url, url.replace("ws://", "http://"))


def stop_connector(c: Connector) -> None:
    c.proc.terminate()
    try:
        c.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        c.proc.kill()
        c.proc.wait(timeout=5)


@pytest.fixture
def connector(tmp_path):
    c = start_connector(tmp_path)
    try:
        yield c
    finally:
        stop_connector(c)


# Every op today's reference knows.
ALL_OPS = ["send", "edit", "typing", "follow_up", "get_chat_info", "send_media", "prompt",
           "react", "draft", "task_card", "task_card_stop", "delete"]


def all_ops_descriptors(drafts: bool = False) -> Dict[str, Any]:
    """Descriptors advertising every op, for telegram, discord and slack."""
    out = {}
    for platform, (label, limit, dialect, unit) in {
        "telegram": ("Telegram", 4096, "markdown_v2", "utf16"),
        "discord": ("Discord", 2000, "discord", "chars"),
        "slack": ("Slack", 39000, "slack", "chars"),
    }.items():
        out[platform] = {"contract_version": 1, "platform": platform, "label": label,
                         "max_message_length": limit, "supports_draft_streaming": drafts,
                         "supports_edit": True, "supports_threads": True,
                         "markdown_dialect": dialect, "len_unit": unit,
                         "supported_ops": ALL_OPS}
    return out


@pytest.fixture
def make_connector(tmp_path):
    """Starts connectors with other descriptors (stopped at teardown)."""
    started: List[Connector] = []

    def make(descriptors: Optional[Dict[str, Any]] = None) -> Connector:
        c = start_connector(tmp_path, descriptors)
        started.append(c)
        return c

    yield make
    for c in started:
        stop_connector(c)
