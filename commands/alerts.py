"""alerts, silence, silences, unsilence — and what 👀 🔕 🚨 on an alert message do.

Alertmanager calls run in ``Reply(later=...)``, off the event loop, for commands and reactions alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.alerting import (
    ACK,
    INCIDENT,
    KEY_PREFIX,
    SILENCE,
    STORM_PREFIX,
    AlertGroupRecord,
    alert_list_line,
    group_lines,
    matcher_text,
)
from bot.argtypes import Duration, Name, Text
from bot.clock import micros, now_us, utc_datetime
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg, Verbatim
from bot.incidents import incident_for_alert
from bot.monitoring import Silences
from bot.rbac import Decision
from bot.registry import Arg, Attachment, Command, Reply
from commands.common import say

LISTED_IN_CHAT = 15  # beyond this, the full list comes as a file
REACTION_SILENCE_S = 3600
_PERMISSION = {ACK: "alerts.manage", SILENCE: "alerts.manage", INCIDENT: "incidents.manage"}


def silences_of(ctx: Context) -> Silences:
    if ctx.services.silences is None:
        raise UserError(N_("Alertmanager is not configured (set DIHYA_ALERTMANAGER_URL)."))
    return ctx.services.silences


def _until(us: int) -> str:
    return f"{utc_datetime(us):%Y-%m-%d %H:%M} UTC"


# --- commands ----------------------------------------------------------------------------------


def list_alerts(ctx: Context, args: Mapping[str, object]) -> Reply:
    firing = ctx.services.store.firing_alerts()
    if not firing:
        return say(N_("No alerts are firing."))
    heading = Msg(N_("Firing alerts ({count}):"), {"count": len(firing)})
    if len(firing) <= LISTED_IN_CHAT:
        return Reply((heading, *(Msg(N_("• {alert}"), {"alert": Verbatim(alert_list_line(a))}) for a in firing)))
    listing = "\n".join(alert_list_line(a) for a in firing) + "\n"
    note = Msg(N_("The full list is in the attached file."))
    return Reply((heading, note), uploads=(Attachment("alerts.txt", listing.encode(), heading),))


def silence(ctx: Context, args: Mapping[str, object]) -> Reply:
    matchers, seconds = str(args["matchers"]), int(str(args["duration"]))
    comment, silences, who = str(args.get("comment") or ""), silences_of(ctx), ctx.actor.key

    def work() -> Reply:
        silence_id = silences.silence(matchers, seconds, who, comment)
        until = _until(micros(ctx.services.clock() + seconds))
        return Reply((Msg(N_("🔕 Silence {id} created for {matchers} until {until}."),
                          {"id": silence_id, "matchers": matchers, "until": until}),),
                     target=silence_id, details={"silence": silence_id})

    return Reply((), target=matchers, later=work)


def list_silences(ctx: Context, args: Mapping[str, object]) -> Reply:
    silences = silences_of(ctx)

    def work() -> Reply:
        active = silences.active()
        if not active:
            return say(N_("No active silences."))
        rows = [Msg(N_("• {id} {matchers} until {until} by {who} — {comment}"),
                    {"id": s.id, "matchers": s.matchers, "until": _until(s.ends_us), "who": s.created_by,
                     "comment": s.comment}) for s in active]
        return Reply((Msg(N_("Active silences ({count}):"), {"count": len(active)}), *rows), data=active)

    return Reply((), later=work)


def unsilence(ctx: Context, args: Mapping[str, object]) -> Reply:
    silence_id, silences = str(args["id"]), silences_of(ctx)

    def work() -> Reply:
        silences.expire(silence_id)
        return say(N_("Silence {id} expired."), target=silence_id, id=silence_id)

    return Reply((), target=silence_id, later=work)


# --- reactions on alert messages ---------------------------------------------------------------


def alert_reaction(ctx: Context, emoji: str, added: bool, key: str) -> Reply | None:
    """👀 acknowledge, 🔕 silence for 1 h, 🚨 open an incident; other emoji and removals are not ours."""
    if not added or emoji not in _PERMISSION or not key.removeprefix(KEY_PREFIX).isdigit():
        return None
    group = ctx.services.store.alert_group(int(key.removeprefix(KEY_PREFIX)))
    if group is None:
        return None
    refusal = _refusal(ctx, _PERMISSION[emoji], group.key)
    if refusal is not None:
        return refusal
    if emoji == ACK:
        return _acknowledge(ctx, group)
    if emoji == SILENCE:
        return _silence_group(ctx, group)
    return _open_incident(ctx, group)


def storm_reaction(ctx: Context, emoji: str, added: bool, key: str) -> Reply | None:
    """On a storm summary: 👀 acknowledges every group it stands for, 🔕 silences every firing one for
    1 h (one silence per group, as on the group's own message); 🚨 needs one alert, not a storm."""
    storm_id = key.removeprefix(STORM_PREFIX)
    if not added or emoji not in _PERMISSION or not storm_id.isdigit():
        return None
    groups = ctx.services.store.storm_groups(int(storm_id))
    if not groups:
        return None
    refusal = _refusal(ctx, _PERMISSION[emoji], key)
    if refusal is not None:
        return refusal
    if emoji == ACK:
        return _acknowledge_storm(ctx, key, int(storm_id))
    if emoji == SILENCE:
        return _silence_storm(ctx, key, groups)
    return Reply((Msg(N_("{who}: this summary stands for many alerts; open an incident with “incident open TITLE”."),
                      {"who": ctx.actor.key}),), target=key, outcome="invalid")


def _acknowledge_storm(ctx: Context, key: str, storm_id: int) -> Reply:
    who = ctx.actor.key
    acked = ctx.services.store.ack_storm(storm_id, who, now_us(ctx.services.clock))
    if not acked:
        return Reply((Msg(N_("Every alert group of this storm is already acknowledged.")),), target=key,
                     outcome="duplicate")
    return Reply((Msg(N_("👀 {who} acknowledged {count} alert groups of this storm."),
                      {"who": who, "count": len(acked)}),), target=key, details={"groups": acked})


def _silence_storm(ctx: Context, key: str, groups: list[AlertGroupRecord]) -> Reply:
    silences, who = silences_of(ctx), ctx.actor.key
    pending = [g for g in groups if g.status == "firing" and g.silence_id is None]

    def work() -> Reply:
        made: dict[str, str] = {}  # group id → silence id, for the audit row
        problem: UserError | None = None
        try:
            for group in pending:
                comment = f"Alert group #{group.id} ({group.name}) silenced from chat with its storm"
                silence_id = silences.silence(matcher_text(group.matchers), REACTION_SILENCE_S, who, comment)
                ctx.services.store.set_alert_silence(group.id, silence_id)  # a retry skips it
                made[str(group.id)] = silence_id
        except UserError as err:  # Alertmanager refused or went away part-way: say what was done
            if not made:
                raise
            problem = err
        if not made:
            return Reply((Msg(N_("Every firing alert group of this storm is already silenced.")),), target=key,
                         outcome="duplicate")
        done = Msg(N_("🔕 {who} silenced {count} alert groups of this storm for 1 h."),
                   {"who": who, "count": len(made)})
        lines = (done,) if problem is None else (done, problem.message)
        return Reply(lines, target=key, outcome="ok" if problem is None else "partial", details={"silences": made})

    return Reply((), target=key, later=work)


def _refusal(ctx: Context, permission: str, target: str) -> Reply | None:
    decision = ctx.services.policy.decide(ctx.actor.roles, permission)
    if decision is Decision.ALLOW:
        return None
    if decision is Decision.NEEDS_APPROVAL:
        reason = Msg(N_("{who}: that needs an approval; use the command instead."), {"who": ctx.actor.key})
    else:
        reason = Msg(N_("{who}: you are not allowed to do that (needs “{permission}”; your roles: {roles})."),
                     {"who": ctx.actor.key, "permission": permission, "roles": ", ".join(ctx.actor.role_names)})
    return Reply((reason,), target=target, outcome="denied")


def refreshed(ctx: Context, group_id: int) -> tuple[tuple[str, tuple[Msg, ...]], ...]:
    """The edit that redraws a group's own message (none while a storm summary stands for it)."""
    store = ctx.services.store
    group = store.alert_group(group_id)
    if group is None or group.storm_id is not None:
        return ()
    return ((group.key, group_lines(group, store.group_alerts(group.id))),)


def _acknowledge(ctx: Context, group: AlertGroupRecord) -> Reply:
    store = ctx.services.store
    if not store.ack_alert_group(group.id, ctx.actor.key, now_us(ctx.services.clock)):
        return Reply((Msg(N_("Already acknowledged by {who}."), {"who": group.acked_by or "?"}),),
                     target=group.key, outcome="duplicate")
    return Reply((Msg(N_("👀 {who} acknowledged this alert."), {"who": ctx.actor.key}),), target=group.key,
                 edits=refreshed(ctx, group.id))


def _silence_group(ctx: Context, group: AlertGroupRecord) -> Reply:
    silences, who = silences_of(ctx), ctx.actor.key
    comment = f"Alert group #{group.id} ({group.name}) silenced from chat"  # Alertmanager's record

    def work() -> Reply:
        silence_id = silences.silence(matcher_text(group.matchers), REACTION_SILENCE_S, who, comment)
        ctx.services.store.set_alert_silence(group.id, silence_id)
        return Reply((Msg(N_("🔕 {who} silenced this alert for 1 h (silence {id})."), {"who": who, "id": silence_id}),),
                     target=group.key, details={"silence": silence_id}, edits=refreshed(ctx, group.id))

    return Reply((), target=group.key, later=work)


def _open_incident(ctx: Context, group: AlertGroupRecord) -> Reply:
    if group.incident_id is not None:
        return Reply((Msg(N_("Incident #{id} is already open for this alert."), {"id": group.incident_id}),),
                     target=group.key, outcome="duplicate")
    incident = incident_for_alert(ctx.services.store, group, ctx.actor.key, ctx.place, ctx.locale,
                                  now_us(ctx.services.clock))
    return Reply((Msg(N_("🚨 Incident #{id} opened by {who}: {title} ({severity})."),
                      {"id": incident.id, "who": ctx.actor.key, "title": incident.title,
                       "severity": incident.severity}),),
                 target=incident.key, key=incident.key, edits=refreshed(ctx, group.id))


COMMANDS = (
    Command(
        name="alerts",
        phrases={"en": ("alerts",), "fr": ("alertes",), "ar": ("التنبيهات",), "tzm": ("ⵜⵉⵍⵖⵓⵜⵉⵏ",)},
        permission="read",
        help=N_("List every alert firing now."),
        handler=list_alerts,
        examples=("alerts",),
    ),
    Command(
        name="silence",
        phrases={"en": ("silence {matchers} for {duration} [{comment}]",),
                 "fr": ("silence {matchers} pendant {duration} [{comment}]",),
                 "ar": ("اكتم {matchers} لمدة {duration} [{comment}]",),
                 "tzm": ("ⵙⵙⵓⵙⵎ {matchers} ⵉ {duration} [{comment}]",)},
        args=(Arg("matchers", Text(max_length=500, greedy=False), N_("label matchers")),
              Arg("duration", Duration(60, 90 * 86400), N_("duration")),
              Arg("comment", Text(max_length=300), N_("comment"), optional=True)),
        permission="alerts.manage",
        help=N_("Silence alerts matching labels (e.g. alertname=InstanceDown,instance=web-01) for a while."),
        handler=silence,
        mutating=True,
        examples=("silence alertname=InstanceDown for 1h maintenance",),
    ),
    Command(
        name="silences",
        phrases={"en": ("silences",), "fr": ("silences actifs",), "ar": ("الكتمات",), "tzm": ("ⵜⵉⵙⵓⵙⵎⵉⵏ",)},
        permission="read",
        help=N_("List the active Alertmanager silences."),
        handler=list_silences,
        examples=("silences",),
    ),
    Command(
        name="unsilence",
        phrases={"en": ("unsilence {id}",), "fr": ("lever silence {id}", "réactiver {id}"),
                 "ar": ("ألغ الكتم {id}",), "tzm": ("ⵙⵙⵔ ⴰⵙⵓⵙⵎ {id}",)},
        args=(Arg("id", Name(), N_("silence id")),),
        permission="alerts.manage",
        help=N_("End a silence now."),
        handler=unsilence,
        mutating=True,
        examples=("unsilence 3fa85f64-5717-4562-b3fc-2c963f66afa6",),
    ),
)
