"""Every error answer of the API is the problem document its OpenAPI description promises (what
schemathesis found: a huge id was a 500, an unknown path or method and an unreadable body were
FastAPI's own plain answers)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.api.helpers import BASE, bearer, client

PROBLEM = "application/problem+json"


@pytest.fixture
async def app(tmp_path: Path, engine: Engine) -> AsyncIterator[App]:
    built = build_app(load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0),
                      engine=engine)
    await built.start()
    yield built
    await built.stop()


async def test_errors_outside_the_routes_are_translated_problems(app: App) -> None:
    headers = {**bearer(app, "console:admin1"), "Accept-Language": "fr"}
    async with client(app) as http:
        huge = await http.get(f"{BASE}/jobs/{2**80}", headers=headers)
        method = await http.delete(f"{BASE}/jobs/1", headers=headers)
        newline = await http.get(f"{BASE}/jobs/%0Ax", headers=headers)
        nowhere = await http.get(f"{BASE}/nowhere", headers=headers)
        unreadable = await http.post(f"{BASE}/deploiements/", content=b"\xff\xfe{", headers={
            **headers, "Content-Type": "application/json"})
    for answer in (huge, method, newline, nowhere, unreadable):
        assert answer.headers["content-type"] == PROBLEM, (answer.status_code, answer.text)
        assert answer.json()["status"] == answer.status_code
    assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "path.job_id"
    assert method.status_code == 405 and method.json()["title"] == "Méthode non autorisée"
    assert "GET" in method.headers["Allow"]
    assert newline.status_code == 422
    assert nowhere.status_code == 404 and nowhere.json()["title"] == "Introuvable"
    assert unreadable.status_code in (400, 422)
    assert app.store.jobs() == []


async def test_the_document_describes_errors_as_problems_and_links_operations(app: App) -> None:
    async with client(app) as http:
        spec = (await http.get(f"{BASE}/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
            assert {"401", "403", "422", "429"} <= errors.keys(), (method, path)
            assert all(list(r["content"]) == [PROBLEM] for r in errors.values()), (method, path)
    links = spec["paths"]["/approbations/"]["get"]["responses"]["200"]["links"]
    vote = spec["paths"]["/approbations/{approval_id}/votes"]["post"]["operationId"]
    assert links[vote]["parameters"] == {"approval_id": "$response.body#/items/0/id"}
