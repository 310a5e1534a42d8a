"""Hole 9: deferred replies leave before their audit row. A deferred reply (an export's file) is
published only once its audit row is durable, and the console drains deferred work before it exits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text

from dihya.app import App
from dihya.store.engine import make_engine, upgrade
from tests.helpers.audit_rows import seed_audit
from tests.helpers.compliance import say_direct
from tests.helpers.transcript import Transcript


def refuse_audit_writes(engine: Engine) -> None:
    """A real failing write (as a full disk or a lost connection would make it), not a stub."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON audit_events "
                              "BEGIN SELECT RAISE(ABORT, 'audit disk full'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'audit disk full'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON audit_events "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"))


def allow_audit_writes(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse" if engine.dialect.name == "sqlite" else
                          "DROP TRIGGER refuse ON audit_events"))


def audited(engine: Engine, action: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT outcome FROM audit_events WHERE action = :a"), {"a": action}))


async def test_deferred_replies_leave_only_after_their_audit_row(app: App, chat: Transcript, engine: Engine) -> None:
    refuse_audit_writes(engine)
    said = await chat.say("admin1", "audit export csv")
    assert "Something failed (ref" in said
    assert chat.uploads == []  # the file did not leave unaudited
    assert audited(engine, "command:audit.export") == []
    allow_audit_writes(engine)
    for _ in range(100):  # the buffered row is retried, not dropped
        if audited(engine, "command:audit.export"):
            break
        await asyncio.sleep(0.05)
    assert audited(engine, "command:audit.export") == ["ok"]


async def test_deferred_replies_of_a_direct_gdpr_export_wait_for_their_row(app: App, chat: Transcript,
                                                                           engine: Engine) -> None:
    refuse_audit_writes(engine)
    said = await say_direct(chat, "admin1", "gdpr export")
    assert "Something failed" in said and chat.uploads == []
    allow_audit_writes(engine)
    said = await say_direct(chat, "admin1", "gdpr export")
    assert "Here is everything I hold" in said and len(chat.uploads) == 1
    assert audited(engine, "command:gdpr.export") == ["ok", "ok"]


def test_deferred_replies_the_console_drains_before_it_exits(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'dihya.sqlite3'}")
    upgrade(engine)
    seed_audit(engine, 20_000)  # enough rows that the export is still running when input ends
    engine.dispose()
    env = {**os.environ, "DIHYA_DATA_DIR": str(tmp_path), "DIHYA_ADMINS": "console:admin1"}
    done = subprocess.run([str(Path(sys.executable).with_name("dihya")), "console", "--json"],
                          input="audit export csv\n/dm gdpr export\n", capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    uploads = [r for r in map(json.loads, done.stdout.splitlines()) if r["op"] == "upload"]
    assert sorted(Path(u["path"]).suffix for u in uploads) == [".csv", ".json", ".sha256"]
    assert Path(next(u["path"] for u in uploads if u["path"].endswith(".csv"))).stat().st_size > 1_000_000
    engine = make_engine(f"sqlite:///{tmp_path / 'dihya.sqlite3'}")
    assert audited(engine, "command:audit.export") == ["ok"] and audited(engine, "command:gdpr.export") == ["ok"]
    engine.dispose()
