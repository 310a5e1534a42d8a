"""incident open / ack / assign / update / resolve / significant / notified / report, incidents [open], stats.

An incident is addressed by its number, or, without one, by the thread it lives in (the thread of
the ``incident open`` message or of the alert it came from), or as the only open incident.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Choice, Duration, Integer, Person, Text
from bot.clock import micros, now_us
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.incidents import (
    DEFAULT_SEVERITY,
    OPEN_STATES,
    SEVERITIES,
    IncidentDraft,
    IncidentEvent,
    IncidentRecord,
    duration_text,
    nis2_deadlines,
    stats,
)
from bot.registry import Arg, Attachment, Command, Handler, Reply
from bot.text import fold
from commands.common import say
from commands.incident_report import report_markdown, when

SEVERITY = Choice({s: (f"p{s[-1]}", f"s{s[-1]}") for s in SEVERITIES}, expected=N_("sev1, sev2, sev3 or sev4"))
NOTICE = Choice({"early_warning": ("early", "early-warning", "alerte", "précoce", "إنذار", "ⴰⵎⵣⵡⴰⵔⵓ"),
                 "notification": ("full", "notif", "إخطار", "ⴰⵙⵙⵓⵎⵔ")},
                expected=N_("early-warning or notification"))
FILTER = Choice({"open": ("ouverts", "ouvert", "مفتوحة", "ⵉⵕⵥⵎⵏ")}, expected=N_("“open”"))
LISTED = 20


def _now(ctx: Context) -> int:
    return now_us(ctx.services.clock)


def _event(ctx: Context, kind: str, text: str = "", ref: str = "") -> IncidentEvent:
    return IncidentEvent(_now(ctx), ctx.actor.key, kind, text, ref)


def find_incident(ctx: Context, args: Mapping[str, object]) -> IncidentRecord:
    store = ctx.services.store
    if args.get("id") is not None:
        found = store.incident(int(str(args["id"])))
        if found is None:
            raise UserError(N_("No incident #{id}."), id=args["id"])
        return found
    here = store.incident_at(ctx.place.address, ctx.place.thread) if ctx.place.thread else None
    if here is not None:
        return here
    open_ones = store.incidents(states=OPEN_STATES, limit=2)
    if len(open_ones) == 1:
        return open_ones[0]
    raise UserError(N_("Which incident? Give its number, e.g. “incident ack 3”."))


# --- handlers ----------------------------------------------------------------------------------


def _split_severity(title: str, severity: object) -> tuple[str, str]:
    """``incident open DB down sev1``: a trailing severity word is the severity, not the title."""
    head, _, last = title.rpartition(" ")
    if severity is None and head and fold(last) in SEVERITIES:
        return head, fold(last)
    return title, str(severity or DEFAULT_SEVERITY)


def open_incident(ctx: Context, args: Mapping[str, object]) -> Reply:
    title, severity = _split_severity(str(args["title"]).strip(), args.get("severity"))
    draft = IncidentDraft(title, severity, ctx.actor.key, ctx.place, ctx.locale)
    incident_id = ctx.services.store.create_incident(draft, _now(ctx))
    key = f"incident:{incident_id}"
    return Reply((Msg(N_("🚨 Incident #{id} opened: {title} ({severity})."),
                      {"id": incident_id, "title": title, "severity": severity}),
                  Msg(N_("Run it from this thread: “incident ack”, “incident update TEXT”, “incident resolve”."))),
                 target=key, key=key)


def ack(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    if not ctx.services.store.transition_incident(incident.id, "acknowledged", _event(ctx, "acknowledged")):
        raise UserError(N_("Incident #{id} is {state}: nothing to acknowledge."), id=incident.id, state=incident.state)
    if incident.owner is None:
        ctx.services.store.assign_incident(incident.id, ctx.actor.key, _event(ctx, "assigned", ref=ctx.actor.key))
    return say(N_("👀 Incident #{id} acknowledged by {who} after {delay}."), target=incident.key, id=incident.id,
               who=ctx.actor.key, delay=duration_text(_now(ctx) - incident.created_us))


def assign(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    owner = ctx.resolve_person(str(args["person"]))
    ctx.services.store.assign_incident(incident.id, owner, _event(ctx, "assigned", ref=owner))
    return say(N_("Incident #{id} is now owned by {who}."), target=incident.key, id=incident.id, who=owner)


def update(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    ctx.services.store.add_incident_event(incident.id, _event(ctx, "update", str(args["text"])))
    return say(N_("📝 Update added to incident #{id}."), target=incident.key, id=incident.id)


def resolve(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    if not ctx.services.store.transition_incident(incident.id, "resolved", _event(ctx, "resolved")):
        raise UserError(N_("Incident #{id} is already resolved."), id=incident.id)
    done = ctx.services.store.incident(incident.id) or incident
    return say(N_("✅ Incident #{id} resolved (MTTA {mtta}, MTTR {mttr})."), target=incident.key, id=incident.id,
               mtta=duration_text(done.mtta_us), mttr=duration_text(done.mttr_us))


def significant(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    ctx.services.store.flag_incident_significant(incident.id, _event(ctx, "significant"))
    early, full = nis2_deadlines(incident, ())
    return say(N_("Incident #{id} is significant (NIS2): early warning due by {early}, notification by {full}. "
                  "Record them with “incident notified early-warning” and “incident notified notification”."),
               target=incident.key, id=incident.id, early=when(early.due_us), full=when(full.due_us))


def notified(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    notice = str(args["notice"])
    ctx.services.store.add_incident_event(incident.id, _event(ctx, "notified", ref=notice))
    return say(N_("Recorded for incident #{id}: {notice} sent at {at}."), target=incident.key, id=incident.id,
               notice=notice, at=when(_now(ctx)))


def report(ctx: Context, args: Mapping[str, object]) -> Reply:
    incident = find_incident(ctx, args)
    text = report_markdown(ctx, incident)
    title = Msg(N_("Post-incident report #{id}"), {"id": incident.id})
    return Reply((Msg(N_("Report for incident #{id} attached."), {"id": incident.id}),), target=incident.key,
                 uploads=(Attachment(f"incident-{incident.id}-{ctx.locale}.md", text.encode(), title),))


def _row(incident: IncidentRecord) -> Msg:
    return Msg(N_("• #{id} [{severity}] {state} — {title} (owner {owner}, opened {at})"),
               {"id": incident.id, "severity": incident.severity, "state": incident.state, "title": incident.title,
                "owner": incident.owner or "-", "at": when(incident.created_us)})


def listing(ctx: Context, args: Mapping[str, object]) -> Reply:
    states = OPEN_STATES if args.get("filter") == "open" else None
    found = ctx.services.store.incidents(states=states, limit=LISTED)
    if not found:
        return say(N_("No incidents."))
    return Reply((Msg(N_("Incidents ({count}):"), {"count": len(found)}), *(_row(i) for i in found)))


def incident_stats(ctx: Context, args: Mapping[str, object]) -> Reply:
    seconds = int(str(args.get("period") or 30 * 86400))
    found = ctx.services.store.incidents(since_us=_now(ctx) - micros(seconds), limit=10_000)
    summary = stats(found)
    return Reply((Msg(N_("Incidents over the last {period}: {count}, {open} still open."),
                      {"period": duration_text(micros(seconds)), "count": summary.count,
                       "open": summary.still_open}),
                  Msg(N_("Mean time to acknowledge (MTTA): {mtta}; mean time to resolve (MTTR): {mttr}."),
                      {"mtta": duration_text(summary.mtta_us), "mttr": duration_text(summary.mttr_us)})))


# --- declarations ------------------------------------------------------------------------------

_ID = Arg("id", Integer(1, 2**31 - 1), N_("incident number"), optional=True)
_INC = {"en": "incident", "fr": "incident", "ar": "حادث", "tzm": "ⵜⴰⵎⵙⴰⵔⵜ"}


def _phrases(words: Mapping[str, str], tail: str) -> dict[str, tuple[str, ...]]:
    """``incident <verb> <tail>`` in each language, from the verb per language."""
    return {loc: (f"{_INC[loc]} {verb} {tail}".strip(),) for loc, verb in words.items()}


def _command(name: str, words: Mapping[str, str], tail: str, handler: Handler, help_text: str,
             args: tuple[Arg, ...], example: str, private: frozenset[str] = frozenset()) -> Command:
    """A lifecycle command: ``incidents.manage``, mutating, one phrase per language."""
    return Command(name=name, phrases=_phrases(words, tail), args=args, permission="incidents.manage",
                   help=help_text, handler=handler, mutating=True, examples=(example,), private=private)


COMMANDS = (
    Command(
        name="incident.open",
        phrases={"en": ("incident open {severity} {title}", "incident open {title}"),
                 "fr": ("incident ouvrir {severity} {title}", "incident ouvrir {title}"),
                 "ar": ("حادث افتح {severity} {title}", "حادث افتح {title}"),
                 "tzm": ("ⵜⴰⵎⵙⴰⵔⵜ ⵕⵥⵎ {severity} {title}", "ⵜⴰⵎⵙⴰⵔⵜ ⵕⵥⵎ {title}")},
        args=(Arg("title", Text(max_length=200), N_("title")),
              Arg("severity", SEVERITY, N_("severity"), optional=True)),
        permission="incidents.manage",
        help=N_("Open an incident: “incident open [sev1..sev4] TITLE” (or the severity last); default sev3."),
        handler=open_incident,
        mutating=True,
        examples=("incident open sev2 checkout errors",),
    ),
    _command("incident.ack", {"en": "ack", "fr": "acquitter", "ar": "أقر", "tzm": "ⵥⵕ"}, "[{id}]", ack,
             N_("Acknowledge an incident (you become its owner if it has none)."), (_ID,), "incident ack"),
    _command("incident.assign", {"en": "assign", "fr": "assigner", "ar": "أسند", "tzm": "ⴼⴽ"}, "{person} [{id}]",
             assign, N_("Give an incident an owner: “incident assign @user [N]”."),
             (Arg("person", Person(), N_("person")), _ID), "incident assign @bob 1", private=frozenset({"person"})),
    Command(
        name="incident.update",
        phrases={"en": ("incident update {id} {text}", "incident update {text}"),
                 "fr": ("incident maj {id} {text}", "incident maj {text}"),
                 "ar": ("حادث حدث {id} {text}", "حادث حدث {text}"),
                 "tzm": ("ⵜⴰⵎⵙⴰⵔⵜ ⵙⵎⴰⵢⵏⵓ {id} {text}", "ⵜⴰⵎⵙⴰⵔⵜ ⵙⵎⴰⵢⵏⵓ {text}")},
        args=(_ID, Arg("text", Text(max_length=2000), N_("update"))),
        permission="incidents.manage",
        help=N_("Add an update to an incident's timeline: “incident update [N] TEXT”."),
        handler=update,
        mutating=True,
        examples=("incident update 1 rolled back the release",),
    ),
    _command("incident.resolve", {"en": "resolve", "fr": "résoudre", "ar": "أغلق", "tzm": "ⵎⵎⴷ"}, "[{id}]",
             resolve, N_("Resolve an incident."), (_ID,), "incident resolve 1"),
    _command("incident.significant", {"en": "significant", "fr": "significatif", "ar": "مهم", "tzm": "ⴰⵎⵇⵔⴰⵏ"},
             "[{id}]", significant, N_("Flag an incident as significant under NIS2 (24 h and 72 h notices)."),
             (_ID,), "incident significant 1"),
    _command("incident.notified", {"en": "notified", "fr": "notifié", "ar": "أبلغ", "tzm": "ⵉⵜⵜⵓⵙⵙⵓⵎⵔ"},
             "{notice} [{id}]", notified, N_("Record that the NIS2 early warning or notification was sent."),
             (Arg("notice", NOTICE, N_("notice")), _ID), "incident notified early-warning 1"),
    Command(
        name="incident.report",
        phrases=_phrases({"en": "report", "fr": "rapport", "ar": "تقرير", "tzm": "ⴰⵏⵇⵇⵉⵙ"}, "[{id}]"),
        args=(_ID,),
        permission="read",
        help=N_("Upload a post-incident report (Markdown) in your language."),
        handler=report,
        examples=("incident report 1",),
    ),
    Command(
        name="incidents",
        phrases={"en": ("incidents [{filter}]",), "fr": ("incidents [{filter}]",), "ar": ("الحوادث [{filter}]",),
                 "tzm": ("ⵜⵉⵎⵙⴰⵔⵉⵏ [{filter}]",)},
        args=(Arg("filter", FILTER, N_("filter"), optional=True),),
        permission="read",
        help=N_("List recent incidents, or only the open ones."),
        handler=listing,
        examples=("incidents", "incidents open"),
    ),
    Command(
        name="incidents.stats",
        phrases={"en": ("incidents stats [{period}]",), "fr": ("incidents statistiques [{period}]",
                                                               "incidents stats [{period}]"),
                 "ar": ("الحوادث إحصاءات [{period}]",), "tzm": ("ⵜⵉⵎⵙⴰⵔⵉⵏ ⵉⵙⵎⴹⴰⵏ [{period}]",)},
        args=(Arg("period", Duration(3600, 366 * 86400), N_("period"), optional=True),),
        permission="read",
        help=N_("MTTA and MTTR of the incidents opened over a period (default 30d)."),
        handler=incident_stats,
        examples=("incidents stats 30d",),
    ),
)
