"""Anchors: the audit chain's head, copied periodically to a place outside the database.

The hash chain shows rows were not changed or removed in the middle; but someone who can write
to the database can delete the last rows and rewrite the ``audit_head`` row to match, and the
chain still verifies. An anchor (a JSON line appended to a file on another volume, and/or posted
to an audit channel) records how long the chain was and what its last hash was, so
``check_tail`` catches that. Rows written after the latest anchor are not covered by it:
anchor often, and check the tail before writing a new anchor.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeGuard

from bot.audit import AuditRecord, ChainHead, Verdict
from bot.i18n import N_, Msg

_HASH = re.compile(r"[0-9a-f]{64}")


class AnchorError(Exception):
    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.message = Msg(msgid)


@dataclass(frozen=True, slots=True)
class Anchor:
    time: str  # ISO-8601 UTC, when the anchor was taken
    count: int
    last_seq: int
    hash: str

    def to_line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"


def anchor_of(head: ChainHead, now: float) -> Anchor:
    time = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Anchor(time, head.count, head.last_seq, head.hash)


def anchor_message(anchor: Anchor) -> Msg:
    """What to post in the audit channel: people there can compare it with a later verification."""
    return Msg(N_("Audit anchor {time}: {count} rows, last row {seq}, hash {hash}."),
               {"time": anchor.time, "count": anchor.count, "seq": anchor.last_seq, "hash": anchor.hash})


# -- the anchor file ---------------------------------------------------------------------------
def write_anchor(path: Path, head: ChainHead, now: float) -> Anchor:
    """Append an anchor for ``head`` and fsync it. Refuses a head behind the latest anchor: writing
    it would make a truncated log look anchored."""
    previous = latest_anchor(path)
    if previous is not None and (head.last_seq < previous.last_seq or head.count < previous.count):
        raise AnchorError(N_("The audit log is shorter than its last anchor; run the audit verification."))
    anchor = anchor_of(head, now)
    _append_durably(path, anchor.to_line().encode())
    return anchor


def _append_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created and os.name == "posix":  # the new directory entry must survive a crash too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def latest_anchor(path: Path) -> Anchor | None:
    """The last well-formed anchor in the file. A malformed line is skipped: the only one we
    expect is a final line torn by a crash while it was being written."""
    if not path.exists():
        return None
    for line in reversed(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        anchor = parse_anchor(line)
        if anchor is not None:
            return anchor
    return None


def parse_anchor(line: str) -> Anchor | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    time, count, last_seq, digest = (data.get(k) for k in ("time", "count", "last_seq", "hash"))
    if not (isinstance(time, str) and _is_count(count) and _is_count(last_seq)
            and isinstance(digest, str) and _HASH.fullmatch(digest)):
        return None
    return Anchor(time, count, last_seq, digest)


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# -- the tail check ----------------------------------------------------------------------------
def check_tail(head: ChainHead | None, records: Iterable[AuditRecord], anchor: Anchor | None) -> Verdict:
    """Whether the database still holds everything ``anchor`` saw. ``records`` in seq order; they
    are read up to the anchored row only. ``bad_seq`` names the anchored row when the check fails."""
    if anchor is None:
        return Verdict(True, 0)
    if head is None or head.count < anchor.count or head.last_seq < anchor.last_seq:
        return _tampered(anchor, 0, N_("the log is shorter than its last anchor: rows at the end were deleted"))
    found, counted = _find(records, anchor.last_seq)
    if found is None:
        return _tampered(anchor, counted, N_("the anchored row is missing"))
    if found.hash != anchor.hash:
        return _tampered(anchor, counted, N_("the anchored row no longer has the anchored hash"))
    if counted != anchor.count:
        return _tampered(anchor, counted, N_("the number of rows up to the anchored row has changed"))
    return Verdict(True, counted)


def _find(records: Iterable[AuditRecord], seq: int) -> tuple[AuditRecord | None, int]:
    counted = 0
    for record in records:
        if record.seq > seq:
            break
        counted += 1
        if record.seq == seq:
            return record, counted
    return None, counted


def _tampered(anchor: Anchor, checked: int, reason: str) -> Verdict:
    return Verdict(False, checked, anchor.last_seq, reason)
