"""How every webhook route reads, authenticates and decodes a request (issue 10).

A route is one ``Webhook`` declaration: its path, the most bytes it accepts, a verifier, a decoder
and a handler. Each step answers at once when it fails, before the next one costs anything:

1. a declared ``Content-Length`` above ``max_bytes`` → 413, nothing read;
2. ``verifier.check_headers`` (a token, a timestamp) → 401/403, nothing read;
3. the body, streamed and counted → 413 as soon as it passes ``max_bytes`` (never more is held);
4. ``verifier.check_body`` on the raw bytes (a signature) → 401, nothing parsed;
5. ``decode`` → 400 (not JSON, nested too deeply, not the expected shape);
6. ``handle``, which may refuse too (``Refused``): a shape only it knows (400), a full queue (503).

No request body is ever logged: a refusal is one line with the path and the status. Clients too
slow to send their request are cut off by the server (``dihya.http_server``), not here.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dihya import bounded_json

__all__ = ["BearerToken", "Delivery", "Refused", "SecretHeader", "Verifier", "Webhook", "json_document",
           "queue_full", "read_body"]

T = TypeVar("T")
log = logging.getLogger("dihya.ingress")
RETRY_AFTER_S = 10  # what a sender is told to wait when a queue is full


class Refused(Exception):
    """Answer ``status`` with ``{"error": error}``; ``error`` goes to the client only, never to a log."""

    def __init__(self, status: int, error: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.error = error
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return JSONResponse({"error": self.error}, status_code=self.status, headers=self.headers)


def queue_full() -> Refused:
    """What a handler raises when its queue is full: 503 and when to retry (the senders do retry)."""
    return Refused(503, "busy, retry later", {"Retry-After": str(RETRY_AFTER_S)})


class Verifier(Protocol):
    """Who may post: what the headers alone decide first, then what needs the raw bytes."""

    def check_headers(self, headers: Headers, /) -> None: ...
    def check_body(self, headers: Headers, body: bytes, /) -> None: ...


@dataclass(frozen=True, slots=True)
class BearerToken:
    """``Authorization: Bearer <token>``. Without a token configured everything is refused: an open
    inlet would let anyone post."""

    token: SecretStr | None

    def check_headers(self, headers: Headers) -> None:
        expected = self.token.get_secret_value().encode() if self.token is not None else b""
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if not (expected and scheme.lower() == "bearer" and _same(given.strip(), expected)):
            raise Refused(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})

    def check_body(self, _headers: Headers, _body: bytes, /) -> None:
        return None  # the headers decided


@dataclass(frozen=True, slots=True)
class SecretHeader:
    """A shared secret the sender repeats in a header (Telegram); none configured refuses everything."""

    name: str
    secret: bytes | None
    status: int = 403

    def check_headers(self, headers: Headers) -> None:
        given = headers.get(self.name)
        if self.secret is None or given is None or not _same(given, self.secret):
            raise Refused(self.status, "missing or wrong secret token")

    def check_body(self, _headers: Headers, _body: bytes, /) -> None:
        return None  # the headers decided


def _same(given: str, expected: bytes) -> bool:
    """Constant-time; header values arrive decoded as Latin-1, so they encode back to their bytes."""
    return hmac.compare_digest(given.encode("latin-1", "replace"), expected)


def json_document(headers: Headers, body: bytes) -> object:
    """Any JSON value, nested at most ``bounded_json.MAX_DEPTH`` levels."""
    try:
        return bounded_json.loads(body)
    except bounded_json.MalformedJson as err:
        raise Refused(400, str(err)) from None


@dataclass(frozen=True, slots=True)
class Delivery(Generic[T]):
    """A request that passed every check: its raw bytes and what the decoder made of them."""

    request: Request
    body: bytes
    value: T


@dataclass(frozen=True, slots=True)
class Webhook(Generic[T]):
    path: str
    max_bytes: int
    verifier: Verifier
    decode: Callable[[Headers, bytes], T]
    handle: Callable[[Delivery[T]], Awaitable[Response]]
    # True while the handler's queue is full: 503 before the body is read and parsed, so a bot
    # that is behind does not spend what it has left on deliveries it would refuse anyway.
    busy: Callable[[], bool] = lambda: False

    def route(self) -> Route:
        return Route(self.path, self.endpoint, methods=["POST"])

    async def endpoint(self, request: Request) -> Response:
        try:
            return await self._checked(request)
        except Refused as refusal:
            log.info("webhook request refused", extra={"path": self.path, "status": refusal.status})
            return refusal.response()
        except ClientDisconnect:  # nobody is left to answer (the server may have cut a slow sender off)
            log.info("webhook client went away", extra={"path": self.path})
            return Response(status_code=400)

    async def _checked(self, request: Request) -> Response:
        headers = request.headers
        _check_declared_length(headers, self.max_bytes)
        self.verifier.check_headers(headers)
        if self.busy():
            raise queue_full()
        body = await read_body(request, self.max_bytes)
        self.verifier.check_body(headers, body)
        value = self.decode(headers, body)
        return await self.handle(Delivery(request, body, value))


def _check_declared_length(headers: Headers, limit: int) -> None:
    declared = headers.get("content-length")
    if declared is None:
        return  # chunked: counted while reading
    if not (declared.isascii() and declared.isdigit()):
        raise Refused(400, "malformed Content-Length")
    if int(declared) > limit:
        raise Refused(413, f"body larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or ``Refused(413)`` as soon as more than ``limit`` bytes have arrived."""
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        body += chunk
    return bytes(body)
