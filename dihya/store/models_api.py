"""Tables for the REST API (issue 13): records of the tokens Dihya issued (never the tokens)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from dihya.store.models import Base

__all__ = ["ApiTokenRow", "Base"]


class ApiTokenRow(Base):
    """One issued token, by its ``jti``. A request with a token whose row is gone or revoked is refused."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    identity: Mapped[str] = mapped_column(String(300), index=True)  # "platform:user_id"
    created_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    revoked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
