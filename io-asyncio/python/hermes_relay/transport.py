"""An asyncio driver for the relay-rs gateway core.

``WebSocketRelayTransport`` has the constructor, coroutines, result
dictionaries and handler signatures of the Hermes gateway's transport of the
same name, so it can be passed wherever that one is. Underneath, one Rust
object (``hermes_relay._core.Link``) holds the core and the WebSocket
framing: every protocol decision (when to dial and re-dial, what a 4401
means, which frames to send, when a request has timed out, when a buffered
delivery may be acked) is the core's, and the WebSocket upgrade and frames
are tungstenite's. This module owns only what asyncio must own: the TCP (or
TLS) streams, one timer, and the tasks that run the application's handlers.

The loop contract: every socket read, timer expiry and application command
is one call into the ``Link``; it writes what must be written, resolves the
futures of finished requests, re-arms the timer through a callback, and
returns what the driver must act on (dial, close a stream, hand over an
event) as a list of tuples, or None.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import functools
import os
import socket
import ssl
import sys
import time
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Tuple

from . import _core
from . import _models
from . import _hermes, _outcomes
from ._errors import RelayRevokedError, TransportClosedError, UpgradeRefusedError
from ._future import LinkFuture, Turn
from ._stream import Stream

logger = logging.getLogger("hermes_relay")

_NOT_CONNECTED = "relay transport not connected"
_CLOSED = "relay transport closed"
# How many undelivered application events may wait for the handlers before
# the socket is no longer read (backpressure), and when reading resumes.
_INBOX_HIGH = 1024
_INBOX_LOW = 128
# How long a stream that sent its close frame waits for the peer to end it.
_CLOSE_GRACE_S = 2.0
# The stagger between address families when a name resolves to several.
_HAPPY_EYEBALLS_S = 0.25
# disconnect(): the budget the Hermes runner gives an adapter's disconnect
# when neither the caller nor its environment variable names one, and the
# part of any budget kept back for the close after the drain.
_DISCONNECT_BUDGET_ENV = "HERMES_GATEWAY_ADAPTER_DISCONNECT_TIMEOUT"
_DISCONNECT_BUDGET_S = 5.0
_CLOSE_RESERVE_S = 0.5
# The longest drain of requests in flight at disconnect (the reference's).
_DRAIN_MAX_S = 5.0
# Plain TCP streams are read and written by the link itself (``FdTransport``)
# where the loop has ``add_reader``; False: always asyncio's transport.
_FD_PATH = hasattr(_core, "FdTransport")

InboundHandler = Callable[[Any], Awaitable[None]]


class WebSocketRelayTransport:
    """The gateway's relay link, driven by the relay-rs core.

    Arguments are those of the Hermes transport. ``connect_timeout_s`` bounds
    each dial (TCP, TLS and the WebSocket upgrade) and ``handshake()``, and is
    the core's handshake timeout; ``outbound_timeout_s`` is the core's request
    deadline; ``reconnect_backoff_s`` and ``reconnect_max_backoff_s`` shape the
    core's backoff ladder. With ``reconnect=False`` the link ends at the first
    unexpected close instead of re-dialing. The keyword-only extras
    (``idle_ack_timeout_s``, ``dormant_redial_s``, ``seed``, ``revocation``,
    ``max_frame_bytes``, ``ssl``, ``redial_hold_max_s``) have defaults
    matching the reference; ``command_manifests`` (``{platform: [command,
    ...]}``) and ``slack_commands`` (``{word: "/command"}``) default to the
    installed Hermes's, when it has them.
    """

    def __init__(
        self,
        url: str,
        platform: str,
        bot_id: str,
        *,
        identities: Optional[List[Tuple[str, str]]] = None,
        connect_timeout_s: float = 30.0,
        outbound_timeout_s: float = 30.0,
        gateway_id: Optional[str] = None,
        upgrade_secret: Optional[str] = None,
        reconnect: bool = False,
        reconnect_backoff_s: float = 1.0,
        reconnect_max_backoff_s: float = 30.0,
        idle_ack_timeout_s: float = 10.0,
        dormant_redial_s: Optional[float] = 1.0,
        seed: Optional[int] = None,
        revocation: Optional[str] = None,
        max_frame_bytes: Optional[int] = None,
        ssl: Optional["ssl.SSLContext"] = None,
        redial_hold_max_s: float = 60.0,
        command_manifests: Optional[Dict[str, List[Dict[str, Any]]]] = None,
        slack_commands: Optional[Dict[str, str]] = None,
    ) -> None:
        self._platform = platform
        self._bot_id = bot_id
        self._identities = [tuple(i) for i in identities] if identities else [(platform, bot_id)]
        self._connect_timeout_s = connect_timeout_s
        self._outbound_timeout_s = outbound_timeout_s
        self._reconnect = reconnect
        self._dormant_redial_s = dormant_redial_s
        self._seed = seed
        self._ssl = ssl
        platforms = {str(p) for p, _ in self._identities}
        manifests_from_hermes = command_manifests is None
        if manifests_from_hermes:
            command_manifests = _hermes.command_manifests(platforms)
        if slack_commands is None and "slack" in platforms:
            slack_commands = _hermes.slack_commands()
        identities = [(str(p), str(b or "")) for p, b in self._identities]
        config = dict(
            gateway_id=gateway_id,
            secret=upgrade_secret,
            # As the reference does, a transport built without both
            # credentials dials without an Authorization header.
            allow_unauthenticated=not (gateway_id and upgrade_secret),
            handshake_timeout_s=connect_timeout_s,
            request_timeout_s=outbound_timeout_s,
            idle_ack_timeout_s=idle_ack_timeout_s,
            backoff_initial_s=reconnect_backoff_s,
            backoff_max_s=max(reconnect_max_backoff_s, reconnect_backoff_s),
            dormant_redial_s=dormant_redial_s,
            revocation=revocation,
            max_frame_bytes=max_frame_bytes,
            shutdown_drain_s=_DRAIN_MAX_S,
            redial_hold_max_s=redial_hold_max_s,
            slack_commands=slack_commands,
        )
        try:
            self._config = _core.Config(url, identities, command_manifests=command_manifests, **config)
        except _core.ConfigError:
            if not (manifests_from_hermes and command_manifests):
                raise
            # The installed Hermes's manifest is an extra, as in the
            # reference: one the core refuses never stops the link.
            logger.warning("relay: the installed Hermes's command manifest was refused; "
                           "the hellos go out without it", exc_info=True)
            self._config = _core.Config(url, identities, **config)
        self._url = self._config.dial_url
        # A hold asked for before connect() applies to the link it starts.
        self._hold_before_connect = False
        # Set by disconnect(): requests fail at once from then on.
        self._closing = False

        self._inbound: Optional[InboundHandler] = None
        self._interrupt_inbound_handler: Optional[Callable[[str, str], Awaitable[None]]] = None
        self._passthrough_handler: Optional[Callable[[Any, Optional[str]], Awaitable[None]]] = None

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._link: Optional[_core.Link] = None
        self._stream: Optional[Stream] = None
        self._closing_streams: set = set()
        self._dial_tasks: Dict[int, asyncio.Task[None]] = {}
        self._first_dial: Optional[asyncio.Future[bool]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        # The current dial's upgrade deadline (it refers to this object).
        self._upgrade_timer: Optional[asyncio.TimerHandle] = None
        self._paused_writing = False
        self._drain_waiters: List[asyncio.Future[None]] = []
        self._state_waiters: List[Tuple[Callable[[str], Optional[bool]], asyncio.Future[bool]]] = []
        self._handshake_waiters: List[asyncio.Future[Any]] = []
        self._inbox: Deque[Tuple[Any, ...]] = collections.deque()
        self._reading_paused = False
        self._delivery_task: Any = None
        self._delivery_waiter: Optional[asyncio.Future[None]] = None
        self._auth_revoked = False
        # The socket read being handled, if any (see ``_future``).
        self._turn: Optional[Turn] = None

    # -- lifecycle -----------------------------------------------------------

    async def connect(self) -> bool:
        """Start the link and wait for the first WebSocket upgrade.

        Returns True once the socket is open and the hellos are on their way
        (await ``handshake()`` for the descriptor). If the first dial fails,
        the link is shut down and the dial's exception is raised. Calling it
        on a live link is a no-op that returns True.
        """
        if self._link is not None and not self._link.is_terminal:
            return True
        loop = asyncio.get_running_loop()
        self._loop = loop
        seed = self._seed if self._seed is not None else int.from_bytes(os.urandom(8), "little")
        self._auth_revoked = False
        self._closing = False
        self._link = _core.Link(
            self._config,
            seed,
            int(time.time()),
            self._arm,
            self._defer,
            _models.build_inbound,
            _models.build_forward,
            _models.SOURCE_FIELDS,
            _models.EVENT_FIELDS,
            _models.FORWARD_FIELDS,
        )
        self._first_dial = loop.create_future()
        self._run(self._link.start())
        if self._hold_before_connect:
            # After the first dial began: a hold is for re-dials.
            self._hold_before_connect = False
            self._run(self._link.hold_redial())
        try:
            await asyncio.wait_for(asyncio.shield(self._first_dial), self._connect_timeout_s)
        except BaseException:
            await self._teardown()
            raise
        return True

    async def disconnect(self, *, budget_s: Optional[float] = None) -> None:
        """Deliberate shutdown, never to dial again.

        ``budget_s`` is the time the caller can still spend here (None: the
        Hermes runner's ``HERMES_GATEWAY_ADAPTER_DISCONNECT_TIMEOUT``, else
        5 s). Requests in flight get what is left of it after a 0.5 s reserve
        for the close, at most 5 s, to receive their results (the core's
        ``closing`` state); new requests fail at once. Then what is still
        pending fails (ambiguous) and the socket closes with 1000.
        """
        self._closing = True
        link = self._link
        if link is None:
            return
        try:
            if not link.is_terminal:
                drain = max(0.0, min(_DRAIN_MAX_S, _disconnect_budget(budget_s) - _CLOSE_RESERVE_S))
                self._run(link.shutdown(drain))
                if link.state == "closing":
                    await self._wait_state(_outcomes.closed_outcome, drain + _CLOSE_RESERVE_S)
        finally:
            await self._teardown()

    async def _teardown(self) -> None:
        link = self._link
        if link is not None and not link.is_terminal:
            self._run(link.shutdown(0.0))
        self._disarm()
        self._cancel_upgrade_deadline()
        for task in list(self._dial_tasks.values()):
            task.cancel()
        self._dial_tasks.clear()
        stream, self._stream = self._stream, None
        if stream is not None and stream.transport is not None:
            stream.transport.abort()
        self._fail_waiters(TransportClosedError(_CLOSED))
        closing = [s for s in self._closing_streams if s.transport is not None and not s.transport.is_closing()]
        if closing:
            deadline = time.monotonic() + _CLOSE_GRACE_S
            while closing and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
                closing = [s for s in closing if not s.transport.is_closing()]
        for s in list(self._closing_streams):
            if s.transport is not None:
                s.transport.abort()
        self._closing_streams.clear()
        task = self._delivery_task
        if isinstance(task, asyncio.Task):
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - teardown
                pass
        self._delivery_task = None
        self._delivery_waiter = None
        self._inbox.clear()

    async def handshake(self) -> Any:
        """The default platform's capability descriptor, once serving.

        Waits up to ``connect_timeout_s`` across re-dials: a waiting caller is
        resolved by whichever connection completes the handshake.
        """
        link = self._link
        if link is None:
            raise RuntimeError("handshake() called before connect()")
        if link.state in ("serving", "going_idle") or (link.state == "buffered" and link.socket_open):
            return _models.descriptor(link.descriptor(None))
        if link.is_terminal:
            raise self._terminal_error()
        fut = self._loop.create_future()  # type: ignore[union-attr]
        self._handshake_waiters.append(fut)
        try:
            return await asyncio.wait_for(fut, self._connect_timeout_s)
        finally:
            if fut in self._handshake_waiters:
                self._handshake_waiters.remove(fut)

    @property
    def auth_revoked(self) -> bool:
        """True once the core decided the credential was revoked (terminal)."""
        return self._auth_revoked

    @property
    def state(self) -> str:
        """The core's state: dialing, handshaking, serving, going_idle,
        buffered, closing, revoked or closed (``closed`` before
        ``connect()``)."""
        return self._link.state if self._link is not None else "closed"

    def stats(self) -> Dict[str, int]:
        """The core's counters."""
        return self._link.stats() if self._link is not None else {}

    def descriptor_for_platform(self, platform: Optional[str] = None) -> Any:
        """The descriptor the connector sent for ``platform`` (the default
        one for None), or None when there is none."""
        if self._link is None:
            return None
        return _models.descriptor(self._link.descriptor(platform))

    def set_inbound_handler(self, handler: InboundHandler) -> None:
        self._inbound = handler

    def set_interrupt_inbound_handler(self, handler: Any) -> None:
        self._interrupt_inbound_handler = handler

    def set_passthrough_handler(self, handler: Any) -> None:
        self._passthrough_handler = handler

    # -- outbound --------------------------------------------------------------

    async def send_outbound(
        self, action: Dict[str, Any], *, platform: Optional[str] = None
    ) -> Dict[str, Any]:
        """Send one action; the connector's result dict, or a failed one.

        ``platform`` names the identity the frame is for: the core tags the
        frame with it and with that identity's bot id (none when this
        gateway does not front it; the connector then refuses the frame).
        """
        if self._closing:
            return {"success": False, "error": _CLOSED}
        link = self._link
        if link is None:
            return {"success": False, "error": _NOT_CONNECTED}
        try:
            fut = link.send(action, self._loop, self, platform)
        except _core.NotConnectedError:
            return {"success": False, "error": _NOT_CONNECTED}
        except _core.OpNotSupportedError:
            return {"success": False, "error": "Not supported"}
        except _core.SendRefusedError as exc:
            return {"success": False, "error": str(exc)}
        except (TypeError, ValueError) as exc:
            # What json.dumps refuses is not sent, as with the reference.
            return {"success": False, "error": f"relay send failed: {exc}"}
        if fut.__class__ is tuple:
            # The driver has events to act on too (rare).
            fut, evs = fut
            self._handle(evs)
        if self._paused_writing:
            await self._drained()
        return await fut

    async def send_follow_up(
        self, action: Dict[str, Any], *, platform: Optional[str] = None
    ) -> Dict[str, Any]:
        return await self.send_outbound(action, platform=platform)

    async def get_chat_info(self, chat_id: str) -> Dict[str, Any]:
        result = await self.send_outbound({"op": "get_chat_info", "chat_id": chat_id})
        info = result.get("chat_info") or result
        return {"name": info.get("name", chat_id), "type": info.get("type", "dm")}

    async def send_interrupt(self, session_key: str, reason: Optional[str] = None) -> None:
        link = self._link
        if link is None:
            raise RuntimeError(_NOT_CONNECTED)
        try:
            evs = link.interrupt(session_key, reason)
        except _core.NotConnectedError as exc:
            raise RuntimeError(_NOT_CONNECTED) from exc
        if evs is not None:
            self._handle(evs)
        if self._paused_writing:
            await self._drained()

    async def _drained(self) -> None:
        fut = self._loop.create_future()  # type: ignore[union-attr]
        self._drain_waiters.append(fut)
        await fut

    # -- idle --------------------------------------------------------------

    async def go_idle(self, timeout_s: float = 10.0) -> bool:
        """Ask the connector to buffer for this gateway, keeping the socket.

        True once the connector acknowledged: from then on it buffers inbound
        traffic while this link keeps its socket and keeps serving (requests
        still go out) until ``go_dormant()``, ``wake()`` or ``disconnect()``.
        False when there is no socket, when no ack came within ``timeout_s``
        or the core's ``idle_ack_timeout_s``, or when the socket dropped
        first; the link then keeps serving. Already idle with the socket
        kept: True at once.
        """
        link = self._link
        if link is None:
            return False
        if link.state == "going_idle":
            return await self._wait_state(_outcomes.idle_outcome, timeout_s)
        if link.state == "buffered" and link.socket_open:
            return True
        if link.state != "serving":
            return False
        try:
            self._run(link.go_idle("keep"))
        except _core.CommandRefusedError:
            return False
        return await self._wait_state(_outcomes.idle_outcome, timeout_s)

    async def go_dormant(self, timeout_s: float = 10.0) -> bool:
        """Go idle and close the socket, for a suspend.

        True once the connector acknowledged; the socket is then closed
        (1000) and, with ``reconnect=True``, the link re-dials after
        ``dormant_redial_s`` (1 s), whereupon the connector drains what it
        buffered; with ``reconnect=False`` it waits for ``wake()``. Without
        an ack it returns False and keeps serving. After ``go_idle()`` (socket
        kept) the link first re-dials to go idle again on a fresh socket (the
        core cannot yet close a kept socket into the dormant cadence).
        """
        link = self._link
        if link is None or not link.socket_open:
            return False
        deadline = time.monotonic() + timeout_s
        if link.state == "going_idle":
            await self._wait_state(_outcomes.idle_outcome, timeout_s)
        if link.state == "buffered" and link.socket_open:
            self._run(link.wake())
            left = max(0.0, deadline - time.monotonic())
            if not await self._wait_state(_outcomes.serving_outcome, left):
                return False
        if link.state != "serving":
            return False
        mode = "dormant" if self._reconnect and self._dormant_redial_s else "close"
        try:
            self._run(link.go_idle(mode))
        except _core.CommandRefusedError:
            return False
        return await self._wait_state(_outcomes.idle_outcome, max(0.0, deadline - time.monotonic()))

    def wake(self) -> None:
        """Re-dial now if buffered (a no-op while live)."""
        link = self._link
        if link is not None and not link.is_terminal:
            self._run(link.wake())

    def hold_redial(self) -> None:
        """Hold the next re-dial (a brokered suspend is in flight) until
        ``release_redial()``, or ``redial_hold_max_s`` (60 s) after it became
        due. Before ``connect()`` it applies to the link that starts."""
        link = self._link
        if link is None or link.is_terminal:
            self._hold_before_connect = True
            return
        try:
            self._run(link.hold_redial())
        except _core.CommandRefusedError as exc:
            logger.debug("relay: hold_redial refused: %s", exc)

    def release_redial(self) -> None:
        """End a hold: a re-dial that waits for it dials now."""
        self._hold_before_connect = False
        link = self._link
        if link is None or link.is_terminal:
            return
        try:
            self._run(link.release_redial())
        except _core.CommandRefusedError as exc:
            logger.debug("relay: release_redial refused: %s", exc)

    async def _wait_state(self, check: Callable[[Any], Optional[bool]], timeout_s: float) -> bool:
        """Waits until ``check(event)`` answers True or False for a state or
        idle event (False on timeout or teardown)."""
        fut: asyncio.Future[bool] = self._loop.create_future()  # type: ignore[union-attr]
        entry = (check, fut)
        self._state_waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout_s)
        except asyncio.TimeoutError:
            return False
        finally:
            if entry in self._state_waiters:
                self._state_waiters.remove(entry)

    # -- the loop ------------------------------------------------------------

    def _run(self, evs: Optional[List[Tuple[Any, ...]]]) -> None:
        if evs is not None:
            self._handle(evs)

    def _handle(self, evs: List[Tuple[Any, ...]]) -> None:
        """Acts on what the link returned, in order."""
        for ev in evs:
            kind = ev[0]
            if kind == "inbound" or kind == "passthrough" or kind == "interrupt":
                self._post(ev)
            elif kind == "state":
                self._on_state(ev[2])
            elif kind == "dial":
                self._start_dial(ev[1], ev[2], ev[3], ev[4])
            elif kind == "close" or kind == "abort":
                self._end_stream(ev[1], kind == "abort")
            elif kind == "dial_failed":
                self._first_dial_failed(UpgradeRefusedError(ev[2], ev[3]))
            elif kind == "dial_scheduled":
                if not self._reconnect:
                    # The core would wait out a backoff and re-dial: without
                    # reconnect the link ends here, as the reference's does.
                    logger.info("relay link closed; not reconnecting (reconnect=False)")
                    self._run(self._link.shutdown())  # type: ignore[union-attr]
            elif kind == "idle_refused":
                self._notify(ev)
            elif kind == "revoked":
                self._auth_revoked = True
                logger.warning("relay credential revoked; the link will not dial again")
            elif kind == "redial_held":
                logger.info("relay: re-dial held (a brokered suspend is in flight)")
            elif kind == "rejected":
                logger.warning("relay: skipped a frame: %s", ev[1])
            elif kind == "disconnected":
                logger.info("relay socket closed: code=%s reason=%s", ev[1], ev[2])

    def _on_state(self, to: str) -> None:
        if to == "handshaking":
            self._cancel_upgrade_deadline()
            first, self._first_dial = self._first_dial, None
            if first is not None and not first.done():
                first.set_result(True)
        elif to == "serving":
            waiters, self._handshake_waiters = self._handshake_waiters, []
            desc = _models.descriptor(self._link.descriptor(None)) if waiters else None  # type: ignore[union-attr]
            for fut in waiters:
                if not fut.done():
                    fut.set_result(desc)
        elif to in ("revoked", "closed"):
            self._fail_waiters(self._terminal_error())
        self._notify(("state", to))

    def _notify(self, ev: Tuple[Any, ...]) -> None:
        for check, fut in list(self._state_waiters):
            if fut.done():
                continue
            verdict = check(ev)
            if verdict is not None:
                fut.set_result(verdict)

    def _terminal_error(self) -> Exception:
        if self._auth_revoked:
            return RelayRevokedError("relay credential revoked")
        return TransportClosedError(_CLOSED)

    def _fail_waiters(self, exc: Exception) -> None:
        waiters, self._handshake_waiters = self._handshake_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_exception(exc)
        for _check, fut in list(self._state_waiters):
            if not fut.done():
                fut.set_result(False)
        self._first_dial_failed(exc)

    def _first_dial_failed(self, exc: BaseException) -> None:
        first, self._first_dial = self._first_dial, None
        if first is not None and not first.done():
            first.set_exception(exc)

    # timer

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, self._on_timer)  # type: ignore[union-attr]

    def _defer(self) -> bool:
        # Outside a socket read (which corks the link for its whole length):
        # frames go out on the next turn, together. The one asking is written
        # at once only when no other callback waits to run in this turn (a
        # lone request); with others (tasks that may send too), it waits for
        # them. Loops without asyncio's ready queue always write at once.
        loop = self._loop
        ready = getattr(loop, "_ready", None)
        lone = not ready
        loop.call_soon(self._uncork)  # type: ignore[union-attr]
        return lone

    def _uncork(self) -> None:
        link = self._link
        if link is not None:
            link.uncork()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        link = self._link
        if link is not None:
            self._run(link.timeout())

    # streams

    def _start_dial(self, dial_no: int, host: str, port: int, secure: bool) -> None:
        self._dial_tasks[dial_no] = self._loop.create_task(  # type: ignore[union-attr]
            self._dial(dial_no, host, port, secure), name="hermes-relay-dial"
        )

    async def _dial(self, dial_no: int, host: str, port: int, secure: bool) -> None:
        loop = self._loop
        try:
            if secure or not _FD_PATH:
                opening = self._open_asyncio(dial_no, host, port, secure)
            else:
                opening = self._open_plain(dial_no, host, port)
            transport, stream = await asyncio.wait_for(opening, self._connect_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every dial failure is reported to the core
            self._dial_tasks.pop(dial_no, None)
            link = self._link
            if link is None:
                return
            evs = link.connect_failed(dial_no, str(exc) or type(exc).__name__)
            self._first_dial_failed(exc)
            self._run(evs)
            return
        self._dial_tasks.pop(dial_no, None)
        link = self._link
        if link is None or not link.opened(dial_no, transport):
            transport.abort()
            return
        self._stream = stream
        self._paused_writing = False
        if isinstance(transport, _core.FdTransport):
            transport.start()
        # The upgrade shares the dial's deadline.
        self._cancel_upgrade_deadline()
        self._upgrade_timer = loop.call_later(  # type: ignore[union-attr]
            self._connect_timeout_s, self._upgrade_deadline, dial_no
        )

    async def _open_asyncio(self, dial_no: int, host: str, port: int, secure: bool) -> Tuple[Any, Stream]:
        """A stream on the loop's own transport (TLS when ``secure``). The
        socket is connected here, as for the link's own path: not every loop's
        ``create_connection`` races addresses (uvloop's takes no
        ``happy_eyeballs_delay``)."""
        loop = self._loop
        context = None
        if secure:
            context = self._ssl or ssl.create_default_context()
        sock = await _connect(loop, host, port)  # type: ignore[arg-type]
        try:
            return await loop.create_connection(  # type: ignore[union-attr,return-value]
                lambda: Stream(self, dial_no), sock=sock, ssl=context,
                server_hostname=host if secure else None)
        except BaseException:
            sock.close()
            raise

    async def _open_plain(self, dial_no: int, host: str, port: int) -> Tuple[Any, Stream]:
        """A plain TCP stream: connected here, then read and written by the
        link (``FdTransport``), or by asyncio's transport on a loop without
        ``add_reader`` (the Proactor)."""
        loop = self._loop
        sock = await _connect(loop, host, port)  # type: ignore[arg-type]
        try:
            try:
                # Both raise NotImplementedError where they cannot be used.
                loop.remove_reader(sock.fileno())  # type: ignore[union-attr]
                stream = Stream(self, dial_no)
                transport = _core.FdTransport(loop, sock, stream, self, dial_no)
            except NotImplementedError:
                return await loop.create_connection(  # type: ignore[union-attr,return-value]
                    lambda: Stream(self, dial_no), sock=sock)
        except BaseException:
            sock.close()
            raise
        stream.connection_made(transport)
        return transport, stream

    def _cancel_upgrade_deadline(self) -> None:
        if self._upgrade_timer is not None:
            self._upgrade_timer.cancel()
            self._upgrade_timer = None

    def _upgrade_deadline(self, dial_no: int) -> None:
        self._upgrade_timer = None
        link = self._link
        if link is None or not link.upgrading(dial_no):
            return
        stream = self._stream
        if stream is not None and stream.dial_no == dial_no:
            self._stream = None
            if stream.transport is not None:
                stream.transport.abort()
        exc = asyncio.TimeoutError("relay WebSocket upgrade timed out")
        self._first_dial_failed(exc)
        self._run(link.connect_failed(dial_no, str(exc)))

    def _end_stream(self, dial_no: int, abort: bool) -> None:
        stream = self._stream
        if stream is None or stream.dial_no != dial_no:
            return
        self._stream = None
        if stream.transport is None:
            return
        if abort:
            stream.transport.abort()
        else:
            self._closing_streams.add(stream)
            stream.close_after(_CLOSE_GRACE_S)

    def _stream_lost(self, stream: Stream, exc: Optional[BaseException]) -> None:
        self._closing_streams.discard(stream)
        if stream is not self._stream:
            return
        self._stream = None
        link = self._link
        if link is not None:
            self._run(link.lost(stream.dial_no, str(exc) if exc else "connection closed"))

    # application events

    def _post(self, ev: Tuple[Any, ...]) -> None:
        self._inbox.append(ev)
        if self._delivery_task is None:
            # One delivery task at a time, started on demand, eagerly where
            # asyncio can (3.12+): a handler that does not suspend then runs,
            # and is acked, without waiting for the loop's next turn.
            self._delivery_task = _STARTING
            task = _start_task(self._loop, self._deliver_all())  # type: ignore[arg-type]
            if not task.done():
                self._delivery_task = task
            elif self._delivery_task is _STARTING:
                self._delivery_task = None
        else:
            waiter, self._delivery_waiter = self._delivery_waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if len(self._inbox) > _INBOX_HIGH and not self._reading_paused:
            stream = self._stream
            if stream is not None and stream.transport is not None:
                self._reading_paused = True
                stream.transport.pause_reading()

    def _resume_reading(self) -> None:
        self._reading_paused = False
        stream = self._stream
        if stream is not None and stream.transport is not None and not stream.transport.is_closing():
            stream.transport.resume_reading()

    async def _deliver_all(self) -> None:
        """Hands every waiting event to its handler, in order, one at a time.
        Before 3.12 the task then stays, waiting for ``_post`` to wake it:
        cheaper than a task per event when it cannot start eagerly. The
        handler is awaited here, not through a coroutine per event."""
        inbox = self._inbox
        try:
            while True:
                while inbox:
                    ev = inbox.popleft()
                    if self._reading_paused and len(inbox) < _INBOX_LOW:
                        self._resume_reading()
                    kind = ev[0]
                    try:
                        if kind == "inbound":
                            handler = self._inbound
                            if handler is None:
                                continue
                            await handler(ev[1])
                        elif kind == "passthrough":
                            handler = self._passthrough_handler
                            if handler is None:
                                continue
                            await handler(ev[1], ev[2])
                        else:
                            handler = self._interrupt_inbound_handler
                            if handler is not None:
                                await handler(ev[1], ev[2])
                            continue
                        # Durable handoff: the handler returned, so a buffered
                        # delivery may be acknowledged. The core decides
                        # whether (and when) inbound_ack goes out.
                        buffer_id = ev[2]
                        link = self._link
                        if buffer_id and link is not None:
                            try:
                                evs = link.ack(buffer_id)
                            except _core.CommandRefusedError as exc:
                                logger.debug("relay: ack refused: %s", exc)
                            else:
                                if evs is not None:
                                    self._handle(evs)
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # noqa: BLE001 - a failing handler never stops the link
                        logger.warning("relay %s handler raised; not acknowledged", kind, exc_info=True)
                if _EAGER:
                    return
                # Woken at the end of the read that posts the next event,
                # in the same loop turn (see ``_future``).
                waiter = LinkFuture(self._loop, self)  # type: ignore[arg-type]
                self._delivery_waiter = waiter
                await waiter
        finally:
            if _EAGER:
                self._delivery_task = None


_STARTING = object()


async def _connect(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A connected non-blocking TCP socket to ``host``: its addresses tried
    as ``loop.create_connection`` tries them with a happy-eyeballs delay
    (staggered, address families taking turns), the losers closed."""
    infos = _alternate_families(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned empty list")
    opened: List[socket.socket] = []

    async def attempt(info: Tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, address = info
        sock = socket.socket(family, type_, proto)
        opened.append(sock)
        sock.setblocking(False)
        if family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, address)
        return sock

    winner: Optional[socket.socket] = None
    try:
        if len(infos) == 1:
            winner = await attempt(infos[0])
        else:
            from asyncio import staggered

            winner, _, errors = await staggered.staggered_race(
                [functools.partial(attempt, info) for info in infos], _HAPPY_EYEBALLS_S)
            if winner is None:
                errors = [e for e in errors if e is not None]
                texts = {str(e) for e in errors}
                if len(errors) == 1 or len(texts) == 1:
                    raise errors[0]
                raise OSError("Multiple exceptions: " + ", ".join(str(e) for e in errors))
        return winner
    finally:
        for sock in opened:
            if sock is not winner:
                sock.close()


def _alternate_families(infos: List[Tuple[Any, ...]]) -> List[Tuple[Any, ...]]:
    """The resolver's addresses with their families taking turns (each
    family's own order kept, the first answer's family first): when every
    address of one family hangs, another family is tried after one
    staggering delay rather than after one per address."""
    by_family: Dict[Any, Deque[Tuple[Any, ...]]] = {}
    for info in infos:
        by_family.setdefault(info[0], collections.deque()).append(info)
    if len(by_family) < 2:
        return list(infos)
    out: List[Tuple[Any, ...]] = []
    queues = list(by_family.values())
    while queues:
        for queue in queues:
            out.append(queue.popleft())
        queues = [queue for queue in queues if queue]
    return out


def _start_task(loop: asyncio.AbstractEventLoop, coro: Any) -> "asyncio.Task[None]":
    """A task for ``coro``, started eagerly where asyncio can (3.12+)."""
    if _EAGER:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
    return loop.create_task(coro)


_EAGER = sys.version_info >= (3, 12)


def _disconnect_budget(budget_s: Optional[float]) -> float:
    """The caller's budget, else the runner's from the environment, else 5 s."""
    if budget_s is not None:
        return max(0.0, budget_s)
    raw = os.environ.get(_DISCONNECT_BUDGET_ENV, "").strip()
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            logger.warning("relay: %s=%r is not a number; using %s s", _DISCONNECT_BUDGET_ENV, raw,
                           _DISCONNECT_BUDGET_S)
    return _DISCONNECT_BUDGET_S
