"""The one HTTP app of ``dihya serve``: health, metrics, and the webhooks adapters declare.

Routes are listed in one place (Starlette style): this module's own, then each adapter's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dihya.app import App

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class AppCollector(Collector):
    """Gauges read at scrape time from the running app (no counters to keep in sync)."""

    def __init__(self, app: App) -> None:
        self._app = app

    def collect(self) -> Iterable[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("dihya_audit_backlog", "Audit rows waiting for their group commit")
        backlog.add_metric([], self._app.bot.audit_backlog)
        yield backlog
        jobs = GaugeMetricFamily("dihya_jobs_active", "Jobs queued or running", labels=["state"])
        active = self._app.store.jobs(states=frozenset({"queued", "running"}), limit=10_000)
        for state in ("queued", "running"):
            jobs.add_metric([state], sum(1 for j in active if j.state == state))
        yield jobs


def build_http(app: App, extra: Sequence[BaseRoute] = ()) -> Starlette:
    registry = CollectorRegistry()
    registry.register(AppCollector(app))

    async def healthz(request: Request) -> Response:
        try:
            app.store.audit_head()
        except Exception:
            return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "audit_backlog": app.bot.audit_backlog})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics), *extra]
    return Starlette(routes=routes)
