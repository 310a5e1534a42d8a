"""The Alembic migrations and the models describe the same schema, on SQLite and PostgreSQL.

An empty database is created from the models and stamped (no Alembic on the start path); these
tests keep that honest by migrating another database step by step and comparing."""

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from dihya.store import (  # noqa: F401 - register their tables
    models_alerts,
    models_api,
    models_compliance,
    models_pipelines,
    models_reports,  # issue 17
)
from dihya.store.engine import MIGRATIONS, migration_heads, run_migrations, upgrade
from dihya.store.models import Base


def alembic_heads() -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def stamped(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def test_heads_read_from_the_files_match_alembic() -> None:
    assert migration_heads() == alembic_heads()


def test_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    run_migrations(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
    assert stamped(engine) == alembic_heads()


def test_an_empty_database_is_created_from_the_models_and_stamped(engine: Engine) -> None:
    upgrade(engine)
    assert stamped(engine) == alembic_heads()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    run_migrations(engine)  # Alembic agrees there is nothing left to do
    assert stamped(engine) == alembic_heads()


def test_a_database_at_the_heads_is_left_alone(engine: Engine) -> None:
    run_migrations(engine)
    upgrade(engine)
    assert stamped(engine) == alembic_heads()
