"""Structured logs: one JSON object per line, every message and field passed through redaction
(and any JSON Web Token masked: API tokens never belong in a log)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from dihya.redaction import Redactor, mask_jwts


class RedactingJsonFormatter(JsonFormatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        return mask_jwts(self._redact(super().format(record)))


def configure(level: str, redactor: Redactor, path: Path | None = None) -> None:
    """Route every logger (ours and the libraries') through one redacting JSON handler."""
    handler: logging.Handler = logging.FileHandler(path) if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingJsonFormatter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):  # replace our own earlier handler, leave others (test capture) alone
        if isinstance(old.formatter, RedactingJsonFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
