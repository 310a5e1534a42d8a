"""The dispatcher: (event) → actions, through a pipeline of small steps.

dedupe → rate-limit → identify → parse → authorise → approve → run → audit. Each step either lets
the event go on or stops it with a translated reply. The rate limit comes first, per sender, for
messages and reactions alike, so a flood costs no lookup, no parse and one audit row per window.
Audit rows are buffered and written in groups by ``flush_audit``; an ``Outcome`` marked
``durable`` must not be delivered before that flush. Approval requests and votes are routed to
``bot.approvals.Approvals``, which runs the approved command back through ``_run_approved``.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from bot.actions import Action, Edit, Retract, Send, Upload
from bot.approvals import KEY_PREFIX as APPROVAL_PREFIX
from bot.approvals import Approvals
from bot.audit import AuditDraft
from bot.audit_details import MAX_AUDITED_TEXT, audited_args
from bot.clock import micros, now_us
from bot.context import Context, ReactionHandler, Services
from bot.dedupe import DeliveryLog
from bot.errors import StoreUnavailable, UserError
from bot.events import Event, Message, Place, Reaction, Sender
from bot.i18n import DEFAULT_LOCALE, N_, Msg
from bot.identity import Actor
from bot.outcome import IGNORED, Later, Outcome
from bot.parser import Parsed, Rejected, parse
from bot.ratelimit import Flood, RateLimit
from bot.rbac import Decision
from bot.registry import Command, Reply
from bot.text import WITHHELD, clip, neutralise

__all__ = ["IGNORED", "MAX_AUDITED_TEXT", "WITHHELD", "Bot", "Later", "Outcome"]

log = logging.getLogger("dihya.core")
TOO_MANY = N_("Too many requests: wait before trying again.")
STORE_DOWN = N_("The database is unavailable right now; nothing was changed. Try again shortly.")
UNAVAILABLE = "unavailable"  # the audit outcome of a command refused because the store is down




@dataclass(frozen=True, slots=True)
class Invoked:
    """What a command called with typed arguments instead of text (the HTTP API) became.

    ``status``: "done" (ran; ``ref`` names its job when it started one), "approval" (``ref`` names
    the request), "denied", "invalid", "throttled" or "unknown"; ``lines`` say why when it did not run."""

    status: str
    outcome: Outcome
    event: Message
    ref: str = ""
    lines: tuple[Msg, ...] = ()


@dataclass(frozen=True, slots=True)
class Voted:
    """A vote cast without a reaction (the HTTP API): ``refusal`` is why it did not count."""

    outcome: Outcome
    refusal: Msg | None = None
    state: str = ""


class Bot:
    __slots__ = ("_services", "_deliveries", "_limit", "_pending", "_approvals")

    def __init__(self, services: Services, deliveries: DeliveryLog, limit: RateLimit) -> None:
        self._deliveries = deliveries
        self._limit = limit
        self._pending: list[AuditDraft] = []
        self.services = services

    @property
    def services(self) -> Services:
        return self._services

    @services.setter
    def services(self, services: Services) -> None:
        """Replacing the services (a test swapping a port) rebuilds what was built from them."""
        self._services = services
        self._approvals = Approvals(services.store, services.identities, services.policy, services.catalogs,
                                    services.registry, services.clock, self._run_approved, self.audit)

    # -- entry points -------------------------------------------------------------------------
    def handle(self, event: Event) -> Outcome:
        stopped = self.admit(event)
        return stopped if stopped is not None else self.handle_new(event)

    def admit(self, event: Event) -> Outcome | None:
        """Dedupe, then the per-sender rate limit: ``None`` when the event may go on, else what
        stops it. Split from ``handle_new`` for work that must happen once per admitted delivery
        before the command runs (a slash command's echo)."""
        if not self._deliveries.first_time(event.delivery_id):
            return IGNORED
        if isinstance(event, Message) and (not event.text or event.text.isspace()):
            return IGNORED
        if self._limit.active:  # before any lookup or parsing: a flood costs next to nothing
            flood = self._limit.check(event.sender.key)
            if flood is not None:
                return self._throttled(event, flood)
            if self._limit.floods:
                self._close_floods()
        return None

    def handle_new(self, event: Event) -> Outcome:
        """``handle`` for an event ``admit`` let through."""
        try:
            return self._message(event) if isinstance(event, Message) else self._reaction(event)
        except StoreUnavailable:  # before a command ran (who is speaking, which message was reacted to)
            return self._store_down(event)

    def _store_down(self, event: Event) -> Outcome:
        """The store is down: say so in the thread, in the language the command was written in."""
        if isinstance(event, Message):
            place, locale = _reply_place(event), parse(self.services.registry, event.text).locale
        else:
            place = Place(event.place.platform, event.place.channel, event.place.thread or event.target_message_id)
            locale = None
        log.warning("store unavailable; the event was answered and not acted on", extra={"place": place.address})
        return self._say(place, locale or DEFAULT_LOCALE, (Msg(STORE_DOWN),))

    def echo(self, message: Message) -> str:
        """What may be shown of a command the platform does not show (a slash command's echo): the
        words naming the command in the language typed, never its arguments; nothing when unknown."""
        parsed = parse(self.services.registry, message.text)
        if parsed.command is None:
            return ""
        return parsed.command.words(parsed.locale or DEFAULT_LOCALE)

    def flush_audit(self, final: bool = False) -> int:
        """Write buffered audit rows in one transaction; returns how many were written. Floods
        whose window has ended (all of them when ``final``) are written with them."""
        self._close_floods(final)
        if not self._pending:
            return 0
        batch, self._pending = self._pending, []
        try:
            self.services.store.append_audit(batch)
        except Exception:
            self._pending = batch + self._pending  # keep them: an audit row is never dropped
            raise
        return len(batch)

    @property
    def audit_backlog(self) -> int:
        return len(self._pending)

    def audit(self, actor: Actor | str, action: str, target: str = "", outcome: str = "ok", ref: str = "",
              details: Mapping[str, object] | None = None) -> None:
        pseudonym = actor if isinstance(actor, str) else actor.pseudonym
        self._pending.append(AuditDraft(self.now_us(), pseudonym, action, target, outcome, ref, details or {}))

    def now_us(self) -> int:
        return now_us(self.services.clock)

    def render(self, lines: tuple[Msg, ...], locale: str) -> str:
        return self.services.catalogs.render_all(lines, locale)

    # -- typed entry points (the HTTP API) -----------------------------------------------------
    def invoke(self, person: Actor, name: str, raw: Mapping[str, object], place: Place,
               locale: str | None = None, approvals_at: Place | None = None,
               claimed_roles: frozenset[str] = frozenset()) -> Invoked:
        """Run command ``name`` for ``person`` (read afresh for this call by the adapter: its check of
        the caller already needed the roles) with arguments given by name, through the same rate
        limit, RBAC, approval policy and audit as a chat message; actions go to ``place``, an
        approval request to ``approvals_at`` (a chat channel its approvers read) when given.
        ``claimed_roles`` are held for this call only (an identity provider's token grants them)."""
        actor_key = person.key
        platform, _, user = actor_key.partition(":")
        text = " ".join([name, *(f"{k}={v}" for k, v in raw.items())])
        event = Message(f"invoke-{uuid.uuid4().hex}", Sender(platform, user), place, "", text)
        if self._limit.active:
            flood = self._limit.check(actor_key)
            if flood is not None:
                return Invoked("throttled", self._throttled(event, flood), event, lines=(Msg(TOO_MANY),))
        actor = _holding(person, claimed_roles)
        locale = locale or actor.locale or DEFAULT_LOCALE
        command = self.services.registry.commands.get(name)
        if command is None:
            return Invoked("unknown", IGNORED, event)
        try:
            args = {k: command.arg(k).kind.convert(str(v), command.arg(k).label) for k, v in raw.items()}
        except (UserError, KeyError) as err:
            self.audit(actor, f"command:{name}", outcome="invalid", details={"place": place.address})
            line = err.message if isinstance(err, UserError) else Msg(N_("Unknown field {field}."), {"field": str(err)})
            return Invoked("invalid", Outcome(durable=True), event, lines=(line,))
        ctx = Context(actor, place, locale, self.services)
        parsed = Parsed(command, locale, args)
        permission = command.permission_for(args)
        decision = self.services.policy.decide(actor.roles, permission)
        if decision is Decision.DENY:
            refusal = Msg(N_("You are not allowed to do that (needs “{permission}”; your roles: {roles})."),
                          {"permission": permission, "roles": ", ".join(actor.role_names)})
            return Invoked("denied", self._authorised(event, ctx, parsed), event, lines=(refusal,))
        if decision is Decision.NEEDS_APPROVAL:
            try:
                if command.check is not None:
                    command.check(ctx, args)
            except UserError as err:
                self.audit(actor, f"command:{name}", outcome="invalid", details=audited_args(args, command.private))
                return Invoked("invalid", Outcome(durable=True), event, lines=(err.message,))
            if approvals_at is not None:  # the request is posted where approvers read it
                ctx = Context(actor, approvals_at, locale, self.services)
                event = Message(event.delivery_id, event.sender, approvals_at, "", text)
            outcome = self._approvals.ask(text, ctx, parsed, permission)
            key = next((a.key for a in outcome.actions if isinstance(a, Send) and a.key), None)
            if key is None:  # too long to be shown for approval
                return Invoked("invalid", outcome, event, lines=(Msg(N_("The request is too long to be approved."),),))
            return Invoked("approval", outcome, event, ref=key)
        reply = self._execute(ctx, command, args)
        later = (Later(ctx, command.name, args, reply.later),) if reply.later else ()
        outcome = Outcome(self._reply(ctx.place, ctx.locale, reply), durable=reply.outcome != UNAVAILABLE, later=later)
        if reply.outcome in ("fault", UNAVAILABLE):
            return Invoked("fault", outcome, event, lines=reply.lines)
        if reply.outcome in ("invalid", "refused", "denied", "tampered"):
            return Invoked("invalid", outcome, event, lines=reply.lines)
        return Invoked("done", outcome, event, ref=reply.ref, lines=reply.lines)

    def throttled(self, actor_key: str, place: Place) -> bool:
        """Whether a call by ``actor_key`` that runs no command (a read over HTTP) is past the
        per-sender rate limit; it counts like a message, and a flood gets its one audit row."""
        if not self._limit.active:
            return False
        flood = self._limit.check(actor_key)
        if flood is None:
            return False
        if flood.first:
            flood.actor, flood.place = self.services.store.pseudonym(actor_key), place.address
        return True

    def vote(self, request_id: int, person: Actor, approve: bool,
             claimed_roles: frozenset[str] = frozenset()) -> Voted | None:
        """A vote by ``person`` (read afresh for this call, as for ``invoke``) on approval ``request_id``
        that counts like a ✅/❌ reaction; None when there is no such request."""
        request = self.services.store.approval(request_id)
        if request is None:
            return None
        voter = _holding(person, claimed_roles)
        outcome, reason = self._approvals.cast(request, voter, approve)
        if reason is not None:
            params = {"state": request.state, "roles": ", ".join(voter.role_names),
                      "approvers": ", ".join(sorted(request.draft.approver_roles))}
            return Voted(outcome, Msg(reason, params))
        after = self.services.store.approval(request.id)
        return Voted(outcome, None, after.state if after else "")

    def interrupted_approvals(self) -> list[tuple[str, Outcome]]:
        """Close requests approved by a process that stopped before running them (see ``Approvals``)."""
        return self._approvals.interrupted()

    # -- floods -------------------------------------------------------------------------------
    def _throttled(self, event: Event, flood: Flood) -> Outcome:
        """A sender past the rate limit: one notice for the window, then silence."""
        if not flood.first:
            return IGNORED
        actor = self.services.identities.resolve(event.sender)
        flood.actor, flood.place = actor.pseudonym, event.place.address
        place = _reply_place(event) if isinstance(event, Message) else \
            Place(event.place.platform, event.place.channel, event.place.thread or event.target_message_id)
        notice = Msg(N_("Too many messages: I will not answer you for {seconds} seconds."),
                     {"seconds": round(self._limit.window)})
        return self._say(place, actor.locale or DEFAULT_LOCALE, (notice,))

    def _close_floods(self, everything: bool = False) -> None:
        """One audit row per flood, once its window is over: who, where, and how many events."""
        for flood in self._limit.ended(everything):
            self.audit(flood.actor, "rate_limit", outcome="throttled", details={
                "count": flood.count, "place": flood.place,
                "from_us": micros(flood.started), "until_us": micros(flood.ends)})

    @property
    def rate_window(self) -> float:
        """Seconds of the per-sender rate limit's window (how long a throttled sender waits at most)."""
        return float(self._limit.window)

    @property
    def flood_due_in(self) -> float | None:
        """Seconds until an open flood's window ends (its audit row is then due); None when none is open."""
        return self._limit.due_in()

    # -- messages -----------------------------------------------------------------------------
    def _message(self, event: Message) -> Outcome:
        actor = self.services.identities.resolve(event.sender)
        parsed = parse(self.services.registry, event.text, actor.locale)
        if isinstance(parsed, Rejected):
            outcome = self._rejected(event, actor, parsed)
        else:
            ctx = Context(actor, _reply_place(event), actor.locale or parsed.locale, self.services)
            outcome = self._authorised(event, ctx, parsed)
        command = parsed.command
        if command is not None and command.confidential and event.posted and not event.place.direct:
            locale = actor.locale or parsed.locale or DEFAULT_LOCALE
            return Outcome((self._retraction(event, locale), *outcome.actions), outcome.durable, outcome.later)
        return outcome

    def _retraction(self, event: Message, locale: str) -> Retract:
        """Whatever became of the command, its text put a confidential value where others read it."""
        place = _reply_place(event)
        removed = self.render((Msg(N_("I removed your message: it carried a confidential value. Others may "
                                      "have seen it before, so replace that value.")),), locale)
        kept = self.render((Msg(N_("I could not remove your message, which carried a confidential value: "
                                   "delete it yourself, and replace that value.")),), locale)
        return Retract(place.channel, event.message_id, removed, kept, place.thread)

    def _rejected(self, event: Message, actor: Actor, rejected: Rejected) -> Outcome:
        locale = actor.locale or rejected.locale or DEFAULT_LOCALE
        name = rejected.command.name if rejected.command else "?"
        self.audit(actor, f"command:{name}", outcome="invalid", details=_attempt(event, rejected.command))
        return self._say(_reply_place(event), locale, (rejected.reason,))

    def _authorised(self, event: Message, ctx: Context, parsed: Parsed) -> Outcome:
        permission = parsed.command.permission_for(parsed.args)
        decision = self.services.policy.decide(ctx.actor.roles, permission)
        if decision is Decision.DENY:
            refusal = Msg(N_("You are not allowed to do that (needs “{permission}”; your roles: {roles})."),
                          {"permission": permission, "roles": ", ".join(ctx.actor.role_names)})
            self.audit(ctx.actor, f"command:{parsed.command.name}", outcome="denied",
                       details=_attempt(event, parsed.command))
            return self._say(ctx.place, ctx.locale, (refusal,))
        if decision is Decision.NEEDS_APPROVAL:
            refused = self._checked(ctx, parsed)
            return refused if refused is not None else self._approvals.ask(event.text, ctx, parsed, permission)
        reply = self._execute(ctx, parsed.command, parsed.args)
        later = (Later(ctx, parsed.command.name, parsed.args, reply.later),) if reply.later else ()
        durable = parsed.command.mutating and reply.outcome != UNAVAILABLE  # a refusal changed nothing
        return Outcome(self._reply(ctx.place, ctx.locale, reply), durable=durable, later=later)

    def _checked(self, ctx: Context, parsed: Parsed) -> Outcome | None:
        """The command's own check before an approval is asked: a refusal, or None to go on."""
        if parsed.command.check is None:
            return None
        try:
            parsed.command.check(ctx, parsed.args)
        except UserError as err:
            self.audit(ctx.actor, f"command:{parsed.command.name}", outcome="invalid",
                       details=audited_args(parsed.args, parsed.command.private))
            return self._say(ctx.place, ctx.locale, (err.message,))
        return None

    def _execute(self, ctx: Context, command: Command, args: Mapping[str, object], ref: str = "") -> Reply:
        try:
            reply = command.handler(ctx, args)
        except Exception as err:  # a failing handler must not stop the bot; _failed logs it
            reply = _failed(command.name, err)
        if reply.later is None:  # deferred work is audited when it finishes
            self.audit(ctx.actor, f"command:{command.name}", reply.target, reply.outcome, reply.ref or ref,
                       audited_args(args, command.private, reply.details))
        return reply

    @staticmethod
    def run_later(later: Later) -> Reply:
        """Run deferred work (in a worker thread); errors become replies like a handler's."""
        try:
            return later.work()
        except Exception as err:  # a failing handler must not stop the bot; _failed logs it
            return _failed(later.command, err)

    def finish(self, later: Later, reply: Reply) -> Outcome:
        """Audit and render deferred work's reply (on the event loop)."""
        ctx = later.ctx
        command = self.services.registry.commands.get(later.command)
        private = command.private if command else frozenset()
        self.audit(ctx.actor, later.action or f"command:{later.command}", reply.target, reply.outcome,
                   reply.ref or later.ref, audited_args(later.args, private, reply.details))
        return Outcome(self._reply(ctx.place, ctx.locale, reply), durable=True)

    def _say(self, place: Place, locale: str, lines: tuple[Msg, ...]) -> Outcome:
        return Outcome((self._send(place, locale, lines),))

    def _send(self, place: Place, locale: str, lines: tuple[Msg, ...], key: str | None = None) -> Send:
        return Send(place.channel, self.services.catalogs.render_all(lines, locale), place.thread, key)

    def _reply(self, place: Place, locale: str, reply: Reply) -> tuple[Action, ...]:
        """A handler's reply as actions: its text, its files, and edits of earlier messages."""
        locale = reply.locale or locale
        if not reply.uploads and not reply.edits:  # the common reply: one message, or none
            return (self._send(place, locale, reply.lines, reply.key),) if reply.lines else ()
        actions: list[Action] = []
        if reply.lines:
            actions.append(self._send(place, locale, reply.lines, reply.key))
        for file in reply.uploads:
            title = self.render((file.title,), locale)
            actions.append(Upload(place.channel, file.filename, file.content, title, thread=place.thread))
        for key, lines in reply.edits:
            actions.append(Edit(place.channel, key, self.render(lines, locale)))
        return tuple(actions)

    # -- approvals and reactions -------------------------------------------------------------
    def _run_approved(self, requester: Actor, place: Place, locale: str, approvers: tuple[str, ...],
                      command: Command, args: Mapping[str, object], ref: str, approval: int | None) -> Outcome:
        """An approved command, run as its requester once the quorum is met (``Approvals`` calls it);
        a job command's job claims request ``approval`` as it is recorded."""
        ctx = Context(requester, place, locale, self.services, approvers, approval)
        reply = self._execute(ctx, command, args, ref=ref)
        later = (Later(ctx, command.name, args, reply.later, ref),) if reply.later else ()
        return Outcome(self._reply(place, locale, reply), durable=reply.outcome != UNAVAILABLE, later=later)

    def _reaction(self, event: Reaction) -> Outcome:
        key = self.services.store.message_key(event.place.channel, event.target_message_id)
        if key is None:
            return IGNORED
        if key.startswith(APPROVAL_PREFIX):
            return self._approvals.react(event, key)
        prefix = key.split(":", 1)[0] + ":"
        handler = self.services.reactions.get(prefix)
        return self._handled_reaction(event, key, handler) if handler else IGNORED

    def _handled_reaction(self, event: Reaction, key: str, handler: ReactionHandler) -> Outcome:
        actor = self.services.identities.fresh(event.sender.key, event.sender.display_name)
        place = Place(event.place.platform, event.place.channel, event.place.thread or event.target_message_id)
        ctx = Context(actor, place, actor.locale or DEFAULT_LOCALE, self.services)
        try:
            reply = handler(ctx, event.emoji, event.added, key)
        except UserError as err:
            reply = Reply((err.message,), outcome="invalid")
        if reply is None:
            return IGNORED
        action = f"reaction:{key.split(':', 1)[0]}"
        if reply.later is not None:  # I/O (an Alertmanager call) runs off the loop, audited when done
            later = Later(ctx, action, {"emoji": event.emoji}, reply.later, ref=key, action=action)
            return Outcome(self._reply(place, ctx.locale, reply), durable=True, later=(later,))
        self.audit(actor, action, target=reply.target, outcome=reply.outcome, ref=key,
                   details={"emoji": event.emoji, "added": event.added, **reply.details})
        return Outcome(self._reply(place, ctx.locale, reply), durable=True)


def _holding(actor: Actor, claimed: frozenset[str]) -> Actor:
    """``actor`` with roles a token claims for this call added to the granted ones."""
    return dataclasses.replace(actor, roles=actor.roles | claimed) if claimed - actor.roles else actor


def _failed(command: str, err: Exception) -> Reply:
    """A handler's error as its reply: a user error says what was wrong, anything else is logged
    with a reference the reply quotes (never the exception text, which may hold a secret)."""
    if isinstance(err, UserError):
        return Reply((err.message,), outcome=err.outcome)
    if isinstance(err, StoreUnavailable):  # its audit row waits in the buffer until the store is back
        return Reply((Msg(STORE_DOWN),), outcome=UNAVAILABLE)
    fault = uuid.uuid4().hex[:8]
    log.error("command failed", exc_info=err, extra={"ref": fault, "command": command})
    return Reply((Msg(N_("Something failed (ref {ref})."), {"ref": fault}),), outcome="fault")


def _reply_place(event: Message) -> Place:
    """Replies go in the message's thread, or start one on the message."""
    place = event.place
    return Place(place.platform, place.channel, place.thread or event.message_id, place.direct)


def _attempt(event: Message, command: Command | None) -> dict[str, object]:
    if command is not None and command.private:  # the text may hold a secret or name a person
        return {"place": event.place.address}
    return {"text": clip(neutralise(event.text), MAX_AUDITED_TEXT), "place": event.place.address}
