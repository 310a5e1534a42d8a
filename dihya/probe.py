"""A blocking check (a database query) run off the event loop, one at a time, with a deadline.

``/healthz`` and ``/metrics`` query the database; on the event loop a slow query (a lock held by
another connection) would stall every request and adapter. Here the query runs in a worker thread;
callers that arrive while it runs wait for that same run rather than start another, so a stuck
database holds one thread per probe, not one per request; each caller waits at most ``timeout``.
A success is reused for ``fresh`` seconds: a probe polled every few milliseconds (load balancers,
a busy scraper) then costs the loop next to nothing, even while a long export holds the GIL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Probe(Generic[T]):
    __slots__ = ("_check", "_clock", "_fresh", "_last", "_running", "_timeout")

    def __init__(self, check: Callable[[], T], timeout: float, fresh: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._check = check
        self._timeout = timeout
        self._fresh = fresh
        self._clock = clock
        self._last: tuple[float, T] | None = None  # when the last run succeeded, and its result
        self._running: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        """The check's result; ``TimeoutError`` after ``timeout``, or the check's own exception."""
        if self._last is not None and self._clock() - self._last[0] < self._fresh:
            return self._last[1]
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(asyncio.to_thread(self._check))
            self._running.add_done_callback(_retrieve)
        result = await asyncio.wait_for(asyncio.shield(self._running), self._timeout)
        self._last = (self._clock(), result)
        return result


def _retrieve(done: asyncio.Future[T]) -> None:
    """A run every caller gave up on still ends; its exception is read here so asyncio does not log it."""
    if not done.cancelled():
        done.exception()
