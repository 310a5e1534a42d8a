"""Alertmanager payloads and an app wired for alerts (token, default channel, routes), for alert tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine

from dihya.alerts.payload import parse_webhook
from dihya.alerts.webhook import alertmanager_routes
from dihya.app import App, build_app
from dihya.http import build_http
from dihya.settings import load_settings

TOKEN = "s3cret-webhook-token"
DEFAULT_CHANNEL = "console:alerts"
CRITICAL_CHANNEL = "console:oncall"
CONFIG = f"""
[alerts]
auto_incident = ["page"]
[[alerts.routes]]
match = {{ severity = "critical" }}
channel = "{CRITICAL_CHANNEL}"
[[alerts.routes]]
match_re = {{ instance = "db-.*" }}
channel = "console:db"
locale = "fr"
"""


def alert(fingerprint: str, status: str = "firing", **labels: str) -> dict[str, object]:
    labels = {"alertname": "InstanceDown", "instance": "web-01", "severity": "warning", **labels}
    return {
        "status": status, "labels": labels, "fingerprint": fingerprint,
        "annotations": {"summary": f"{labels['instance']} is down", "description": "no scrape answer",
                        "runbook_url": "https://runbooks.example.org/instance-down"},
        "startsAt": "2026-11-24T10:00:00Z",
        "endsAt": "2026-11-24T10:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org/graph?g0.expr=up+%3D%3D+0",
    }


def payload(group: str, alerts: list[dict[str, object]], common: Mapping[str, str] | None = None) -> bytes:
    firing = any(a["status"] == "firing" for a in alerts)
    first_labels = alerts[0]["labels"]
    assert isinstance(first_labels, dict)
    labels = dict(common) if common is not None else first_labels
    return json.dumps({
        "version": "4", "groupKey": group, "truncatedAlerts": 0, "status": "firing" if firing else "resolved",
        "receiver": "dihya", "groupLabels": {k: v for k, v in labels.items() if k in ("alertname", "instance")},
        "commonLabels": labels, "commonAnnotations": alerts[0]["annotations"] if len(alerts) == 1 else {},
        "externalURL": "http://alertmanager.example.org", "alerts": alerts,
    }).encode()


def alert_app(engine: Engine, tmp_path: Path, **overrides: object) -> App:
    config = tmp_path / "dihya.toml"
    config.write_text(CONFIG)
    values: dict[str, object] = {
        "data_dir": tmp_path, "admins": ("console:admin1",), "rate_limit_per_minute": 0, "identity_cache_seconds": 0,
        "alert_webhook_token": TOKEN, "alerts_channel": DEFAULT_CHANNEL, "config_file": config, **overrides}
    settings = load_settings(**values)
    return build_app(settings, engine=engine)


async def deliver(app: App, body: bytes) -> None:
    """What the webhook does after its checks, then wait until the delivery is handled."""
    assert app.alerts is not None
    app.alerts.submit(parse_webhook(body))
    await app.alerts.idle()


@asynccontextmanager
async def webhook_client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    assert app.alerts is not None
    http = build_http(app, alertmanager_routes(app.alerts, app.settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=http), base_url="http://bot") as client:
        yield client
