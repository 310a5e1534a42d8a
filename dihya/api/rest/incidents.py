"""``incidents/``: list, open, detail with its timeline, the lifecycle (``ack``, ``updates``, ``resolve``)
through the chat ``incident …`` commands, and ``{id}/rapport``, the Markdown post-incident report that
``incident report`` uploads."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.actions import Send, Upload
from bot.i18n import N_, Msg
from bot.incidents import KEY_PREFIX, IncidentRecord
from dihya.api.rest.context import MAX_ID, PROBLEMS, ApiProblem, Rest, page

SCANNED = 2000  # the most recent incidents a listing looks through
Severity = Literal["sev1", "sev2", "sev3", "sev4"]
INCIDENT_ID = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]


class IncidentEventView(BaseModel):
    ts_us: int
    actor: str
    kind: str
    text: str
    ref: str


class IncidentView(BaseModel):
    id: int
    title: str
    severity: str
    state: str
    opened_by: str
    owner: str | None
    significant: bool
    created_us: int
    acked_us: int | None
    resolved_us: int | None
    events: list[IncidentEventView] = []

    model_config = {"json_schema_extra": {"examples": [{
        "id": 4, "title": "checkout errors", "severity": "sev2", "state": "acknowledged", "opened_by": "console:ops1",
        "owner": "console:ops1", "significant": False, "created_us": 1767225600000000,
        "acked_us": 1767225660000000, "resolved_us": None,
        "events": [{"ts_us": 1767225600000000, "actor": "console:ops1", "kind": "opened", "text": "", "ref": ""}]}]}}


class IncidentPage(BaseModel):
    items: list[IncidentView]
    next_cursor: int | None = None


class IncidentRequest(BaseModel):
    titre: str = Field(min_length=1, max_length=200, examples=["checkout errors"])
    severite: Severity = Field(default="sev3", examples=["sev2"])


class UpdateRequest(BaseModel):
    texte: str = Field(min_length=1, max_length=2000, examples=["rolled back the release"])


def view(incident: IncidentRecord, events: list[IncidentEventView] | None = None) -> IncidentView:
    return IncidentView(id=incident.id, title=incident.title, severity=incident.severity, state=incident.state,
                        opened_by=incident.opened_by, owner=incident.owner, significant=incident.significant,
                        created_us=incident.created_us, acked_us=incident.acked_us,
                        resolved_us=incident.resolved_us, events=events or [])


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["incidents"], responses=PROBLEMS)

    def incident(incident_id: int) -> IncidentRecord:
        found = rest.store.incident(incident_id)
        if found is None:
            raise ApiProblem(404, Msg(N_("No incident #{id}."), {"id": incident_id}))
        return found

    def detail_of(incident_id: int) -> IncidentView:
        events = [IncidentEventView(ts_us=e.ts_us, actor=e.actor, kind=e.kind, text=e.text, ref=e.ref)
                  for e in rest.store.incident_events(incident_id)]
        return view(incident(incident_id), events)

    @api.get("/incidents/", response_model=IncidentPage, summary="Incidents",
             description="Newest first (`incidents` in chat). Filters: `state`, `severity`; `limit` and `cursor` "
                         "page through them (`Link: rel=next`).")
    async def incidents(request: Request, response: Response,
                        state: Annotated[Literal["open", "acknowledged", "resolved"] | None,
                                         Query(examples=["open"])] = None,
                        severity: Annotated[Severity | None, Query(examples=["sev2"])] = None,
                        limit: Annotated[int, Query(ge=1, le=100)] = 20,
                        cursor: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> IncidentPage:
        rest.require(await rest.caller(request), "incidents")
        found = [i for i in rest.store.incidents(states=None if state is None else frozenset({state}), limit=SCANNED)
                 if (not cursor or i.id < cursor) and severity in (None, i.severity)]
        chosen, following = page(request, response, found, limit, lambda i: i.id)
        return IncidentPage(items=[view(i) for i in chosen], next_cursor=following)

    @api.post("/incidents/", status_code=201, response_model=IncidentView, summary="Open an incident",
              description="Like `incident open [SEVERITY] TITLE` in chat (`incidents.manage`): 201 with the "
                          "incident's `Location`.")
    async def open_incident(request: Request,
                            body: Annotated[IncidentRequest, Body(examples=[{"titre": "checkout errors",
                                                                             "severite": "sev2"}])]) -> Response:
        identity = await rest.caller(request)
        # Announced where approvals asked over HTTP go (DIHYA_API_CHANNEL), so responders see it in chat.
        invoked = await rest.run(request, identity, "incident.open", {"title": body.titre, "severity": body.severite},
                                 at=rest.approval_place)
        key = next(a.key for a in invoked.outcome.actions if isinstance(a, Send) and a.key)
        created = detail_of(int(key.removeprefix(KEY_PREFIX)))
        return JSONResponse(created.model_dump(), status_code=201,
                            headers={"Location": f"/api/it_devops/incidents/{created.id}"})

    @api.get("/incidents/{incident_id}", response_model=IncidentView, summary="One incident and its timeline",
             description="The incident with every event of its timeline, oldest first.")
    async def detail(request: Request, incident_id: INCIDENT_ID) -> IncidentView:
        rest.require(await rest.caller(request), "incidents")
        return detail_of(incident_id)

    async def lifecycle(request: Request, incident_id: int, command: str, args: dict[str, object]) -> IncidentView:
        identity = await rest.caller(request)
        found = incident(incident_id)
        chat = found.place if found.place.platform != "api" else None  # said in the incident's thread, as in chat
        await rest.run(request, identity, command, {"id": incident_id, **args}, at=chat)
        return detail_of(incident_id)

    @api.post("/incidents/{incident_id}/ack", response_model=IncidentView, summary="Acknowledge an incident",
              description="Like `incident ack N`: the caller becomes the owner if there is none; 422 when it is "
                          "not open.")
    async def ack(request: Request, incident_id: INCIDENT_ID) -> IncidentView:
        return await lifecycle(request, incident_id, "incident.ack", {})

    @api.post("/incidents/{incident_id}/updates", response_model=IncidentView, summary="Add an update",
              description="Like `incident update N TEXT`: adds to the incident's timeline.")
    async def add_update(request: Request, incident_id: INCIDENT_ID,
                         body: Annotated[UpdateRequest, Body(examples=[{"texte": "rolled back"}])]) -> IncidentView:
        return await lifecycle(request, incident_id, "incident.update", {"text": body.texte})

    @api.post("/incidents/{incident_id}/resolve", response_model=IncidentView, summary="Resolve an incident",
              description="Like `incident resolve N`; 422 when it is already resolved.")
    async def resolve(request: Request, incident_id: INCIDENT_ID) -> IncidentView:
        return await lifecycle(request, incident_id, "incident.resolve", {})

    @api.get("/incidents/{incident_id}/rapport", summary="The post-incident report (Markdown)",
             description="What `incident report N` uploads in chat, in the request's language.",
             response_class=Response,
             responses={200: {"content": {"text/markdown": {"example": "# Incident #4: checkout errors\n"}}}})
    async def report(request: Request, incident_id: INCIDENT_ID) -> Response:
        identity = await rest.caller(request)
        incident(incident_id)
        invoked = await rest.run(request, identity, "incident.report", {"id": incident_id})
        upload = next(a for a in invoked.outcome.actions if isinstance(a, Upload))
        assert isinstance(upload.content, bytes)  # made in memory, never spooled
        return Response(rest.redact(upload.content.decode()), media_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{upload.filename}"'})

    return api
