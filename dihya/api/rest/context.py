"""What a resource module of the REST API needs from the app that mounts it: the core, the caller's
identity, the read-permission check, the command runner, and page/answer helpers.

Each resource lives in its own module (``dihya.api.rest.<resource>``) exposing
``router(rest: Rest) -> APIRouter``; ``build_api`` includes it with one line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.core import Bot, Invoked
from bot.events import Place
from bot.i18n import Msg
from bot.identity import Actor
from bot.ports import Store
from bot.registry import Reply
from dihya.api.rest.problems import locale_of
from dihya.runtime import Runtime

PREFIX = "/api/it_devops"
MAX_ID = 2**31 - 1  # ids are SQL integers: a larger one is a validation error, not a database one
# Roles a provider's token grants through ``[api.oidc] roles_claim`` (dihya.api.wiring): set by the
# caller check for the request being served, held only while a token says so.
CLAIMED_ROLES: ContextVar[frozenset[str]] = ContextVar("claimed_roles", default=frozenset())
# The person behind the request's token, with the roles read for this request: the permission
# check uses them instead of reading them a second time.
CALLER: ContextVar[Actor | None] = ContextVar("caller", default=None)


# How every error answers (``dihya.api.rest.problems``): documented per status so clients and
# schemathesis know the media type and shape.
PROBLEM_SCHEMA: dict[str, object] = {
    "type": "object", "required": ["type", "status", "title"],
    "properties": {"type": {"type": "string"}, "status": {"type": "integer"}, "title": {"type": "string"},
                   "detail": {"type": "string"}, "instance": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "type": {"type": "string"}}}}},
}
_PROBLEM_WHY = {400: "The body is not JSON", 401: "No valid token", 403: "The token's person lacks the permission",
                404: "No such resource",
                422: "Invalid request (the field is named) or refused by the command",
                429: "Past the per-person rate limit (`Retry-After`)", 502: "An upstream service failed",
                503: "Not configured in this deployment"}
PROBLEMS: dict[int | str, dict[str, object]] = {
    status: {"description": f"{why} (RFC 9457 problem, in the request's language)",
             "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA, "example": {
                 "type": "about:blank", "status": status, "title": "Not found" if status == 404 else why,
                 "instance": "/api/it_devops/serveurs/9"}}}}
    for status, why in _PROBLEM_WHY.items()}


class ApiProblem(Exception):
    def __init__(self, status: int, *lines: Msg, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.lines, self.headers = status, lines, headers or {}


class Pending(Exception):
    """A read that an approval policy covers (``[approvals."audit.export"]``): answered 202 with the
    approval request's URL, as a mutating POST is; the result goes to chat once approved."""

    def __init__(self, approval_id: int) -> None:
        super().__init__(approval_id)
        self.url = f"{PREFIX}/approbations/{approval_id}"
        self.body: dict[str, object] = {"status": "approval", "id": approval_id, "url": self.url}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=202, headers={"Location": self.url})


class Runner(Protocol):
    def __call__(self, request: Request, identity: str, name: str, args: dict[str, object],
                 approvals_at: Place | None = None, answer_here: bool = False,
                 at: Place | None = None) -> Awaitable[Invoked]: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """A read command run to its end for an HTTP caller: its replies, deferred work included."""

    invoked: Invoked
    replies: tuple[Reply, ...]

    @property
    def lines(self) -> tuple[Msg, ...]:
        return (*self.invoked.lines, *(line for r in self.replies for line in r.lines))

    @property
    def last(self) -> Reply | None:
        return self.replies[-1] if self.replies else None


@dataclass(frozen=True, slots=True)
class Rest:
    bot: Bot
    store: Store
    runtime: Runtime
    caller: Callable[[Request], Awaitable[str]]
    require: Callable[..., None]  # (identity, command, args=None): 403 unless allowed
    run: Runner
    once: Callable[[Request, str, dict[str, object], Callable[[], Awaitable[Invoked]]], Awaitable[JSONResponse]]
    approval_place: Place | None
    redact: Callable[[str], str]  # the filter every outbound text goes through (the runtime's)

    def text(self, request: Request, lines: tuple[Msg, ...]) -> str:
        """``lines`` in the request's language, redacted as a chat reply would be."""
        return self.redact(self.bot.services.catalogs.render_all(lines, locale_of(request)))

    async def answer(self, request: Request, identity: str, name: str, args: dict[str, object],
                     finish: bool = True) -> Answer:
        """Run ``name`` like chat does and its deferred work here, so its result is the response.
        A deferred failure becomes a problem (a user error 422, anything else 502). With
        ``finish=False`` the caller finishes and delivers the replies itself (to use their files first)."""
        invoked = await self.run(request, identity, name, args, answer_here=True)
        if invoked.status == "approval":
            raise Pending(int(invoked.ref.partition(":")[2]))
        replies: list[Reply] = []
        for later in invoked.outcome.later:
            reply = await anyio.to_thread.run_sync(Bot.run_later, later)
            if finish or reply.outcome in FAILED:
                await self.runtime.deliver(invoked.event, self.bot.finish(later, reply))
            if reply.outcome in FAILED:
                raise ApiProblem(502 if reply.outcome == "fault" else 422, *reply.lines)
            replies.append(reply)
        return Answer(invoked, tuple(replies))


FAILED = frozenset({"fault", "invalid", "refused", "denied", "tampered", "unavailable"})

Item = TypeVar("Item")


def page(request: Request, response: Response, items: Sequence[Item], limit: int,
         key: Callable[[Item], int]) -> tuple[list[Item], int | None]:
    """The first ``limit`` of ``items`` (already filtered past the cursor, in order) and the next
    cursor; sets ``Link: rel="next"`` with the request's other query parameters kept."""
    chosen = list(items[:limit])
    following = key(chosen[-1]) if len(items) > limit and chosen else None
    if following is not None:
        url = request.url.include_query_params(cursor=following, limit=limit)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return chosen, following
