"""Migration 0012: servers added before numeric ids get 1..n in name order, and later ones go on from n."""

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from bot.ports import Server
from dihya.store.engine import MIGRATIONS
from dihya.store.sql import SqlStore


def migrate(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_existing_servers_are_backfilled_and_new_ids_follow(engine: Engine) -> None:
    migrate(engine, "0011_reports")
    with engine.begin() as conn:
        for name in ("db-01", "web-01"):
            conn.execute(text("INSERT INTO servers (name, address, environment) VALUES (:n, '10.0.0.1', 'staging')"),
                         {"n": name})
    migrate(engine, "heads")
    store = SqlStore(engine)
    assert [(s.name, s.id) for s in store.servers()] == [("db-01", 1), ("web-01", 2)]
    store.remove_server("web-01")
    assert store.add_server(Server("app-01", "10.0.0.2", "test"))
    assert store.server("app-01") is not None and store.server("app-01").id == 3  # type: ignore[union-attr]
