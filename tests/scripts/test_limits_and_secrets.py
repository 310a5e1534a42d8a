"""Scripts that misbehave, run as jobs through the whole bot: each is killed within its limit, its job
fails (or times out) with the reason, nothing of its process group is left running, and the bot keeps
answering. A secret handed to a script as an environment variable and echoed by it appears nowhere."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.http import build_http
from dihya.integrity import update_manifest
from dihya.settings import Settings, load_settings
from dihya.vault import generate_key
from tests.api.helpers import BASE, bearer, client
from tests.helpers.compliance import cells_containing, say_direct
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import CONTENT, wait_job

DATA = Path(__file__).resolve().parents[1] / "data" / "scripts"
CANARY = "CANARY-4f1e9c2b7d6a4e0f8b3c"
LIMITS = "limits = { cpu_seconds = 2, memory_mb = 256, file_mb = 4, processes = 16, output_kb = 512 }"
CATALOG = f"""
[scripts.echo-secret]
language = "bash"
file = "echo_secret.sh"
secrets = ["api_token"]
{LIMITS}

[scripts.hidden]
language = "python"
file = "hidden.py"
show_output = false
{LIMITS}

[scripts.memory-hog]
language = "python"
file = "memory_hog.py"
{LIMITS}

[scripts.fork-bomb]
language = "bash"
file = "fork_bomb.sh"
timeout_seconds = 3
{LIMITS}

[scripts.flood]
language = "bash"
file = "flood.sh"
{LIMITS}

[scripts.stubborn]
language = "bash"
file = "stubborn.sh"
timeout_seconds = 2
{LIMITS}
"""
LANGUAGE = {".sh": "bash", ".py": "python"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    for script in DATA.iterdir():
        folder = content / "scripts" / LANGUAGE[script.suffix]
        shutil.copy(script, folder / script.name)
    update_manifest(content)
    config = tmp_path / "dihya.toml"
    config.write_text(CATALOG, encoding="utf-8")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, secret_key=generate_key(), content_dir=content,
                         config_file=config)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    await built.start()
    built.store.grant_role("console:dev1", "developer")
    yield built
    await built.stop()


def sandbox_processes() -> list[str]:
    """Processes of the sandbox user that are not zombies (scripts run as ``nobody`` under root)."""
    if os.getuid() != 0:
        return []
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == 65534 and b") Z " not in Path(f"/proc/{entry.name}/stat").read_bytes():
                    found.append(entry.name)
            except OSError:
                continue
    return found


async def run(app: App, chat: Transcript, name: str) -> tuple[Any, str, float]:
    started = time.monotonic()
    await chat.say("dev1", f"script run {name}")
    job = await wait_job(app, app.store.jobs()[0].id, timeout=60)
    status = next(p for p in chat.posted if p.key == job.key)
    return job, status.current, time.monotonic() - started


BACKGROUND = ("failed", "left processes running in the background; they were stopped")
TOO_LONG = ("timed_out", "ran longer than {} s and was stopped")


@pytest.mark.parametrize(("name", "outcomes", "within"), [
    ("memory-hog", [("failed", "ran out of memory (limit 256 MB)")], 5),
    # the bomb's first shell either returns at once or waits on its children until the timeout
    ("fork-bomb", [BACKGROUND, (TOO_LONG[0], TOO_LONG[1].format(3))], 8),
    ("flood", [("failed", "printed more than 524288 bytes and was stopped")], 5),
    ("stubborn", [(TOO_LONG[0], TOO_LONG[1].format(2))], 8),
])
async def test_a_misbehaving_script_is_stopped_with_its_reason(app: App, chat: Transcript, name: str,
                                                               outcomes: list[tuple[str, str]], within: float) -> None:
    job, shown, took = await run(app, chat, name)
    reasons = dict(outcomes)
    assert job.state in reasons, job.result
    assert reasons[job.state] in shown
    assert took < within
    assert sandbox_processes() == []
    started = time.monotonic()
    assert "pong" in (await chat.say("dev1", "ping")).lower()  # the bot answers at once
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("name", ["fork-bomb", "flood", "stubborn"])
async def test_health_answers_quickly_while_a_script_misbehaves(app: App, chat: Transcript, name: str) -> None:
    await chat.say("dev1", f"script run {name}")
    await wait_job(app, 1, state="running")
    transport = httpx.ASGITransport(app=build_http(app))
    slowest = 0.0
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        for _ in range(10):
            started = time.monotonic()
            assert (await http.get("/healthz")).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.05)
    assert slowest < 0.1
    await wait_job(app, 1, timeout=30)
    assert sandbox_processes() == []


async def test_an_echoed_secret_appears_nowhere(app: App, chat: Transcript, settings: Settings,
                                                caplog: pytest.LogCaptureFixture) -> None:
    await say_direct(chat, "admin1", f"secret set api_token {CANARY}")
    job, shown, _ = await run(app, chat, "echo-secret")
    assert job.state == "succeeded", job.result
    assert "token is [REDACTED]" in shown
    await chat.say("dev1", "job log 1")
    assert b"token is [REDACTED]" in chat.uploads[-1].content
    app.bot.flush_audit()
    texts = [p.text for p in chat.posted] + [e for p in chat.posted for e in p.edits]
    assert not [t for t in texts if CANARY in t]
    assert not [u for u in chat.uploads if CANARY.encode() in u.content]
    assert CANARY not in json.dumps(job.result) and not cells_containing(app.engine, CANARY)
    assert CANARY not in caplog.text
    assert not [p for p in settings.data_dir.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    async with client(app) as http:  # the job as the API shows it: its record, progress and whole log
        answers = [await http.get(f"{BASE}/jobs/{job.id}{tail}", headers=bearer(app, "console:dev1"))
                   for tail in ("", "/events", "/log")]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "token is [REDACTED]" in answers[2].text
    assert not [a for a in answers if CANARY in a.text]


async def test_a_missing_secret_stops_the_run_before_it_starts(app: App, chat: Transcript) -> None:
    job, shown, _ = await run(app, chat, "echo-secret")
    assert job.state == "refused" and "api_token" in shown and "not set" in shown  # nothing was run


async def test_output_not_for_the_channel_stays_out_of_it(app: App, chat: Transcript) -> None:
    job, shown, _ = await run(app, chat, "hidden")
    assert job.state == "succeeded"
    assert "alice" not in shown and all("alice" not in e for p in chat.posted for e in [p.text, *p.edits])
    assert "direct message" in await chat.say("dev1", f"job log {job.id}")
    assert not chat.uploads
    await say_direct(chat, "dev1", f"job log {job.id}")
    assert b"alice@example.org" in chat.uploads[-1].content
