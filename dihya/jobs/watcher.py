"""In the bot process: keep each job's status message current, and notice lost workers.

Workers only nudge (``poke(job_id)``); the watcher reads the job row and edits the message,
at most once per ``min_interval`` per job so a platform's rate limit is never hit, and always
ending on the final state. A running job whose heartbeat stopped is marked failed and its
thread told (``sweep``); the others are re-rendered on each sweep so their elapsed time keeps
moving while a long step (a health wait, a rollout) reports nothing (``refresh_running``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.actions import Edit
from bot.clock import micros, now_us
from bot.i18n import N_, Catalogs, Msg
from bot.jobs import JobRecord, status_lines
from bot.ports import Store
from dihya.jobs.execution import JobExecutor
from dihya.runtime import Runtime

log = logging.getLogger("dihya.jobs.watcher")
JobDetail = Callable[[JobRecord], tuple[Msg, ...]]  # lines a kind of job adds to its status message


def no_detail(job: JobRecord) -> tuple[Msg, ...]:
    return ()


WORKER_LOST = N_("The worker running this job stopped; the job did not finish. Run it again if needed.")
KEY_RETRIES = 50


class JobWatcher:
    def __init__(self, runtime: Runtime, store: Store, catalogs: Catalogs, executor: JobExecutor,
                 clock: Callable[[], float] = time.time, min_interval: float = 1.0, stale_after: float = 30.0,
                 detail: JobDetail = no_detail) -> None:
        self._runtime = runtime
        self._detail = detail
        self._store = store
        self._catalogs = catalogs
        self._executor = executor
        self._clock = clock
        self._interval = min_interval
        self._stale_us = micros(stale_after)
        self._last: dict[int, float] = {}
        self._scheduled: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int] = set()
        self._shown: dict[int, str] = {}  # last text per running job, to skip edits that change nothing
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def poke_threadsafe(self, job_id: int) -> None:
        """For worker threads and Redis subscribers: schedule ``poke`` on the bot's loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.poke, job_id)

    def poke(self, job_id: int) -> None:
        if job_id in self._scheduled:
            self._dirty.add(job_id)
            return
        delay = max(0.0, self._last.get(job_id, 0.0) + self._interval - time.monotonic())
        self._scheduled[job_id] = asyncio.get_running_loop().create_task(self._edit_after(job_id, delay))

    async def _edit_after(self, job_id: int, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            await self._edit(job_id)
        except Exception:
            log.exception("status edit failed", extra={"job": job_id})
        finally:
            self._scheduled.pop(job_id, None)
            self._last[job_id] = time.monotonic()
        if job_id in self._dirty:
            self._dirty.discard(job_id)
            self.poke(job_id)

    async def _edit(self, job_id: int) -> None:
        job = self._store.job(job_id)
        if job is None:
            return
        for _ in range(KEY_RETRIES):  # the status message may still be on its way to the platform
            if self._store.message_id(job.key) is not None:
                break
            await asyncio.sleep(0.1)
        else:
            log.warning("job status message never appeared", extra={"job": job_id})
            return
        lines = status_lines(job, now_us(self._clock), self._detail(job))
        text = self._catalogs.render_all(lines, job.draft.locale)
        if self._shown.get(job_id) == text:
            return
        if len(self._shown) > 10_000:
            self._shown.clear()
        self._shown[job_id] = text
        await self._runtime.publish(job.draft.place.platform, [Edit(job.draft.place.channel, job.key, text)])

    async def idle(self) -> None:
        """Wait until every scheduled edit has been made."""
        while self._scheduled:
            await asyncio.gather(*list(self._scheduled.values()), return_exceptions=True)

    def sweep(self) -> list[int]:
        """Fail running jobs whose worker stopped sending heartbeats; returns their ids."""
        now = now_us(self._clock)
        lost = [j.id for j in self._store.jobs(states=frozenset({"running"}), limit=200)
                if (j.heartbeat_us or 0) + self._stale_us < now]
        for job_id in lost:
            if self._executor.fail(job_id, WORKER_LOST):
                log.warning("worker lost; job marked failed", extra={"job": job_id})
                self.poke(job_id)
        return lost

    def refresh_running(self) -> list[int]:
        """Edit the status of every running job (the edit is skipped when its text is unchanged)."""
        running = [j.id for j in self._store.jobs(states=frozenset({"running"}), limit=200)]
        for job_id in running:
            self.poke(job_id)
        return running

    async def sweep_forever(self, every: float = 10.0, may_act: Callable[[], bool] = lambda: True) -> None:
        """``may_act``: whether this replica leads the sweep now (``dihya.leader``, issue 16)."""
        while True:
            await asyncio.sleep(every)
            try:
                if may_act():
                    self.sweep()
                self.refresh_running()
            except Exception:
                log.exception("sweep failed")
