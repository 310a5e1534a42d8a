"""Shared fixtures. Every test that uses ``app`` runs twice: on an SQLite file and on the real
PostgreSQL at 127.0.0.1:5432 (each test in a schema of its own, dropped afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dihya.app import App, build_app
from dihya.settings import Settings, load_settings
from tests.helpers.databases import database
from tests.helpers.transcript import Transcript


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database(request.param, tmp_path) as eng:
        yield eng


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
