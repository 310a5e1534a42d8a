"""``JobStore`` in memory: guarded transitions, so a job is claimed and finished once."""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot.jobs import TERMINAL, ApprovalClosed, JobDraft, JobLocked, JobRecord, job_lock, lock_holder
from bot.memory.tables import JobRow, Memory, place_of

_ACTIVE = ("queued", "running")


class MemoryJobs(Memory):
    __slots__ = ()

    def create_job(self, draft: JobDraft, now_us: int, approval: int | None = None) -> int:
        lock = job_lock(draft.kind, draft.args)
        holder = lock_holder((_record(i, r) for i, r in self.tables.jobs.items()), lock) if lock else None
        if holder is not None:
            raise JobLocked(holder.id)
        if approval is not None:  # claimed with the job, as the SQL store does in one transaction
            request = self.tables.approvals.get(approval)
            if request is None or request.state != "approved":
                raise ApprovalClosed(approval)
            request.state = "dispatched"
        job_id = self.tables.next_id("jobs")
        self.tables.jobs[job_id] = JobRow(
            kind=draft.kind, args=json.dumps(dict(draft.args), sort_keys=True), summary=draft.summary,
            requester=draft.requester, approvers=json.dumps(list(draft.approvers)), state="queued",
            channel=draft.place.address, thread=draft.place.thread, locale=draft.locale,
            timeout_s=draft.timeout_s, created_us=now_us)
        return job_id

    def job(self, job_id: int) -> JobRecord | None:
        row = self.tables.jobs.get(job_id)
        return _record(job_id, row) if row else None

    def jobs(self, *, requester: str | None = None, states: frozenset[str] | None = None,
             limit: int = 20) -> list[JobRecord]:
        found = [_record(i, r) for i, r in sorted(self.tables.jobs.items(), reverse=True)
                 if (requester is None or r.requester == requester) and (states is None or r.state in states)]
        return found[:limit]

    def claim_job(self, job_id: int, now_us: int) -> bool:
        row = self.tables.jobs.get(job_id)
        if row is None or row.state != "queued":
            return False
        row.state, row.started_us, row.heartbeat_us = "running", now_us, now_us
        row.attempts += 1
        return True

    def claim_job_within(self, job_id: int, now_us: int, env: str, limit: int) -> str:
        row = self.tables.jobs.get(job_id)
        if row is None or row.state != "queued":
            return "taken"
        running = sum(1 for r in self.tables.jobs.values()
                      if r.state == "running" and json.loads(r.args).get("env") == env)
        if running >= limit:
            return "full"
        self.claim_job(job_id, now_us)
        return "claimed"

    def job_progress(self, job_id: int, step: int, total: int, name: str, now_us: int) -> None:
        row = self.tables.jobs.get(job_id)
        if row is not None and row.state == "running":
            row.step, row.total, row.step_name, row.heartbeat_us = step, total, name[:200], now_us

    def heartbeat(self, job_id: int, now_us: int) -> None:
        row = self.tables.jobs.get(job_id)
        if row is not None and row.state == "running":
            row.heartbeat_us = now_us

    def finish_job(self, job_id: int, state: str, result: Mapping[str, object], now_us: int) -> bool:
        row = self.tables.jobs.get(job_id)
        if row is None or row.state not in _ACTIVE:
            return False
        row.state, row.result, row.finished_us = state, json.dumps(dict(result), default=str), now_us
        return True

    def request_cancel(self, job_id: int) -> None:
        row = self.tables.jobs.get(job_id)
        if row is not None:
            row.cancel_requested = True

    def purge_jobs(self, finished_before_us: int) -> int:
        gone = [i for i, r in self.tables.jobs.items() if r.state in TERMINAL
                and r.finished_us is not None and r.finished_us < finished_before_us]
        for job_id in gone:
            del self.tables.jobs[job_id]
        return len(gone)


def _record(job_id: int, r: JobRow) -> JobRecord:
    draft = JobDraft(kind=r.kind, args=json.loads(r.args), summary=r.summary, requester=r.requester,
                     place=place_of(r.channel, r.thread), locale=r.locale, timeout_s=r.timeout_s,
                     approvers=tuple(json.loads(r.approvers)))
    return JobRecord(job_id, draft, r.state, r.step, r.total, r.step_name, r.cancel_requested,
                     json.loads(r.result), r.created_us, r.started_us, r.finished_us, r.heartbeat_us)
