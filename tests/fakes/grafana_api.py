"""A fake Grafana HTTP API: ``POST /api/annotations`` with a bearer token, recorded."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeApiServer, RecordedRequest, Reply, error
from tests.fakes.pipeline_data import sample


class FakeGrafana(FakeApiServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"message": "Unauthorized"})
        return None

    def annotations(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests if r.path == "/api/annotations"]

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path == "/api/annotations" and request.method == "POST":
            return Reply(200, {**sample("grafana_annotation_created"), "id": len(self.annotations())})
        return error(404, "Not found")
