"""The dispatcher: (event) → actions, through a pipeline of small steps.

dedupe → identify → parse → authorise → rate-limit → run → audit. Each step either lets the
event go on or stops it with a translated reply. Audit rows are buffered and written in groups
by ``flush_audit``; an ``Outcome`` marked ``durable`` must not be delivered before that flush.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from bot.actions import Action, Send
from bot.audit import AuditDraft
from bot.context import Context, Services
from bot.dedupe import DeliveryLog
from bot.errors import UserError
from bot.events import Event, Message, Reaction
from bot.i18n import DEFAULT_LOCALE, N_, Msg
from bot.identity import Actor
from bot.parser import Parsed, Rejected, parse
from bot.ratelimit import RateLimit
from bot.rbac import Decision
from bot.registry import Reply
from bot.text import clip, neutralise

log = logging.getLogger("dihya.core")
MAX_AUDITED_TEXT = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    actions: tuple[Action, ...] = ()
    durable: bool = False


IGNORED = Outcome()


class Bot:
    __slots__ = ("_deliveries", "_limit", "_pending", "services")

    def __init__(self, services: Services, deliveries: DeliveryLog, limit: RateLimit) -> None:
        self.services = services
        self._deliveries = deliveries
        self._limit = limit
        self._pending: list[AuditDraft] = []

    # -- entry points -------------------------------------------------------------------------
    def handle(self, event: Event) -> Outcome:
        if not self._deliveries.first_time(event.delivery_id):
            return IGNORED
        if isinstance(event, Message):
            return self._message(event)
        return self._reaction(event)

    def flush_audit(self) -> int:
        """Write buffered audit rows in one transaction; returns how many were written."""
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

    def audit(self, actor: Actor, action: str, **fields: object) -> None:
        self._pending.append(AuditDraft(int(self.services.clock() * 1_000_000), actor.pseudonym, action, **fields))  # type: ignore[arg-type]

    # -- messages -----------------------------------------------------------------------------
    def _message(self, event: Message) -> Outcome:
        if not event.text.strip():
            return IGNORED
        actor = self.services.identities.resolve(event.sender)
        parsed = parse(self.services.registry, event.text, actor.locale)
        if isinstance(parsed, Rejected):
            return self._rejected(event, actor, parsed)
        locale = actor.locale or parsed.locale
        ctx = Context(actor, event.place, locale, self.services)
        return self._authorised(event, ctx, parsed)

    def _rejected(self, event: Message, actor: Actor, rejected: Rejected) -> Outcome:
        locale = actor.locale or rejected.locale or DEFAULT_LOCALE
        name = rejected.command.name if rejected.command else "?"
        self.audit(actor, f"command:{name}", outcome="invalid", details=_attempt(event))
        return self._say(event, locale, (rejected.reason,))

    def _authorised(self, event: Message, ctx: Context, parsed: Parsed) -> Outcome:
        permission = parsed.command.permission_for(parsed.args)
        decision = self.services.policy.decide(ctx.actor.roles, permission)
        if decision is Decision.DENY:
            refusal = Msg(N_("You are not allowed to do that (needs “{permission}”; your roles: {roles})."),
                          {"permission": permission, "roles": ", ".join(ctx.actor.role_names)})
            self.audit(ctx.actor, f"command:{parsed.command.name}", outcome="denied", details=_attempt(event))
            return self._say(event, ctx.locale, (refusal,))
        if not self._limit.allow(ctx.actor.key):
            self.audit(ctx.actor, f"command:{parsed.command.name}", outcome="rate_limited")
            return self._say(event, ctx.locale, (Msg(N_("Too many commands; please wait a moment.")),))
        if decision is Decision.NEEDS_APPROVAL:
            return self._needs_approval(event, ctx, parsed, permission)
        return self._run(event, ctx, parsed)

    def _needs_approval(self, event: Message, ctx: Context, parsed: Parsed, permission: str) -> Outcome:
        self.audit(ctx.actor, f"command:{parsed.command.name}", outcome="needs_approval", details=_attempt(event))
        reason = Msg(N_("“{permission}” needs approval, and this bot has no approval workflow yet."),
                     {"permission": permission})
        return self._say(event, ctx.locale, (reason,))

    def _run(self, event: Message, ctx: Context, parsed: Parsed) -> Outcome:
        command = parsed.command
        try:
            reply = command.handler(ctx, parsed.args)
        except UserError as err:
            reply = Reply((err.message,), outcome="invalid")
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command failed", extra={"ref": ref, "command": command.name})
            reply = Reply((Msg(N_("Something failed (ref {ref})."), {"ref": ref}),), outcome="fault")
        self.audit(ctx.actor, f"command:{command.name}", target=reply.target, outcome=reply.outcome,
                   details={**_args(parsed.args), **reply.details})
        outcome = self._say(event, ctx.locale, reply.lines)
        return Outcome(outcome.actions, durable=command.mutating)

    def _say(self, event: Message, locale: str, lines: tuple[Msg, ...]) -> Outcome:
        text = self.services.catalogs.render_all(lines, locale)
        thread = event.place.thread or event.message_id
        return Outcome((Send(event.place.channel, text, thread=thread),))

    # -- reactions ----------------------------------------------------------------------------
    def _reaction(self, event: Reaction) -> Outcome:  # noqa: ARG002 - approvals by reaction come next
        return IGNORED


def _attempt(event: Message) -> dict[str, object]:
    return {"text": clip(neutralise(event.text), MAX_AUDITED_TEXT), "place": event.place.address}


def _args(args: Mapping[str, object]) -> dict[str, object]:
    return {"args": {k: clip(neutralise(str(v)), MAX_AUDITED_TEXT) for k, v in args.items()}}


def now_us() -> int:
    return int(time.time() * 1_000_000)
