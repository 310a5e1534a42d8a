"""A declared log file on the servers a service runs on, read through Ansible over SSH: the last
``max_bytes`` of it on each server (``tail -c``, an argument list), each line marked with its server.
The read is bounded on the server, so a 10 GB file costs what its tail costs, as locally."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import UserError
from bot.i18n import N_
from dihya.logs_sources.base import Fetched, LogLine, Window
from dihya.logs_sources.file_logs import within_window
from dihya.runners.base import Progress, RunnerError

FOLDER = Path(__file__).resolve().parent / "ansible"
READ_TASK = "Read the end of the log file"
TIMEOUT_S = 60
_UNDATED = datetime.min.replace(tzinfo=UTC)


class _NeverCancelled:
    def cancelled(self) -> bool:
        return False


class RemoteFileLogs:
    def __init__(self, path: str, inventory: Callable[[], Mapping[str, Any]], ansible: Any) -> None:
        self._path = path
        self._inventory = inventory
        self._ansible = ansible  # AnsibleRunner.run_bundled
        self.description = f"file {Path(path).name}"

    def fetch(self, window: Window) -> Fetched:
        from dihya.runners.ansible_run import Bundle

        bundle = Bundle(FOLDER, "read_log.yml", self.description, collect=READ_TASK)
        extra = {"log_path": self._path, "log_bytes": str(window.max_bytes)}
        try:
            run = self._ansible.run_bundled(bundle, self._inventory(), extra, _ignore, _NeverCancelled(),
                                            TIMEOUT_S, f"logs-{_run_suffix()}")
        except RunnerError as err:
            raise UserError(err.message.msgid, **err.message.params) from None
        if not run.results:
            raise UserError(N_("The log file of this service cannot be read."))
        lines: list[LogLine] = []
        truncated = False
        for host, res in sorted(run.results.items()):
            if res.get("rc") != 0:
                missing = "No such file" in str(res.get("stderr") or "")
                raise UserError(N_("The log file of this service does not exist yet.") if missing
                                else N_("The log file of this service cannot be read."))
            text = str(res.get("stdout") or "")
            if len(text.encode()) >= window.max_bytes - 1:  # Ansible strips the final newline
                truncated, text = True, text.partition("\n")[2]  # the first line is partial
            lines += within_window(text, window, host if len(run.results) > 1 else "")
        if len(run.results) > 1:  # the servers' lines interleaved by time (undated ones first, in order)
            lines.sort(key=lambda line: line.at or _UNDATED)
        return Fetched(lines[-window.lines:], truncated)


def _ignore(_progress: Progress) -> None:
    """A log read reports no progress."""


def _run_suffix() -> str:
    import secrets

    return secrets.token_hex(8)

