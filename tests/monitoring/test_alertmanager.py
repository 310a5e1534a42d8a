"""Silences through a real Alertmanager, checked with Alertmanager's own API; matcher and
duration text as typed in chat."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.i18n import LOCALES, Catalogs, Msg
from dihya.monitoring.alertmanager import (
    AlertmanagerClient,
    AlertmanagerUnavailable,
    BadDuration,
    BadMatchers,
    Matcher,
    SilenceRejected,
    UnknownSilence,
    parse_duration,
    parse_matchers,
)
from tests.monitoring.fake_http import canned_server
from tests.servers.monitoring import INSTANCE, MonitoringStack, free_port

CATALOGS = Catalogs({loc: {} for loc in LOCALES})


def render(message: Msg) -> str:
    return CATALOGS.render(message, "en")


@pytest.fixture
def alertmanager(stack: MonitoringStack) -> Iterator[AlertmanagerClient]:
    with AlertmanagerClient(stack.alertmanager_url, timeout_s=5) as client:
        yield client


def listed_by_alertmanager(stack: MonitoringStack, silence_id: str) -> dict[str, object]:
    answer = httpx.get(f"{stack.alertmanager_url}/api/v2/silence/{silence_id}", timeout=5)
    answer.raise_for_status()
    found: dict[str, object] = answer.json()
    return found


# --- real Alertmanager -------------------------------------------------------------------------


@pytest.mark.slow
def test_silence_is_created_listed_and_expired(stack: MonitoringStack, alertmanager: AlertmanagerClient) -> None:
    matchers = parse_matchers(f'alertname=InstanceDown instance=~"{INSTANCE[:4]}.*"')
    before = datetime.now(UTC)
    silence_id = alertmanager.create_silence(matchers, timedelta(hours=1), "matrix:@amina:example.org", "disk swap")

    raw = listed_by_alertmanager(stack, silence_id)
    assert raw["createdBy"] == "matrix:@amina:example.org"
    assert raw["comment"] == "disk swap"
    assert raw["status"] == {"state": "active"}
    assert raw["matchers"] == [
        {"name": "alertname", "value": "InstanceDown", "isRegex": False, "isEqual": True},
        {"name": "instance", "value": "web-.*", "isRegex": True, "isEqual": True},
    ]

    [listed] = [s for s in alertmanager.silences() if s.id == silence_id]
    assert listed.matchers == matchers
    assert timedelta(minutes=59) < listed.ends_at - before < timedelta(minutes=61)

    alertmanager.expire_silence(silence_id)
    assert listed_by_alertmanager(stack, silence_id)["status"] == {"state": "expired"}
    assert silence_id not in {s.id for s in alertmanager.silences()}
    assert silence_id in {s.id for s in alertmanager.silences(active_only=False)}


@pytest.mark.slow
def test_empty_comment_gets_a_default(stack: MonitoringStack, alertmanager: AlertmanagerClient) -> None:
    silence_id = alertmanager.create_silence((Matcher("alertname", "Nothing"),), timedelta(minutes=5), "console:x")
    assert listed_by_alertmanager(stack, silence_id)["comment"] == "Silenced from chat with Dihya"
    alertmanager.expire_silence(silence_id)


@pytest.mark.slow
def test_expiring_twice_is_harmless(alertmanager: AlertmanagerClient) -> None:
    silence_id = alertmanager.create_silence((Matcher("alertname", "Twice"),), timedelta(minutes=5), "console:x")
    alertmanager.expire_silence(silence_id)
    alertmanager.expire_silence(silence_id)


@pytest.mark.slow
@pytest.mark.parametrize("silence_id", [str(uuid.uuid4()), "not-a-uuid", "../silences"])
def test_unknown_or_malformed_id_is_an_unknown_silence(alertmanager: AlertmanagerClient, silence_id: str) -> None:
    with pytest.raises(UnknownSilence) as caught:
        alertmanager.expire_silence(silence_id)
    assert render(caught.value.message) == f"There is no silence with the id {silence_id}."


@pytest.mark.slow
@pytest.mark.parametrize(("matchers", "reason"), [
    ("instance=~.*", "at least one matcher must not match the empty string"),
    ('instance=~"("', "invalid regular expression"),
])
def test_bad_matcher_is_rejected_with_alertmanagers_reason(
    alertmanager: AlertmanagerClient, matchers: str, reason: str
) -> None:
    with pytest.raises(SilenceRejected) as caught:
        alertmanager.create_silence(parse_matchers(matchers), timedelta(hours=1), "console:x")
    assert reason in caught.value.reason
    assert render(caught.value.message).startswith("Alertmanager refused the silence: ")


# --- failures without Alertmanager -------------------------------------------------------------


@pytest.mark.parametrize(("status", "body"), [(422, b'{"code":601,"message":"bad id"}'), (500, b'"silence not found"')])
def test_alertmanagers_answers_for_unknown_ids(status: int, body: bytes) -> None:
    silence_id = str(uuid.uuid4())
    with canned_server(status, body, "application/json") as url, AlertmanagerClient(url, timeout_s=2) as fake, \
            pytest.raises(UnknownSilence):
        fake.expire_silence(silence_id)


def test_other_server_errors_on_expiry_mean_unavailable() -> None:
    with canned_server(500, b'"database on fire"', "application/json") as url, \
            AlertmanagerClient(url, timeout_s=2) as fake, pytest.raises(AlertmanagerUnavailable):
        fake.expire_silence(str(uuid.uuid4()))


def test_unreachable_alertmanager_fails_fast() -> None:
    started = time.monotonic()
    with AlertmanagerClient(f"http://127.0.0.1:{free_port()}", timeout_s=5) as nowhere, \
            pytest.raises(AlertmanagerUnavailable):
        nowhere.silences()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("status", "body"), [(200, b"<html>no</html>"), (503, b"down"), (200, b'[{"id": 1}]')])
def test_an_answer_that_is_not_alertmanager_means_unavailable(status: int, body: bytes) -> None:
    with canned_server(status, body) as url, AlertmanagerClient(url, timeout_s=2) as wrong, \
            pytest.raises(AlertmanagerUnavailable):
        wrong.silences()


# --- text typed in chat ------------------------------------------------------------------------


def test_matchers_with_every_operator() -> None:
    assert parse_matchers("alertname=InstanceDown instance=~web-.* severity!=info job!~test|dev") == (
        Matcher("alertname", "InstanceDown"),
        Matcher("instance", "web-.*", is_regex=True),
        Matcher("severity", "info", is_equal=False),
        Matcher("job", "test|dev", is_regex=True, is_equal=False),
    )


def test_matchers_in_alertmanager_notation() -> None:
    assert parse_matchers('{alertname="Disk full", instance=~"web-\\d+"}') == (
        Matcher("alertname", "Disk full"),
        Matcher("instance", "web-\\d+", is_regex=True),
    )


def test_quoted_value_keeps_escaped_quotes() -> None:
    assert parse_matchers('summary="say \\"hi\\""') == (Matcher("summary", 'say "hi"'),)


def test_matcher_renders_back_to_text() -> None:
    assert [str(m) for m in parse_matchers("a=1 b!~x.*")] == ["a=1", "b!~x.*"]


@pytest.mark.parametrize("text", ["", "   ", "alertname", "=x", "1abc=x", "a=b junk", 'a="unterminated'])
def test_not_matchers(text: str) -> None:
    with pytest.raises(BadMatchers) as caught:
        parse_matchers(text)
    assert "is not a list of label matchers" in render(caught.value.message)


@pytest.mark.parametrize(("text", "expected"), [
    ("1h", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("2h30m", timedelta(hours=2, minutes=30)),
    ("1d", timedelta(days=1)), ("90s", timedelta(seconds=90)), (" 1H ", timedelta(hours=1)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "0m", "1w", "-1h", "1.5h", "30m1h"])
def test_not_durations(text: str) -> None:
    with pytest.raises(BadDuration):
        parse_duration(text)
