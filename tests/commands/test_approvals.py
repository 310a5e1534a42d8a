"""Approvals by reaction: who may vote, quorum, expiry, re-checks at dispatch, exactly-once."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine, update

from bot.events import Place, Reaction, Sender
from dihya.app import App, build_app
from dihya.settings import Settings
from dihya.store.models import ApprovalRequestRow
from tests.helpers.apps import trail
from tests.helpers.transcript import Transcript


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, engine: Engine, clock: Clock) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine, clock=clock)
    await built.start()
    yield built
    await built.stop()


async def ready(app: App, chat: Transcript) -> str:
    """web-01 in the inventory, devops1/devops2 approvers, user2 (devops) asks to remove it."""
    for who, role in (("devops1", "devops"), ("devops2", "devops"), ("user2", "devops"), ("dev1", "developer")):
        app.store.grant_role(f"console:{who}", role)
    await chat.say("admin1", "servers add web-01 10.0.0.5 production")
    reply = await chat.say("user2", "servers remove web-01")
    assert "Approval needed (#1)" in reply
    return chat.last.id


async def test_only_an_allowed_other_person_dispatches(app: App, chat: Transcript) -> None:
    request = await ready(app, chat)
    assert "cannot approve your own request" in await chat.react("user2", "✅", request)
    assert "may not approve" in await chat.react("stranger", "✅", request)
    assert "may not approve" in await chat.react("dev1", "👍", request)
    assert "Removed web-01" in await chat.react("devops1", "✅", request)
    assert chat.by_id(request).current.startswith("✅ Approved (#1) by console:devops1")
    assert app.store.server("web-01") is None
    assert "already closed" in await chat.react("devops2", "✅", request)
    votes = [row for row in trail(app) if row[0] == "approval:vote"]
    assert votes == [("approval:vote", "refused")] * 3 + [("approval:vote", "approve"),
                                                          ("approval:vote", "refused")]


async def test_deny_closes_the_request(app: App, chat: Transcript) -> None:
    request = await ready(app, chat)
    await chat.react("devops1", "❌", request)
    assert chat.by_id(request).current.startswith("❌ Denied (#1) by console:devops1")
    assert app.store.server("web-01") is not None


async def test_vote_after_expiry_is_refused_and_the_request_closed(app: App, chat: Transcript, clock: Clock) -> None:
    request = await ready(app, chat)
    clock.now += 31 * 60
    assert "expired" in await chat.react("devops1", "✅", request)
    assert chat.by_id(request).current.startswith("⌛ Expired (#1)")
    assert app.store.server("web-01") is not None


async def test_approver_who_lost_the_role_is_refused(app: App, chat: Transcript) -> None:
    request = await ready(app, chat)
    app.store.revoke_role("console:devops1", "devops")
    assert "may not approve" in await chat.react("devops1", "✅", request)
    assert app.store.server("web-01") is not None


async def test_requester_who_lost_the_right_is_not_run(app: App, chat: Transcript) -> None:
    request = await ready(app, chat)
    app.store.revoke_role("console:user2", "devops")
    assert "requester is no longer allowed" in await chat.react("devops1", "✅", request)
    assert app.store.server("web-01") is not None


async def test_request_whose_arguments_changed_is_not_run(app: App, chat: Transcript) -> None:
    request = await ready(app, chat)
    with app.engine.begin() as conn:
        conn.execute(update(ApprovalRequestRow).values(args='{"name": "web-02"}'))
    assert "no longer matches" in await chat.react("devops1", "✅", request)
    assert app.store.server("web-01") is not None


async def test_withdrawn_vote_no_longer_counts(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:admin2", "admin")
    await chat.say("admin1", "role grant someone admin")  # granting admin: two admins must approve
    request = chat.last.id
    await chat.react("admin2", "✅", request)
    assert "so far: console:admin2" in chat.by_id(request).current
    await chat.react("admin2", "✅", request, added=False)
    assert "so far: -" in chat.by_id(request).current
    app.store.grant_role("console:admin3", "admin")
    await chat.react("admin2", "✅", request)
    assert "now has the role admin" in await chat.react("admin3", "👍", request)


async def test_approval_of_admin_grant_needs_two_distinct_admins(app: App, chat: Transcript) -> None:
    app.store.grant_role("console:admin2", "admin")
    await chat.say("admin1", "role grant someone admin")
    request = chat.last.id
    await chat.react("admin2", "✅", request)
    await chat.react("admin2", "👍", request)  # the same person twice is still one vote
    assert "admin" not in app.store.identity("console:someone").roles if app.store.identity("console:someone") \
        else True
    assert "Approval needed" in chat.by_id(request).current


async def test_concurrent_approvals_on_two_replicas_dispatch_once(app: App, chat: Transcript, settings: Settings,
                                                                  engine: Engine) -> None:
    request = await ready(app, chat)
    replica = build_app(settings, engine=engine)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def vote(bot_app: App, who: str) -> None:
        event = Reaction(f"race-{who}", Sender("console", who), Place("console", "main"), request, "✅")
        barrier.wait()
        outcomes.append(bot_app.bot.handle(event))

    threads = [threading.Thread(target=vote, args=(a, w)) for a, w in ((app, "devops1"), (replica, "devops2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    replica.bot.flush_audit()
    runs = [row for row in trail(app) if row == ("command:servers.remove", "ok")]
    assert len(runs) == 1
    assert app.store.approval(1).state == "dispatched"  # type: ignore[union-attr]
    replica.close()


async def test_pending_approval_survives_a_bot_restart(app: App, chat: Transcript, settings: Settings,
                                                       engine: Engine) -> None:
    request = await ready(app, chat)
    await app.stop()
    restarted = build_app(settings, engine=engine)
    await restarted.start()
    chat_again = Transcript(restarted)
    chat_again.posted = chat.posted  # the same channel history, as the platform keeps it
    assert "Removed web-01" in await chat_again.react("devops1", "✅", request)
    await restarted.stop()


async def job_ended(app: App, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(job.finished for job in app.store.jobs()):
        assert time.monotonic() < deadline, app.store.jobs()
        await asyncio.sleep(0.05)


async def test_concurrent_approvals_of_a_deploy_create_exactly_one_job(app: App, chat: Transcript,
                                                                       settings: Settings, engine: Engine) -> None:
    for who, role in (("dev1", "developer"), ("devops1", "devops"), ("devops2", "devops")):
        app.store.grant_role(f"console:{who}", role)
    await chat.say("dev1", "deploy web to production version v7")
    request = chat.last.id
    replica = build_app(settings, engine=engine)
    barrier = threading.Barrier(2)

    def vote(bot_app: App, who: str) -> None:
        barrier.wait()
        bot_app.bot.handle(Reaction(f"race-{who}", Sender("console", who), Place("console", "main"), request, "✅"))

    threads = [threading.Thread(target=vote, args=(a, w)) for a, w in ((app, "devops1"), (replica, "devops2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(app.store.jobs()) == 1
    await job_ended(app)  # whichever replica won runs it in a thread of its own: not past the test
    replica.close()
