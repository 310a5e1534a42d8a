"""The in-memory store's tables: plain rows in dicts, shared by every domain (as one database is).

Rows keep what the SQL tables keep, in the same shape where it shows: arguments and results go
through JSON, a place is kept as its address and thread (so ``Place.direct`` is not kept), and ids
count from 1 per table.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.audit import AuditRecord, Checkpoint
from bot.events import Place
from bot.ports import ApiTokenRecord


def split_key(key: str) -> tuple[str, str]:
    platform, _, user_id = key.partition(":")
    return platform, user_id


def place_of(address: str, thread: str | None) -> Place:
    """A place as the store gives it back: from its address and thread."""
    platform, _, channel = address.partition(":")
    return Place(platform, channel, thread)


@dataclass(slots=True)
class PersonRow:
    locale: str | None = None
    roles: set[str] = field(default_factory=set)


@dataclass(slots=True)
class ApprovalRow:
    command: str
    text: str
    args: str  # JSON
    digest: str
    permission: str
    quorum: int
    approver_roles: str  # comma-separated, sorted
    requester: str
    requester_person: int | None
    channel: str  # address
    thread: str | None
    locale: str
    state: str
    created_us: int
    expires_us: int


@dataclass(slots=True)
class VoteRow:
    voter: str
    voter_person: int | None
    approve: bool
    created_us: int


@dataclass(slots=True)
class JobRow:
    kind: str
    args: str  # JSON
    summary: str
    requester: str
    approvers: str  # JSON list
    state: str
    channel: str
    thread: str | None
    locale: str
    timeout_s: int
    created_us: int
    step: int = 0
    total: int = 0
    step_name: str = ""
    cancel_requested: bool = False
    result: str = "{}"  # JSON
    started_us: int | None = None
    finished_us: int | None = None
    heartbeat_us: int | None = None
    attempts: int = 0


@dataclass(slots=True)
class SecretRow:
    token: bytes
    created_us: int
    updated_us: int


@dataclass(slots=True)
class AlertGroupRow:
    group_hash: str
    group_key: str
    channel: str
    status: str
    digest: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    created_us: int
    updated_us: int
    storm_id: int | None = None
    acked_by: str | None = None
    acked_us: int | None = None
    silence_id: str | None = None
    incident_id: int | None = None


@dataclass(slots=True)
class AlertRow:
    group_id: int
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    starts_us: int
    ends_us: int | None


@dataclass(slots=True)
class StormRow:
    channel: str
    started_us: int
    last_us: int


@dataclass(slots=True)
class IncidentRow:
    title: str
    severity: str
    state: str
    opened_by: str
    channel: str  # address
    thread: str | None
    locale: str
    created_us: int
    owner: str | None = None
    significant: bool = False
    acked_us: int | None = None
    resolved_us: int | None = None


@dataclass(slots=True)
class IncidentEventRow:
    incident_id: int
    ts_us: int
    actor: str
    kind: str
    text: str
    ref: str


@dataclass(slots=True)
class Tables:
    """Everything the store holds. Dicts keep insertion order, which stands in for row ids."""

    people: dict[int, PersonRow] = field(default_factory=dict)
    identities: dict[str, int] = field(default_factory=dict)  # "platform:user_id" → person id
    pseudonyms: dict[str, str] = field(default_factory=dict)  # subject key → pseudonym
    servers: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # name → (address, environment, id)
    messages: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (channel, message id)
    kv: dict[str, str] = field(default_factory=dict)
    approvals: dict[int, ApprovalRow] = field(default_factory=dict)
    votes: dict[int, dict[str, VoteRow]] = field(default_factory=dict)  # request id → voter → vote
    jobs: dict[int, JobRow] = field(default_factory=dict)
    audit: dict[int, AuditRecord] = field(default_factory=dict)  # seq → record
    head: tuple[int, int, str] | None = None  # (count, last seq, hash), made by the first append
    checkpoints: list[tuple[Checkpoint, int]] = field(default_factory=list)  # with when each was written
    secrets: dict[str, SecretRow] = field(default_factory=dict)
    link_codes: dict[str, tuple[str, int]] = field(default_factory=dict)  # code hash → (subject, expires)
    alert_groups: dict[int, AlertGroupRow] = field(default_factory=dict)
    alerts: dict[int, AlertRow] = field(default_factory=dict)
    storms: dict[int, StormRow] = field(default_factory=dict)
    incidents: dict[int, IncidentRow] = field(default_factory=dict)
    incident_events: dict[int, IncidentEventRow] = field(default_factory=dict)
    api_tokens: dict[str, ApiTokenRecord] = field(default_factory=dict)  # issue 13: token id → record
    _ids: dict[str, Iterator[int]] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """The next id of ``table``, from 1; never reused (as an autoincrementing key)."""
        return next(self._ids.setdefault(table, itertools.count(1)))


class Memory:
    """The base of every in-memory domain store: one set of tables, fresh or shared."""

    __slots__ = ("tables",)

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables if tables is not None else Tables()
