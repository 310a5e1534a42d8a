"""The REST API's resource modules: each ``router(rest)`` builds one resource's routes. Add one line per module."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from dihya.api.rest import alerts, audits, deployments, incidents, logs, monitoring, servers
from dihya.api.rest.context import Rest

ROUTERS: list[Callable[[Rest], APIRouter]] = [
    servers.router,
    monitoring.router,
    deployments.router,
    incidents.router,
    alerts.router,
    audits.router,
    logs.router,
]
