"""``monitoring/?serveur_id=1``: what ``status SERVER`` answers in chat, from Prometheus, as data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request

from dihya.api.rest.context import MAX_ID, PROBLEMS, Rest
from dihya.api.rest.servers import ServerView, server_by_id, view


class Monitoring(BaseModel):
    serveur: ServerView
    mesures: dict[str, float | None]
    tableau_de_bord: str | None
    message: str

    model_config = {"json_schema_extra": {"examples": [{
        "serveur": {"id": 1, "name": "web1", "address": "10.0.0.5", "environnement": "production"},
        "mesures": {"up": 1.0, "cpu": 12.5, "memory": 41.0, "disk": 63.2, "load": 0.4},
        "tableau_de_bord": "https://grafana.example.org/d/node/node-exporter?var-instance=web1",
        "message": "Status of web1:\n• reachable: ✅ up\n• CPU: 12.5 %"}]}}


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["monitoring"], responses=PROBLEMS)

    @api.get("/monitoring/", response_model=Monitoring, summary="How a server is doing",
             description="Runs `status SERVER` for the server with this id: reachability, CPU, memory, disk and "
                         "load from Prometheus (a metric without data is null), the Grafana dashboard, and the "
                         "chat answer in the request's language. 404 for an unknown id; 422 when Prometheus "
                         "is not configured, fails to answer or does not know the server.")
    async def monitoring(request: Request,
                         serveur_id: Annotated[int, Query(ge=1, le=MAX_ID, examples=[1])]) -> Monitoring:
        identity = await rest.caller(request)
        server = server_by_id(rest.store, serveur_id)
        answer = await rest.answer(request, identity, "status", {"server": server.name})
        data = answer.last.data if answer.last is not None else None
        values = data.get("values", {}) if isinstance(data, dict) else {}
        dashboard = data.get("dashboard") if isinstance(data, dict) else None
        return Monitoring(serveur=view(server), mesures=values, tableau_de_bord=dashboard,
                          message=rest.text(request, answer.lines))

    return api
