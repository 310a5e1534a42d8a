"""A size-capped memory that forgets the least recently used entry first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class CappedLru(Generic[K, V]):
    """At most ``capacity`` entries; ``put`` and ``get`` make an entry the most recent, and ``put``
    returns the keys it pushed out so a caller keeping a copy elsewhere can drop them too."""

    __slots__ = ("_capacity", "_items")

    def __init__(self, capacity: int, items: Iterable[tuple[K, V]] = ()) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict(items)
        self._evict()

    def get(self, key: K, default: V | None = None) -> V | None:
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: K, value: V) -> list[K]:
        self._items[key] = value
        self._items.move_to_end(key)
        return self._evict()

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        """Oldest first."""
        return iter(self._items)

    def _evict(self) -> list[K]:
        return [self._items.popitem(last=False)[0] for _ in range(len(self._items) - self._capacity)]
