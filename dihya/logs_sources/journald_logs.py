"""A systemd unit's logs from journald: ``journalctl -u UNIT -o json --no-pager -n N --since=@EPOCH``
(an argument list, never a shell), read up to the byte bound, then stopped. A host without
``journalctl`` gets a clear refusal."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time

from bot.clock import utc_datetime
from bot.errors import UserError
from bot.i18n import N_
from dihya.logs_sources.base import Fetched, LogLine, Window

TIMEOUT_S = 10.0


class JournaldLogs:
    def __init__(self, unit: str, journalctl: str | None = None, directory: str | None = None) -> None:
        self._unit = unit
        self._journalctl = journalctl if journalctl is not None else shutil.which("journalctl")
        self._directory = directory  # a journal directory instead of the system journal (-D)
        self.description = f"journald unit {unit}"

    def argv(self, window: Window) -> list[str]:
        assert self._journalctl is not None
        argv = [self._journalctl, "-u", self._unit, "-o", "json", "--no-pager", "-n", str(window.lines),
                f"--since=@{int(window.now - window.since_s)}"]
        return [*argv, "-D", self._directory] if self._directory else argv

    def fetch(self, window: Window) -> Fetched:
        if not self._journalctl or not shutil.which(self._journalctl):
            raise UserError(N_("journald is not available on this machine, so unit logs cannot be read."))
        raw, truncated = _run_bounded(self.argv(window), window.max_bytes)
        return Fetched(parse_json_lines(raw.decode("utf-8", errors="replace")), truncated)


def parse_json_lines(text: str) -> list[LogLine]:
    """``journalctl -o json`` output: one object per line; MESSAGE is text, or bytes as a list of numbers."""
    lines = []
    for raw in text.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        message = entry.get("MESSAGE")
        if isinstance(message, list):
            message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode("utf-8", "replace")
        stamp = entry.get("__REALTIME_TIMESTAMP")
        at = utc_datetime(int(stamp)) if isinstance(stamp, str) and stamp.isdigit() else None
        lines.append(LogLine(at, str(entry.get("_HOSTNAME") or ""), str(message or "")))
    return lines


def _run_bounded(argv: list[str], limit: int) -> tuple[bytes, bool]:
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # noqa: S603
                               stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert process.stdout is not None
    deadline = time.monotonic() + TIMEOUT_S
    buffer = bytearray()
    try:
        while len(buffer) <= limit and time.monotonic() < deadline:
            if not select.select([process.stdout], [], [], 0.2)[0]:
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    truncated = len(buffer) > limit
    data = bytes(buffer[:limit]).rpartition(b"\n")[0] if truncated else bytes(buffer)
    return data, truncated
