"""A log filter for the libraries an adapter drives: they log request URLs (a token inside),
login responses and whole payloads. Secrets are masked by the shared redaction (the caller hands
in ``dihya.redaction.Redactor`` or the like) and the payload dumps are dropped."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable

Redact = Callable[[str], str]
Drop = Callable[[logging.LogRecord], bool]


class RedactingFilter(logging.Filter):
    """Masks what ``redact`` masks in a record's message and traceback, and drops the records
    ``drop`` picks. ``install`` puts it on each named logger (a logger's filters do not apply to
    its children's records, so every logger that writes is named); installing it twice is a no-op.

    Filters made with the same ``key`` compare equal, so a second adapter built with the same
    secrets does not stack a second filter on the same loggers."""

    def __init__(self, redact: Redact, drop: Drop = lambda _record: False, *, key: Hashable = None) -> None:
        super().__init__()
        self._redact = redact
        self._drop = drop
        self._key = key
        self._installed: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if self._key is None or not isinstance(other, RedactingFilter):
            return self is other
        return self._key == other._key

    def __hash__(self) -> int:
        return id(self) if self._key is None else hash(self._key)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._drop(record):
            return False
        message = record.getMessage()
        clean = self._redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True

    def install(self, names: Iterable[str]) -> None:
        self._installed = tuple(dict.fromkeys((*self._installed, *names)))
        for name in self._installed:
            logging.getLogger(name).addFilter(self)  # addFilter skips a filter already there

    def remove(self) -> None:
        for name in self._installed:
            logging.getLogger(name).removeFilter(self)
        self._installed = ()


def debug_dump(loggers: Iterable[str] = (), messages: Iterable[str] = ()) -> Drop:
    """Drops DEBUG records of the named loggers, and DEBUG records whose format is one of ``messages``."""
    names, formats = frozenset(loggers), frozenset(messages)

    def drop(record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            return False
        return record.name in names or (isinstance(record.msg, str) and record.msg in formats)

    return drop
