"""Alembic environment: runs on the connection handed in by ``dihya.store.engine.upgrade``,
or on ``DIHYA_DATABASE_URL`` when called from the ``alembic`` command line."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from dihya.store import (  # noqa: F401 - register tables
    models_alerts,
    models_compliance,
    models_pipelines,
    models_reports,
    models_webhooks,
)
from dihya.store.engine import make_engine
from dihya.store.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(os.environ.get("DIHYA_DATABASE_URL", "sqlite:///var/dihya.sqlite3"))
    with engine.begin() as conn:
        _run(conn)
