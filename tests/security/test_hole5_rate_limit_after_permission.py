"""Hole 5: the rate limit came after the permission check, so unknown, refused and reaction
events were never throttled (600 lines from a guest: 600 replies, 600 audit rows).

Now the limit is per sender and comes before identity, parsing and permission, reactions
included; past it the sender gets one notice, then silence for the window, and the audit
records the flood as one row per window with its count."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.audit import AuditRecord
from dihya.app import App
from dihya.settings import Settings, load_settings
from tests.helpers.transcript import Transcript
from tests.security.conftest import Clock

BURST = 5
NOTICE = "Too many messages"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=60,
                         rate_limit_burst=BURST, identity_cache_seconds=0)


def rows(app: App) -> list[AuditRecord]:
    """The rows chat events wrote (not the start-up record of changed settings)."""
    app.bot.flush_audit()
    return [r for r in app.store.audit_records() if not r.draft.action.startswith("settings:")]


def floods(app: App) -> list[AuditRecord]:
    return [r for r in rows(app) if r.draft.action == "rate_limit"]


async def flood(chat: Transcript, who: str, lines: list[str]) -> list[str]:
    return [reply for reply in [await chat.say(who, line) for line in lines] if reply]


async def test_hole5_a_guests_flood_of_unknown_and_refused_commands_is_throttled(app: App, chat: Transcript,
                                                                                 clock: Clock) -> None:
    lines = [f"blah {i}" if i % 2 else f"servers add web-{i} 10.0.0.{i % 250 + 1} production" for i in range(600)]
    replies = await flood(chat, "guest", lines)
    assert len(replies) == BURST + 1
    assert NOTICE in replies[-1] and "60 seconds" in replies[-1]
    assert len(rows(app)) == BURST  # the five answered lines; the flood's row waits for its window to end
    clock.now += 61
    assert floods(app)[0].draft.details["count"] == 600 - BURST
    assert floods(app)[0].draft.outcome == "throttled"
    assert "Unknown command" in await chat.say("guest", "blah again")  # served again after the window
    assert len(rows(app)) == BURST + 2


async def test_hole5_reactions_count_against_the_same_limit(app: App, chat: Transcript, clock: Clock) -> None:
    app.store.grant_role("console:dev1", "developer")
    await chat.say("dev1", "deploy web to production version v1")
    request = chat.last.id
    replies = [r for r in [await chat.react("guest", "✅", request) for _ in range(600)] if r]
    assert len(replies) == BURST + 1
    assert all("may not approve" in r for r in replies[:BURST]) and NOTICE in replies[-1]
    assert "may not approve" not in await chat.say("guest", "whoami")  # the same sender, still silent
    clock.now += 61
    assert [f.draft.details["count"] for f in floods(app)] == [600 - BURST + 1]


async def test_hole5_each_window_of_a_flood_is_one_audit_row(app: App, chat: Transcript, clock: Clock) -> None:
    await flood(chat, "guest", ["ping"] * 50)
    clock.now += 61
    await flood(chat, "guest", ["ping"] * 30)
    clock.now += 61
    counts = [f.draft.details["count"] for f in floods(app)]
    assert counts == [50 - BURST, 30 - BURST]
    assert len(rows(app)) == 2 * BURST + 2
    other = await chat.say("someone-else", "ping")
    assert "pong" in other.lower()  # the limit is per sender


async def test_hole5_an_open_flood_is_recorded_at_shutdown(app: App, chat: Transcript) -> None:
    await flood(chat, "guest", ["ping"] * 20)
    await app.stop()
    assert [f.draft.details["count"] for f in floods(app)] == [20 - BURST]
    await app.start()  # the fixture stops it again
