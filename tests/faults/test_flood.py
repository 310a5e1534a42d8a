"""Fault 4 (issue 16): one user sends 100 commands a second. They are throttled (their first
commands answered, then one notice, then silence, and one audit row counting the rest) while the
other users' p99 latency stays near what it was without the flood, measured in the same test."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dihya.app import App, build_app
from dihya.settings import load_settings
from tests.helpers.transcript import Transcript

pytestmark = pytest.mark.faults
FLOOD_RATE = 100  # commands a second
FLOOD_S = 2.0
USERS = 20
PER_PHASE = 10  # commands each other user sends without the flood, and again during it (within their burst)
BURST = 20


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(data_dir=tmp_path, admins=("console:admin1",), rate_limit_per_minute=60,
                             rate_limit_burst=BURST, identity_cache_seconds=2)
    built = build_app(settings)
    await built.start()
    yield built
    await built.stop()


async def others(chat: Transcript, latencies: list[float], answers: list[str]) -> None:
    """Every other user says ``ping`` once a round, as people do; each answer's latency is kept."""
    for _ in range(PER_PHASE):
        for user in range(USERS):
            started = time.perf_counter()
            answers.append(await chat.say(f"user{user}", "ping"))
            latencies.append(time.perf_counter() - started)
        await asyncio.sleep(FLOOD_S / PER_PHASE / 2)


async def flood(chat: Transcript, answers: list[str]) -> None:
    deadline = time.monotonic() + FLOOD_S
    sent = 0
    while sent < FLOOD_RATE * FLOOD_S:
        answers.append(await chat.say("flooder", "ping"))
        sent += 1
        await asyncio.sleep(max(0.0, (deadline - FLOOD_S + sent / FLOOD_RATE) - time.monotonic()))


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def test_a_flooding_user_is_throttled_and_the_others_keep_their_p99(app: App, chat: Transcript) -> None:
    baseline: list[float] = []
    base_answers: list[str] = []
    await others(chat, baseline, base_answers)

    during: list[float] = []
    answers: list[str] = []
    flooded: list[str] = []
    await asyncio.gather(others(chat, during, answers), flood(chat, flooded))

    sent = int(FLOOD_RATE * FLOOD_S)
    assert len(flooded) == sent
    answered = [a for a in flooded if a == "pong"]
    notices = [a for a in flooded if a.startswith("Too many messages")]
    assert BURST <= len(answered) <= BURST + 3  # the burst, and what refilled while it lasted
    assert len(notices) == 1
    assert flooded.count("") == sent - len(answered) - 1  # then silence for the window
    assert base_answers + answers == ["pong"] * (2 * USERS * PER_PHASE)  # nobody else was throttled
    assert p99(during) <= 2 * p99(baseline) + 0.005, (p99(baseline), p99(during))

    app.bot.flush_audit(final=True)
    rows = [r.draft for r in app.store.audit_records()]
    [throttled] = [r for r in rows if r.action == "rate_limit"]
    assert throttled.outcome == "throttled" and throttled.details["count"] == sent - len(answered)
    assert throttled.actor == app.store.pseudonym("console:flooder")
    assert len([r for r in rows if r.action == "command:ping"]) == len(answered) + 2 * USERS * PER_PHASE
