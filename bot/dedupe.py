"""Delivery dedupe: platforms deliver at least once; the core acts at most once per delivery id."""

from __future__ import annotations

from collections import deque
from typing import Protocol


class DeliveryLog(Protocol):
    def first_time(self, delivery_id: str) -> bool: ...


class RecentDeliveries:
    """In-process memory of the last ``capacity`` delivery ids (the embedded default).

    Replicas that share deliveries use a shared implementation (Redis) of the same protocol.
    """

    __slots__ = ("_capacity", "_order", "_seen")

    def __init__(self, capacity: int = 100_000) -> None:
        # A set to ask and a queue to forget the oldest: about half the memory of an OrderedDict.
        self._seen: set[str] = set()
        self._order: deque[str] = deque()
        self._capacity = capacity

    def first_time(self, delivery_id: str) -> bool:
        if delivery_id in self._seen:
            return False
        self._seen.add(delivery_id)
        self._order.append(delivery_id)
        if len(self._order) > self._capacity:
            self._seen.discard(self._order.popleft())
        return True
