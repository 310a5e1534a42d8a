"""``SqlStore``: the core's ``Store`` port over SQLAlchemy 2 (SQLite by default, PostgreSQL in
production), composed of one mixin per port (``*_sql.py``) over one engine."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine, select, update

from bot.audit import AuditDraft
from dihya.store.alerts_sql import AlertsSql
from dihya.store.api_tokens_sql import TOKEN_BY_ID, ApiTokensSql
from dihya.store.approvals_sql import ApprovalsSql
from dihya.store.audit_sql import AuditSql
from dihya.store.compliance_sql import ComplianceSql
from dihya.store.engine import readers
from dihya.store.identities_sql import PERSON_WITH_ROLES, IdentitiesSql, split_key
from dihya.store.inventory_sql import InventorySql
from dihya.store.jobs_sql import JOB_BY_ID, JobsSql, finish_in
from dihya.store.kv_sql import KvSql
from dihya.store.messages_sql import MessageKeysSql
from dihya.store.models import JobRow, ServerRow
from dihya.store.point_read import PointRead
from dihya.store.sealing import Sealer, address_field, result_field

__all__ = ["SqlStore", "split_key"]


class SqlStore(IdentitiesSql, InventorySql, MessageKeysSql, ApprovalsSql, JobsSql, KvSql, AuditSql, AlertsSql,
               ComplianceSql, ApiTokensSql):
    __slots__ = ("engine", "job_read", "person_read", "reader", "sealer", "token_read")

    def __init__(self, engine: Engine, sealer: Sealer | None = None) -> None:
        self.engine = engine  # transactions that write (on SQLite they take the write lock at BEGIN)
        self.reader = readers(engine)  # transactions that only read: they lock no writer out
        # What every API request reads (its token's record, its person, often a job), off
        # SQLAlchemy's execution layer (``point_read``).
        self.token_read = PointRead(engine, TOKEN_BY_ID)
        self.person_read = PointRead(engine, PERSON_WITH_ROLES)
        self.job_read = PointRead(engine, JOB_BY_ID)
        self.sealer = sealer or Sealer()  # inventory addresses and job results, encrypted at rest
        self._start_audit(engine)

    # -- a job's end and its audit row together (issue 16) -----------------------------------
    def finish_job_audited(self, job_id: int, state: str, result: Mapping[str, object], now_us: int,
                           audit: AuditDraft) -> bool:
        """``finish_job`` and its audit row in one transaction: a process killed in between cannot
        leave a finished job without its outcome on record (issue 16, fault 3)."""
        self._ensure_head()
        with self.engine.begin() as conn:
            done = finish_in(conn, self.sealer, job_id, state, result, now_us)
            if done:
                self._append_audit_in(conn, [audit])
            return done

    # -- encryption at rest -------------------------------------------------------------------
    def reseal_at_rest(self) -> tuple[int, int]:
        """Seal every inventory address and job result under the newest key (``secrets
        rotate-key``), clear ones written before a key was set included, in one transaction.
        Returns (addresses, results)."""
        with self.engine.begin() as conn:
            servers = conn.execute(select(ServerRow.name, ServerRow.address)).all()
            for name, address in servers:
                conn.execute(update(ServerRow).where(ServerRow.name == name)
                             .values(address=self.sealer.reseal(address_field(name), address)))
            jobs = conn.execute(select(JobRow.id, JobRow.result)).all()
            for job_id, result in jobs:
                conn.execute(update(JobRow).where(JobRow.id == job_id)
                             .values(result=self.sealer.reseal(result_field(job_id), result)))
        return len(servers), len(jobs)
