"""Per-sender event rate limit (token bucket), so one chatty or compromised account cannot flood
the queue, the store, the replies or the audit log.

It is the first step after de-duplication: every message and reaction counts, before the sender
is looked up or the text parsed. Past the limit a sender's events make a ``Flood``: the first one
gets a notice, the rest of the window nothing; the core writes one audit row per flood, with its
count, once the window has ended.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import Clock

MAX_SENDERS = 100_000


@dataclass(slots=True)  # counted in place while the window lasts
class Flood:
    key: str
    started: float
    ends: float
    count: int = 1
    actor: str = ""  # the sender's pseudonym, set by the core when it sends the notice
    place: str = ""

    @property
    def first(self) -> bool:
        return self.count == 1


class RateLimit:
    __slots__ = ("_buckets", "_burst", "_clock", "_ended", "_rate", "active", "floods", "window")

    def __init__(self, per_minute: int, burst: int, clock: Clock, window: float = 60.0) -> None:
        self._rate = per_minute / 60.0
        self.active = per_minute > 0  # 0 turns the limit off (the benchmark, most tests)
        self._burst = float(burst)
        self._clock = clock
        self.window = window
        self._buckets: dict[str, tuple[float, float]] = {}
        self.floods: dict[str, Flood] = {}  # open windows, by sender
        self._ended: list[Flood] = []

    def check(self, key: str) -> Flood | None:
        """None when ``key`` may go on; else the flood this event belongs to (counted)."""
        if not self.active:
            return None
        now = self._clock()
        flood = self.floods.get(key)
        if flood is not None:
            if now < flood.ends:
                flood.count += 1
                return flood
            self._ended.append(self.floods.pop(key))
        tokens, then = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            flood = self.floods[key] = Flood(key, now, now + self.window)
            return flood
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_SENDERS:  # bounded memory: a full bucket is what a stranger starts with
            self._buckets = {k: (t, at) for k, (t, at) in self._buckets.items()
                             if t + (now - at) * self._rate < self._burst}
        return None

    def ended(self, everything: bool = False) -> list[Flood]:
        """Floods whose window is over (or all, at shutdown), oldest first; they are forgotten."""
        if not self.floods and not self._ended:
            return []
        now = self._clock()
        done, self._ended = self._ended, []
        for key in [k for k, f in self.floods.items() if everything or now >= f.ends]:
            done.append(self.floods.pop(key))
        return sorted(done, key=lambda f: (f.ends, f.key))

    def due_in(self) -> float | None:
        """Seconds until the next open window ends; None when none is open."""
        if not self.floods:
            return None
        return max(0.0, min(f.ends for f in self.floods.values()) - self._clock())
