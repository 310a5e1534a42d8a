"""The leader lease (issue 16) on the real Redis: one holder at a time, fencing tokens that grow,
a dead holder replaced within the ttl, and a paused holder that wakes after expiry cannot act."""

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bot.events import Place
from bot.jobs import JobDraft
from dihya.app import App, build_app
from dihya.leader import DUTIES, Leadership, Lease
from dihya.settings import load_settings
from tests.helpers.redis_db import clean_redis

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    with clean_redis(REDIS_URL) as r:
        yield r


class FrozenClock:
    """The clock of a process paused (SIGSTOP, a frozen VM) and resumed: it saw no time pass."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_one_holder_at_a_time_with_growing_fencing_tokens(client: redis.Redis) -> None:
    a, b = Lease(client, "t:lease", ttl_s=5, owner="a"), Lease(client, "t:lease", ttl_s=5, owner="b")
    first = a.hold()
    assert first is not None
    assert b.hold() is None
    assert a.hold() == first  # a renewal keeps the token
    assert a.fenced(first) and not b.fenced(first) and not b.fenced(None)
    a.release()
    second = b.hold()
    assert second is not None and second > first
    assert not a.fenced(first)  # released: the old token no longer acts


def test_a_paused_holder_that_wakes_after_expiry_cannot_act(client: redis.Redis) -> None:
    paused = FrozenClock()
    a = Lease(client, "t:lease", ttl_s=1, owner="a", clock=paused)
    b = Lease(client, "t:lease", ttl_s=1, owner="b")
    old = a.hold()
    assert a.fenced(old)
    time.sleep(1.2)  # a is paused past its ttl; its own clock saw nothing
    new = b.hold()
    assert new is not None and old is not None and new > old
    assert a.held()  # by its frozen clock it still leads...
    assert not a.fenced(old)  # ...but Redis holds b's newer token: a does not act
    assert a.hold() is None  # and it cannot renew what b holds
    assert b.fenced(new)


def test_local_expiry_stops_a_holder_that_could_not_renew(client: redis.Redis) -> None:
    clock = FrozenClock()
    a = Lease(client, "t:lease", ttl_s=10, owner="a", clock=clock)
    token = a.hold()
    clock.now += 9  # past SAFETY x ttl without a renewal (Redis unreachable, say)
    assert not a.fenced(token) and not a.held()


async def test_duties_move_to_the_other_replica_when_the_leader_dies(client: redis.Redis) -> None:
    ttl = 0.6
    one, two = (Leadership(Lease(client, "t:lease", ttl_s=ttl, owner=o)) for o in ("one", "two"))
    acted: list[str] = []

    async def duty(name: str, leadership: Leadership, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if leadership.may_act():
                acted.append(name)
            await asyncio.sleep(0.02)

    stop_one, stop_two = asyncio.Event(), asyncio.Event()
    renew_one = asyncio.create_task(one.run())
    await asyncio.sleep(0.05)
    renew_two = asyncio.create_task(two.run())
    duties = [asyncio.create_task(duty("one", one, stop_one)), asyncio.create_task(duty("two", two, stop_two))]
    await asyncio.sleep(1.0)
    assert set(acted) == {"one"} and one.duties() == DUTIES and two.duties() == ()
    renew_one.cancel()  # the leader stops renewing; cancelling gives the lease up, so put it back
    await asyncio.gather(renew_one, return_exceptions=True)  # as a process killed without a goodbye left it
    client.set("t:lease", b"one|1", px=int(ttl * 1000))
    died = time.monotonic()
    while "two" not in acted:
        assert time.monotonic() - died < ttl * 2, "the other replica takes over within the ttl and a renewal"
        await asyncio.sleep(0.02)
    takeover = acted.index("two")
    await asyncio.sleep(0.5)
    assert "one" not in acted[takeover:]  # once the new leader acted, the old one's duty never does
    assert two.duties() == DUTIES and one.duties() == ()
    stop_one.set()
    stop_two.set()
    renew_two.cancel()
    await asyncio.gather(*duties, renew_two, return_exceptions=True)


async def test_a_celery_replica_elects_and_a_local_one_leads_alone(tmp_path: Path) -> None:
    local = build_app(load_settings(data_dir=tmp_path / "a"))
    assert local.leadership.may_act() and local.leadership.duties() == DUTIES
    local.close()
    replica = build_app(load_settings(data_dir=tmp_path / "b", jobs="celery", redis_url="redis://127.0.0.1:6379/13"))
    assert isinstance(replica.leadership, Leadership)
    assert not replica.leadership.may_act()  # not before it took the lease
    replica.close()


async def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_two_replicas_one_anchors_and_sweeps_then_the_other_takes_over(client: redis.Redis,
                                                                            tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"

    def replica(name: str) -> App:
        return build_app(load_settings(
            data_dir=tmp_path / name, database_url=database, jobs="celery", redis_url=REDIS_URL,
            audit_anchor_file=tmp_path / name / "anchors.jsonl", audit_anchor_seconds=0.1,
            leader_lease_seconds=1, job_sweep_seconds=0.1, job_stale_seconds=1))

    first, second = replica("first"), replica("second")
    first_anchors, second_anchors = tmp_path / "first" / "anchors.jsonl", tmp_path / "second" / "anchors.jsonl"
    await first.start()
    await wait_until(first.leadership.duties, 5, "the first replica leads")
    await second.start()
    await wait_until(first_anchors.exists, 5, "the leader anchors")
    job = first.store.create_job(JobDraft("restart", {"service": "web", "env": "staging"}, "restart web",
                                          "console:ops1", Place("console", "main"), "en", 60), 1)
    assert first.store.claim_job(job, 1)  # running, its heartbeat long stale: the sweep fails it
    await wait_until(lambda: first.store.job(job).state == "failed", 5, "the leader sweeps")  # type: ignore[union-attr]
    await asyncio.sleep(0.5)
    assert not second_anchors.exists()  # the follower neither anchors...
    assert second.leadership.duties() == ()
    await first.stop()  # gives the lease up; a killed leader's lease expires within its ttl instead
    await wait_until(second_anchors.exists, 5, "the other replica takes the duties over")
    assert second.leadership.duties() == DUTIES
    await second.stop()
