"""Delivery dedupe shared by bot replicas: the first replica to claim a delivery id in Redis acts.

Platforms deliver at least once and, behind a load balancer, retries may reach another replica;
``SET key NX EX`` makes the claim atomic. If Redis cannot be reached, the local memory decides
(so a Redis outage never stops the bot; duplicates across replicas are then possible)."""

from __future__ import annotations

import logging

import redis

from bot.dedupe import RecentDeliveries

log = logging.getLogger("dihya.dedupe")
PREFIX = "dihya:delivery:"


class SharedDeliveries:
    __slots__ = ("_client", "_local", "_ttl")

    def __init__(self, url: str, ttl_seconds: int = 3600, local: RecentDeliveries | None = None) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._ttl = ttl_seconds
        self._local = local or RecentDeliveries()

    def first_time(self, delivery_id: str) -> bool:
        if not self._local.first_time(delivery_id):
            return False  # this replica saw it already: no round trip needed
        try:
            return bool(self._client.set(PREFIX + delivery_id, b"1", nx=True, ex=self._ttl))
        except redis.RedisError:
            log.warning("delivery dedupe fell back to this replica's memory (Redis unreachable)")
            return True
