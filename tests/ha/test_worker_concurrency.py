"""Per-environment worker concurrency (issue 16): ``[workers] concurrency = {staging = 1}`` lets one
staging job run at a time over all workers, while other environments' jobs are not held back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path

import pytest

from dihya.app import App, build_app
from dihya.config_file import worker_limits
from dihya.settings import SettingsError, load_settings
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    config = tmp_path / "dihya.toml"
    config.write_text("[workers]\nconcurrency = { staging = 1, production = 1 }\n")
    settings = load_settings(data_dir=tmp_path, content_dir=content_copy(tmp_path), config_file=config,
                             admins=("console:admin1",), rate_limit_per_minute=0, identity_cache_seconds=0,
                             job_workers=4)
    built = build_app(settings)
    await built.start()
    yield built
    await built.stop()


async def test_one_staging_job_at_a_time_while_production_is_not_held_back(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    for version in ("v1", "v2", "v3"):
        assert "Job #" in await chat.say("dev1", f"deploy web to staging version {version}")
    await chat.say("dev1", "deploy web to production version v9")
    await chat.react("devops1", "✅", chat.last.id)

    jobs = [await wait_job(app, job_id, timeout=120) for job_id in (1, 2, 3, 4)]
    assert [j.state for j in jobs] == ["succeeded"] * 4, [j.result for j in jobs]
    staging = sorted((j.started_us or 0, j.finished_us or 0) for j in jobs[:3])
    assert all(earlier[1] <= later[0] for earlier, later in pairwise(staging))  # one at a time
    production = jobs[3]
    assert production.started_us is not None and production.started_us < staging[-1][0]  # did not wait for staging
    app.bot.flush_audit()
    assert [r.draft.action for r in app.store.audit_records()].count("job:running") == 4  # each ran once


@pytest.mark.parametrize("body", ["[workers]\nconcurrency = { staging = 0 }\n",
                                  "[workers]\nconcurrency = { staging = \"two\" }\n",
                                  "[workers]\nconcurrency = 3\n"])
def test_a_bad_concurrency_table_is_refused_with_its_name(body: str) -> None:
    import tomllib

    with pytest.raises(SettingsError, match=r"\[workers\] concurrency"):
        worker_limits(tomllib.loads(body))


def test_no_workers_table_means_no_limit() -> None:
    assert worker_limits({}) == {}


async def test_on_celery_a_job_over_the_limit_goes_back_to_the_queue_and_runs_later(tmp_path: Path) -> None:
    """Two staging jobs, two worker threads, ``staging = 1``: the second is put back on the queue
    (it does not hold the thread) and runs once the first has ended."""
    from tests.faults.processes import WorkerProcess
    from tests.faults.servers import OwnRedis

    redis_server = OwnRedis(tmp_path / "redis")
    redis_server.start()
    config = tmp_path / "dihya.toml"
    config.write_text("[workers]\nconcurrency = { staging = 1 }\n")
    env = {"DIHYA_DATABASE_URL": f"sqlite:///{tmp_path / 'dihya.sqlite3'}", "DIHYA_DATA_DIR": str(tmp_path),
           "DIHYA_CONTENT_DIR": str(content_copy(tmp_path)), "DIHYA_JOBS": "celery",
           "DIHYA_REDIS_URL": redis_server.url, "DIHYA_CONFIG_FILE": str(config)}
    worker = WorkerProcess(env, tmp_path / "worker.log", concurrency=2).start()
    values = {k.removeprefix("DIHYA_").lower(): v for k, v in env.items()}
    app = build_app(load_settings(**values, admins=("console:admin1",), rate_limit_per_minute=0,
                                  identity_cache_seconds=0))
    await app.start()
    try:
        chat = Transcript(app)
        app.store.grant_role("console:dev1", "developer")
        for version in ("v1", "v2"):
            assert "queued" in await chat.say("dev1", f"deploy web to staging version {version}")
        jobs = [await wait_job(app, job_id, timeout=120) for job_id in (1, 2)]
        assert [j.state for j in jobs] == ["succeeded", "succeeded"], [j.result for j in jobs]
        first, second = sorted((j.started_us or 0, j.finished_us or 0) for j in jobs)
        assert first[1] <= second[0]
        assert worker.logged("retry: Retry in 1.0s")  # put back, not waited for in a thread
        app.bot.flush_audit()
        assert [r.draft.action for r in app.store.audit_records()].count("job:running") == 2
    finally:
        await app.stop()
        worker.kill()
        redis_server.kill()
