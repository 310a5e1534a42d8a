"""The embedded default queue: jobs run in a small thread pool inside the bot process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from bot.jobs import JobRecord
from dihya.jobs.execution import DEFERRED, JobExecutor

log = logging.getLogger("dihya.jobs.local")
RETRY_S = 1.0  # a job whose environment is at its concurrency limit is tried again this much later


class LocalQueue:
    def __init__(self, executor: JobExecutor, workers: int = 2) -> None:
        self._executor = executor
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dihya-job")
        self._running: set[Future[str | None]] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def submit(self, job: JobRecord) -> None:  # one pool serves every kind
        future = self._pool.submit(self._run, job.id)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)

    def _run(self, job_id: int) -> str | None:
        """Run the job; while its environment is full, wait in this thread (the pool is the bot's own)."""
        while (state := self._executor.run(job_id)) == DEFERRED and not self._closed.wait(RETRY_S):
            pass
        return state

    def _done(self, future: Future[str | None]) -> None:
        with self._lock:
            self._running.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("job thread crashed", exc_info=future.exception())

    def ping(self) -> None:
        """Always reachable: the pool lives in this process (``/readyz``)."""

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def shutdown(self, wait: bool = True) -> None:
        self._closed.set()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


class LocalNudges:
    """In-process nudges: worker threads call ``send``; targets are thread-safe pokes."""

    def __init__(self) -> None:
        self._targets: list[Callable[[int], None]] = []

    def connect(self, target: Callable[[int], None]) -> None:
        self._targets.append(target)

    def send(self, job_id: int) -> None:
        for target in self._targets:
            target(job_id)
