"""``bot.ratelimit``: a token bucket per person, on a clock the test moves."""

from __future__ import annotations

from bot.ratelimit import RateLimit
from tests.bot.core_chat import FrozenClock


def test_a_burst_then_one_command_per_refill() -> None:
    clock = FrozenClock()
    limit = RateLimit(per_minute=6, burst=3, clock=clock)
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")  # buckets are per person
    clock.advance(9.9)
    assert not limit.allow("a")
    clock.advance(0.2)
    assert limit.allow("a") and not limit.allow("a")
    clock.advance(3600)
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]  # refills up to the burst only


def test_a_zero_rate_means_no_limit() -> None:
    limit = RateLimit(per_minute=0, burst=0, clock=FrozenClock())
    assert all(limit.allow("a") for _ in range(1000))
