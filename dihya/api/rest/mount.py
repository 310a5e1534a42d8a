"""Mounting the REST API in ``dihya serve``'s HTTP app, built on its first request so that the
embedded default starts without FastAPI, the JOSE library or an identity provider's keys."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.catalog import ServiceCatalog
from bot.events import Place
from dihya.app import App
from dihya.config_file import load_config
from dihya.settings import SettingsError

if TYPE_CHECKING:
    from dihya.api.auth import Authenticator

PREFIX = "/api/it_devops"


def approval_place(app: App) -> Place | None:
    """Where approvals asked over HTTP are posted when the service names no channel of its own:
    ``DIHYA_API_CHANNEL``, else ``DIHYA_ALERTS_CHANNEL``."""
    address = app.settings.api_channel or app.settings.alerts_channel
    if address is None:
        return None
    place = chat_place(address)
    if place is None:
        raise SettingsError(f"DIHYA_API_CHANNEL: channel {address!r} must be PLATFORM:CHANNEL_ID, e.g. slack:C0123")
    return place


def chat_place(address: str) -> Place | None:
    """``PLATFORM:CHANNEL_ID`` as a place, or None when it is not of that form."""
    platform, sep, channel = address.partition(":")
    return Place(platform, channel) if sep and platform and channel else None


def service_channel(catalog: ServiceCatalog, service: str, environment: str) -> Place | None:
    """The chat channel of ``service`` (``channel = "slack:C0123"`` in its ``[services.NAME.ENV]`` table;
    another environment's when this one names none), where its approval requests go."""
    environments = catalog.services.get(service, {})
    for deployment in sorted(environments.values(), key=lambda d: d.environment != environment):
        place = chat_place(deployment.params.get("channel", ""))
        if place is not None:
            return place
    return None


class LazyApi:
    __slots__ = ("_app", "_authenticator", "_api", "_place")

    def __init__(self, app: App, authenticator: Authenticator | None = None) -> None:
        self._app, self._authenticator = app, authenticator
        self._place = approval_place(app)  # a bad setting fails at start, not on the first call
        self._api: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._api is None:
            from dihya.api.rest.app import build_api
            from dihya.api.wiring import authenticator

            auth = self._authenticator or authenticator(self._app.settings, self._app.store,
                                                        load_config(self._app.settings.config_file))
            self._api = build_api(self._app, auth, self._place)
        await self._api(scope, receive, send)


def api_mount(app: App, authenticator: Authenticator | None = None) -> Mount:
    mount = Mount(PREFIX, app=LazyApi(app, authenticator))
    # A path holding a newline (``%0A``) must still reach the API, which answers it with a problem
    # document: Starlette's pattern stops at a newline, leaving a plain-text 404 of the outer app.
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount
