"""``rapports/`` (generated operations reports) and ``webhooks/`` (outbound subscriptions) under
``/api/it_devops/`` (issue 17), added to the API by ``build_api``. Read-only; the same permissions as
``report now`` and ``webhooks`` in chat. A webhook's secret and URL path never leave: its name, host,
events, queue and last status do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bot.i18n import N_, Msg
from dihya.api.rest.app import PREFIX
from dihya.api.rest.context import ApiProblem
from dihya.api.rest.openapi import Id, problem_responses
from dihya.app import App

Caller = Callable[[Request], Awaitable[str]]
Require = Callable[[str, str], None]
PNG = "image/png"
MARKDOWN = "text/markdown; charset=utf-8"


class ReportView(BaseModel):
    id: int
    channel: str
    locale: str
    trigger: str  # schedule | chat
    since_us: int
    until_us: int
    created_us: int
    url: str
    chart_url: str

    model_config = {"json_schema_extra": {"examples": [{
        "id": 4, "channel": "slack:C0123", "locale": "fr", "trigger": "schedule", "since_us": 1764576000000000,
        "until_us": 1765180800000000, "created_us": 1765180801000000, "url": "/api/it_devops/rapports/4",
        "chart_url": "/api/it_devops/rapports/4/graphique.png"}]}}


class ReportPage(BaseModel):
    items: list[ReportView]
    next_cursor: int | None = None


class WebhookView(BaseModel):
    name: str
    host: str
    events: list[str]
    pending: int
    last_status: str
    refused: str | None

    model_config = {"json_schema_extra": {"examples": [{
        "name": "ops", "host": "hooks.example.org", "events": ["approval", "job"], "pending": 0,
        "last_status": "204", "refused": None}]}}


def add_report_routes(api: FastAPI, app: App, caller: Caller, require: Require) -> None:
    reports = app.reports

    def found(report_id: int) -> tuple[bytes, bytes]:
        kept = reports.archive.report(report_id) if reports is not None else None
        if kept is None:
            raise ApiProblem(404, Msg(N_("There is no report #{id}."), {"id": report_id}))
        return kept[1].markdown.encode(), kept[1].png

    @api.get("/rapports/", response_model=ReportPage, tags=["rapports"], summary="Generated operations reports",
             description="Newest first; `limit` and `cursor` page through them (`Link: rel=next`).")
    async def listing(request: Request, response: Response, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                      cursor: Annotated[int | None, Query(ge=1)] = None) -> ReportPage:
        require(await caller(request), "report.now")
        rows = reports.archive.reports(limit + 1, cursor) if reports is not None else []
        page = rows[:limit]
        items = [ReportView(id=r.id, channel=r.channel, locale=r.locale, trigger=r.trigger, since_us=r.since_us,
                            until_us=r.until_us, created_us=r.created_us, url=f"{PREFIX}/rapports/{r.id}",
                            chart_url=f"{PREFIX}/rapports/{r.id}/graphique.png") for r in page]
        following = page[-1].id if len(rows) > limit else None
        if following is not None:
            response.headers["Link"] = f'<{PREFIX}/rapports/?limit={limit}&cursor={following}>; rel="next"'
        return ReportPage(items=items, next_cursor=following)

    @api.get("/rapports/{report_id}", tags=["rapports"], summary="One report: Markdown, or its chart",
             description="The Markdown file; with `Accept: image/png`, the chart.", response_class=Response,
             responses={200: {"content": {"text/markdown": {"example": "# Operations report: slack:C0123\n"},
                                          PNG: {}}}, **problem_responses(404)})
    async def one(request: Request, report_id: Id) -> Response:
        require(await caller(request), "report.now")
        text, png = found(report_id)
        if _prefers_png(request.headers.get("accept", "")):
            return Response(png, media_type=PNG)
        return Response(text, media_type=MARKDOWN)

    @api.get("/rapports/{report_id}/graphique.png", tags=["rapports"], summary="A report's chart (PNG)",
             description="Deploys (succeeded, failed) and alerts fired per day, as a PNG image.",
             response_class=Response, responses={200: {"content": {PNG: {}}}, **problem_responses(404)})
    async def graph(request: Request, report_id: Id) -> Response:
        require(await caller(request), "report.now")
        return Response(found(report_id)[1], media_type=PNG)

    @api.get("/webhooks/", response_model=list[WebhookView], tags=["webhooks"],
             summary="Outbound webhook subscriptions and their last status",
             description="Like `webhooks` in chat (admins): no secret and no URL path is shown.")
    async def webhooks(request: Request) -> list[WebhookView]:
        require(await caller(request), "webhooks")
        statuses = app.webhooks.statuses() if app.webhooks is not None else []
        return [WebhookView(name=s.name, host=s.host, events=list(s.events), pending=s.pending, last_status=s.last,
                            refused=s.refused) for s in statuses]


def _prefers_png(accept: str) -> bool:
    """``Accept`` names PNG before (or without) Markdown or text."""
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    png = kinds.index(PNG) if PNG in kinds else None
    text = next((n for n, k in enumerate(kinds) if k in ("text/markdown", "text/plain", "text/*")), None)
    return png is not None and (text is None or png < text)
