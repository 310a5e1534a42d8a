"""Hole 10: connection-string passwords (``DIHYA_DATABASE_URL``, ``DIHYA_REDIS_URL``) are not plain
text: they hide in reprs, logs, errors and chat."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.events import Message, Place, Sender
from dihya.app import build_app
from dihya.compliance.settings_audit import fingerprints
from dihya.logs import configure
from dihya.redaction import Redactor
from dihya.settings import SettingsError, load_settings
from dihya.store.engine import make_engine
from tests.helpers.databases import PG_URL
from tests.helpers.transcript import Transcript

DB_PASSWORD = "db-pw-Zq81xv"
REDIS_PASSWORD = "redis-pw-Lk42mp"
PG_WITH_PASSWORD = PG_URL.replace("postgres@", f"postgres:{DB_PASSWORD}@")  # trust auth: any password works


def test_connection_string_passwords_hide_in_reprs() -> None:
    settings = load_settings(database_url=PG_WITH_PASSWORD, redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0")
    for shown in (repr(settings), str(settings), repr(settings.database_url), str(settings.redis_url),
                  settings.model_dump_json(), repr(settings.model_dump())):
        assert DB_PASSWORD not in shown and REDIS_PASSWORD not in shown
    assert str(settings.database_url) == PG_URL.replace("postgres@", "postgres:***@")  # the rest stays readable
    assert settings.sqlalchemy_url == PG_WITH_PASSWORD and settings.redis.endswith("@127.0.0.1:6379/0")
    assert DB_PASSWORD not in json.dumps(fingerprints(settings))


def test_connection_string_passwords_are_known_to_the_redactor_even_percent_encoded() -> None:
    settings = load_settings(database_url="postgresql://u:p%40ss-w0rd-9@db/x", redis_url="redis://h/0?password=q-pass-77")
    redact = Redactor(settings.secret_values())
    said = redact("could not connect with p%40ss-w0rd-9 (p@ss-w0rd-9) or q-pass-77")
    assert "w0rd" not in said and "q-pass" not in said


def test_a_bad_connection_string_setting_error_does_not_quote_it() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(database_url=12345678, redis_url=f"redis://:{REDIS_PASSWORD}@h:99999999/0", jobs="kafka")
    assert REDIS_PASSWORD not in str(refused.value)


def test_connection_string_passwords_hide_in_logs_and_errors(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0")
    path = tmp_path / "log.jsonl"
    configure("INFO", Redactor(settings.secret_values()), path)
    try:
        import redis

        redis.Redis.from_url(settings.redis, socket_connect_timeout=1).ping()
    except redis.RedisError as err:
        logging.getLogger("dihya.test").exception("redis at %s failed: %s", settings.redis, err)
    for handler in logging.getLogger().handlers:
        handler.flush()
    logged = path.read_text()
    assert "failed" in logged
    assert REDIS_PASSWORD not in logged


async def test_connection_string_passwords_hide_in_chat(tmp_path: Path) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    settings = load_settings(data_dir=tmp_path, database_url=PG_WITH_PASSWORD, rate_limit_per_minute=0)
    engine = make_engine(settings.sqlalchemy_url, schema=schema)
    app = build_app(settings, engine=engine)
    try:
        await app.start()
        chat = Transcript(app)
        said = await chat.say("admin1", f"help {DB_PASSWORD}")
        assert "No command" in said and DB_PASSWORD not in said
        event = Message("d-x", Sender("console", "admin1", "admin1"), Place("console", "main"), "x",
                        f"help {DB_PASSWORD}")
        assert DB_PASSWORD not in repr(app.runtime.handle(event))
        assert DB_PASSWORD not in repr(engine) and DB_PASSWORD not in repr(app.settings)
    finally:
        await app.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
