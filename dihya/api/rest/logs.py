"""``logs/``: a service's recent logs through the chat ``logs`` command — from where the service catalog
says it runs, bounded (7 days, 5000 lines, the reader's byte limit), redacted, ``grep`` in linear time;
permission ``read.logs``; the audit row keeps the query, never the lines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request

from bot.servicelogs import LogResult
from commands.logs import MAX_LINES
from dihya.api.rest.context import PROBLEMS, Rest


class Logs(BaseModel):
    service: str
    environnement: str
    source: str
    lignes: list[str]
    tronque: bool
    message: str

    model_config = {"json_schema_extra": {"examples": [{
        "service": "backend-django", "environnement": "production", "source": "docker container backend",
        "lignes": ["2026-12-02T08:00:01Z GET / 200", "2026-12-02T08:00:02Z db password=[REDACTED] ok"],
        "tronque": False, "message": "2 log lines from docker container backend for backend-django in production "
                                     "(last 15 min):"}]}}


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["logs"], responses=PROBLEMS)

    @api.get("/logs/", response_model=Logs, summary="A service's recent logs",
             description="Like `logs SERVICE in ENV [since SINCE] [lines N] [grep TEXT]` (`read.logs`): `since` a "
                         "duration from 1m to 7d (default 15m), `lines` 1 to 5000 (default 200), `grep` plain text "
                         "or `/REGEX/` (linear-time). Lines are oldest first and redacted; `tronque` says a bound cut "
                         "them. 422 for an unknown service or a query out of bounds.")
    async def logs(request: Request,
                   service: Annotated[str, Query(min_length=1, max_length=100, examples=["backend-django"])],
                   environnement: Annotated[str, Query(min_length=1, max_length=40, examples=["production"])],
                   since: Annotated[str | None, Query(min_length=1, max_length=20, examples=["1h"])] = None,
                   lines: Annotated[int | None, Query(ge=1, le=MAX_LINES, examples=[200])] = None,
                   grep: Annotated[str | None, Query(min_length=1, max_length=200, examples=["ERROR"])] = None) -> Logs:
        args: dict[str, object] = {"service": service, "env": environnement}
        args.update({k: v for k, v in (("since", since), ("lines", lines), ("grep", grep)) if v is not None})
        identity = await rest.caller(request)
        answer = await rest.answer(request, identity, "logs", args)
        result = answer.last.data if answer.last is not None else None
        if not isinstance(result, LogResult):  # the command always answers one; nothing to show otherwise
            result = LogResult("-", ())
        header = answer.lines[:1]
        return Logs(service=service, environnement=environnement, source=result.source,
                    lignes=[rest.redact(line) for line in result.lines], tronque=result.truncated,
                    message=rest.text(request, header))

    return api
