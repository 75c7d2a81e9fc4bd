"""Fixtures of the interop suite: a `relay connector` process per test, its
admin API, the reference's relay modules (imported through `standins`), the
release under test (`ref`), and counted checks so every scenario reports how
many assertions it made."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import standins  # noqa: E402

# The reference reads its home directory (translations, YAML layers): an
# empty one of our own, never the user's. Its relay settings come from the
# scenarios that set them.
os.environ["HERMES_HOME"] = tempfile.mkdtemp(prefix="interop-hermes-home-")
for _var in [v for v in os.environ if v.startswith("GATEWAY_RELAY_")]:
    del os.environ[_var]
standins.install()


class Ref:
    """The reference release installed in this run."""

    def __init__(self) -> None:
        self.dist, self.version = standins.reference_version()
        # The release line: "0.19" or "0.22".
        self.series = ".".join(self.version.split(".")[:2])

    def __repr__(self) -> str:
        return f"{self.dist} {self.version}"


REF = Ref()
SERIES = ("0.19", "0.22")
_wanted = os.environ.get("INTEROP_REFERENCE")
if _wanted and _wanted != REF.version:
    raise RuntimeError(f"INTEROP_REFERENCE is {_wanted} but {REF!r} is installed")
if REF.series not in SERIES:
    raise RuntimeError(f"no expectations written for {REF!r} (known: {', '.join(SERIES)})")

# Every wait in the suite is bounded by one of these.
START_TIMEOUT_S = 15.0
STEP_TIMEOUT_S = 5.0
SCENARIO_TIMEOUT_S = 30.0

# Gateways the connector knows: the main one, a second tenant, a wrong secret.
GATEWAY = "gw"
SECRET = "interop-secret-1"
OTHER_GATEWAY = "gw-other"
OTHER_SECRET = "interop-secret-2"

_COUNTS: "OrderedDict[str, int]" = OrderedDict()


class Checks:
    """Counted assertions: `ck(cond, what)` fails the test with `what` when
    `cond` is false, and is counted for the scenario summary."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        _COUNTS.setdefault(nodeid, 0)

    def __call__(self, cond: Any, what: str) -> None:
        _COUNTS[self.nodeid] += 1
        assert cond, what

    def eq(self, actual: Any, expected: Any, what: str) -> None:
        self(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


@pytest.fixture
def ck(request: pytest.FixtureRequest) -> Checks:
    return Checks(request.node.nodeid)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "connector_gap(reason, series=SERIES): the scenario asserts the reference's correct "
        "behaviour but needs a dev-connector feature that does not exist yet; a strict xfail "
        "on the listed release lines (it fails once the feature lands, so the mark goes too)",
    )


def pytest_generate_tests(metafunc: Any) -> None:
    # Every scenario names the release it ran against in its id.
    if "ref" in metafunc.fixturenames:
        metafunc.parametrize("ref", [REF], ids=[REF.version])


def pytest_collection_modifyitems(items: List[Any]) -> None:
    for item in items:
        for mark in item.iter_markers("connector_gap"):
            series = mark.kwargs.get("series", SERIES)
            if REF.series in series:
                item.add_marker(pytest.mark.xfail(
                    strict=True, reason="connector: " + mark.args[0]))


def pytest_report_header() -> str:
    return f"reference: {REF!r}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = {}
    for key in ("passed", "failed", "error", "xfailed", "xpassed", "skipped"):
        for rep in terminalreporter.stats.get(key, []):
            if getattr(rep, "when", "call") in ("call", "setup"):
                reports.setdefault(rep.nodeid, key)
    terminalreporter.write_sep("=", f"interop scenarios against {REF!r} (assertions checked)")
    total = 0
    for nodeid, n in _COUNTS.items():
        total += n
        outcome = reports.get(nodeid, "?")
        name = nodeid.split("::")[-1]
        terminalreporter.write_line(f"  {name:<64} {n:>4}  {outcome}")
    terminalreporter.write_line(f"  {'total':<64} {total:>4}")


class Connector:
    """A running `relay connector` process and its admin API."""

    def __init__(self, proc: subprocess.Popen, url: str, http: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.http = http
        self.log_path = log

    def request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.http + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=STEP_TIMEOUT_S) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def raw(self, method: str, path: str, data: Optional[bytes] = None,
            headers: Optional[Dict[str, str]] = None):
        """One HTTP request with a raw body: (status, headers, body bytes)."""
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=STEP_TIMEOUT_S) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def declared_only(self, method: str, path: str, length: int,
                      headers: Optional[Dict[str, str]] = None) -> int:
        """The status of a request that declares a `Content-Length` of `length`
        and sends no body: a server must answer from the headers alone."""
        host, port = self.http[len("http://"):].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=STEP_TIMEOUT_S)
        try:
            conn.putrequest(method, path)
            for name, value in dict(headers or {}, **{"Content-Length": str(length)}).items():
                conn.putheader(name, value)
            conn.endheaders()
            return conn.getresponse().status
        finally:
            conn.close()

    def post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        status, answer = self.request("POST", path, body)
        assert status == 200, f"POST {path} answered {status}: {answer}"
        return answer

    def stats(self) -> Dict[str, Any]:
        status, answer = self.request("GET", "/dev/stats")
        assert status == 200, f"GET /dev/stats answered {status}"
        return answer

    def model(self) -> Dict[str, Any]:
        return self.stats()["model"]

    def frames(self, direction: Optional[str] = None, frame_type: Optional[str] = None):
        status, answer = self.request("GET", "/dev/log")
        assert status == 200, f"GET /dev/log answered {status}: {answer}"
        out = []
        for entry in answer["entries"]:
            if direction and entry["direction"] != direction:
                continue
            if frame_type and entry["type"] != frame_type:
                continue
            out.append(entry)
        return out

    def wait_stat(self, key: str, at_least: int, timeout: float = STEP_TIMEOUT_S) -> int:
        """Polls `/dev/stats` until the model counter `key` reaches `at_least`
        (bounded); returns its last value."""
        deadline = time.monotonic() + timeout
        value = self.model().get(key, 0)
        while value < at_least and time.monotonic() < deadline:
            time.sleep(0.02)
            value = self.model().get(key, 0)
        return value

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STEP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STEP_TIMEOUT_S)


def relay_bin() -> str:
    path = os.environ.get("RELAY_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("RELAY_BIN must name the built `relay` binary (tests/interop/run.sh sets it)")
    return path


def start_connector(tmp: Path, extra: Optional[Dict[str, Any]] = None) -> Connector:
    config = {
        "gateways": {GATEWAY: [SECRET], OTHER_GATEWAY: [OTHER_SECRET]},
        # Gateways of this reference version never ack passthrough bufferIds.
        "ack_passthrough": False,
    }
    config.update(extra or {})
    cfg = tmp / "connector.json"
    cfg.write_text(json.dumps(config))
    log = tmp / "connector.log"
    out = open(log, "w+b")
    proc = subprocess.Popen(
        [relay_bin(), "connector", "--listen", "127.0.0.1:0", "--config", str(cfg)],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    url = None
    while time.monotonic() < deadline and proc.poll() is None:
        text = log.read_text(errors="replace")
        m = re.search(r"relay URL:\s+(ws://127\.0\.0\.1:\d+)", text)
        if m:
            url = m.group(1)
            break
        time.sleep(0.02)
    if url is None:
        proc.kill()
        proc.wait(timeout=STEP_TIMEOUT_S)
        pytest.fail("relay connector did not start:\n" + log.read_text(errors="replace"))
    return Connector(proc, url, "http://" + url[len("ws://"):], log)


@pytest.fixture
def connector(tmp_path: Path):
    c = start_connector(tmp_path)
    yield c
    c.stop()


@pytest.fixture
def make_connector(tmp_path: Path):
    """Starts a connector with extra configuration keys (stopped at teardown)."""
    started: List[Connector] = []

    def make(**extra: Any) -> Connector:
        c = start_connector(tmp_path, extra)
        started.append(c)
        return c

    yield make
    for c in started:
        c.stop()


# Reference transports a scenario opened; `run` closes what a failed scenario
# left open, so the connector does not wait for their close at teardown.
OPENED: List[Any] = []


async def _bounded(coro, timeout: float):
    try:
        return await asyncio.wait_for(coro, timeout)
    finally:
        while OPENED:
            t = OPENED.pop()
            if getattr(t, "_ws", None) is not None and not getattr(t, "_closing", False):
                try:
                    await asyncio.wait_for(t.disconnect(), STEP_TIMEOUT_S)
                except Exception:
                    pass


def run(coro, timeout: float = SCENARIO_TIMEOUT_S):
    """Runs one scenario coroutine to completion, bounded."""
    return asyncio.run(_bounded(coro, timeout))


async def until(cond, timeout: float = STEP_TIMEOUT_S, step: float = 0.02) -> bool:
    """Waits (bounded) until `cond()` is true; returns whether it became true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(step)
    return True
