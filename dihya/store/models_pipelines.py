"""The table of CI/CD pipeline runs (issue 15): one row per provider run, updated as it changes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dihya.store.models import Base

__all__ = ["Base", "PipelineRunRow"]


class PipelineRunRow(Base):
    """A run triggered here or reported by a webhook; ``stages`` is JSON [[name, state, status], …]."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (UniqueConstraint("provider", "project", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    project: Mapped[str] = mapped_column(String(300))
    run_id: Mapped[str] = mapped_column(String(100))
    pipeline: Mapped[str] = mapped_column(String(100), index=True)
    service: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(255))
    sha: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    stages: Mapped[str] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(16))
    default_branch: Mapped[str] = mapped_column(String(255))
    created_us: Mapped[int] = mapped_column(BigInteger, index=True)
    updated_us: Mapped[int] = mapped_column(BigInteger)
