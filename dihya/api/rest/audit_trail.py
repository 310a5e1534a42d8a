"""Every API call's audit row (``api:<METHOD> <route>``, the caller's pseudonym, the status), as a
plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs the app in a task of its own behind a
memory stream, which cost a GET more than its route did."""

from __future__ import annotations

from starlette.datastructures import URL
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core import Bot
from dihya.runtime import Runtime

PSEUDONYM = "pseudonym"  # the key the caller check leaves in the request's state


class AuditTrail:
    __slots__ = ("_app", "_bot", "_runtime")

    def __init__(self, app: ASGIApp, bot: Bot, runtime: Runtime) -> None:
        self._app, self._bot, self._runtime = app, bot, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500  # what the server's error handler answers when the app raises
        state = scope.setdefault("state", {})  # the request's ``request.state``, shared with the routes

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or URL(scope=scope).path  # no route: the path asked for
            actor = state.get(PSEUDONYM) or "-"
            self._bot.audit(actor, f"api:{scope['method']} {path}", outcome=str(status), details={"route": path})
            # Group-committed like a read-only chat command's row (within DIHYA_AUDIT_FLUSH_MS): a
            # commit per request cost more than the rest of a GET. Rows a change waits on (a deploy,
            # a vote) were made durable before the response, by ``runtime.deliver``.
            self._runtime.commit_soon()
