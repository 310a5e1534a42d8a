"""The per-sender rate limit: token bucket, one flood per window, floods handed over once (hole 5)."""

from __future__ import annotations

from bot.ratelimit import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_off_when_the_rate_is_zero() -> None:
    limit = RateLimit(0, 1, Clock())
    assert not limit.active
    assert all(limit.check("a") is None for _ in range(1000))


def test_burst_then_one_flood_per_window_counting_every_event() -> None:
    clock = Clock()
    limit = RateLimit(60, 3, clock)
    assert [limit.check("a") for _ in range(3)] == [None] * 3
    flood = limit.check("a")
    assert flood is not None and flood.first
    clock.now += 30  # tokens refill meanwhile, but the sender stays silenced for the whole window
    for _ in range(9):
        assert limit.check("a") is flood
    assert flood.count == 10 and not flood.first
    assert limit.ended() == [] and limit.due_in() == 30
    clock.now += 30
    assert limit.check("a") is None  # the window is over and the bucket has refilled
    assert [f.count for f in limit.ended()] == [10]
    assert limit.ended() == [] and limit.due_in() is None


def test_senders_are_limited_apart_and_floods_end_in_order() -> None:
    clock = Clock()
    limit = RateLimit(60, 1, clock)
    for key in ("b", "a"):
        limit.check(key)
        limit.check(key)
    clock.now += 5
    limit.check("c")
    limit.check("c")
    assert [f.key for f in limit.ended(everything=True)] == ["a", "b", "c"]


def test_the_bucket_refills_at_the_rate_up_to_the_burst_only() -> None:
    clock = Clock()
    limit = RateLimit(per_minute=6, burst=3, clock=clock, window=5)
    assert [limit.check("a") is None for _ in range(4)] == [True, True, True, False]
    assert limit.check("b") is None  # buckets are per sender
    clock.now += 9.9  # the flood window (5 s) is over, but 9.9 s at 6/min is not yet one token
    assert limit.check("a") is not None
    clock.now += 10.2
    assert limit.check("a") is None
    clock.now += 3600
    assert [limit.check("a") is None for _ in range(4)] == [True, True, True, False]  # refilled to the burst only
