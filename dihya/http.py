"""The one HTTP app of ``dihya serve``: health, metrics, and the webhooks adapters declare.

Routes are listed in one place (Starlette style): this module's own, then each adapter's. The
checks behind ``/healthz``, ``/readyz`` and ``/metrics`` run in a worker thread with a deadline
(``dihya.probe``), so a slow database answers 503 instead of stalling the event loop;
``/metrics`` wants ``Authorization: Bearer <DIHYA_METRICS_TOKEN>`` when that is set.

``/healthz`` (liveness): the process answers and its database does. ``/readyz`` (readiness, issue
16): the database and the job queue (Redis and the broker under Celery) both answer, and which
leader duties this replica holds; 503 takes the replica out of a load balancer without restarting it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dihya.app import App
from dihya.ingress import BearerToken, Refused
from dihya.probe import Probe

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("dihya.http")


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


async def _check(probe: Callable[[], Awaitable[object]]) -> str:
    """``ok``, ``timeout`` or ``unreachable``: a probe's outcome as ``/readyz`` reports it."""
    try:
        await probe()
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        return "unreachable"
    return "ok"


def build_http(app: App, extra: Sequence[BaseRoute] = (),
               duties: Callable[[], Sequence[str]] = tuple) -> Starlette:
    """``duties``: the leader duties this replica holds now (none until leadership is elected)."""
    registry = CollectorRegistry()
    registry.register(AppCollector(app))
    timeout = app.settings.health_timeout_seconds
    database = Probe(app.store.audit_head, timeout, fresh=app.settings.health_fresh_seconds)
    queue = Probe(app.queue.ping, timeout, fresh=app.settings.health_fresh_seconds)
    scrape = Probe(lambda: generate_latest(registry), timeout)
    token = app.settings.metrics_token
    guard = BearerToken(token) if token is not None and token.get_secret_value() else None

    async def healthz(request: Request) -> Response:
        try:
            await database()
        except TimeoutError:
            return JSONResponse({"status": "unhealthy", "database": "timeout"}, status_code=503)
        except Exception as exc:
            log.warning("health check failed", extra={"error": type(exc).__name__})
            return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "audit_backlog": app.bot.audit_backlog})

    async def readyz(request: Request) -> Response:
        checks = {"database": await _check(database), "queue": await _check(queue)}
        ready = all(state == "ok" for state in checks.values())
        body = {"status": "ready" if ready else "not ready", **checks, "leader": sorted(duties())}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        try:
            if guard is not None:
                guard.check_headers(request.headers)
            return Response(await scrape(), media_type=CONTENT_TYPE)
        except Refused as refusal:
            return refusal.response()
        except TimeoutError:
            return Response("database timeout\n", status_code=503, media_type="text/plain")
        except Exception as exc:
            log.warning("metrics scrape failed", extra={"error": type(exc).__name__})
            return Response("database unreachable\n", status_code=503, media_type="text/plain")

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics), *extra]
    return Starlette(routes=routes)
