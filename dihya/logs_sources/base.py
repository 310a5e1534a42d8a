"""What every log source shares: a line with its time and origin, the bounds of one read, the
timestamp formats backends write, and the search (plain text, or RE2: linear time on any pattern)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.argtypes import compile_linear
from bot.errors import UserError
from bot.i18n import N_

MAX_BYTES = 2 * 1024 * 1024  # read from a backend for one query, at most
MAX_SCAN_LINES = 20_000  # lines read to find matches when searching
MAX_PODS = 20


@dataclass(frozen=True, slots=True)
class LogLine:
    at: datetime | None
    origin: str  # the pod, container or file the line came from ("" when there is one origin)
    text: str

    def render(self) -> str:
        stamp = self.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if self.at else ""
        return " ".join(part for part in (stamp, self.origin and f"[{self.origin}]", self.text) if part)


@dataclass(frozen=True, slots=True)
class Window:
    """One read: lines since ``since_s`` seconds ago, the last ``lines`` of them, at most ``max_bytes``."""

    since_s: int
    lines: int
    max_bytes: int = MAX_BYTES
    now: float = 0.0  # epoch seconds the window ends at


@dataclass(frozen=True, slots=True)
class Fetched:
    lines: list[LogLine]
    truncated: bool = False  # the byte bound cut the read


class LogSource(Protocol):
    """One backend's logs for one service; raises ``UserError`` for what a person can act on."""

    description: str

    def fetch(self, window: Window) -> Fetched: ...


_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)")


def split_timestamp(line: str) -> tuple[datetime | None, str]:
    """``2024-05-01T10:00:00.123456789Z text`` (Docker, Kubernetes: RFC 3339 with nanoseconds) or
    ``2024-05-01T10:00:00Z text`` / ``…+00:00`` (Podman: whole seconds) → (time, text)."""
    stamp, sep, text = line.partition(" ")
    found = _STAMP.fullmatch(stamp)
    if found is None:
        return None, line
    whole, fraction, zone = found.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        at = datetime.fromisoformat(f"{whole}.{micro}{zone}").astimezone(UTC)
    except ValueError:
        return None, line
    return at, text if sep else ""


def matcher(grep: str | None, regex: bool) -> Callable[[str], bool]:
    """The search: RE2 for ``/…/`` patterns (no backtracking, so ``(a+)+$`` is as fast as any), else
    case-insensitive plain text."""
    if not grep:
        return lambda _text: True
    if not regex:
        needle = grep.casefold()
        return lambda text: needle in text.casefold()
    try:
        compiled = compile_linear(grep)
    except ValueError:
        raise UserError(N_("“{pattern}” is not a valid regular expression (RE2 syntax: no backreferences or "
                           "look-around)."), pattern=grep) from None
    return lambda text: compiled.search(text) is not None  # type: ignore[attr-defined]
