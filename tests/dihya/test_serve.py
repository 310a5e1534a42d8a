"""``dihya serve`` for real: a subprocess with its HTTP app on a free port (health, metrics, webhook)."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from dihya.app import App, build_app
from dihya.http import build_http
from dihya.settings import load_settings
from tests.helpers.http_server import served_in_thread
from tests.helpers.ports import free_port


async def test_health_and_metrics(app: App) -> None:
    transport = httpx.ASGITransport(app=build_http(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        health = await http.get("/healthz")
        metrics = await http.get("/metrics")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert "dihya_audit_backlog" in metrics.text
    assert 'dihya_jobs_active{state="queued"}' in metrics.text


def test_serve_starts_answers_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DIHYA_DATA_DIR": str(tmp_path), "DIHYA_HTTP_PORT": str(port),
           "DIHYA_ALERT_WEBHOOK_TOKEN": "hook-token-123456", "DIHYA_ALERTS_CHANNEL": "console:main"}
    process = subprocess.Popen([str(Path(sys.executable).with_name("dihya")), "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "dihya serve did not answer"
                time.sleep(0.2)
        assert health.status_code == 200
        hook = f"http://127.0.0.1:{port}/hooks/alertmanager"
        assert httpx.post(hook, content=b"{}", timeout=5).status_code == 401
        bad = httpx.post(hook, content=b"{not json", timeout=5, headers={"Authorization": "Bearer hook-token-123456"})
        assert bad.status_code == 400
    finally:
        process.terminate()
        assert process.wait(20) is not None


# -- issue 10, hole 12 ---------------------------------------------------------------------------
METRICS_TOKEN = "metrics-token-5b2e9c"


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": f"Basic {METRICS_TOKEN}"}, 401),
    ({"Authorization": f"Bearer {METRICS_TOKEN}"}, 200),
])
async def test_hole_12_metrics_can_require_a_bearer_token(engine: Engine, tmp_path: Path,
                                                         headers: dict[str, str], status: int) -> None:
    app = build_app(load_settings(data_dir=tmp_path, metrics_token=METRICS_TOKEN), engine=engine)
    transport = httpx.ASGITransport(app=build_http(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        metrics = await http.get("/metrics", headers=headers)
        health = await http.get("/healthz")
    assert metrics.status_code == status
    assert ("dihya_audit_backlog" in metrics.text) == (status == 200)
    assert health.status_code == 200  # probes need no token
    app.runtime.close()


@contextmanager
def database_locked(engine: Engine) -> Iterator[None]:
    """Another connection holds the two tables the health and metrics queries read."""
    with engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE audit_head, jobs IN ACCESS EXCLUSIVE MODE"))
        yield


async def test_hole_12_health_and_metrics_answer_while_the_database_is_locked(engine: Engine,
                                                                              tmp_path: Path) -> None:
    if engine.dialect.name == "sqlite":  # since hole 4, SQLite readers (WAL) wait for no lock at all
        pytest.skip("no lock blocks an SQLite reader under WAL; PostgreSQL's table locks do")
    settings = load_settings(data_dir=tmp_path, http_port=free_port(), health_timeout_seconds=1.0,
                             health_fresh_seconds=0)
    app = build_app(settings, engine=engine)
    with served_in_thread(build_http(app), settings) as base:
        async with httpx.AsyncClient(base_url=base, timeout=4) as http:
            assert (await http.get("/healthz")).status_code == 200
            with database_locked(engine):
                started = time.monotonic()
                probes = asyncio.gather(*(http.get("/healthz") for _ in range(5)), http.get("/metrics"))
                await asyncio.sleep(0.2)
                other = await http.get("/no-such-page")  # the server's event loop is free meanwhile
                assert other.status_code == 404
                assert not probes.done()
                assert time.monotonic() - started < 0.9
                *health, metrics = await probes
                elapsed = time.monotonic() - started
            assert [h.status_code for h in health] == [503] * 5
            assert {h.json()["database"] for h in health} == {"timeout"}
            assert metrics.status_code == 503
            assert elapsed < 2.5
            deadline = time.monotonic() + 10
            while (await http.get("/healthz")).status_code != 200:
                assert time.monotonic() < deadline, "healthy again once the lock is released"
                await asyncio.sleep(0.1)
    app.runtime.close()


def test_an_incomplete_request_head_is_limited_in_size(tmp_path: Path) -> None:
    """h11 holds the bytes of a head until it is complete: at most ``DIHYA_HTTP_MAX_HEADER_BYTES``."""
    settings = load_settings(data_dir=tmp_path, http_port=free_port(), http_max_header_bytes=2048)
    app = build_app(settings)
    with served_in_thread(build_http(app), settings) as base:
        assert httpx.get(f"{base}/healthz", headers={"X-Padding": "p" * 1000}).status_code == 200
        with socket.create_connection(("127.0.0.1", settings.http_port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: dihya\r\nX-Padding: " + b"p" * 3000)
            assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
    app.runtime.close()
