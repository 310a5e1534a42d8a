"""``POST /hooks/alertmanager``: bearer-token check, payload check, queue, answer 202 at once.

Declared on the shared ingress (``dihya.ingress``): 401 without the right token (or when
``DIHYA_ALERT_WEBHOOK_TOKEN`` is unset: an open alert inlet would let anyone post in the alert
channels), before the body is read; 413 as soon as the body passes
``DIHYA_ALERT_WEBHOOK_MAX_BODY_BYTES``; 400 with the reason for a body that is not a version 4
payload, and then nothing is stored; 503 with ``Retry-After`` while the delivery queue is full.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from dihya.alerts.ingest import AlertIngest
from dihya.alerts.payload import PayloadError, payload_of
from dihya.ingress import BearerToken, Delivery, Refused, Webhook, json_document, queue_full
from dihya.settings import Settings

PATH = "/hooks/alertmanager"


def alertmanager_routes(ingest: AlertIngest, settings: Settings) -> list[BaseRoute]:
    async def accept(delivery: Delivery[object]) -> Response:
        try:
            payload = payload_of(delivery.value)
        except PayloadError as err:
            raise Refused(400, err.reason) from None
        if not ingest.submit(payload):
            raise queue_full()
        return JSONResponse({"status": "accepted", "alerts": len(payload.alerts)}, status_code=202)

    webhook = Webhook(PATH, settings.alert_webhook_max_body_bytes, BearerToken(settings.alert_webhook_token),
                      json_document, accept, busy=ingest.full)
    return [webhook.route()]
