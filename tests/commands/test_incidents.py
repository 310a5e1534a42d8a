"""Incidents from chat: lifecycle, timeline, addressing by thread or number, stats, NIS2, report."""

from __future__ import annotations

from bot.parser import Parsed, parse
from dihya.app import App
from tests.helpers.transcript import Transcript


async def crew(app: App) -> None:
    app.store.grant_role("console:dev1", "developer")
    app.store.grant_role("console:ops1", "ops")
    app.store.grant_role("console:aud1", "auditor")


async def test_lifecycle_records_every_change_in_the_timeline(app: App, chat: Transcript) -> None:
    await crew(app)
    opened = await chat.say("dev1", "incident open sev2 checkout errors")
    assert "Incident #1" in opened and "sev2" in opened
    assert "acknowledged by console:ops1" in await chat.say("ops1", "incident ack 1")
    assert "owned by console:bob" in await chat.say("ops1", "incident assign bob 1")
    assert "Update added" in await chat.say("dev1", "incident update 1 rolled back release 42")
    assert "resolved" in await chat.say("ops1", "incident resolve 1")
    incident = app.store.incident(1)
    assert incident is not None
    assert (incident.state, incident.owner, incident.severity) == ("resolved", "console:bob", "sev2")
    assert incident.mtta_us is not None and incident.mttr_us is not None
    kinds = [e.kind for e in app.store.incident_events(1)]
    assert kinds == ["opened", "acknowledged", "assigned", "assigned", "update", "resolved"]
    assert "already resolved" in await chat.say("ops1", "incident resolve 1")


async def test_trailing_severity_and_default(app: App, chat: Transcript) -> None:
    await crew(app)
    await chat.say("dev1", "incident open database down sev1")
    await chat.say("dev1", "incident open slow pages")
    first, second = app.store.incident(1), app.store.incident(2)
    assert first is not None and (first.title, first.severity) == ("database down", "sev1")
    assert second is not None and (second.title, second.severity) == ("slow pages", "sev3")


async def test_without_a_number_the_only_open_incident_is_meant(app: App, chat: Transcript) -> None:
    await crew(app)
    await chat.say("dev1", "incident open one")
    assert "#1 acknowledged" in await chat.say("dev1", "incident ack")
    await chat.say("dev1", "incident open two")
    assert "Which incident?" in await chat.say("dev1", "incident resolve")


async def test_unknown_incident_and_refusals(app: App, chat: Transcript) -> None:
    await crew(app)
    assert "No incident #9" in await chat.say("dev1", "incident ack 9")
    assert "You are not allowed" in await chat.say("aud1", "incident open auditors cannot")
    assert "You are not allowed" in await chat.say("guest1", "incidents")


async def test_listing_and_stats(app: App, chat: Transcript) -> None:
    await crew(app)
    await chat.say("dev1", "incident open one")
    await chat.say("dev1", "incident open two")
    await chat.say("dev1", "incident resolve 1")
    listing = await chat.say("aud1", "incidents open")
    assert "#2" in listing and "#1" not in listing
    assert "Incidents (2)" in await chat.say("aud1", "incidents")
    stats = await chat.say("aud1", "incidents stats 7d")
    assert ": 2, 1 still open" in stats
    assert "MTTR" in stats


async def test_report_has_the_full_timeline_in_markdown(app: App, chat: Transcript) -> None:
    await crew(app)
    await chat.say("dev1", "incident open sev1 payments down")
    await chat.say("ops1", "incident ack 1")
    await chat.say("dev1", "incident update 1 failover to the standby database")
    await chat.say("ops1", "incident significant 1")
    await chat.say("ops1", "incident notified early-warning 1")
    await chat.say("ops1", "incident resolve 1")
    assert "attached" in await chat.say("aud1", "incident report 1")
    [upload] = chat.uploads
    assert upload.filename == "incident-1-en.md"
    report = upload.content.decode()
    assert report.startswith("# Incident #1: payments down")
    timeline = report.split("## Timeline")[1].split("\n## ")[0]
    rows = [line for line in timeline.splitlines() if line.startswith("- ")]
    assert len(rows) == 7  # opened, acknowledged, assigned, update, significant, notified, resolved
    assert "failover to the standby database" in timeline
    for section in ("## Summary", "## Impact and linked alerts", "## Jobs", "## Actions and updates",
                    "## NIS2 reporting"):
        assert section in report
    assert "Early warning (24 h): due by" in report and "met: sent at" in report
    assert "Incident notification (72 h): due by" in report and "pending: not sent yet" in report


async def test_report_is_in_the_language_of_the_phrase(app: App, chat: Transcript) -> None:
    await crew(app)
    await chat.say("dev1", "incident open web down")
    for text, locale in (("incident rapport 1", "fr"), ("حادث تقرير 1", "ar"), ("ⵜⴰⵎⵙⴰⵔⵜ ⴰⵏⵇⵇⵉⵙ 1", "tzm")):
        parsed = parse(app.bot.services.registry, text)
        assert isinstance(parsed, Parsed) and parsed.locale == locale
        await chat.say("aud1", text)
        assert chat.uploads[-1].filename == f"incident-1-{locale}.md"
