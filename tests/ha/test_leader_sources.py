"""Single-consumer sources (Telegram polling, Matrix sync) follow the leader lease (issue 16): on
the real Redis, the holder's sources lead, the other replica's follow, and when the holder stops
renewing, its sources stop and the other replica's start, with a ``may_act`` that is fenced."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from dihya.leader import Leadership, Lease
from dihya.leader_sources import SourceLeadership
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.helpers.ports import free_port

REDIS_URL = "redis://127.0.0.1:6379/12"
TTL = 0.6
TOKEN = "4242:lone-replica-token"


class Source:
    """A ``LeaderSource`` that records what it was told (the real ones are tested end to end in
    tests/faults/test_leader_failover.py)."""

    platform = "test"
    duty = "test-polling"

    def __init__(self) -> None:
        self.moves: list[str] = []
        self.may_act: Callable[[], bool] = lambda: False

    def single_consumer(self) -> bool:
        return True

    async def open(self) -> None:
        self.moves.append("open")

    async def lead(self, may_act: Callable[[], bool]) -> None:
        self.moves.append("lead")
        self.may_act = may_act

    async def follow(self) -> None:
        self.moves.append("follow")


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(REDIS_URL)
    r.delete("t:sources", "t:sources:fence")
    yield r
    r.delete("t:sources", "t:sources:fence")


async def wait_until(check: Callable[[], object], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, what
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_sources_move_with_the_lease_and_the_old_leader_is_fenced_out(client: redis.Redis) -> None:
    one, two = (Leadership(Lease(client, "t:sources", ttl_s=TTL, owner=o)) for o in ("one", "two"))
    source_one, source_two = Source(), Source()
    watch_one = SourceLeadership(one.may_act, [source_one], every=TTL / 6)
    watch_two = SourceLeadership(two.may_act, [source_two], every=TTL / 6)
    renew_one = asyncio.create_task(one.run())
    await asyncio.sleep(0.05)
    tasks = [asyncio.create_task(two.run()), asyncio.create_task(watch_one.run()),
             asyncio.create_task(watch_two.run())]
    try:
        await wait_until(lambda: source_one.moves == ["lead"], 2, "the holder's source leads")
        await asyncio.sleep(TTL)
        assert source_two.moves == [] and watch_two.duties() == ()
        assert watch_one.duties() == ("test-polling",) and source_one.may_act()

        renew_one.cancel()  # the leader stops renewing (a pause, a partition) with its lease left in place
        await asyncio.gather(renew_one, return_exceptions=True)
        client.set("t:sources", b"one|1", px=int(TTL * 1000))
        moved = await wait_until(lambda: source_two.moves == ["lead"], 4 * TTL, "the other replica leads")
        assert moved < TTL + TTL / 3 + TTL / 6 + 0.5
        assert source_two.may_act() and not source_one.may_act()  # the old leader's check says no
        await wait_until(lambda: source_one.moves == ["lead", "follow"], 2 * TTL, "the old leader's source stops")
        assert watch_one.duties() == () and watch_two.duties() == ("test-polling",)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert source_two.moves == ["lead", "follow"]  # cancelled: a replica shutting down stops leading


def test_a_lone_replica_polls_at_once(tmp_path: Path) -> None:
    """``dihya serve`` without replicas (local jobs, no lease): its sources lead from the start."""
    port = free_port()
    with FakeTelegramApi(TOKEN) as api:
        env = {**os.environ, "DIHYA_DATA_DIR": str(tmp_path), "DIHYA_HTTP_PORT": str(port),
               "DIHYA_TELEGRAM_TOKEN": TOKEN, "DIHYA_TELEGRAM_API_URL": api.url, "DIHYA_RATE_LIMIT_PER_MINUTE": "0"}
        process = subprocess.Popen([str(Path(sys.executable).with_name("dihya")), "serve"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api.push(text_update(1, "/ping", chat_id=501, message_id=9))
            deadline = time.monotonic() + 30
            while not api.called("sendMessage"):
                assert time.monotonic() < deadline, "no reply from a lone dihya serve"
                time.sleep(0.1)
            [reply] = api.called("sendMessage")
            assert reply.params["text"] == "pong" and reply.params["reply_parameters"]["message_id"] == 9
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
            assert "telegram-polling" in ready["leader"]
        finally:
            process.terminate()
            assert process.wait(20) is not None
