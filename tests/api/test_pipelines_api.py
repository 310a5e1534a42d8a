"""``/api/it_devops/pipelines/`` (issues 13 and 15): the catalog a caller may run, a run started
over HTTP (202 + the job's ``Location``, or the approval's for production), its status, cancel and
re-run; the same checks, approvals and audit as chat, problems in the caller's language."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App
from tests.api.helpers import BASE, bearer, client
from tests.helpers.apps import plain, running, trail
from tests.jobs.helpers import wait_job
from tests.pipelines.helpers import Fakes, fakes, pipeline_app


@pytest.fixture
def servers() -> Iterator[Fakes]:
    with fakes() as started:
        yield started


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, servers: Fakes) -> AsyncIterator[App]:
    roles = {"console:dev1": "developer", "console:audit1": "auditor"}
    async with running(pipeline_app(engine, tmp_path, servers), roles) as built:
        yield built


async def test_the_catalog_lists_what_the_caller_may_run(app: App) -> None:
    async with client(app) as http:
        mine = await http.get(f"{BASE}/pipelines/", headers=bearer(app, "console:dev1"))
        auditor = await http.get(f"{BASE}/pipelines/", headers=bearer(app, "console:audit1"))
        anonymous = await http.get(f"{BASE}/pipelines/")
    assert mine.status_code == 200
    listed = {p["name"]: p for p in mine.json()}
    assert sorted(listed) == ["api-ci", "api-deploy", "api-gl"]
    assert listed["api-ci"]["parametres"] == {"dry_run": "boolean", "region": "eu|us", "version": "version"}
    assert listed["api-ci"]["refs"] == ["main", "release/*"] and not listed["api-ci"]["approbation"]
    assert listed["api-deploy"]["environnement"] == "production" and listed["api-deploy"]["approbation"]
    assert (auditor.status_code, auditor.json()) == (200, [])  # reads, but may run none
    assert anonymous.status_code == 401


async def test_a_run_over_http_is_a_followed_job_with_only_the_allowed_inputs(app: App, servers: Fakes) -> None:
    headers = bearer(app, "console:dev1")
    async with client(app) as http:
        answer = await http.post(f"{BASE}/pipelines/api-ci/runs", headers=headers,
                                 json={"ref": "main", "parametres": {"version": "1.4.0", "dry_run": True}})
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"{BASE}/jobs/1"
        assert answer.json() == {"status": "job", "id": 1, "url": f"{BASE}/jobs/1"}
        await wait_job(app, 1)
        run = await http.get(f"{BASE}/pipelines/runs/1", headers=headers)
    [dispatch] = servers.github.dispatches()
    assert dispatch.body["inputs"] == {"version": "1.4.0", "dry_run": "true"}
    view = run.json()
    assert (view["state"], view["pipeline"], view["ref"]) == ("succeeded", "api-ci", "main")
    assert view["parametres"] == {"version": "1.4.0", "dry_run": "true"}
    assert view["run"]["id"] == "30433642" and view["run"]["status"] == "completed (success)"
    assert view["run"]["url"] == "https://github.com/acme/api/actions/runs/30433642"
    assert [(s["name"], s["state"]) for s in view["run"]["stages"]] == [("build", "success"), ("test", "success")]
    assert ("command:pipeline.run", "ok") in trail(app)
    assert ("api:POST /pipelines/{name}/runs", "202") in trail(app)


async def test_a_production_pipeline_answers_with_the_approval_and_runs_once_approved(
        app: App, servers: Fakes) -> None:
    app.store.grant_role("console:devops1", "devops")
    async with client(app) as http:
        answer = await http.post(f"{BASE}/pipelines/api-deploy/runs", headers=bearer(app, "console:dev1"),
                                 json={"parametres": {"version": "1.4.0"}})
        assert answer.status_code == 202, answer.text
        approval = answer.json()
        assert approval["status"] == "approval" and answer.headers["Location"] == approval["url"]
        assert app.store.jobs() == [] and servers.jenkins.posts() == []
        vote = await http.post(f"{approval['url']}/votes", headers=bearer(app, "console:devops1"),
                               json={"decision": "approve"})
        assert vote.json()["state"] == "dispatched"
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    assert servers.jenkins.posts() == [("POST", "/job/api-deploy/buildWithParameters")]


@pytest.mark.parametrize(("lang", "path", "body", "status", "detail"), [
    ("fr", "api-ci", {"ref": "feature/x"}, 422,
     "api-ci ne peut pas s’exécuter sur « feature/x » ; références permises : main, release/*."),
    ("en", "api-ci", {"parametres": {"color": "red"}}, 422,
     "api-ci has no parameter “color”; allowed parameters: dry_run, region, version."),
    ("en", "api-deploy", {"ref": "feature/x"}, 422,  # production: refused before any approval is asked
     "api-deploy may not run on “feature/x”; allowed refs: main."),
    ("ar", "nope", {}, 404, "مسار غير معروف nope؛ المسارات المعروفة: api-ci, api-deploy, api-gl."),
])
async def test_what_the_catalog_does_not_allow_is_a_translated_problem_and_nothing_runs(
        app: App, servers: Fakes, lang: str, path: str, body: dict[str, object], status: int, detail: str) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/pipelines/{path}/runs?lang={lang}", headers=bearer(app, "console:dev1"),
                                 json=body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert detail in plain(answer.json()["detail"])
    assert app.store.jobs() == [] and app.store.pending_approvals() == [] and servers.github.dispatches() == []


async def test_cancel_over_http_reaches_the_provider(app: App, servers: Fakes) -> None:
    servers.gitlab.final = "running"  # runs until cancelled
    headers = bearer(app, "console:dev1")
    async with client(app) as http:
        started = await http.post(f"{BASE}/pipelines/api-gl/runs", headers=headers, json={})
        assert started.status_code == 202
        await wait_job(app, 1, state="running")
        for _ in range(100):  # until the provider's run is known
            if (await http.get(f"{BASE}/pipelines/runs/1", headers=headers)).json()["run"]:
                break
            await asyncio.sleep(0.05)
        stop = await http.post(f"{BASE}/pipelines/runs/1/cancel", headers=headers)
        assert stop.status_code == 202 and stop.json()["cancel_requested"]
        job = await wait_job(app, 1)
        missing = await http.get(f"{BASE}/pipelines/runs/9?lang=fr", headers=headers)
    assert job.state == "cancelled"
    assert ("POST", "/api/v4/projects/acme/api/pipelines/287/cancel") in servers.gitlab.calls("POST")
    assert missing.status_code == 404 and "Aucune exécution de pipeline n°9" in missing.json()["detail"]
    assert ("command:pipeline.cancel", "ok") in trail(app)


async def test_rerun_over_http_retries_a_failed_run(app: App, servers: Fakes) -> None:
    servers.github.conclusion = "failure"
    headers = bearer(app, "console:dev1")
    async with client(app) as http:
        await http.post(f"{BASE}/pipelines/api-ci/runs", headers=headers, json={})
        assert (await wait_job(app, 1)).state == "failed"
        servers.github.conclusion = "success"
        again = await http.post(f"{BASE}/pipelines/runs/1/rerun", headers=headers)
        assert again.status_code == 202 and again.headers["Location"] == f"{BASE}/jobs/2"
        assert (await wait_job(app, 2)).state == "succeeded"
        refused = await http.post(f"{BASE}/pipelines/runs/2/rerun?lang=fr", headers=headers)
    assert refused.status_code == 422 and "a réussi" in refused.json()["detail"]
    assert ("POST", "/repos/acme/api/actions/runs/30433642/rerun-failed-jobs") in servers.github.calls("POST")


async def test_each_pipeline_endpoint_is_described_with_an_example(app: App) -> None:
    async with client(app) as http:
        document = (await http.get(f"{BASE}/openapi.json")).json()
    paths = {p: v for p, v in document["paths"].items() if "/pipelines/" in p}
    assert sorted(paths) == ["/pipelines/", "/pipelines/runs/{run_id}", "/pipelines/runs/{run_id}/cancel",
                             "/pipelines/runs/{run_id}/rerun", "/pipelines/{name}/runs"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            assert operation["summary"] and operation["description"], (method, path)
    schemas = document["components"]["schemas"]
    for model in ("PipelineView", "RunRequest", "RunView"):
        assert schemas[model].get("examples"), model
    assert "example" in str(paths["/pipelines/{name}/runs"]["post"]["responses"]["202"])
