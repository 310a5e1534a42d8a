"""Grafana annotations (issue 15): each deploy and each pipeline result posts ``POST /api/annotations``
with the service-account token; a Grafana that refuses is logged and fails nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import wait_job
from tests.pipelines.helpers import GRAFANA_TOKEN, Fakes, fakes, pipeline_app

SERVICES = """
[services.api.staging]
runner = "ansible"
playbook = "deploy_web.yml"
"""


@pytest.fixture
def servers() -> Iterator[Fakes]:
    with fakes() as started:
        yield started


async def started(engine: Engine, tmp_path: Path, servers: Fakes, **overrides: object) -> tuple[App, Transcript]:
    app = pipeline_app(engine, tmp_path, servers, SERVICES, **overrides)
    await app.start()
    return app, Transcript(app)


async def test_a_deploy_and_a_pipeline_result_are_annotated_with_the_token(
        engine: Engine, tmp_path: Path, servers: Fakes) -> None:
    app, chat = await started(engine, tmp_path, servers)
    try:
        before_ms = int(time.time() * 1000)
        await chat.say("admin1", "deploy api to staging version 1.4.0")
        deploy = await wait_job(app, 1)
        await chat.say("admin1", "pipeline run api-ci version=1.4.0")
        assert (await wait_job(app, 2)).state == "succeeded"
    finally:
        await app.stop()
    outcome = "succeeded" if deploy.state == "succeeded" else "failed"
    deployed, piped = servers.grafana.annotations()  # the fake accepts only the configured token
    assert deployed["tags"] == ["dihya", "deploy", "api", "staging"]
    assert deployed["text"] == f"deploy api → staging (1.4.0): {outcome}"
    assert piped["tags"] == ["dihya", "pipeline", "api-ci", "success"]
    assert piped["text"] == "pipeline api-ci run 30433642: completed (success)"
    assert before_ms <= deployed["time"] <= piped["time"] <= int(time.time() * 1000)


async def test_a_grafana_that_refuses_the_token_fails_nothing_and_the_token_is_not_logged(
        engine: Engine, tmp_path: Path, servers: Fakes, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "glsa_revoked_token_9876543210"
    app, chat = await started(engine, tmp_path, servers, grafana_token=wrong)
    try:
        with caplog.at_level(logging.DEBUG):
            await chat.say("admin1", "pipeline run api-ci")
            job = await wait_job(app, 1)
    finally:
        await app.stop()
    assert job.state == "succeeded", job.result
    assert servers.grafana.annotations() == []
    refused = [r for r in caplog.records if r.name == "dihya.grafana"]
    assert [(r.getMessage(), getattr(r, "status", None)) for r in refused] == [
        ("grafana refused the annotation", 401)]
    assert not [r for r in caplog.records if wrong in r.getMessage() or GRAFANA_TOKEN in r.getMessage()]
