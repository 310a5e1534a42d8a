"""``GET /api/it_devops/monitoring/?serveur_id=1`` as published: what ``status web-01`` answers in chat,
from a real Prometheus scraping node-exporter as web-01 (tests/servers/monitoring.py)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.ports import Server
from dihya.app import App
from tests.api.helpers import BASE, bearer, client
from tests.commands.test_monitoring import GRAFANA, monitoring_app
from tests.servers.monitoring import INSTANCE, MonitoringStack, alert_receiver, monitoring_stack, stack

__all__ = ["alert_receiver", "monitoring_stack", "stack"]  # the real stack's fixtures


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[App]:
    url = request.getfixturevalue("stack").prometheus_url if request.node.get_closest_marker("slow") \
        else "http://127.0.0.1:9"  # discard port: nothing listens
    built = monitoring_app(engine, tmp_path, url)
    built.store.add_server(Server(INSTANCE, "127.0.0.1", "production"))
    await built.start()
    yield built
    await built.stop()


@pytest.mark.slow
async def test_the_published_monitoring_request_answers_the_status_of_server_1(app: App,
                                                                               stack: MonitoringStack) -> None:
    async with client(app) as http:
        answer = await http.get(f"{BASE}/monitoring/?serveur_id=1&lang=fr", headers=bearer(app, "console:aud1"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["serveur"]["name"] == INSTANCE and body["serveur"]["id"] == 1
    assert body["mesures"]["up"] == 1.0
    assert set(body["mesures"]) == {"up", "cpu", "memory", "disk", "load"}
    assert body["tableau_de_bord"] == f"{GRAFANA}/d/node/node-exporter?var-instance={INSTANCE}"
    assert body["message"].startswith(f"État de {INSTANCE}")
    app.bot.flush_audit()
    rows = [(r.draft.action, r.draft.outcome, r.draft.target) for r in app.store.audit_records()]
    assert ("command:status", "ok", INSTANCE) in rows


async def test_unknown_ids_guests_and_a_prometheus_down_are_problems(app: App) -> None:
    async with client(app) as http:
        missing = await http.get(f"{BASE}/monitoring/?serveur_id=7", headers=bearer(app, "console:aud1"))
        guest = await http.get(f"{BASE}/monitoring/?serveur_id=1", headers=bearer(app, "console:nobody"))
        down = await http.get(f"{BASE}/monitoring/?serveur_id=1", headers=bearer(app, "console:aud1"))
        bad = await http.get(f"{BASE}/monitoring/?serveur_id=zero", headers=bearer(app, "console:aud1"))
    assert missing.status_code == 404
    assert guest.status_code == 403
    assert down.status_code == 422 and down.headers["content-type"] == "application/problem+json"
    assert "Prometheus" in down.json()["detail"]
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.serveur_id"
