"""``POST /hooks/alertmanager``: bearer-token check, payload check, queue, answer 202 at once.

401 without the right token (or when ``DIHYA_ALERT_WEBHOOK_TOKEN`` is unset: an open alert inlet
would let anyone post in the alert channels); 400 with the reason for a body that is not a version
4 payload, and then nothing is stored; 413 above ``MAX_BODY`` bytes.
"""

from __future__ import annotations

import hmac

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dihya.alerts.ingest import AlertIngest
from dihya.alerts.payload import PayloadError, parse_webhook

PATH = "/hooks/alertmanager"
MAX_BODY = 8 * 1024 * 1024


def _authorised(request: Request, token: SecretStr | None) -> bool:
    if token is None or not token.get_secret_value():
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.get_secret_value().encode())


def alertmanager_routes(ingest: AlertIngest, token: SecretStr | None) -> list[BaseRoute]:
    async def receive(request: Request) -> Response:
        if not _authorised(request, token):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": f"body larger than {MAX_BODY} bytes"}, status_code=413)
        try:
            payload = parse_webhook(body)
        except PayloadError as err:
            return JSONResponse({"error": err.reason}, status_code=400)
        ingest.submit(payload)
        return JSONResponse({"status": "accepted", "alerts": len(payload.alerts)}, status_code=202)

    return [Route(PATH, receive, methods=["POST"])]
