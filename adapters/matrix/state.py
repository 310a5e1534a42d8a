"""What the Matrix adapter keeps in the store: named values per bot account, and the reactions it
saw (so a later redaction can withdraw that exact reaction, even after a restart)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.toolkit.lru import CappedLru
from bot.ports import IdentityRecord

REMEMBERED_REACTIONS = 1000
REACTION_PREFIX = "reaction:"  # + the reaction's event id: one stored row per remembered reaction
LEGACY_REACTIONS = "reactions"


class AdapterStore(Protocol):
    """The part of the store the adapter uses (``SqlStore`` provides it)."""

    def identity(self, key: str) -> IdentityRecord | None: ...
    def kv_get(self, name: str) -> str | None: ...
    def kv_set(self, name: str, value: str) -> None: ...
    def kv_delete(self, *names: str) -> None: ...
    def kv_items(self, prefix: str) -> dict[str, str]: ...


class KeyValues:
    """The adapter's named values, namespaced by bot user (tokens belong to one account)."""

    __slots__ = ("_prefix", "_store", "user_id")

    def __init__(self, store: AdapterStore, user_id: str) -> None:
        self._store = store
        self.user_id = user_id
        self._prefix = f"matrix:{user_id}:"

    def get(self, name: str) -> str | None:
        return self._store.kv_get(self._prefix + name)

    def set(self, name: str, value: str) -> None:
        self._store.kv_set(self._prefix + name, value)

    def delete(self, *names: str) -> None:
        self._store.kv_delete(*(self._prefix + name for name in names))

    def items(self, prefix: str) -> dict[str, str]:
        """Values whose name starts with ``prefix``, by name without the adapter's namespace."""
        found = self._store.kv_items(self._prefix + prefix)
        return {name.removeprefix(self._prefix): value for name, value in found.items()}

    def get_json(self, name: str) -> Any:
        raw = self.get(name)
        return json.loads(raw) if raw else None

    def set_json(self, name: str, value: object) -> None:
        self.set(name, json.dumps(value, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class Remembered:
    """A reaction the bot saw: where, on what, which emoji, and who reacted."""

    room: str
    target: str
    emoji: str
    sender: str


class ReactionMemory:
    """reaction event id → ``Remembered``, for the latest ``capacity`` reactions, kept across
    restarts so a later redaction can be turned into the withdrawal of that exact reaction.

    One stored row per reaction (a sequence number orders them): remembering or forgetting one
    writes that row alone, and the oldest row goes once there are ``capacity``.
    """

    __slots__ = ("_items", "_kv", "_next")

    def __init__(self, kv: KeyValues, capacity: int = REMEMBERED_REACTIONS) -> None:
        self._kv = kv
        rows = sorted((json.loads(raw), name.removeprefix(REACTION_PREFIX))
                      for name, raw in kv.items(REACTION_PREFIX).items())
        self._items: CappedLru[str, Remembered] = CappedLru(capacity)
        self._next = rows[-1][0][0] + 1 if rows else 0
        for (_seq, *fields), event_id in rows:
            self._forget(self._items.put(event_id, Remembered(*fields)))
        self._forget_legacy()

    def add(self, event_id: str, room: str, target: str, emoji: str, sender: str) -> None:
        if event_id in self._items:  # a redelivered reaction
            return
        gone = self._items.put(event_id, Remembered(room, target, emoji, sender))
        self._kv.set_json(REACTION_PREFIX + event_id, [self._next, room, target, emoji, sender])
        self._next += 1
        self._forget(gone)

    def pop(self, event_id: str) -> Remembered | None:
        found = self._items.pop(event_id)
        if found is not None:
            self._kv.delete(REACTION_PREFIX + event_id)
        return found

    def _forget(self, gone: list[str]) -> None:
        if gone:
            self._kv.delete(*(REACTION_PREFIX + event_id for event_id in gone))

    def _forget_legacy(self) -> None:
        """Earlier versions kept every reaction in one value, rewritten whole on each: carry its
        entries over once, then drop it."""
        legacy = self._kv.get_json(LEGACY_REACTIONS)
        if not isinstance(legacy, dict):
            return
        for event_id, fields in legacy.items():
            if event_id not in self._items and isinstance(fields, list) and len(fields) == 4:
                self.add(event_id, *map(str, fields))
        self._kv.delete(LEGACY_REACTIONS)
