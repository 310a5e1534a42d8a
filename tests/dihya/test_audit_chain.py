"""Tamper evidence of the audit log, on SQLite and PostgreSQL, from chat and from the CLI."""

import itertools
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from bot.audit import AuditDraft, verify
from dihya.cli import main
from dihya.store.engine import make_engine, upgrade
from dihya.store.models import AuditEvent
from dihya.store.sql import SqlStore


def filled(engine: Engine, rows: int = 6) -> SqlStore:
    upgrade(engine)
    store = SqlStore(engine)
    store.append_audit([AuditDraft(1_000 + i, "p-test", "command:ping", f"t{i}") for i in range(rows // 2)])
    store.append_audit([AuditDraft(2_000 + i, "p-test", "command:help", f"u{i}") for i in range(rows - rows // 2)])
    return store


def check(store: SqlStore) -> tuple[bool, int | None]:
    verdict = verify(store.audit_records(), store.audit_head())
    return verdict.ok, verdict.bad_seq


def test_untouched_chain_verifies(engine: Engine) -> None:
    assert check(filled(engine)) == (True, None)


def test_changed_row_is_named(engine: Engine) -> None:
    store = filled(engine)
    with engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(outcome="denied"))
    assert check(store) == (False, 3)


def test_deleted_row_is_named(engine: Engine) -> None:
    store = filled(engine)
    with engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    assert check(store) == (False, 3)


def test_reordered_rows_are_detected(engine: Engine) -> None:
    store = filled(engine)
    with engine.connect() as conn:
        two, four = (conn.execute(select(AuditEvent.target).where(AuditEvent.seq == s)).scalar_one() for s in (2, 4))
    with engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(target=four))
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(target=two))
    assert check(store) == (False, 2)


def test_deleted_tail_is_detected_by_the_head(engine: Engine) -> None:
    store = filled(engine)
    with engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
    ok, bad = check(store)
    assert not ok and bad == 6


def test_appends_continue_the_chain_across_batches(engine: Engine) -> None:
    store = filled(engine)
    store.append_audit([AuditDraft(9_000, "p-x", "command:ping")])
    records = list(store.audit_records())
    assert [r.seq for r in records] == list(range(1, 8))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))


def test_cli_verify_passes_then_names_the_bad_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    engine = make_engine(url)
    filled(engine)
    monkeypatch.setenv("DIHYA_DATABASE_URL", url)
    monkeypatch.setenv("DIHYA_DATA_DIR", str(tmp_path))
    assert main(["audit", "verify"]) == 0
    assert "6 rows, chain verified" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(action="command:other"))
    assert main(["audit", "verify"]) == 1
    assert "row 4 is bad" in capsys.readouterr().err
