"""Approval rules, free of I/O: what a vote means, whether a voter may cast it, and what the
request message says. The dispatcher (``bot.core``) applies them against the store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bot.actions import Button
from bot.emoji import bare as bare_emoji
from bot.events import Place
from bot.i18n import N_, Catalogs, Msg, Verbatim, isolated
from bot.identity import Actor
from bot.ports import ApprovalDraft, ApprovalRecord, Vote
from bot.rbac import AccessPolicy
from bot.registry import Command
from bot.text import WITHHELD, neutralise

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
    expires = datetime.fromtimestamp(draft.expires_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M")
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


