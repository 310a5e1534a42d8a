"""End to end on the real stack: Prometheus → Alertmanager → ``POST /hooks/alertmanager`` on the
bot's own HTTP app (uvicorn) → a message in the routed channel, edited when the target is back;
🔕 from chat creates a real Alertmanager silence."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dihya.alerts.webhook import alertmanager_routes
from dihya.app import App
from dihya.http import build_http
from dihya.monitoring.port import AlertmanagerPort
from tests.helpers.alerts import CRITICAL_CHANNEL, TOKEN, alert_app
from tests.helpers.transcript import Posted, Transcript
from tests.servers.monitoring import INSTANCE, MonitoringStack, free_port, running_stack

ARRIVAL_S = 15.0


class RecordingApp:
    """ASGI middleware keeping every webhook body, so a test can deliver one again."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []
        self.times: list[float] = []  # time.monotonic() of each arrival

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.bodies.append(body)
        self.times.append(time.monotonic())

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.inner(scope, replay, send)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> App:
    built = alert_app(engine, tmp_path)  # severity=critical routes to CRITICAL_CHANNEL (console:oncall)
    built.store.grant_role("console:ops1", "ops")
    built.store.grant_role("console:dev1", "developer")
    return built


async def until(check: Callable[[], object], what: str, timeout: float = ARRIVAL_S) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


async def serving(app: App, port: int, body: Callable[[RecordingApp], Awaitable[None]]) -> None:
    assert app.alerts is not None
    recorder = RecordingApp(build_http(app, alertmanager_routes(app.alerts, app.settings)))
    server = uvicorn.Server(uvicorn.Config(recorder, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    await app.start()
    try:
        await until(lambda: server.started, "uvicorn started", 10)
        await body(recorder)
    finally:
        server.should_exit = True
        await task
        await app.stop()


def firing_message(chat: Transcript) -> Posted | None:
    return next((p for p in chat.posted if p.key == "alert:1" and "FIRING" in p.text), None)


@pytest.mark.slow
async def test_target_down_posts_up_edits_redelivery_and_silence(app: App, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "stack").mkdir()
    with running_stack(tmp_path / "stack", f"http://127.0.0.1:{port}/hooks/alertmanager", TOKEN) as stack:
        chat = Transcript(app, channel=CRITICAL_CHANNEL.partition(":")[2])  # people react where it lands
        app.bot.services = dataclasses.replace(app.bot.services,
                                               silences=AlertmanagerPort(stack.alertmanager_url, 5))

        async def scenario(recorder: RecordingApp) -> None:
            message = await _down(chat, stack, recorder)
            await _silence(chat, stack, message)
            await _up_and_redeliver(app, chat, stack, recorder, port, message)

        await serving(app, port, scenario)


async def _down(chat: Transcript, stack: MonitoringStack, recorder: RecordingApp) -> Posted:
    """Acceptance 1: target down → a message in the routed channel within 15 s of the delivery."""
    await asyncio.to_thread(stack.target_down)
    await until(lambda: recorder.bodies, "Alertmanager delivering", 20)
    sent_at = recorder.times[0]
    await until(lambda: firing_message(chat), "firing message in the routed channel", ARRIVAL_S)
    assert time.monotonic() - sent_at < ARRIVAL_S
    message = firing_message(chat)
    assert message is not None and message.channel == "oncall"
    for part in (INSTANCE, "[critical]", "InstanceDown", "is down", "runbooks.example.org", stack.prometheus_url):
        assert part in message.text, part
    return message


async def _silence(chat: Transcript, stack: MonitoringStack, message: Posted) -> None:
    """Acceptance 2: 🔕 by a developer is refused with a reason; by an operator, a real silence."""
    refused = await chat.react("dev1", "🔕", message.id)
    assert "not allowed" in refused and "alerts.manage" in refused
    answer = await chat.react("ops1", "🔕", message.id)
    listed = httpx.get(f"{stack.alertmanager_url}/api/v2/silences", timeout=5).json()
    mine = [s for s in listed if s["createdBy"] == "console:ops1" and s["status"]["state"] == "active"]
    assert len(mine) == 1 and mine[0]["id"] in answer
    assert {m["name"]: m["value"] for m in mine[0]["matchers"]} == {"alertname": "InstanceDown", "instance": INSTANCE}
    assert not [s for s in listed if s["createdBy"] == "console:dev1"]
    httpx.delete(f"{stack.alertmanager_url}/api/v2/silence/{mine[0]['id']}", timeout=5)


async def _up_and_redeliver(app: App, chat: Transcript, stack: MonitoringStack, recorder: RecordingApp, port: int,
                            message: Posted) -> None:
    """Acceptance 1: target up → the same message edited to resolved; redelivery changes nothing."""
    await asyncio.to_thread(stack.target_up)
    await until(lambda: "RESOLVED" in message.current, "message edited to resolved", 20)
    posted, edits = len(chat.posted), len(message.edits)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for body in list(recorder.bodies):
            answer = await client.post("/hooks/alertmanager", content=body,
                                       headers={"Authorization": f"Bearer {TOKEN}"})
            assert answer.status_code == 202
    assert app.alerts is not None
    await app.alerts.idle()
    assert (len(chat.posted), len(message.edits)) == (posted, edits)
    assert app.store.firing_alerts() == []
