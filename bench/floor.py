"""The floor the HTTP benchmarks compare with: a bare Starlette app, served by the same uvicorn
server ``dihya serve`` uses, whose endpoints only parse the request's JSON and answer what the
real endpoint answered (bytes recorded by the benchmark). No auth, no store, no audit.

Run by the benchmarks: ``python -m bench.floor PORT RESPONSES.json``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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


def main() -> None:
    port, spec = int(sys.argv[1]), Path(sys.argv[2])
    responses = {k: v.encode() for k, v in json.loads(spec.read_text()).items()}
    with tempfile.TemporaryDirectory(prefix="dihya-floor-") as tmp:
        settings = load_settings(data_dir=Path(tmp), http_port=port)
        asyncio.run(http_server(floor_app(responses), settings).serve())


if __name__ == "__main__":
    main()
