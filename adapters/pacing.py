"""Outbound manners shared by adapters: a per-channel pace (so one busy thread cannot trip a
platform's rate limit) and retries with backoff that honour the platform's retry-after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class ChannelPacer:
    """A token bucket per channel: ``burst`` messages at once, then ``per_second``."""

    __slots__ = ("_rate", "_burst", "_clock", "_sleep", "_buckets", "_locks")

    def __init__(self, per_second: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, tuple[float, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        async with self._locks.setdefault(channel, asyncio.Lock()):
            now = self._clock()
            tokens, then = self._buckets.get(channel, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            if tokens < 1.0:
                await self._sleep((1.0 - tokens) / self._rate)
                now, tokens = self._clock(), 1.0
            self._buckets[channel] = (tokens - 1.0, now)


async def retrying(call: Callable[[], Awaitable[T]], retry_after: Callable[[BaseException], float | None], *,
                   attempts: int = 4, base: float = 0.5, cap: float = 30.0, sleep: Sleep = asyncio.sleep) -> T:
    """Run ``call``; when ``retry_after`` says an error is worth retrying (seconds to wait, 0 for the
    default backoff), wait and try again, at most ``attempts`` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as err:
            wait = retry_after(err)
            if wait is None or attempt == attempts:
                raise
            await sleep(min(cap, wait or base * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # the loop returns or raises
