"""Pieces the Docker and Kubernetes runners share: allow patterns checked before any request,
and a step counter that reports progress and stops between steps when the job is cancelled."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence

from bot.i18n import N_, Msg
from dihya.integrity import IntegrityError
from dihya.runners.base import CancelToken, Progress, ProgressSink, RunnerError, RunResult

VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY = rf"{COMPONENT}(?::[0-9]{{1,5}})?(?:/{COMPONENT})*"
REPOSITORY_RE = re.compile(REPOSITORY)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
ENV_ENTRY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}=[^\x00\n\r]{0,4096}")
# [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], e.g. "8080:80" or "127.0.0.1:8443:443/tcp"
PORT_SPEC = re.compile(r"(?:(?P<ip>[0-9]{1,3}(?:\.[0-9]{1,3}){3}):)?(?P<host>[0-9]{1,5}):(?P<port>[0-9]{1,5})"
                       r"(?:/(?P<proto>tcp|udp))?")
MAX_EXCERPT = 500

DigestLookup = Callable[[str], str | None]


def require(pattern: re.Pattern[str], value: str, what: str) -> None:
    # fullmatch: "$" alone would let a trailing newline through
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise RunnerError(Msg(N_("Invalid {what}: {value}"), {"what": Msg(what), "value": value}))


def allowed_digest_of(ref: str, lookup: DigestLookup) -> str:
    """The digest the integrity manifest allows for ``ref``; refuses unlisted refs and malformed digests."""
    digest = lookup(ref)
    if digest is None or DIGEST.fullmatch(digest) is None:
        raise IntegrityError(Msg(N_("{ref} is not in the list of allowed images"), {"ref": ref}))
    return digest


class Cancelled(Exception):
    pass


class StepFailed(Exception):
    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class Steps:
    """Numbers and reports the steps; stops between them when the job is cancelled."""

    __slots__ = ("_cancel", "_names", "_progress", "current")

    def __init__(self, names: Sequence[str], progress: ProgressSink, cancel: CancelToken) -> None:
        self._names, self._progress, self._cancel = list(names), progress, cancel
        self.current = ""

    def begin(self, name: str, *, cancellable: bool = True) -> None:
        if cancellable:
            self.check_cancel()
        if name not in self._names:  # a step we did not plan for, such as rolling back
            self._names.append(name)
        self.current = name
        self._progress(Progress(self._names.index(name) + 1, len(self._names), name))

    def detail(self, text: str) -> None:
        """Report progress within the current step, e.g. replica counts during a rollout."""
        self._progress(Progress(self._names.index(self.current) + 1, len(self._names), text))

    def check_cancel(self) -> None:
        if self._cancel.cancelled():
            raise Cancelled


def stopped(exc: BaseException, step: str, summary: Msg) -> RunResult:
    """The result of a run that a cancel (``Cancelled``) or a fault stopped at ``step``."""
    return RunResult(ok=False, summary=summary, failed_step=step, log_excerpt=excerpt(exc),
                     cancelled=isinstance(exc, Cancelled), timed_out=isinstance(exc, StepFailed) and exc.timed_out)


def excerpt(exc: BaseException) -> str:
    """What a run's log excerpt says about ``exc``. An API error's body can hold a whole object
    (a Kubernetes deployment with its env) or any page a proxy answered: only its status, and a
    Docker engine's own one-line ``message``, reach the excerpt."""
    if isinstance(exc, StepFailed):
        reason = exc.reason
    elif isinstance(exc, Cancelled):
        reason = ""
    else:
        reason = _api_error(exc) or f"{type(exc).__name__}: {exc}"
    return reason[:MAX_EXCERPT]


MAX_ENGINE_MESSAGE = 300


def _api_error(exc: BaseException) -> str | None:
    # Looked up in sys.modules, not imported: an error of a client library that is not loaded
    # cannot be raised, and a Kubernetes worker should not import the Docker SDK (nor the reverse).
    kubernetes = sys.modules.get("kubernetes.client.exceptions")
    if kubernetes is not None and isinstance(exc, kubernetes.ApiException):
        return f"HTTP {exc.status} {exc.reason}"  # str() would add the response headers and the whole body
    docker = sys.modules.get("docker.errors")
    if docker is not None and isinstance(exc, docker.APIError):
        return _docker_api_error(exc.response, exc.status_code)
    return None


def _docker_api_error(response: object, status: object) -> str:
    """``HTTP status reason: message`` where message is the engine's JSON ``message`` (str(APIError)
    would also carry the raw body of an answer that is not the engine's JSON)."""
    reason = str(getattr(response, "reason", "") or "")
    try:
        body = response.json() if response is not None else None  # type: ignore[attr-defined]
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    head = f"HTTP {status} {reason}".rstrip()
    if not isinstance(message, str) or not message.strip():
        return head
    return f"{head}: {' '.join(message.split())[:MAX_ENGINE_MESSAGE]}"
