"""Issue 6: secrets — direct messages only, encrypted at rest, rotatable, redacted everywhere."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dihya.app import App
from dihya.compliance.wiring import secret_box
from dihya.integrity import update_manifest
from dihya.logs import RedactingJsonFormatter, configure
from dihya.redaction import Redactor
from dihya.settings import Settings, load_settings
from dihya.vault import SecretVault, generate_key
from tests.helpers.compliance import cells_containing, say_direct
from tests.helpers.transcript import Transcript
from tests.jobs.helpers import CONTENT, wait_job

KEY = generate_key()
CANARY = f"CANARY-{uuid.uuid4().hex}"
DATA = Path(__file__).resolve().parents[1] / "data" / "canary"
CATALOG = """
[services.canary.staging]
runner = "ansible"
playbook = "leak_secret.yml"
secrets = ["canary_token"]
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    shutil.copy(DATA / "playbooks" / "leak_secret.yml", content / "playbooks")
    update_manifest(content)
    config = tmp_path / "dihya.toml"
    config.write_text(CATALOG, encoding="utf-8")
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, secret_key=KEY, content_dir=content, config_file=config,
                         log_file=tmp_path / "dihya.log")


@pytest.fixture
def log_file(app: App, settings: Settings) -> Iterator[Path]:
    """The app's redacting JSON log, as ``dihya`` configures it, written for this test only."""
    assert settings.log_file is not None
    configure("DEBUG", app.redactor, settings.log_file)
    yield settings.log_file
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h.formatter, RedactingJsonFormatter)]:
        root.removeHandler(handler)
        handler.close()


async def test_secret_set_in_a_channel_is_refused_and_stored_nowhere(app: App, chat: Transcript) -> None:
    reply = await chat.say("admin1", f"secret set registry_password {CANARY}")
    assert "direct message" in reply and "rotate" in reply
    assert CANARY not in reply
    assert app.store.secret_list() == []
    app.bot.flush_audit()
    assert not cells_containing(app.engine, CANARY)


async def test_secrets_are_encrypted_listed_by_name_and_deleted(app: App, chat: Transcript) -> None:
    assert "stored, encrypted" in await say_direct(chat, "admin1", f"secret set registry_password {CANARY}")
    listing = await chat.say("admin1", "secrets")
    assert "registry_password" in listing and CANARY not in listing
    assert "not allowed" in await chat.say("dev9", "secrets")
    app.bot.flush_audit()
    assert not cells_containing(app.engine, CANARY)  # encrypted at rest, absent from the audit
    row = [r for r in app.store.audit_records() if r.draft.action == "command:secret.set"][-1]
    assert row.draft.target == "registry_password" and row.draft.details["args"]["value"] == "[withheld]"
    assert app.compliance is not None and app.compliance.secrets.value("registry_password") == CANARY
    assert "deleted" in await chat.say("admin1", "secret delete registry_password")
    assert "No secret named" in await chat.say("admin1", "secret delete registry_password")


async def test_rotating_the_key_keeps_every_secret_readable(app: App, chat: Transcript, settings: Settings) -> None:
    values = {f"s{i}": f"value-{i}-{uuid.uuid4().hex}" for i in range(5)}
    for name, value in values.items():
        await say_direct(chat, "admin1", f"secret set {name} {value}")
    new_key = generate_key()
    rotated = load_settings(data_dir=settings.data_dir, secret_key=new_key, secret_keys_old=f"{KEY}, ")
    assert secret_box(rotated, app.store, Redactor()).rotate() == 5
    new_only = SecretVault([new_key])  # the old key can now be dropped
    assert {n: new_only.decrypt(t, n) for n, t in app.store.secret_tokens().items()} == values


async def test_a_canary_secret_used_by_a_playbook_never_leaks(
        app: App, chat: Transcript, log_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await say_direct(chat, "admin1", f"secret set canary_token {CANARY}")
    await chat.say("admin1", "deploy canary to staging version 1.0")
    jobs = app.store.jobs()
    job = await wait_job(app, jobs[0].id, timeout=120)
    assert job.state == "failed"
    # the playbook did print and fail with the value: redaction is what keeps it out
    assert "[REDACTED]" in json.dumps(job.result)
    await chat.say("admin1", "audit export json")
    await chat.say("admin1", "audit export csv")
    app.bot.flush_audit()
    chat_text = [p.text for p in chat.posted] + [e for p in chat.posted for e in p.edits]
    assert not [t for t in chat_text if CANARY in t]
    assert len(chat.uploads) == 4 and not [u for u in chat.uploads if CANARY.encode() in u.content]
    assert CANARY not in json.dumps(job.result) and not cells_containing(app.engine, CANARY)
    logging.getLogger("dihya.test").info("done")
    assert log_file.read_text(encoding="utf-8")
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert not leaked  # log file, SQLite file and WAL, ansible run directories, uploads
    assert CANARY not in caplog.text
