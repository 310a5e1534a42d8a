"""``bot.incidents``: MTTA/MTTR, NIS2 deadlines, and an incident's lifecycle run through the core."""

from __future__ import annotations

import pytest

from bot.alerting import AlertGroupRecord
from bot.events import Place
from bot.incidents import (
    EARLY_WARNING_US,
    HOUR_US,
    NOTIFICATION_US,
    IncidentEvent,
    IncidentRecord,
    duration_text,
    incident_for_alert,
    nis2_deadlines,
    stats,
)
from bot.memory import MemoryStore
from tests.bot.core_chat import CoreChat

T0 = 1_800_000_000_000_000


def incident(state: str = "open", acked: int | None = None, resolved: int | None = None) -> IncidentRecord:
    return IncidentRecord(1, "db down", "sev1", state, "console:a", None, Place("console", "main"), "en", True, T0,
                          None if acked is None else T0 + acked, None if resolved is None else T0 + resolved)


def test_mean_times_count_only_incidents_that_got_there() -> None:
    found = stats([incident("resolved", 60_000_000, 600_000_000), incident("acknowledged", 120_000_000),
                   incident()])
    assert (found.count, found.still_open, found.mtta_us, found.mttr_us) == (3, 2, 90_000_000, 600_000_000)
    empty = stats([])
    assert (empty.count, empty.mtta_us, empty.mttr_us) == (0, None, None)
    assert incident().key == "incident:1" and incident().is_open and not incident("resolved").is_open


def test_nis2_deadlines_are_24_and_72_hours_and_the_first_send_counts() -> None:
    events = [IncidentEvent(T0 + 2 * HOUR_US, "a", "notified", ref="early_warning"),  # the timeline's order
              IncidentEvent(T0 + 30 * HOUR_US, "a", "notified", ref="early_warning"),
              IncidentEvent(T0, "a", "update", ref="notification")]
    early, full = nis2_deadlines(incident(), events)
    assert (early.due_us, early.sent_us, early.met()) == (T0 + EARLY_WARNING_US, T0 + 2 * HOUR_US, True)
    assert (full.due_us, full.sent_us, full.met()) == (T0 + NOTIFICATION_US, None, False)
    assert not full.overdue(T0 + NOTIFICATION_US) and full.overdue(T0 + NOTIFICATION_US + 1)
    assert not early.overdue(T0 + NOTIFICATION_US)


def test_durations_read_at_the_right_scale() -> None:
    assert [duration_text(s * 1_000_000) for s in (0, 250, 3 * 3600 + 300, 3 * 86400 + 4 * 3600)] == \
        ["0m 00s", "4m 10s", "3h 05m", "3d 4h"]
    assert duration_text(None) == "-" and duration_text(-5) == "0m 00s"


def test_an_incident_lives_in_its_thread_from_open_to_resolved() -> None:
    chat = CoreChat()
    chat.store.grant_role("console:dev1", "developer")
    opened = chat.say("dev1", "incident open sev2 checkout errors")
    assert "Incident #1 opened: checkout errors (sev2)" in opened.text
    thread = opened.actions[0].thread
    chat.clock.advance(120)
    assert "acknowledged by console:dev1 after 2m 00s" in chat.say("dev1", "incident ack", thread=thread).text
    assert "nothing to acknowledge" in chat.say("dev1", "incident ack", thread=thread).text
    chat.say("dev1", "incident update rolled back", thread=thread)
    chat.clock.advance(480)
    assert "MTTA 2m 00s, MTTR 10m 00s" in chat.say("dev1", "incident resolve 1").text
    assert "already resolved" in chat.say("dev1", "incident resolve 1").text
    record = chat.store.incident(1)
    assert record is not None and record.owner == "console:dev1" and record.state == "resolved"
    kinds = [e.kind for e in chat.store.incident_events(1)]
    assert kinds == ["opened", "acknowledged", "assigned", "update", "resolved"]
    assert "1, 0 still open" in chat.say("dev1", "incidents stats").text


def test_without_a_number_or_a_thread_the_only_open_incident_is_meant() -> None:
    chat = CoreChat()
    chat.say("admin1", "incident open one")
    assert "incident #1" in chat.say("admin1", "incident update progress").text
    chat.say("admin1", "incident open two")
    assert "Which incident?" in chat.say("admin1", "incident update progress").text


@pytest.mark.parametrize(("label", "severity"), [("critical", "sev1"), ("page", "sev1"), ("high", "sev2"),
                                                 ("error", "sev2"), ("warning", "sev3"), ("info", "sev4"),
                                                 ("", "sev3"), ("odd", "sev3")])
def test_an_incident_from_an_alert_takes_its_severity_and_summary(label: str, severity: str) -> None:
    store = MemoryStore()
    labels = {"alertname": "DiskFull", "severity": label} if label else {"alertname": "DiskFull"}
    group = AlertGroupRecord(7, "{}:{alertname=DiskFull}", "console:ops", "firing", {"alertname": "DiskFull"},
                             labels, {"summary": "x" * 400}, "", T0)
    found = incident_for_alert(store, group, "dihya", Place("console", "ops", "m1"), "fr", T0)
    assert (found.severity, found.title, found.opened_by, found.locale) == (severity, "x" * 300, "dihya", "fr")
    assert store.incident(found.id) == found and found.created_us == T0
    assert [(e.kind, e.ref) for e in store.incident_events(found.id)] == [("opened", severity), ("alert", "7")]
    unnamed = AlertGroupRecord(8, "k", "console:ops", "firing", {"alertname": "DiskFull"}, labels, {}, "", T0)
    assert incident_for_alert(store, unnamed, "dihya", Place("console", "ops"), "en", T0).title == "DiskFull"
