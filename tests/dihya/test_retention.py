"""Issue 6: retention purges old audit rows and job logs behind a checkpoint that verify understands."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import delete, update

from bot.audit import AuditDraft
from bot.events import Place
from bot.jobs import JobDraft
from dihya.app import App
from dihya.compliance.anchoring import anchor_file
from dihya.compliance.retention import DAY_US, purge_expired
from dihya.compliance.verification import verify_log
from dihya.store.models import AuditEvent
from dihya.store.models_compliance import AuditCheckpoint

NOW = time.time() + 90 * 86_400  # the purge runs "later": rows written at start are old by then


def seed(app: App, old: int, new: int) -> None:
    now_us = int(NOW * 1_000_000)
    rows = [AuditDraft(now_us - 40 * DAY_US + i, "p-old", "command:whoami") for i in range(old)]
    rows += [AuditDraft(now_us - DAY_US + i, "p-new", "command:whoami") for i in range(new)]
    app.store.append_audit(rows)


def test_purge_keeps_the_chain_verifiable_from_the_checkpoint(app: App, tmp_path: Path) -> None:
    app.bot.flush_audit()
    before = sum(1 for _ in app.store.audit_records())
    seed(app, old=10, new=5)
    anchors = tmp_path / "anchors.jsonl"
    assert anchor_file(app.store, anchors, NOW) is not None
    purged = purge_expired(app.store, 30, NOW)
    assert purged.audit_rows == before + 10
    remaining = list(app.store.audit_records())
    assert [r.draft.actor for r in remaining][:5] == ["p-new"] * 5 and remaining[-1].draft.action == "audit:purge"
    report = verify_log(app.store, anchors)
    assert report.chain.ok and report.tail is not None and report.tail.ok
    assert anchor_file(app.store, anchors, NOW) is not None  # anchoring goes on after a purge
    assert purge_expired(app.store, 30, NOW).audit_rows == 0
    seed(app, old=0, new=2)
    assert verify_log(app.store, anchors).chain.ok


def test_a_tampered_checkpoint_or_a_row_removed_after_it_is_detected(app: App) -> None:
    seed(app, old=6, new=4)
    purge_expired(app.store, 30, NOW)
    assert verify_log(app.store, None).chain.ok
    with app.engine.begin() as conn:  # claim more rows were purged than really were
        conn.execute(update(AuditCheckpoint).values(purged=AuditCheckpoint.purged + 1))
    assert not verify_log(app.store, None).chain.ok
    with app.engine.begin() as conn:
        conn.execute(update(AuditCheckpoint).values(purged=AuditCheckpoint.purged - 1))
    assert verify_log(app.store, None).chain.ok
    first = next(iter(app.store.audit_records())).seq
    with app.engine.begin() as conn:  # delete the first row after the checkpoint
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == first))
    verdict = verify_log(app.store, None).chain
    assert not verdict.ok and verdict.bad_seq == first + 1


def test_job_logs_older_than_the_period_are_purged(app: App) -> None:
    place = Place("console", "main")
    old = app.store.create_job(JobDraft("deploy", {}, "old", "console:a", place, "en", 60), 0)
    new = app.store.create_job(JobDraft("deploy", {}, "new", "console:a", place, "en", 60), 0)
    running = app.store.create_job(JobDraft("deploy", {}, "running", "console:a", place, "en", 60), 0)
    app.store.finish_job(old, "failed", {"excerpt": "old log"}, int(NOW * 1e6) - 40 * DAY_US)
    app.store.finish_job(new, "failed", {"excerpt": "new log"}, int(NOW * 1e6))
    assert purge_expired(app.store, 30, NOW).jobs == 1
    assert app.store.job(old) is None and app.store.job(new) is not None and app.store.job(running) is not None
