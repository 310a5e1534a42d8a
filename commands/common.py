"""Small pieces the command modules share."""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Choice
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.jobs import JobDraft, QueueUnavailable, job_summary, status_lines, summary_text
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
    job_id = store.create_job(draft, int(ctx.services.clock() * 1_000_000))
    try:
        ctx.services.jobs.submit(job_id, kind)
    except QueueUnavailable:
        store.finish_job(job_id, "failed", {"message": {"msgid": QUEUE_DOWN}}, int(ctx.services.clock() * 1e6))
        raise UserError(QUEUE_DOWN) from None
    job = store.job(job_id)
    assert job is not None
    return Reply(status_lines(job, job.created_us), target=summary, key=job.key, ref=job.key)


QUEUE_DOWN = N_("The job queue is unavailable right now; nothing was started. Try again shortly.")
