"""Issue 14 over HTTP: ``GET /api/it_devops/logs/`` runs the chat ``logs`` command — catalog → source →
bounds → redaction; permission ``read.logs``; the audit row keeps the query, never the lines."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings
from tests.api.helpers import BASE, bearer, client
from tests.fakes.docker_logs import Entry, FakeDockerWithLogs
from tests.helpers.apps import running
from tests.logs.test_logs_command import SECRET, docker_engine, kube, settings, stamp, write_log

__all__ = ["docker_engine", "kube", "settings"]  # the logs command tests' fixtures


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    built.redactor.add(SECRET)  # as a stored secret teaches it
    async with running(built, {"console:dev1": "developer", "console:aud1": "auditor"}):
        yield built


async def test_file_logs_are_bounded_redacted_and_the_query_alone_is_audited(app: App, settings: Settings) -> None:
    write_log(settings, [f"{stamp(3)} started", f"{stamp(2)} db password={SECRET} ok",
                         f"{stamp(1)} customer alice@example.org GET / 200"])
    async with client(app) as http:
        answer = await http.get(f"{BASE}/logs/?service=web&environnement=staging&since=1h&lines=2",
                                headers=bearer(app, "console:dev1"))
        denied = await http.get(f"{BASE}/logs/?service=web&environnement=staging", headers=bearer(app, "console:aud1"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["source"] == "file web.log" and len(body["lignes"]) == 2
    assert "GET / 200" in body["lignes"][-1]
    assert SECRET not in answer.text and "[REDACTED]" in body["lignes"][0]
    assert body["message"].startswith("2 log lines from file web.log")
    assert denied.status_code == 403
    app.bot.flush_audit()
    rows = [r for r in app.store.audit_records() if r.draft.action == "command:logs"]
    assert [r.draft.outcome for r in rows] == ["ok", "denied"]
    recorded = json.dumps([r.draft.details for r in rows], default=str)
    assert "staging" in recorded and "alice" not in recorded and "GET / 200" not in recorded


async def test_grep_with_a_pathological_pattern_returns_within_a_second(app: App, settings: Settings) -> None:
    write_log(settings, ["a" * 100_000 + "b" for _ in range(20)])
    headers = bearer(app, "console:dev1")
    async with client(app) as http:
        started = time.monotonic()
        answer = await http.get(f"{BASE}/logs/", params={"service": "web", "environnement": "staging",
                                                         "grep": "/(a+)+$/"}, headers=headers)
    assert time.monotonic() - started < 1.0  # issue 14's bound, for the search alone (not issuing the token)
    assert answer.status_code == 200 and answer.json()["lignes"] == []


async def test_docker_logs_and_refused_queries(app: App, docker_engine: FakeDockerWithLogs) -> None:
    now = datetime.now(UTC)
    docker_engine.add_logged_container("shop", [Entry(now - timedelta(hours=2), "too old"),
                                                Entry(now - timedelta(minutes=3), "shop ready")])
    async with client(app) as http:
        headers = bearer(app, "console:dev1")
        shop = await http.get(f"{BASE}/logs/?service=shop&environnement=production", headers=headers)
        decade = await http.get(f"{BASE}/logs/?service=shop&environnement=production&since=3650d&lang=fr",
                                headers=headers)
        huge = await http.get(f"{BASE}/logs/?service=shop&environnement=production&lines=1000000", headers=headers)
        ghost = await http.get(f"{BASE}/logs/?service=ghost&environnement=staging", headers=headers)
    assert shop.json()["source"] == "docker container shop"
    assert [line.endswith("shop ready") for line in shop.json()["lignes"]] == [True]
    assert decade.status_code == 422 and decade.headers["Content-Language"] == "fr"
    assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "query.lines"
    assert ghost.status_code == 422 and "ghost" in ghost.json()["detail"]
