"""PrometheusMetrics against a real Prometheus scraping node-exporter as web-01, plus the failure
modes a chat reply must survive: unreachable, silent, not Prometheus, over budget, bad PromQL."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import LOCALES, Catalogs, Msg
from dihya.monitoring.prometheus import (
    BadQuery,
    MetricsUnavailable,
    PrometheusMetrics,
    QueryTimeout,
    Sample,
    UnknownServer,
    format_table,
)
from dihya.monitoring.templates import NODE_STATUS_TEMPLATES, fill_template
from tests.monitoring.fake_http import canned_server, silent_server
from tests.servers.monitoring import INSTANCE, MonitoringStack, free_port

HEAVY = "sum(count_over_time(node_cpu_seconds_total[10m:1ms]))"  # millions of subquery steps
CATALOGS = Catalogs({loc: {} for loc in LOCALES})


def render(message: Msg) -> str:
    return CATALOGS.render(message, "en")


@pytest.fixture
def metrics(stack: MonitoringStack) -> Iterator[PrometheusMetrics]:
    with PrometheusMetrics(stack.prometheus_url, timeout_s=5) as client:
        yield client


# --- real Prometheus ---------------------------------------------------------------------------


@pytest.mark.slow
def test_instant_query_returns_node_exporter_sample_for_web_01(metrics: PrometheusMetrics) -> None:
    samples = metrics.instant(f'node_load1{{instance="{INSTANCE}"}}')
    assert len(samples) == 1
    assert samples[0].labels == {"__name__": "node_load1", "instance": INSTANCE, "job": "node"}
    assert samples[0].value >= 0
    assert abs(samples[0].timestamp - time.time()) < 60


@pytest.mark.slow
def test_instant_query_of_a_scalar(metrics: PrometheusMetrics) -> None:
    [sample] = metrics.instant("1 + 1")
    assert (sample.labels, sample.value, sample.text) == ({}, 2.0, "2")


@pytest.mark.slow
def test_range_query_returns_a_series_of_points(metrics: PrometheusMetrics) -> None:
    # On a loaded machine the freshly started stack may hold only two scrapes yet: wait (bounded).
    deadline = time.monotonic() + 15
    while True:
        end = datetime.now(UTC)
        series = metrics.range(f'up{{instance="{INSTANCE}"}}', end - timedelta(seconds=20), end, timedelta(seconds=1))
        if (series and len(series[0].points) >= 3) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [s.labels["instance"] for s in series] == [INSTANCE]
    points = series[0].points
    assert len(points) >= 3
    assert [t for t, _ in points] == sorted(t for t, _ in points)
    assert {v for _, v in points} <= {0.0, 1.0}


@pytest.mark.slow
def test_server_status_fills_every_node_template(metrics: PrometheusMetrics) -> None:
    status = _status_once_rates_exist(metrics)
    assert set(status) == set(NODE_STATUS_TEMPLATES)
    assert status["up"] == 1.0
    for percent in ("cpu", "memory", "disk"):
        assert 0.0 <= status[percent] <= 100.0  # type: ignore[operator]
    assert status["load"] is not None
    assert status["load"] >= 0


def _status_once_rates_exist(metrics: PrometheusMetrics) -> dict[str, float | None]:
    # rate() needs two scrapes of the counter; on a fresh stack that can take a second or two.
    deadline = time.monotonic() + 10
    status = metrics.server_status(INSTANCE, NODE_STATUS_TEMPLATES)
    while None in status.values() and time.monotonic() < deadline:
        time.sleep(0.5)
        status = metrics.server_status(INSTANCE, NODE_STATUS_TEMPLATES)
    return status


@pytest.mark.slow
def test_unknown_server_is_a_translated_error(metrics: PrometheusMetrics) -> None:
    with pytest.raises(UnknownServer) as caught:
        metrics.server_status("db-99", NODE_STATUS_TEMPLATES)
    assert render(caught.value.message) == "Prometheus has no target with the instance label db-99."


@pytest.mark.slow
def test_instance_value_cannot_break_out_of_the_label_matcher(metrics: PrometheusMetrics) -> None:
    # Unescaped, this would become up{instance="web-01"} or vector(1) and match.
    hostile = f'{INSTANCE}"}} or vector(1) or up{{instance="'
    with pytest.raises(UnknownServer):
        metrics.server_status(hostile, NODE_STATUS_TEMPLATES)


@pytest.mark.slow
def test_bad_promql_carries_prometheus_message(metrics: PrometheusMetrics) -> None:
    with pytest.raises(BadQuery) as caught:
        metrics.instant("sum(rate(node_cpu_seconds_total[1m])")
    assert "parse error" in caught.value.prometheus_message
    assert not caught.value.prometheus_message.startswith("invalid parameter")
    assert render(caught.value.message) == f"Prometheus rejected the query: {caught.value.prometheus_message}"


@pytest.mark.slow
def test_range_with_too_many_points_is_a_bad_query(metrics: PrometheusMetrics) -> None:
    end = datetime.now(UTC)
    with pytest.raises(BadQuery) as caught:
        metrics.range("up", end - timedelta(days=1), end, timedelta(seconds=1))
    assert "maximum resolution" in caught.value.prometheus_message


@pytest.mark.slow
def test_query_over_its_budget_is_stopped_by_prometheus(stack: MonitoringStack) -> None:
    with PrometheusMetrics(stack.prometheus_url, timeout_s=0.001) as hurried, pytest.raises(QueryTimeout) as caught:
        hurried.instant(HEAVY)
    assert "0.001 s" in render(caught.value.message)


# --- failures without Prometheus ---------------------------------------------------------------


def test_unreachable_prometheus_fails_fast() -> None:
    started = time.monotonic()
    with PrometheusMetrics(f"http://127.0.0.1:{free_port()}", timeout_s=5) as nowhere, \
            pytest.raises(MetricsUnavailable) as caught:
        nowhere.instant("up")
    assert time.monotonic() - started < 2
    assert render(caught.value.message) == "Prometheus cannot be reached right now; try again in a moment."


def test_silent_server_is_a_timeout_not_a_hang() -> None:
    started = time.monotonic()
    with silent_server() as url, PrometheusMetrics(url, timeout_s=0.2) as stuck, pytest.raises(QueryTimeout):
        stuck.instant("up")
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("status", "body"), [
    (200, b"<html>not prometheus</html>"),
    (502, b"Bad Gateway"),
    (200, b'{"status": "success", "data": {"result": [{"metric": {}}]}}'),
])
def test_an_answer_that_is_not_prometheus_means_unavailable(status: int, body: bytes) -> None:
    with canned_server(status, body) as url, PrometheusMetrics(url, timeout_s=2) as wrong, \
            pytest.raises(MetricsUnavailable):
        wrong.instant("up")


# --- templates and the table -------------------------------------------------------------------


def test_fill_template_escapes_the_instance_as_a_promql_string() -> None:
    filled = fill_template('up{instance="{instance}"}', 'a"b\\c\n')
    assert filled == 'up{instance="a\\"b\\\\c\\n"}'


@pytest.mark.parametrize("template", ["up{instance={instance}}", "up", 'up{instance="{instance}"} + {instance}'])
def test_fill_template_needs_a_quoted_placeholder(template: str) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        fill_template(template, "web-01")


def _sample(mode: str, value: float, timestamp: float = 1_700_000_000.0) -> Sample:
    labels = {"__name__": "node_cpu_seconds_total", "instance": INSTANCE, "job": "node", "mode": mode}
    return Sample(labels, timestamp, value, f"{value:g}")


def test_table_puts_shared_labels_on_a_heading_line() -> None:
    text = render(format_table([_sample("idle", 12.5), _sample("user", 3)], limit=10))
    assert text.splitlines() == [
        'node_cpu_seconds_total{instance="web-01", job="node"}',
        '{mode="idle"}  12.5',
        '{mode="user"}  3',
    ]


def test_table_is_truncated_with_a_note() -> None:
    samples = [_sample(f"m{i}", i) for i in range(12)]
    lines = render(format_table(samples, limit=5)).splitlines()
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "… 7 more rows not shown (12 in all)."


def test_table_of_one_sample_shows_all_its_labels() -> None:
    text = render(format_table([_sample("idle", 1)], limit=5))
    assert text == 'node_cpu_seconds_total{instance="web-01", job="node", mode="idle"}  1'


def test_table_shows_times_when_samples_differ_in_time() -> None:
    text = render(format_table([_sample("idle", 1, 0.0), _sample("idle", 2, 60.0)], limit=5))
    assert text.splitlines()[1:] == ["{}  1 @ 00:00:00", "{}  2 @ 00:01:00"]


def test_table_neutralises_label_values() -> None:
    text = render(format_table([Sample({"x": "a\u202eb"}, 0.0, 1.0, "1")], limit=5))
    assert "\u202e" not in text
    assert "<U+202E>" in text


def test_empty_result_says_so() -> None:
    assert render(format_table([], limit=5)) == "The query returned no data."


def test_nan_values_are_kept_as_prometheus_wrote_them() -> None:
    text = render(format_table([Sample({}, 0.0, math.nan, "NaN")], limit=5))
    assert text == "{}  NaN"
