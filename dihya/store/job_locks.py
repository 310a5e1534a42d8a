"""The lock check of ``create_job`` (issue 16): one active production change per service; and the
count of running jobs per environment that ``claim_job_within`` limits.

Inside the inserting transaction: on PostgreSQL an advisory transaction lock on the lock's name
serialises replicas creating jobs for the same service (the SELECT after it sees what the previous
holder committed); SQLite's writers are already serialised (``BEGIN IMMEDIATE``, see ``engine``).
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import Connection, select, text

from bot.jobs import ACTIVE, LOCKED_KINDS, job_lock
from dihya.store.models import JobRow


def active_holder(conn: Connection, lock: str) -> int | None:
    """The id of the queued or running job that holds ``lock``, after taking the lock's mutex."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(lock)})
    rows = conn.execute(select(JobRow.id, JobRow.kind, JobRow.args)
                        .where(JobRow.state.in_(sorted(ACTIVE)), JobRow.kind.in_(sorted(LOCKED_KINDS)))
                        .order_by(JobRow.id))
    return next((job_id for job_id, kind, args in rows if job_lock(kind, json.loads(args)) == lock), None)


def running_in_env(conn: Connection, env: str, lock: bool = True) -> int:
    """How many jobs of environment ``env`` run now; with ``lock``, after taking the environment's
    mutex (PostgreSQL), so that two workers cannot both count a free slot and both claim it."""
    if lock and conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(f"env-slots:{env}")})
    rows = conn.execute(select(JobRow.args).where(JobRow.state == "running"))
    return sum(1 for (args,) in rows if json.loads(args).get("env") == env)


def _advisory_key(lock: str) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock``, the same in every replica."""
    return int.from_bytes(hashlib.blake2b(f"dihya-job-lock:{lock}".encode(), digest_size=8).digest(), "big",
                          signed=True)
