"""``PointRead``: the API's per-request lookups run off SQLAlchemy's execution layer, with the same
answers and the same ``StoreUnavailable`` when the database is refused or lost mid-read."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, bindparam, func, literal_column, select, text

from bot.errors import StoreUnavailable
from dihya.store.engine import make_engine, upgrade
from dihya.store.identities_sql import PERSON_WITH_ROLES
from dihya.store.point_read import PointRead
from dihya.store.sql import SqlStore
from tests.helpers.databases import PG_URL
from tests.helpers.ports import free_port


def test_it_reads_what_sqlalchemy_reads_with_a_parameter_bound_twice(engine: Engine) -> None:
    upgrade(engine)
    store = SqlStore(engine)
    for person, role in (("console:ana", "ops"), ("console:ana", "devops"), ("console:bo", "guest")):
        store.grant_role(person, role)
    store.pseudonym("console:ana")
    params = {"key": "console:ana", "platform": "console", "user_id": "ana"}  # ``key`` and the identity's parts

    with engine.connect() as conn:
        expected = sorted(tuple(row) for row in conn.execute(PERSON_WITH_ROLES, params))
    got = sorted(PointRead(engine, PERSON_WITH_ROLES).rows(params))

    assert got == expected and {row[3] for row in got} == {"ops", "devops"}
    assert PointRead(engine, PERSON_WITH_ROLES).first({**params, "user_id": "nobody"}) is None


def test_a_database_that_refuses_the_connection_is_unavailable() -> None:
    closed = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    read = PointRead(closed, select(literal_column("1")).where(bindparam("x") == 1))

    with pytest.raises(StoreUnavailable):
        read.rows({"x": 1})


@pytest.mark.postgres
def test_a_connection_lost_mid_read_is_unavailable_and_the_next_read_reconnects() -> None:
    engine = make_engine(PG_URL)
    admin = make_engine(PG_URL)
    slow = PointRead(engine, select(func.pg_sleep(bindparam("s")), func.pg_backend_pid()))
    try:
        assert slow.rows({"s": 0})  # a pooled connection now exists

        def terminate_the_sleeper() -> None:
            time.sleep(0.5)
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()"))

        killer = threading.Thread(target=terminate_the_sleeper)
        killer.start()
        with pytest.raises(StoreUnavailable):
            slow.rows({"s": 5})
        killer.join()

        [(_, pid)] = slow.rows({"s": 0})  # the lost connection was not given back to the pool
        assert isinstance(pid, int)
    finally:
        engine.dispose()
        admin.dispose()
