"""An asyncio driver for the relay-rs gateway core.

``WebSocketRelayTransport`` has the constructor, coroutines, result
dictionaries and handler signatures of the Hermes gateway's transport of the
same name, so it can be passed wherever that one is. Underneath, every
protocol decision is made by the Rust core (``hermes_relay._core``): when to
dial and re-dial, what a 4401 means, which frames to send, when a request has
timed out, when a buffered delivery may be acked, when to give up on going
idle. This module only moves bytes between the core and a ``websockets``
connection, keeps one timer at the core's deadline, and hands events to the
application.

The loop contract: after every input (a socket event, a timer expiry or an
application command) the core is drained until it asks to wait; each output
is carried out in order.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Tuple

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from . import _core
from . import _models

logger = logging.getLogger("hermes_relay")

_NOT_CONNECTED = "relay transport not connected"
_CLOSED = "relay transport closed"
_PING = object()
# Largest WebSocket message accepted from the connector. The core bounds each
# NDJSON line (1 MiB by default); one message may carry a few lines.
_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# How many undelivered application events the reader may run ahead of the
# handlers before it stops reading the socket (backpressure).
_INBOX_HIGH = 1024
_INBOX_LOW = 128

InboundHandler = Callable[[Any], Awaitable[None]]


class TransportClosedError(_core.RelayError, RuntimeError):
    """The transport was shut down (``disconnect()``) while a caller waited."""


class RelayRevokedError(_core.RelayError, RuntimeError):
    """The connector revoked this gateway's credential; the link is terminal."""


class _Socket:
    """One live WebSocket: its writer queue and its two tasks."""

    __slots__ = ("ws", "out", "wake", "busy", "reader", "writer")

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.out: Deque[Any] = collections.deque()
        self.wake = asyncio.Event()
        # True while some task is writing this socket's queue; whoever holds
        # it writes everything queued, in order, before letting go.
        self.busy = False
        self.reader: Optional[asyncio.Task[None]] = None
        self.writer: Optional[asyncio.Task[None]] = None


class WebSocketRelayTransport:
    """The gateway's relay link, driven by the relay-rs core.

    Arguments are those of the Hermes transport. ``connect_timeout_s`` bounds
    the WebSocket upgrade and ``handshake()``, and is the core's handshake
    timeout; ``outbound_timeout_s`` is the core's request deadline;
    ``reconnect_backoff_s`` and ``reconnect_max_backoff_s`` shape the core's
    backoff ladder. The keyword-only extras (``idle_ack_timeout_s``,
    ``dormant_redial_s``, ``seed``, ``revocation``, ``max_frame_bytes``) have
    defaults matching the reference's behaviour.
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
    ) -> None:
        self._platform = platform
        self._bot_id = bot_id
        self._identities = [tuple(i) for i in identities] if identities else [(platform, bot_id)]
        self._connect_timeout_s = connect_timeout_s
        self._reconnect = reconnect
        self._seed = seed
        self._config = _core.Config(
            url,
            [(str(p), str(b or "")) for p, b in self._identities],
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
            dormant_redial_s=dormant_redial_s if reconnect else None,
            revocation=revocation,
            max_frame_bytes=max_frame_bytes,
        )
        self._url = self._config.dial_url

        self._inbound: Optional[InboundHandler] = None
        self._interrupt_inbound_handler: Optional[Callable[[str, str], Awaitable[None]]] = None
        self._passthrough_handler: Optional[Callable[[Any, Optional[str]], Awaitable[None]]] = None

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._conn: Optional[_core.Connection] = None
        self._epoch = 0.0
        self._sock: Optional[_Socket] = None
        self._dial_gen = 0
        self._dial_task: Optional[asyncio.Task[None]] = None
        self._first_dial: Optional[asyncio.Future[bool]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._armed: Optional[int] = None
        self._pending: Dict[str, asyncio.Future[Dict[str, Any]]] = {}
        self._handshake_waiters: List[asyncio.Future[Any]] = []
        self._idle_waiters: List[asyncio.Future[bool]] = []
        self._inbox: Deque[Tuple[str, Any]] = collections.deque()
        self._inbox_ready = asyncio.Event()
        self._inbox_drained = asyncio.Event()
        self._dispatcher: Optional[asyncio.Task[None]] = None
        self._closers: set = set()
        self._auth_revoked = False

    # -- clock -------------------------------------------------------------

    def _now(self) -> int:
        return int((self._loop.time() - self._epoch) * 1000.0)  # type: ignore[union-attr]

    # -- lifecycle -----------------------------------------------------------

    async def connect(self) -> bool:
        """Start the link and wait for the first WebSocket upgrade.

        Returns True once the socket is open (the handshake continues in the
        background; await ``handshake()`` for the descriptor). If the first
        dial fails, the link is shut down and the dial's exception is raised.
        Calling it on a live link is a no-op that returns True.
        """
        if self._conn is not None and not self._conn.is_terminal:
            return True
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._epoch = loop.time()
        seed = self._seed if self._seed is not None else int.from_bytes(os.urandom(8), "little")
        self._conn = _core.Connection(self._config, seed, 0, int(time.time()))
        self._first_dial = loop.create_future()
        self._inbox_ready = asyncio.Event()
        self._inbox_drained = asyncio.Event()
        self._dispatcher = loop.create_task(self._dispatch_loop(), name="hermes-relay-dispatch")
        self._pump()
        try:
            await asyncio.wait_for(asyncio.shield(self._first_dial), self._connect_timeout_s)
        except BaseException:
            await self._teardown()
            raise
        return True

    async def disconnect(self) -> None:
        """Deliberate shutdown: pending requests end with a failed result,
        the socket closes with 1000, and the link never dials again."""
        if self._conn is None:
            return
        self._conn.shutdown(self._now())
        self._pump()
        await self._teardown()

    async def _teardown(self) -> None:
        conn = self._conn
        if conn is not None and not conn.is_terminal:
            conn.shutdown(self._now())
            self._pump()
        self._disarm()
        self._dial_gen += 1
        if self._dial_task is not None:
            self._dial_task.cancel()
            self._dial_task = None
        sock, self._sock = self._sock, None
        if sock is not None:
            self._abort(sock)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_result({"success": False, "error": _CLOSED, "ambiguous": True})
        self._pending.clear()
        self._fail_waiters(TransportClosedError(_CLOSED))
        closers = [t for t in self._closers if not t.done()]
        if closers:
            await asyncio.wait(closers, timeout=3.0)
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            try:
                await self._dispatcher
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - teardown
                pass
            self._dispatcher = None

    async def handshake(self) -> Any:
        """The default platform's capability descriptor, once serving.

        Waits up to ``connect_timeout_s`` across re-dials: a waiting caller is
        resolved by whichever connection completes the handshake.
        """
        conn = self._conn
        if conn is None:
            raise RuntimeError("handshake() called before connect()")
        if conn.state in ("serving", "going_idle"):
            return _models.descriptor(conn.descriptor(None))
        if conn.is_terminal:
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
        buffered, revoked or closed (``closed`` before ``connect()``)."""
        return self._conn.state if self._conn is not None else "closed"

    def stats(self) -> Dict[str, int]:
        """The core's counters."""
        return self._conn.stats() if self._conn is not None else {}

    def descriptor_for_platform(self, platform: Optional[str] = None) -> Any:
        """The descriptor the connector sent for ``platform`` (the default
        one for None), or None when there is none."""
        if self._conn is None:
            return None
        return _models.descriptor(self._conn.descriptor(platform))

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

        ``platform`` is accepted for compatibility; the per-frame platform tag
        is the core's (learned from inbound traffic, as the adapter does).
        """
        conn = self._conn
        if conn is None:
            return {"success": False, "error": _NOT_CONNECTED}
        try:
            request_id = conn.send(self._now(), action)
        except _core.NotConnectedError:
            return {"success": False, "error": _NOT_CONNECTED}
        except _core.OpNotSupportedError:
            return {"success": False, "error": "Not supported"}
        except _core.SendRefusedError as exc:
            return {"success": False, "error": str(exc)}
        fut: asyncio.Future[Dict[str, Any]] = self._loop.create_future()  # type: ignore[union-attr]
        self._pending[request_id] = fut
        self._pump(inline=True)
        try:
            await self._flush_inline()
            return await fut
        finally:
            self._pending.pop(request_id, None)

    async def send_follow_up(
        self, action: Dict[str, Any], *, platform: Optional[str] = None
    ) -> Dict[str, Any]:
        return await self.send_outbound(action, platform=platform)

    async def get_chat_info(self, chat_id: str) -> Dict[str, Any]:
        result = await self.send_outbound({"op": "get_chat_info", "chat_id": chat_id})
        info = result.get("chat_info") or result
        return {"name": info.get("name", chat_id), "type": info.get("type", "dm")}

    async def send_interrupt(self, session_key: str, reason: Optional[str] = None) -> None:
        conn = self._conn
        if conn is None:
            raise RuntimeError(_NOT_CONNECTED)
        try:
            conn.interrupt(self._now(), session_key, reason)
        except _core.NotConnectedError as exc:
            raise RuntimeError(_NOT_CONNECTED) from exc
        self._pump(inline=True)
        await self._flush_inline()

    # -- idle --------------------------------------------------------------

    async def go_idle(self, timeout_s: float = 10.0) -> bool:
        """Ask the connector to buffer for this gateway.

        True once the connector acknowledged (the core then closes the socket
        and the link is buffered until ``wake()`` or, with ``reconnect=True``,
        the dormant re-dial cadence). False when not serving or when the core
        gave up waiting for the ack (still serving). The ack deadline is the
        core's ``idle_ack_timeout_s``; ``timeout_s`` is accepted for
        compatibility.
        """
        conn = self._conn
        if conn is None or conn.state != "serving":
            return False
        try:
            conn.go_idle(self._now())
        except _core.CommandRefusedError:
            return False
        fut: asyncio.Future[bool] = self._loop.create_future()  # type: ignore[union-attr]
        self._idle_waiters.append(fut)
        self._pump()
        try:
            return await fut
        finally:
            if fut in self._idle_waiters:
                self._idle_waiters.remove(fut)

    async def go_dormant(self, timeout_s: float = 10.0) -> bool:
        """``go_idle()``: an acknowledged flip already leaves the socket closed
        and the link buffered, re-dialing on the dormant cadence."""
        return await self.go_idle(timeout_s=timeout_s)

    def wake(self) -> None:
        """Re-dial now if buffered (a no-op while live)."""
        if self._conn is not None and not self._conn.is_terminal:
            self._conn.wake(self._now())
            self._pump()

    # -- the loop ------------------------------------------------------------

    def _pump(self, inline: bool = False) -> None:
        """Drain the core and carry out each output in order.

        Frames go to the socket's queue. With ``inline`` the calling
        coroutine writes them itself right after (``_flush_inline``), which
        saves a hop through the writer task on the request path."""
        conn = self._conn
        if conn is None:
            return
        outs, deadline = conn.drain()
        for out in outs:
            kind = type(out)
            if kind is _core.Transmit:
                sock = self._sock
                if sock is not None:
                    sock.out.append(out.text)
                    if not inline and not sock.busy:
                        sock.wake.set()
            elif kind is _core.Response:
                fut = self._pending.get(out.request_id)
                if fut is not None and not fut.done():
                    fut.set_result(out.result)
            elif kind is _core.RequestFailed:
                fut = self._pending.get(out.request_id)
                if fut is not None and not fut.done():
                    fut.set_result(out.result)
            elif kind is _core.Inbound:
                self._post("inbound", out)
            elif kind is _core.Passthrough:
                self._post("passthrough", out)
            elif kind is _core.Interrupt:
                self._post("interrupt", out)
            elif kind is _core.Dial:
                self._start_dial(out.url, out.headers)
            elif kind is _core.Close:
                self._close_socket(out.code, out.reason)
            elif kind is _core.Ping:
                sock = self._sock
                if sock is not None:
                    sock.out.append(_PING)
                    if not sock.busy:
                        sock.wake.set()
            elif kind is _core.StateChanged:
                self._on_state(out.to_state)
            elif kind is _core.IdleRefused:
                self._resolve_idle(False)
            elif kind is _core.Revoked:
                self._auth_revoked = True
                logger.warning("relay credential revoked; the link will not dial again")
            elif kind is _core.FrameRejected:
                logger.warning("relay: skipped a frame: %s", out.error)
            elif kind is _core.Disconnected:
                logger.info("relay socket closed: code=%s reason=%s", out.code, out.reason)
        self._arm(deadline)

    def _on_state(self, to: str) -> None:
        if to == "serving":
            waiters, self._handshake_waiters = self._handshake_waiters, []
            desc = _models.descriptor(self._conn.descriptor(None)) if waiters else None  # type: ignore[union-attr]
            for fut in waiters:
                if not fut.done():
                    fut.set_result(desc)
        elif to == "buffered":
            self._resolve_idle(True)
        elif to in ("revoked", "closed"):
            self._resolve_idle(False)
            self._fail_waiters(self._terminal_error())
            self._disarm()

    def _terminal_error(self) -> Exception:
        if self._auth_revoked:
            return RelayRevokedError("relay credential revoked")
        return TransportClosedError(_CLOSED)

    def _fail_waiters(self, exc: Exception) -> None:
        waiters, self._handshake_waiters = self._handshake_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_exception(exc)
        self._resolve_idle(False)

    def _resolve_idle(self, ok: bool) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(ok)

    # timer

    def _arm(self, deadline: Optional[int]) -> None:
        if deadline == self._armed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed = deadline
        if deadline is not None and self._loop is not None:
            when = self._epoch + (deadline + 1) / 1000.0
            self._timer = self._loop.call_at(when, self._on_timer)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._armed = None

    def _on_timer(self) -> None:
        self._timer = None
        self._armed = None
        if self._conn is not None:
            self._conn.handle_timeout(self._now())
            self._pump()

    # dialing

    def _start_dial(self, url: str, headers: List[Tuple[str, str]]) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._abort(sock)
        self._dial_gen += 1
        if self._dial_task is not None and not self._dial_task.done():
            self._dial_task.cancel()
        self._dial_task = self._loop.create_task(  # type: ignore[union-attr]
            self._dial(self._dial_gen, url, headers), name="hermes-relay-dial"
        )

    async def _dial(self, gen: int, url: str, headers: List[Tuple[str, str]]) -> None:
        try:
            ws = await websockets.connect(
                url,
                additional_headers=list(headers) or None,
                open_timeout=self._connect_timeout_s,
                ping_interval=None,
                ping_timeout=None,
                close_timeout=2.0,
                max_size=_MAX_MESSAGE_BYTES,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every dial failure is reported to the core
            if gen != self._dial_gen or self._conn is None:
                return
            status = None
            if isinstance(exc, InvalidStatus):
                status = exc.response.status_code
            self._conn.handle_dial_failed(self._now(), status, str(exc))
            first, self._first_dial = self._first_dial, None
            if first is not None and not first.done():
                first.set_exception(exc)
            self._pump()
            return
        if gen != self._dial_gen or self._conn is None:
            self._spawn_close(ws, 1000, "unexpected socket")
            return
        sock = _Socket(ws)
        self._sock = sock
        sock.reader = self._loop.create_task(self._read(sock), name="hermes-relay-reader")  # type: ignore[union-attr]
        sock.writer = self._loop.create_task(self._write(sock), name="hermes-relay-writer")  # type: ignore[union-attr]
        first, self._first_dial = self._first_dial, None
        if first is not None and not first.done():
            first.set_result(True)
        self._conn.handle_opened(self._now())
        self._pump()

    # one socket

    async def _read(self, sock: _Socket) -> None:
        ws = sock.ws
        code: Optional[int] = None
        reason = ""
        try:
            while True:
                msg = await ws.recv()
                if sock is not self._sock:
                    return
                self._conn.handle_message(self._now(), msg)  # type: ignore[union-attr]
                self._pump()
                if len(self._inbox) > _INBOX_HIGH:
                    self._inbox_drained.clear()
                    await self._inbox_drained.wait()
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                code, reason = exc.rcvd.code, exc.rcvd.reason
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any socket error ends this socket
            reason = str(exc)
        if sock is self._sock and self._conn is not None:
            self._sock = None
            sock.wake.set()
            self._conn.handle_closed(self._now(), code, reason)
            self._pump()

    async def _write(self, sock: _Socket) -> None:
        try:
            while True:
                await sock.wake.wait()
                sock.wake.clear()
                if not sock.busy and await self._flush(sock):
                    return
                if sock is not self._sock and not sock.out:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the reader reports the socket's end
            return

    async def _flush(self, sock: _Socket) -> bool:
        """Write everything queued, in order; True once the socket is closed."""
        ws = sock.ws
        out = sock.out
        sock.busy = True
        try:
            while out:
                item = out.popleft()
                if item.__class__ is str:
                    await ws.send(item)
                elif item is _PING:
                    waiter = await ws.ping()
                    waiter.add_done_callback(lambda f, s=sock: self._on_pong(s, f))
                else:
                    code, reason = item
                    await ws.close(code, reason)
                    return True
            return False
        finally:
            sock.busy = False
            if out:
                sock.wake.set()

    async def _flush_inline(self) -> None:
        sock = self._sock
        if sock is None or not sock.out:
            return
        if sock.busy:
            return  # the task holding it writes what was just queued
        try:
            await self._flush(sock)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the reader reports the socket's end
            pass

    def _on_pong(self, sock: _Socket, fut: "asyncio.Future[Any]") -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        if sock is self._sock and self._conn is not None:
            self._conn.handle_pong(self._now())
            self._pump()

    def _close_socket(self, code: int, reason: str) -> None:
        sock, self._sock = self._sock, None
        if self._dial_task is not None and not self._dial_task.done():
            self._dial_gen += 1
            self._dial_task.cancel()
        if sock is None:
            return
        if sock.reader is not None:
            sock.reader.cancel()
        if code == 1006:
            self._abort(sock)
            return
        # The writer flushes what was queued before the close, then closes.
        sock.out.append((code, reason))
        if not sock.busy:
            sock.wake.set()
        if sock.writer is not None:
            self._closers.add(sock.writer)
            sock.writer.add_done_callback(self._closers.discard)

    def _abort(self, sock: _Socket) -> None:
        for task in (sock.reader, sock.writer):
            if task is not None:
                task.cancel()
        transport = getattr(sock.ws, "transport", None)
        if transport is not None:
            transport.abort()

    def _spawn_close(self, ws: Any, code: int, reason: str) -> None:
        task = self._loop.create_task(ws.close(code, reason))  # type: ignore[union-attr]
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    # application events

    def _post(self, kind: str, event: Any) -> None:
        self._inbox.append((kind, event))
        self._inbox_ready.set()

    async def _dispatch_loop(self) -> None:
        inbox = self._inbox
        while True:
            if not inbox:
                self._inbox_drained.set()
                self._inbox_ready.clear()
                await self._inbox_ready.wait()
                continue
            kind, ev = inbox.popleft()
            if len(inbox) < _INBOX_LOW:
                self._inbox_drained.set()
            try:
                await self._deliver(kind, ev)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failing handler never stops the link
                logger.warning("relay %s handler raised; not acknowledged", kind, exc_info=True)

    async def _deliver(self, kind: str, ev: Any) -> None:
        if kind == "inbound":
            handler = self._inbound
            if handler is None:
                return
            await handler(_models.message_event(ev.event))
        elif kind == "passthrough":
            handler = self._passthrough_handler
            if handler is None:
                return
            await handler(_models.passthrough(ev), ev.buffer_id)
        else:
            handler = self._interrupt_inbound_handler
            if handler is not None:
                await handler(ev.session_key, ev.chat_id)
            return
        # Durable handoff: the handler returned, so a buffered delivery may be
        # acknowledged. The core decides whether (and when) inbound_ack goes out.
        if ev.buffer_id and self._conn is not None:
            try:
                self._conn.ack(self._now(), ev.buffer_id)
            except _core.CommandRefusedError as exc:
                logger.debug("relay: ack refused: %s", exc)
            self._pump(inline=True)
            await self._flush_inline()
