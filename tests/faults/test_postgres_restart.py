"""Fault 2 (issue 16): the bot's PostgreSQL restarts under it. While it is down, mutating commands
are refused with a translated message and change nothing, read-only commands that need no
database still answer; once it is back the bot recovers by itself, within 30 s, and no audit row of
the outage is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.audit import verify
from dihya.app import App, build_app
from dihya.settings import load_settings
from dihya.store.engine import make_engine
from tests.faults.servers import OwnPostgres
from tests.helpers.transcript import Transcript

pytestmark = pytest.mark.faults
STORE_DOWN_FR = "La base de données est indisponible pour le moment ; rien n’a été modifié."


@pytest.fixture
async def app(tmp_path: Path, own_postgres: OwnPostgres) -> AsyncIterator[App]:
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=0,
                             identity_cache_seconds=1, audit_flush_ms=20)
    built = build_app(settings, engine=make_engine(own_postgres.url))
    await built.start()
    yield built
    await built.stop()


async def test_postgres_down_refuses_changes_answers_reads_and_recovers(
        app: App, chat: Transcript, own_postgres: OwnPostgres) -> None:
    await asyncio.sleep(1.2)  # start-up's one-shot work is done: what runs now are the background loops
    loops = [task for task in app._tasks if not task.done()]
    assert loops  # the sweep at least
    assert "fr" in await chat.say("admin1", "lang fr")
    assert "pong" in await chat.say("admin1", "ping")
    sent = 2

    own_postgres.stop()
    await asyncio.sleep(1.1)  # past the identity cache: who admin1 is comes from the last lookup

    assert "pong" in await chat.say("admin1", "ping")  # read-only, needs no database: answers
    assert "ping" in await chat.say("admin1", "aide")  # help lists what admin1 may run
    refused = await chat.say("admin1", "rôle accorder ops1 ops")
    assert STORE_DOWN_FR in refused, refused
    assert STORE_DOWN_FR in await chat.say("admin1", "tâches")  # read-only but needs the database
    sent += 4
    assert all(not task.done() for task in loops)  # no background loop died

    own_postgres.start()
    restarted, answer = time.monotonic(), ""
    while time.monotonic() - restarted < 30:
        answer = await chat.say("admin1", "rôle accorder ops1 ops")
        sent += 1
        if STORE_DOWN_FR not in answer:
            break
        await asyncio.sleep(0.5)
    recovery = time.monotonic() - restarted
    assert recovery < 30, answer
    assert "ops1" in answer and "ops" in answer, answer

    identity = app.store.identity("console:ops1")
    assert identity is not None and identity.roles == frozenset({"ops"})  # granted once, after recovery
    assert all(not task.done() for task in loops)
    app.bot.flush_audit()
    rows = [r.draft for r in app.store.audit_records() if r.draft.actor == app.store.pseudonym("console:admin1")
            and r.draft.action.startswith("command:")]
    assert len(rows) == sent  # every command of the outage has its row, written once the store was back
    outcomes = [(r.action, r.outcome) for r in rows]
    assert outcomes.count(("command:role.grant", "unavailable")) == sent - 6
    assert outcomes.count(("command:role.grant", "ok")) == 1
    assert outcomes.count(("command:jobs", "unavailable")) == 1
    assert verify(app.store.audit_records(), app.store.audit_head()).ok  # the chain holds across the outage
