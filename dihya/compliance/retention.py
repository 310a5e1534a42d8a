"""Retention: audit rows and job logs older than the configured period are purged.

The purge is recorded in the chain first (an ``audit:purge`` row naming the last purged row's seq
and hash), then the rows go and a checkpoint row says where verification now starts; ``verify``
accepts the checkpoint only if the chain still holds the matching purge row.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.audit import AuditDraft, AuditRecord
from bot.clock import US_PER_S, micros
from bot.ports import Store
from dihya.compliance.verification import PURGE_ACTION

SYSTEM_ACTOR = "system:dihya"
DAY_US = 86_400 * US_PER_S


@dataclass(frozen=True, slots=True)
class Purged:
    audit_rows: int
    jobs: int


def purge_expired(store: Store, retention_days: int, now: float) -> Purged:
    now_us = micros(now)
    cutoff = now_us - retention_days * DAY_US
    return Purged(_purge_audit(store, cutoff, now_us), store.purge_jobs(cutoff))


def _purge_audit(store: Store, cutoff_us: int, now_us: int) -> int:
    """Purge the oldest rows, up to the first one at or after the cut-off (never a newer row)."""
    last, count = _expired_prefix(store, cutoff_us)
    if last is None:
        return 0
    before = store.audit_checkpoint()
    purged = (before.purged if before else 0) + count
    details = {"through_seq": last.seq, "hash": last.hash, "purged": purged}
    store.append_audit([AuditDraft(now_us, store.pseudonym(SYSTEM_ACTOR), PURGE_ACTION, "audit", "ok", "", details)])
    store.purge_audit(last.seq, now_us)
    return count


def _expired_prefix(store: Store, cutoff_us: int) -> tuple[AuditRecord | None, int]:
    """The last row of the leading run of rows older than the cut-off, and how many there are."""
    last, count = None, 0
    for record in store.audit_records():
        if record.draft.ts_us >= cutoff_us:
            break
        last, count = record, count + 1
    return last, count
