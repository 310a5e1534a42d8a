"""Jobs on Celery: a real ``dihya worker`` subprocess on the real Redis (a database of its own)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job

REDIS_URL = "redis://127.0.0.1:6379/9"
pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    return {
        "DIHYA_DATABASE_URL": f"sqlite:///{tmp_path / 'dihya.sqlite3'}",
        "DIHYA_DATA_DIR": str(tmp_path),
        "DIHYA_CONTENT_DIR": str(content_copy(tmp_path)),
        "DIHYA_JOBS": "celery",
        "DIHYA_REDIS_URL": REDIS_URL,
        "DIHYA_CELERY_VISIBILITY_TIMEOUT": "3",
        "DIHYA_LOG_FILE": str(tmp_path / "worker.log"),
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    values = {k.removeprefix("DIHYA_").lower(): v for k, v in env.items() if k != "DIHYA_LOG_FILE"}
    return load_settings(**values, admins=("console:admin1",), rate_limit_per_minute=0, identity_cache_seconds=0,
                         job_stale_seconds=4, job_sweep_seconds=1)


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        dihya = Path(sys.executable).with_name("dihya")
        self.process = subprocess.Popen([str(dihya), "worker", "--concurrency", "2"], env={**os.environ, **self.env},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (its ansible-playbook too)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def worker(env: dict[str, str]) -> Iterator[Worker]:
    w = Worker(env)
    w.start()
    yield w
    w.kill()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = build_app(settings)
    built.watcher._interval = 0.2
    await built.start()
    yield built
    await built.stop()


async def test_approved_deploy_runs_on_a_worker_with_live_status(app: App, chat: Transcript, worker: Worker,
                                                                 settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("dev1", "déployer web en production version v3.1.4")
    request = chat.last.id
    assert chat.last.key == "approval:1"
    assert await chat.react("dev1", "✅", request)  # the requester's own vote is refused with a reason
    assert app.store.jobs() == []
    await chat.react("devops1", "✅", request)
    job = await wait_job(app, 1, timeout=90)
    assert job.state == "succeeded", job.result
    assert (settings.data_dir / "deployed" / "web-production.txt").read_text() == "v3.1.4"
    status = next(p for p in chat.posted if p.key == "job:1")
    assert "#1" in status.current
    assert len(status.edits) >= 2  # running, …, succeeded: the nudges crossed Redis


async def test_killed_worker_fails_the_job_and_a_redelivery_does_not_rerun_it(
        app: App, chat: Transcript, worker: Worker, env: dict[str, str]) -> None:
    app.store.grant_role("console:ops1", "ops")
    app.store.grant_role("console:devops1", "devops")
    await chat.say("ops1", "playbook run sleep-demo")
    await chat.react("devops1", "✅", chat.last.id)
    await wait_job(app, 1, state="running", timeout=90)
    worker.kill()
    killed_at = time.monotonic()
    job = await wait_job(app, 1, timeout=60)
    assert job.state == "failed"
    assert time.monotonic() - killed_at < 60
    status = next(p for p in chat.posted if p.key == "job:1")
    assert "failed" in status.current
    replacement = Worker(env)
    replacement.start()  # gets the unacknowledged task again once its visibility timeout passed
    try:
        await wait_for_log(Path(env["DIHYA_LOG_FILE"]), "already claimed", timeout=60)
    finally:
        replacement.kill()
    job = app.store.job(1)
    assert job is not None
    assert job.state == "failed"
    app.bot.flush_audit()
    assert [r.draft.action for r in app.store.audit_records()].count("job:running") == 1


async def wait_for_log(path: Path, needle: str, timeout: float) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{needle!r} never logged in {path}")
