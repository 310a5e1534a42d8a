"""The outside world as the core sees it. Real implementations live outside ``bot/``."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.alerting import AlertDelivery, AlertGroupRecord, AlertRecord, AlertView, StormSummary  # issue 5
from bot.audit import AuditDraft, AuditRecord, ChainHead, Checkpoint, Verdict
from bot.events import Place
from bot.incidents import IncidentDraft, IncidentEvent, IncidentRecord  # issue 5
from bot.jobs import JobDraft, JobRecord


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
    # Numeric id assigned at insert and never reused (the API's ``serveurs/{id}``); 0 before it is stored.
    id: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ApprovalDraft:
    command: str
    text: str  # the command as typed (neutralised, clipped), for the record; approvers see ``args`` rendered
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


class IdentityStore(Protocol):
    """People, their platform identities, roles, languages and audit pseudonyms."""

    def identity(self, key: str) -> IdentityRecord | None: ...
    def pseudonym(self, key: str) -> str: ...
    def find_pseudonym(self, key: str) -> str | None: ...
    def set_locale(self, key: str, locale: str | None) -> None: ...
    def grant_role(self, key: str, role: str) -> bool: ...
    def revoke_role(self, key: str, role: str) -> bool: ...
    def role_holders(self) -> list[IdentityRecord]: ...


class LinkStore(Protocol):
    """One-time link codes and the merging of identities into one person (issue 4)."""

    def link_code_put(self, code_hash: str, subject: str, expires_us: int) -> None: ...
    def link_code_take(self, code_hash: str, now_us: int) -> str | None: ...
    def link_identities(self, into_key: str, other_key: str) -> bool: ...


class InventoryStore(Protocol):
    def add_server(self, server: Server) -> bool: ...
    def server(self, name: str) -> Server | None: ...
    def servers(self) -> list[Server]: ...
    def server_by_id(self, server_id: int) -> Server | None: ...
    def remove_server(self, name: str) -> bool: ...


class MessageKeys(Protocol):
    """Which platform message carries a core message key (``approval:3``, ``job:7``, ``alert:2``)."""

    def remember_message(self, key: str, channel: str, message_id: str) -> None: ...
    def message_key(self, channel: str, message_id: str) -> str | None: ...
    def message_id(self, key: str) -> tuple[str, str] | None: ...


class ApprovalStore(Protocol):
    """Requests and votes; ``transition_approval`` is a compare-and-set, so a request moves once."""

    def create_approval(self, draft: ApprovalDraft) -> int: ...
    def approval(self, request_id: int) -> ApprovalRecord | None: ...
    def pending_approvals(self, state: str = "pending") -> list[ApprovalRecord]: ...  # or those in ``state``
    def cast_vote(self, request_id: int, vote: Vote, now_us: int) -> None: ...
    def withdraw_vote(self, request_id: int, voter: str) -> bool: ...
    def votes(self, request_id: int) -> list[Vote]: ...
    def transition_approval(self, request_id: int, from_state: str, to_state: str) -> bool: ...


class JobStore(Protocol):
    """Jobs and their guarded transitions (``bot.jobs.TRANSITIONS``): a job is claimed once, and
    ``create_job`` records a job that takes a lock (``bot.jobs.job_lock``) only while no active job
    holds it, atomically even between replicas."""

    def create_job(self, draft: JobDraft, now_us: int, approval: int | None = None) -> int:
        """JobLocked: its lock is held (issue 16). With ``approval``, the job and that request's move
        approved → dispatched are one transaction; ApprovalClosed: it was no longer approved."""
    def job(self, job_id: int) -> JobRecord | None: ...
    def jobs(self, *, requester: str | None = None, states: frozenset[str] | None = None,
             limit: int = 20) -> list[JobRecord]: ...
    def claim_job(self, job_id: int, now_us: int) -> bool: ...
    def claim_job_within(self, job_id: int, now_us: int, env: str, limit: int) -> str: ...  # claimed|full|taken
    def job_progress(self, job_id: int, step: int, total: int, name: str, now_us: int) -> None: ...
    def heartbeat(self, job_id: int, now_us: int) -> None: ...
    def finish_job(self, job_id: int, state: str, result: Mapping[str, object], now_us: int) -> bool: ...
    def request_cancel(self, job_id: int) -> None: ...
    def purge_jobs(self, finished_before_us: int) -> int: ...  # retention (issue 6)


class KvStore(Protocol):
    """Small named values adapters keep across restarts (a sync token, a device id)."""

    def kv_get(self, name: str) -> str | None: ...
    def kv_set(self, name: str, value: str) -> None: ...


class AuditStore(Protocol):
    """The hash-chained audit log; retention purges its oldest rows behind a checkpoint (issue 6)."""

    def append_audit(self, drafts: Sequence[AuditDraft]) -> None: ...
    def audit_records(self) -> Iterator[AuditRecord]: ...
    def audit_records_by(self, actors: Sequence[str]) -> Iterator[AuditRecord]: ...
    def audit_head(self) -> ChainHead | None: ...
    def audit_checkpoint(self) -> Checkpoint | None: ...
    def purge_audit(self, through_seq: int, now_us: int) -> Checkpoint | None: ...


class SecretStore(Protocol):
    """Encrypted secrets as opaque tokens (the vault that makes them lives outside the store, issue 6)."""

    def secret_put(self, name: str, token: bytes, now_us: int) -> None: ...
    def secret_token(self, name: str) -> bytes | None: ...
    def secret_list(self) -> list[SecretInfo]: ...
    def secret_delete(self, name: str) -> bool: ...
    def secret_tokens(self) -> dict[str, bytes]: ...
    def secret_replace(self, tokens: Mapping[str, bytes]) -> None: ...


class ComplianceStore(Protocol):
    """GDPR: what is held about a person, and erasing it from every domain (issue 6)."""

    def person_data(self, key: str) -> PersonData | None: ...
    def erase_person(self, key: str) -> int: ...


class AlertStore(Protocol):
    """Alertmanager groups, their alerts and storms (issue 5)."""

    def save_alert_group(self, delivery: AlertDelivery, channel: str,
                         now_us: int) -> tuple[AlertGroupRecord, bool] | None: ...
    def alert_group(self, group_id: int) -> AlertGroupRecord | None: ...
    def group_alerts(self, group_id: int) -> list[AlertView]: ...
    def firing_alerts(self) -> list[AlertRecord]: ...
    def alerts_with_status(self, status: str, limit: int) -> list[AlertRecord]: ...  # newest first
    def ack_alert_group(self, group_id: int, who: str, now_us: int) -> bool: ...
    def ack_storm(self, storm_id: int, who: str, now_us: int) -> list[int]: ...
    def set_alert_silence(self, group_id: int, silence_id: str) -> None: ...
    def set_alert_incident(self, group_id: int, incident_id: int) -> None: ...
    def alert_messages_since(self, channel: str, since_us: int) -> int: ...
    def join_storm(self, group_id: int, channel: str, since_us: int, now_us: int) -> tuple[int, bool]: ...
    def storm_summary(self, storm_id: int) -> StormSummary | None: ...
    def storm_groups(self, storm_id: int) -> list[AlertGroupRecord]: ...


class IncidentStore(Protocol):
    """Incidents and their timelines; state changes are compare-and-set (issue 5)."""

    def create_incident(self, draft: IncidentDraft, now_us: int) -> int: ...
    def incident(self, incident_id: int) -> IncidentRecord | None: ...
    def incidents(self, *, states: frozenset[str] | None = None, since_us: int | None = None,
                  limit: int = 50) -> list[IncidentRecord]: ...
    def incident_at(self, channel: str, thread: str) -> IncidentRecord | None: ...
    def transition_incident(self, incident_id: int, to_state: str, event: IncidentEvent) -> bool: ...
    def assign_incident(self, incident_id: int, owner: str, event: IncidentEvent) -> None: ...
    def flag_incident_significant(self, incident_id: int, event: IncidentEvent) -> bool: ...
    def add_incident_event(self, incident_id: int, event: IncidentEvent) -> None: ...
    def incident_events(self, incident_id: int) -> list[IncidentEvent]: ...


# -- API tokens (issue 13) ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """A token Dihya issued for its API. Only this record is kept, never the signed token: it names
    an identity, and the roles of that identity are looked up on every request."""

    id: str  # the token's ``jti``
    name: str
    identity: str  # identity key, "platform:user_id"
    created_us: int
    expires_us: int
    revoked_us: int | None = None

    def state(self, now_us: int) -> str:
        """``revoked``, ``expired`` or ``active``."""
        if self.revoked_us is not None:
            return "revoked"
        return "expired" if now_us >= self.expires_us else "active"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    record: ApiTokenRecord
    token: str = field(repr=False)  # the signed JWT: a secret, shown once to its owner and never stored


class ApiTokenStore(Protocol):
    """Records of the API tokens Dihya issued; revocation is once, and takes effect at the next request."""

    def add_api_token(self, record: ApiTokenRecord) -> None: ...
    def api_token(self, token_id: str) -> ApiTokenRecord | None: ...
    def api_tokens(self, identities: Collection[str] | None = None) -> list[ApiTokenRecord]: ...
    def revoke_api_token(self, token_id: str, now_us: int) -> bool: ...


class ApiTokens(Protocol):
    """Issuing tokens as command handlers use it (the signing key lives outside the core)."""

    def issue(self, identity: str, name: str, ttl_s: int | None = None) -> IssuedToken: ...
# -- end API tokens -------------------------------------------------------------------------------


class Store(IdentityStore, LinkStore, InventoryStore, MessageKeys, ApprovalStore, JobStore, KvStore, AuditStore,
            SecretStore, ComplianceStore, AlertStore, IncidentStore, ApiTokenStore, Protocol):
    """Persistence the core relies on, every domain at once. Methods are short, synchronous and
    transactional. Code that needs one domain takes that domain's port."""

    def finish_job_audited(self, job_id: int, state: str, result: Mapping[str, object], now_us: int,
                           audit: AuditDraft) -> bool: ...  # finish_job and its audit row, atomically


class Clock(Protocol):
    def __call__(self) -> float: ...


# -- compliance (issue 6) -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SecretInfo:
    name: str
    updated_us: int


@dataclass(frozen=True, slots=True)
class PersonData:
    """What the store holds about one person (for ``gdpr export``)."""

    person_id: int
    keys: tuple[str, ...]
    roles: frozenset[str]
    locale: str | None
    pseudonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """A file an export wrote (exports stream to disk: the log may be larger than memory should hold)."""

    filename: str
    path: Path
    sha256: str


@dataclass(frozen=True, slots=True)
class LogReport:
    """``audit verify``: the hash chain (from the retention checkpoint, if any) and the tail check
    against the latest anchor (None when no anchor file is configured or written yet)."""

    chain: Verdict
    tail: Verdict | None


class Compliance(Protocol):
    """Audit exports, encrypted secrets and verification, as command handlers use them."""

    def secret_set(self, name: str, value: str, now_us: int) -> None: ...
    def secret_names(self) -> list[SecretInfo]: ...
    def secret_delete(self, name: str) -> bool: ...
    def audit_export(self, fmt: str, since: str | None, actions: frozenset[str]) -> list[ExportedFile]: ...
    def person_export(self, key: str) -> ExportedFile | None: ...
    def verify_log(self) -> LogReport: ...
# -- end compliance -------------------------------------------------------------------------------
