"""Issue 13, acceptance 1: deploys over HTTP run through the same approvals and jobs as chat."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.api.helpers import BASE, api_settings, bearer, client, server_sent
from tests.helpers.apps import running, trail
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    roles = {"console:dev1": "developer", "console:devops1": "devops", "console:devops2": "devops"}
    async with running(build_app(settings, engine=engine), roles) as built:
        yield built


async def test_staging_deploy_answers_202_and_the_event_stream_shows_each_step(app: App, settings: Settings) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/deploiements/", headers=bearer(app, "console:dev1"),
                                 json={"service": "web", "environnement": "staging", "version": "v2.0.0"})
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"{BASE}/jobs/1"
        stream = await http.get(f"{BASE}/jobs/1/events", headers=bearer(app, "console:dev1"))
        job = await http.get(answer.headers["Location"], headers=bearer(app, "console:dev1"))
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = server_sent(stream.text)
    progress = [data for name, data in events if name == "progress"]
    assert events[-1][0] == "end"
    assert progress[-1]["state"] == "succeeded"
    steps = [p["step"] for p in progress if p["state"] == "running" and p["step"]]
    assert steps == list(range(1, progress[-1]["total"] + 1))
    assert job.json()["state"] == "succeeded"
    assert (settings.data_dir / "deployed" / "web-staging.txt").read_text() == "v2.0.0"
    assert ("command:deploy", "ok") in trail(app)
    assert ("api:POST /deploiements/", "202") in trail(app)


async def test_production_deploy_waits_for_a_chat_approval_and_runs_once(app: App, chat: Transcript,
                                                                        settings: Settings) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/deploiements/", headers=bearer(app, "console:dev1"),
                                 json={"service": "web", "environnement": "production", "version": "v1.2.3"})
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"{BASE}/approbations/1"
        request = next(p for p in chat.posted if p.key == "approval:1")  # posted in the API's chat channel
        assert request.channel == "main"
        listed = await http.get(f"{BASE}/approbations/", headers=bearer(app, "console:devops1"))
        assert [a["id"] for a in listed.json()["items"]] == [1]
        own = await http.post(f"{BASE}/approbations/1/votes?lang=fr", headers=bearer(app, "console:dev1"),
                              json={"decision": "approve"})
        assert own.status_code == 403
        assert own.headers["content-type"] == "application/problem+json"
        assert own.json()["detail"] == "Vous ne pouvez pas approuver votre propre demande."
        assert app.store.jobs() == []
        await chat.react("devops1", "✅", request.id)
        assert (await wait_job(app, 1)).state == "succeeded"
        late = await http.post(f"{BASE}/approbations/1/votes", headers=bearer(app, "console:devops2"),
                               json={"decision": "approve"})
        assert late.status_code == 403  # already dispatched: nothing runs twice
    assert len(app.store.jobs()) == 1
    assert (settings.data_dir / "deployed" / "web-production.txt").read_text() == "v1.2.3"
    assert ("approval:vote", "refused") in trail(app)


async def test_a_vote_over_http_counts_like_a_reaction(app: App, chat: Transcript) -> None:
    async with client(app) as http:
        await http.post(f"{BASE}/deploiements/", headers=bearer(app, "console:dev1"),
                        json={"service": "web", "environnement": "production", "version": "v3"})
        vote = await http.post(f"{BASE}/approbations/1/votes", headers=bearer(app, "console:devops1"),
                               json={"decision": "approve"})
        assert vote.status_code == 200, vote.text
        assert vote.json() == {"id": 1, "state": "dispatched"}
        assert (await wait_job(app, 1)).state == "succeeded"
        again = await http.post(f"{BASE}/approbations/1/votes", headers=bearer(app, "console:devops2"),
                                json={"decision": "approve"})
    assert again.status_code == 403
    assert len(app.store.jobs()) == 1
    assert ("approval:vote", "approve") in trail(app)
    assert "✅" in next(p for p in chat.posted if p.key == "approval:1").current  # the chat message was closed


async def test_the_same_idempotency_key_starts_nothing_new_and_another_body_is_422(app: App) -> None:
    body = {"service": "web", "environnement": "staging", "version": "v7"}
    async with client(app) as http:
        headers = {**bearer(app, "console:dev1"), "Idempotency-Key": "deploy-v7-once"}
        first = await http.post(f"{BASE}/deploiements/", headers=headers, json=body)
        again = await http.post(f"{BASE}/deploiements/", headers=headers, json=body)
        other = await http.post(f"{BASE}/deploiements/", headers=headers, json={**body, "version": "v8"})
        elsewhere = await http.post(f"{BASE}/deploiements/", json=body,
                                    headers={**bearer(app, "console:devops1"), "Idempotency-Key": "deploy-v7-once"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 422
    assert elsewhere.status_code == 202 and elsewhere.headers["Location"] != first.headers["Location"]  # per caller
    assert len(app.store.jobs()) == 2
    await wait_job(app, 1)
    await wait_job(app, 2)


async def test_cancel_asks_a_running_job_to_stop(app: App) -> None:
    async with client(app) as http:
        headers = bearer(app, "console:dev1")
        await http.post(f"{BASE}/deploiements/", headers=headers,
                        json={"service": "web", "environnement": "staging", "version": "v9"})
        cancel = await http.post(f"{BASE}/jobs/1/cancel", headers=headers)
        missing = await http.get(f"{BASE}/jobs/99?lang=fr", headers=headers)
    assert cancel.status_code == 202, cancel.text
    assert cancel.json()["cancel_requested"] or cancel.json()["state"] == "cancelled"
    assert (await wait_job(app, 1)).state in ("cancelled", "succeeded")
    assert missing.status_code == 404 and missing.json()["detail"] == "Il n’y a pas de tâche n°99."


async def test_a_service_with_its_own_channel_gets_its_approvals_there(engine: Engine, tmp_path: Path) -> None:
    config = tmp_path / "dihya.toml"
    config.write_text('[services.backend-django.production]\nrunner = "ansible"\nplaybook = "deploy_web.yml"\n'
                      'channel = "console:backend"\n', encoding="utf-8")
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, content_dir=content_copy(tmp_path), api_channel="console:main",
                             config_file=config)
    app = build_app(settings, engine=engine)
    await app.start()
    chat = Transcript(app, channel="backend")
    try:
        app.store.grant_role("console:dev1", "developer")
        app.store.grant_role("console:devops1", "devops")
        async with client(app) as http:
            answer = await http.post(f"{BASE}/deploiements/", headers=bearer(app, "console:dev1"),
                                     json={"service": "backend-django", "environnement": "production",
                                           "version": "v1.2.3"})
        assert answer.status_code == 202, answer.text
        request = next(p for p in chat.posted if p.key == "approval:1")
        assert request.channel == "backend"  # the service's channel, not DIHYA_API_CHANNEL
        await chat.react("devops1", "✅", request.id)
        assert (await wait_job(app, 1)).state == "succeeded"
        assert (settings.data_dir / "deployed" / "backend-django-production.txt").read_text() == "v1.2.3"
    finally:
        await app.stop()


def test_a_service_channel_must_name_a_platform(tmp_path: Path) -> None:
    from dihya.config_file import load_config, service_catalog
    from dihya.settings import SettingsError

    config = tmp_path / "dihya.toml"
    config.write_text('[services.web.production]\nrunner = "ansible"\nplaybook = "deploy_web.yml"\nchannel = "C0123"\n',
                      encoding="utf-8")
    with pytest.raises(SettingsError, match="PLATFORM:CHANNEL_ID"):
        service_catalog(load_config(config))
