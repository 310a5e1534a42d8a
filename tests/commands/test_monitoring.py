"""status, graph and query against a real Prometheus (node-exporter scraped as web-01), and the
translated errors: unknown server, bad PromQL, unreachable Prometheus, over the time budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.i18n import Msg
from bot.parser import Parsed, parse
from dihya.app import App, build_app
from dihya.monitoring.graph import PALETTE
from dihya.settings import load_settings
from tests.helpers.transcript import Transcript
from tests.monitoring.fake_http import silent_server
from tests.monitoring.test_graph import decode, pixels_near
from tests.servers.monitoring import INSTANCE, MonitoringStack, alert_receiver, monitoring_stack, stack

__all__ = ["alert_receiver", "monitoring_stack", "stack"]  # the real stack's fixtures

GRAFANA = "https://grafana.example.org"


def monitoring_app(engine: Engine, tmp_path: Path, prometheus_url: str, **overrides: object) -> App:
    config = tmp_path / "dihya.toml"
    config.write_text('[monitoring.grafana]\n"*" = "d/node/node-exporter"\n')
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, prometheus_url=prometheus_url, grafana_url=GRAFANA,
                             config_file=config, **overrides)
    app = build_app(settings, engine=engine)
    app.store.grant_role("console:ops1", "ops")
    app.store.grant_role("console:aud1", "auditor")
    return app


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[App]:
    url = request.getfixturevalue("stack").prometheus_url if request.node.get_closest_marker("slow") \
        else "http://127.0.0.1:9"  # discard port: nothing listens
    built = monitoring_app(engine, tmp_path, url)
    await built.start()
    yield built
    await built.stop()


@pytest.mark.slow
@pytest.mark.parametrize(("phrase", "locale"), [("status", "en"), ("état", "fr"), ("حالة", "ar"), ("ⴰⴷⴷⴰⴷ", "tzm")])
async def test_status_answers_in_the_language_of_the_phrase(app: App, chat: Transcript, stack: MonitoringStack,
                                                            phrase: str, locale: str) -> None:
    text = f"{phrase} {INSTANCE}"
    parsed = parse(app.bot.services.registry, text)
    assert isinstance(parsed, Parsed) and parsed.command.name == "status" and parsed.locale == locale
    reply = await chat.say("aud1", text)
    catalogs = app.bot.services.catalogs
    lines = reply.splitlines()
    assert lines[0] == catalogs.render(Msg("Status of {server}:", {"server": INSTANCE}), locale)
    assert lines[1] == catalogs.render(Msg("• {name}: {value}", {"name": Msg("reachable"), "value": Msg("✅ up")}),
                                       locale)
    assert sum("%" in line for line in lines) == 3  # cpu, memory, disk
    assert f"{GRAFANA}/d/node/node-exporter?var-instance={INSTANCE}" in reply


@pytest.mark.slow
async def test_graph_uploads_a_png_with_a_visible_line(app: App, chat: Transcript, stack: MonitoringStack) -> None:
    await chat.say("aud1", f"graph cpu {INSTANCE} 1h")
    [upload] = chat.uploads
    assert upload.filename == f"cpu-{INSTANCE}.png"
    assert 5_000 < len(upload.content) < 500_000
    pixels = decode(upload.content)
    assert pixels.std() > 0.05
    assert pixels_near(pixels, PALETTE[0]) > 50


@pytest.mark.slow
async def test_query_table_and_prometheus_own_error(app: App, chat: Transcript, stack: MonitoringStack) -> None:
    table = await chat.say("ops1", "query up")
    assert f'instance="{INSTANCE}"' in table and "1" in table
    bad = await chat.say("ops1", "query sum(rate(up[1m])")
    assert bad.startswith("Prometheus rejected the query:")
    assert "parse error" in bad
    assert "You are not allowed" in await chat.say("aud1", "query up")


@pytest.mark.slow
async def test_unknown_server(app: App, chat: Transcript, stack: MonitoringStack) -> None:
    assert "no target with the instance label nosuch-01" in await chat.say("aud1", "status nosuch-01")


async def test_unreachable_prometheus_is_a_reply_not_a_traceback(app: App, chat: Transcript) -> None:
    assert "Prometheus cannot be reached" in await chat.say("aud1", f"status {INSTANCE}")
    assert "Prometheus cannot be reached" in await chat.say("aud1", f"graph memory {INSTANCE}")
    assert chat.uploads == []


async def test_query_over_its_time_budget(engine: Engine, tmp_path: Path) -> None:
    with silent_server() as url:
        built = monitoring_app(engine, tmp_path, url, prometheus_timeout_seconds=0.3)
        await built.start()
        try:
            reply = await Transcript(built).say("ops1", "query up")
        finally:
            await built.stop()
    assert "time budget of 0.3 s" in reply


async def test_without_prometheus_status_says_how_to_configure_it(engine: Engine, tmp_path: Path) -> None:
    built = build_app(load_settings(data_dir=tmp_path, rate_limit_per_minute=0), engine=engine)
    await built.start()
    try:
        reply = await Transcript(built).say("admin1", f"status {INSTANCE}")
    finally:
        await built.stop()
    assert "DIHYA_PROMETHEUS_URL" in reply
