"""``serveurs/``: the inventory by numeric id (``serveur_id=1`` elsewhere in the API names one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bot.i18n import N_, Msg
from bot.ports import Server, Store
from dihya.api.rest.context import MAX_ID, PROBLEMS, ApiProblem, Rest, page


class ServerView(BaseModel):
    id: int
    name: str
    address: str
    environnement: str

    model_config = {"json_schema_extra": {"examples": [{"id": 1, "name": "web1", "address": "10.0.0.5",
                                                       "environnement": "production"}]}}


class ServerPage(BaseModel):
    items: list[ServerView]
    next_cursor: int | None = None


def view(server: Server) -> ServerView:
    return ServerView(id=server.id, name=server.name, address=server.address, environnement=server.environment)


def server_by_id(store: Store, server_id: int) -> Server:
    found = store.server_by_id(server_id)
    if found is None:
        raise ApiProblem(404, Msg(N_("There is no server #{id}."), {"id": server_id}))
    return found


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["serveurs"], responses=PROBLEMS)

    @api.get("/serveurs/", response_model=ServerPage, summary="The server inventory",
             description="Servers by id, with their address and environment (`servers list` in chat); "
                         "`environnement` filters, `limit` and `cursor` page (`Link: rel=next`).")
    async def servers(request: Request, response: Response,
                      environnement: Annotated[str | None, Query(max_length=40, examples=["production"])] = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      cursor: Annotated[int, Query(ge=0)] = 0) -> ServerPage:
        rest.require(await rest.caller(request), "servers.list")
        found = sorted((s for s in rest.store.servers()
                        if s.id > cursor and environnement in (None, s.environment)), key=lambda s: s.id)
        chosen, following = page(request, response, found, limit, lambda s: s.id)
        return ServerPage(items=[view(s) for s in chosen], next_cursor=following)

    @api.get("/serveurs/{serveur_id}", response_model=ServerView, summary="One server",
             description="The server with this id (`servers show NAME` in chat); 404 when there is none.")
    async def server(request: Request,
                     serveur_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]) -> ServerView:
        rest.require(await rest.caller(request), "servers.show")
        return view(server_by_id(rest.store, serveur_id))

    return api
