"""The audit log's hash chain: every row carries the hash of the one before it.

Rows are appended in groups (group commit) by the store, which computes the chain inside the
write transaction so concurrent writers cannot fork it. ``verify`` names the first bad row.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bot.i18n import N_

GENESIS = "0" * 64


@dataclass(slots=True)  # built for every message: a frozen init costs ~3x per field
class AuditDraft:
    """An audit event before it has a place in the chain."""

    ts_us: int
    actor: str  # a pseudonym, never a platform id or a name
    action: str
    target: str = ""
    outcome: str = "ok"
    ref: str = ""  # approval request or job id
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    draft: AuditDraft
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    count: int
    last_seq: int
    hash: str


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
# The same encoding without JSONEncoder.encode's two Python frames and its per-call construction
# of the C encoder, which cost more than the encoding itself on the audit hot path. The C encoder
# is what JSONEncoder.encode itself uses for these options, so the output is identical (a test
# checks it); no circular-reference markers, as details are trees built by the core.
_C_ENCODER: Callable[..., Callable[[object, int], Iterable[str]]] | None = \
    getattr(json.encoder, "c_make_encoder", None)  # absent from typeshed and from non-CPython builds
_FAST = None if _C_ENCODER is None else _C_ENCODER(
    None, str, json.encoder.encode_basestring, None, ":", ",", True, False, True)


def _encode(value: object) -> str:
    return "".join(_FAST(value, 0)) if _FAST is not None else _CANONICAL.encode(value)


def canonical_details(details: Mapping[str, object]) -> str:
    return _encode(details)


def canonical(seq: int, d: AuditDraft, details_json: str | None = None) -> str:
    """The hashed form of a row: its fields, then its details as canonical JSON (which the store
    also writes, so it is encoded once per row on the hot path)."""
    head = _encode([seq, d.ts_us, d.actor, d.action, d.target, d.outcome, d.ref])
    return f"{head}\n{_encode(d.details) if details_json is None else details_json}"


def chain_hash(prev_hash: str, seq: int, draft: AuditDraft, details_json: str | None = None) -> str:
    """SHA-256 of the previous row's hash, a newline and the row's canonical form (UTF-8)."""
    return hashlib.sha256(f"{prev_hash}\n{canonical(seq, draft, details_json)}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str = ""  # gettext message id


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the chain starts once old rows were purged by retention: the last purged row's seq and
    hash, and how many rows have been purged in all (the head still counts every row ever written)."""

    seq: int
    hash: str
    purged: int


def verify(records: Iterable[AuditRecord], head: ChainHead | None, start: Checkpoint | None = None) -> Verdict:
    prev, expected_seq, checked = GENESIS, None, 0
    if start is not None:
        prev, expected_seq = start.hash, start.seq + 1
    for record in records:
        bad = _check(record, prev, expected_seq)
        if bad:
            return Verdict(False, checked, record.seq, bad)
        prev, expected_seq, checked = record.hash, record.seq + 1, checked + 1
    return _check_head(head, prev, checked + (start.purged if start else 0))


def _check(record: AuditRecord, prev: str, expected_seq: int | None) -> str:
    if expected_seq is not None and record.seq != expected_seq:
        return N_("a row is missing before this one")
    if record.prev_hash != prev:
        return N_("its link to the previous row is broken")
    if chain_hash(prev, record.seq, record.draft) != record.hash:
        return N_("its content does not match its hash")
    return ""


def _check_head(head: ChainHead | None, last_hash: str, checked: int) -> Verdict:
    if head is None or (head.count == checked and head.hash == last_hash):
        return Verdict(True, checked)
    return Verdict(False, checked, head.last_seq, N_("rows at the end of the log are missing or were replaced"))
