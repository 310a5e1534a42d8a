"""``POST /api/it_devops/scripts/`` as published, and the per-person rate limit over HTTP (429)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.api.helpers import BASE, api_settings, bearer, client
from tests.helpers.apps import running
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "dihya.toml"
    config.write_text('[inventory]\nallow_addresses = ["127.0.0.1"]\n', encoding="utf-8")
    return api_settings(tmp_path, config_file=config)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    roles = {"console:ops1": "ops", "console:devops1": "devops"}
    async with running(build_app(settings, engine=engine), roles) as built:
        yield built


async def test_the_published_scripts_request_runs_the_playbook_after_approval(app: App, chat: Transcript,
                                                                            settings: Settings) -> None:
    assert "web-01" in await chat.say("admin1", "servers add web-01 127.0.0.1 staging")
    assert app.store.servers(), chat.posted
    async with client(app) as http:
        answer = await http.post(f"{BASE}/scripts/", headers=bearer(app, "console:ops1"),
                                 json={"nom": "deploy_app.yml", "cible": "all", "parametres": {"version": "v4"}})
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"{BASE}/approbations/1"
        vote = await http.post(f"{BASE}/approbations/1/votes", headers=bearer(app, "console:devops1"),
                               json={"decision": "approve"})
        assert vote.json()["state"] == "dispatched"
    job = await wait_job(app, 1, timeout=120)
    assert job.state == "succeeded", job.result
    assert (settings.data_dir / "deployed" / "app-web-01.txt").read_text() == "v4"


async def test_an_unknown_script_is_a_translated_422(app: App) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/scripts/?lang=fr", headers=bearer(app, "console:admin1"),
                                 json={"nom": "nope.sh"})
    assert answer.status_code == 422
    assert answer.json()["title"] == "Requête invalide"
    assert app.store.jobs() == []


async def test_past_the_rate_limit_the_api_answers_429_with_retry_after(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=2, rate_limit_burst=2,
                             identity_cache_seconds=0, content_dir=content_copy(tmp_path))
    app = build_app(settings, engine=engine)
    await app.start()
    try:
        body = {"service": "web", "environnement": "staging", "version": "v1"}
        async with client(app) as http:
            answers = [await http.post(f"{BASE}/deploiements/", headers=bearer(app, "console:admin1"), json=body)
                       for _ in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert int(answers[2].headers["Retry-After"]) > 0
        assert len(app.store.jobs()) == 2
        await wait_job(app, 1)
        await wait_job(app, 2)
    finally:
        await app.stop()


@pytest.mark.parametrize(("who", "body", "expected"), [
    ("console:ops1", {"nom": "disk-report", "parametres": {"path": "/tmp"}}, "/tmp"),
    ("console:ops1", {"nom": "flush-cache", "cible": "local", "parametres": {"cache": "sessions"}}, "sessions"),
    ("console:ops1", {"nom": "http-probe", "parametres": {"port": 9}}, "127.0.0.1:9"),
])
async def test_a_script_of_each_language_runs_over_http_and_its_log_is_downloadable(
        app: App, who: str, body: dict[str, object], expected: str) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/scripts/", headers=bearer(app, who), json=body)
        assert answer.status_code == 202, answer.text
        if answer.json()["status"] == "approval":  # flush-cache needs a second person (ops.run)
            vote = await http.post(f"{answer.headers['Location']}/votes", headers=bearer(app, "console:devops1"),
                                   json={"decision": "approve"})
            assert vote.json()["state"] == "dispatched"
        job = await wait_job(app, app.store.jobs()[0].id, timeout=60)
        location = f"{BASE}/jobs/{job.id}"
        assert job.state in ("succeeded", "failed"), job.result  # the probe of a closed port fails, as it should
        events = await http.get(f"{location}/events", headers=bearer(app, who))
        assert "event: end" in events.text and f'"state": "{job.state}"' in events.text
        log = await http.get(f"{location}/log", headers=bearer(app, who))
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
    assert expected in log.text
    assert f'filename="job-{job.id}.log"' in log.headers["content-disposition"]


async def test_a_job_without_a_log_is_a_translated_404(app: App) -> None:
    async with client(app) as http:
        missing = await http.get(f"{BASE}/jobs/99/log?lang=fr", headers=bearer(app, "console:ops1"))
        anonymous = await http.get(f"{BASE}/jobs/1/log")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401
