"""``audit verify`` in full: the hash chain from the retention checkpoint, the purge it records,
and the tail check against the latest anchor (``dihya.audit_anchor``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

from bot.audit import AuditRecord, Checkpoint, Verdict, verify
from bot.i18n import N_
from bot.ports import LogReport, Store
from dihya.audit_anchor import Anchor, check_tail, latest_anchor

PURGE_ACTION = "audit:purge"


def verify_log(store: Store, anchor_file: Path | None) -> LogReport:
    start = store.audit_checkpoint()
    purges: list[AuditRecord] = []
    chain = verify(_noting_purges(store.audit_records(), purges), store.audit_head(), start)
    if chain.ok and start is not None and not any(_records(p, start) for p in purges):
        chain = Verdict(False, chain.checked, start.seq,
                        N_("the retention checkpoint does not match a purge recorded in the log"))
    tail = tail_check(store, latest_anchor(anchor_file), start) if anchor_file is not None else None
    return LogReport(chain, tail)


def tail_check(store: Store, anchor: Anchor | None, start: Checkpoint | None) -> Verdict:
    """``check_tail``, aware of retention: rows before the checkpoint are gone on purpose."""
    if anchor is not None and start is not None:
        if anchor.last_seq <= start.seq:
            return Verdict(True, 0)  # the anchored rows were purged; the checkpoint vouches for them
        anchor = dataclasses.replace(anchor, count=anchor.count - start.purged)
    return check_tail(store.audit_head(), store.audit_records(), anchor)


def _noting_purges(records: Iterable[AuditRecord], purges: list[AuditRecord]) -> Iterator[AuditRecord]:
    for record in records:
        if record.draft.action == PURGE_ACTION:
            purges.append(record)
        yield record


def _records(purge: AuditRecord, start: Checkpoint) -> bool:
    d = purge.draft.details
    return d.get("through_seq") == start.seq and d.get("hash") == start.hash and d.get("purged") == start.purged
