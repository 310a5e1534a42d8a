"""What every runner shares: progress reports, cancellation, and the result of a run.

Runners are plain synchronous code run inside a job worker (a thread of the local job queue or
a Celery worker process). They never touch chat: they report ``Progress`` through a callback and
return a ``RunResult``; the job layer turns those into status-message edits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.i18n import Msg


@dataclass(frozen=True, slots=True)
class Progress:
    step: int  # 1-based index of the step now running
    total: int  # best current estimate of the number of steps (may grow)
    name: str  # what the step does, e.g. an Ansible task name or "pull image"


ProgressSink = Callable[[Progress], None]


class CancelToken(Protocol):
    def cancelled(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RunResult:
    ok: bool
    summary: Msg  # translated one-liner for the thread
    failed_step: str = ""
    log_excerpt: str = ""  # short, already redacted by the caller before it reaches chat
    cancelled: bool = False
    timed_out: bool = False
    refused: bool = False  # refused before anything ran (integrity manifest, bad target): not a failure
    details: Mapping[str, object] = field(default_factory=dict)


class RunnerError(Exception):
    """A run could not start or was refused (bad target, integrity mismatch); ``message`` is for chat."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.msgid)
        self.message = message
