"""Fault 1 (issue 16): the Redis that carries the Celery queue and the nudges stops while a job
runs on a real worker, stays down, and comes back. Commands that need the queue answer "the job
queue is unavailable" (translated) within 3 s; the running job ends once (``job:running`` audited
once per job: a redelivery of its unacknowledged task is not run again); no audit row is lost;
the bot and the worker recover without a restart.

The outage lasts the issue's 30 s: nothing in the bot or the worker waits on a timeout tied to its
length (the queue check fails at once, the nudge subscription retries every 2 s, the broker
connection retries until Redis answers), and the job outlives it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.faults.processes import WorkerProcess
from tests.faults.servers import OwnRedis
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job

pytestmark = pytest.mark.faults
OUTAGE_S = 30.0
QUEUE_DOWN_FR = "La file des tâches est indisponible pour le moment ; rien n’a été lancé."


@pytest.fixture
def env(tmp_path: Path, own_redis: OwnRedis) -> dict[str, str]:
    return {
        "DIHYA_DATABASE_URL": f"sqlite:///{tmp_path / 'dihya.sqlite3'}",
        "DIHYA_DATA_DIR": str(tmp_path),
        "DIHYA_CONTENT_DIR": str(content_copy(tmp_path)),
        "DIHYA_JOBS": "celery",
        "DIHYA_REDIS_URL": own_redis.url,
        "DIHYA_CELERY_VISIBILITY_TIMEOUT": "3",
    }


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    started = WorkerProcess(env, tmp_path / "worker.log").start()
    yield started
    started.kill()


@pytest.fixture
async def app(env: dict[str, str]) -> AsyncIterator[App]:
    values = {k.removeprefix("DIHYA_").lower(): v for k, v in env.items()}
    settings = load_settings(**values, admins=("console:admin1",), rate_limit_per_minute=0, identity_cache_seconds=0,
                             job_stale_seconds=30, job_sweep_seconds=1)
    built = build_app(settings)
    built.watcher._interval = 0.2
    await built.start()
    yield built
    await built.stop()


async def test_redis_stopped_mid_job_degrades_then_recovers_without_a_restart(
        app: App, chat: Transcript, worker: WorkerProcess, own_redis: OwnRedis) -> None:
    for who, role in (("ops1", "ops"), ("devops1", "devops"), ("dev1", "developer")):
        app.store.grant_role(f"console:{who}", role)
    await chat.say("ops1", "playbook run sleep-demo")
    assert chat.last.key == "approval:1"
    await chat.react("devops1", "✅", chat.last.id)
    await wait_job(app, 1, state="running", timeout=90)

    own_redis.stop()
    down_at = time.monotonic()
    started = time.monotonic()
    answer = await chat.say("dev1", "déployer web en staging version v2.0.0")
    assert time.monotonic() - started < 3, "the degraded answer took too long"
    assert QUEUE_DOWN_FR in answer, answer
    job2 = app.store.job(2)
    assert job2 is not None and job2.state == "failed"  # on record, never dispatched
    assert "pong" in await chat.say("dev1", "ping")  # what needs no queue still answers
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    own_redis.start()

    job1 = await wait_job(app, 1, timeout=120)
    assert job1.state == "succeeded", job1.result
    answer = await chat.say("dev1", "deploy web to staging version v3.0.0")
    assert "Job #3 queued" in answer, answer
    job3 = await wait_job(app, 3, timeout=120)
    assert job3.state == "succeeded", job3.result
    status = next(p for p in chat.posted if p.key == "job:3")
    assert "succeeded" in status.current  # edited live again: the nudges crossed the restarted Redis
    assert worker.alive

    app.bot.flush_audit()
    actions = [(r.draft.action, r.draft.ref, r.draft.outcome) for r in app.store.audit_records()]
    assert [a for a in actions if a[0] == "job:running"] == [("job:running", "job:1", "running"),
                                                            ("job:running", "job:3", "running")]
    assert [a for a in actions if a[0] == "job:succeeded"] == [("job:succeeded", "job:1", "succeeded"),
                                                              ("job:succeeded", "job:3", "succeeded")]
    assert [a for a in actions if a[0] == "command:deploy"] == [("command:deploy", "job:2", "failed"),
                                                               ("command:deploy", "job:3", "ok")]
    assert [a[1:] for a in actions if a[0] == "command:playbook.run"] == [("approval:1", "approval_requested"),
                                                                          ("job:1", "ok")]
    assert sorted((j.id, j.state) for j in app.store.jobs()) == [(1, "succeeded"), (2, "failed"), (3, "succeeded")]
