"""Property-based: arbitrary unicode never crashes the parser or the bot, replies stay bounded,
and nothing changes but audit rows (and the audit actors' pseudonyms)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.i18n import MAX_REPLY
from bot.parser import Parsed, Rejected, parse
from bot.registry import Registry
from commands import ALL
from dihya.app import App, build_app
from dihya.settings import load_settings
from dihya.store.models import Base
from tests.helpers.transcript import Transcript

REGISTRY = Registry(ALL)
AUDIT_TABLES = {"audit_events", "audit_head", "pseudonyms", "alembic_version"}
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.sampled_from(
    ["deploy", "servers add", "role grant", "\u202e", "\x00", "ⵜⴰⵡⵉⵙⵉ", "مساعدة x", "help " * 80])


@given(texts)
@settings(max_examples=400, deadline=None)
def test_parser_never_raises(text: str) -> None:
    assert isinstance(parse(REGISTRY, text), Parsed | Rejected)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Transcript, asyncio.AbstractEventLoop]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    app = build_app(load_settings(data_dir=tmp, admins=("console:admin1",), rate_limit_per_minute=0))
    loop = asyncio.new_event_loop()
    yield app, Transcript(app), loop
    app.close()
    loop.close()


def state(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables if t.name not in AUDIT_TABLES}


@given(text=texts, speaker=st.sampled_from(["admin1", "stranger"]))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_bot_survives_any_text(fuzz_app: tuple[App, Transcript, asyncio.AbstractEventLoop], text: str,
                               speaker: str) -> None:
    app, chat, loop = fuzz_app
    parsed = parse(REGISTRY, text)
    assume_readonly = not (isinstance(parsed, Parsed) and parsed.command.mutating)
    before = state(app)
    reply = loop.run_until_complete(chat.say(speaker, text))
    assert len(reply) <= MAX_REPLY
    if not text.strip():
        assert reply == ""
    else:
        assert reply
    if assume_readonly:
        assert state(app) == before
