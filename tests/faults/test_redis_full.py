"""Fault 7 (issue 16): Redis at ``maxmemory`` with ``noeviction``. Enqueueing fails loudly, the
thread says so in the requester's language, and the job is recorded as failed, not silently lost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.faults.servers import OwnRedis
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy

pytestmark = pytest.mark.faults


@pytest.fixture
def full_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis", "--maxmemory", "4mb", "--maxmemory-policy", "noeviction")
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def app(tmp_path: Path, full_redis: OwnRedis) -> AsyncIterator[App]:
    settings = load_settings(data_dir=tmp_path, content_dir=content_copy(tmp_path), jobs="celery",
                             redis_url=full_redis.url, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0)
    built = build_app(settings)
    await built.start()
    yield built
    await built.stop()


def fill(server: OwnRedis) -> None:
    """Up to ``maxmemory``, then closer in smaller steps: the write Redis refuses had its query buffer
    counted and freed, so one 100 kB refusal can leave room for a small job message (it did, in a
    long suite run). After the 100-byte step, any write of a few hundred bytes is refused."""
    client = server.client()
    key = 0
    for size in (100_000, 10_000, 1_000, 100):
        block = b"x" * size
        for _ in range(1000):
            key += 1
            try:
                client.set(f"ballast:{key}", block)
            except redis.exceptions.OutOfMemoryError:
                break
        else:
            raise AssertionError("redis never reached maxmemory")


async def test_a_full_redis_refuses_the_job_loudly_and_the_job_is_recorded(
        app: App, chat: Transcript, full_redis: OwnRedis, caplog: pytest.LogCaptureFixture) -> None:
    app.store.grant_role("console:dev1", "developer")
    fill(full_redis)

    answer = await chat.say("dev1", "déployer web en staging version v1.0.1")

    assert "file des tâches est pleine" in answer, answer
    [job] = app.store.jobs()
    assert job.state == "failed"
    assert job.result["message"] == {"msgid": "The job queue is full; nothing was started. An operator must "
                                               "free or enlarge its Redis."}
    app.bot.flush_audit()
    [row] = [r for r in app.store.audit_records() if r.draft.action == "command:deploy"]
    assert (row.draft.outcome, row.draft.ref) == ("failed", job.key)
    assert any(r.levelname == "ERROR" and r.name == "dihya.jobs.celery" for r in caplog.records)
    assert full_redis.client().llen("dihya.ansible") == 0

    full_redis.client().delete(*full_redis.client().keys("ballast:*"))  # the operator frees memory
    answer = await chat.say("dev1", "deploy web to staging version v1.0.2")
    assert "Job #2 queued" in answer, answer
    assert full_redis.client().llen("dihya.ansible") == 1
