"""A database of the real Redis (127.0.0.1:6379) emptied before and after a test.

Tests that share the server keep to their own database number, so that one test's keys (a leader
lease, a queue, a schedule) are never another's: 9 and 11 Celery and RabbitMQ results, 12 leader
leases, 13 Celery queues, 14 report schedules and fail-over, 15 webhook leases (and ``bench api``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis


@contextmanager
def clean_redis(url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
