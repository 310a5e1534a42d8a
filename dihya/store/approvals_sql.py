"""``ApprovalStore`` over SQL: requests, votes and the compare-and-set on their state; mixed into
``SqlStore``."""

from __future__ import annotations

import json

from sqlalchemy import Engine, Row, delete, insert, select, update

from bot.events import Place
from bot.ports import ApprovalDraft, ApprovalRecord, Vote
from dihya.store.models import ApprovalRequestRow, ApprovalVote


class ApprovalsSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``

    def create_approval(self, draft: ApprovalDraft) -> int:
        values = {
            "command": draft.command, "text": draft.text, "args": json.dumps(dict(draft.args), sort_keys=True),
            "digest": draft.digest,
            "permission": draft.permission, "quorum": draft.quorum,
            "approver_roles": ",".join(sorted(draft.approver_roles)), "requester": draft.requester,
            "requester_person": draft.requester_person, "channel": draft.place.address, "thread": draft.place.thread,
            "locale": draft.locale, "state": "pending", "created_us": draft.created_us, "expires_us": draft.expires_us,
        }
        with self.engine.begin() as conn:
            return int(conn.execute(insert(ApprovalRequestRow).values(**values)
                                    .returning(ApprovalRequestRow.id)).scalar_one())

    def approval(self, request_id: int) -> ApprovalRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(ApprovalRequestRow).where(ApprovalRequestRow.id == request_id)).first()
        return _approval(row) if row else None

    def pending_approvals(self, state: str = "pending") -> list[ApprovalRecord]:
        query = select(ApprovalRequestRow).where(ApprovalRequestRow.state == state).order_by(ApprovalRequestRow.id)
        with self.reader.connect() as conn:
            return [_approval(row) for row in conn.execute(query)]

    def cast_vote(self, request_id: int, vote: Vote, now_us: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ApprovalVote).where(ApprovalVote.request_id == request_id,
                                                    ApprovalVote.voter == vote.voter))
            conn.execute(insert(ApprovalVote).values(request_id=request_id, voter=vote.voter,
                                                     voter_person=vote.voter_person, approve=vote.approve,
                                                     created_us=now_us))

    def withdraw_vote(self, request_id: int, voter: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(ApprovalVote).where(ApprovalVote.request_id == request_id,
                                                                ApprovalVote.voter == voter)).rowcount)

    def votes(self, request_id: int) -> list[Vote]:
        query = (select(ApprovalVote.voter, ApprovalVote.voter_person, ApprovalVote.approve)
                 .where(ApprovalVote.request_id == request_id).order_by(ApprovalVote.created_us))
        with self.reader.connect() as conn:
            return [Vote(r.voter, r.voter_person, bool(r.approve)) for r in conn.execute(query)]

    def transition_approval(self, request_id: int, from_state: str, to_state: str) -> bool:
        """Compare-and-set on the state: exactly one caller wins a given transition."""
        with self.engine.begin() as conn:
            result = conn.execute(update(ApprovalRequestRow)
                                  .where(ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == from_state)
                                  .values(state=to_state))
            return result.rowcount == 1


def _approval(row: Row[tuple[ApprovalRequestRow]]) -> ApprovalRecord:
    r = row._mapping
    platform, _, channel = str(r["channel"]).partition(":")
    draft = ApprovalDraft(
        command=r["command"], text=r["text"], args=json.loads(r["args"]), digest=r["digest"],
        permission=r["permission"],
        quorum=r["quorum"], approver_roles=frozenset(filter(None, r["approver_roles"].split(","))),
        requester=r["requester"], requester_person=r["requester_person"],
        place=Place(platform, channel, r["thread"]), locale=r["locale"],
        created_us=r["created_us"], expires_us=r["expires_us"],
    )
    return ApprovalRecord(r["id"], draft, r["state"])
