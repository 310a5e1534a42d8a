"""Time as the store keeps it: whole microseconds since the epoch (``*_us`` fields).

The one place that knows how many microseconds a second has; tests/bot/test_clock.py keeps the
conversion from being written out again elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

US_PER_S = 1_000_000


def micros(seconds: float) -> int:
    """Seconds (a ``time.time()`` reading or a duration) → whole microseconds."""
    return int(seconds * US_PER_S)


def now_us(clock: Callable[[], float]) -> int:
    """The clock's current reading in microseconds."""
    return micros(clock())


def to_seconds(us: int) -> float:
    """Microseconds → seconds, fractions kept."""
    return us / US_PER_S


def whole_seconds(us: int) -> int:
    """Microseconds → whole seconds (rounded down)."""
    return us // US_PER_S


def utc_datetime(us: int) -> datetime:
    """A stored timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(us / US_PER_S, UTC)
