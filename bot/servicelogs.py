"""Service logs as the core sees them: the query a person asks, what a log source answers, and how the
answer reads (short ones inline, long ones as a file). Reading is a port (``LogReader``): the
implementations (Docker, Kubernetes, journald, files) live in ``dihya.logs_sources``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.i18n import N_, Msg, Verbatim
from bot.registry import Attachment, Reply
from bot.text import clip, neutralise

INLINE_LINES = 20
INLINE_CHARS = 3000
LINE_CHARS = 2000  # one log line, as shown; longer lines are cut


@dataclass(frozen=True, slots=True)
class LogQuery:
    service: str
    env: str
    since_s: int
    lines: int
    grep: str | None = None  # plain text, or a regular expression when ``regex``
    regex: bool = False

    @property
    def filename(self) -> str:
        return f"logs-{self.service}-{self.env}.txt"


@dataclass(frozen=True, slots=True)
class LogResult:
    source: str  # where they came from, e.g. "docker container shop", "kubernetes deployment prod/api"
    lines: tuple[str, ...]  # oldest first, each already redacted
    truncated: bool = False  # a bound (lines or bytes) cut the answer


class LogReader(Protocol):
    """Reads a service's recent logs where the service catalog says it runs; raises ``UserError`` when it
    cannot (unknown service, no log source declared, backend unreachable)."""

    def read(self, query: LogQuery) -> LogResult: ...


def log_reply(query: LogQuery, result: LogResult, span: str) -> Reply:
    where = {"service": query.service, "env": query.env, "source": result.source, "span": span}
    details = {"source": result.source, "lines": len(result.lines), "truncated": result.truncated}
    if not result.lines:
        return Reply((Msg(N_("No log lines from {source} for {service} in {env} in the last {span}."), where),),
                     target=f"{query.service}/{query.env}", details=details, data=result)
    shown = [clip(neutralise(line), LINE_CHARS).replace("```", "ʼʼʼ") for line in result.lines]  # keep the block shut
    header = Msg(N_("{count} log lines from {source} for {service} in {env} (last {span}):"),
                 {**where, "count": len(shown)})
    cut = Msg(N_("(cut at the limit; narrow the query with “since”, “lines” or “grep”)"))
    more = (cut,) if result.truncated else ()
    text = "\n".join(shown)
    if len(shown) <= INLINE_LINES and len(text) <= INLINE_CHARS:
        block = Msg("{text}", {"text": Verbatim(f"```\n{text}\n```")})  # composed here: nothing to translate
        return Reply((header, block, *more),
                     target=f"{query.service}/{query.env}", details=details, data=result)
    file = Attachment(query.filename, (text + "\n").encode(), header)
    return Reply((header, *more), target=f"{query.service}/{query.env}", details=details, uploads=(file,),
                 data=result)
