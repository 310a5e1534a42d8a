"""``bot.audit.verify``: the chain names the first bad row, on chains the in-memory store writes."""

from __future__ import annotations

import dataclasses

from bot.audit import AuditDraft, ChainHead, Checkpoint, verify
from bot.memory import MemoryAudit


def chain(n: int = 5) -> MemoryAudit:
    store = MemoryAudit()
    store.append_audit([AuditDraft(1_000 + i, "p-1", "command:ping", details={"i": i}) for i in range(n)])
    return store


def test_an_intact_chain_verifies() -> None:
    store = chain()
    verdict = verify(store.audit_records(), store.audit_head())
    assert verdict.ok and verdict.checked == 5 and verdict.bad_seq is None
    assert verify([], None).ok


def test_a_changed_row_is_named() -> None:
    records = list(chain().audit_records())
    records[2] = dataclasses.replace(records[2], draft=dataclasses.replace(records[2].draft, outcome="denied"))
    verdict = verify(records, chain().audit_head())
    assert (verdict.ok, verdict.bad_seq, verdict.reason) == (False, 3, "its content does not match its hash")


def test_a_missing_row_and_a_broken_link_are_named() -> None:
    store = chain()
    records = list(store.audit_records())
    gap = verify(records[:2] + records[3:], store.audit_head())
    assert (gap.bad_seq, gap.reason) == (4, "a row is missing before this one")
    relinked = [*records[:3], dataclasses.replace(records[3], prev_hash=records[1].hash), records[4]]
    broken = verify(relinked, store.audit_head())
    assert (broken.bad_seq, broken.reason) == (4, "its link to the previous row is broken")


def test_rows_cut_from_the_end_are_caught_by_the_head() -> None:
    store = chain()
    records = list(store.audit_records())
    verdict = verify(records[:-1], store.audit_head())
    assert (verdict.ok, verdict.bad_seq) == (False, 5)
    assert not verify(records, ChainHead(5, 5, "0" * 64)).ok


def test_a_checkpoint_starts_the_chain_after_purged_rows() -> None:
    store = chain()
    checkpoint = store.purge_audit(2, 0)
    assert checkpoint is not None
    assert verify(store.audit_records(), store.audit_head(), checkpoint).ok
    assert not verify(store.audit_records(), store.audit_head()).ok  # without it, the first link is broken
    assert not verify(store.audit_records(), store.audit_head(), Checkpoint(2, "", 2)).ok  # a damaged one
