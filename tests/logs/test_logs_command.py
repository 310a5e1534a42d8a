"""``logs SERVICE in ENV …`` end to end: catalog → source → bounds → redaction → inline or file,
permission ``read.logs``, the query audited and never the lines."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.fakes.docker_logs import Entry, FakeDockerWithLogs
from tests.fakes.kube_logs import FakeKubernetesWithLogs
from tests.helpers.transcript import Transcript

SECRET = "hunter2-very-secret-value"


@pytest.fixture
def docker_engine() -> Iterator[FakeDockerWithLogs]:
    fake = FakeDockerWithLogs()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def kube() -> Iterator[FakeKubernetesWithLogs]:
    fake = FakeKubernetesWithLogs()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path: Path, docker_engine: FakeDockerWithLogs, kube: FakeKubernetesWithLogs) -> Settings:
    config = tmp_path / "dihya.toml"
    config.write_text("""
[services.web.staging]
runner = "ansible"
playbook = "deploy_web.yml"
log_file = "web.log"

[services.shop.production]
runner = "docker"
container = "shop"
image = "registry.example.org/shop"

[services.api.production]
runner = "kubernetes"
namespace = "prod"
deployment = "api"
container = "api"
image = "registry.example.org/api"

[services.db.staging]
runner = "ansible"
playbook = "deploy_web.yml"
log_unit = "postgresql.service"
""")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, config_file=config, docker_url=docker_engine.url,
                         kubernetes_api_url=kube.url)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    built.redactor.add(SECRET)  # as a stored secret teaches it
    await built.start()
    yield built
    await built.stop()


def stamp(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_log(settings: Settings, lines: list[str]) -> None:
    (settings.data_dir / "web.log").write_text("".join(f"{line}\n" for line in lines))


async def test_short_logs_come_inline_redacted(app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    write_log(settings, [f"{stamp(3)} started", f"{stamp(2)} db password={SECRET} ok", f"{stamp(1)} GET / 200"])
    reply = await chat.say("dev1", "logs web in staging")
    assert "3 log lines from file web.log" in reply and "GET / 200" in reply and "```" in reply
    assert SECRET not in reply and "[REDACTED]" in reply
    assert not chat.uploads


async def test_long_logs_come_as_a_file(app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    write_log(settings, [f"{stamp(1)} request {n} token={SECRET}" for n in range(300)])
    reply = await chat.say("dev1", "logs web in staging lines 100")
    assert "100 log lines" in reply
    [upload] = chat.uploads
    body = upload.content.decode()
    assert upload.filename == "logs-web-staging.txt" and body.count("\n") == 100 and "request 299" in body
    assert SECRET not in body


async def test_grep_plain_and_regex(app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    write_log(settings, [f"{stamp(1)} GET /a 200", f"{stamp(1)} GET /b 500", f"{stamp(1)} disk ERROR"])
    assert "1 log lines" in (reply := await chat.say("dev1", "logs web in staging grep error")) and "disk" in reply
    reply = await chat.say("dev1", "logs web in staging grep /GET /[ab] 5\\d\\d/")
    assert "1 log lines" in reply and "/b 500" in reply and "/a 200" not in reply


async def test_a_pathological_pattern_on_a_long_line_returns_within_a_second(
        app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    write_log(settings, ["a" * 100_000 + "b" for _ in range(20)])
    started = time.monotonic()
    reply = await chat.say("dev1", "logs web in staging grep /(a+)+$/")
    assert time.monotonic() - started < 1.0
    assert "No log lines" in reply


async def test_a_search_cannot_probe_a_redacted_secret(app: App, chat: Transcript, settings: Settings) -> None:
    app.store.grant_role("console:dev1", "developer")
    write_log(settings, [f"{stamp(1)} key is {SECRET}"])
    assert "No log lines" in await chat.say("dev1", "logs web in staging grep hunter2")


@pytest.mark.parametrize("ask", ["logs web in staging since 3650d", "logs web in staging since 10y",
                                 "logs web in staging lines 1000000"])
async def test_unbounded_queries_are_refused(app: App, chat: Transcript, ask: str) -> None:
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", ask)
    assert "is not a valid" in reply


async def test_docker_service_logs(app: App, chat: Transcript, docker_engine: FakeDockerWithLogs) -> None:
    now = datetime.now(UTC)
    docker_engine.add_logged_container("shop", [Entry(now - timedelta(hours=2), "too old"),
                                                Entry(now - timedelta(minutes=3), "shop ready")])
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", "logs shop in production")
    assert "docker container shop" in reply and "shop ready" in reply and "too old" not in reply


async def test_kubernetes_service_logs_name_each_pod(app: App, chat: Transcript, kube: FakeKubernetesWithLogs) -> None:
    now = datetime.now(UTC)
    kube.add_deployment("prod", "api", "api", "registry.example.org/api:1")
    kube.add_pod("prod", "api-1", {"app": "api"}, {"api": [(now - timedelta(minutes=2), "one")]})
    kube.add_pod("prod", "api-2", {"app": "api"}, {"api": [(now - timedelta(minutes=1), "two")]})
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", "journaux api en prod depuis 30m")
    assert "[api-1] one" in reply and "[api-2] two" in reply


async def test_journald_service_without_a_journal_answers_cleanly(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    reply = await chat.say("dev1", "logs db in staging")
    assert "journald" in reply


async def test_permission_and_audit_keep_the_query_not_the_lines(app: App, chat: Transcript,
                                                                settings: Settings) -> None:
    app.store.grant_role("console:aud1", "auditor")
    app.store.grant_role("console:dev1", "developer")
    write_log(settings, [f"{stamp(1)} customer alice@example.org logged in"])
    assert "not allowed" in await chat.say("aud1", "logs web in staging")
    assert "alice" in await chat.say("dev1", "logs web in staging grep logged")
    app.bot.flush_audit()
    rows = [r for r in app.store.audit_records() if r.draft.action == "command:logs"]
    assert [r.draft.outcome for r in rows] == ["denied", "ok"]
    recorded = json.dumps([r.draft.details for r in rows], default=str)
    assert "logged" in recorded  # the query
    assert "alice" not in recorded  # never the content


async def test_unknown_service_is_refused_at_once(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:dev1", "developer")
    assert "Unknown service" in await chat.say("dev1", "logs ghost in staging")
