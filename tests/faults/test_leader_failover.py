"""Fault test 6 (issue 16, acceptance 2): two real ``dihya serve`` replicas share PostgreSQL and
Redis, each with its own data directory, against a real Synapse and the fake Telegram Bot API.

Each replica signs in to Matrix as a device of its own. One leads: it alone consumes the Matrix
sync stream and polls Telegram. Killing it (SIGKILL) moves both to the other replica within
30 s, and every command sent meanwhile is answered exactly once; a leader paused (SIGSTOP) past
its lease and resumed finds its successor leading, stops consuming and answers nothing twice.
Redis is the test's own instance on another port where redis-server is installed; the lease ttl is short.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from nio import AsyncClient, AsyncClientConfig, ErrorResponse
from sqlalchemy import create_engine, text

from adapters.matrix import stored_device
from dihya.vault import generate_key
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.helpers.databases import PG_URL
from tests.helpers.ports import free_port
from tests.helpers.redis_db import clean_redis
from tests.servers.synapse import BOT_USER, Synapse, running_synapse

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.postgres]
LEASE_SECONDS = 3  # DIHYA_LEADER_LEASE_SECONDS: keeps the test short; duties move within 4/3 of it
FAILOVER_LIMIT = 30.0  # the bound
START_SECONDS = 60.0
TOKEN = "4242:failover-test-token"
CHAT = 777  # a private chat with the bot
ALICE = "@alice:localhost"
SOURCES = {"matrix-sync", "telegram-polling"}


# -- the shared services ---------------------------------------------------------------------------
SHARED_REDIS_DB = "redis://127.0.0.1:6379/14"  # where redis-server is not installed (CI's service container)


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[str]:
    """A Redis of the test's own on another port; else a database of the shared one, emptied."""
    if shutil.which("redis-server") is None:
        with clean_redis(SHARED_REDIS_DB):
            yield SHARED_REDIS_DB
        return
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(directory)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(url, socket_timeout=1).ping():
                    break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A PostgreSQL database of its own (the replicas migrate it), dropped afterwards."""
    name = f"failover_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- a replica -------------------------------------------------------------------------------------
@dataclass
class Replica:
    name: str
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.data_dir / "dihya.log"  # its JSON lines (DIHYA_LOG_FILE unset)

    def start(self) -> None:
        env = {**self.env, "DIHYA_DATA_DIR": str(self.data_dir), "DIHYA_HTTP_PORT": str(self.port)}
        with (self.data_dir.parent / f"{self.name}.out").open("ab") as out:
            self.process = subprocess.Popen([str(Path(sys.executable).with_name("dihya")), "serve"], env=env,
                                            stdout=out, stderr=subprocess.STDOUT)

    def readyz(self) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return None
        return found

    def leads(self) -> bool:
        ready = self.readyz()
        return ready is not None and set(ready["leader"]) >= SOURCES

    def follows(self) -> bool:
        ready = self.readyz()
        return ready is not None and not SOURCES & set(ready["leader"])

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)

    def logged(self, message: str) -> bool:
        return any(json.loads(line).get("message") == message
                   for line in self.log.read_text().splitlines() if line.startswith("{"))


async def until(probe: Any, what: str, timeout: float) -> float:
    """Seconds until ``probe()`` is truthy; fails the test after ``timeout``."""
    started = time.monotonic()
    while not probe():
        assert time.monotonic() - started < timeout, f"timed out after {timeout:.0f} s waiting for {what}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


# -- the people ------------------------------------------------------------------------------------
@dataclass
class Alice:
    """alice in a Matrix room with the bot, and in a private Telegram chat with it."""

    client: AsyncClient
    room: str
    telegram: FakeTelegramApi
    since: str | None = None
    matrix_replies: dict[str, int] = field(default_factory=dict)  # her event id → replies the bot sent to it
    updates: int = 100

    async def ask_matrix(self) -> str:
        sent = await self.client.room_send(self.room, "m.room.message", {"msgtype": "m.text", "body": "!dihya ping"})
        assert not isinstance(sent, ErrorResponse), sent
        self.matrix_replies[sent.event_id] = 0
        return str(sent.event_id)

    def ask_telegram(self) -> int:
        self.updates += 1
        self.telegram.push(text_update(self.updates, "/ping", chat_id=CHAT, message_id=self.updates))
        return self.updates

    async def ask_both(self) -> None:
        await self.ask_matrix()
        self.ask_telegram()

    async def read(self) -> None:
        """Count the bot's replies to each of her messages (its pongs, threaded on them)."""
        room_filter = {"room": {"rooms": [self.room], "timeline": {"limit": 100}}}
        response = await self.client.sync(timeout=0, since=self.since, sync_filter=room_filter)
        assert not isinstance(response, ErrorResponse), response
        self.since = response.next_batch
        info = response.rooms.join.get(self.room)
        for event in info.timeline.events if info else ():
            source = event.source
            replied = source["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if source["sender"] == BOT_USER and replied in self.matrix_replies:
                assert source["content"]["body"] == "pong"
                self.matrix_replies[replied] += 1

    def telegram_replies(self) -> dict[int, int]:
        counts = dict.fromkeys(range(101, self.updates + 1), 0)
        for call in self.telegram.called("sendMessage"):
            replied = int((call.params.get("reply_parameters") or {}).get("message_id", 0))
            if int(call.params["chat_id"]) == CHAT and replied in counts:
                assert call.params["text"] == "pong"
                counts[replied] += 1
        return counts

    async def all_answered(self, timeout: float) -> float:
        started = time.monotonic()
        while True:
            await self.read()
            if all(self.matrix_replies.values()) and all(self.telegram_replies().values()):
                return time.monotonic() - started
            assert time.monotonic() - started < timeout, (self.matrix_replies, self.telegram_replies())
            await asyncio.sleep(0.2)

    async def each_answered_once(self) -> None:
        await asyncio.sleep(LEASE_SECONDS)  # room for a late duplicate to show up
        await self.read()
        assert set(self.matrix_replies.values()) == {1}, self.matrix_replies
        assert set(self.telegram_replies().values()) == {1}, self.telegram_replies()


@pytest.fixture
def synapse(tmp_path: Path) -> Iterator[Synapse]:
    directory = tmp_path / "synapse"
    directory.mkdir()
    with running_synapse(directory) as server:
        for name in ("dihya", "alice"):
            server.register(name)
        yield server


@pytest.fixture
async def stack(synapse: Synapse, tmp_path: Path) -> AsyncIterator[tuple[Alice, dict[str, str]]]:
    client = AsyncClient(synapse.url, ALICE, config=AsyncClientConfig(encryption_enabled=False))
    assert not isinstance(await client.login(synapse.passwords[ALICE]), ErrorResponse)
    room = await client.room_create(invite=[BOT_USER], name="ops")
    assert not isinstance(room, ErrorResponse), room
    with private_redis(tmp_path) as redis_url, fresh_database() as database_url, FakeTelegramApi(TOKEN) as api:
        env = {**os.environ, "DIHYA_DATABASE_URL": database_url, "DIHYA_JOBS": "celery",
               "DIHYA_REDIS_URL": redis_url, "DIHYA_LEADER_LEASE_SECONDS": str(LEASE_SECONDS),
               "DIHYA_SECRET_KEY": generate_key(), "DIHYA_RATE_LIMIT_PER_MINUTE": "0",
               "DIHYA_MATRIX_HOMESERVER": synapse.url, "DIHYA_MATRIX_USER_ID": BOT_USER,
               "DIHYA_MATRIX_PASSWORD": synapse.passwords[BOT_USER], "DIHYA_MATRIX_ROOMS": room.room_id,
               "DIHYA_TELEGRAM_TOKEN": TOKEN, "DIHYA_TELEGRAM_API_URL": api.url, "DIHYA_LOG_LEVEL": "INFO"}
        try:
            yield Alice(client, room.room_id, api), env
        finally:
            await client.close()


def bot_devices(synapse: Synapse) -> set[str]:
    with contextlib.closing(sqlite3.connect(synapse.database)) as db:
        return {row[0] for row in db.execute("SELECT device_id FROM devices WHERE user_id = ? AND NOT hidden",
                                             (BOT_USER,))}


async def test_killing_the_leader_moves_matrix_sync_and_telegram_polling(
        stack: tuple[Alice, dict[str, str]], synapse: Synapse, tmp_path: Path) -> None:
    alice, env = stack
    a, b = Replica("a", tmp_path / "a", env), Replica("b", tmp_path / "b", env)
    try:
        a.start()  # first alone: it migrates the fresh database and takes the lease
        await until(a.leads, "replica a leading", START_SECONDS)
        b.start()
        await until(lambda: b.readyz() is not None, "replica b ready", START_SECONDS)
        await until(b.follows, "replica b following", START_SECONDS)
        # The reported bug: b reused a's device without a's keys and died on keys_upload. Each
        # replica is a device of its own, named beside its keys in its own data directory.
        devices = {stored_device(r.data_dir).get("device_id") for r in (a, b)}
        assert None not in devices and len(devices) == 2 and devices <= bot_devices(synapse)
        assert a.process is not None and a.process.poll() is None
        assert b.process is not None and b.process.poll() is None

        await alice.ask_both()
        await alice.all_answered(15)

        # -- SIGKILL of the leader ------------------------------------------------------------
        a.signal(signal.SIGKILL)
        killed = time.monotonic()
        for pause in (0.0, 1.0, 1.5):  # commands sent while nobody leads
            await asyncio.sleep(pause)
            await alice.ask_both()
        moved = await until(b.leads, "replica b taking the lease", FAILOVER_LIMIT)
        assert moved < FAILOVER_LIMIT
        await alice.all_answered(FAILOVER_LIMIT - (time.monotonic() - killed))
        await alice.ask_both()  # and after the failover
        await alice.all_answered(15)
        await alice.each_answered_once()
        assert time.monotonic() - killed < FAILOVER_LIMIT + 15 + LEASE_SECONDS + 5

        # -- a restarted a follows, on the device it had -------------------------------------
        device_a = stored_device(a.data_dir)["device_id"]
        a.start()
        await until(lambda: a.readyz() is not None, "replica a ready again", START_SECONDS)
        await until(a.follows, "replica a following", START_SECONDS)
        assert stored_device(a.data_dir)["device_id"] == device_a
        assert b.leads()

        # -- a leader paused past its lease wakes up fenced out -------------------------------
        b.signal(signal.SIGSTOP)
        paused = time.monotonic()
        await alice.ask_both()  # b's pending long polls may well hold these when it wakes
        await until(a.leads, "replica a taking the lease from the paused b", FAILOVER_LIMIT)
        await alice.all_answered(FAILOVER_LIMIT - (time.monotonic() - paused))
        b.signal(signal.SIGCONT)
        await until(b.follows, "replica b, awake, following", 5 * LEASE_SECONDS)
        assert a.leads()
        assert b.logged("leader sources stopped")
        await alice.ask_both()
        await alice.all_answered(15)
        await alice.each_answered_once()
        assert len(alice.matrix_replies) == len(alice.telegram_replies()) == 7
    finally:
        for replica in (a, b):
            replica.stop()
