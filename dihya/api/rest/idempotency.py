"""``Idempotency-Key`` on POST: the same key and body answer the first response and start nothing;
the same key with another body is 422. Kept per caller in the store's small named values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from bot.ports import KvStore

HEADER = "Idempotency-Key"
MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class Remembered:
    digest: str
    status: int
    body: dict[str, object]
    location: str


class KeyReused(Exception):
    """The key was first used with another body."""


class Idempotency:
    __slots__ = ("_store",)

    def __init__(self, store: KvStore) -> None:
        self._store = store

    @staticmethod
    def valid(key: str) -> bool:
        return 0 < len(key) <= MAX_KEY and key.isascii() and key.isprintable()

    def recall(self, identity: str, key: str, request: dict[str, object]) -> Remembered | None:
        """The first response for this caller's ``key``; ``KeyReused`` when the body differs."""
        raw = self._store.kv_get(_name(identity, key))
        if raw is None:
            return None
        first = Remembered(**json.loads(raw))
        if first.digest != _digest(request):
            raise KeyReused(key)
        return first

    def remember(self, identity: str, key: str, request: dict[str, object], status: int,
                 body: dict[str, object], location: str) -> None:
        value = Remembered(_digest(request), status, body, location)
        self._store.kv_set(_name(identity, key), json.dumps({"digest": value.digest, "status": value.status,
                                                             "body": value.body, "location": value.location}))


def _name(identity: str, key: str) -> str:
    return "api-idempotency:" + hashlib.sha256(f"{identity}\0{key}".encode()).hexdigest()


def _digest(request: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
