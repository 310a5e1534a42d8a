"""``ApprovalStore`` in memory: the state moves only by compare-and-set, as the SQL UPDATE does."""

from __future__ import annotations

import json

from bot.memory.tables import ApprovalRow, Memory, VoteRow, place_of
from bot.ports import ApprovalDraft, ApprovalRecord, Vote


class MemoryApprovals(Memory):
    __slots__ = ()

    def create_approval(self, draft: ApprovalDraft) -> int:
        request_id = self.tables.next_id("approvals")
        self.tables.approvals[request_id] = ApprovalRow(
            command=draft.command, text=draft.text, args=json.dumps(dict(draft.args), sort_keys=True),
            digest=draft.digest, permission=draft.permission, quorum=draft.quorum,
            approver_roles=",".join(sorted(draft.approver_roles)), requester=draft.requester,
            requester_person=draft.requester_person, channel=draft.place.address, thread=draft.place.thread,
            locale=draft.locale, state="pending", created_us=draft.created_us, expires_us=draft.expires_us)
        self.tables.votes[request_id] = {}
        return request_id

    def approval(self, request_id: int) -> ApprovalRecord | None:
        row = self.tables.approvals.get(request_id)
        return _record(request_id, row) if row else None

    def pending_approvals(self, state: str = "pending") -> list[ApprovalRecord]:
        return [_record(i, r) for i, r in sorted(self.tables.approvals.items()) if r.state == state]

    def cast_vote(self, request_id: int, vote: Vote, now_us: int) -> None:
        """A voter's new vote replaces their previous one."""
        if request_id not in self.tables.approvals:
            raise LookupError(f"no approval request {request_id}")  # the SQL foreign key refuses it too
        votes = self.tables.votes[request_id]
        votes.pop(vote.voter, None)
        votes[vote.voter] = VoteRow(vote.voter, vote.voter_person, vote.approve, now_us)

    def withdraw_vote(self, request_id: int, voter: str) -> bool:
        return self.tables.votes.get(request_id, {}).pop(voter, None) is not None

    def votes(self, request_id: int) -> list[Vote]:
        rows = sorted(self.tables.votes.get(request_id, {}).values(), key=lambda v: v.created_us)
        return [Vote(v.voter, v.voter_person, v.approve) for v in rows]

    def transition_approval(self, request_id: int, from_state: str, to_state: str) -> bool:
        row = self.tables.approvals.get(request_id)
        if row is None or row.state != from_state:
            return False
        row.state = to_state
        return True


def _record(request_id: int, r: ApprovalRow) -> ApprovalRecord:
    draft = ApprovalDraft(
        command=r.command, text=r.text, args=json.loads(r.args), digest=r.digest, permission=r.permission,
        quorum=r.quorum, approver_roles=frozenset(filter(None, r.approver_roles.split(","))),
        requester=r.requester, requester_person=r.requester_person, place=place_of(r.channel, r.thread),
        locale=r.locale, created_us=r.created_us, expires_us=r.expires_us)
    return ApprovalRecord(request_id, draft, r.state)
