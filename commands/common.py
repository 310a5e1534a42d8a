"""Small pieces the command modules share."""

from __future__ import annotations

from collections.abc import Mapping

from bot.approvals import INTERRUPTED
from bot.argtypes import Choice
from bot.clock import now_us
from bot.context import Context
from bot.errors import Busy, UserError
from bot.i18n import N_, Msg
from bot.jobs import (
    ACTIVE,
    ApprovalClosed,
    JobDraft,
    JobLocked,
    QueueFull,
    QueueUnavailable,
    job_lock,
    job_summary,
    lock_holder,
    shown_summary,
    status_lines,
    summary_text,
)
from bot.registry import Reply


def say(msgid: str, target: str = "", outcome: str = "ok", **params: object) -> Reply:
    """A one-line reply whose audit row names ``target``."""
    return Reply((Msg(msgid, params),), target=target, outcome=outcome)


def lines(*messages: Msg, target: str = "", details: Mapping[str, object] | None = None) -> Reply:
    return Reply(tuple(messages), target=target, details=details or {})


ENVIRONMENT = Choice(
    {
        "production": ("prod", "prd", "إنتاج", "الإنتاج", "ⴰⵙⵏⴼⵍⵓ"),
        "staging": ("stage", "preprod", "préproduction", "recette", "تجريبي", "ⴰⵙⵏⵉⵍ"),
        "development": ("dev", "développement", "تطوير", "ⴰⵙⵏⴼⴰⵔ"),
        "test": ("testing", "اختبار", "ⴰⵔⵎ"),
    },
    expected=N_("an environment"),
)


def is_production(environment: object) -> bool:
    return environment == "production"


def start_job(ctx: Context, kind: str, args: Mapping[str, object], timeout_s: int) -> Reply:
    """Record a job, hand it to the queue, and answer with its status message (edited as it runs).

    Its summary is rendered from ``kind`` and ``args`` wherever it is shown; the English text is
    stored for the audit log."""
    message = job_summary(kind, args)
    if message is None:
        raise ValueError(f"job kind {kind!r} has no summary for arguments {sorted(args)}")
    summary = summary_text(message)
    store = ctx.services.store
    draft = JobDraft(kind, args, summary, ctx.actor.key, ctx.place, ctx.locale, timeout_s, ctx.approvers)
    try:
        job_id = store.create_job(draft, now_us(ctx.services.clock), ctx.approval)
    except JobLocked as locked:  # issue 16: another request got there first, maybe on another replica
        raise _locked(ctx, locked.holder, args) from None
    except ApprovalClosed as closed:  # a replica that started closed it as interrupted meanwhile
        raise UserError(INTERRUPTED, id=closed.request) from None
    job = store.job(job_id)  # read once: the queue routes it by its arguments, the reply shows its state
    assert job is not None
    try:
        ctx.services.jobs.submit(job)
    except QueueUnavailable as err:
        # The job stays on record as failed, with why, and the audit row names it (issue 16):
        # a refused enqueue is never a job silently lost.
        reason = QUEUE_FULL if isinstance(err, QueueFull) else QUEUE_DOWN
        store.finish_job(job_id, "failed", {"message": {"msgid": reason}}, now_us(ctx.services.clock))
        return Reply((Msg(reason),), target=summary, outcome="failed", ref=f"job:{job_id}")
    return Reply(status_lines(job, job.created_us), target=summary, key=job.key, ref=job.key)


QUEUE_DOWN = N_("The job queue is unavailable right now; nothing was started. Try again shortly.")
QUEUE_FULL = N_("The job queue is full; nothing was started. An operator must free or enlarge its Redis.")


def refuse_if_locked(ctx: Context, kind: str, args: Mapping[str, object]) -> None:
    """Before asking for approval: refuse a change whose service an active job is changing (issue 16).
    ``create_job`` checks again, atomically, when the job is recorded."""
    lock = job_lock(kind, args)
    holder = lock_holder(ctx.services.store.jobs(states=ACTIVE, limit=500), lock) if lock else None
    if holder is not None:
        raise _locked(ctx, holder.id, args)


def _locked(ctx: Context, holder_id: int, args: Mapping[str, object]) -> Busy:
    holder = ctx.services.store.job(holder_id)
    summary = shown_summary(holder.draft) if holder is not None else "…"
    return Busy(LOCKED, job=holder_id, summary=summary, service=args["service"], env=args["env"])


LOCKED = N_("Job #{job} ({summary}) is already changing {service} in {env}; nothing was started. "
            "Try again when it has ended.")
