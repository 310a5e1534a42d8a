"""Issue 13: serveurs/ by numeric id, deploiements/ (list, detail, rollback) — the chat core over HTTP."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.ports import Server
from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.api.helpers import BASE, api_settings, bearer, client
from tests.helpers.apps import running, trail
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import wait_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    roles = {"console:dev1": "developer", "console:devops1": "devops"}
    async with running(build_app(settings, engine=engine), roles) as built:
        yield built


async def test_servers_have_numeric_ids_filters_and_pages(app: App) -> None:
    for name, env in [("web1", "production"), ("db1", "staging"), ("web2", "production"), ("web3", "production")]:
        app.store.add_server(Server(name, "10.0.0.5", env))
    async with client(app) as http:
        headers = bearer(app, "console:dev1")
        first = await http.get(f"{BASE}/serveurs/?environnement=production&limit=2", headers=headers)
        rest = await http.get(first.headers["Link"].split(">")[0][1:], headers=headers)
        one = await http.get(f"{BASE}/serveurs/2", headers=headers)
        missing = await http.get(f"{BASE}/serveurs/99?lang=fr", headers=headers)
        guest = await http.get(f"{BASE}/serveurs/1", headers=bearer(app, "console:nobody"))
    assert [(s["id"], s["name"]) for s in first.json()["items"]] == [(1, "web1"), (3, "web2")]
    assert first.json()["next_cursor"] == 3 and "environnement=production" in first.headers["Link"]
    assert [s["name"] for s in rest.json()["items"]] == ["web3"] and "Link" not in rest.headers
    assert one.json() == {"id": 2, "name": "db1", "address": "10.0.0.5", "environnement": "staging"}
    assert missing.status_code == 404 and missing.json()["detail"] == "Il n’y a pas de serveur n°99."
    assert guest.status_code == 403
    assert ("api:GET /serveurs/{serveur_id}", "404") in trail(app)


async def test_reads_count_against_the_rate_limit_like_messages(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=2,
                             rate_limit_burst=2, identity_cache_seconds=0)
    app = build_app(settings, engine=engine)
    await app.start()
    try:
        async with client(app) as http:
            headers = bearer(app, "console:admin1")
            answers = [await http.get(f"{BASE}/serveurs/?lang=fr", headers=headers) for _ in range(3)]
    finally:
        await app.stop()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) > 0
    assert answers[2].json()["detail"] == "Trop de requêtes : attendez avant de réessayer."
    assert ("rate_limit", "throttled") in trail(app)


async def deploy(app: App, http: object, version: str, env: str = "staging") -> int:
    answer = await http.post(f"{BASE}/deploiements/", headers=bearer(app, "console:dev1"),  # type: ignore[attr-defined]
                             json={"service": "web", "environnement": env, "version": version})
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


async def test_deployments_are_listed_filtered_paged_and_shown(app: App) -> None:
    async with client(app) as http:
        for version in ("v1", "v2", "v3"):
            await wait_job(app, await deploy(app, http, version))
        headers = bearer(app, "console:dev1")
        listed = await http.get(f"{BASE}/deploiements/?service=web&environnement=staging&limit=2", headers=headers)
        following = await http.get(listed.headers["Link"].split(">")[0][1:], headers=headers)
        none = await http.get(f"{BASE}/deploiements/?state=failed", headers=headers)
        other = await http.get(f"{BASE}/deploiements/?service=api", headers=headers)
        detail = await http.get(f"{BASE}/deploiements/2", headers=headers)
        missing = await http.get(f"{BASE}/deploiements/42", headers=headers)
    assert [(d["id"], d["version"], d["state"]) for d in listed.json()["items"]] == [
        (3, "v3", "succeeded"), (2, "v2", "succeeded")]
    assert [d["version"] for d in following.json()["items"]] == ["v1"]
    assert none.json()["items"] == [] and other.json()["items"] == []
    assert detail.json()["version"] == "v2" and detail.json()["job_url"] == f"{BASE}/jobs/2"
    assert detail.json()["environnement"] == "staging" and detail.json()["kind"] == "deploy"
    assert missing.status_code == 404


async def test_rollback_in_staging_runs_the_chat_rollback(app: App, settings: Settings) -> None:
    async with client(app) as http:
        await wait_job(app, await deploy(app, http, "v1"))
        await wait_job(app, await deploy(app, http, "v2"))
        answer = await http.post(f"{BASE}/deploiements/2/rollback", headers=bearer(app, "console:dev1"))
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"{BASE}/jobs/3"
        assert (await wait_job(app, 3)).state == "succeeded"
        listed = await http.get(f"{BASE}/deploiements/?limit=1", headers=bearer(app, "console:dev1"))
    assert listed.json()["items"][0]["kind"] == "rollback"
    assert (settings.data_dir / "deployed" / "web-staging.txt").read_text() == "v1"
    assert ("command:rollback", "ok") in trail(app)


async def test_rollback_in_production_asks_for_approval(app: App, chat: Transcript) -> None:
    async with client(app) as http:
        first = await deploy(app, http, "v1", "production")
        await http.post(f"{BASE}/approbations/{first}/votes", headers=bearer(app, "console:devops1"),
                        json={"decision": "approve"})
        job = await wait_job(app, 1)
        answer = await http.post(f"{BASE}/deploiements/{job.id}/rollback", headers=bearer(app, "console:dev1"))
        guest = await http.post(f"{BASE}/deploiements/{job.id}/rollback", headers=bearer(app, "console:nobody"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "approval"
    assert answer.headers["Location"] == f"{BASE}/approbations/2"
    assert any(p.key == "approval:2" and p.channel == "main" for p in chat.posted)
    assert guest.status_code == 403
    assert len(app.store.jobs()) == 1  # nothing ran before the approval


def _has_example(node: object, components: dict[str, object], seen: frozenset[str] = frozenset()) -> bool:
    """Whether an example is in ``node`` or any schema it refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen \
                and _has_example(components[ref.rsplit("/", 1)[1]], components, seen | {ref}):
            return True
        return "example" in node or "examples" in node or any(_has_example(v, components, seen) for v in node.values())
    if isinstance(node, list):
        return any(_has_example(v, components, seen) for v in node)
    return False


async def test_every_operation_has_a_description_and_an_example(app: App) -> None:
    async with client(app) as http:
        spec = (await http.get(f"{BASE}/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    paths = spec["paths"]
    for path in ("/serveurs/{serveur_id}", "/monitoring/", "/deploiements/{deploiement_id}/rollback", "/incidents/",
                 "/incidents/{incident_id}/rapport", "/alertes/", "/alertes/silences", "/audits/export", "/logs/"):
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("description"), (method, path)
            assert _has_example(operation, schemas), (method, path)


async def test_chat_shows_the_id_the_api_uses(app: App, chat: Transcript) -> None:
    await chat.say("admin1", "servers add web-01 10.0.0.5 staging")
    await chat.say("admin1", "servers add db-01 10.0.0.6 production")
    listing = await chat.say("admin1", "servers list")
    assert "• #2 db-01 — 10.0.0.6 (production)" in listing and "• #1 web-01" in listing
    assert "db-01 (n°2) : adresse 10.0.0.6" in await chat.say("admin1", "serveurs voir db-01")
    async with client(app) as http:
        shown = await http.get(f"{BASE}/serveurs/2", headers=bearer(app, "console:admin1"))
    assert shown.json()["name"] == "db-01"
