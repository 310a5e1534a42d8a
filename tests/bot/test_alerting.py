"""``bot.alerting``: routing, the group and storm messages, and what 👀 🚨 🔕 on them do in the core."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.alerting import (
    AlertDelivery,
    AlertGroupRecord,
    AlertPolicy,
    AlertRecord,
    AlertView,
    Route,
    StormSummary,
    alert_list_line,
    group_lines,
    matcher_text,
    route_for,
    storm_lines,
)
from bot.i18n import Msg
from tests.bot.core_chat import CATALOGS, CoreChat

NOW = 1_800_000_000_000_000


def view(fp: str, status: str = "firing", **labels: str) -> AlertView:
    return AlertView(fp, status, {"alertname": "InstanceDown", "instance": "web-01", **labels},
                     {"summary": f"{fp} is down"}, NOW, None)


def group(**overrides: object) -> AlertGroupRecord:
    base = AlertGroupRecord(
        id=3, group_key="{}:{alertname=\"InstanceDown\"}", channel="console:alerts", status="firing",
        group_labels={"alertname": "InstanceDown"}, common_labels={"severity": "critical", "alertname": "X"},
        common_annotations={"summary": "web is down", "runbook_url": "https://rb"}, external_url="http://am",
        created_us=NOW)
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def render(lines: tuple[Msg, ...]) -> str:
    return CATALOGS.render_all(lines, "en")


# -- routing ----------------------------------------------------------------------------------------
def test_the_first_matching_route_wins_and_regexes_match_whole_values() -> None:
    routes = (Route("console:db", regex={"instance": re.compile("db-.*")}, locale="fr"),
              Route("console:oncall", equal={"severity": "critical"}),
              Route("console:any"))
    assert route_for(routes, {"instance": "db-01", "severity": "critical"}) is routes[0]
    assert route_for(routes, {"instance": "xdb-01", "severity": "critical"}) is routes[1]
    assert route_for(routes, {}) is routes[2]
    assert route_for(routes[:2], {"severity": "warning"}) is None


def test_unrouted_alerts_go_to_the_default_channel_in_the_default_language() -> None:
    policy = AlertPolicy(routes=(Route("console:db", equal={"team": "db"}, locale="fr"),
                                 Route("console:web", equal={"team": "web"})),
                         default_channel="console:alerts", locale="ar")
    assert policy.destination({"team": "db"}) == ("console:db", "fr")
    assert policy.destination({"team": "web"}) == ("console:web", "ar")
    assert policy.destination({}) == ("console:alerts", "ar")
    assert AlertPolicy().destination({}) == (None, "en")


def test_a_channel_storms_past_the_threshold_within_the_window() -> None:
    policy = AlertPolicy(storm_threshold=5, storm_window_s=60)
    assert policy.window_start_us(NOW) == NOW - 60_000_000
    assert not policy.storming(5) and policy.storming(6)
    assert AlertPolicy(storm_threshold=0).storming(1) and not AlertPolicy(storm_threshold=0).storming(0)


def test_only_a_new_firing_group_of_a_listed_severity_opens_an_incident_by_itself() -> None:
    policy = AlertPolicy(auto_incident=frozenset({"critical", "page"}))
    assert policy.opens_incident(group(), True, "firing")
    assert policy.opens_incident(group(common_labels={"severity": "page"}), True, "firing")
    assert not policy.opens_incident(group(), False, "firing")  # an update of a group already shown
    assert not policy.opens_incident(group(), True, "resolved")
    assert not policy.opens_incident(group(common_labels={"severity": "warning"}), True, "firing")
    assert not policy.opens_incident(group(common_labels={}), True, "firing")
    assert not AlertPolicy().opens_incident(group(), True, "firing")


def test_matchers_are_quoted_as_alertmanager_reads_them() -> None:
    assert matcher_text({"b": 'say "hi"', "a": "x"}) == 'a="x",b="say \\"hi\\""'


def test_a_delivery_digest_changes_with_the_state_not_with_the_order() -> None:
    a = AlertDelivery("k", "firing", {}, {}, {}, "", (view("1"), view("2")))
    b = AlertDelivery("k", "firing", {"x": "y"}, {}, {}, "u", (view("2"), view("1")))
    assert a.digest == b.digest and a.group_hash == b.group_hash
    assert a.digest != AlertDelivery("k", "firing", {}, {}, {}, "", (view("1"), view("2", "resolved"))).digest


def test_a_group_record_names_itself_and_its_message() -> None:
    g = group()
    assert (g.key, g.message_key, g.severity, g.name) == ("alert:3", "alert:3", "critical", "InstanceDown")
    assert group(storm_id=2).message_key == "alert-storm:2"
    assert group(group_labels={}).name == "X" and group(group_labels={}).matchers == g.common_labels


# -- messages ---------------------------------------------------------------------------------------
def test_a_firing_group_message_lists_its_alerts_and_the_reactions() -> None:
    text = render(group_lines(group(), [view("a"), view("b", "resolved")]))
    assert text.startswith("🔥 FIRING [critical] InstanceDown")
    assert "Summary: web is down" in text and "Runbook: https://rb" in text
    assert "1 firing, 1 resolved" in text and "a is down" in text and "React 👀" in text


def test_a_resolved_group_with_many_alerts_counts_the_rest_and_shows_its_state() -> None:
    alerts = [view(str(i), "resolved") for i in range(13)]
    text = render(group_lines(group(acked_by="console:ann", silence_id="s-1", incident_id=4), alerts))
    assert text.startswith("✅ RESOLVED") and "… and 3 more" in text and "React" not in text
    assert "Acknowledged by console:ann" in text and "silence s-1" in text and "Incident #4" in text


def test_a_storm_summary_counts_and_names_the_most_frequent() -> None:
    summary = StormSummary(1, "console:alerts", NOW, 12, 30, 2, (("InstanceDown", 20), ("DiskFull", 10)))
    text = render(storm_lines(summary))
    assert "12 alert groups" in text and "30 firing, 2 resolved" in text and "InstanceDown ×20" in text


def test_an_alert_list_line_is_one_plain_row() -> None:
    line = alert_list_line(AlertRecord(3, "console:alerts", view("a", severity="page")))
    assert line.startswith("#3 InstanceDown [page]") and "a is down" in line and "console:alerts" in line


# -- reactions on an alert message, through the dispatcher ----------------------------------------
@pytest.fixture
def chat() -> CoreChat:
    chat = CoreChat()
    chat.store.grant_role("console:ops1", "ops")
    chat.store.grant_role("console:dev1", "developer")
    delivery = AlertDelivery("g", "firing", {"alertname": "InstanceDown"}, {"severity": "critical"},
                             {"summary": "web is down"}, "http://am", (view("a"),))
    saved = chat.store.save_alert_group(delivery, "console:main", NOW)
    assert saved is not None
    chat.store.remember_message(saved[0].key, "main", "alert-msg")
    return chat


def test_eyes_acknowledge_once_and_redraw_the_message(chat: CoreChat) -> None:
    turn = chat.react("ops1", "👀", "alert:1")
    assert "console:ops1 acknowledged" in turn.text
    [edit] = turn.edits
    assert edit.key == "alert:1" and "Acknowledged by console:ops1" in edit.text
    assert "Already acknowledged by console:ops1" in chat.react("admin1", "👀", "alert:1").text
    assert chat.audit() == [("reaction:alert", "ok"), ("reaction:alert", "duplicate")]


def test_a_siren_opens_one_incident_linked_to_the_alert(chat: CoreChat) -> None:
    turn = chat.react("dev1", "🚨", "alert:1")
    assert "Incident #1 opened by console:dev1: web is down (sev1)" in turn.text
    incident = chat.store.incident(1)
    assert incident is not None and incident.severity == "sev1" and incident.place.thread == "alert-msg"
    assert "already open" in chat.react("dev1", "🚨", "alert:1").text
    chat.clock.advance(90)
    assert "Incident #1 acknowledged by console:dev1 after 1m 30s" in \
        chat.say("dev1", "incident ack", thread="alert-msg").text  # found by the alert's thread


def test_reactions_are_checked_against_the_roles(chat: CoreChat) -> None:
    assert "not allowed" in chat.react("dev1", "👀", "alert:1").text
    group_ = chat.store.alert_group(1)
    assert group_ is not None and group_.acked_by is None
    assert chat.audit() == [("reaction:alert", "denied")]


def test_silencing_without_alertmanager_says_so_and_other_emoji_are_not_ours(chat: CoreChat) -> None:
    assert "Alertmanager is not configured" in chat.react("ops1", "🔕", "alert:1").text
    assert chat.react("ops1", "🎉", "alert:1").actions == ()
    assert chat.react("ops1", "👀", "alert:1", added=False).actions == ()


def test_the_alerts_command_lists_what_fires(chat: CoreChat) -> None:
    assert "Firing alerts (1)" in chat.say("ops1", "alerts").text
