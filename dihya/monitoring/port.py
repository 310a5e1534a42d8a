"""The core's ``Metrics`` and ``Silences`` ports over Prometheus and Alertmanager.

Each call opens its own client: calls run in worker threads (``Reply.later``), and a requests
session or an httpx client is not meant to be shared between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.clock import micros
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.monitoring import SilenceView

# The clients (prometheus-api-client, matplotlib, httpx) are imported inside the methods: they run
# in worker threads when a command needs them, and the bot should not carry them from the start.

CHART_POINTS = 240  # points per series: enough for a smooth line, small enough for any range


class PrometheusPort:
    __slots__ = ("_timeout_s", "_url")

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout_s = timeout_s

    def status(self, instance: str, templates: Mapping[str, str]) -> Mapping[str, float | None]:
        from dihya.monitoring.prometheus import PrometheusMetrics

        with PrometheusMetrics(self._url, self._timeout_s) as metrics:
            return metrics.server_status(instance, templates)

    def chart(self, template: str, instance: str, seconds: int, title: str, y_label: str) -> bytes:
        from dihya.monitoring.graph import render_png
        from dihya.monitoring.prometheus import PrometheusMetrics
        from dihya.monitoring.templates import fill_template

        query = fill_template(template, instance)
        end = datetime.now(UTC)
        step = timedelta(seconds=max(1, seconds // CHART_POINTS))
        with PrometheusMetrics(self._url, self._timeout_s) as metrics:
            series = metrics.range(query, end - timedelta(seconds=seconds), end, step)
        try:
            return render_png(series, title, y_label)
        except ValueError:
            raise UserError(N_("The query returned no data.")) from None

    def table(self, query: str, rows: int) -> Msg:
        from dihya.monitoring.prometheus import PrometheusMetrics, format_table

        with PrometheusMetrics(self._url, self._timeout_s) as metrics:
            return format_table(metrics.instant(query), rows)


class AlertmanagerPort:
    __slots__ = ("_timeout_s", "_url")

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout_s = timeout_s

    def silence(self, matchers: str, seconds: int, created_by: str, comment: str) -> str:
        from dihya.monitoring.alertmanager import AlertmanagerClient, parse_matchers

        parsed = parse_matchers(matchers)  # before any request: a typo is the person's to fix
        with AlertmanagerClient(self._url, self._timeout_s) as client:
            return client.create_silence(parsed, timedelta(seconds=seconds), created_by, comment)

    def active(self) -> list[SilenceView]:
        from dihya.monitoring.alertmanager import AlertmanagerClient

        with AlertmanagerClient(self._url, self._timeout_s) as client:
            found = client.silences()
        return [SilenceView(s.id, ",".join(str(m) for m in s.matchers), micros(s.ends_at.timestamp()),
                            s.created_by, s.comment) for s in found]

    def expire(self, silence_id: str) -> None:
        from dihya.monitoring.alertmanager import AlertmanagerClient

        with AlertmanagerClient(self._url, self._timeout_s) as client:
            client.expire_silence(silence_id)
