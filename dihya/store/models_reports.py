"""Generated operations reports (issue 17): the Markdown and the chart, kept for the API."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dihya.store.models import Base

__all__ = ["Base", "OpsReportRow"]


class OpsReportRow(Base):
    """``period_key`` names a scheduled run (channel and fire time); it is unique, so a period is
    reported once however many replicas try. Reports asked for in chat have none."""

    __tablename__ = "ops_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | chat
    period_key: Mapped[str | None] = mapped_column(String(340), nullable=True, unique=True)
    since_us: Mapped[int] = mapped_column(BigInteger)
    until_us: Mapped[int] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger, index=True)
    markdown: Mapped[str] = mapped_column(Text)
    png: Mapped[bytes] = mapped_column(LargeBinary)
