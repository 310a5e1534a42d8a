"""Monitoring as the commands see it: the ``Metrics`` and ``Silences`` ports and their configuration.

The real implementations (Prometheus, Alertmanager) live in ``dihya.monitoring.port``; every
method may do network I/O, so commands call them only inside ``Reply(later=...)``. Failures are
``UserError``s whose message is the translated reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from bot.i18n import Msg

DEFAULT_DASHBOARD = "*"


@dataclass(frozen=True, slots=True)
class MonitoringConfig:
    """``[monitoring]`` of the TOML file; ``dihya.config_file`` fills in the node-exporter defaults."""

    status_templates: Mapping[str, str] = field(default_factory=dict)  # name → PromQL with "{instance}"
    graph_templates: Mapping[str, str] = field(default_factory=dict)  # cpu | memory | disk | load → PromQL
    instances: Mapping[str, str] = field(default_factory=dict)  # server name → Prometheus instance label
    grafana_url: str = ""
    dashboards: Mapping[str, str] = field(default_factory=dict)  # server name or "*" → dashboard path
    query_rows: int = 20

    def instance(self, server: str) -> str:
        return self.instances.get(server, server)

    def dashboard_url(self, server: str) -> str | None:
        path = self.dashboards.get(server) or self.dashboards.get(DEFAULT_DASHBOARD)
        if not self.grafana_url or not path:
            return None
        glue = "&" if "?" in path else "?"
        return f"{self.grafana_url.rstrip('/')}/{path.lstrip('/')}{glue}var-instance={quote(self.instance(server))}"


@dataclass(frozen=True, slots=True)
class SilenceView:
    id: str
    matchers: str
    ends_us: int
    created_by: str
    comment: str


class Metrics(Protocol):
    def status(self, instance: str, templates: Mapping[str, str]) -> Mapping[str, float | None]: ...
    def chart(self, template: str, instance: str, seconds: int, title: str, y_label: str) -> bytes: ...
    def table(self, query: str, rows: int) -> Msg: ...


class Silences(Protocol):
    def silence(self, matchers: str, seconds: int, created_by: str, comment: str) -> str: ...
    def active(self) -> list[SilenceView]: ...
    def expire(self, silence_id: str) -> None: ...
