"""The demo catalog end to end on the embedded default: one script per language (real python3, bash and
node) and one playbook, run from chat as jobs with progress in the thread and the full log downloadable;
a byte changed in a file → refused and audited; bad input gets the allowed names."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.parser import Parsed, parse
from commands.scripts import api_args
from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.apps import trail
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import content_copy, wait_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "dihya.toml"  # the demo playbook runs here: its server is this machine
    config.write_text('[inventory]\nallow_addresses = ["127.0.0.1"]\n', encoding="utf-8")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, content_dir=content_copy(tmp_path), config_file=config)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    built.watcher._interval = 0.2
    await built.start()
    for who, role in (("dev1", "developer"), ("ops1", "ops"), ("devops1", "devops")):
        built.store.grant_role(f"console:{who}", role)
    yield built
    await built.stop()


def status_of(chat: Transcript, job_id: int) -> Any:
    return next(p for p in chat.posted if p.key == f"job:{job_id}")


async def test_scripts_lists_what_the_sender_may_run(app: App, chat: Transcript) -> None:
    mine = await chat.say("dev1", "scripts")
    assert "disk-report [python] [path=…]" in mine and "http-probe [node] port=…" in mine
    assert "flush-cache" not in mine and "deploy_app.yml" not in mine
    theirs = await chat.say("ops1", "scripts")
    assert "flush-cache [bash] cache=…" in theirs and "(needs approval)" in theirs and "deploy_app.yml" in theirs
    assert "no script" in await chat.say("guest9", "scripts")


async def test_python_script_runs_with_progress_and_a_downloadable_log(app: App, chat: Transcript) -> None:
    await chat.say("dev1", "script run disk-report path=/tmp")
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    status = status_of(chat, 1)
    assert "✅" in status.current and "disk-report" in status.current and "/tmp:" in status.current
    assert "job log 1" in status.current
    await chat.say("dev1", "job log 1")
    [log] = chat.uploads
    assert log.filename == "job-1.log" and log.content.decode().startswith("/tmp: ")
    assert ("job:succeeded", "succeeded") in trail(app)


async def test_bash_script_needs_approval_then_runs(app: App, chat: Transcript) -> None:
    assert "not allowed" in await chat.say("dev1", "script run flush-cache cache=thumbnails")
    await chat.say("ops1", "script run flush-cache cache=thumbnails")
    assert app.store.jobs() == []
    await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    assert "cache thumbnails" in status_of(chat, 1).current


@pytest.fixture
def http_port() -> Iterator[int]:
    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


async def test_node_script_probes_a_local_port(app: App, chat: Transcript, http_port: int) -> None:
    await chat.say("dev1", f"script run http-probe port={http_port}")
    job = await wait_job(app, 1)
    assert job.state == "succeeded", job.result
    assert f"127.0.0.1:{http_port}/ -> 204" in status_of(chat, 1).current


async def test_node_script_failure_shows_the_last_lines(app: App, chat: Transcript) -> None:
    await chat.say("dev1", "script run http-probe port=1")
    job = await wait_job(app, 1)
    assert job.state == "failed"
    shown = status_of(chat, 1).current
    assert "exited with status 1" in shown and "ECONNREFUSED" in shown


async def test_playbook_runs_from_the_script_catalog(app: App, chat: Transcript, settings: Settings) -> None:
    await chat.say("ops1", "script run deploy_app.yml version=v3")
    await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(app, 1, timeout=120)
    assert job.state == "succeeded", job.result
    assert (settings.data_dir / "deployed" / "app-localhost.txt").read_text() == "v3"
    assert any("step" in edit for edit in status_of(chat, 1).edits)
    await chat.say("ops1", "job log 1")
    assert b"app v3 deployed on localhost" in chat.uploads[-1].content


async def test_the_api_body_builds_the_same_command_as_chat(app: App, chat: Transcript, settings: Settings) -> None:
    """``POST /api/it_devops/scripts/ {"nom": "deploy_app.yml", "cible": "all"}``, as the API adapter will
    convert it, is the command chat gives; on the inventory's servers it runs the playbook."""
    command = app.bot.services.registry.commands["script.run"]
    typed = {k: command.arg(k).kind.convert(str(v), command.arg(k).label)
             for k, v in api_args("deploy_app.yml", "all").items()}
    parsed = parse(app.bot.services.registry, "script run deploy_app.yml on all")
    assert isinstance(parsed, Parsed) and parsed.args == typed
    assert command.permission_for(typed) == "ops.run"
    assert "No servers in all" in await run_approved(app, chat, "script run deploy_app.yml on all", 1)
    await chat.say("admin1", "servers add web-01 127.0.0.1 staging")
    assert "succeeded" in await run_approved(app, chat, "script run deploy_app.yml on all version=v4", 2)
    assert (settings.data_dir / "deployed" / "app-web-01.txt").read_text() == "v4"


async def run_approved(app: App, chat: Transcript, ask: str, job_id: int) -> str:
    await chat.say("ops1", ask)
    await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(app, job_id, timeout=120)
    return f"{job.state} {status_of(chat, job_id).current}"


@pytest.mark.parametrize("file", ["scripts/python/disk_report.py", "scripts/bash/flush_cache.sh",
                                  "scripts/node/http_probe.js", "playbooks/deploy_app.yml"])
async def test_a_changed_byte_is_refused_and_audited(app: App, chat: Transcript, settings: Settings,
                                                     file: str) -> None:
    path = settings.content_dir / file
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    asks = {"scripts/python/disk_report.py": "script run disk-report", "scripts/bash/flush_cache.sh":
            "script run flush-cache cache=x", "scripts/node/http_probe.js": "script run http-probe port=80",
            "playbooks/deploy_app.yml": "script run deploy_app.yml"}
    await chat.say("ops1", asks[file])
    if "needs approval" in chat.last.text or "Approval" in chat.last.text:
        await chat.react("devops1", "✅", chat.last.id)
    job = await wait_job(app, 1, timeout=60)
    assert job.state == "refused"  # an integrity refusal: nothing was run (issue 11)
    assert "digest does not match" in status_of(chat, 1).current and file in status_of(chat, 1).current
    assert ("job:refused", "refused") in trail(app)


@pytest.mark.parametrize(("ask", "expected"), [
    ("script run rm-rf", "Unknown script rm-rf; scripts you may run: disk-report, http-probe."),
    ("script run disk-report colour=red", "disk-report has no parameter colour; its parameters: path."),
    ("script run disk-report path=/etc", "“/etc” is not a valid path: expected one of /, /tmp, /var."),
    ("script run http-probe port=99999", "“99999” is not a valid port: expected a whole number from 1 to 65535."),
    ("script run http-probe", "http-probe needs the parameter port (port=…)."),
    ("script run disk-report on web-01", "disk-report may run on: local (not web-01)."),
    ("script run disk-report path=/tmp;reboot", "is not a valid path"),
    ("script run disk-report path", "disk-report may run on: local (not path)."),  # read as the target
])
async def test_bad_input_names_what_is_allowed_and_starts_nothing(app: App, chat: Transcript, ask: str,
                                                                  expected: str) -> None:
    assert expected in await chat.say("dev1", ask)
    assert app.store.jobs() == []
