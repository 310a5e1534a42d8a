"""``dihya serve``: every configured chat adapter plus one HTTP app, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dihya.alerts.webhook import alertmanager_routes
from dihya.api.rest.mount import api_mount  # issue 13
from dihya.app import App, build_app, settle_heap
from dihya.chat import ChatAdapter, LeaderSource
from dihya.demo_inventory import seed_demo_inventory
from dihya.http import build_http
from dihya.http_server import http_server
from dihya.leader_sources import SourceLeadership
from dihya.pipelines.webhook import ci_routes  # issue 15
from dihya.settings import Settings

log = logging.getLogger("dihya.serve")


def configured_adapters(app: App) -> list[ChatAdapter]:
    """One adapter per platform whose settings are present (imported only then), each given the
    runtime as its ``EventSink`` and attached to it once, here."""
    settings = app.settings
    adapters: list[ChatAdapter] = []
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        from adapters.slack import SlackAdapter

        adapters.append(SlackAdapter(app.runtime, settings))
    if settings.telegram_token:
        from adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(app.runtime, settings))
    if settings.matrix_homeserver and settings.matrix_user_id:
        from adapters.matrix import MatrixAdapter

        adapters.append(MatrixAdapter(app.runtime, settings, app.store, policy=app.bot.services.policy))
    for adapter in adapters:
        app.runtime.attach(adapter)
    return adapters


async def serve(settings: Settings) -> None:
    app = build_app(settings)
    await app.start()
    seed_demo_inventory(app)  # issue 13: the published examples name server 1
    adapters = configured_adapters(app)
    routes = [route for adapter in adapters for route in adapter.routes()]
    if app.alerts is not None:  # issue 5: POST /hooks/alertmanager
        routes.extend(alertmanager_routes(app.alerts, settings))
    if app.ci is not None:  # issue 15: POST /hooks/github, /hooks/gitlab, /hooks/jenkins
        routes.extend(ci_routes(app.ci, settings))
    routes.append(api_mount(app))  # issue 13: /api/it_devops/
    sources = [a for a in adapters if isinstance(a, LeaderSource) and a.single_consumer()]  # issue 16
    leading = SourceLeadership(app.leadership.may_act, sources, every=settings.leader_lease_seconds / 6)
    server = http_server(build_http(app, routes, duties=lambda: (*app.leadership.duties(), *leading.duties())),
                         settings)  # issue 16: /readyz
    follower: asyncio.Task[None] | None = None
    try:
        for adapter in adapters:
            if isinstance(adapter, LeaderSource) and adapter in sources:
                await adapter.open()  # ready to send; consuming waits for the lease
            else:
                await adapter.start()
            log.info("adapter started", extra={"platform": adapter.platform})
        follower = asyncio.create_task(leading.run(), name="leader-sources")
        settle_heap()  # everything start-up built, adapters included, lives as long as the process
        await server.serve()
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        for adapter in adapters:
            await adapter.stop()
        await app.stop()


def run(settings: Settings) -> None:
    asyncio.run(serve(settings))
