"""Minimal stand-ins for the heavy modules the reference's relay package imports.

The reference's `gateway/relay/` imports the platform enum, the message event
and session source dataclasses and the platform adapter base class from the
rest of its gateway package, which pulls in a large dependency tree (YAML,
HTTP clients, model SDKs, ...). The interop suite needs none of that: these
small classes, written for this suite, provide the names and fields the relay
modules use, and `install()` registers them in `sys.modules` before the
reference's relay modules are imported. The relay modules themselves
(`ws_transport`, `adapter`, `auth`, `descriptor`, `transport`) are the
installed package's own, unmodified.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import types
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional


class Platform(str, Enum):
    """The platform names the relay modules look up (unknown ones become RELAY)."""

    RELAY = "relay"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    SLACK = "slack"
    WHATSAPP = "whatsapp"
    SIGNAL = "signal"
    MATRIX = "matrix"
    MATTERMOST = "mattermost"


@dataclass
class PlatformConfig:
    """Per-platform configuration (the relay adapter only stores it)."""

    enabled: bool = True
    extra: Dict[str, Any] = field(default_factory=dict)


class MessageType(str, Enum):
    """The message types an inbound event may carry."""

    TEXT = "text"
    LOCATION = "location"
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    COMMAND = "command"


class _Record:
    """A keyword-argument record: every keyword becomes an attribute."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"


class SessionSource(_Record):
    """Where a message came from (any keyword the transport passes is kept)."""


class MessageEvent(_Record):
    """One inbound message (any keyword the transport passes is kept)."""


@dataclass
class SendResult:
    """The outcome of an outbound call."""

    success: bool
    message_id: Optional[str] = None
    error: Optional[str] = None


class BasePlatformAdapter:
    """Records what the relay adapter hands to the rest of the gateway."""

    def __init__(self, config: PlatformConfig, platform: Platform) -> None:
        self.config = config
        self.platform = platform
        self.messages: List[Any] = []
        self.interrupts: List[tuple] = []
        self.fatal: Optional[tuple] = None
        self.fatal_notified = 0
        self._arrived = asyncio.Event()

    async def handle_message(self, event: Any) -> None:
        self.messages.append(event)
        self._arrived.set()

    async def interrupt_session_activity(self, session_key: str, chat_id: str) -> None:
        self.interrupts.append((session_key, chat_id))
        self._arrived.set()

    def _set_fatal_error(self, code: str, message: str, *, retryable: bool) -> None:
        self.fatal = (code, message, retryable)

    async def _notify_fatal_error(self) -> None:
        self.fatal_notified += 1


def _package(name: str, path: Optional[List[str]] = None) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = list(path or [])  # a package: submodules load from here
    return module


def install() -> None:
    """Registers the stand-ins so `gateway.relay.*` imports without its heavy
    siblings. The `gateway` package's own `__init__` (which imports the whole
    gateway) is skipped: `gateway` is registered as a bare package whose
    submodules load from the installed directory."""
    if "gateway.relay.ws_transport" in sys.modules:
        return
    spec = importlib.util.find_spec("gateway")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the reference package (hermes-agent) is not installed")
    root = list(spec.submodule_search_locations)
    sys.modules["gateway"] = _package("gateway", root)
    sys.modules["gateway.platforms"] = _package(
        "gateway.platforms", [p + "/platforms" for p in root]
    )
    config = types.ModuleType("gateway.config")
    config.Platform = Platform
    config.PlatformConfig = PlatformConfig
    sys.modules["gateway.config"] = config
    base = types.ModuleType("gateway.platforms.base")
    base.MessageEvent = MessageEvent
    base.MessageType = MessageType
    base.SendResult = SendResult
    base.BasePlatformAdapter = BasePlatformAdapter
    sys.modules["gateway.platforms.base"] = base
    session = types.ModuleType("gateway.session")
    session.SessionSource = SessionSource
    sys.modules["gateway.session"] = session
