"""Per-person command rate limit (token bucket), so one chatty or compromised account cannot
flood the queue or the audit log."""

from __future__ import annotations

from bot.ports import Clock


class RateLimit:
    __slots__ = ("_buckets", "_burst", "_clock", "_rate")

    def __init__(self, per_minute: int, burst: int, clock: Clock) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        if self._rate <= 0:
            return True
        now = self._clock()
        tokens, then = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True
