"""``/readyz`` (issue 16): ready only while the database and the job queue (Redis and the broker under
Celery) answer; it names the leader duties the replica holds."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from dihya.app import build_app
from dihya.http import build_http
from dihya.settings import load_settings
from tests.helpers.ports import free_port

REDIS_URL = "redis://127.0.0.1:6379/9"


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test", timeout=10) as http:
        return await http.get(path)


async def test_ready_with_the_local_queue_and_names_the_duties_held(engine: Engine, tmp_path: Path) -> None:
    app = build_app(load_settings(data_dir=tmp_path), engine=engine)
    plain = await _get(build_http(app), "/readyz")
    leader = await _get(build_http(app, duties=lambda: ("job-sweep", "audit-anchor")), "/readyz")
    assert plain.status_code == 200
    assert plain.json() == {"status": "ready", "database": "ok", "queue": "ok", "leader": []}
    assert leader.json()["leader"] == ["audit-anchor", "job-sweep"]
    app.runtime.close()


async def test_ready_with_celery_when_redis_answers(tmp_path: Path) -> None:
    app = build_app(load_settings(data_dir=tmp_path, jobs="celery", redis_url=REDIS_URL))
    answer = await _get(build_http(app), "/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json()["queue"] == "ok"
    app.close()


async def test_not_ready_when_the_queue_is_unreachable(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = build_app(load_settings(data_dir=tmp_path, jobs="celery", redis_url=dead, health_timeout_seconds=3))
    ready = await _get(build_http(app), "/readyz")
    health = await _get(build_http(app), "/healthz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready", "database": "ok", "queue": "unreachable", "leader": []}
    assert health.status_code == 200  # alive: a restart would not bring Redis back
    app.close()


@contextmanager
def database_locked(engine: Engine) -> Iterator[None]:
    with engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE"))
        yield


async def test_not_ready_while_the_database_does_not_answer(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("no lock blocks an SQLite reader under WAL; PostgreSQL's table locks do")
    app = build_app(load_settings(data_dir=tmp_path, health_timeout_seconds=0.5, health_fresh_seconds=0),
                    engine=engine)
    with database_locked(engine):
        answer = await _get(build_http(app), "/readyz")
    assert answer.status_code == 503
    assert answer.json()["database"] == "timeout"
    assert answer.json()["queue"] == "ok"
    app.runtime.close()
