"""``JobExecutor``: claim a job once, run it with progress, heartbeat and cancellation, record the end.

The same code runs in a thread of the local queue and inside a Celery task. Every transition is
written to the job row and the audit log, then ``notify(job_id)`` nudges the bot process to edit
the job's status message (the row, not the nudge, carries the truth).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Protocol

from bot.audit import AuditDraft
from bot.clock import now_us
from bot.i18n import N_, Msg
from bot.jobs import JobRecord
from bot.ports import Store
from dihya.redaction import Redactor
from dihya.runners.base import CancelToken, Progress, ProgressSink, RunnerError, RunResult

log = logging.getLogger("dihya.jobs")
DEFERRED = "deferred"  # ``run``'s answer when the job's environment has no free slot: try again later
HEARTBEAT_S = 5.0
CANCEL_POLL_S = 1.0
EXCERPT_CHARS = 1500


class JobRunner(Protocol):
    def run(self, job: JobRecord, progress: ProgressSink, cancel: CancelToken) -> RunResult: ...


class StoreCancelToken:
    """Cancelled when someone asked (``cancel job N``, polled from the store) or the deadline passed."""

    __slots__ = ("_store", "_job_id", "_deadline", "_checked", "_asked", "timed_out")

    def __init__(self, store: Store, job_id: int, deadline: float) -> None:
        self._store = store
        self._job_id = job_id
        self._deadline = deadline
        self._checked = 0.0
        self._asked = False
        self.timed_out = False

    def cancelled(self) -> bool:
        now = time.monotonic()
        if now >= self._deadline:
            self.timed_out = True
            return True
        if not self._asked and now - self._checked >= CANCEL_POLL_S:
            self._checked = now
            job = self._store.job(self._job_id)
            self._asked = job is None or job.cancel_requested
        return self._asked


class JobExecutor:
    def __init__(self, store: Store, runner: JobRunner, notify: Callable[[int], None], redactor: Redactor,
                 clock: Callable[[], float] = time.time, limits: Mapping[str, int] | None = None) -> None:
        self._store = store
        self._runner = runner
        self._notify = notify
        self._redact = redactor
        self._clock = clock
        self._limits = dict(limits or {})  # environment → how many of its jobs may run at once (issue 16)

    def now_us(self) -> int:
        return now_us(self._clock)

    def run(self, job_id: int) -> str | None:
        """Run ``job_id`` unless another delivery already did; returns its final state (None: skipped,
        ``DEFERRED``: its environment runs as many jobs as it may, the caller tries again later)."""
        claimed = self._claim(job_id)
        if claimed != "claimed":
            if claimed == "taken":
                log.info("job already claimed; not running it again", extra={"job": job_id})
            return DEFERRED if claimed == "full" else None
        job = self._store.job(job_id)
        assert job is not None
        self._transition(job, "running")
        token = StoreCancelToken(self._store, job_id, time.monotonic() + job.draft.timeout_s)
        stop_beats = self._heartbeat(job_id)
        try:
            result = self._attempt(job, token)
        finally:
            stop_beats.set()
        state = _final_state(result, token)
        if self._store.finish_job_audited(job_id, state, self._result_fields(result), self.now_us(),
                                          self._audit_row(job, state, result)):
            self._notify(job.id)
        return state

    def _claim(self, job_id: int) -> str:
        env = None
        if self._limits:
            job = self._store.job(job_id)
            env = job.draft.args.get("env") if job is not None else None
        if isinstance(env, str) and env in self._limits:
            return self._store.claim_job_within(job_id, self.now_us(), env, self._limits[env])
        return "claimed" if self._store.claim_job(job_id, self.now_us()) else "taken"

    def fail(self, job_id: int, reason: str) -> bool:
        """Mark a job failed from outside the run (worker lost, queue refused it)."""
        job = self._store.job(job_id)
        if job is None or not self._store.finish_job_audited(job_id, "failed", {"message": {"msgid": reason}},
                                                             self.now_us(), self._audit_row(job, "failed")):
            return False
        self._notify(job.id)
        return True

    def _attempt(self, job: JobRecord, token: StoreCancelToken) -> RunResult:
        try:
            return self._runner.run(job, self._progress(job.id), token)
        except RunnerError as err:
            return RunResult(False, err.message, refused=True)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("job crashed", extra={"job": job.id, "ref": ref})
            return RunResult(False, Msg(N_("Something failed (ref {ref})."), {"ref": ref}))

    def _progress(self, job_id: int) -> ProgressSink:
        def report(p: Progress) -> None:
            self._store.job_progress(job_id, p.step, p.total, self._redact(p.name), self.now_us())
            self._notify(job_id)

        return report

    def _heartbeat(self, job_id: int) -> threading.Event:
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_S):
                self._store.heartbeat(job_id, self.now_us())

        threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True).start()
        return stop

    def _result_fields(self, result: RunResult) -> Mapping[str, object]:
        message = {"msgid": result.summary.msgid, "params": {k: str(v) for k, v in result.summary.params.items()}}
        return {"message": message, "failed_step": self._redact(result.failed_step),
                "excerpt": self._redact(result.log_excerpt)[-EXCERPT_CHARS:],
                "details": {k: self._redact(str(v)) for k, v in result.details.items()}}

    def _transition(self, job: JobRecord, state: str) -> None:
        self._store.append_audit([self._audit_row(job, state)])
        self._notify(job.id)

    def _audit_row(self, job: JobRecord, state: str, result: RunResult | None = None) -> AuditDraft:
        """A job's move to ``state``; a final state's row is written with the state itself (``finish_job_audited``)."""
        actor = self._store.pseudonym(job.draft.requester)
        details: dict[str, object] = {"kind": job.draft.kind}
        if result is not None and result.failed_step:
            details["failed_step"] = self._redact(result.failed_step)
        return AuditDraft(self.now_us(), actor, f"job:{state}", job.draft.summary, state, job.key, details)


def _final_state(result: RunResult, token: StoreCancelToken) -> str:
    if result.ok:
        return "succeeded"
    if result.refused:
        return "refused"
    if result.timed_out or token.timed_out:
        return "timed_out"
    if result.cancelled:
        return "cancelled"
    return "failed"
