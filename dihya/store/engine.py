"""Engine creation and migrations (Alembic), for SQLite files and PostgreSQL alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, ExceptionContext, create_engine, event, inspect, text

from bot.errors import StoreUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "dihya_read_only"  # execution option of ``readers``


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for ``url``. SQLite gets WAL and write-locking transactions (``readers`` gives
    plain ones); ``schema`` (PostgreSQL)
    sets the search path, which tests use to isolate themselves inside one database."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _unavailable(context: ExceptionContext) -> None:
    """A connection refused or lost becomes ``StoreUnavailable``, which the bot answers with "the
    database is unavailable" (issue 16). A stale pooled connection found by the pre-ping is left to
    the pool, which reconnects once and comes back here if that fails too."""
    if context.is_pre_ping:
        return
    if context.is_disconnect or context.connection is None:
        raise StoreUnavailable(type(context.original_exception).__name__) from context.sqlalchemy_exception


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never both read the audit head.
        # A reader (see ``readers``) takes none: under WAL it reads a snapshot while writers go on,
        # so a whole-table scan (an export, ``audit verify``) locks nobody out.
        # On the driver's connection: through ``exec_driver_sql`` the BEGIN cost more than a point read.
        reading = conn.get_execution_options().get(READ_ONLY, False)
        conn.connection.driver_connection.execute("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")

    return engine


def readers(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read: on SQLite they do not take the
    write lock. Writing through it is a mistake the database may refuse (SQLITE_BUSY)."""
    return engine.execution_options(**{READ_ONLY: True})


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migrations (``dihya db upgrade``; also run on every start).

    An empty database gets the tables straight from the models and is stamped with the heads (the
    schema the migrations produce; a test compares them); a database already at the heads is left
    alone. Only a database that needs migrating loads Alembic, which a running bot need not carry.
    """
    heads = migration_heads()
    if _stamped_revisions(engine) == heads:
        return
    with _migrating(engine):
        current = _stamped_revisions(engine)  # another replica may have done it while this one waited
        if current == heads:
            return
        if current is None:
            _create_and_stamp(engine, heads)
            return
        run_migrations(engine)


MIGRATION_LOCK = 0x44_69_68_79_61  # "Dihya": the advisory lock replicas migrate under


@contextmanager
def _migrating(engine: Engine) -> Iterator[None]:
    """Replicas that start together on an empty PostgreSQL database would both create the tables
    (issue 16): one migrates while the others wait, then find the schema at its heads. SQLite's
    writers are serialised already."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def run_migrations(engine: Engine) -> None:
    from alembic import command  # only at start: keeps Alembic out of a running bot's memory
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # feature branches of migrations may each have a head


_REVISION = re.compile(r"^revision: str = ['\"]([^'\"]+)['\"]", re.M)
_PARENTS = re.compile(r"^down_revision:[^=]*= (.+)$", re.M)


def migration_heads() -> frozenset[str]:
    """Revisions no other migration builds on, read from the migration files (no Alembic import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = _REVISION.search(text)
        if found:
            revisions.add(found.group(1))
        down = _PARENTS.search(text)
        if down:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


def _stamped_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions recorded in ``alembic_version``; None for a database with no tables at all."""
    names = set(inspect(engine).get_table_names())
    if "alembic_version" not in names:
        return None if not names else frozenset()
    with engine.connect() as conn:
        return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _create_and_stamp(engine: Engine, heads: frozenset[str]) -> None:
    from dihya.store import (  # noqa: F401 - register their tables
        models_alerts,
        models_api,
        models_compliance,
        models_pipelines,
        models_reports,  # issue 17
    )
    from dihya.store.models import Base

    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        for head in sorted(heads):
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
