"""Outbound webhook deliveries (issue 17): one row per event and subscription until delivered or expired,
and the audit sequence number the dispatcher has read up to."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dihya.store.models import Base

__all__ = ["Base", "WebhookCursor", "WebhookDelivery"]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "subscription", "state", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent (UTF-8 JSON)
    state: Mapped[str] = mapped_column(String(16))  # pending, delivered, expired, rejected
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_us: Mapped[int] = mapped_column(BigInteger)
    next_us: Mapped[int] = mapped_column(BigInteger)
    last_status: Mapped[str] = mapped_column(String(64), default="")


class WebhookCursor(Base):
    """The last audit row turned into deliveries (one row, name ``audit``)."""

    __tablename__ = "webhook_cursor"
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
