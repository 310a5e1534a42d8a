"""Hole 13: sensitive data at rest. With ``DIHYA_SECRET_KEY`` set, inventory addresses and stored job
output are encrypted under the secrets' rotatable key; ``dihya secrets rotate-key`` re-encrypts
them too; data written before the key was set keeps reading; server names stay clear for lookups."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.events import Place
from bot.i18n import Catalogs
from bot.jobs import JobDraft
from bot.ports import Server
from dihya.app import LOCALES_DIR, App, build_app
from dihya.cli_text import CliText
from dihya.compliance import cli_tools
from dihya.compliance.wiring import sealer
from dihya.settings import Settings, load_settings
from dihya.store.engine import make_engine, upgrade
from dihya.store.sealing import PREFIX
from dihya.store.sql import SqlStore
from dihya.vault import generate_key
from tests.helpers.compliance import cells_containing
from tests.helpers.transcript import Transcript

OLD_KEY, NEW_KEY = generate_key(), generate_key()
ADDRESS = "10.77.66.55"
OUTPUT = "canary-output-3f9d1c"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0, secret_key=OLD_KEY)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    await built.start()
    yield built
    await built.stop()


def finished_job(store: SqlStore, output: str) -> int:
    draft = JobDraft("deploy", {"service": "web"}, "deploy web", "console:admin1", Place("console", "main"), "en", 60)
    job_id = store.create_job(draft, 1)
    store.finish_job(job_id, "failed", {"failed_step": "migrate", "excerpt": f"ERROR {output}",
                                        "message": {"msgid": "failed"}, "details": {"log": output}}, 2)
    return job_id


def raw(engine: Engine, query: str) -> list[str]:
    with engine.connect() as conn:
        return [str(v) for v in conn.scalars(text(query))]


async def test_sensitive_data_at_rest_addresses_and_job_output_are_encrypted(app: App, chat: Transcript,
                                                                           engine: Engine) -> None:
    assert "Added web-01" in await chat.say("admin1", f"servers add web-01 {ADDRESS} staging")
    job_id = finished_job(app.store, OUTPUT)
    app.bot.flush_audit()
    assert cells_containing(engine, ADDRESS) == []  # not in the inventory, nor copied into the audit log
    assert cells_containing(engine, OUTPUT) == []
    assert all(v.startswith(PREFIX) for v in raw(engine, "SELECT address FROM servers"))
    assert raw(engine, "SELECT name FROM servers") == ["web-01"]  # looked up by name: stays clear
    # ... and every reader sees the clear values: commands, the runners' inventory, job status.
    assert ADDRESS in await chat.say("admin1", "servers show web-01")
    assert ADDRESS in await chat.say("admin1", "servers list")
    assert [s.address for s in app.store.servers() if s.environment == "staging"] == [ADDRESS]
    job = app.store.job(job_id)
    assert job is not None and job.result["excerpt"] == f"ERROR {OUTPUT}" and job.result["details"] == {"log": OUTPUT}


def test_sensitive_data_at_rest_a_token_copied_to_another_row_does_not_open(engine: Engine) -> None:
    upgrade(engine)
    store = SqlStore(engine, sealer(load_settings(secret_key=OLD_KEY)))
    store.add_server(Server("web-01", ADDRESS, "staging"))
    store.add_server(Server("db-01", "10.0.0.9", "staging"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE servers SET address = (SELECT address FROM servers WHERE name = 'web-01') "
                          "WHERE name = 'db-01'"))
    from bot.errors import UserError

    with pytest.raises(UserError, match="cannot be read"):
        store.server("db-01")


def test_sensitive_data_at_rest_clear_data_keeps_reading_and_rotate_key_seals_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dihya.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    before = SqlStore(engine)  # no key yet: written in clear
    before.add_server(Server("old-01", "10.1.1.1", "production"))
    old_job = finished_job(before, "old-output")
    with_key = load_settings(data_dir=tmp_path, secret_key=OLD_KEY)
    store = SqlStore(engine, sealer(with_key))
    assert store.server("old-01") == Server("old-01", "10.1.1.1", "production")  # still reads
    store.add_server(Server("web-01", ADDRESS, "staging"))
    new_job = finished_job(store, OUTPUT)

    rotated = load_settings(data_dir=tmp_path, secret_key=NEW_KEY, secret_keys_old=OLD_KEY)
    said = io.StringIO()
    assert cli_tools.secrets_rotate(rotated, CliText(Catalogs.load(LOCALES_DIR), "en", out=said)) == 0
    assert "2 server addresses and 2 job results" in said.getvalue()

    assert cells_containing(engine, "10.1.1.1") == [] and cells_containing(engine, "old-output") == []
    assert cells_containing(engine, ADDRESS) == [] and cells_containing(engine, OUTPUT) == []
    new_only = SqlStore(engine, sealer(load_settings(data_dir=tmp_path, secret_key=NEW_KEY)))  # old key dropped
    assert [s.address for s in new_only.servers()] == ["10.1.1.1", ADDRESS]
    results = [job.result for job in (new_only.job(old_job), new_only.job(new_job)) if job is not None]
    assert [r["details"] for r in results] == [{"log": "old-output"}, {"log": OUTPUT}]
    old_only = SqlStore(engine, sealer(load_settings(data_dir=tmp_path, secret_key=OLD_KEY)))
    unreadable = old_only.job(new_job)
    assert unreadable is not None and "cannot be read" in str(unreadable.result["message"])
    engine.dispose()
