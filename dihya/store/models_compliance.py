"""Tables for compliance: encrypted secrets, retention checkpoints, identity link codes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dihya.store.models import Base

__all__ = ["AuditCheckpoint", "Base", "LinkCode", "SecretRow"]


class SecretRow(Base):
    """A secret's Fernet token (it binds the name, see ``dihya.vault``); the value is never stored in clear."""

    __tablename__ = "secrets"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)


class LinkCode(Base):
    """A one-time ``link`` code, stored as its SHA-256 only: reading the table does not reveal it."""

    __tablename__ = "link_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    expires_us: Mapped[int] = mapped_column(BigInteger)


class AuditCheckpoint(Base):
    """Written when retention purges old audit rows: verification starts from the newest one.
    ``digest`` hashes the other columns; the purge is also an ``audit:purge`` row in the chain."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    through_seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    purged: Mapped[int] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
