"""One log-excerpt function for both container runners: API error bodies never reach it whole."""

from __future__ import annotations

import json

import pytest
import requests
from docker.errors import APIError, create_api_error_from_http_exception
from kubernetes.client.exceptions import ApiException

from dihya.runners.steps import MAX_EXCERPT, Cancelled, StepFailed, excerpt

SECRET = "s3cr3t-token-value"


def api_error(status: int, reason: str, body: bytes, content_type: str) -> APIError:
    """The error docker-py raises for this answer, made by docker-py's own translation of it."""
    answer = requests.Response()
    answer.status_code, answer.reason, answer._content = status, reason, body
    answer.headers["Content-Type"] = content_type
    answer.url = "http+docker://localhost/v1.41/containers/web/start"
    with pytest.raises(APIError) as raised:
        create_api_error_from_http_exception(requests.HTTPError(response=answer))
    return raised.value


def test_a_docker_error_that_is_not_the_engine_s_json_shows_only_its_status() -> None:
    page = f"<html><body>upstream said: Authorization: Bearer {SECRET}</body></html>".encode()
    error = api_error(502, "Bad Gateway", page, "text/html")
    assert SECRET in str(error)  # what the excerpt used to show

    assert excerpt(error) == "HTTP 502 Bad Gateway"


def test_a_docker_engine_error_shows_its_one_line_message() -> None:
    body = json.dumps({"message": "driver failed programming external connectivity:\n port is already allocated"})
    error = api_error(500, "Internal Server Error", body.encode(), "application/json")

    assert excerpt(error) == ("HTTP 500 Internal Server Error: driver failed programming external connectivity: "
                              "port is already allocated")


def test_a_long_docker_engine_message_is_clipped() -> None:
    body = json.dumps({"message": "x" * 5000}).encode()
    error = api_error(500, "Internal Server Error", body, "application/json")

    assert len(excerpt(error)) < MAX_EXCERPT


def test_a_kubernetes_error_shows_only_its_status() -> None:
    error = ApiException(status=422, reason="Unprocessable Entity")
    error.body = json.dumps({"kind": "Status", "details": {"env": [{"name": "TOKEN", "value": SECRET}]}})

    assert excerpt(error) == "HTTP 422 Unprocessable Entity"


def test_steps_cancels_and_other_faults() -> None:
    assert excerpt(StepFailed("not healthy after 3s")) == "not healthy after 3s"
    assert excerpt(Cancelled()) == ""
    assert excerpt(OSError("connection refused")) == "OSError: connection refused"
    assert len(excerpt(StepFailed("y" * 2000))) == MAX_EXCERPT
