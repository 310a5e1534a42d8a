"""Outbound manners shared by adapters: a per-channel pace (so one busy thread cannot trip a
platform's rate limit) and retries with backoff that honour the platform's retry-after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapters.toolkit.backoff import doubling
from adapters.toolkit.lru import CappedLru

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[BaseException, float], None]


class _Bucket:
    __slots__ = ("lock", "stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.lock = asyncio.Lock()
        self.tokens, self.stamp = tokens, stamp


class ChannelPacer:
    """A token bucket per channel: ``burst`` messages at once, then ``per_second``. The buckets of
    the ``channels`` most recently used channels are kept (a forgotten one starts full again)."""

    __slots__ = ("_rate", "_burst", "_clock", "_sleep", "_buckets")

    def __init__(self, per_second: float, burst: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep, channels: int = 4096) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._buckets: CappedLru[str, _Bucket] = CappedLru(channels)

    async def wait(self, channel: str) -> None:
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = _Bucket(self._burst, self._clock())
            self._buckets.put(channel, bucket)
        async with bucket.lock:
            now = self._clock()
            tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
            if tokens < 1.0:
                await self._sleep((1.0 - tokens) / self._rate)
                now, tokens = self._clock(), 1.0
            bucket.tokens, bucket.stamp = tokens - 1.0, now

    def clear(self) -> None:
        self._buckets.clear()


async def retrying(call: Callable[[], Awaitable[T]], retry_after: Callable[[BaseException], float | None], *,
                   attempts: int = 4, base: float = 0.5, cap: float = 30.0, sleep: Sleep = asyncio.sleep,
                   on_retry: OnRetry | None = None) -> T:
    """Run ``call``; when ``retry_after`` says an error is worth retrying (seconds to wait, 0 for the
    default backoff), wait and try again, at most ``attempts`` times in all. ``on_retry`` hears of
    each retry (the error, the wait) before the wait."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as err:
            wait = retry_after(err)
            if wait is None or attempt == attempts:
                raise
            delay = min(cap, wait or doubling(attempt, base, cap))
            if on_retry is not None:
                on_retry(err, delay)
            await sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
