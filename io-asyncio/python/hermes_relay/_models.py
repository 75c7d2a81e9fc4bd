"""The objects handed to application handlers.

When the Hermes ``gateway`` package is importable, inbound events are built
from its own classes (``MessageEvent`` and ``MessageType`` from
``gateway.platforms.event``, or from ``gateway.platforms.base`` in older
versions; ``gateway.session.SessionSource``;
``gateway.relay.descriptor.CapabilityDescriptor``;
``gateway.relay.ws_transport.PassthroughForward``), so existing handlers see
exactly the types they already know. Otherwise the stand-ins below are used:
the same attribute names, no Hermes dependency.

The Rust side fills every keyword that the chosen class defines (see
``SOURCE_FIELDS`` and friends) from the core's decoded message; this module
only maps the platform and message-type names to their enums and calls the
classes. Nothing here reads JSON or decides anything about the protocol.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple


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
    """Stand-in for the Hermes ``MessageType``."""

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
    auto_thread_created: bool = False
    auto_thread_initial_name: Optional[str] = None
    prospective_thread_id: Optional[str] = None
    delivered_via_upstream_relay: bool = False

    def __post_init__(self) -> None:
        # Both names of the tenant scope are kept in step, as Hermes does.
        if self.scope_id is None and self.guild_id is not None:
            self.scope_id = self.guild_id
        elif self.scope_id is not None:
            self.guild_id = self.scope_id


@dataclass
class MessageEvent:
    """Stand-in for the Hermes ``MessageEvent``."""

    text: str
    message_type: Any = MessageType.TEXT
    source: Any = None
    raw_message: Any = None
    message_id: Optional[str] = None
    media_urls: List[str] = field(default_factory=list)
    media_types: List[str] = field(default_factory=list)
    reply_to_message_id: Optional[str] = None
    reply_to_text: Optional[str] = None
    reply_to_author_name: Optional[str] = None
    reply_to_is_own_message: bool = False
    prompt_response: Optional[Dict[str, Any]] = None
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
    supported_ops: Optional[Tuple[str, ...]] = None

    @classmethod
    def from_json(cls, data: str) -> "CapabilityDescriptor":
        raw = json.loads(data)
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in raw.items() if k in names}
        if isinstance(kw.get("supported_ops"), list):
            kw["supported_ops"] = tuple(kw["supported_ops"])
        return cls(**kw)


@dataclass
class PassthroughForward:
    """A passthrough request the connector forwarded (body already decoded)."""

    platform: str
    bot_id: str
    method: str
    path: str
    headers: List[Tuple[str, str]]
    body: bytes
    profile: Optional[str] = None


def _hermes() -> Optional[Dict[str, Any]]:
    """The installed Hermes classes, or None."""
    try:  # pragma: no cover - depends on the environment
        from gateway.config import Platform as platform_cls
        from gateway.relay.descriptor import CapabilityDescriptor as descriptor_cls
        from gateway.session import SessionSource as source_cls

        try:  # today's module
            from gateway.platforms.event import MessageEvent as event_cls
            from gateway.platforms.event import MessageType as type_cls
        except ImportError:  # before it was split out of the adapter base
            from gateway.platforms.base import MessageEvent as event_cls
            from gateway.platforms.base import MessageType as type_cls
    except Exception:  # noqa: BLE001 - any import failure means "use the stand-ins"
        return None
    found: Dict[str, Any] = {
        "Platform": platform_cls,
        "MessageType": type_cls,
        "MessageEvent": event_cls,
        "SessionSource": source_cls,
        "CapabilityDescriptor": descriptor_cls,
    }
    try:  # pragma: no cover
        from gateway.relay.ws_transport import PassthroughForward as forward_cls
    except Exception:  # noqa: BLE001
        pass
    else:
        found["PassthroughForward"] = forward_cls
    return found


_found = _hermes()
HERMES_CLASSES = _found is not None
if _found is not None:  # pragma: no cover - depends on the environment
    Platform = _found["Platform"]  # type: ignore[misc]
    MessageType = _found["MessageType"]  # type: ignore[misc]
    MessageEvent = _found["MessageEvent"]  # type: ignore[misc]
    SessionSource = _found["SessionSource"]  # type: ignore[misc]
    CapabilityDescriptor = _found["CapabilityDescriptor"]  # type: ignore[misc]
    PassthroughForward = _found.get("PassthroughForward", PassthroughForward)  # type: ignore[misc]


def field_names(cls: Any) -> Optional[FrozenSet[str]]:
    """The keywords a class takes: its dataclass fields (those set in
    ``__init__``), or None when it is not a dataclass (any keyword)."""
    if not dataclasses.is_dataclass(cls):
        return None
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init)


SOURCE_FIELDS = field_names(SessionSource)
EVENT_FIELDS = field_names(MessageEvent)
FORWARD_FIELDS = field_names(PassthroughForward)

_platforms: Dict[str, Any] = {}
_types: Dict[str, Any] = {}


def _platform(name: str) -> Any:
    p = _platforms.get(name)
    if p is None:
        try:
            p = Platform(name)
        except ValueError:
            p = Platform.RELAY
        if len(_platforms) < 256:
            _platforms[name] = p
    return p


def _message_type(name: str) -> Any:
    t = _types.get(name)
    if t is None:
        try:
            t = MessageType(name)
        except ValueError:
            t = MessageType.TEXT
        _types[name] = t
    return t


def build_inbound(source_kwargs: Dict[str, Any], event_kwargs: Dict[str, Any]) -> Any:
    """An application ``MessageEvent`` from the keywords the Rust side built."""
    # The caches are read here first: one call fewer per name seen before.
    name = source_kwargs["platform"]
    source_kwargs["platform"] = _platforms.get(name) or _platform(name)
    name = event_kwargs["message_type"]
    event_kwargs["message_type"] = _types.get(name) or _message_type(name)
    event_kwargs["source"] = SessionSource(**source_kwargs)
    return MessageEvent(**event_kwargs)


def build_forward(kwargs: Dict[str, Any]) -> Any:
    """An application ``PassthroughForward``."""
    return PassthroughForward(**kwargs)


def descriptor(d: Optional[Dict[str, Any]]) -> Any:
    """An application ``CapabilityDescriptor`` from the core's descriptor dict."""
    if d is None:
        return None
    return CapabilityDescriptor.from_json(json.dumps(d))
