"""What the driver reads from an installed Hermes, when there is one: the
Discord command manifest and the words after Slack's ``/hermes``."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

logger = logging.getLogger("hermes_relay")


def command_manifests(platforms: Any) -> Optional[Dict[str, List[Dict[str, Any]]]]:
    """The installed Hermes's Discord command manifest, when it has one and
    this gateway fronts Discord."""
    if "discord" not in platforms:
        return None
    try:
        from gateway.relay.command_manifest import build_relay_command_manifest
    except ImportError:
        return None
    try:
        return {"discord": build_relay_command_manifest()}
    except Exception:  # noqa: BLE001 - the hello goes out without it, as with the reference
        logger.debug("relay: the installed Hermes's command manifest failed to build", exc_info=True)
        return None


def slack_commands() -> Optional[Dict[str, str]]:
    """The installed Hermes's words after Slack's ``/hermes``, when it has
    them (``compact`` stands for ``/compress``, as there)."""
    try:
        from hermes_cli.commands_platforms import slack_subcommand_map
    except ImportError:
        return None
    try:
        words = dict(slack_subcommand_map())
    except Exception:  # noqa: BLE001 - the core's own words then apply
        logger.debug("relay: the installed Hermes's Slack commands failed to load", exc_info=True)
        return None
    words["compact"] = "/compress"
    return words
