"""Scripts on inventory servers: run through Ansible over SSH to a real OpenSSH server (the test's own,
on a loopback port), with the sandbox of the bot's machine shipped along. One script per language
runs there from chat; a changed byte is refused before anything is copied; an echoed secret is
masked everywhere; a script that ignores SIGTERM or floods its output is stopped on the server with
its reason, and nothing of its process group is left there."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.ports import Server
from dihya.app import App, build_app
from dihya.integrity import update_manifest
from dihya.settings import Settings, load_settings
from dihya.vault import generate_key
from tests.helpers.apps import trail
from tests.helpers.compliance import cells_containing, say_direct
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import CONTENT, wait_job
from tests.scripts.test_demo_scripts import http_port
from tests.scripts.test_limits_and_secrets import CANARY, DATA, LANGUAGE, LIMITS, sandbox_processes
from tests.servers.sshd import PYTHON, SshHost, running_sshd

__all__ = ["http_port"]  # the fixture: a local port the probe may reach
REMOTE = 'targets = ["staging"]'
CATALOG = f"""
[inventory]
allow_addresses = ["127.0.0.1"]

[scripts.disk-report]
language = "python"
file = "disk_report.py"
{REMOTE}
[scripts.disk-report.params.path]
type = "choice"
values = ["/tmp"]

[scripts.flush-cache]
language = "bash"
file = "flush_cache.sh"
env = {{ CACHE_ROOT = "/tmp/dihya-remote-cache" }}
{REMOTE}
[scripts.flush-cache.params.cache]
type = "name"

[scripts.http-probe]
language = "node"
file = "http_probe.js"
{REMOTE}
limits = {{ cpu_seconds = 10, memory_mb = 2048, processes = 32 }}
[scripts.http-probe.params.port]
type = "integer"
min = 1
max = 65535

[scripts.echo-secret]
language = "bash"
file = "echo_secret.sh"
secrets = ["api_token"]
{REMOTE}
{LIMITS}

[scripts.stubborn]
language = "bash"
file = "stubborn.sh"
timeout_seconds = 2
{REMOTE}
{LIMITS}

[scripts.flood]
language = "bash"
file = "flood.sh"
{REMOTE}
{LIMITS}
"""


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as host:
        yield host


@pytest.fixture
def settings(tmp_path: Path, ssh_host: SshHost) -> Settings:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    for script in DATA.iterdir():
        shutil.copy(script, content / "scripts" / LANGUAGE[script.suffix] / script.name)
    update_manifest(content)
    config = tmp_path / "dihya.toml"
    config.write_text(CATALOG, encoding="utf-8")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, secret_key=generate_key(), content_dir=content,
                         config_file=config, ssh_user=ssh_host.user, ssh_port=ssh_host.port,
                         ssh_key_file=ssh_host.key_file, ssh_known_hosts=ssh_host.known_hosts,
                         ssh_python=PYTHON)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    await built.start()
    built.store.grant_role("console:dev1", "developer")
    built.store.grant_role("console:ops1", "ops")
    built.store.add_server(Server("web1", "127.0.0.1", "staging"))
    yield built
    await built.stop()


async def run(app: App, chat: Transcript, who: str, command: str) -> tuple[Any, str]:
    before = {job.id for job in app.store.jobs()}
    await chat.say(who, command)
    new = [job for job in app.store.jobs() if job.id not in before]
    assert new, chat.posted[-1].text
    job = await wait_job(app, new[0].id, timeout=90)
    status = next(p for p in chat.posted if p.key == job.key)
    return job, status.current


@pytest.mark.parametrize(("who", "command", "expected"), [
    ("dev1", "script run disk-report on staging path=/tmp", "/tmp"),
    ("ops1", "script run flush-cache on staging cache=sessions", "sessions"),
    ("dev1", "script run http-probe on staging port={port}", "-> 204"),
])
async def test_a_script_of_each_language_runs_on_the_server(app: App, chat: Transcript, who: str, command: str,
                                                            expected: str, http_port: int) -> None:
    job, shown = await run(app, chat, who, command.format(port=http_port))
    assert job.state == "succeeded", (job.result, shown)
    assert str(job.result["details"]["exit"]) == "0"
    assert expected in job.result["details"]["log"]
    await chat.say(who, f"job log {job.id}")
    assert chat.uploads and expected.encode() in chat.uploads[-1].content


async def test_a_changed_byte_is_refused_before_anything_is_copied(app: App, chat: Transcript,
                                                                  settings: Settings) -> None:
    script = settings.content_dir / "scripts" / "python" / "disk_report.py"
    script.write_bytes(script.read_bytes() + b"\n# changed")
    job, shown = await run(app, chat, "dev1", "script run disk-report on staging path=/tmp")
    assert job.state == "refused", (job.state, shown)  # an integrity refusal: nothing was run
    assert "digest does not match" in shown and "scripts/python/disk_report.py" in shown
    assert ("job:refused", "refused") in trail(app)


async def test_an_echoed_secret_is_masked_everywhere(app: App, chat: Transcript, settings: Settings,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    await say_direct(chat, "admin1", f"secret set api_token {CANARY}")
    job, shown = await run(app, chat, "dev1", "script run echo-secret on staging")
    assert job.state == "succeeded", job.result
    assert "token is" in shown and CANARY not in shown
    app.bot.flush_audit()
    texts = [p.text for p in chat.posted] + [e for p in chat.posted for e in p.edits]
    assert not [t for t in texts if CANARY in t]
    assert CANARY not in json.dumps(job.result) and not cells_containing(app.engine, CANARY)
    assert CANARY not in caplog.text
    assert not [p for p in settings.data_dir.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]


@pytest.mark.parametrize(("name", "state", "reason"), [
    ("stubborn", "timed_out", "ran longer than 2 s and was stopped"),
    ("flood", "failed", "printed more than 524288 bytes and was stopped"),
])
async def test_a_misbehaving_script_is_stopped_on_the_server(app: App, chat: Transcript, name: str, state: str,
                                                             reason: str) -> None:
    started = time.monotonic()
    job, shown = await run(app, chat, "dev1", f"script run {name} on staging")
    assert job.state == state and reason in shown, (job.state, shown)
    assert time.monotonic() - started < 40
    assert sandbox_processes() == []  # the server is this machine: nothing of the group is left


async def test_an_unknown_target_gets_the_allowed_ones(chat: Transcript, app: App) -> None:
    reply = await chat.say("dev1", "script run disk-report on production path=/tmp")
    assert "staging" in reply and not app.store.jobs()
