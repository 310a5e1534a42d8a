"""``AuditStore``'s append and reads over SQL: the hash chain, extended under a lock on its head
row; mixed into ``SqlStore`` (retention lives in ``compliance_sql``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, Engine, Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.audit import GENESIS, AuditDraft, AuditRecord, ChainHead, canonical_details, chain_hash
from dihya.store.models import AuditEvent, AuditHead

_HEAD_ID = 1
_HEAD = select(AuditHead.count.label("n"), AuditHead.last_seq, AuditHead.hash).where(AuditHead.id == _HEAD_ID)
# Built once, like the reads of every request: each flush runs both.
_HEAD_LOCKED = _HEAD.with_for_update()
_MOVE_HEAD = (update(AuditHead).where(AuditHead.id == _HEAD_ID)
              .values(count=bindparam("new_count"), last_seq=bindparam("new_seq"), hash=bindparam("new_hash")))


def audit_insert(engine: Engine) -> str:
    """The plain INSERT the flush runs with executemany, in the driver's placeholder style."""
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    columns = "seq, ts_us, actor, action, target, outcome, ref, details, prev_hash, hash"
    # Only constant column names and placeholders: no value is ever formatted into SQL.
    return f"INSERT INTO audit_events ({columns}) VALUES ({', '.join([mark] * 10)})"  # noqa: S608


class AuditSql:
    __slots__ = ("_audit_insert", "_head_ready")
    engine: Engine
    reader: Engine  # see ``SqlStore``

    def _start_audit(self, engine: Engine) -> None:
        """Called by ``SqlStore.__init__``: the INSERT for ``engine``'s driver; the head row not yet checked."""
        self._audit_insert: str = audit_insert(engine)
        self._head_ready: bool = False

    def append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        """Chain and insert ``drafts`` in one transaction; the head row is locked while we do."""
        if not drafts:
            return
        self._ensure_head()
        with self.engine.begin() as conn:
            self._append_audit_in(conn, drafts)

    def _append_audit_in(self, conn: Connection, drafts: Sequence[AuditDraft]) -> None:
        """``append_audit`` inside the caller's transaction (a change and its row commit together);
        the caller ran ``_ensure_head`` before opening it."""
        head = conn.execute(_HEAD_LOCKED).first()
        count, seq, prev = (head.n, head.last_seq, head.hash) if head else (0, 0, GENESIS)
        rows = []
        for draft in drafts:
            seq += 1
            details = canonical_details(draft.details)
            digest = chain_hash(prev, seq, draft, details)
            rows.append((seq, draft.ts_us, draft.actor, draft.action, draft.target, draft.outcome, draft.ref,
                         details, prev, digest))
            prev = digest
        # Plain DB-API executemany: the audit flush is on the hot path and needs no ORM features.
        conn.exec_driver_sql(self._audit_insert, rows)
        _save_head(conn, head is not None, count + len(rows), seq, prev)

    def _ensure_head(self) -> None:
        """The head row must exist before writers lock it: two first writers locking nothing would
        both start the chain at seq 1."""
        if self._head_ready:
            return
        try:
            with self.engine.begin() as conn:
                if conn.execute(_HEAD).first() is None:
                    conn.execute(insert(AuditHead).values(id=_HEAD_ID, count=0, last_seq=0, hash=GENESIS))
        except IntegrityError:
            pass  # another writer created it first
        self._head_ready = True

    def audit_records(self) -> Iterator[AuditRecord]:
        """Every row in order, streamed (a server-side cursor on PostgreSQL), in one read snapshot."""
        return self._audit_rows(select(AuditEvent).order_by(AuditEvent.seq))

    def audit_records_by(self, actors: Sequence[str]) -> Iterator[AuditRecord]:
        """The rows of these actors (pseudonyms) in order, found through the actor index."""
        return self._audit_rows(select(AuditEvent).where(AuditEvent.actor.in_(list(actors))).order_by(AuditEvent.seq))

    def _audit_rows(self, query: Select[tuple[AuditEvent]]) -> Iterator[AuditRecord]:
        with self.reader.connect() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                draft = AuditDraft(row.ts_us, row.actor, row.action, row.target, row.outcome, row.ref,
                                   json.loads(row.details))
                yield AuditRecord(row.seq, draft, row.prev_hash, row.hash)

    def audit_head(self) -> ChainHead | None:
        with self.reader.connect() as conn:
            head = conn.execute(_HEAD).first()
        return ChainHead(head.n, head.last_seq, head.hash) if head else None


def _save_head(conn: Connection, exists: bool, count: int, last_seq: int, digest: str) -> None:
    if exists:
        conn.execute(_MOVE_HEAD, {"new_count": count, "new_seq": last_seq, "new_hash": digest})
    else:
        conn.execute(insert(AuditHead).values(id=_HEAD_ID, count=count, last_seq=last_seq, hash=digest))
