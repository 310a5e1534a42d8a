"""Issue 15 from chat: run, follow, cancel a pipeline on each provider; refusals of what the
catalog does not allow (acceptance 1, 2 and 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App
from tests.helpers.apps import plain, running
from tests.helpers.transcript import Posted, Transcript
from tests.jobs.helpers import wait_job
from tests.pipelines.helpers import Fakes, fakes, pipeline_app


@pytest.fixture
def servers() -> Iterator[Fakes]:
    with fakes() as started:
        yield started


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, servers: Fakes) -> AsyncIterator[App]:
    async with running(pipeline_app(engine, tmp_path, servers)) as built:
        yield built


def status_message(chat: Transcript, job_id: int) -> Posted:
    return next(p for p in chat.posted if p.key == f"job:{job_id}")


def order_of(texts: list[str], *words: str) -> list[int]:
    """The index of the first text showing each word, to check they came in that order."""
    return [next(i for i, t in enumerate(texts) if w in t) for w in words]


async def test_github_run_dispatches_only_allowed_inputs_and_follows_the_run(
        app: App, chat: Transcript, servers: Fakes) -> None:
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "pipeline run api-ci on main version=1.4.0")
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    [dispatch] = servers.github.dispatches()
    assert dispatch.path == "/repos/acme/api/actions/workflows/ci.yml/dispatches"
    assert dispatch.body == {"ref": "main", "inputs": {"version": "1.4.0"}, "return_run_details": True}
    shown = [plain(t) for t in [status_message(chat, 1).text, *status_message(chat, 1).edits]]
    first_queued, running, done = order_of(shown, "Run 30433642: queued", "Run 30433642: in_progress",
                                           "Run 30433642: completed (success)")
    assert first_queued < running < done
    final = plain(status_message(chat, 1).current)
    assert "✅ Job #1 succeeded" in final and "pipeline api-ci on main" in final
    assert "https://github.com/acme/api/actions/runs/30433642" in final
    assert "✅ build: success" in final and "✅ test: success" in final
    assert "🔄 test: in_progress" in shown[running]
    runs = app.bot.services.pipeline_runs  # the run is recorded for deploy gates, with the version it ran
    assert runs is not None
    [recorded] = runs.pipeline_runs(pipeline="api-ci")
    assert (recorded.state, recorded.version, recorded.job_id) == ("success", "1.4.0", 1)


async def test_gitlab_run_triggers_with_the_trigger_token_and_variables(
        app: App, chat: Transcript, servers: Fakes) -> None:
    await chat.say("admin1", "pipeline run api-gl version=2.0.1")
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    [trigger] = servers.gitlab.triggers()
    assert trigger.body == {"token": "glptt-fake-trigger-token-4567", "ref": "main", "variables[version]": "2.0.1"}
    shown = [plain(t) for t in [status_message(chat, 1).text, *status_message(chat, 1).edits]]
    order = order_of(shown, "Run 287: pending", "Run 287: running", "Run 287: success")
    assert order == sorted(order)
    final = shown[-1]
    assert "✅ build: compile: success" in final and "✅ test: unit: success" in final
    assert "https://gitlab.example.com/acme/api/-/pipelines/287" in final


async def test_jenkins_production_pipeline_needs_approval_then_follows_queue_to_build(
        app: App, chat: Transcript, servers: Fakes) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:devops1", "devops")
    asked = plain(await chat.say("dev1", "pipeline run api-deploy version=1.4.0"))
    assert "approv" in asked.lower() and app.store.jobs() == []
    await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    posts = servers.jenkins.posts()
    assert posts == [("POST", "/job/api-deploy/buildWithParameters")]
    [build_request] = [r for r in servers.jenkins.requests if r.method == "POST"]
    assert build_request.body == {"version": "1.4.0"}
    final = plain(status_message(chat, 1).current)
    assert "Run 7: SUCCESS" in final and "✅ Build: SUCCESS" in final and "✅ Deploy: SUCCESS" in final


@pytest.mark.parametrize(("provider_pipeline", "stop_call"), [
    ("api-ci", ("POST", "/repos/acme/api/actions/runs/30433642/cancel")),
    ("api-gl", ("POST", "/api/v4/projects/acme/api/pipelines/287/cancel")),
])
async def test_pipeline_cancel_reaches_the_provider(app: App, chat: Transcript, servers: Fakes,
                                                    provider_pipeline: str, stop_call: tuple[str, str]) -> None:
    servers.github.conclusion, servers.gitlab.final = None, "running"  # both run until cancelled
    await chat.say("admin1", f"pipeline run {provider_pipeline}")
    await wait_job(app, 1, state="running")
    assert "Cancelling job #1" in plain(await chat.say("admin1", "pipeline cancel 1"))
    job = await wait_job(app, 1)
    assert job.state == "cancelled", job.result
    fake = servers.github if provider_pipeline == "api-ci" else servers.gitlab
    assert stop_call in fake.calls("POST")
    assert "🛑" in status_message(chat, 1).current


async def test_jenkins_cancel_stops_the_build(app: App, chat: Transcript, servers: Fakes) -> None:
    servers.jenkins.result = None  # keeps building until stopped
    app.store.grant_role("console:devops1", "devops")
    await chat.say("admin1", "pipeline run api-deploy")  # admins need approval too for production
    await chat.react("devops1", "✅", chat.last.id)
    await wait_job(app, 1, state="running")
    runs = app.bot.services.pipeline_runs
    assert runs is not None
    for _ in range(200):  # until the queue item has become build 7
        if runs.pipeline_run_for_job(1) is not None:
            break
        await asyncio.sleep(0.05)
    await chat.say("admin1", "pipeline cancel 1")
    job = await wait_job(app, 1)
    assert job.state == "cancelled", job.result
    assert ("POST", "/job/api-deploy/7/stop") in servers.jenkins.calls("POST")


@pytest.mark.parametrize(("text", "expected"), [
    ("pipeline run api-ci on feature/x", "api-ci may not run on “feature/x”; allowed refs: main, release/*."),
    ("pipeline run api-ci on main color=red", "api-ci has no parameter “color”; allowed parameters: dry_run, "
                                              "region, version."),
    ("pipeline run api-ci on main region=asia", "“asia” is not a valid region for api-ci: expected one of eu, us."),
    ("pipeline run api-ci dry_run=maybe", "“maybe” is not a valid dry_run for api-ci: expected true or false."),
    ("pipeline lancer api-ci sur feature/x", "api-ci ne peut pas s’exécuter sur « feature/x » ; références "
                                             "permises : main, release/*."),
])
async def test_refusals_name_what_is_allowed_and_nothing_runs(app: App, chat: Transcript, servers: Fakes,
                                                              text: str, expected: str) -> None:
    assert plain(await chat.say("admin1", text)) == expected
    assert app.store.jobs() == [] and servers.github.dispatches() == []


async def test_pipelines_lists_the_catalog_and_status_shows_runs(app: App, chat: Transcript) -> None:
    listed = plain(await chat.say("admin1", "pipelines"))
    assert "api-ci: github acme/api" in listed and "version (version)" in listed and "production" in listed
    assert "No runs of api-ci" in plain(await chat.say("admin1", "pipeline status api-ci"))
    await chat.say("admin1", "pipeline run api-ci version=1.4.0")
    await wait_job(app, 1)
    assert "api-ci #30433642 on main: completed (success)" in plain(await chat.say("admin1", "pipeline status api-ci"))
    one = plain(await chat.say("admin1", "pipeline status 1"))
    assert "Job #1 succeeded" in one and "✅ build: success" in one
    assert "No pipeline run #9" in plain(await chat.say("admin1", "pipeline status 9"))
