"""The floor the HTTP benchmarks compare with: a bare Starlette app, served by the same uvicorn
server ``dihya serve`` uses, whose endpoints only parse the request's JSON and answer what the
real endpoint answered (bytes recorded by the benchmark). No auth, no store, no audit.

With ``--framework``, the API's two benchmarked routes as FastAPI declares them (mounted under
``/api/it_devops``, the same path parameter, body model and response model) answering the same
JSON with no work at all: what the framework alone costs, measured beside the floor.

Run by the benchmarks: ``python -m bench.floor PORT RESPONSES.json [--framework]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from dihya.api.rest.app import PREFIX, Accepted, DeploymentRequest, JobView
from dihya.api.rest.openapi import Id
from dihya.http_server import http_server
from dihya.settings import load_settings

ALERTS = "/hooks/alertmanager"
JOB = "/api/it_devops/jobs/{job_id:int}"
DEPLOYS = "/api/it_devops/deploiements/"


def floor_app(responses: dict[str, bytes]) -> Starlette:
    job, deploy = responses.get("job", b"{}"), responses.get("deploy", b"{}")

    async def alerts(request: Request) -> Response:
        document = await request.json()
        return JSONResponse({"status": "accepted", "alerts": len(document["alerts"])}, status_code=202)

    async def job_detail(request: Request) -> Response:
        return Response(job, media_type="application/json")

    async def deploys(request: Request) -> Response:
        await request.json()
        return Response(deploy, status_code=202, media_type="application/json")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route(ALERTS, alerts, methods=["POST"]), Route(JOB, job_detail),
                             Route(DEPLOYS, deploys, methods=["POST"]), Route("/healthz", health)])


def framework_app(responses: dict[str, bytes]) -> Starlette:
    job = JobView.model_validate_json(responses.get("job", b"{}"))
    accepted = Accepted.model_validate_json(responses.get("deploy", b"{}"))
    api = FastAPI()

    @api.get("/jobs/{job_id}", response_model=JobView)
    async def job_detail(request: Request, job_id: Id) -> JobView:
        return job

    @api.post("/deploiements/", status_code=202, response_model=Accepted)
    async def deploys(request: Request, body: DeploymentRequest) -> Accepted:
        return accepted

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/healthz", health), Mount(PREFIX, app=api)])


def main() -> None:
    port, spec = int(sys.argv[1]), Path(sys.argv[2])
    responses = {k: v.encode() for k, v in json.loads(spec.read_text()).items()}
    app = framework_app(responses) if "--framework" in sys.argv[3:] else floor_app(responses)
    with tempfile.TemporaryDirectory(prefix="dihya-floor-") as tmp:
        settings = load_settings(data_dir=Path(tmp), http_port=port)
        asyncio.run(http_server(app, settings).serve())


if __name__ == "__main__":
    main()
