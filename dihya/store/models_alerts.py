"""Tables for alerts and incidents (Alertmanager groups and their alerts, storms, incident timelines)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dihya.store.models import Base

__all__ = ["AlertGroupRow", "AlertRow", "AlertStormRow", "Base", "IncidentEventRow", "IncidentRow"]


class AlertGroupRow(Base):
    """One Alertmanager group (``groupKey``, stored with its SHA-256 as the unique key)."""

    __tablename__ = "alert_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_hash: Mapped[str] = mapped_column(String(64), unique=True)
    group_key: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(300), index=True)
    status: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))  # state of the last delivery, for dedupe
    group_labels: Mapped[str] = mapped_column(Text)  # JSON
    common_labels: Mapped[str] = mapped_column(Text)  # JSON
    common_annotations: Mapped[str] = mapped_column(Text)  # JSON
    external_url: Mapped[str] = mapped_column(Text)
    storm_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    acked_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    acked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    silence_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_us: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("group_id", "fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    labels: Mapped[str] = mapped_column(Text)  # JSON
    annotations: Mapped[str] = mapped_column(Text)  # JSON
    generator_url: Mapped[str] = mapped_column(Text)
    starts_us: Mapped[int] = mapped_column(BigInteger)
    ends_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AlertStormRow(Base):
    """A burst of alert groups in one channel, shown as one summary message."""

    __tablename__ = "alert_storms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(300), index=True)
    started_us: Mapped[int] = mapped_column(BigInteger)
    last_us: Mapped[int] = mapped_column(BigInteger)


class IncidentRow(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)
    opened_by: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(300), nullable=True)
    channel: Mapped[str] = mapped_column(String(300))
    thread: Mapped[str | None] = mapped_column(String(255), nullable=True)
    locale: Mapped[str] = mapped_column(String(8))
    significant: Mapped[bool] = mapped_column(Boolean, default=False)
    created_us: Mapped[int] = mapped_column(BigInteger, index=True)
    acked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    resolved_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class IncidentEventRow(Base):
    """The timeline: every state change, update, linked alert and notice."""

    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    ts_us: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    ref: Mapped[str] = mapped_column(String(100))
