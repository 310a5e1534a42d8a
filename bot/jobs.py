"""Jobs as the core sees them: the record, its lifecycle, and how its status message reads.

queued → running → succeeded | failed | refused | cancelled | timed_out; queued → cancelled | failed.
A job is ``refused`` when its runner would not start it (integrity manifest, bad target): nothing ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Protocol

from bot.clock import whole_seconds
from bot.events import Place
from bot.i18n import N_, Msg, Verbatim
from bot.text import clip, neutralise

TERMINAL = frozenset({"succeeded", "failed", "refused", "cancelled", "timed_out"})
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    "running": TERMINAL,
}
KEY_PREFIX = "job:"
BAR_WIDTH = 10
EXCERPT_LINES = 8


@dataclass(frozen=True, slots=True)
class JobDraft:
    kind: str  # deploy | rollback | playbook | restart | scale | pipeline | script
    args: Mapping[str, object]
    summary: str  # English text for the audit log; shown only when ``args`` cannot fill the kind's template
    requester: str
    place: Place
    locale: str
    timeout_s: int
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    draft: JobDraft
    state: str
    step: int = 0
    total: int = 0
    step_name: str = ""
    cancel_requested: bool = False
    result: Mapping[str, object] = field(default_factory=dict)
    created_us: int = 0
    started_us: int | None = None
    finished_us: int | None = None
    heartbeat_us: int | None = None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.id}"

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


# One production change per service at a time (issue 16): a job of these kinds holds its service's
# lock in its environment while it is queued or running, and a second one is refused, not queued.
LOCKED_KINDS = frozenset({"deploy", "rollback", "restart", "scale"})
LOCKED_ENVIRONMENTS = frozenset({"production"})
ACTIVE = frozenset({"queued", "running"})


def job_lock(kind: str, args: Mapping[str, object]) -> str | None:
    """The lock a job of ``kind`` with ``args`` holds while active (``api@production``), if any."""
    service, env = args.get("service"), args.get("env")
    if kind not in LOCKED_KINDS or env not in LOCKED_ENVIRONMENTS or not service:
        return None
    return f"{service}@{env}"


def lock_holder(jobs: Iterable[JobRecord], lock: str) -> JobRecord | None:
    """The active job among ``jobs`` that holds ``lock``."""
    return next((j for j in jobs if not j.finished and job_lock(j.draft.kind, j.draft.args) == lock), None)


class JobLocked(Exception):
    """``create_job`` refused a job: active job ``holder`` holds the same lock; nothing was recorded."""

    def __init__(self, holder: int) -> None:
        super().__init__(f"locked by job {holder}")
        self.holder = holder


class ApprovalClosed(Exception):
    """``create_job`` refused a job: the approved request it would run was closed meanwhile (as
    interrupted, by a replica that started); nothing was recorded."""

    def __init__(self, request: int) -> None:
        super().__init__(f"approval request {request} is no longer approved")
        self.request = request


class QueueUnavailable(Exception):
    """The job queue cannot take work now (e.g. Redis is down); nothing was dispatched."""


class QueueFull(QueueUnavailable):
    """The queue's store refused the job for lack of room (Redis at ``maxmemory`` with
    ``noeviction``): it will not pass by itself, an operator must act (issue 16, fault 7)."""


class JobQueue(Protocol):
    """Where jobs run: in-process threads (``local``) or Celery workers (``celery``)."""

    def submit(self, job: JobRecord) -> None: ...  # as just recorded: its kind and arguments pick the runner
    def ping(self) -> None: ...  # raises unless the queue can take work now (``/readyz``)


# How each kind of job reads, filled from its arguments and rendered in the reader's language.
_SUMMARIES: Mapping[str, str] = {
    "deploy": N_("deploy {service} → {env} ({version})"),
    "rollback": N_("rollback {service} in {env}"),
    "restart": N_("restart {service} in {env}"),
    "scale": N_("scale {service} in {env} to {replicas}"),
    "playbook": N_("playbook {name} on {target}"),
    "pipeline": N_("pipeline {pipeline} on {ref}"),
    "script": N_("script {name} on {target}"),
}
_FIELDS: Mapping[str, tuple[str, ...]] = {
    kind: tuple(name for _, name, _, _ in Formatter().parse(template) if name)
    for kind, template in _SUMMARIES.items()
}


def job_summary(kind: str, args: Mapping[str, object]) -> Msg | None:
    """What a job of ``kind`` does, as a message; None when ``args`` lack what its template names."""
    template = _SUMMARIES.get(kind)
    if template is None or any(args.get(name) in (None, "") for name in _FIELDS[kind]):
        return None
    return Msg(template, {name: args[name] for name in _FIELDS[kind]})


def summary_text(message: Msg) -> str:
    """A summary as plain English, for records that are not read in a locale (the audit target)."""
    return message.msgid.format(**message.params)


def shown_summary(draft: JobDraft) -> Msg | str:
    """The summary to display: from the kind and arguments, else the stored text (rows it cannot fill)."""
    return job_summary(draft.kind, draft.args) or draft.summary


def _bar(step: int, total: int) -> str:
    filled = BAR_WIDTH * min(step, total) // total if total else 0
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def _duration(start_us: int | None, end_us: int | None) -> str:
    if start_us is None or end_us is None:
        return "0s"
    seconds = max(0, whole_seconds(end_us - start_us))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


_FINAL = {
    "succeeded": N_("✅ Job #{id} succeeded in {duration}: {summary}"),
    "failed": N_("❌ Job #{id} failed after {duration}: {summary}"),
    "refused": N_("⛔ Job #{id} refused, nothing was run: {summary}"),
    "cancelled": N_("🛑 Job #{id} cancelled after {duration}: {summary}"),
    "timed_out": N_("⏱ Job #{id} timed out after {duration}: {summary}"),
}


def status_lines(job: JobRecord, now_us: int, detail: tuple[Msg, ...] = ()) -> tuple[Msg, ...]:
    """The job's status message, rebuilt from the record each time it is edited. ``detail``: lines a
    kind of job adds under its status line (a pipeline run's link and its stages)."""
    base = {"id": job.id, "summary": shown_summary(job.draft)}
    if job.state == "queued":
        return (Msg(N_("⏳ Job #{id} queued: {summary}"), base), *detail)
    if job.state == "running":
        elapsed = _duration(job.started_us, now_us)
        if not job.total:  # no runner has reported its steps yet (Ansible is still loading the playbook)
            return (Msg(N_("🔄 Job #{id} starting: {summary} ({elapsed})"), {**base, "elapsed": elapsed}), *detail)
        return (Msg(N_("🔄 Job #{id} running: {summary}\n{bar} step {step} of {total}: {step_name} ({elapsed})"),
                    {**base, "bar": _bar(job.step, job.total), "step": job.step, "total": job.total,
                     "step_name": job.step_name or "…", "elapsed": elapsed}), *detail)
    final = Msg(_FINAL[job.state], {**base, "duration": _duration(job.started_us or job.created_us, job.finished_us)})
    return (final, *detail, *_failure_lines(job))


def _failure_lines(job: JobRecord) -> tuple[Msg, ...]:
    lines: list[Msg] = []
    failed_step = str(job.result.get("failed_step") or "")
    if failed_step:
        lines.append(Msg(N_("Failing step: {step}"), {"step": failed_step}))
    message = job.result.get("message")
    if isinstance(message, Mapping) and isinstance(message.get("msgid"), str):
        lines.append(Msg(message["msgid"], dict(message.get("params") or {})))
    excerpt = str(job.result.get("excerpt") or "")
    if excerpt:
        text = "\n".join(clip(neutralise(line), 200) for line in excerpt.splitlines()[-EXCERPT_LINES:])
        lines.append(Msg(N_("Log excerpt:\n{excerpt}"), {"excerpt": Verbatim(text)}))
    return tuple(lines)
