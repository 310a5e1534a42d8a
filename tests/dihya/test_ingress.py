"""The shared webhook ingress (issue 10): every step refuses before the next one costs anything,
and nothing a client sends reaches a log. A toy route stands for every webhook declared on it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from dihya import bounded_json
from dihya.ingress import BearerToken, Delivery, Refused, SecretHeader, Webhook, json_document
from tests.helpers.ingress import CountingBody, nested_json

LIMIT = 4096


class Route:
    """A route on the ingress that records how far each request got."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.webhook = Webhook("/hook", LIMIT, self, self.decode, self.handle)

    def check_headers(self, headers: Headers, /) -> None:
        self.steps.append("headers")
        if headers.get("x-key") != "good":
            raise Refused(401, "who are you")

    def check_body(self, headers: Headers, body: bytes, /) -> None:
        self.steps.append("body")
        if not body.startswith(b"{"):
            raise Refused(401, "bad signature")

    def decode(self, headers: Headers, body: bytes) -> object:
        self.steps.append("decode")
        return json_document(headers, body)

    async def handle(self, delivery: Delivery[object]) -> Response:
        self.steps.append("handle")
        if delivery.value == {"full": True}:
            raise Refused(503, "busy", {"Retry-After": "10"})
        return JSONResponse({"got": delivery.value})


@pytest.fixture
async def route() -> AsyncIterator[tuple[Route, httpx.AsyncClient]]:
    toy = Route()
    transport = httpx.ASGITransport(app=Starlette(routes=[toy.webhook.route()]))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        yield toy, http


GOOD = {"x-key": "good"}


@pytest.mark.parametrize(("body", "headers", "status", "steps"), [
    (b'{"a": 1}', GOOD, 200, ["headers", "body", "decode", "handle"]),
    (b'{"a": 1}', {}, 401, ["headers"]),
    (b"x" * (LIMIT + 1), {}, 413, []),  # declared length: refused before anything else
    (b"not json", GOOD, 401, ["headers", "body"]),
    (b"{not json", GOOD, 400, ["headers", "body", "decode"]),
    (nested_json(65), GOOD, 400, ["headers", "body", "decode"]),
    (b'{"full": true}', GOOD, 503, ["headers", "body", "decode", "handle"]),
])
async def test_each_step_refuses_before_the_next(route: tuple[Route, httpx.AsyncClient], body: bytes,
                                                 headers: dict[str, str], status: int, steps: list[str]) -> None:
    toy, http = route
    answer = await http.post("/hook", content=body, headers=headers)
    assert answer.status_code == status
    assert toy.steps == steps
    if status == 503:
        assert answer.headers["Retry-After"] == "10"


async def test_a_body_without_a_length_is_counted_while_it_streams(route: tuple[Route, httpx.AsyncClient]) -> None:
    toy, http = route
    body = CountingBody(10, size=1024)
    answer = await http.post("/hook", content=body, headers=GOOD)
    assert answer.status_code == 413
    assert body.pulled == 5  # four chunks fit the limit; the fifth passes it and reading stops
    assert toy.steps == ["headers"]


async def test_refusals_log_a_line_without_the_body(route: tuple[Route, httpx.AsyncClient],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, http = route
    for headers, body in (({}, b'{"canary": "c4n4ry"}'), (GOOD, b'{"canary": "c4n4ry"')):
        await http.post("/hook", content=body, headers=headers)
    refusals = [r for r in caplog.records if r.name == "dihya.ingress"]
    assert [getattr(r, "status", None) for r in refusals] == [401, 400]
    assert "c4n4ry" not in caplog.text + "".join(repr(r.__dict__) for r in caplog.records)


@pytest.mark.parametrize(("headers", "ok"), [
    ({"Authorization": "Bearer s3cret"}, True), ({"Authorization": "bearer  s3cret "}, True),
    ({"Authorization": "Bearer s3cre"}, False), ({"Authorization": "Basic s3cret"}, False), ({}, False),
])
def test_bearer_token(headers: dict[str, str], ok: bool) -> None:
    check = BearerToken(SecretStr("s3cret")).check_headers
    if ok:
        check(Headers(headers))
    else:
        with pytest.raises(Refused) as refused:
            check(Headers(headers))
        assert refused.value.status == 401
        assert refused.value.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize("verifier", [BearerToken(None), BearerToken(SecretStr("")), SecretHeader("x-secret", None)])
def test_without_a_configured_secret_everything_is_refused(verifier: BearerToken | SecretHeader) -> None:
    with pytest.raises(Refused):
        verifier.check_headers(Headers({"Authorization": "Bearer ", "x-secret": ""}))


@pytest.mark.parametrize(("raw", "reason"), [
    (nested_json(bounded_json.MAX_DEPTH + 1), "nested deeper"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    (b"1" * 5000, "malformed JSON"),  # more digits than Python converts
    (b'"\xff"', "malformed JSON"),
    (b"", "malformed JSON"),
])
def test_bounded_json_refuses(raw: bytes, reason: str) -> None:
    with pytest.raises(bounded_json.MalformedJson, match=reason):
        bounded_json.loads(raw)


def test_bounded_json_reads_up_to_the_limit() -> None:
    value = bounded_json.loads(nested_json(bounded_json.MAX_DEPTH))
    assert isinstance(value, dict)
    assert bounded_json.loads(b'[{"a": [1, {"b": null}]}]') == [{"a": [1, {"b": None}]}]
