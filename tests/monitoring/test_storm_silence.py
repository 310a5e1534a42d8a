"""🔕 on a storm summary against the real Alertmanager: one active silence per firing group."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from dihya.app import App
from dihya.monitoring.port import AlertmanagerPort
from tests.helpers.alerts import alert, alert_app, deliver, payload
from tests.helpers.transcript import Transcript
from tests.servers.monitoring import MonitoringStack


@pytest.fixture
async def app(engine: Engine, tmp_path: Path, stack: MonitoringStack) -> AsyncIterator[App]:
    built = alert_app(engine, tmp_path, alerts_channel="console:main")
    built.store.grant_role("console:ops1", "ops")
    built.bot.services = dataclasses.replace(built.bot.services,
                                             silences=AlertmanagerPort(stack.alertmanager_url, 5))
    await built.start()
    yield built
    await built.stop()


async def test_silencing_a_storm_creates_a_real_silence_for_each_group(app: App, stack: MonitoringStack) -> None:
    chat = Transcript(app)
    who = f"console:ops1-{id(app):x}"  # tells this test's silences from other tests' in the shared stack
    app.store.grant_role(who, "ops")
    instances = [f"storm-{id(app):x}-{n:02d}" for n in range(app.settings.alert_storm_threshold + 3)]
    for n, instance in enumerate(instances):
        await deliver(app, payload(f"storm-{n}", [alert(f"fs{n}", instance=instance)]))
    summary = next(p for p in chat.posted if p.key and p.key.startswith("alert-storm:"))
    assert summary.key is not None
    groups = app.store.storm_groups(int(summary.key.removeprefix("alert-storm:")))

    answer = await chat.react(who.removeprefix("console:"), "🔕", summary.id)

    listed = httpx.get(f"{stack.alertmanager_url}/api/v2/silences", timeout=5).json()
    mine = [s for s in listed if s["createdBy"] == who and s["status"]["state"] == "active"]
    try:
        assert f"silenced {len(groups)} alert groups" in answer
        assert sorted({m["name"]: m["value"] for m in s["matchers"]}["instance"] for s in mine) == \
            sorted(g.group_labels["instance"] for g in groups)
        stored = {g.silence_id for g in app.store.storm_groups(groups[0].storm_id or 0)}
        assert stored == {s["id"] for s in mine}
    finally:
        for silence in mine:
            httpx.delete(f"{stack.alertmanager_url}/api/v2/silence/{silence['id']}", timeout=5)
