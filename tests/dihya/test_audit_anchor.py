from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, update

from bot.audit import GENESIS, AuditDraft, AuditRecord, ChainHead, chain_hash, verify
from dihya.audit_anchor import (
    Anchor,
    AnchorError,
    anchor_message,
    check_tail,
    latest_anchor,
    write_anchor,
)
from dihya.store.engine import make_engine, upgrade
from dihya.store.models import AuditEvent, AuditHead
from dihya.store.sql import SqlStore

NOW = 1_793_491_200.0  # 2026-11-01T00:00:00Z


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'dihya.sqlite3'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def store(sqlite_engine: Engine) -> SqlStore:
    store = SqlStore(sqlite_engine)
    store.append_audit([draft(i) for i in range(6)])  # two transactions: the chain spans group commits
    store.append_audit([draft(i) for i in range(6, 10)])
    return store


@pytest.fixture
def anchor_file(tmp_path: Path) -> Path:
    return tmp_path / "elsewhere" / "audit-anchors.jsonl"


def draft(i: int) -> AuditDraft:
    return AuditDraft(int(NOW * 1e6) + i, f"p-{i:04x}", "command:deploy", f"web-{i}", details={"n": i})


def head(store: SqlStore) -> ChainHead:
    found = store.audit_head()
    assert found is not None
    return found


def tail_verdict(store: SqlStore, anchor_file: Path) -> tuple[bool, bool]:
    """(chain verifies, tail check passes)."""
    chain = verify(store.audit_records(), store.audit_head())
    tail = check_tail(store.audit_head(), store.audit_records(), latest_anchor(anchor_file))
    return chain.ok, tail.ok


def delete_last_rows_and_rewrite_head(store: SqlStore, n: int) -> None:
    """What someone with write access to the database would do to hide the last ``n`` rows."""
    records = list(store.audit_records())
    keep = records[-n - 1]
    with store.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq > keep.seq))
        conn.execute(update(AuditHead).values(count=len(records) - n, last_seq=keep.seq, hash=keep.hash))


# -- the anchor file ---------------------------------------------------------------------------
def test_write_anchor_appends_json_lines(store: SqlStore, anchor_file: Path) -> None:
    first = write_anchor(anchor_file, head(store), NOW)
    store.append_audit([draft(10)])
    second = write_anchor(anchor_file, head(store), NOW + 3600)
    lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
    assert lines == [
        {"time": "2026-11-01T00:00:00Z", "count": 10, "last_seq": 10, "hash": first.hash},
        {"time": "2026-11-01T01:00:00Z", "count": 11, "last_seq": 11, "hash": head(store).hash},
    ]
    assert latest_anchor(anchor_file) == second


def test_latest_anchor_of_a_missing_file_is_none(anchor_file: Path) -> None:
    assert latest_anchor(anchor_file) is None


def test_latest_anchor_skips_a_line_torn_by_a_crash(store: SqlStore, anchor_file: Path) -> None:
    anchor = write_anchor(anchor_file, head(store), NOW)
    with anchor_file.open("a") as fh:
        fh.write('{"time": "2026-11-01T02:00:00Z", "count": 12, "last_s')
    assert latest_anchor(anchor_file) == anchor


@pytest.mark.parametrize("line", [
    '{"time": "t", "count": -1, "last_seq": 1, "hash": "' + "0" * 64 + '"}',
    '{"time": "t", "count": true, "last_seq": 1, "hash": "' + "0" * 64 + '"}',
    '{"time": "t", "count": 1, "last_seq": 1, "hash": "not-a-hash"}',
    '[1, 2, 3]',
])
def test_latest_anchor_ignores_malformed_lines(anchor_file: Path, line: str) -> None:
    anchor_file.parent.mkdir()
    anchor_file.write_text(line + "\n")
    assert latest_anchor(anchor_file) is None


def test_write_anchor_refuses_a_head_behind_the_last_anchor(store: SqlStore, anchor_file: Path) -> None:
    write_anchor(anchor_file, head(store), NOW)
    delete_last_rows_and_rewrite_head(store, 3)
    with pytest.raises(AnchorError):
        write_anchor(anchor_file, head(store), NOW + 60)
    assert len(anchor_file.read_text().splitlines()) == 1


def test_anchor_message_carries_the_hash(store: SqlStore, anchor_file: Path) -> None:
    anchor = write_anchor(anchor_file, head(store), NOW)
    message = anchor_message(anchor)
    assert message.params == {"time": "2026-11-01T00:00:00Z", "count": 10, "seq": 10, "hash": anchor.hash}


# -- the tail check -----------------------------------------------------------------------------
def test_untouched_log_passes(store: SqlStore, anchor_file: Path) -> None:
    write_anchor(anchor_file, head(store), NOW)
    assert tail_verdict(store, anchor_file) == (True, True)
    verdict = check_tail(store.audit_head(), store.audit_records(), latest_anchor(anchor_file))
    assert verdict.checked == 10


def test_rows_appended_after_the_anchor_pass(store: SqlStore, anchor_file: Path) -> None:
    write_anchor(anchor_file, head(store), NOW)
    store.append_audit([draft(10), draft(11)])
    assert tail_verdict(store, anchor_file) == (True, True)


def test_no_anchor_yet_passes(store: SqlStore, anchor_file: Path) -> None:
    assert tail_verdict(store, anchor_file) == (True, True)


def test_deleting_the_last_3_rows_is_detected_even_with_a_rewritten_head(store: SqlStore,
                                                                          anchor_file: Path) -> None:
    anchor = write_anchor(anchor_file, head(store), NOW)
    delete_last_rows_and_rewrite_head(store, 3)
    assert tail_verdict(store, anchor_file) == (True, False)  # the chain alone cannot tell
    verdict = check_tail(store.audit_head(), store.audit_records(), anchor)
    assert verdict.bad_seq == 10
    assert "deleted" in verdict.reason


def test_replacing_the_deleted_tail_with_forged_rows_is_detected(store: SqlStore, anchor_file: Path) -> None:
    write_anchor(anchor_file, head(store), NOW)
    delete_last_rows_and_rewrite_head(store, 3)
    store.append_audit([AuditDraft(int(NOW * 1e6) + 50 + i, "p-forged", "command:whoami") for i in range(3)])
    assert head(store).count == 10  # as long as before, and a valid chain
    assert tail_verdict(store, anchor_file) == (True, False)
    verdict = check_tail(store.audit_head(), store.audit_records(), latest_anchor(anchor_file))
    assert "hash" in verdict.reason


def test_a_missing_anchored_row_is_detected(store: SqlStore, anchor_file: Path) -> None:
    anchor = write_anchor(anchor_file, head(store), NOW)
    store.append_audit([draft(10)])
    with store.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == anchor.last_seq))
    verdict = check_tail(store.audit_head(), store.audit_records(), anchor)
    assert (verdict.ok, verdict.bad_seq, verdict.reason) == (False, 10, "the anchored row is missing")


def test_rewriting_the_whole_chain_is_detected(store: SqlStore, anchor_file: Path) -> None:
    """Drop the first row, renumber and rehash everything: seq 10 exists again but is not the anchored row."""
    write_anchor(anchor_file, head(store), NOW)
    records = list(store.audit_records())[1:]
    prev = GENESIS
    with store.engine.begin() as conn:
        conn.execute(delete(AuditEvent))
        for seq, record in enumerate(records, start=1):
            digest = chain_hash(prev, seq, record.draft)
            conn.execute(insert(AuditEvent).values(
                seq=seq, ts_us=record.draft.ts_us, actor=record.draft.actor, action=record.draft.action,
                target=record.draft.target, outcome=record.draft.outcome, ref=record.draft.ref,
                details=json.dumps(dict(record.draft.details)), prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(update(AuditHead).values(count=9, last_seq=9, hash=prev))
    store.append_audit([draft(99)])  # back to 10 rows
    assert tail_verdict(store, anchor_file) == (True, False)


def test_check_tail_stops_reading_at_the_anchored_row(store: SqlStore) -> None:
    records = list(store.audit_records())
    anchor = Anchor("2026-11-01T00:00:00Z", 5, 5, records[4].hash)

    def guarded() -> Iterator[AuditRecord]:
        for record in records:
            assert record.seq <= 6, "read past the anchored row"
            yield record

    assert check_tail(head(store), guarded(), anchor).ok
