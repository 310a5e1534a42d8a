"""``JobStore`` over SQL: jobs, claimed once, their results sealed at rest; mixed into ``SqlStore``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from bot.errors import UserError
from bot.events import Place
from bot.jobs import ApprovalClosed, JobDraft, JobLocked, JobRecord, job_lock
from dihya.store.job_locks import active_holder, running_in_env  # issue 16
from dihya.store.models import ApprovalRequestRow, JobRow
from dihya.store.point_read import PointRead
from dihya.store.sealing import UNREADABLE, Sealer, result_field

JOB_BY_ID = select(JobRow).where(JobRow.id == bindparam("id"))  # a point read: the API reads a job per poll
_COLUMNS = tuple(str(column.key) for column in JOB_BY_ID.selected_columns)
_NEW_JOB = insert(JobRow).returning(JobRow.id)  # built once, like the read: a deploy over HTTP records one
_DISPATCH = (update(ApprovalRequestRow)  # the approved request a job runs, claimed with the job
             .where(ApprovalRequestRow.id == bindparam("request"), ApprovalRequestRow.state == "approved")
             .values(state="dispatched"))


class JobsSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``
    sealer: Sealer
    job_read: PointRead  # ``JOB_BY_ID``, built by ``SqlStore``

    def create_job(self, draft: JobDraft, now_us: int, approval: int | None = None) -> int:
        values = {
            "kind": draft.kind, "args": json.dumps(dict(draft.args), sort_keys=True), "summary": draft.summary,
            "requester": draft.requester, "approvers": json.dumps(list(draft.approvers)), "state": "queued",
            "channel": draft.place.address, "thread": draft.place.thread, "locale": draft.locale,
            "timeout_s": draft.timeout_s, "created_us": now_us,
        }
        lock = job_lock(draft.kind, draft.args)
        with self.engine.begin() as conn:
            holder = active_holder(conn, lock) if lock is not None else None  # issue 16
            if holder is not None:
                raise JobLocked(holder)
            if approval is not None and conn.execute(_DISPATCH, {"request": approval}).rowcount != 1:
                raise ApprovalClosed(approval)  # rolls the transaction back: no job, no claim
            return int(conn.execute(_NEW_JOB, values).scalar_one())

    def job(self, job_id: int) -> JobRecord | None:
        row = self.job_read.first({"id": job_id})
        return self._job(dict(zip(_COLUMNS, row, strict=True))) if row else None

    def jobs(self, *, requester: str | None = None, states: frozenset[str] | None = None,
             limit: int = 20) -> list[JobRecord]:
        query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
        if requester is not None:
            query = query.where(JobRow.requester == requester)
        if states is not None:
            query = query.where(JobRow.state.in_(sorted(states)))
        with self.reader.connect() as conn:
            return [self._job(row._mapping) for row in conn.execute(query)]

    def claim_job(self, job_id: int, now_us: int) -> bool:
        """queued → running, once: a redelivered task finds the job taken and leaves it alone."""
        with self.engine.begin() as conn:
            claimed = conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued")
                                   .values(state="running", started_us=now_us, heartbeat_us=now_us,
                                           attempts=JobRow.attempts + 1)).rowcount
            return claimed == 1

    def claim_job_within(self, job_id: int, now_us: int, env: str, limit: int) -> str:
        """``claim_job`` unless ``limit`` jobs of ``env`` already run (per-environment worker
        concurrency, issue 16): "claimed", "full" (left queued, to be tried again) or "taken"."""
        with self.engine.begin() as conn:
            running_in_env(conn, env)  # serialises the count and the claim between workers
            if conn.scalar(select(JobRow.state).where(JobRow.id == job_id)) != "queued":
                return "taken"
            if running_in_env(conn, env, lock=False) >= limit:
                return "full"
            conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued")
                         .values(state="running", started_us=now_us, heartbeat_us=now_us,
                                 attempts=JobRow.attempts + 1))
            return "claimed"

    def job_progress(self, job_id: int, step: int, total: int, name: str, now_us: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
                         .values(step=step, total=total, step_name=name[:200], heartbeat_us=now_us))

    def heartbeat(self, job_id: int, now_us: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
                         .values(heartbeat_us=now_us))

    def finish_job(self, job_id: int, state: str, result: Mapping[str, object], now_us: int) -> bool:
        """Move a queued or running job to a final state; False when it already ended."""
        with self.engine.begin() as conn:
            return finish_in(conn, self.sealer, job_id, state, result, now_us)

    def _job(self, row: Mapping[Any, Any]) -> JobRecord:
        """The record of a job's row, its columns by name."""
        try:
            result = json.loads(self.sealer.open(result_field(row["id"]), row["result"]))
        except UserError:  # sealed under a key no longer configured: the job still shows, without it
            result = {"message": {"msgid": UNREADABLE}}
        return _job(row, result)

    def request_cancel(self, job_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job_id).values(cancel_requested=True))


def _job(r: Mapping[Any, Any], result: Mapping[str, object]) -> JobRecord:
    platform, _, channel = str(r["channel"]).partition(":")
    draft = JobDraft(kind=r["kind"], args=json.loads(r["args"]), summary=r["summary"], requester=r["requester"],
                     place=Place(platform, channel, r["thread"]), locale=r["locale"], timeout_s=r["timeout_s"],
                     approvers=tuple(json.loads(r["approvers"])))
    return JobRecord(r["id"], draft, r["state"], r["step"], r["total"], r["step_name"], bool(r["cancel_requested"]),
                     result, r["created_us"], r["started_us"], r["finished_us"], r["heartbeat_us"])


def finish_in(conn: Connection, sealer: Sealer, job_id: int, state: str, result: Mapping[str, object],
              now_us: int) -> bool:
    """``finish_job`` inside the caller's transaction."""
    sealed = sealer.seal(result_field(job_id), json.dumps(dict(result), default=str))
    return conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state.in_(("queued", "running")))
                        .values(state=state, result=sealed, finished_us=now_us)).rowcount == 1
