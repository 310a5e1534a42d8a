"""What the OpenAPI document says about errors, ids and links, declared once for every route: error
answers are RFC 9457 problems (``application/problem+json``), ids are bounded to what the database's
integer columns hold (a larger one would fail in the database instead of being a 422), and the
links from one operation's answer to the next operation's id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query
from pydantic import BaseModel

from dihya.api.rest.problems import MEDIA_TYPE

MAX_ID = 2**31 - 1  # ids are INTEGER columns (32 bits on PostgreSQL)


class Problem(BaseModel):
    """An RFC 9457 problem; ``detail`` is in the request's language, ``errors`` names invalid fields."""

    type: str = "about:blank"
    status: int
    title: str
    instance: str
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "type": "about:blank", "status": 403, "title": "Not allowed", "instance": "/api/it_devops/approbations/3/votes",
        "detail": "You cannot approve your own request."}]}}


WHY = {
    400: "The body could not be read, or a header is malformed",
    401: "No valid token (`WWW-Authenticate` says why)",
    403: "The token's person lacks the permission, or the vote is refused",
    404: "No such resource",
    405: "Method not allowed (`Allow` lists the allowed ones)",
    422: "A field is invalid (`errors` names it), or the command refused its arguments",
    429: "Past the rate limit (`Retry-After`)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Response declarations for ``statuses``, each a problem document."""
    return {status: {"description": WHY[status], "model": Problem} for status in statuses}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the ``source`` operation's ``status`` answer names ``parameter`` of ``target``."""

    source: tuple[str, str]  # (method, path)
    status: str
    target: tuple[str, str]
    parameter: str
    value: str  # a runtime expression, e.g. ``$response.body#/id``


LINKS = (
    Link(("get", "/approbations/"), "200", ("post", "/approbations/{approval_id}/votes"), "approval_id",
         "$response.body#/items/0/id"),
    Link(("get", "/jobs/{job_id}"), "200", ("post", "/jobs/{job_id}/cancel"), "job_id", "$response.body#/id"),
    Link(("get", "/jobs/{job_id}"), "200", ("get", "/jobs/{job_id}/events"), "job_id", "$response.body#/id"),
    Link(("post", "/jobs/{job_id}/cancel"), "202", ("get", "/jobs/{job_id}"), "job_id", "$response.body#/id"),
)


def correct_openapi(api: FastAPI) -> None:
    """Corrections FastAPI cannot be told in a route declaration: it files a response model under
    ``application/json`` while problems are sent as ``application/problem+json``; and the links
    between operations (``LINKS``, which the stateful tests of schemathesis follow)."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            paths = generate()["paths"]
            for operations in paths.values():
                for operation in operations.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if content.get("application/json", {}).get("schema", {}).get("$ref", "").endswith("/Problem"):
                            content[MEDIA_TYPE] = content.pop("application/json")
            for link in LINKS:
                (method, path), (target_method, target_path) = link.source, link.target
                target = paths[target_path][target_method]["operationId"]
                links = paths[path][method]["responses"][link.status].setdefault("links", {})
                links[target] = {"operationId": target, "parameters": {link.parameter: link.value}}
        assert api.openapi_schema is not None
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


# Every route may answer these (authentication, rights, rate limit, malformed input).
COMMON = problem_responses(400, 401, 403, 405, 422, 429)

Id = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
Cursor = Annotated[int, Query(ge=0, le=MAX_ID)]
