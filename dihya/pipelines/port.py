"""``PipelineProvider``: what Dihya asks of GitHub Actions, GitLab CI and Jenkins, in one shape.

Providers are synchronous (they run inside a job worker, like every runner) and raise
``ProviderError`` with a message for chat; no provider error text (which may echo a token or a
payload) ever reaches chat or a log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.i18n import Msg
from bot.pipelines import PipelineSpec, Stage


@dataclass(frozen=True, slots=True)
class RunHandle:
    """How to find a triggered run: its id once known; Jenkins' queue item until its build starts."""

    run_id: str = ""
    url: str = ""
    queue_url: str = ""
    # A GitHub re-run: the attempt before it, whose result is still reported until the new one shows
    past_attempt: int = 0


@dataclass(frozen=True, slots=True)
class RunStatus:
    handle: RunHandle
    state: str  # queued | running | success | failed | cancelled
    status: str  # the provider's own word
    stages: tuple[Stage, ...] = ()
    sha: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("success", "failed", "cancelled")


class PipelineProvider(Protocol):
    def trigger(self, spec: PipelineSpec, ref: str, params: Mapping[str, str], correlation: str) -> RunHandle: ...
    def status(self, spec: PipelineSpec, handle: RunHandle) -> RunStatus: ...
    def cancel(self, spec: PipelineSpec, handle: RunHandle) -> None: ...
    def retry(self, spec: PipelineSpec, handle: RunHandle, ref: str, params: Mapping[str, str]) -> RunHandle:
        """Run a finished run's failed part again; the handle to follow (Jenkins: a new build)."""
        ...
    def close(self) -> None: ...


class ProviderError(Exception):
    """A provider refused or could not be reached; ``message`` is for chat (no response text in it)."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.msgid)
        self.message = message
