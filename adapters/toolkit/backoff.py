"""How long to wait after repeated failures: ``base``, twice that, four times … up to ``cap``."""

from __future__ import annotations


def doubling(failures: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait after ``failures`` consecutive failures (the first waits ``base``)."""
    return float(min(cap, base * 2 ** min(max(failures - 1, 0), 16)))  # the exponent is bounded: no overflow
