"""Shared fixtures. Every test that uses ``app`` runs twice: on an SQLite file and on the real
PostgreSQL at 127.0.0.1:5432 (each test in a schema of its own, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from dihya.store.engine import make_engine
from tests.helpers.transcript import Transcript

PG_URL = os.environ.get("DIHYA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'dihya.sqlite3'}")
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_URL, schema=schema)
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                         identity_cache_seconds=0)


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture
def chat(app: App) -> Transcript:
    return Transcript(app)
