"""Approval rules, free of I/O: what a vote means, whether a voter may cast it, and what the
request message says. The dispatcher (``bot.core``) applies them against the store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bot.actions import Button
from bot.events import Place
from bot.i18n import N_, Catalogs, Msg
from bot.identity import Actor
from bot.ports import ApprovalRecord, Vote
from bot.rbac import AccessPolicy

APPROVE_EMOJI = frozenset({"✅", "👍", "✔"})
DENY_EMOJI = frozenset({"❌", "👎", "✖"})
KEY_PREFIX = "approval:"
_VARIATION_SELECTOR = "\ufe0f"


def vote_of(emoji: str) -> bool | None:
    """True for approve, False for deny, None for any other reaction."""
    bare = emoji.replace(_VARIATION_SELECTOR, "")
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


def refusal(request: ApprovalRecord, voter: Actor, policy: AccessPolicy, now_us: int) -> str | None:
    """Why ``voter`` may not vote on ``request`` now (a message id), or None when they may."""
    draft = request.draft
    if request.state != "pending":
        return N_("This request is already closed ({state}).")
    if now_us >= draft.expires_us:
        return N_("This request has expired; ask again.")
    if voter.key == draft.requester or (voter.person_id is not None and voter.person_id == draft.requester_person):
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


def request_text(request: ApprovalRecord, what: str, approvals: Sequence[str]) -> Msg:
    draft = request.draft
    expires = datetime.fromtimestamp(draft.expires_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M")
    return Msg(
        N_("🔐 Approval needed (#{id}): {what}\nAsked by {requester}. Approvers: {roles} ({quorum} needed; "
           "so far: {so_far}). Expires {expires} UTC.\nReact ✅ or 👍 to approve, ❌ to deny."),
        {"id": request.id, "what": what, "requester": draft.requester, "roles": ", ".join(sorted(draft.approver_roles)),
         "quorum": draft.quorum, "so_far": ", ".join(approvals) or "-", "expires": expires},
    )


def closed_text(request: ApprovalRecord, what: str, state: str, people: Sequence[str]) -> Msg:
    texts = {
        "dispatched": N_("✅ Approved (#{id}) by {people}: {what}"),
        "denied": N_("❌ Denied (#{id}) by {people}: {what}"),
        "expired": N_("⌛ Expired (#{id}): {what}"),
        "refused": N_("⛔ Not run (#{id}): {what}"),
    }
    return Msg(texts[state], {"id": request.id, "people": ", ".join(people) or "-", "what": what})


