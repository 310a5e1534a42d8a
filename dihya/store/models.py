"""Tables. Changing one means writing an Alembic migration (``alembic revision --autogenerate``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)


class Identity(Base):
    """A platform account; ``platform_user_id`` is the platform's immutable id."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Pseudonym(Base):
    """The only link from an audit actor to an identity; erasing it makes the rows unlinkable."""

    __tablename__ = "pseudonyms"
    pseudonym: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), unique=True)


class ServerRow(Base):
    """``address`` is sealed when a secret key is set (``dihya.store.sealing``); ``name`` stays clear for lookups."""

    __tablename__ = "servers"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    address: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(32))
    # The API's numeric id: assigned at insert from ``server_ids`` (max + 1 would reuse a removed one's id).
    id: Mapped[int] = mapped_column(Integer, unique=True)


class ServerIdCounter(Base):
    """The last server id handed out: ids are never reused, even after a server is removed."""

    __tablename__ = "server_id_counter"
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """Append-only; each row carries the hash of the previous one (see ``bot.audit``)."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts_us: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(40), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the chain's length and last hash, updated in the same transaction as appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class MessageRef(Base):
    """Which platform message carries a core message key (an approval request, a job's status)."""

    __tablename__ = "message_refs"
    __table_args__ = (UniqueConstraint("channel", "message_id"),)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(255))


class KeyValue(Base):
    """Small named values adapters keep across restarts (Matrix sync token, device id)."""

    __tablename__ = "key_values"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ApprovalRequestRow(Base):
    """A sensitive command waiting for votes. ``digest`` binds it to the exact command, arguments
    and place; ``state`` moves pending → approved → dispatched (or denied / expired) by guarded
    UPDATEs, so concurrent votes dispatch it at most once."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(300))
    args: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    permission: Mapped[str] = mapped_column(String(64))
    quorum: Mapped[int] = mapped_column(Integer)
    approver_roles: Mapped[str] = mapped_column(String(200))
    requester: Mapped[str] = mapped_column(String(300))
    requester_person: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel: Mapped[str] = mapped_column(String(300))
    thread: Mapped[str | None] = mapped_column(String(255), nullable=True)
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)


class ApprovalVote(Base):
    __tablename__ = "approval_votes"
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id", ondelete="CASCADE"), primary_key=True)
    voter: Mapped[str] = mapped_column(String(300), primary_key=True)
    voter_person: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approve: Mapped[bool] = mapped_column()
    created_us: Mapped[int] = mapped_column(BigInteger)


class JobRow(Base):
    """A unit of long work. ``state`` moves by guarded UPDATEs (see ``bot.jobs.TRANSITIONS``),
    so a redelivered task finds the job already claimed and does not run it twice."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    args: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(300))
    requester: Mapped[str] = mapped_column(String(300))
    approvers: Mapped[str] = mapped_column(Text, default="[]")
    state: Mapped[str] = mapped_column(String(16), index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    step_name: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(300))
    thread: Mapped[str | None] = mapped_column(String(255), nullable=True)
    locale: Mapped[str] = mapped_column(String(8))
    timeout_s: Mapped[int] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    result: Mapped[str] = mapped_column(Text, default="{}")  # JSON; sealed when a secret key is set
    created_us: Mapped[int] = mapped_column(BigInteger)
    started_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    heartbeat_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
