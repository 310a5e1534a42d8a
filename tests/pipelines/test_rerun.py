"""``pipeline rerun RUN`` (issue 15, "re-run failed jobs" / "retry"): each provider's own re-run
reached through its fake, followed as a job like ``run``, under ``run``'s permission for that
pipeline, audited; and what cannot be re-run is refused before anything is asked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App
from tests.helpers.apps import plain, running
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import wait_job
from tests.pipelines.helpers import Fakes, fakes, pipeline_app


@pytest.fixture
def servers() -> Iterator[Fakes]:
    with fakes(conclusion="failure") as started:
        started.gitlab.final = "failed"
        started.jenkins.result = "FAILURE"
        yield started


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, servers: Fakes) -> AsyncIterator[App]:
    roles = {"console:dev1": "developer", "console:devops1": "devops"}
    async with running(pipeline_app(engine, tmp_path, servers), roles) as built:
        yield built


def status(chat: Transcript, job_id: int) -> str:
    return plain(next(p for p in chat.posted if p.key == f"job:{job_id}").current)


def commands_audited(app: App, action: str) -> list[tuple[str, str]]:
    app.bot.flush_audit()
    return [(r.draft.actor, r.draft.outcome) for r in app.store.audit_records() if r.draft.action == action]


async def test_github_rerun_asks_for_the_failed_jobs_and_follows_the_same_run(
        app: App, chat: Transcript, servers: Fakes) -> None:
    await chat.say("dev1", "pipeline run api-ci on main version=1.4.0")
    assert (await wait_job(app, 1)).state == "failed"
    assert "Run 30433642: completed (failure)" in status(chat, 1)
    servers.github.conclusion = "success"  # the flaky job passes this time
    await chat.say("dev1", "pipeline rerun 1")
    job = await wait_job(app, 2)
    assert job.state == "succeeded", job.result
    assert ("POST", "/repos/acme/api/actions/runs/30433642/rerun-failed-jobs") in servers.github.calls("POST")
    assert len(servers.github.dispatches()) == 1  # the same run again, not a new dispatch
    assert (job.draft.args["pipeline"], job.draft.args["ref"], job.draft.args["params"]) == \
        ("api-ci", "main", {"version": "1.4.0"})
    final = status(chat, 2)
    assert "Run 30433642: completed (success)" in final and "✅ test: success" in final
    posted = next(p for p in chat.posted if p.key == "job:2")  # the fake reports the old attempt once more:
    assert not [t for t in (posted.text, *posted.edits) if "completed (failure)" in t]  # not taken for the new one
    runs = app.bot.services.pipeline_runs
    assert runs is not None
    [recorded] = runs.pipeline_runs(pipeline="api-ci")  # the deploy gate now sees the run green
    assert (recorded.state, recorded.job_id) == ("success", 2)
    assert len(commands_audited(app, "command:pipeline.rerun")) == 1


async def test_gitlab_retry_in_french_retries_the_same_pipeline(app: App, chat: Transcript, servers: Fakes) -> None:
    await chat.say("dev1", "pipeline run api-gl version=2.0.1")
    assert (await wait_job(app, 1)).state == "failed"
    servers.gitlab.final = "success"
    await chat.say("dev1", "pipeline relancer 1")
    job = await wait_job(app, 2)
    assert job.state == "succeeded", job.result
    assert ("POST", "/api/v4/projects/acme/api/pipelines/287/retry") in servers.gitlab.calls("POST")
    assert len(servers.gitlab.triggers()) == 1
    assert "Exécution 287 : success" in status(chat, 2)  # answered in the language it was asked in


async def test_jenkins_rebuild_of_a_production_pipeline_needs_approval_and_sends_the_same_parameters(
        app: App, chat: Transcript, servers: Fakes) -> None:
    await chat.say("dev1", "pipeline run api-deploy version=1.4.0")
    await chat.react("devops1", "✅", chat.last.id)
    assert (await wait_job(app, 1)).state == "failed"
    servers.jenkins.result = "SUCCESS"
    asked = plain(await chat.say("dev1", "pipeline rerun 1"))  # production: approval, like ``run``
    assert "approv" in asked.lower() and len(app.store.jobs()) == 1
    await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(app, 2)
    assert job.state == "succeeded", job.result
    builds = [r for r in servers.jenkins.requests if r.method == "POST" and r.path.endswith("/buildWithParameters")]
    assert [b.body for b in builds] == [{"version": "1.4.0"}, {"version": "1.4.0"}]
    assert "Run 8: SUCCESS" in status(chat, 2)  # a new build, followed from its queue item


async def test_what_cannot_be_rerun_is_refused_before_any_approval(app: App, chat: Transcript,
                                                                  servers: Fakes) -> None:
    servers.github.conclusion = "success"
    await chat.say("dev1", "pipeline run api-ci")
    await wait_job(app, 1)
    assert plain(await chat.say("dev1", "pipeline rerun 1")) == \
        "Run 30433642 of api-ci succeeded; nothing to re-run (“pipeline run” starts a new one)."
    assert "No pipeline run #7" in plain(await chat.say("dev1", "pipeline rerun 7"))
    servers.github.conclusion = None  # runs until cancelled
    await chat.say("dev1", "pipeline run api-ci")
    await wait_job(app, 2, state="running")
    runs = app.bot.services.pipeline_runs
    assert runs is not None
    await _until(lambda: runs.pipeline_run_for_job(2) is not None)
    assert "has not ended yet" in plain(await chat.say("dev1", "pipeline rerun 2"))
    assert len(app.store.jobs()) == 2 and app.store.pending_approvals() == []
    assert not [c for c in servers.github.calls("POST") if c[1].endswith("/rerun-failed-jobs")]
    await chat.say("dev1", "pipeline cancel 2")
    await wait_job(app, 2)


async def _until(condition: object) -> None:
    import asyncio

    assert callable(condition)
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.mark.parametrize(("text", "expected"), [
    ("pipeline rerun 9", "No pipeline run #9"),
    ("pipeline relancer 9", "Aucune exécution de pipeline n°9"),
    ("أعد تشغيل مسار 9", "لا يوجد تشغيل مسار رقم #9"),
    ("ⴰⵍⵙ ⴰⴱⵔⵉⴷ 9", "ⵓⵔ ⵍⵍⵉ ⵓⵙⵙⵉⴷⴼ ⵏ ⵓⴱⵔⵉⴷ #9"),
])
async def test_rerun_is_understood_in_four_languages(app: App, chat: Transcript, text: str, expected: str) -> None:
    answer = plain(await chat.say("dev1", text))
    assert expected in answer
    assert "Unknown command" not in answer and "not understood" not in answer.lower()
    [(_, outcome)] = commands_audited(app, "command:pipeline.rerun")
    assert outcome != "ok"


def test_a_finished_run_goes_back_to_running_only_for_the_job_that_reruns_it() -> None:
    from bot.memory.pipelines import MemoryPipelineRuns
    from bot.pipelines import PipelineRun

    runs = MemoryPipelineRuns()
    runs.save_pipeline_run(PipelineRun("github", "acme/api", "42", "failed", "completed (failure)", job_id=1), 1)
    late, _ = runs.save_pipeline_run(PipelineRun("github", "acme/api", "42", "running", "in_progress"), 2)
    assert late.state == "failed"  # a late webhook delivery does not reopen it
    rerun, changed = runs.save_pipeline_run(PipelineRun("github", "acme/api", "42", "queued", "queued", job_id=2), 3)
    assert (rerun.state, rerun.job_id, changed) == ("queued", 2, True)
