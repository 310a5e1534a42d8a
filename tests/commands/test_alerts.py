"""alerts, silence commands and the 👀 🔕 🚨 reactions on an alert message (RBAC-checked, audited).

The real 🔕 against Alertmanager is in tests/alerts/test_e2e.py; here Alertmanager is either absent
or a small in-memory stand-in for the ``Silences`` port (no mocks: it keeps silences like the real one).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.alerting import AlertGroupRecord
from bot.monitoring import SilenceView
from dihya.app import App
from dihya.monitoring.alertmanager import AlertmanagerUnavailable
from tests.helpers.alerts import alert, alert_app, deliver, payload
from tests.helpers.transcript import Transcript


class MemorySilences:
    def __init__(self) -> None:
        self.created: list[SilenceView] = []

    def silence(self, matchers: str, seconds: int, created_by: str, comment: str) -> str:
        view = SilenceView(str(uuid.uuid4()), matchers, seconds * 1_000_000, created_by, comment)
        self.created.append(view)
        return view.id

    def active(self) -> list[SilenceView]:
        return list(self.created)

    def expire(self, silence_id: str) -> None:
        self.created = [s for s in self.created if s.id != silence_id]


@pytest.fixture
async def app(engine: Engine, tmp_path: Path) -> AsyncIterator[App]:
    built = alert_app(engine, tmp_path, alerts_channel="console:main")  # where the transcript reacts
    for key, role in (("console:dev1", "developer"), ("console:ops1", "ops"), ("console:aud1", "auditor")):
        built.store.grant_role(key, role)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture
def silences(app: App) -> MemorySilences:
    fake = MemorySilences()
    app.bot.services = dataclasses.replace(app.bot.services, silences=fake)
    return fake


async def firing(app: App, chat: Transcript) -> str:
    await deliver(app, payload("g1", [alert("f1")]))
    return chat.posted[-1].id


async def test_alerts_lists_what_fires(app: App, chat: Transcript) -> None:
    assert "No alerts are firing" in await chat.say("aud1", "alerts")
    await firing(app, chat)
    listing = await chat.say("aud1", "alerts")
    assert "Firing alerts (1)" in listing and "instance=web-01" in listing


async def test_eyes_acknowledges_and_records_who(app: App, chat: Transcript) -> None:
    target = await firing(app, chat)
    answer = await chat.react("ops1", "👀", target)
    assert "console:ops1 acknowledged" in answer
    assert "Acknowledged by console:ops1" in chat.by_id(target).current
    group = app.store.alert_group(1)
    assert group is not None and group.acked_by == "console:ops1"
    assert "Already acknowledged" in await chat.react("admin1", "👀", target)


async def test_developer_is_refused_silence_with_a_reason(app: App, chat: Transcript,
                                                          silences: MemorySilences) -> None:
    target = await firing(app, chat)
    answer = await chat.react("dev1", "🔕", target)
    assert "not allowed" in answer and "alerts.manage" in answer and "developer" in answer
    assert silences.created == []
    audit = [r.draft for r in app.store.audit_records() if r.draft.action == "reaction:alert"]
    assert [a.outcome for a in audit] == ["denied"]


async def test_ops_silence_reaction_creates_a_silence_for_the_group(app: App, chat: Transcript,
                                                                    silences: MemorySilences) -> None:
    target = await firing(app, chat)
    answer = await chat.react("ops1", "🔕", target)
    [made] = silences.created
    assert made.id in answer
    assert made.created_by == "console:ops1"
    assert made.matchers == 'alertname="InstanceDown",instance="web-01"'
    assert made.ends_us == 3600 * 1_000_000
    assert made.id in chat.by_id(target).current
    audit = [r.draft for r in app.store.audit_records() if r.draft.action == "reaction:alert"]
    assert [(a.outcome, a.details.get("silence")) for a in audit] == [("ok", made.id)]


async def test_siren_opens_one_incident_linked_to_the_alert(app: App, chat: Transcript) -> None:
    target = await firing(app, chat)
    answer = await chat.react("dev1", "🚨", target)
    assert "Incident #1 opened by console:dev1" in answer
    assert chat.posted[-1].thread == target
    assert "Incident #1" in chat.by_id(target).current
    assert "already open" in await chat.react("ops1", "🚨", target)
    assert [e.kind for e in app.store.incident_events(1)] == ["opened", "alert"]
    assert "not allowed" in await chat.react("aud1", "🚨", target)


async def test_other_emoji_and_removals_are_ignored(app: App, chat: Transcript) -> None:
    target = await firing(app, chat)
    assert await chat.react("ops1", "🎉", target) == ""
    assert await chat.react("ops1", "👀", target, added=False) == ""


async def test_silence_commands(app: App, chat: Transcript, silences: MemorySilences) -> None:
    created = await chat.say("ops1", "silence alertname=InstanceDown,instance=web-01 for 2h planned work")
    [made] = silences.created
    assert made.id in created and made.comment == "planned work" and made.ends_us == 7200 * 1_000_000
    assert made.id in await chat.say("aud1", "silences")
    assert "expired" in await chat.say("ops1", f"unsilence {made.id}")
    assert silences.created == []
    assert "You are not allowed" in await chat.say("dev1", "silence alertname=X for 1h")
    assert "not a valid duration" in await chat.say("ops1", "silence alertname=X for soon")


async def test_without_alertmanager_silencing_says_so(app: App, chat: Transcript) -> None:
    assert "Alertmanager is not configured" in await chat.say("ops1", "silence alertname=X for 1h")
    target = await firing(app, chat)
    assert "Alertmanager is not configured" in await chat.react("ops1", "🔕", target)


# --- reactions on a storm summary --------------------------------------------------------------


async def storm(app: App, chat: Transcript) -> tuple[str, list[int]]:
    """Enough groups in one channel to start a storm: the summary's message id and its groups."""
    for n in range(app.settings.alert_storm_threshold + 4):
        await deliver(app, payload(f"g{n}", [alert(f"f{n}", instance=f"web-{n:02d}")]))
    summary = next(p for p in chat.posted if p.key and p.key.startswith("alert-storm:"))
    assert summary.key is not None
    groups = [g.id for g in app.store.storm_groups(int(summary.key.removeprefix("alert-storm:")))]
    assert len(groups) >= 3
    assert "React 👀 to acknowledge every group here" in summary.current
    return summary.id, groups


def group(app: App, group_id: int) -> AlertGroupRecord:
    found = app.store.alert_group(group_id)
    assert found is not None
    return found


def storm_audit(app: App) -> list[tuple[str, object]]:
    rows = [r.draft for r in app.store.audit_records() if r.draft.action == "reaction:alert-storm"]
    return [(r.outcome, r.details.get("groups", r.details.get("silences"))) for r in rows]


async def test_eyes_on_a_storm_acknowledges_every_group_in_it(app: App, chat: Transcript) -> None:
    target, groups = await storm(app, chat)
    answer = await chat.react("ops1", "👀", target)
    assert f"console:ops1 acknowledged {len(groups)} alert groups of this storm" in answer
    assert all(group(app, g).acked_by == "console:ops1" for g in groups)
    assert "already acknowledged" in await chat.react("admin1", "👀", target)
    assert storm_audit(app) == [("ok", groups), ("duplicate", None)]


async def test_silence_on_a_storm_silences_each_firing_group_once(app: App, chat: Transcript,
                                                                   silences: MemorySilences) -> None:
    target, groups = await storm(app, chat)
    assert "not allowed" in await chat.react("dev1", "🔕", target)
    assert silences.created == []
    answer = await chat.react("ops1", "🔕", target)
    assert f"silenced {len(groups)} alert groups of this storm for 1 h" in answer
    made = {s.matchers for s in silences.created}
    expected = {f'alertname="InstanceDown",instance="{group(app, g).group_labels["instance"]}"' for g in groups}
    assert made == expected and len(silences.created) == len(groups)
    assert "already silenced" in await chat.react("admin1", "🔕", target)
    assert len(silences.created) == len(groups)
    outcomes = storm_audit(app)
    assert [o for o, _ in outcomes] == ["denied", "ok", "duplicate"]
    assert outcomes[1][1] == {str(g): group(app, g).silence_id for g in groups}


class FailingAfter(MemorySilences):
    """Alertmanager that goes away after ``ok`` silences."""

    def __init__(self, ok: int) -> None:
        super().__init__()
        self.ok = ok

    def silence(self, matchers: str, seconds: int, created_by: str, comment: str) -> str:
        if len(self.created) >= self.ok:
            raise AlertmanagerUnavailable
        return super().silence(matchers, seconds, created_by, comment)


async def test_a_silence_cut_short_says_what_was_done_and_a_retry_finishes_it(app: App, chat: Transcript) -> None:
    flaky = FailingAfter(2)
    app.bot.services = dataclasses.replace(app.bot.services, silences=flaky)
    target, groups = await storm(app, chat)
    answer = await chat.react("ops1", "🔕", target)
    assert "silenced 2 alert groups" in answer and "cannot be reached" in answer
    flaky.ok = len(groups)
    answer = await chat.react("ops1", "🔕", target)
    assert f"silenced {len(groups) - 2} alert groups" in answer
    assert len(flaky.created) == len(groups)
    assert [o for o, _ in storm_audit(app)] == ["partial", "ok"]


async def test_siren_on_a_storm_points_to_the_incident_command(app: App, chat: Transcript) -> None:
    target, _ = await storm(app, chat)
    assert "incident open" in await chat.react("ops1", "🚨", target)
    assert app.store.incident_events(1) == []
