"""Deploy gates (acceptance 5): a deploy whose version's newest pipeline run is red or still running
is refused naming that run; after a green run it proceeds; an admin may override, audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dihya.app import App
from tests.fakes.pipeline_data import sample
from tests.helpers.apps import plain, running
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import wait_job
from tests.pipelines.helpers import Fakes, dumps, fakes, hook_client, pipeline_app, signed

SERVICES = """
[services.api.staging]
runner = "ansible"
playbook = "deploy_web.yml"
"""
SHA = "9f2c1e3a4b5d6e7f8091a2b3c4d5e6f708192a3b"


@pytest.fixture
def servers() -> Iterator[Fakes]:
    with fakes(conclusion="failure") as started:
        yield started


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, servers: Fakes) -> AsyncIterator[App]:
    async with running(pipeline_app(engine, tmp_path, servers, SERVICES)) as built:
        yield built


def workflow_run(run_id: int, status: str, conclusion: str | None) -> bytes:
    payload: dict[str, Any] = sample("github_webhook_workflow_run_completed")
    payload["workflow_run"].update(id=run_id, status=status, conclusion=conclusion,
                                   html_url=f"https://github.com/acme/api/actions/runs/{run_id}")
    return dumps(payload)


async def deliver(app: App, body: bytes, delivery: str) -> None:
    async with hook_client(app) as client:
        answer = await client.post("/hooks/github", content=body, headers={
            "X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signed(body)})
    assert answer.status_code == 202
    assert app.ci is not None
    await app.ci.idle()


def deploy_jobs(app: App) -> list[str]:
    return [j.draft.summary for j in app.store.jobs() if j.draft.kind == "deploy"]


async def test_red_then_running_then_green_commit_from_webhooks(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    await deliver(app, workflow_run(101, "completed", "failure"), "d1")
    refused = plain(await chat.say("dev1", f"deploy api to staging version {SHA[:7]}"))
    assert refused == ("Deploy refused: pipeline run api-ci #101 for 9f2c1e3 failed "
                       "(https://github.com/acme/api/actions/runs/101). An admin may add “override REASON”.")
    await deliver(app, workflow_run(102, "in_progress", None), "d2")
    assert "api-ci #102 for 9f2c1e3 is still running" in plain(
        await chat.say("dev1", f"deploy api to staging version {SHA[:7]}"))
    assert deploy_jobs(app) == []
    await deliver(app, workflow_run(102, "completed", "success"), "d3")
    await chat.say("dev1", f"deploy api to staging version {SHA[:7]}")
    assert deploy_jobs(app) == ["deploy api → staging (9f2c1e3)"]


async def test_a_run_started_from_chat_gates_its_version(app: App, chat: Transcript, servers: Fakes) -> None:
    await chat.say("admin1", "pipeline run api-ci version=1.4.0")
    assert (await wait_job(app, 1)).state == "failed"
    assert "api-ci #30433642 for 1.4.0 failed" in plain(await chat.say("admin1", "deploy api to staging version 1.4.0"))
    servers.github.conclusion = "success"
    await chat.say("admin1", "pipeline run api-ci version=1.4.0")
    assert (await wait_job(app, 2)).state == "succeeded"
    await chat.say("admin1", "deploy api to staging version 1.4.0")
    assert deploy_jobs(app) == ["deploy api → staging (1.4.0)"]


async def test_only_an_admin_overrides_and_the_reason_is_audited(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    await deliver(app, workflow_run(101, "completed", "failure"), "d1")
    assert "Only an admin may override" in plain(
        await chat.say("dev1", f"deploy api to staging version {SHA[:7]} override flaky test"))
    await chat.say("admin1", f"deploy api to staging version {SHA[:7]} override flaky test, fix in #42")
    assert deploy_jobs(app) == ["deploy api → staging (9f2c1e3)"]
    app.bot.flush_audit()
    [row] = [r.draft for r in app.store.audit_records()
             if r.draft.action == "command:deploy" and r.draft.outcome == "ok"]
    details = json.loads(json.dumps(row.details))
    assert details["gate_override"] == "flaky test, fix in #42" and details["blocked_by"] == "api-ci #101"
