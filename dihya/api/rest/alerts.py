"""``alertes/``: alerts Alertmanager sent (firing or resolved), and its silences through the chat
``silences``, ``silence`` and ``unsilence`` commands (the same Alertmanager client, RBAC and audit)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.alerting import AlertRecord
from bot.monitoring import SilenceView
from dihya.api.rest.context import PROBLEMS, Rest, page

SCANNED = 2000  # the most recent alerts a listing looks through
SILENCE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


class AlertItem(BaseModel):
    groupe: int
    nom: str
    status: str
    severity: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_us: int
    ends_us: int | None
    canal: str

    model_config = {"json_schema_extra": {"examples": [{
        "groupe": 2, "nom": "InstanceDown", "status": "firing", "severity": "critical",
        "labels": {"alertname": "InstanceDown", "instance": "web-01", "severity": "critical"},
        "annotations": {"summary": "web-01 is down"}, "starts_us": 1767225600000000, "ends_us": None,
        "canal": "slack:C0123"}]}}


class AlertPage(BaseModel):
    items: list[AlertItem]
    next_cursor: int | None = None


class SilenceItem(BaseModel):
    id: str
    matchers: str
    ends_us: int
    created_by: str
    comment: str

    model_config = {"json_schema_extra": {"examples": [{
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "matchers": "alertname=InstanceDown,instance=web-01",
        "ends_us": 1767229200000000, "created_by": "console:ops1", "comment": "maintenance"}]}}


class SilencePage(BaseModel):
    items: list[SilenceItem]
    next_cursor: int | None = None


class SilenceRequest(BaseModel):
    matchers: str = Field(min_length=1, max_length=500, examples=["alertname=InstanceDown,instance=web-01"])
    duree: str = Field(min_length=1, max_length=20, examples=["1h"])
    commentaire: str | None = Field(default=None, max_length=300, examples=["maintenance"])


class SilenceCreated(BaseModel):
    id: str
    message: str

    model_config = {"json_schema_extra": {"examples": [{
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "message": "🔕 Silence 3fa85f64-… created for alertname=InstanceDown until 2026-01-01 01:00 UTC."}]}}


def item(record: AlertRecord) -> AlertItem:
    a = record.alert
    return AlertItem(groupe=record.group_id, nom=a.name, status=a.status, severity=a.labels.get("severity"),
                     labels=dict(a.labels), annotations=dict(a.annotations), starts_us=a.starts_us,
                     ends_us=a.ends_us, canal=record.channel)


def silence_item(view: SilenceView) -> SilenceItem:
    return SilenceItem(id=view.id, matchers=view.matchers, ends_us=view.ends_us, created_by=view.created_by,
                       comment=view.comment)


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["alertes"], responses=PROBLEMS)

    @api.get("/alertes/", response_model=AlertPage, summary="Alerts",
             description="Alerts Alertmanager sent, newest first: `status` firing (default, as `alerts` in chat) or "
                         "resolved; filters `nom` (alertname) and `severity`; `limit` and `cursor` (a position) "
                         "page through them (`Link: rel=next`).")
    async def alerts(request: Request, response: Response,
                     status: Annotated[Literal["firing", "resolved"], Query(examples=["firing"])] = "firing",
                     nom: Annotated[str | None, Query(max_length=200, examples=["InstanceDown"])] = None,
                     severity: Annotated[str | None, Query(max_length=40, examples=["critical"])] = None,
                     limit: Annotated[int, Query(ge=1, le=100)] = 20,
                     cursor: Annotated[int, Query(ge=0, le=SCANNED)] = 0) -> AlertPage:
        rest.require(await rest.caller(request), "alerts")
        found = [r for r in rest.store.alerts_with_status(status, SCANNED)
                 if nom in (None, r.alert.name) and severity in (None, r.alert.labels.get("severity"))]
        positions = list(range(cursor, len(found)))
        chosen, following = page(request, response, positions, limit, lambda i: i + 1)
        return AlertPage(items=[item(found[i]) for i in chosen], next_cursor=following)

    @api.get("/alertes/silences", response_model=SilencePage, summary="Active silences",
             description="The active Alertmanager silences (`silences` in chat); `limit` and `cursor` (a position) "
                         "page through them. 422 when Alertmanager is not configured or cannot be reached.")
    async def silences(request: Request, response: Response, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                       cursor: Annotated[int, Query(ge=0, le=100_000)] = 0) -> SilencePage:
        identity = await rest.caller(request)
        answer = await rest.answer(request, identity, "silences", {})
        data = answer.last.data if answer.last is not None else None
        active = [s for s in data if isinstance(s, SilenceView)] if isinstance(data, list) else []
        chosen, following = page(request, response, list(range(cursor, len(active))), limit, lambda i: i + 1)
        return SilencePage(items=[silence_item(active[i]) for i in chosen], next_cursor=following)

    @api.post("/alertes/silences", status_code=201, response_model=SilenceCreated, summary="Silence alerts",
              description="Like `silence MATCHERS for DURATION [COMMENT]` (`alerts.manage`): label matchers such as "
                          "`alertname=InstanceDown,instance=web-01`, a duration from 1m to 90d.")
    async def silence(request: Request, body: Annotated[SilenceRequest, Body(examples=[{
            "matchers": "alertname=InstanceDown", "duree": "1h", "commentaire": "maintenance"}])]) -> JSONResponse:
        args: dict[str, object] = {"matchers": body.matchers, "duration": body.duree}
        if body.commentaire:
            args["comment"] = body.commentaire
        identity = await rest.caller(request)
        answer = await rest.answer(request, identity, "silence", args)
        silence_id = str(answer.last.details.get("silence", "")) if answer.last is not None else ""
        created = SilenceCreated(id=silence_id, message=rest.text(request, answer.lines))
        return JSONResponse(created.model_dump(), status_code=201,
                            headers={"Location": f"/api/it_devops/alertes/silences/{silence_id}"})

    @api.delete("/alertes/silences/{silence_id}", status_code=204, summary="End a silence",
                description="Like `unsilence ID` (`alerts.manage`): expires the silence now.",
                response_class=Response)
    async def unsilence(request: Request,
                        silence_id: Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$",
                                                        examples=[SILENCE_ID])]) -> Response:
        identity = await rest.caller(request)
        await rest.answer(request, identity, "unsilence", {"id": silence_id})
        return Response(status_code=204)

    return api
