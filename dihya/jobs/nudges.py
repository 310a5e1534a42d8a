"""Nudges: "job N changed, look at its row", over Redis pub/sub between Celery workers and bot
replicas (the local queue's in-process nudges are in ``dihya.jobs.local``). Losing a nudge only
delays an edit: the job row holds the truth and the watcher's sweep and next nudge catch up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

log = logging.getLogger("dihya.jobs.nudges")
CHANNEL = "dihya:job-events"


class RedisNudges:
    """Publishes from workers; ``listen`` runs in the bot process and calls ``target`` per nudge."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: redis.Redis | None = None

    def send(self, job_id: int) -> None:
        try:
            if self._client is None:
                self._client = redis.Redis.from_url(self._url, socket_timeout=2, socket_connect_timeout=2)
            self._client.publish(CHANNEL, str(job_id))
        except redis.RedisError:
            log.warning("could not publish a job nudge; the watcher's sweep will catch up", extra={"job": job_id})

    async def listen(self, target: Callable[[int], None]) -> None:
        while True:
            try:
                await self._listen_once(target)
            except (redis.RedisError, OSError):
                log.warning("job nudge subscription lost; retrying")
                await asyncio.sleep(2)

    async def _listen_once(self, target: Callable[[int], None]) -> None:
        client = aioredis.Redis.from_url(self._url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        _deliver(target, message.get("data"))
        finally:
            await client.aclose()


def _deliver(target: Callable[[int], None], data: object) -> None:
    try:
        job_id = int(data.decode() if isinstance(data, bytes) else str(data))
    except ValueError:
        return
    target(job_id)
