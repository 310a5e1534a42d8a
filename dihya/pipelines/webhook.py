"""``POST /hooks/github``, ``/hooks/gitlab``, ``/hooks/jenkins``: verify, bound, parse, queue.

Each route does, in order, answering at once when a step fails: a declared ``Content-Length``
above the limit → 413; a header token (GitLab, Jenkins) → 401; the body, read while counting →
413 past the limit; GitHub's HMAC on the raw bytes → 401; JSON → 400; the provider's shape → 400;
a delivery seen before → 200 ``duplicate`` (acted on once); a full queue → 503 + Retry-After.
No secret configured refuses everything (401). No request body is ever logged.

The steps mirror ``dihya.ingress`` (branch security-http: ``Webhook`` + a ``Verifier`` with
``check_headers`` / ``check_body``); each provider's check is one small verifier class here, so
these routes become ``Webhook`` declarations when both are merged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dihya.pipelines.hooks import (
    BadPayload,
    CiEvent,
    bearer,
    github_event,
    github_signed,
    gitlab_event,
    jenkins_event,
    same_token,
)
from dihya.pipelines.ingest import CiIngest
from dihya.settings import Settings

log = logging.getLogger("dihya.pipelines.webhook")
RETRY_AFTER_S = "10"


class Refused(Exception):
    def __init__(self, status: int, error: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.error, self.headers = status, error, dict(headers or {})


def _secret(value: SecretStr | None) -> bytes:
    return value.get_secret_value().encode() if value is not None else b""


@dataclass(frozen=True, slots=True)
class GitHubSignature:
    secret: bytes

    def check_headers(self, _headers: Headers) -> None:
        if not self.secret:
            raise Refused(401, "webhook secret not configured")

    def check_body(self, headers: Headers, body: bytes) -> None:
        if not github_signed(headers.get("x-hub-signature-256"), body, self.secret):
            raise Refused(401, "missing or wrong X-Hub-Signature-256")


@dataclass(frozen=True, slots=True)
class GitLabToken:
    token: bytes

    def check_headers(self, headers: Headers) -> None:
        if not same_token(headers.get("x-gitlab-token"), self.token):
            raise Refused(401, "missing or wrong X-Gitlab-Token")

    def check_body(self, _headers: Headers, _body: bytes) -> None:
        return None  # the headers decided


@dataclass(frozen=True, slots=True)
class JenkinsBearer:
    token: bytes

    def check_headers(self, headers: Headers) -> None:
        if not bearer(headers.get("authorization"), self.token):
            raise Refused(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})

    def check_body(self, _headers: Headers, _body: bytes) -> None:
        return None  # the headers decided


Verifier = GitHubSignature | GitLabToken | JenkinsBearer
Parse = Callable[[Headers, Mapping[str, Any]], CiEvent | None]


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
        ("/hooks/gitlab", GitLabToken(_secret(settings.gitlab_webhook_token)), _gitlab),
        ("/hooks/jenkins", JenkinsBearer(_secret(settings.jenkins_webhook_token)), _jenkins),
    ]
    return [Route(path, _endpoint(path, verifier, parse, ingest, limit), methods=["POST"])
            for path, verifier, parse in hooks]


def _endpoint(path: str, verifier: Verifier, parse: Parse, ingest: CiIngest,
              limit: int) -> Callable[[Request], Any]:
    async def receive(request: Request) -> Response:
        try:
            return await _checked(request, verifier, parse, ingest, limit)
        except Refused as refusal:
            log.info("ci webhook refused", extra={"path": path, "status": refusal.status})
            return JSONResponse({"error": refusal.error}, status_code=refusal.status, headers=refusal.headers)
        except ClientDisconnect:
            return Response(status_code=400)

    return receive


async def _checked(request: Request, verifier: Verifier, parse: Parse, ingest: CiIngest, limit: int) -> Response:
    headers = request.headers
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413 if declared.isdigit() else 400, f"body larger than {limit} bytes")
    verifier.check_headers(headers)
    body = await read_body(request, limit)
    verifier.check_body(headers, body)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise BadPayload("the body must be a JSON object")
        event = parse(headers, payload)
    except (ValueError, RecursionError) as err:  # BadPayload is a ValueError; never echo the body
        raise Refused(400, str(err) if isinstance(err, BadPayload) else "malformed JSON") from None
    if event is None:
        return JSONResponse({"status": "ignored"}, status_code=202)
    outcome = ingest.accept(event)
    if outcome == "busy":
        raise Refused(503, "busy, retry later", {"Retry-After": RETRY_AFTER_S})
    return JSONResponse({"status": outcome}, status_code=200 if outcome == "duplicate" else 202)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as more than ``limit`` bytes have arrived (never more is held)."""
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        body += chunk
    return bytes(body)
