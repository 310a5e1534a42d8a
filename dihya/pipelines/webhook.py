"""``POST /hooks/github``, ``/hooks/gitlab``, ``/hooks/jenkins``: verify, bound, parse, queue.

Each route is a ``dihya.ingress.Webhook`` declaration, so it answers as every webhook does: a
declared ``Content-Length`` above the limit → 413; a header token (GitLab, Jenkins) → 401; the body,
read while counting → 413 past the limit; GitHub's HMAC on the raw bytes → 401; JSON (bounded
nesting) → 400; the provider's shape → 400; a delivery seen before → 200 ``duplicate`` (acted on
once); a full queue → 503 + Retry-After. No secret configured refuses everything (401). No request
body is ever logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from dihya.ingress import BearerToken, Delivery, Refused, SecretHeader, Verifier, Webhook, json_document, queue_full
from dihya.pipelines.hooks import BadPayload, CiEvent, github_event, github_signed, gitlab_event, jenkins_event
from dihya.pipelines.ingest import CiIngest
from dihya.settings import Settings

Parse = Callable[[Headers, Mapping[str, Any]], CiEvent | None]


def _secret(value: SecretStr | None) -> bytes | None:
    return value.get_secret_value().encode() if value is not None and value.get_secret_value() else None


@dataclass(frozen=True, slots=True)
class GitHubSignature:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body under the webhook secret."""

    secret: bytes | None

    def check_headers(self, _headers: Headers) -> None:
        if not self.secret:
            raise Refused(401, "webhook secret not configured")

    def check_body(self, headers: Headers, body: bytes) -> None:
        if not github_signed(headers.get("x-hub-signature-256"), body, self.secret or b""):
            raise Refused(401, "missing or wrong X-Hub-Signature-256")


def _github(headers: Headers, payload: Mapping[str, Any]) -> CiEvent | None:
    delivery = headers.get("x-github-delivery") or ""
    if not delivery:
        raise BadPayload("X-GitHub-Delivery is missing")
    return github_event(headers.get("x-github-event", ""), delivery, payload)


def _gitlab(headers: Headers, payload: Mapping[str, Any]) -> CiEvent | None:
    delivery = headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid") or ""
    if not delivery:
        raise BadPayload("Idempotency-Key or X-Gitlab-Event-UUID is missing")
    return gitlab_event(headers.get("x-gitlab-event", ""), delivery, payload)


def _jenkins(headers: Headers, payload: Mapping[str, Any]) -> CiEvent | None:
    return jenkins_event(payload)


def ci_routes(ingest: CiIngest, settings: Settings) -> list[BaseRoute]:
    limit = settings.ci_webhook_max_body_bytes
    hooks: list[tuple[str, Verifier, Parse]] = [
        ("/hooks/github", GitHubSignature(_secret(settings.github_webhook_secret)), _github),
        ("/hooks/gitlab", SecretHeader("x-gitlab-token", _secret(settings.gitlab_webhook_token), status=401), _gitlab),
        ("/hooks/jenkins", BearerToken(settings.jenkins_webhook_token), _jenkins),
    ]
    return [Webhook(path, limit, verifier, _decoder(parse), _handler(ingest)).route()
            for path, verifier, parse in hooks]


def _decoder(parse: Parse) -> Callable[[Headers, bytes], CiEvent | None]:
    def decode(headers: Headers, body: bytes) -> CiEvent | None:
        payload = json_document(headers, body)
        try:
            if not isinstance(payload, dict):
                raise BadPayload("the body must be a JSON object")
            return parse(headers, payload)
        except BadPayload as err:  # names what is missing, never echoes the body
            raise Refused(400, str(err)) from None

    return decode


def _handler(ingest: CiIngest) -> Callable[[Delivery[CiEvent | None]], Any]:
    async def handle(delivery: Delivery[CiEvent | None]) -> Response:
        if delivery.value is None:
            return JSONResponse({"status": "ignored"}, status_code=202)
        outcome = ingest.accept(delivery.value)
        if outcome == "busy":
            raise queue_full()
        return JSONResponse({"status": outcome}, status_code=200 if outcome == "duplicate" else 202)

    return handle
