"""A scripted WebSocket peer on 127.0.0.1 for fault tests.

Written against RFC 6455 directly (no library) so a script controls every
byte, including writing the 101 response and a close frame in one write.
Each accepted connection runs ``script(peer)``; the server records every
connection so tests can tell how many were opened and which are still open.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import time
from typing import Awaitable, Callable, List, Optional

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Closed(Exception):
    """The client closed or dropped the connection."""


class Peer:
    def __init__(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.index = index
        self.reader = reader
        self.writer = writer
        self.headers: dict = {}
        self.opened_at = time.monotonic()
        self.closed_at: Optional[float] = None
        self.client_closed = False
        self.close_code: Optional[int] = None
        self.lines: List[dict] = []
        self._buf = ""

    @property
    def open(self) -> bool:
        return self.closed_at is None

    async def _read_request(self) -> Optional[bytes]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        key = self.headers.get("sec-websocket-key", "")
        return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())

    def response_101(self, accept: bytes) -> bytes:
        return (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )

    @staticmethod
    def frame(opcode: int, payload: bytes) -> bytes:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        return head + payload

    @classmethod
    def close_frame(cls, code: int, reason: str = "") -> bytes:
        return cls.frame(0x8, struct.pack("!H", code) + reason.encode())

    async def send_text(self, text: str) -> None:
        self.writer.write(self.frame(0x1, text.encode()))
        await self.writer.drain()

    async def send_binary(self, data: bytes) -> None:
        self.writer.write(self.frame(0x2, data))
        await self.writer.drain()

    async def send_frame(self, obj: dict) -> None:
        await self.send_text(json.dumps(obj) + "\n")

    async def close(self, code: int, reason: str = "") -> None:
        try:
            self._sent_close = True
            self.writer.write(self.close_frame(code, reason))
            await self.writer.drain()
            await asyncio.wait_for(self._drain_until_closed(), 2.0)
        except (Closed, asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        self.writer.close()

    async def _drain_until_closed(self) -> None:
        while True:
            await self._read_frame()

    async def _read_frame(self) -> Optional[str]:
        try:
            b1, b2 = await self.reader.readexactly(2)
            n = b2 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
            mask = await self.reader.readexactly(4) if b2 & 0x80 else b"\0\0\0\0"
            data = bytearray(await self.reader.readexactly(n))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise Closed() from exc
        for i in range(len(data)):
            data[i] ^= mask[i % 4]
        opcode = b1 & 0x0F
        if opcode == 0x8:
            self.client_closed = True
            if len(data) >= 2:
                (self.close_code,) = struct.unpack("!H", bytes(data[:2]))
            if self.writer.is_closing() or getattr(self, "_sent_close", False):
                raise Closed()
            try:
                self.writer.write(self.frame(0x8, bytes(data[:2])))
                await self.writer.drain()
            except ConnectionError:
                pass
            raise Closed()
        if opcode == 0x9:
            self.writer.write(self.frame(0xA, bytes(data)))
            return None
        if opcode in (0x1, 0x2, 0x0):
            return data.decode("utf-8", "replace")
        return None

    async def recv_frame(self, timeout: float = 5.0) -> dict:
        """The next JSON frame the client sent (hello, outbound, ...)."""
        deadline = time.monotonic() + timeout
        while "\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError()
            text = await asyncio.wait_for(self._read_frame(), left)
            if text is not None:
                self._buf += text
        line, self._buf = self._buf.split("\n", 1)
        frame = json.loads(line)
        self.lines.append(frame)
        return frame

    async def recv_type(self, ftype: str, timeout: float = 5.0) -> dict:
        while True:
            frame = await self.recv_frame(timeout)
            if frame.get("type") == ftype:
                return frame

    async def idle(self) -> None:
        """Read (and record) until the client goes away."""
        try:
            while True:
                await self.recv_frame(timeout=3600)
        except (Closed, asyncio.TimeoutError, json.JSONDecodeError):
            pass


Script = Callable[[Peer], Awaitable[None]]


class MiniConnector:
    """``async with MiniConnector(script) as mc:`` serves ``mc.url``."""

    def __init__(self, script: Script, *, close_with_101: Optional[Callable[[int], Optional[int]]] = None):
        self.script = script
        # close_with_101(index) -> a close code to send in the same write as
        # the 101 response (then the connection ends), or None.
        self.close_with_101 = close_with_101
        self.peers: List[Peer] = []
        self.server: Optional[asyncio.base_events.Server] = None
        self.url = ""

    async def __aenter__(self) -> "MiniConnector":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        for p in self.peers:
            p.writer.close()
        await asyncio.wait_for(self.server.wait_closed(), 5.0)

    def open_peers(self) -> List[Peer]:
        return [p for p in self.peers if p.open]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(len(self.peers) + 1, reader, writer)
        self.peers.append(peer)
        try:
            accept = await peer._read_request()
            code = self.close_with_101(peer.index) if self.close_with_101 else None
            if code is not None:
                writer.write(peer.response_101(accept) + Peer.close_frame(code, "unauthorized"))
                await writer.drain()
                try:
                    await asyncio.wait_for(peer._drain_until_closed(), 2.0)
                except (Closed, asyncio.TimeoutError):
                    pass
                writer.close()
                return
            writer.write(peer.response_101(accept))
            await writer.drain()
            await self.script(peer)
        except (Closed, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if peer.closed_at is None:
                # The script ended; wait for the client to go away so "still
                # open" really means the client kept the socket.
                try:
                    if not writer.is_closing():
                        await peer.idle()
                finally:
                    peer.closed_at = time.monotonic()
                    writer.close()


def descriptor(platform: str = "telegram", **over) -> dict:
    d = {
        "contract_version": 1,
        "platform": platform,
        "label": platform.title(),
        "max_message_length": 4096,
        "supports_draft_streaming": False,
        "supports_edit": True,
        "supports_threads": False,
        "markdown_dialect": "plain",
        "len_unit": "chars",
    }
    d.update(over)
    return d
