"""GitHub credentials and older GitHub Enterprise servers (issue 15, "GitHub Actions" bullet).

- A GitHub App: the RS256 JWT Dihya signs is checked by the fake with the App's public key (``iss``
  the App id, ``iat`` in the past, ``exp`` at most 10 minutes ahead), the installation token it gets
  back is what the dispatch carries, and it is renewed a minute before it expires.
- A fine-grained token: read from the encrypted secrets when a run starts (rotation applies to the
  next run, a missing secret refuses with its name), never in a log line or a chat message.
- A GitHub Enterprise Server older than ``return_run_details``: GitHub's REST reference lists
  ``422 Validation failed, or the endpoint has been spammed`` for "Create a workflow dispatch event",
  and that is what a server answers to a body field it does not know (the fake answers 422 naming
  the field). Dihya dispatches again without it, with the correlation input, and follows the run
  whose ``display_title`` (the workflow's ``run-name``) carries that value.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, text

from bot.pipelines import PipelineSpec
from dihya.app import App
from dihya.pipelines.credentials import AppInstallationToken, BearerAuth
from dihya.pipelines.github import GitHubActions, api_headers
from dihya.pipelines.http import ApiClient
from dihya.pipelines.port import ProviderError
from tests.fakes.github_api import FakeGitHub, GitHubApp
from tests.helpers.apps import plain
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import wait_job
from tests.pipelines.helpers import GITHUB_TOKEN, Fakes, fakes, pipeline_app

APP_ID, INSTALLATION = "123456", "78901234"
T0 = 1_767_225_600.0


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_the_installation_token_comes_from_a_checked_jwt_is_used_and_is_renewed_before_it_expires(
        app_key: rsa.RSAPrivateKey) -> None:
    now = [T0]
    installed = GitHubApp(APP_ID, INSTALLATION, app_key.public_key(), lambda: now[0])
    fake = FakeGitHub("no-personal-token-here", app=installed).start()
    try:
        token = AppInstallationToken(fake.url, APP_ID, INSTALLATION, lambda: pem(app_key), clock=lambda: now[0])
        github = GitHubActions(ApiClient("GitHub", fake.url, headers=api_headers(), auth=BearerAuth(token)),
                               sleep=lambda _: None)
        spec = PipelineSpec("api-ci", "github", "acme/api", "ci.yml")
        handle = github.trigger(spec, "main", {"version": "1.4.0"}, "c-1")
        [claims] = installed.claims
        assert claims["iss"] == APP_ID
        assert claims["iat"] <= T0 < claims["exp"] <= T0 + 600
        [first] = installed.issued
        assert installed.used == {first: 1}  # the dispatch carried the installation token
        now[0] = T0 + 3600 - 61  # still more than a minute left: the same token
        github.status(spec, handle)
        assert len(installed.claims) == 1 and installed.used[first] == 3  # the run and its jobs
        now[0] = T0 + 3600 - 59  # within a minute of expiry: a new JWT, a new token
        github.status(spec, handle)
        assert len(installed.claims) == 2 and installed.claims[1]["iat"] <= now[0]
        second = next(t for t in installed.issued if t != first)
        assert installed.used[second] == 2 and installed.used[first] == 3
        github.close()
    finally:
        fake.stop()


def test_a_jwt_signed_with_another_key_gets_no_token(app_key: rsa.RSAPrivateKey) -> None:
    installed = GitHubApp(APP_ID, INSTALLATION, app_key.public_key(), time.time)
    fake = FakeGitHub("no-personal-token-here", app=installed).start()
    try:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        wrong_key = AppInstallationToken(fake.url, APP_ID, INSTALLATION, lambda: pem(other))
        wrong_app = AppInstallationToken(fake.url, "999", INSTALLATION, lambda: pem(app_key))
        for token in (wrong_key, wrong_app):
            with pytest.raises(ProviderError) as refused:
                token()
            assert refused.value.message.params == {"provider": "GitHub", "status": 401,
                                                    "what": "installation token"}
        assert installed.issued == {}
    finally:
        fake.stop()


APP_PIPELINE = """
[pipelines.api-app]
provider = "github"
project = "acme/api"
workflow = "ci.yml"
url = "{url}"
refs = ["main"]
app_id = "{app_id}"
installation_id = "{installation}"
private_key_secret = "github_app_key"
"""


@pytest.fixture
def installed(app_key: rsa.RSAPrivateKey) -> GitHubApp:
    return GitHubApp(APP_ID, INSTALLATION, app_key.public_key(), time.time)


@pytest.fixture
def servers(installed: GitHubApp) -> Iterator[Fakes]:
    with fakes(app=installed) as started:
        yield started


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, servers: Fakes, app_key: rsa.RSAPrivateKey) -> AsyncIterator[App]:
    extra = APP_PIPELINE.format(url=servers.github.url, app_id=APP_ID, installation=INSTALLATION)
    built = pipeline_app(engine, tmp_path, servers, extra)
    assert built.compliance is not None
    built.compliance.secret_set("github_app_key", pem(app_key), 0)
    await built.start()
    yield built
    await built.stop()


def leaked(records: list[logging.LogRecord], chat: Transcript, secrets: list[str]) -> list[str]:
    """Each secret found in a log record (message and fields, before any redaction) or a chat text."""
    seen = [json.dumps(r.__dict__, default=str) for r in records]
    seen += [t for p in chat.posted for t in (p.text, *p.edits)]
    return [s for s in secrets if any(s in line for line in seen)]


async def test_a_run_as_a_github_app_uses_the_installation_token_and_shows_no_secret(
        app: App, chat: Transcript, servers: Fakes, installed: GitHubApp, app_key: rsa.RSAPrivateKey,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        await chat.say("admin1", "pipeline run api-app")
        job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    assert len(installed.claims) == 1 and installed.claims[0]["iss"] == APP_ID
    [token] = installed.issued
    assert installed.used[token] >= 3  # dispatch, then the run and its jobs, all as the installation
    key_body = pem(app_key).splitlines()[1]
    assert leaked(caplog.records, chat, [token, key_body]) == []


async def test_a_fine_grained_token_is_read_from_the_encrypted_secrets_when_a_run_starts(
        app: App, chat: Transcript, servers: Fakes, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with engine.connect() as db:
        stored = " ".join(str(v) for row in db.execute(text("SELECT * FROM secrets")) for v in row)
    assert "github_token" in stored and GITHUB_TOKEN not in stored  # sealed at rest
    assert GITHUB_TOKEN not in (app.settings.config_file.read_text() if app.settings.config_file else "")
    with caplog.at_level(logging.DEBUG):
        await chat.say("admin1", "pipeline run api-ci")
        assert (await wait_job(app, 1)).state == "succeeded"
        rotated = "github_pat_22BBBBBBB0rotated0token0"
        servers.github.token = rotated  # rotated on GitHub, then in Dihya's secrets: the next run uses it
        assert app.compliance is not None
        app.compliance.secret_set("github_token", rotated, 1)
        await chat.say("admin1", "pipeline run api-ci")
        assert (await wait_job(app, 2)).state == "succeeded"
        app.compliance.secret_delete("github_token")
        await chat.say("admin1", "pipeline run api-ci")
        job = await wait_job(app, 3)
    assert job.state == "refused"  # nothing reached GitHub
    assert "The secret github_token that api-ci needs is not set" in plain(
        next(p for p in chat.posted if p.key == "job:3").current)
    assert len(servers.github.dispatches()) == 2
    assert leaked(caplog.records, chat, [GITHUB_TOKEN, rotated]) == []


@pytest.fixture
def old_ghe() -> Iterator[Fakes]:
    with fakes(run_details=False) as started:
        yield started


async def test_an_older_ghe_refusing_return_run_details_gets_a_second_dispatch_and_the_run_is_found_by_its_title(
        engine: Engine, tmp_path: Path, old_ghe: Fakes) -> None:
    github = old_ghe.github
    github.runs[github.next_id] = {"reads": 0, "cancelled": False, "title": "Build", "ref": "main"}  # someone else's
    github.next_id += 1
    app = pipeline_app(engine, tmp_path, old_ghe)
    await app.start()
    try:
        chat = Transcript(app)
        await chat.say("admin1", "pipeline run api-ci on main version=1.4.0")
        job = await wait_job(app, 1)
    finally:
        await app.stop()
    assert job.state == "succeeded", job.result
    first, second = github.dispatches()
    assert first.body == {"ref": "main", "inputs": {"version": "1.4.0"}, "return_run_details": True}  # 422
    correlation = second.body["inputs"].pop("correlation")
    assert second.body == {"ref": "main", "inputs": {"version": "1.4.0"}}
    assert correlation.startswith("dihya-1-")
    listed = [r for r in github.requests if r.path == "/repos/acme/api/actions/workflows/ci.yml/runs"]
    assert listed and listed[0].query == {"event": "workflow_dispatch", "branch": "main"}
    assert github.runs[30433643]["title"] == correlation
    assert not [r for r in github.requests if r.path.startswith("/repos/acme/api/actions/runs/30433642")]
    status = next(p for p in chat.posted if p.key == "job:1")
    shown = [plain(t) for t in (status.text, *status.edits)]
    assert any("Run 30433643: in_progress" in t for t in shown)
    assert "Run 30433643: completed (success)" in shown[-1]
    assert "https://github.com/acme/api/actions/runs/30433643" in shown[-1]
