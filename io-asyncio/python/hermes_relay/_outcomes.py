"""What a driver event means to a caller waiting on the link's state:
``True`` or ``False`` once the wait has its answer, ``None`` to keep waiting."""

from __future__ import annotations

from typing import Any, Optional, Tuple


def idle_outcome(ev: Tuple[Any, ...]) -> Optional[bool]:
    """True when going idle ended acknowledged, False when it was refused."""
    if ev[0] == "idle_refused":
        return False
    if ev[0] == "state":
        if ev[1] == "buffered":
            return True
        if ev[1] in ("dialing", "revoked", "closed"):
            return False
    return None


def closed_outcome(ev: Tuple[Any, ...]) -> Optional[bool]:
    """True once the link is closed (after a drain)."""
    if ev[0] == "state" and ev[1] in ("revoked", "closed"):
        return True
    return None


def serving_outcome(ev: Tuple[Any, ...]) -> Optional[bool]:
    """True once serving again, False once terminal."""
    if ev[0] == "state":
        if ev[1] == "serving":
            return True
        if ev[1] in ("revoked", "closed"):
            return False
    return None
