"""``AuditStore`` in memory: the same chain the SQL store writes, row for row."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from bot.audit import GENESIS, AuditDraft, AuditRecord, ChainHead, Checkpoint, canonical_details, chain_hash
from bot.memory.tables import Memory


class MemoryAudit(Memory):
    __slots__ = ()

    def append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        if not drafts:
            return
        count, seq, prev = self.tables.head or (0, 0, GENESIS)
        for draft in drafts:
            seq += 1
            details = canonical_details(draft.details)
            digest = chain_hash(prev, seq, draft, details)
            # Stored as read back from a row: the details as their JSON, decoded.
            stored = AuditDraft(draft.ts_us, draft.actor, draft.action, draft.target, draft.outcome, draft.ref,
                                json.loads(details))
            self.tables.audit[seq] = AuditRecord(seq, stored, prev, digest)
            prev = digest
        self.tables.head = (count + len(drafts), seq, prev)

    def audit_records(self) -> Iterator[AuditRecord]:
        yield from [self.tables.audit[seq] for seq in sorted(self.tables.audit)]

    def audit_records_by(self, actors: Sequence[str]) -> Iterator[AuditRecord]:
        wanted = set(actors)
        yield from [r for r in self.audit_records() if r.draft.actor in wanted]

    def audit_head(self) -> ChainHead | None:
        head = self.tables.head
        return ChainHead(*head) if head else None

    def audit_checkpoint(self) -> Checkpoint | None:
        return self.tables.checkpoints[-1][0] if self.tables.checkpoints else None

    def purge_audit(self, through_seq: int, now_us: int) -> Checkpoint | None:
        """Drop rows up to ``through_seq`` and record where the chain now starts."""
        last = self.tables.audit.get(through_seq)
        if last is None:
            return None
        gone = [seq for seq in self.tables.audit if seq <= through_seq]
        for seq in gone:
            del self.tables.audit[seq]
        before = self.tables.checkpoints[-1][0].purged if self.tables.checkpoints else 0
        checkpoint = Checkpoint(through_seq, last.hash, before + len(gone))
        self.tables.checkpoints.append((checkpoint, now_us))
        return checkpoint
