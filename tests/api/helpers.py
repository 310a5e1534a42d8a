"""An app with the REST API mounted, a client over real HTTP semantics (ASGI), and tokens from the issuer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from dihya.api.rest.mount import api_mount
from dihya.api.wiring import token_issuer
from dihya.app import App
from dihya.http import build_http
from dihya.settings import Settings, load_settings
from tests.jobs.helpers import content_copy

BASE = "/api/it_devops"


def api_settings(tmp_path: Path, **overrides: object) -> Settings:
    """The API tests' settings: one admin, no rate limit, roles read afresh, the demo content copied,
    approvals posted in ``console:main``."""
    defaults: dict[str, object] = {"admins": ("console:admin1",), "rate_limit_per_minute": 0,
                                   "identity_cache_seconds": 0, "content_dir": content_copy(tmp_path),
                                   "api_channel": "console:main"}
    return load_settings(data_dir=tmp_path, **{**defaults, **overrides})


def token(app: App, identity: str, ttl_s: int | None = None) -> str:
    """A token as ``dihya token create --identity IDENTITY`` prints it."""
    return token_issuer(app.settings, app.store, app.bot.services.clock).issue(identity, "test", ttl_s).token


def bearer(app: App, identity: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(app, identity)}"}


@asynccontextmanager
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_http(app, [api_mount(app)]))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        yield http


def server_sent(text: str) -> list[tuple[str, dict[str, object]]]:
    """(event, data) of each server-sent event in ``text``."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events
