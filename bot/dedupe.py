"""Delivery dedupe: platforms deliver at least once; the core acts at most once per delivery id."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol


class DeliveryLog(Protocol):
    def first_time(self, delivery_id: str) -> bool: ...


class RecentDeliveries:
    """In-process memory of the last ``capacity`` delivery ids (the embedded default).

    Replicas that share deliveries use a shared implementation (Redis) of the same protocol.
    """

    __slots__ = ("_capacity", "_seen")

    def __init__(self, capacity: int = 100_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, delivery_id: str) -> bool:
        if delivery_id in self._seen:
            return False
        self._seen[delivery_id] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True
