"""Celery on RabbitMQ (issue 16): ``DIHYA_BROKER_URL`` carries the tasks to a real ``dihya worker``
while the job-progress nudges still cross Redis."""

import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from kombu import Connection, Queue

from bot.catalog import DEMO as DEMO_CATALOG
from bot.pipelines import PipelineCatalog, PipelineSpec
from bot.scripts import ScriptCatalog
from dihya.app import App, build_app
from dihya.http import build_http
from dihya.jobs.broker import longest_job_s, visibility_timeout
from dihya.jobs.celery_queue import QUEUES, make_celery
from dihya.settings import Settings, load_settings
from tests.helpers.ports import free_port
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_URL = "redis://127.0.0.1:6379/11"
pytestmark = pytest.mark.slow


def purge_rabbitmq() -> None:
    """Tasks an earlier run left behind must not reach this run's worker."""
    with Connection(AMQP_URL, connect_timeout=5) as conn:
        channel = conn.default_channel
        for name in QUEUES:
            queue = Queue(name, channel=channel)
            queue.declare()
            queue.purge()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    purge_rabbitmq()
    return {
        "DIHYA_DATABASE_URL": f"sqlite:///{tmp_path / 'dihya.sqlite3'}",
        "DIHYA_DATA_DIR": str(tmp_path),
        "DIHYA_CONTENT_DIR": str(content_copy(tmp_path)),
        "DIHYA_JOBS": "celery",
        "DIHYA_REDIS_URL": REDIS_URL,
        "DIHYA_BROKER_URL": AMQP_URL,
        "DIHYA_LOG_FILE": str(tmp_path / "worker.log"),
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    values = {k.removeprefix("DIHYA_").lower(): v for k, v in env.items() if k != "DIHYA_LOG_FILE"}
    return load_settings(**values, admins=("console:admin1",), rate_limit_per_minute=0, identity_cache_seconds=0)


@pytest.fixture
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    dihya = Path(sys.executable).with_name("dihya")
    process = subprocess.Popen([str(dihya), "worker", "--concurrency", "2"], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    yield process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = build_app(settings)
    built.watcher._interval = 0.2
    await built.start()
    yield built
    await built.stop()


async def test_a_job_runs_on_a_worker_fed_by_rabbitmq(app: App, chat: Transcript, settings: Settings,
                                                      worker: subprocess.Popen[bytes]) -> None:
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy web to staging version v7.0.1")
    job = await wait_job(app, 1, timeout=90)
    assert job.state == "succeeded", job.result
    assert (settings.data_dir / "deployed" / "web-staging.txt").read_text() == "v7.0.1"
    status = next(p for p in chat.posted if p.key == "job:1")
    assert len(status.edits) >= 2  # running, …, succeeded: the worker's nudges crossed Redis
    keys = redis.Redis.from_url(REDIS_URL).keys()
    assert not [k for k in keys if b"kombu" in k or k.startswith(b"dihya.")], keys  # no task went through Redis
    ready = await _readyz(app)
    assert ready.status_code == 200 and ready.json()["queue"] == "ok"


async def _readyz(app: App) -> httpx.Response:
    transport = httpx.ASGITransport(app=build_http(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test", timeout=10) as http:
        return await http.get("/readyz")


async def test_not_ready_and_nothing_started_while_rabbitmq_is_unreachable(tmp_path: Path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()  # delivery ids an earlier test saw would be dropped as retries
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    settings = load_settings(data_dir=tmp_path, jobs="celery", redis_url=REDIS_URL, broker_url=dead,
                             health_timeout_seconds=5, rate_limit_per_minute=0)
    app = build_app(settings)
    ready = await _readyz(app)
    assert ready.status_code == 503
    assert ready.json()["queue"] == "unreachable"
    app.store.grant_role("console:dev1", "developer")
    chat = Transcript(app)
    answer = await chat.say("dev1", "deploy web to staging version v7.0.2")
    assert "unavailable" in answer
    assert [j.state for j in app.store.jobs()] == ["failed"]
    app.close()


def test_the_visibility_timeout_applies_to_redis_only_and_long_jobs_are_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    assert make_celery(AMQP_URL, 60).conf.broker_transport_options == {}
    assert make_celery(REDIS_URL, 60).conf.broker_transport_options == {"visibility_timeout": 60}
    nightly = PipelineSpec("nightly", "github", "o/r", "nightly.yml", timeout_s=7200)
    longest = longest_job_s(DEMO_CATALOG, PipelineCatalog({"nightly": nightly}), ScriptCatalog())
    assert longest == 7200
    with caplog.at_level(logging.WARNING, logger="dihya.jobs.broker"):
        assert visibility_timeout(AMQP_URL, 3600, longest) == 3600
        assert not caplog.records  # RabbitMQ has no visibility timeout
        assert visibility_timeout(REDIS_URL, 3600, longest) == 3600
    assert [r.getMessage() for r in caplog.records] == [
        "jobs may outlast the Redis visibility timeout; their second delivery will not run them"]
