"""Who is speaking: a platform identity → a person, their roles and language, and a pseudonym.

Lookups are cached briefly so the hot path does not query the store for every message; changes
made through this process invalidate the cache at once, other replicas see them within ``ttl``.
Approval decisions re-read the store (``fresh``), never the cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import StoreUnavailable
from bot.events import Sender
from bot.ports import Clock, IdentityRecord, IdentityStore
from bot.rbac import GUEST


@dataclass(frozen=True, slots=True)
class Actor:
    key: str
    pseudonym: str
    roles: frozenset[str]
    locale: str | None
    display_name: str = ""
    person_id: int | None = None

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.roles)) or (GUEST,)


class Identities:
    __slots__ = ("_cache", "_clock", "_store", "_ttl")

    def __init__(self, store: IdentityStore, clock: Clock, ttl: float = 2.0) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Actor]] = {}

    def resolve(self, sender: Sender) -> Actor:
        key = sender.key
        hit = self._cache.get(key)
        now = self._clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            actor = self.fresh(key, sender.display_name)
        except StoreUnavailable:
            if hit is None:
                raise
            return hit[1]  # the store is down: who someone was a moment ago still lets read-only commands answer
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = (now + self._ttl, actor)
        return actor

    def fresh(self, key: str, display_name: str = "") -> Actor:
        record = self._store.identity(key)
        if record is None:
            return Actor(key, self._store.pseudonym(key), frozenset(), None, display_name)
        return _actor(record, display_name)

    def forget(self, key: str) -> None:
        self._cache.pop(key, None)


def _actor(record: IdentityRecord, display_name: str) -> Actor:
    return Actor(record.key, record.pseudonym, record.roles, record.locale, display_name, record.person_id)
