"""The post-incident report: Markdown in the reader's language — summary, impact, timeline, linked
alerts and jobs, actions and, for a significant incident, the NIS2 deadlines and whether they were met."""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import now_us, utc_datetime
from bot.context import Context
from bot.i18n import N_, Msg, Verbatim
from bot.incidents import Deadline, IncidentEvent, IncidentRecord, duration_text, nis2_deadlines
from bot.jobs import JobRecord, shown_summary
from bot.text import neutralise

RECENT_JOBS = 500
BLANK = None  # an empty line between sections
Line = Msg | None
# timeline event kind → how it reads ({text} and {ref} from the event)
EVENT_TEXT = {
    "opened": N_("opened the incident ({ref}): {text}"),
    "acknowledged": N_("acknowledged the incident"),
    "assigned": N_("assigned the incident to {ref}"),
    "update": N_("update: {text}"),
    "resolved": N_("resolved the incident"),
    "alert": N_("linked alert group #{ref}"),
    "significant": N_("flagged the incident as significant (NIS2)"),
    "notified": N_("recorded that the {ref} was sent"),
}
NOTICE_NAME = {"early_warning": N_("Early warning (24 h)"), "notification": N_("Incident notification (72 h)")}


def when(us: int | None) -> str:
    return "-" if us is None else f"{utc_datetime(us):%Y-%m-%d %H:%M:%S} UTC"


def _text(value: str) -> Verbatim:
    """Free text kept whole (a report is a file, not a chat line) but made safe to show."""
    return Verbatim(neutralise(value).replace("\n", " "))


def report_markdown(ctx: Context, incident: IncidentRecord) -> str:
    store = ctx.services.store
    events, jobs = store.incident_events(incident.id), _jobs(ctx, incident)
    lines: list[Line] = [*_summary(incident), *_impact(ctx, events), *_timeline(events, jobs), *_jobs_section(jobs),
             *_actions(events)]
    if incident.significant:
        lines.extend(_nis2(nis2_deadlines(incident, events), now_us(ctx.services.clock)))
    catalogs = ctx.services.catalogs
    return "\n".join("" if line is None else catalogs.render(line, ctx.locale) for line in lines) + "\n"


def _summary(i: IncidentRecord) -> list[Line]:
    return [
        Msg(N_("# Incident #{id}: {title}"), {"id": i.id, "title": _text(i.title)}),
        BLANK,
        Msg(N_("## Summary")),
        Msg(N_("- Severity: {severity}"), {"severity": i.severity}),
        Msg(N_("- State: {state}"), {"state": i.state}),
        Msg(N_("- Opened by {who} at {at}"), {"who": i.opened_by, "at": when(i.created_us)}),
        Msg(N_("- Owner: {who}"), {"who": i.owner or "-"}),
        Msg(N_("- Acknowledged at {at} (MTTA {mtta})"), {"at": when(i.acked_us), "mtta": duration_text(i.mtta_us)}),
        Msg(N_("- Resolved at {at} (MTTR {mttr})"), {"at": when(i.resolved_us), "mttr": duration_text(i.mttr_us)}),
        BLANK,
    ]


def _impact(ctx: Context, events: Sequence[IncidentEvent]) -> list[Line]:
    lines: list[Line] = [Msg(N_("## Impact and linked alerts"))]
    groups = [ctx.services.store.alert_group(int(e.ref)) for e in events if e.kind == "alert" and e.ref.isdigit()]
    found = [g for g in groups if g is not None]
    if not found:
        lines.append(Msg(N_("No alert is linked to this incident.")))
    for group in found:
        labels = " ".join(f"{k}={v}" for k, v in sorted(group.common_labels.items()))
        lines.append(Msg(N_("- Alert group #{id} {name} [{severity}] {status}: {summary} ({labels})"),
                         {"id": group.id, "name": group.name, "severity": group.severity or "-",
                          "status": group.status, "labels": _text(labels),
                          "summary": _text(group.common_annotations.get("summary", ""))}))
    return [*lines, BLANK]


def _jobs(ctx: Context, incident: IncidentRecord) -> list[JobRecord]:
    """Jobs started in the incident's thread are part of its response."""
    place = incident.place
    if not place.thread:
        return []
    return sorted((j for j in ctx.services.store.jobs(limit=RECENT_JOBS)
                   if j.draft.place.address == place.address and j.draft.place.thread == place.thread),
                  key=lambda j: j.created_us)


def _timeline(events: Sequence[IncidentEvent], jobs: Sequence[JobRecord]) -> list[Line]:
    rows: list[tuple[int, Msg]] = [(e.ts_us, _event_row(e)) for e in events]
    rows.extend((j.created_us, Msg(N_("- {at} — {who}: started job #{id} ({summary})"),
                                   {"at": when(j.created_us), "who": j.draft.requester, "id": j.id,
                                    "summary": _summary_of(j)})) for j in jobs)
    rows.sort(key=lambda row: row[0])
    return [Msg(N_("## Timeline")), *(msg for _, msg in rows), BLANK]


def _event_row(e: IncidentEvent) -> Msg:
    what = Msg(EVENT_TEXT.get(e.kind, N_("{text}")), {"text": _text(e.text), "ref": _ref(e)})
    return Msg(N_("- {at} — {who}: {what}"), {"at": when(e.ts_us), "who": e.actor, "what": what})


def _summary_of(job: JobRecord) -> Msg | Verbatim:
    shown = shown_summary(job.draft)
    return shown if isinstance(shown, Msg) else _text(shown)


def _ref(e: IncidentEvent) -> Msg | str:
    return Msg(NOTICE_NAME[e.ref]) if e.kind == "notified" and e.ref in NOTICE_NAME else e.ref


def _jobs_section(jobs: Sequence[JobRecord]) -> list[Line]:
    lines: list[Line] = [Msg(N_("## Jobs"))]
    if not jobs:
        lines.append(Msg(N_("No job was run from the incident's thread.")))
    lines.extend(Msg(N_("- Job #{id}: {summary} — {state}"), {"id": j.id, "summary": _summary_of(j),
                                                              "state": j.state}) for j in jobs)
    return [*lines, BLANK]


def _actions(events: Sequence[IncidentEvent]) -> list[Line]:
    updates = [e for e in events if e.kind == "update"]
    lines: list[Line] = [Msg(N_("## Actions and updates"))]
    if not updates:
        lines.append(Msg(N_("No update was recorded.")))
    lines.extend(Msg(N_("- {text} ({who}, {at})"), {"text": _text(e.text), "who": e.actor, "at": when(e.ts_us)})
                 for e in updates)
    return [*lines, BLANK]


def _nis2(deadlines: Sequence[Deadline], now_us: int) -> list[Line]:
    lines: list[Line] = [Msg(N_("## NIS2 reporting (significant incident)"))]
    for d in deadlines:
        if d.met():
            verdict = Msg(N_("met: sent at {at}"), {"at": when(d.sent_us)})
        elif d.sent_us is not None:
            verdict = Msg(N_("missed: sent late at {at}"), {"at": when(d.sent_us)})
        elif d.overdue(now_us):
            verdict = Msg(N_("missed: not sent"))
        else:
            verdict = Msg(N_("pending: not sent yet"))
        lines.append(Msg(N_("- {notice}: due by {due} — {verdict}"),
                         {"notice": Msg(NOTICE_NAME[d.notice]), "due": when(d.due_us), "verdict": verdict}))
    return [*lines, BLANK]
