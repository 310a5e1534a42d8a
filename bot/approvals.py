"""Approvals: the rules, free of I/O (what a vote means, whether a voter may cast it, what the
request message says), and ``Approvals``, the state machine that applies them against the store:
pending → approved → dispatched | refused; pending → denied | expired. The dispatcher
(``bot.core``) routes a command needing approval, and every reaction on a request, here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.actions import Button, Edit, Send
from bot.audit_details import MAX_AUDITED_TEXT, audited_args
from bot.clock import micros, now_us, utc_datetime
from bot.context import Context
from bot.emoji import bare as bare_emoji
from bot.errors import UserError
from bot.events import Place, Reaction
from bot.i18n import N_, Catalogs, Msg, Verbatim, isolated
from bot.identity import Actor, Identities
from bot.outcome import IGNORED, Outcome
from bot.parser import Parsed
from bot.ports import ApprovalDraft, ApprovalRecord, ApprovalStore, Clock, Vote
from bot.rbac import AccessPolicy, Decision
from bot.registry import Command, Registry
from bot.text import WITHHELD, clip, neutralise

APPROVE_EMOJI = frozenset({"✅", "👍", "✔"})
DENY_EMOJI = frozenset({"❌", "👎", "✖"})
KEY_PREFIX = "approval:"
# Every argument is shown to approvers in full; a request whose values are longer than this in
# all is refused rather than shown cut (the longest built-in request is far below it).
MAX_SHOWN = 1000
TOO_LONG = N_("This request is too long to show approvers in full ({length} characters of arguments; at most "
              "{limit}). Shorten it.")


def vote_of(emoji: str) -> bool | None:
    """True for approve, False for deny, None for any other reaction."""
    bare = bare_emoji(emoji)
    if bare in APPROVE_EMOJI:
        return True
    if bare in DENY_EMOJI:
        return False
    return None


def digest(command: str, args: Mapping[str, object], place: Place) -> str:
    """Binds a request to the exact command, arguments and place it was asked for."""
    body = json.dumps([command, dict(sorted(args.items())), place.address, place.thread],
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def asked_by(actor: Actor, draft: ApprovalDraft, requester_now: int | None = None) -> bool:
    """Whether ``actor`` is the person who asked: the same identity, or one linked to it when the
    request was made or since (``requester_now``: the requester's person today)."""
    if actor.key == draft.requester:
        return True
    return actor.person_id is not None and actor.person_id in (draft.requester_person, requester_now)


def refusal(request: ApprovalRecord, voter: Actor, policy: AccessPolicy, now_us: int,
            requester_now: int | None = None) -> str | None:
    """Why ``voter`` may not vote on ``request`` now (a message id), or None when they may."""
    draft = request.draft
    if request.state != "pending":
        return N_("This request is already closed ({state}).")
    if now_us >= draft.expires_us:
        return N_("This request has expired; ask again.")
    if asked_by(voter, draft, requester_now):
        return N_("You cannot approve your own request.")
    if voter.roles.isdisjoint(draft.approver_roles) or not policy.can_approve(voter.roles, draft.permission):
        return N_("Your roles ({roles}) may not approve this; approvers: {approvers}.")
    return None


def tally(votes: Sequence[Vote]) -> tuple[list[str], list[str]]:
    """Distinct people who approved and who denied (linked identities count once)."""
    approvers: dict[object, str] = {}
    deniers: dict[object, str] = {}
    for v in votes:
        person = v.voter_person if v.voter_person is not None else v.voter
        (approvers if v.approve else deniers).setdefault(person, v.voter)
    return list(approvers.values()), list(deniers.values())


def buttons(catalogs: Catalogs, locale: str) -> tuple[Button, ...]:
    return (Button("✅", catalogs.render(Msg(N_("Approve")), locale)),
            Button("❌", catalogs.render(Msg(N_("Deny")), locale)))


def shown(value: object) -> str:
    """An argument as approvers see it: control and bidi characters made visible, whitespace
    collapsed, nothing cut."""
    return " ".join(neutralise(str(value)).split())


def shown_length(args: Mapping[str, object]) -> int:
    return sum(len(shown(v)) for v in args.values())


def describe(catalogs: Catalogs, command: Command | None, name: str, args: Mapping[str, object],
             locale: str) -> str:
    """What will run, rendered from the parsed command in ``locale``: the command's words, then
    each argument by its translated label with its value in full. Never the text as typed, where
    padding or a cut could hide an argument."""
    labels = {a.name: a.label for a in command.args} if command is not None else {}
    hidden = command.confidential if command is not None else frozenset()
    parts = [command.words(locale) if command is not None else name]
    for arg_name in [n for n in labels if n in args] + sorted(n for n in args if n not in labels):
        value = Verbatim(WITHHELD if arg_name in hidden else isolated(shown(args[arg_name]), locale))
        label = labels.get(arg_name, arg_name)
        parts.append(catalogs.render(Msg(N_("{name}: {value}"), {"name": Msg(label), "value": value}), locale))
    return " · ".join(parts)


def request_text(request: ApprovalRecord, what: str, approvals: Sequence[str]) -> Msg:
    draft = request.draft
    expires = utc_datetime(draft.expires_us).strftime("%Y-%m-%d %H:%M")
    return Msg(
        N_("🔐 Approval needed (#{id}): {what}\nAsked by {requester}. Approvers: {roles} ({quorum} needed; "
           "so far: {so_far}). Expires {expires} UTC.\nReact ✅ or 👍 to approve, ❌ to deny."),
        {"id": request.id, "what": Verbatim(what), "requester": draft.requester,
         "roles": ", ".join(sorted(draft.approver_roles)), "quorum": draft.quorum,
         "so_far": ", ".join(approvals) or "-", "expires": expires},
    )


def closed_text(request: ApprovalRecord, what: str, state: str, people: Sequence[str]) -> Msg:
    texts = {
        "dispatched": N_("✅ Approved (#{id}) by {people}: {what}"),
        "denied": N_("❌ Denied (#{id}) by {people}: {what}"),
        "expired": N_("⌛ Expired (#{id}): {what}"),
        "refused": N_("⛔ Not run (#{id}): {what}"),
    }
    return Msg(texts[state], {"id": request.id, "people": ", ".join(people) or "-", "what": Verbatim(what)})




INTERRUPTED = N_("Request #{id} was approved, but the bot stopped before running it: nothing was run. "
                  "Ask again if it is still needed.")


# --- the state machine -------------------------------------------------------------------------
class Audit(Protocol):
    """Buffers one audit row (``Bot.audit``)."""

    def __call__(self, actor: Actor | str, action: str, target: str = "", outcome: str = "ok", ref: str = "",
                 details: Mapping[str, object] | None = None) -> None: ...


class RunApproved(Protocol):
    """Runs an approved command as its requester, audited under ``ref``; its reply as an outcome."""

    def __call__(self, requester: Actor, place: Place, locale: str, approvers: tuple[str, ...], command: Command,
                 args: Mapping[str, object], ref: str, approval: int | None) -> Outcome: ...


class Approvals:
    """Asks for approval, counts votes, and runs a request once its quorum is met."""

    __slots__ = ("_store", "_identities", "_policy", "_catalogs", "_registry", "_clock", "_run", "_audit")

    def __init__(self, store: ApprovalStore, identities: Identities, policy: AccessPolicy, catalogs: Catalogs,
                 registry: Registry, clock: Clock, run: RunApproved, audit: Audit) -> None:
        self._store, self._identities, self._policy = store, identities, policy
        self._catalogs, self._registry, self._clock = catalogs, registry, clock
        self._run, self._audit = run, audit

    def ask(self, text: str, ctx: Context, parsed: Parsed, permission: str) -> Outcome:
        """Post the request for ``parsed`` (typed as ``text``), or refuse one too long to show in full."""
        length = shown_length(parsed.args)
        if length > MAX_SHOWN:
            self._audit(ctx.actor, f"command:{parsed.command.name}", outcome="invalid",
                        details={**audited_args(parsed.args, parsed.command.private), "reason": "too_long"})
            return self._say(ctx.place, ctx.locale, (Msg(TOO_LONG, {"length": length, "limit": MAX_SHOWN}),))
        policy = self._policy.approvals[permission]
        now = self._now_us()
        draft = ApprovalDraft(
            command=parsed.command.name, text=clip(neutralise(_shown(text, parsed)), MAX_AUDITED_TEXT),
            args=parsed.args,
            digest=digest(parsed.command.name, parsed.args, ctx.place), permission=permission,
            quorum=policy.quorum, approver_roles=policy.approver_roles, requester=ctx.actor.key,
            requester_person=ctx.actor.person_id, place=ctx.place, locale=ctx.locale,
            created_us=now, expires_us=now + micros(policy.expiry_seconds),
        )
        request = ApprovalRecord(self._store.create_approval(draft), draft, "pending")
        ref = f"{KEY_PREFIX}{request.id}"
        self._audit(ctx.actor, f"command:{parsed.command.name}", outcome="approval_requested", ref=ref,
                    details=audited_args(parsed.args, parsed.command.private))
        text = self._render((request_text(request, self._what(request, ctx.locale), ()),), ctx.locale)
        send = Send(ctx.place.channel, text, thread=ctx.place.thread, key=ref,
                    buttons=buttons(self._catalogs, ctx.locale))
        return Outcome((send,), durable=True)

    def react(self, event: Reaction, key: str) -> Outcome:
        """A reaction on the request posted under ``key`` (``approval:<id>``): a vote, or its withdrawal."""
        value = vote_of(event.emoji)
        if value is None:
            return IGNORED
        request = self._store.approval(int(key.removeprefix(KEY_PREFIX)))
        if request is None:
            return IGNORED
        voter = self._identities.fresh(event.sender.key, event.sender.display_name)
        if not event.added:
            return self._withdraw(request, voter, key)
        return self._vote(request, voter, bool(value), key)

    def cast(self, request: ApprovalRecord, voter: Actor, approve: bool) -> tuple[Outcome, str | None]:
        """A vote cast without a reaction (the HTTP API), ruled exactly like one: its outcome, and
        why it did not count (None when it counted)."""
        key = f"{KEY_PREFIX}{request.id}"
        requester = self._identities.fresh(request.draft.requester)
        reason = refusal(request, voter, self._policy, self._now_us(), requester.person_id)
        if reason is not None:
            return self._refuse_vote(request, voter, reason, key), reason
        return self._vote(request, voter, approve, key), None

    def _now_us(self) -> int:
        return now_us(self._clock)

    def _render(self, lines: tuple[Msg, ...], locale: str) -> str:
        return self._catalogs.render_all(lines, locale)

    def _say(self, place: Place, locale: str, lines: tuple[Msg, ...]) -> Outcome:
        return Outcome((Send(place.channel, self._render(lines, locale), place.thread),))

    def _withdraw(self, request: ApprovalRecord, voter: Actor, key: str) -> Outcome:
        if request.state != "pending" or not self._store.withdraw_vote(request.id, voter.key):
            return IGNORED
        self._audit(voter, "approval:withdraw", target=request.draft.command, ref=key)
        return Outcome((self._request_edit(request, key),), durable=True)

    def _vote(self, request: ApprovalRecord, voter: Actor, approve: bool, key: str) -> Outcome:
        store, draft = self._store, request.draft
        requester = self._identities.fresh(draft.requester)
        reason = refusal(request, voter, self._policy, self._now_us(), requester.person_id)
        if reason is not None:
            return self._refuse_vote(request, voter, reason, key)
        store.cast_vote(request.id, Vote(voter.key, voter.person_id, approve), self._now_us())
        self._audit(voter, "approval:vote", target=draft.command, outcome="approve" if approve else "deny", ref=key)
        yes, no = tally(store.votes(request.id))
        if no and store.transition_approval(request.id, "pending", "denied"):
            return self._close(request, key, "denied", no)
        if len(yes) >= draft.quorum and store.transition_approval(request.id, "pending", "approved"):
            return self._dispatch(request, key, yes)
        return Outcome((self._request_edit(request, key, yes),), durable=True)

    def _refuse_vote(self, request: ApprovalRecord, voter: Actor, reason: str, key: str) -> Outcome:
        draft = request.draft
        self._audit(voter, "approval:vote", target=draft.command, outcome="refused", ref=key,
                    details={"reason": reason})
        params = {"state": request.state, "roles": ", ".join(voter.role_names),
                  "approvers": ", ".join(sorted(draft.approver_roles))}
        line = Msg(N_("{who}: {reason}"), {"who": voter.key, "reason": Msg(reason, params)})
        outcome = self._say(draft.place, voter.locale or draft.locale, (line,))
        expired = request.state == "pending" and self._now_us() >= draft.expires_us
        if expired and self._store.transition_approval(request.id, "pending", "expired"):
            return Outcome(self._close(request, key, "expired", ()).actions + outcome.actions, durable=True)
        return Outcome(outcome.actions, durable=True)

    def _dispatch(self, request: ApprovalRecord, key: str, approvers: list[str]) -> Outcome:
        """Run an approved request once, after re-checking both parties' rights and the arguments."""
        draft, store = request.draft, self._store
        requester = self._identities.fresh(draft.requester)
        problem, args = self._recheck(request, requester, approvers)
        if problem is not None:
            store.transition_approval(request.id, "approved", "refused")
            self._audit(requester, f"command:{draft.command}", outcome="refused", ref=key,
                        details={"reason": problem})
            said = self._say(draft.place, draft.locale, (Msg(problem),))
            return Outcome(self._close(request, key, "refused", approvers).actions + said.actions, durable=True)
        command = self._registry.commands[draft.command]
        # A job command's job claims the request as it is recorded (``JobStore.create_job``); any
        # other command claims it first, so a request runs at most once either way.
        if not command.job and not store.transition_approval(request.id, "approved", "dispatched"):
            return IGNORED  # closed as interrupted meanwhile (``interrupted``): it must not run now
        ran = self._run(requester, draft.place, draft.locale, tuple(approvers), command, args, key,
                        request.id if command.job else None)
        if command.job:
            now = store.approval(request.id)
            state = now.state if now is not None else None
            if state == "approved" and store.transition_approval(request.id, "approved", "refused"):
                closed = self._close(request, key, "refused", approvers)  # refused before its job: nothing ran
                return Outcome(closed.actions + ran.actions, durable=True, later=ran.later)
            if state != "dispatched":
                return IGNORED  # closed as interrupted meanwhile (``interrupted``): it did not run
        return Outcome(self._close(request, key, "dispatched", approvers).actions + ran.actions, durable=True,
                       later=ran.later)

    def _recheck(self, request: ApprovalRecord, requester: Actor,
                 approvers: list[str]) -> tuple[str | None, dict[str, object]]:
        draft, policy = request.draft, self._policy
        if policy.decide(requester.roles, draft.permission) is Decision.DENY:
            return N_("Not run: the requester is no longer allowed to do this."), {}
        people: set[object] = set()  # distinct people, none of them the requester, as linked today
        for key in approvers:
            approver = self._identities.fresh(key)
            if policy.can_approve(approver.roles, draft.permission) and \
                    not asked_by(approver, draft, requester.person_id):
                people.add(approver.person_id if approver.person_id is not None else key)
        if len(people) < draft.quorum:
            return N_("Not run: an approver is no longer allowed to approve this."), {}
        command = self._registry.commands.get(draft.command)
        try:
            args = {k: command.arg(k).kind.convert(str(v), command.arg(k).label) for k, v in draft.args.items()} \
                if command else {}
        except (UserError, KeyError):
            return N_("Not run: the request's arguments are no longer valid."), {}
        if command is None or digest(draft.command, args, draft.place) != draft.digest:
            return N_("Not run: the request no longer matches what was approved."), {}
        return None, args

    def _request_edit(self, request: ApprovalRecord, key: str, yes: list[str] | None = None) -> Edit:
        if yes is None:
            yes, _ = tally(self._store.votes(request.id))
        locale = request.draft.locale
        text = self._render((request_text(request, self._what(request, locale), yes),), locale)
        return Edit(request.draft.place.channel, key, text, buttons(self._catalogs, request.draft.locale))

    def _what(self, request: ApprovalRecord, locale: str) -> str:
        draft = request.draft
        command = self._registry.commands.get(draft.command)
        return describe(self._catalogs, command, draft.command, draft.args, locale)

    def interrupted(self) -> list[tuple[str, Outcome]]:
        """Requests approved by a process that stopped before running them (issue 16, fault 3): they
        never ran, and running them long after the vote could surprise the approvers, so they are
        closed as not run, audited, and the thread is told to ask again."""
        outcomes = []  # (platform, what to tell there)
        for request in self._store.pending_approvals("approved"):
            if not self._store.transition_approval(request.id, "approved", "refused"):
                continue  # dispatched by a live replica after all
            key, draft = f"{KEY_PREFIX}{request.id}", request.draft
            self._audit(self._identities.fresh(draft.requester), f"command:{draft.command}", outcome="interrupted",
                        ref=key)
            said = self._say(draft.place, draft.locale, (Msg(INTERRUPTED, {"id": request.id}),))
            closed = self._close(request, key, "refused", ()).actions + said.actions
            outcomes.append((draft.place.platform, Outcome(closed, durable=True)))
        return outcomes

    def _close(self, request: ApprovalRecord, key: str, state: str, people: list[str] | tuple[()]) -> Outcome:
        locale = request.draft.locale
        text = self._render((closed_text(request, self._what(request, locale), state, people),), locale)
        return Outcome((Edit(request.draft.place.channel, key, text),), durable=True)


def _shown(text: str, parsed: Parsed) -> str:
    """The typed text as it may be shown back (in an approval request): confidential values withheld."""
    for name in parsed.command.confidential:
        value = str(parsed.args.get(name, ""))
        text = text.replace(value, WITHHELD) if value else text
    return text
