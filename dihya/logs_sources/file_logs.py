"""A declared log file on this machine: its last lines, read backwards from the end in blocks up to the
byte bound (a 10 GB file costs what its tail costs). Lines that start with a timestamp older than the
window are left out; lines without one are kept."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import UserError
from bot.i18n import N_
from dihya.logs_sources.base import Fetched, LogLine, Window, split_timestamp

_BLOCK = 65536


class FileLogs:
    def __init__(self, path: Path) -> None:
        self._path = path
        self.description = f"file {path.name}"

    def fetch(self, window: Window) -> Fetched:
        try:
            raw, truncated = tail_bytes(self._path, window.lines, window.max_bytes)
        except FileNotFoundError:
            raise UserError(N_("The log file of this service does not exist yet.")) from None
        except OSError:
            raise UserError(N_("The log file of this service cannot be read.")) from None
        return Fetched(within_window(raw.decode("utf-8", errors="replace"), window), truncated)


def within_window(text: str, window: Window, origin: str = "") -> list[LogLine]:
    """The last ``window.lines`` lines of ``text`` not older than the window (undated lines are kept)."""
    oldest = datetime.fromtimestamp(window.now - window.since_s, UTC)
    lines = []
    for line in text.splitlines():
        at, body = split_timestamp(line)
        if at is None or at >= oldest:
            lines.append(LogLine(at, origin, body if at else line))
    return lines[-window.lines:]


def tail_bytes(path: Path, lines: int, limit: int) -> tuple[bytes, bool]:
    """The end of the file holding at least ``lines`` lines, or ``limit`` bytes (then truncated)."""
    with path.open("rb") as source:
        end = source.seek(0, os.SEEK_END)
        position, data = end, b""
        while position > 0 and data.count(b"\n") <= lines and len(data) < limit:
            step = min(_BLOCK, position, limit - len(data))
            position -= step
            source.seek(position)
            data = source.read(step) + data
    truncated = position > 0 and data.count(b"\n") <= lines
    if position > 0:
        data = data.partition(b"\n")[2]  # the first line is partial
    return data, truncated
