"""``dihya serve`` for real: a subprocess with its HTTP app on a free port (health, metrics, webhook)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dihya.app import App
from dihya.http import build_http
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
