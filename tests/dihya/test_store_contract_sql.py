"""The store contract of ``tests/bot/test_store_contract.py``, run on ``SqlStore`` over SQLite and
PostgreSQL: the same assertions hold for the in-memory store the core tests use and for the real one."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.memory import alerts as memory_alerts
from bot.memory import compliance as memory_compliance
from bot.ports import Store
from dihya.store import alerts_sql, compliance_sql
from dihya.store.engine import upgrade
from dihya.store.sql import SqlStore
from tests.bot.test_store_contract import *  # noqa: F403 - the contract's tests, collected here too


@pytest.fixture
def store(engine: Engine) -> Store:  # overrides the contract's in-memory store
    upgrade(engine)
    return SqlStore(engine)


def test_both_stores_mark_erasures_and_summarise_storms_alike() -> None:
    assert memory_compliance.ERASED == compliance_sql.ERASED
    assert memory_alerts.STORM_NAMES == alerts_sql.STORM_NAMES
