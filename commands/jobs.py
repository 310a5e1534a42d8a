"""jobs, job N, cancel job N, approvals: follow and stop long work, find requests to approve."""

from __future__ import annotations

from collections.abc import Mapping

from bot import approvals
from bot.argtypes import Choice, Integer
from bot.clock import now_us
from bot.context import Context
from bot.errors import UserError
from bot.i18n import MAX_REPLY, N_, Msg, Verbatim
from bot.jobs import JobRecord, shown_summary, status_lines
from bot.registry import Arg, Attachment, Command, Reply
from commands.common import say

FILTER = Choice({"mine": ("moi", "لي", "ⵉⵏⵓ"), "running": ("en cours", "encours", "جارية", "ⵜⵜⴰⵣⵣⴰⵍⵏ")},
                expected=N_("“mine” or “running”"))
_ACTIVE = frozenset({"queued", "running"})
LIST_ROOM = MAX_REPLY - 500  # the pending list stays one message, each request shown whole


def _line(job: JobRecord) -> Msg:
    return Msg(N_("• #{id} {state} — {summary} (by {who})"),
               {"id": job.id, "state": job.state, "summary": shown_summary(job.draft), "who": job.draft.requester})


def list_jobs(ctx: Context, args: Mapping[str, object]) -> Reply:
    which = args.get("filter")
    store = ctx.services.store
    found = store.jobs(requester=ctx.actor.key if which == "mine" else None,
                       states=_ACTIVE if which == "running" else None)
    if not found:
        return say(N_("No jobs."))
    return Reply((Msg(N_("Jobs ({count}):"), {"count": len(found)}), *(_line(j) for j in found)))


def _job(ctx: Context, job_id: int) -> JobRecord:
    job = ctx.services.store.job(job_id)
    if job is None:
        raise UserError(N_("No job #{id}."), id=job_id)
    return job


def show_job(ctx: Context, args: Mapping[str, object]) -> Reply:
    job = _job(ctx, int(str(args["id"])))
    return Reply(status_lines(job, now_us(ctx.services.clock)), target=job.key)


def cancel_job(ctx: Context, args: Mapping[str, object]) -> Reply:
    job = _job(ctx, int(str(args["id"])))
    if job.draft.requester != ctx.actor.key and not ctx.services.policy.holds(ctx.actor.roles, "ops.run"):
        raise UserError(N_("Only the requester or an operator may cancel job #{id}."), id=job.id)
    if job.finished:
        raise UserError(N_("Job #{id} has already ended ({state})."), id=job.id, state=job.state)
    store, now = ctx.services.store, now_us(ctx.services.clock)
    store.request_cancel(job.id)
    if job.state == "queued" and store.finish_job(job.id, "cancelled", {}, now):
        return say(N_("Job #{id} cancelled before it started."), target=job.key, id=job.id)
    return say(N_("Cancelling job #{id}…"), target=job.key, id=job.id)


def job_log(ctx: Context, args: Mapping[str, object]) -> Reply:
    """The full (bounded, redacted) output a job kept, as a file. Output a script may not show in the
    channel is given in a direct conversation only."""
    job = _job(ctx, int(str(args["id"])))
    details = job.result.get("details")
    details = details if isinstance(details, Mapping) else {}
    log = details.get("log")
    if not isinstance(log, str):
        raise UserError(N_("Job #{id} kept no log."), id=job.id)
    if str(details.get("show_output")) == "False" and not ctx.place.direct:
        raise UserError(N_("The output of job #{id} is not shown in channels; ask in a direct message."), id=job.id)
    file = Attachment(f"job-{job.id}.log", log.encode(), Msg(N_("Full log of job #{id}"), {"id": job.id}))
    return Reply((), target=job.key, uploads=(file,))


def pending_approvals(ctx: Context, args: Mapping[str, object]) -> Reply:
    policy, now, actor = ctx.services.policy, now_us(ctx.services.clock), ctx.actor
    mine = [r for r in ctx.services.store.pending_approvals()
            if r.draft.expires_us > now and not approvals.asked_by(actor, r.draft)
            and not actor.roles.isdisjoint(r.draft.approver_roles)
            and policy.can_approve(actor.roles, r.draft.permission)]
    if not mine:
        return say(N_("Nothing is waiting for your approval."))
    rows: list[Msg] = []
    room = LIST_ROOM
    for r in mine:  # every request in full (as its approval message shows it), as many as fit
        what = approvals.describe(ctx.services.catalogs, ctx.services.registry.commands.get(r.draft.command),
                                  r.draft.command, r.draft.args, ctx.locale)
        room -= len(what) + len(r.draft.requester) + 20
        if room < 0 and rows:
            rows.append(Msg(N_("…and {count} more; approve these first."), {"count": len(mine) - len(rows)}))
            break
        rows.append(Msg(N_("• #{id} {what} (asked by {who})"),
                        {"id": r.id, "what": Verbatim(what), "who": r.draft.requester}))
    return Reply((Msg(N_("Waiting for your approval ({count}):"), {"count": len(mine)}), *rows))


_ID = Arg("id", Integer(1, 2**31 - 1), N_("job number"))

COMMANDS = (
    Command(
        name="jobs",
        phrases={"en": ("jobs [{filter}]",), "fr": ("tâches [{filter}]", "taches [{filter}]"),
                 "ar": ("المهام [{filter}]",), "tzm": ("ⵜⵉⵡⵓⵔⵉⵡⵉⵏ [{filter}]",)},
        args=(Arg("filter", FILTER, N_("filter"), optional=True),),
        permission="read",
        help=N_("List recent jobs (all, mine, or running)."),
        handler=list_jobs,
        examples=("jobs", "jobs running"),
    ),
    Command(
        name="job.show",
        phrases={"en": ("job {id}",), "fr": ("tâche {id}", "tache {id}"), "ar": ("مهمة {id}",),
                 "tzm": ("ⵜⴰⵡⵓⵔⵉ {id}",)},
        args=(_ID,),
        permission="read",
        help=N_("Show one job's state and progress."),
        handler=show_job,
        examples=("job 1",),
    ),
    Command(
        name="job.log",
        phrases={"en": ("job log {id}",), "fr": ("journal tâche {id}", "journal tache {id}"),
                 "ar": ("سجل مهمة {id}",), "tzm": ("ⴰⵖⵎⵉⵙ ⵜⴰⵡⵓⵔⵉ {id}",)},
        args=(_ID,),
        permission="read",
        help=N_("Download the full output of a job that kept one (scripts)."),
        handler=job_log,
        examples=("job log 1",),
    ),
    Command(
        name="job.cancel",
        phrases={"en": ("cancel job {id}",), "fr": ("annuler tâche {id}", "annuler tache {id}"),
                 "ar": ("ألغ مهمة {id}", "الغاء مهمة {id}"), "tzm": ("ⵙⵙⵔ ⵜⴰⵡⵓⵔⵉ {id}",)},
        args=(_ID,),
        permission="deploy.nonprod",
        help=N_("Stop a queued or running job (yours, or any if you are an operator)."),
        handler=cancel_job,
        mutating=True,
        examples=("cancel job 1",),
    ),
    Command(
        name="approvals",
        phrases={"en": ("approvals",), "fr": ("approbations",), "ar": ("الموافقات",), "tzm": ("ⵜⵉⵎⵓⵔⴰⵢⵉⵏ",)},
        permission="read",
        help=N_("List the pending requests you may approve."),
        handler=pending_approvals,
        examples=("approvals",),
    ),
)
