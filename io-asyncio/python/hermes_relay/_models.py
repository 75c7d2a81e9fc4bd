"""The objects handed to application handlers.

When the Hermes ``gateway`` package is importable, inbound events are built
from its own classes (``gateway.platforms.base.MessageEvent``,
``gateway.session.SessionSource``, ``gateway.relay.descriptor.CapabilityDescriptor``)
so existing handlers see exactly the types they already know. Otherwise the
small stand-ins below are used: same attribute names, no Hermes dependency.

Nothing here decides anything about the protocol: the core has already
validated and normalised every value; this module only re-shapes dicts.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple


class Platform(str, enum.Enum):
    """Stand-in for ``gateway.config.Platform`` (the values the relay uses)."""

    LOCAL = "local"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    WHATSAPP = "whatsapp"
    WHATSAPP_CLOUD = "whatsapp_cloud"
    SLACK = "slack"
    SIGNAL = "signal"
    MATTERMOST = "mattermost"
    MATRIX = "matrix"
    HOMEASSISTANT = "homeassistant"
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"
    FEISHU = "feishu"
    RELAY = "relay"


class MessageType(enum.Enum):
    """Stand-in for ``gateway.platforms.base.MessageType``."""

    TEXT = "text"
    LOCATION = "location"
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    COMMAND = "command"


@dataclass
class SessionSource:
    """Stand-in for ``gateway.session.SessionSource``."""

    platform: Any
    chat_id: str
    chat_name: Optional[str] = None
    chat_type: str = "dm"
    user_id: Optional[str] = None
    user_name: Optional[str] = None
    thread_id: Optional[str] = None
    chat_topic: Optional[str] = None
    user_id_alt: Optional[str] = None
    chat_id_alt: Optional[str] = None
    is_bot: bool = False
    scope_id: Optional[str] = None
    guild_id: Optional[str] = None
    parent_chat_id: Optional[str] = None
    message_id: Optional[str] = None
    profile: Optional[str] = None
    delivered_via_upstream_relay: bool = False


@dataclass
class MessageEvent:
    """Stand-in for ``gateway.platforms.base.MessageEvent``."""

    text: str
    message_type: Any = MessageType.TEXT
    source: Any = None
    raw_message: Any = None
    message_id: Optional[str] = None
    media_urls: List[str] = field(default_factory=list)
    media_types: List[str] = field(default_factory=list)
    reply_to_message_id: Optional[str] = None
    reply_to_text: Optional[str] = None
    channel_context: Optional[str] = None


@dataclass(frozen=True)
class CapabilityDescriptor:
    """Stand-in for ``gateway.relay.descriptor.CapabilityDescriptor``."""

    contract_version: int
    platform: str
    label: str
    max_message_length: int
    supports_draft_streaming: bool
    supports_edit: bool
    supports_threads: bool
    markdown_dialect: str
    len_unit: str
    emoji: str = "\U0001f50c"
    platform_hint: str = ""
    pii_safe: bool = False
    supports_context: bool = False

    @classmethod
    def from_json(cls, data: str) -> "CapabilityDescriptor":
        raw = json.loads(data)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass
class PassthroughForward:
    """A passthrough request the connector forwarded (body already decoded)."""

    platform: str
    bot_id: str
    method: str
    path: str
    headers: List[Tuple[str, str]]
    body: bytes


# Prefer the application's own classes when they are importable.
try:  # pragma: no cover - depends on the environment
    from gateway.config import Platform as _HermesPlatform
    from gateway.platforms.base import MessageEvent as _HermesMessageEvent
    from gateway.platforms.base import MessageType as _HermesMessageType
    from gateway.relay.descriptor import CapabilityDescriptor as _HermesDescriptor
    from gateway.session import SessionSource as _HermesSessionSource
except Exception:  # noqa: BLE001 - any import failure means "use the stand-ins"
    HERMES_CLASSES = False
else:  # pragma: no cover - depends on the environment
    HERMES_CLASSES = True
    Platform = _HermesPlatform  # type: ignore[misc]
    MessageType = _HermesMessageType  # type: ignore[misc]
    MessageEvent = _HermesMessageEvent  # type: ignore[misc]
    SessionSource = _HermesSessionSource  # type: ignore[misc]
    CapabilityDescriptor = _HermesDescriptor  # type: ignore[misc]

try:  # pragma: no cover - depends on the environment
    from gateway.relay.ws_transport import PassthroughForward as _HermesForward
except Exception:  # noqa: BLE001
    pass
else:  # pragma: no cover
    PassthroughForward = _HermesForward  # type: ignore[misc]

_SOURCE_FIELDS = {f.name for f in fields(SessionSource)}
_EVENT_FIELDS = {f.name for f in fields(MessageEvent)}
_SOURCE_KEYS = (
    "chat_name",
    "user_id",
    "user_name",
    "thread_id",
    "chat_topic",
    "user_id_alt",
    "chat_id_alt",
    "scope_id",
    "parent_chat_id",
    "message_id",
    "profile",
)


def _platform(name: str) -> Any:
    try:
        return Platform(name)
    except ValueError:
        return Platform.RELAY


def _message_type(name: str) -> Any:
    try:
        return MessageType(name)
    except ValueError:
        return MessageType.TEXT


def _context_text(items: Any) -> Optional[str]:
    """The connector's surrounding-context list as one read-only text block
    (``author: text`` per line, oldest first), or None when there is none."""
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("text"):
            continue
        src = item.get("source") if isinstance(item.get("source"), dict) else {}
        who = src.get("user_name") or src.get("user_id") or ""
        out.append(f"{who}: {item['text']}" if who else str(item["text"]))
    if not out:
        return None
    return "[Recent channel messages]\n" + "\n".join(out)


def message_event(wire: Dict[str, Any]) -> Any:
    """An application ``MessageEvent`` from the core's normalised wire dict."""
    src = wire.get("source") or {}
    skw: Dict[str, Any] = {
        "platform": _platform(src.get("platform", "relay")),
        "chat_id": src.get("chat_id", ""),
        "chat_type": src.get("chat_type") or "dm",
    }
    for key in _SOURCE_KEYS:
        if key in _SOURCE_FIELDS:
            skw[key] = src.get(key)
    if "is_bot" in _SOURCE_FIELDS and src.get("is_bot"):
        skw["is_bot"] = True
    if "delivered_via_upstream_relay" in _SOURCE_FIELDS:
        skw["delivered_via_upstream_relay"] = True
    source = SessionSource(**skw)
    ekw: Dict[str, Any] = {
        "text": wire.get("text", ""),
        "message_type": _message_type(wire.get("message_type", "text")),
        "source": source,
        "message_id": wire.get("message_id"),
        "reply_to_message_id": wire.get("reply_to_message_id"),
        "media_urls": list(wire.get("media_urls") or []),
    }
    if "channel_context" in _EVENT_FIELDS:
        ekw["channel_context"] = _context_text(wire.get("context"))
    return MessageEvent(**ekw)


def descriptor(d: Optional[Dict[str, Any]]) -> Any:
    """An application ``CapabilityDescriptor`` from the core's descriptor dict."""
    if d is None:
        return None
    return CapabilityDescriptor.from_json(json.dumps(d))


def passthrough(p: Any) -> Any:
    """An application ``PassthroughForward`` from the core's event."""
    return PassthroughForward(
        platform=p.platform,
        bot_id=p.bot_id,
        method=p.method,
        path=p.path,
        headers=[(str(k), str(v)) for k, v in p.headers],
        body=bytes(p.body),
    )
