"""The outside world as the core sees it. Real implementations live outside ``bot/``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.audit import AuditDraft, AuditRecord, ChainHead
from bot.events import Place


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    key: str  # "platform:user_id"
    person_id: int
    pseudonym: str
    roles: frozenset[str]
    locale: str | None


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    address: str
    environment: str


@dataclass(frozen=True, slots=True)
class ApprovalDraft:
    command: str
    text: str  # the command as typed (neutralised, clipped), shown in every message about it
    args: Mapping[str, object]
    digest: str
    permission: str
    quorum: int
    approver_roles: frozenset[str]
    requester: str  # identity key
    requester_person: int | None
    place: Place
    locale: str
    created_us: int
    expires_us: int


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    id: int
    draft: ApprovalDraft
    state: str  # pending | approved | dispatched | denied | expired


@dataclass(frozen=True, slots=True)
class Vote:
    voter: str
    voter_person: int | None
    approve: bool


class Store(Protocol):
    """Persistence the core relies on. Methods are short, synchronous and transactional."""

    def identity(self, key: str) -> IdentityRecord | None: ...
    def pseudonym(self, key: str) -> str: ...
    def set_locale(self, key: str, locale: str | None) -> None: ...
    def grant_role(self, key: str, role: str) -> bool: ...
    def revoke_role(self, key: str, role: str) -> bool: ...
    def role_holders(self) -> list[IdentityRecord]: ...

    def add_server(self, server: Server) -> bool: ...
    def server(self, name: str) -> Server | None: ...
    def servers(self) -> list[Server]: ...
    def remove_server(self, name: str) -> bool: ...

    def remember_message(self, key: str, channel: str, message_id: str) -> None: ...
    def message_key(self, channel: str, message_id: str) -> str | None: ...
    def message_id(self, key: str) -> tuple[str, str] | None: ...

    def create_approval(self, draft: ApprovalDraft) -> int: ...
    def approval(self, request_id: int) -> ApprovalRecord | None: ...
    def pending_approvals(self) -> list[ApprovalRecord]: ...
    def cast_vote(self, request_id: int, vote: Vote, now_us: int) -> None: ...
    def withdraw_vote(self, request_id: int, voter: str) -> bool: ...
    def votes(self, request_id: int) -> list[Vote]: ...
    def transition_approval(self, request_id: int, from_state: str, to_state: str) -> bool: ...

    def kv_get(self, name: str) -> str | None: ...
    def kv_set(self, name: str, value: str) -> None: ...

    def append_audit(self, drafts: Sequence[AuditDraft]) -> None: ...
    def audit_records(self) -> Iterator[AuditRecord]: ...
    def audit_head(self) -> ChainHead | None: ...


class Clock(Protocol):
    def __call__(self) -> float: ...
