"""Waiting for jobs to end, and copies of the content directory a test may change."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from bot.jobs import JobRecord
from dihya.app import App

CONTENT = Path(__file__).resolve().parents[2] / "content"


async def wait_job(app: App, job_id: int, timeout: float = 60.0, state: str | None = None) -> JobRecord:
    """Poll the store until the job ended (or reached ``state``), then let status edits land."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = app.store.job(job_id)
        if job is not None and (job.state == state if state else job.finished) and _announced(app, job):
            await asyncio.sleep(0.05)
            await app.watcher.idle()
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not reach {state or 'an end'}: {app.store.job(job_id)}")


def _announced(app: App, job: JobRecord) -> bool:
    """The worker audits a job's new state just before it nudges the watcher: a state read from the
    row can be ahead of both, and the status message would be checked before its last edit."""
    action = f"job:{job.state}"
    return job.started_us is None or any(r.draft.action == action and r.draft.ref == job.key
                                        for r in app.store.audit_records())


def content_copy(tmp: Path) -> Path:
    target = tmp / "content"
    shutil.copytree(CONTENT, target)
    return target
