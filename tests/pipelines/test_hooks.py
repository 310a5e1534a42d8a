"""Inbound webhooks (acceptance 3): signatures on raw bytes, dedupe, routing, incidents; and the
Jenkins queue item that is gone by the time the build is read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.pipelines import PipelineSpec
from dihya.app import App
from dihya.pipelines.http import ApiClient
from dihya.pipelines.jenkins import Jenkins
from dihya.pipelines.port import RunHandle
from tests.fakes.jenkins_api import FakeJenkins
from tests.fakes.pipeline_data import sample
from tests.helpers.apps import plain, running
from tests.helpers.transcript import Transcript
from tests.pipelines.helpers import (
    CI_CHANNEL,
    GITLAB_HOOK_TOKEN,
    JENKINS_HOOK_TOKEN,
    JENKINS_TOKEN,
    Fakes,
    dumps,
    fakes,
    hook_client,
    pipeline_app,
    signed,
)


@pytest.fixture
def servers() -> Iterator[Fakes]:
    with fakes() as started:
        yield started


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, servers: Fakes) -> AsyncIterator[App]:
    async with running(pipeline_app(engine, tmp_path, servers)) as built:
        yield built


def github_headers(body: bytes, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                   event: str = "workflow_run") -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signed(body),
            "Content-Type": "application/json"}


def in_channel(chat: Transcript, channel: str) -> list[str]:
    return [plain(p.current) for p in chat.posted if p.channel == channel]


async def test_wrong_signature_is_401_and_nothing_is_recorded(app: App, chat: Transcript) -> None:
    body = dumps(sample("github_webhook_workflow_run_completed"))
    async with hook_client(app) as client:
        wrong = await client.post("/hooks/github", content=body,
                                  headers={**github_headers(body), "X-Hub-Signature-256": signed(body, "other")})
        unsigned = await client.post("/hooks/github", content=body, headers={"X-GitHub-Delivery": "x"})
        tampered = await client.post("/hooks/github", content=body + b" ", headers=github_headers(body))
    assert (wrong.status_code, unsigned.status_code, tampered.status_code) == (401, 401, 401)
    assert app.bot.services.pipeline_runs is not None
    assert app.bot.services.pipeline_runs.pipeline_runs() == [] and chat.posted == []


async def test_one_delivery_repeated_three_times_posts_one_message(app: App, chat: Transcript) -> None:
    body = dumps(sample("github_webhook_workflow_run_completed"))
    async with hook_client(app) as client:
        answers = [await client.post("/hooks/github", content=body, headers=github_headers(body)) for _ in range(3)]
    assert app.ci is not None
    await app.ci.idle()
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert [a.json()["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    [message] = [t for t in in_channel(chat, "ci") if t.startswith("❌ CI failed")]
    assert "❌ CI failed on main (acme/api)" in message and "Commit: 9f2c1e3a4b5d" in message
    assert "https://github.com/acme/api/actions/runs/5432109876" in message
    runs = app.bot.services.pipeline_runs
    assert runs is not None
    [run] = runs.pipeline_runs(service="api")  # the catalog's api-ci is acme/api: it gates `deploy api`
    assert (run.pipeline, run.state, run.sha[:7]) == ("api-ci", "failed", "9f2c1e3")
    # a red default branch opens an incident ([ci] incident_on_default_branch_failure)
    assert app.store.incidents()[0].title == "CI failed on main (acme/api)"
    assert any("Incident #1 opened automatically" in t for t in in_channel(chat, "ci"))


async def test_a_new_delivery_of_the_same_result_posts_nothing_more(app: App, chat: Transcript) -> None:
    body = dumps(sample("github_webhook_workflow_run_completed"))
    async with hook_client(app) as client:
        for delivery in ("d-1", "d-2"):  # GitHub's "redeliver" gives a new delivery id
            assert (await client.post("/hooks/github", content=body, headers=github_headers(body, delivery))
                    ).status_code == 202
    assert app.ci is not None
    await app.ci.idle()
    assert len([t for t in in_channel(chat, "ci") if t.startswith("❌ CI failed")]) == 1


async def test_gitlab_token_and_route_by_provider_in_french(app: App, chat: Transcript) -> None:
    body = dumps(sample("gitlab_webhook_pipeline"))
    headers = {"X-Gitlab-Event": "Pipeline Hook", "Idempotency-Key": "8f3b1c2d-0000-4000-8000-000000000001",
               "Content-Type": "application/json"}
    async with hook_client(app) as client:
        refused = await client.post("/hooks/gitlab", content=body, headers={**headers, "X-Gitlab-Token": "nope"})
        accepted = await client.post("/hooks/gitlab", content=body,
                                     headers={**headers, "X-Gitlab-Token": GITLAB_HOOK_TOKEN})
    assert app.ci is not None
    await app.ci.idle()
    assert (refused.status_code, accepted.status_code) == (401, 202)
    [message, incident] = in_channel(chat, "gitlab")
    assert "#1" in incident
    assert "Gitlab Test" in message and "master" in message and "❌ test: test-image : failed" in message
    assert "a échoué" in message  # the route's locale


async def test_jenkins_bearer_and_notification(app: App, chat: Transcript) -> None:
    body = dumps(sample("jenkins_notification"))
    async with hook_client(app) as client:
        refused = await client.post("/hooks/jenkins", content=body)
        accepted = await client.post("/hooks/jenkins", content=body,
                                     headers={"Authorization": f"Bearer {JENKINS_HOOK_TOKEN}"})
    assert app.ci is not None
    await app.ci.idle()
    assert (refused.status_code, accepted.status_code) == (401, 202)
    [message] = in_channel(chat, CI_CHANNEL.partition(":")[2])
    assert "api-deploy failed on main (api-deploy)" in message


async def test_bounded_bodies_and_bad_shapes(app: App) -> None:
    big = b"{" + b" " * (app.settings.ci_webhook_max_body_bytes + 10) + b"}"
    not_json = b"not json"
    shapeless = dumps({"workflow_run": {}})
    nested = b'{"workflow_run": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"  # signed, but nested past any sense
    async with hook_client(app) as client:
        deep = await client.post("/hooks/github", content=nested, headers=github_headers(nested))
        too_big = await client.post("/hooks/github", content=big, headers=github_headers(big))
        bad = await client.post("/hooks/github", content=not_json, headers=github_headers(not_json))
        odd = await client.post("/hooks/github", content=shapeless, headers=github_headers(shapeless))
        ping = await client.post("/hooks/github", content=b"{}", headers=github_headers(b"{}", event="ping"))
    assert (too_big.status_code, bad.status_code, odd.status_code, deep.status_code) == (413, 400, 400, 400)
    assert "repository" in odd.json()["error"] and ping.status_code == 400


async def test_results_are_annotated_in_grafana(app: App, servers: Fakes) -> None:
    body = dumps(sample("github_webhook_workflow_run_completed"))
    async with hook_client(app) as client:
        await client.post("/hooks/github", content=body, headers=github_headers(body))
    assert app.ci is not None
    await app.ci.idle()
    [annotation] = servers.grafana.annotations()
    assert annotation["tags"] == ["dihya", "pipeline", "api-ci", "failed"]
    assert annotation["text"] == "CI completed (failure) on main (acme/api)"


def test_a_jenkins_queue_item_gone_after_the_build_started_is_followed_to_its_build() -> None:
    fake = FakeJenkins("dihya", JENKINS_TOKEN, forget_queue=True).start()
    try:
        jenkins = Jenkins(ApiClient("Jenkins", fake.url, auth=("dihya", JENKINS_TOKEN), sleep=lambda _: None))
        spec = PipelineSpec("api-deploy", "jenkins", "api-deploy", url=fake.url)
        handle = jenkins.trigger(spec, "main", {"version": "1.4.0"}, "c")
        assert handle == RunHandle(queue_url="/queue/item/12/")
        assert jenkins.status(spec, handle).state == "queued"  # waiting in the queue
        started = jenkins.status(spec, handle)  # the item is now 404: found by its queueId
        assert (started.handle.run_id, started.state) == ("7", "running")
        assert ("GET", "/job/api-deploy/api/json") in fake.calls("GET")
        assert jenkins.status(spec, started.handle).state == "success"
    finally:
        fake.stop()
