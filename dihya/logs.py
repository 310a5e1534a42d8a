"""Structured logs: one JSON object per line, every message and field passed through redaction
(and any JSON Web Token masked: API tokens never belong in a log).

A log file rotates by size (``DIHYA_LOG_MAX_BYTES``, ``DIHYA_LOG_BACKUPS`` older files kept), so no
flood of requests can fill the disk with log lines.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from dihya.redaction import Redactor, mask_jwts


class RedactingJsonFormatter(JsonFormatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        return mask_jwts(self._redact(super().format(record)))


def configure(level: str, redactor: Redactor, path: Path | None = None, *, max_bytes: int = 50 << 20,
              backups: int = 5) -> None:
    """Route every logger (ours and the libraries') through one redacting JSON handler."""
    handler: logging.Handler = (RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
                                if path else logging.StreamHandler(sys.stderr))
    handler.setFormatter(RedactingJsonFormatter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):  # replace our own earlier handler, leave others (test capture) alone
        if isinstance(old.formatter, RedactingJsonFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
