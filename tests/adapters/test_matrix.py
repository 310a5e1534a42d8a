"""The Matrix adapter end to end against a real Synapse (SQLite, loopback, started here).

Two users, alice (a bootstrap admin) and bob, talk to the bot through plain matrix-nio clients.
The bot runs with a runtime that also records the events it dispatches, so reactions (which the
core does not act on yet) can be seen reaching it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, RoomGetStateEventError
from nio.crypto import decrypt_attachment
from sqlalchemy import Engine, event

from adapters.matrix import (
    LEGACY_REACTIONS,
    REACTION_PREFIX,
    KeyValues,
    MatrixAdapter,
    MatrixError,
    ReactionMemory,
    Remembered,
    addressing,
    backoff_delay,
    command_text,
    stored_device,
)
from bot.actions import Action, Button, Edit, React, Send, Upload
from bot.events import Message, Reaction
from dihya.app import App, build_app
from dihya.settings import load_settings
from dihya.store.engine import upgrade
from dihya.store.sql import SqlStore
from dihya.vault import generate_key
from tests.helpers.databases import database
from tests.helpers.outbound import CANARY
from tests.helpers.recording import RecordingRuntime
from tests.jobs.helpers import wait_job
from tests.servers.synapse import Synapse, running_synapse

pytestmark = pytest.mark.slow
BOT, ALICE, BOB = "@dihya:localhost", "@alice:localhost", "@bob:localhost"
WAIT_SECONDS = 15.0
SECRET_KEY = generate_key()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

JsonDict = dict[str, Any]


@pytest.fixture(params=["sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite by default here: a second pass of every test over a real homeserver costs a lot for
    nothing new. The tests that lean on the store (tokens, reactions, audit) also run on
    PostgreSQL, through ``ON_BOTH_DATABASES`` (same schema-per-test recipe as tests/conftest.py)."""
    with database(request.param, tmp_path) as eng:
        yield eng


ON_BOTH_DATABASES = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    with running_synapse(tmp_path_factory.mktemp("synapse")) as server:
        for name in ("dihya", "alice", "bob"):
            server.register(name)
        yield server


async def _until(probe: Callable[[], Awaitable[Any] | Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        found = await found if isinstance(found, Awaitable) else found
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _ok(response: Any) -> Any:
    assert not isinstance(response, ErrorResponse), str(response)
    return response


# -- people ---------------------------------------------------------------------------------------
@dataclass
class Peer:
    """A person in one room, speaking through a plain nio client and reading the room's timeline."""

    client: AsyncClient
    room: str = ""
    since: str | None = None
    seen: list[JsonDict] = field(default_factory=list)

    async def say(self, body: str, **content: Any) -> str:
        message = {"msgtype": "m.text", "body": body, **content}
        return str(_ok(await self.client.room_send(self.room, "m.room.message", message)).event_id)

    async def react(self, target: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": target, "key": key}
        return str(_ok(await self.client.room_send(self.room, "m.reaction", {"m.relates_to": relates})).event_id)

    async def read(self) -> list[JsonDict]:
        timeline_filter = {"room": {"rooms": [self.room], "timeline": {"limit": 100}}}
        response = _ok(await self.client.sync(timeout=200, since=self.since, sync_filter=timeline_filter))
        self.since = response.next_batch
        for room_id, info in response.rooms.join.items():
            if room_id == self.room:
                self.seen.extend(event.source for event in info.timeline.events)
        return self.seen

    async def expect(self, predicate: Callable[[JsonDict], bool], what: str) -> JsonDict:
        async def probe() -> JsonDict | None:
            return next((e for e in await self.read() if predicate(e)), None)
        found: JsonDict = await _until(probe, what)
        return found

    def bot_posts(self) -> list[JsonDict]:
        return [e for e in self.seen if e["sender"] == BOT and e["type"] == "m.room.message"
                and e["content"].get("m.relates_to", {}).get("rel_type") != "m.replace"]


def _reply_to(event_id: str) -> Callable[[JsonDict], bool]:
    def matches(event: JsonDict) -> bool:
        relates = event["content"].get("m.relates_to", {})
        return bool(event["sender"] == BOT and relates.get("m.in_reply_to", {}).get("event_id") == event_id)
    return matches


async def _login(synapse: Synapse, user_id: str) -> AsyncClient:
    client = AsyncClient(synapse.url, user_id, config=AsyncClientConfig(encryption_enabled=False))
    _ok(await client.login(synapse.passwords[user_id]))
    return client


@pytest.fixture
async def people(synapse: Synapse) -> AsyncIterator[tuple[Peer, Peer]]:
    """alice creates a fresh room with bob in it and invites the bot."""
    alice, bob = Peer(await _login(synapse, ALICE)), Peer(await _login(synapse, BOB))
    created = _ok(await alice.client.room_create(invite=[BOB, BOT], name="ops"))
    alice.room = bob.room = created.room_id
    _ok(await bob.client.join(created.room_id))
    yield alice, bob
    for peer in (alice, bob):
        await peer.client.close()


# -- the bot ----------------------------------------------------------------------------------------
@dataclass
class Dihya:
    app: App
    runtime: RecordingRuntime
    adapter: MatrixAdapter

    async def publish(self, *actions: Action) -> None:
        await self.runtime.publish("matrix", actions)

    def audited(self, action: str) -> int:
        self.runtime.close()
        return sum(1 for record in self.app.store.audit_records() if record.draft.action == action)


BotFactory = Callable[..., Awaitable[Dihya]]


@pytest.fixture
async def start_bot(synapse: Synapse, engine: Engine, tmp_path: Path,
                    people: tuple[Peer, Peer]) -> AsyncIterator[BotFactory]:
    """Start the bot (again): a new app and adapter over the same store, like a process restart."""
    running: list[Dihya] = []

    async def start(secret_key: str | None = SECRET_KEY, data_dir: Path = tmp_path, lead: bool = True,
                    **adapter_options: Any) -> Dihya:
        settings = load_settings(
            data_dir=data_dir, admins=(f"matrix:{ALICE}",), rate_limit_per_minute=0, identity_cache_seconds=0,
            secret_key=secret_key, matrix_homeserver=synapse.url,
            matrix_user_id=BOT, matrix_password=synapse.passwords[BOT], matrix_rooms=(people[0].room,))
        app = build_app(settings, engine=engine)
        runtime = RecordingRuntime(app)
        adapter = MatrixAdapter(runtime, settings, app.store, **adapter_options)
        runtime.attach(adapter)
        await (adapter.start() if lead else adapter.open())  # open: a replica that does not lead
        running.append(Dihya(app, runtime, adapter))
        return running[-1]

    yield start
    for bot in running:
        await bot.adapter.stop()
        bot.runtime.close()


async def stop(bot: Dihya) -> None:
    await bot.adapter.stop()
    bot.runtime.close()


# -- encrypted rooms --------------------------------------------------------------------------------
MEGOLM = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


@dataclass
class SecurePeer:
    """alice on a client that encrypts, like Element in a private room, in a room of her own."""

    client: AsyncClient
    room: str = ""
    since: str | None = None
    from_bot: list[Any] = field(default_factory=list)  # the bot's events, as alice's device read them

    @classmethod
    async def log_in(cls, synapse: Synapse, keys: Path) -> SecurePeer:
        keys.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
        client = AsyncClient(synapse.url, ALICE, store_path=str(keys), config=config)
        _ok(await client.login(synapse.passwords[ALICE]))
        if client.should_upload_keys:
            _ok(await client.keys_upload())
        return cls(client)

    async def open_room(self) -> None:
        """An encrypted room the bot joins on alice's invite (she is an admin)."""
        self.room = _ok(await self.client.room_create(invite=[BOT], name="secure", initial_state=[MEGOLM])).room_id

        async def bot_joined() -> bool:
            return BOT in [m.user_id for m in _ok(await self.client.joined_members(self.room)).members]
        await _until(bot_joined, "the bot joining on an admin's invite")
        await self.read()  # learn the bot's device, to share the room key with it

    async def say(self, body: str) -> str:
        sent = await self.client.room_send(self.room, "m.room.message", {"msgtype": "m.text", "body": body},
                                           ignore_unverified_devices=True)
        return str(_ok(sent).event_id)

    async def read(self) -> list[Any]:
        response = _ok(await self.client.sync(timeout=200, since=self.since))
        self.since = response.next_batch
        if self.client.should_query_keys:
            _ok(await self.client.keys_query())
        info = response.rooms.join.get(self.room)
        self.from_bot.extend(e for e in (info.timeline.events if info else []) if getattr(e, "sender", "") == BOT)
        return self.from_bot

    async def expect(self, predicate: Callable[[Any], bool], what: str) -> Any:
        async def probe() -> Any:
            return next((e for e in await self.read() if predicate(e)), None)
        return await _until(probe, what)


def _pong_to(event_id: str) -> Callable[[Any], bool]:
    def matches(event: Any) -> bool:
        relates = event.source["content"].get("m.relates_to", {})
        return getattr(event, "body", None) == "pong" and relates.get("m.in_reply_to") == {"event_id": event_id}
    return matches


async def test_an_encrypted_room_is_read_and_answered_encrypted(
        start_bot: BotFactory, synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await start_bot()
    alice = await SecurePeer.log_in(synapse, tmp_path / "alice-keys")
    try:
        await alice.open_room()
        asked = await alice.say("!dihya ping")
        pong = await alice.expect(_pong_to(asked), "an encrypted pong")
        assert pong.decrypted  # it travelled encrypted and alice's device could read it
        received = [e for e in bot.runtime.events if isinstance(e, Message)]
        assert [(m.sender.user_id, m.text) for m in received] == [(ALICE, "ping")]

        await stop(bot)  # a restart keeps the device and its keys (data_dir/matrix, under the secret key)
        again = await start_bot()
        asked_again = await alice.say("!dihya ping")
        assert (await alice.expect(_pong_to(asked_again), "an encrypted pong after a restart")).decrypted
        assert [m.text for m in again.runtime.events if isinstance(m, Message)] == ["ping"]

        report = b"seq,action\n1,ping\n"
        await again.publish(Upload(alice.room, "audit.csv", report, "Audit export"))
        sent = await alice.expect(lambda e: e.source["content"].get("msgtype") == "m.file", "an encrypted file")
        assert "url" not in sent.source["content"]  # the file is encrypted; its keys ride in the message
        file = sent.source["content"]["file"]
        stored = _ok(await alice.client.download(file["url"])).body
        assert stored != report
        assert decrypt_attachment(stored, file["key"]["k"], file["hashes"]["sha256"], file["iv"]) == report

        for event_id in (asked, asked_again, pong.event_id):  # as the homeserver keeps them: it never saw the text
            raw = httpx.get(f"{synapse.url}/_matrix/client/v3/rooms/{alice.room}/event/{event_id}",
                            headers={"Authorization": f"Bearer {alice.client.access_token}"}, timeout=10).json()
            assert raw["type"] == "m.room.encrypted" and "ciphertext" in raw["content"], raw
        # the key store's SQL (pickled keys) never reaches the logs; nio's own crypto logs do
        assert not [r for r in caplog.records if r.name == "peewee"]
        assert [r for r in caplog.records if r.name.startswith("nio.crypto")]
    finally:
        await alice.client.close()


async def test_a_new_secret_key_signs_in_as_a_new_device_that_still_reads_encrypted_rooms(
        start_bot: BotFactory, synapse: Synapse, tmp_path: Path) -> None:
    first = await start_bot()
    device = stored_device(tmp_path)["device_id"]
    await stop(first)
    await start_bot(secret_key=generate_key())  # the old device's keys cannot be unpickled now
    assert stored_device(tmp_path).get("device_id") not in (None, device)
    alice = await SecurePeer.log_in(synapse, tmp_path / "alice-keys")
    try:
        await alice.open_room()
        asked = await alice.say("!dihya ping")
        assert (await alice.expect(_pong_to(asked), "an encrypted pong from the new device")).decrypted
    finally:
        await alice.client.close()


# -- replicas (issue 16) ----------------------------------------------------------------------------
@ON_BOTH_DATABASES
async def test_two_replicas_sign_in_as_their_own_devices_and_only_the_leader_answers(
        start_bot: BotFactory, people: tuple[Peer, Peer], synapse: Synapse, tmp_path: Path) -> None:
    """The reported bug: replica b reused the device a had saved in the shared store, without a's
    keys, and died on keys_upload. Now each data directory names its own device."""
    alice, _bob = people
    leader = await start_bot(data_dir=tmp_path / "a")
    follower = await start_bot(data_dir=tmp_path / "b", lead=False)  # same store, its own data directory
    devices = [stored_device(tmp_path / name)["device_id"] for name in ("a", "b")]
    assert devices[0] != devices[1]
    with sqlite3.connect(synapse.database) as db:
        known = {row[0] for row in db.execute("SELECT device_id FROM devices WHERE user_id = ?", (BOT,))}
    assert set(devices) <= known
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    await follower.publish(Send(alice.room, "from the follower"))  # any replica can send
    await alice.expect(lambda e: e["sender"] == BOT and e["content"].get("body") == "from the follower", "a post")
    await asyncio.sleep(0.5)
    assert [m.text for m in leader.runtime.events if isinstance(m, Message)] == ["ping"]
    assert [m for m in follower.runtime.events if isinstance(m, Message)] == []  # it consumed nothing
    assert len([e for e in alice.seen if _reply_to(asked)(e)]) == 1


async def test_a_device_an_earlier_version_kept_in_the_store_stays_with_the_replica_holding_its_keys(
        start_bot: BotFactory, people: tuple[Peer, Peer], tmp_path: Path) -> None:
    alice, _bob = people
    first = await start_bot(data_dir=tmp_path / "a")
    record = stored_device(tmp_path / "a")
    await stop(first)
    # as an earlier version left it: the record in the shared store, none in the data directory
    kv = KeyValues(first.app.store, BOT)
    kv.set("device_id", record["device_id"])
    kv.set("device_pickled_under", record["pickled_under"])
    kv.set("access_token", record["access_token"])
    (tmp_path / "a" / "matrix" / "device.json").unlink()
    other = await start_bot(data_dir=tmp_path / "b", lead=False)  # no keys for that device: a new one
    assert stored_device(tmp_path / "b")["device_id"] != record["device_id"]
    assert kv.get("device_id") == record["device_id"]  # left for the replica that holds the keys
    await stop(other)
    again = await start_bot(data_dir=tmp_path / "a")  # the keys are here: the device is adopted
    assert stored_device(tmp_path / "a") == record
    assert [kv.get(name) for name in ("device_id", "device_pickled_under", "access_token")] == [None] * 3
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    assert [m.text for m in again.runtime.events if isinstance(m, Message)] == ["ping"]


# -- commands ---------------------------------------------------------------------------------------
async def test_prefix_command_is_answered_in_a_thread_on_the_message(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    await start_bot()
    asked = await alice.say("!dihya ping")
    reply = await alice.expect(_reply_to(asked), "pong")
    assert reply["content"]["body"] == "pong"
    assert reply["content"]["m.relates_to"] == {"rel_type": "m.thread", "event_id": asked, "is_falling_back": True,
                                                 "m.in_reply_to": {"event_id": asked}}
    assert reply["content"]["format"] == "org.matrix.custom.html"


async def test_mentions_address_the_bot_and_chatter_does_not(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, bob = people
    bot = await start_bot()
    await bob.say("dihya is slow today")
    by_name = await bob.say("dihya: ping")
    by_id = await alice.say(f"{BOT} ping")
    for asked in (by_name, by_id):
        assert (await alice.expect(_reply_to(asked), "pong"))["content"]["body"] == "pong"
    assert len(alice.bot_posts()) == 2
    senders = [e.sender.user_id for e in bot.runtime.events if isinstance(e, Message)]
    assert senders == [BOB, ALICE]  # identity is the full user id


async def test_command_inside_a_thread_is_answered_in_that_thread(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    await start_bot()
    root = await alice.say("deploy planning")
    asked = await alice.say("!dihya ping", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    reply = await alice.expect(_reply_to(asked), "pong in the thread")
    assert reply["content"]["m.relates_to"]["event_id"] == root


async def test_user_text_is_escaped_in_html(start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    bot = await start_bot()
    text = "<b>web-01</b> & <script>x</script>\nnext line"
    await bot.publish(Send(alice.room, text, buttons=(Button("✅", "Approve"), Button("❌", "Deny"))))
    posted = (await alice.expect(lambda e: e["sender"] == BOT and "web-01" in e["content"].get("body", ""),
                                 "the message"))["content"]
    assert posted["body"] == text + "\n✅ Approve · ❌ Deny"
    assert posted["formatted_body"] == ("&lt;b&gt;web-01&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;<br>"
                                        "next line<br>✅ Approve · ❌ Deny")


# -- progress, reactions, files -----------------------------------------------------------------------
async def test_edit_replaces_the_keyed_message_and_react_annotates_it(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    bot = await start_bot()
    await bot.publish(Send(alice.room, "deploy web: step 1/2", key="job:1"))
    await bot.publish(Edit(alice.room, "job:1", "deploy web: done <ok>"))
    original = bot.app.store.message_id("job:1")
    assert original is not None
    edit = await alice.expect(lambda e: e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace", "edit")
    assert edit["content"]["m.relates_to"]["event_id"] == original[1]
    assert edit["content"]["body"] == "* deploy web: done <ok>"
    assert edit["content"]["m.new_content"]["body"] == "deploy web: done <ok>"
    assert edit["content"]["m.new_content"]["formatted_body"] == "deploy web: done &lt;ok&gt;"
    await bot.publish(React(alice.room, original[1], "👀"))
    seen = await alice.expect(lambda e: e["type"] == "m.reaction" and e["sender"] == BOT, "the bot's reaction")
    assert seen["content"]["m.relates_to"] == {"rel_type": "m.annotation", "event_id": original[1], "key": "👀"}


@ON_BOTH_DATABASES
async def test_reaction_and_its_redaction_reach_the_core_across_a_restart(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, bob = people
    bot = await start_bot()
    await bot.publish(Send(alice.room, "approve deploy?", key="approval:1"))
    found = bot.app.store.message_id("approval:1")
    assert found is not None
    target = found[1]
    vote = await alice.react(target, "✅\ufe0f")
    await _until(lambda: [e for e in bot.runtime.events if isinstance(e, Reaction)], "the reaction")
    reaction = next(e for e in bot.runtime.events if isinstance(e, Reaction))
    assert (reaction.delivery_id, reaction.sender.key, reaction.target_message_id, reaction.emoji, reaction.added) == (
        vote, f"matrix:{ALICE}", target, "✅", True)
    await stop(bot)

    again = await start_bot()
    _ok(await alice.client.room_redact(alice.room, vote))
    await bob.react(target, "👍")
    await _until(lambda: len([e for e in again.runtime.events if isinstance(e, Reaction)]) >= 2, "withdrawal")
    withdrawn, thumbs = (e for e in again.runtime.events if isinstance(e, Reaction))
    assert (withdrawn.sender.key, withdrawn.target_message_id, withdrawn.emoji, withdrawn.added) == (
        f"matrix:{ALICE}", target, "✅", False)
    assert (thumbs.sender.key, thumbs.emoji, thumbs.added) == (f"matrix:{BOB}", "👍", True)


async def test_hole_11_only_the_voters_own_redaction_withdraws_a_vote(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, bob = people  # alice created the room: she may redact anyone's events, as a moderator may
    bot = await start_bot()
    await bot.publish(Send(alice.room, "approve deploy?", key="approval:1"))
    found = bot.app.store.message_id("approval:1")
    assert found is not None
    target = found[1]
    vote = await bob.react(target, "✅")
    await _until(lambda: _reactions(bot), "bob's vote")
    _ok(await alice.client.room_redact(alice.room, vote, reason="tidying up"))  # not bob withdrawing
    own = await alice.react(target, "👍")
    _ok(await alice.client.room_redact(alice.room, own))  # alice withdrawing her own
    await _until(lambda: len(_reactions(bot)) >= 3, "alice's withdrawal")
    assert _reactions(bot) == [(BOB, "✅", True), (ALICE, "👍", True), (ALICE, "👍", False)]


def _reactions(bot: Dihya) -> list[tuple[str, str, bool]]:
    return [(e.sender.user_id, e.emoji, e.added) for e in bot.runtime.events if isinstance(e, Reaction)]


@ON_BOTH_DATABASES
def test_hole_11_each_reaction_writes_its_own_row_and_the_oldest_go(engine: Engine) -> None:
    upgrade(engine)
    store = SqlStore(engine)
    kv = KeyValues(store, BOT)
    kv.set_json(LEGACY_REACTIONS, {"$legacy": ["!room", "$target", "✅", ALICE]})  # as earlier versions kept them
    memory = ReactionMemory(kv, capacity=50)
    assert kv.get(LEGACY_REACTIONS) is None  # carried over into rows of their own, then dropped
    for n in range(120):
        memory.add(f"$r{n}", "!room", "$target", "✅", f"@u{n}:localhost")
    assert len(kv.items(REACTION_PREFIX)) == 50  # bounded
    written: list[object] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            written.append(parameters)

    event.listen(engine, "before_cursor_execute", record)
    try:
        memory.add("$r120", "!room", "$target", "👍", BOB)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert written and all("$r120" in str(p) for p in written)  # that reaction's row alone (upsert) ...
    assert len(str(written)) < 400  # ... not the whole memory (today's 1,000 entries: ~100 kB a reaction)
    again = ReactionMemory(KeyValues(store, BOT), capacity=50)  # after a restart
    assert again.pop("$r120") == Remembered("!room", "$target", "👍", BOB)
    assert again.pop("$r70") is None and again.pop("$legacy") is None  # the oldest went
    assert again.pop("$r71") == Remembered("!room", "$target", "✅", "@u71:localhost")
    assert len(kv.items(REACTION_PREFIX)) == 48  # the two popped rows are deleted too


async def test_hole_1_a_secret_sent_in_a_room_is_redacted_when_the_bot_has_the_power_to(
        start_bot: BotFactory, people: tuple[Peer, Peer], synapse: Synapse) -> None:
    alice, _bob = people  # alice: a bootstrap admin, and the room's creator
    await start_bot()
    asked = await alice.say(f"!dihya secret set registry_password {CANARY}")  # the bot has power level 0
    await alice.expect(lambda e: _reply_to(asked)(e) and "could not remove your message" in e["content"]["body"],
                       "the bot saying it could not remove the message")
    await alice.expect(lambda e: _reply_to(asked)(e) and "did not store it" in e["content"]["body"], "the refusal")
    levels = _ok(await alice.client.room_get_state_event(alice.room, "m.room.power_levels")).content
    levels["users"][BOT] = levels.get("redact", 50)  # alice makes the bot a moderator
    _ok(await alice.client.room_put_state(alice.room, "m.room.power_levels", levels))
    again = await alice.say(f"!dihya secret set registry_password {CANARY}")
    await alice.expect(lambda e: e["type"] == "m.room.redaction" and e["sender"] == BOT
                       and (e.get("redacts") or e["content"].get("redacts")) == again, "the bot redacting it")
    await alice.expect(lambda e: _reply_to(again)(e) and "I removed your message" in e["content"]["body"],
                       "the bot saying it removed the message")
    served = _ok(await alice.client.room_get_event(alice.room, again)).event.source
    assert served["content"] == {}  # what anyone fetches now: the value is gone
    assert not [e for e in alice.bot_posts() if CANARY in json.dumps(e)]
    # what the suite-wide canary check reads back (tests/helpers/outbound.py) sees what the bot sent
    sent = [raw for _what, raw in synapse.sent_by(BOT)]
    assert any(b"I removed your message" in raw for raw in sent) and not any(CANARY.encode() in r for r in sent)


async def test_uploads_are_files_or_images(start_bot: BotFactory, people: tuple[Peer, Peer], tmp_path: Path) -> None:
    alice, _bob = people
    bot = await start_bot()
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    spooled = tmp_path / "dihya-audit.json"  # an export on disk goes from its file
    spooled.write_bytes(b"[]\n")
    await bot.publish(Upload(alice.room, "audit.csv", b"seq,action\n1,ping\n", "Audit export", thread=asked),
                      Upload(alice.room, "graph.png", PNG, "CPU graph"),
                      Upload(alice.room, "dihya-audit.json", spooled, "Spooled export"))
    csv = await alice.expect(lambda e: e["content"].get("msgtype") == "m.file", "the csv")
    png = await alice.expect(lambda e: e["content"].get("msgtype") == "m.image", "the png")
    json_file = await alice.expect(lambda e: e["content"].get("filename") == "dihya-audit.json", "the spooled file")
    assert json_file["content"]["info"] == {"mimetype": "application/json", "size": 3}
    assert csv["content"]["url"].startswith("mxc://localhost/")
    assert (csv["content"]["filename"], csv["content"]["body"]) == ("audit.csv", "Audit export")
    assert csv["content"]["info"] == {"mimetype": "text/csv", "size": 18}
    assert csv["content"]["m.relates_to"]["event_id"] == asked
    assert png["content"]["info"]["mimetype"] == "image/png"


# -- restarts and delivery ----------------------------------------------------------------------------
async def test_history_from_before_the_first_start_is_not_run(
        start_bot: BotFactory, people: tuple[Peer, Peer], synapse: Synapse) -> None:
    alice, _bob = people
    bot_client = await _login(synapse, BOT)  # the bot is already in the room before its first start
    _ok(await bot_client.join(alice.room))
    await bot_client.close()
    await alice.say("!dihya ping")
    await start_bot()
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    assert len(alice.bot_posts()) == 1


@ON_BOTH_DATABASES
async def test_restart_reruns_nothing_and_answers_what_was_missed(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    first = await start_bot()
    before = await alice.say("!dihya ping")
    await alice.expect(_reply_to(before), "pong before the restart")
    await stop(first)
    missed = await alice.say("!dihya ping")
    await start_bot()
    await alice.expect(_reply_to(missed), "the missed command answered")
    after = await alice.say("!dihya ping")
    await alice.expect(_reply_to(after), "pong after the restart")
    threads = [e["content"]["m.relates_to"]["event_id"] for e in alice.bot_posts()]
    assert threads == [before, missed, after]


@ON_BOTH_DATABASES
async def test_a_kill_before_the_sync_token_was_saved_reruns_nothing(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    first = await start_bot()
    before = await alice.say("!dihya ping")
    await alice.expect(_reply_to(before), "pong")
    await stop(first)
    # What a kill between running the command and saving the token leaves: the previous token.
    handled = json.loads(first.app.store.kv_get(f"matrix:{BOT}:handled") or "{}")
    assert handled["ids"] == [before]
    first.app.store.kv_set(f"matrix:{BOT}:next_batch", handled["since"])
    await start_bot()
    after = await alice.say("!dihya ping")
    await alice.expect(_reply_to(after), "pong after the restart")
    assert [e["content"]["m.relates_to"]["event_id"] for e in alice.bot_posts()] == [before, after]


async def test_a_revoked_session_logs_in_again(start_bot: BotFactory, people: tuple[Peer, Peer],
                                               synapse: Synapse) -> None:
    alice, _bob = people
    await start_bot()
    elsewhere = await _login(synapse, BOT)
    _ok(await elsewhere.logout(all_devices=True))  # revokes the bot's running session too
    await elsewhere.close()
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong after backing off and logging in again")


async def test_a_long_downtime_is_back_filled(start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    await stop(await start_bot(timeline_limit=2))
    asked = [await alice.say("!dihya ping") for _ in range(5)]
    await start_bot(timeline_limit=2)
    for event_id in asked:
        await alice.expect(_reply_to(event_id), "every missed command answered")
    assert len(alice.bot_posts()) == 5


@ON_BOTH_DATABASES
async def test_the_same_event_four_times_acts_once(start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, _bob = people
    bot = await start_bot()
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    source = next(e for e in alice.seen if e["event_id"] == asked)
    for _ in range(3):  # delivered three more times: reaches the core ...
        assert await bot.adapter.handle_event(alice.room, source)
    later = await alice.say("!dihya ping")
    await alice.expect(_reply_to(later), "the next pong")
    assert len(alice.bot_posts()) == 2  # ... which acts on it once
    assert bot.audited("command:ping") == 2


# -- rooms, errors, secrets ---------------------------------------------------------------------------
async def test_only_an_admins_invite_is_accepted_and_old_history_never_runs(
        start_bot: BotFactory, people: tuple[Peer, Peer]) -> None:
    alice, bob = people
    await start_bot()
    from_bob = _ok(await bob.client.room_create(invite=[BOT], name="bob's")).room_id
    elsewhere = Peer(alice.client, _ok(await alice.client.room_create(name="alice's")).room_id)
    await elsewhere.say("!dihya ping")  # before the bot was there: joining must not run it
    _ok(await alice.client.room_invite(elsewhere.room, BOT))

    async def membership(peer: Peer, room: str) -> str | None:
        state = await peer.client.room_get_state_event(room, "m.room.member", BOT)
        return None if isinstance(state, RoomGetStateEventError) else str(state.content.get("membership"))

    assert await _until(lambda: _is(membership(alice, elsewhere.room), "join"), "the bot joining alice's room")
    assert await _until(lambda: _is(membership(bob, from_bob), "leave"), "the bot declining bob's invite")
    asked = await elsewhere.say("!dihya ping")
    await elsewhere.expect(_reply_to(asked), "pong in the new room")
    assert len(elsewhere.bot_posts()) == 1


async def _is(value: Awaitable[str | None], wanted: str) -> bool:
    return await value == wanted


async def test_platform_errors_are_raised(start_bot: BotFactory, people: tuple[Peer, Peer],
                                          synapse: Synapse) -> None:
    alice, _bob = people
    bot = await start_bot()
    elsewhere = _ok(await alice.client.room_create(name="private")).room_id
    with pytest.raises(MatrixError) as raised:
        await bot.publish(Send(elsewhere, "hello"))
    assert raised.value.errcode == "M_FORBIDDEN"


@ON_BOTH_DATABASES
async def test_no_token_or_password_in_logs_or_store(start_bot: BotFactory, people: tuple[Peer, Peer],
                                                     synapse: Synapse, caplog: pytest.LogCaptureFixture,
                                                     tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    alice, _bob = people
    await stop(await start_bot())
    bot = await start_bot()  # the second start resumes the stored (encrypted) session
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    device = stored_device(tmp_path)["device_id"]  # beside its keys, this replica's (issue 16)
    sealed = stored_device(tmp_path).get("access_token")
    assert (tmp_path / "matrix" / "device.json").stat().st_mode & 0o777 == 0o600
    assert bot.app.store.kv_items(f"matrix:{BOT}:access") == {}  # the shared store holds no login
    with sqlite3.connect(synapse.database) as db:
        tokens = [row[0] for row in db.execute("SELECT token FROM access_tokens WHERE user_id = ? AND device_id = ?",
                                               (BOT, device))]
    assert len(tokens) == 1  # one login: the restart reused the stored session
    assert sealed is not None
    assert "logged in to Matrix" in caplog.text
    assert not [s for s in (*tokens, synapse.passwords[BOT]) if s in caplog.text or s in sealed]


async def test_without_a_secret_key_the_session_is_not_stored(
        start_bot: BotFactory, people: tuple[Peer, Peer], tmp_path: Path) -> None:
    alice, _bob = people
    await stop(await start_bot(secret_key=None))
    bot = await start_bot(secret_key=None)  # logs in with the password again, on the same device
    asked = await alice.say("!dihya ping")
    await alice.expect(_reply_to(asked), "pong")
    assert "access_token" not in stored_device(tmp_path)
    assert stored_device(tmp_path)["device_id"]
    assert bot.app.store.kv_get(f"matrix:{BOT}:access_token") is None


# -- pure parts -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "command"), [
    ("!dihya ping", "ping"),
    ("!DIHYA   deploy web to prod", "deploy web to prod"),
    ("!dihya", ""),
    ("Dihya: ping", "ping"),
    ("@dihya:localhost: ping", "ping"),
    ("@dihya:localhost ping", "ping"),
    ("> <@alice:localhost> earlier\n> text\n\n!dihya ping", "ping"),
    ("dihya is down", None),
    ("!dihyaping", None),
    ("ping", None),
])
def test_command_text(body: str, command: str | None) -> None:
    assert command_text(body, addressing(("!dihya", BOT), ("Dihya", "dihya"))) == command


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(10_000) == 60


# -- the console's deploy-with-approval scenario, on Matrix ----------------------------------------
async def test_production_deploy_with_approval_runs_and_edits_its_status(
        start_bot: BotFactory, people: tuple[Peer, Peer], tmp_path: Path) -> None:
    alice, bob = people  # alice: admin (bootstrap); bob: developer who asks
    bot = await start_bot()
    bot.app.runtime.attach(bot.adapter)  # job status edits go through the app's own runtime
    await bot.app.start()
    bot.app.store.grant_role(f"matrix:{BOB}", "developer")
    asked = await bob.say("!dihya deploy web to production version v1.2.3")
    request = await bob.expect(lambda e: _reply_to(asked)(e) and "Approval needed" in e["content"]["body"],
                               "the approval request")
    await bob.react(request["event_id"], "✅")
    await bob.expect(lambda e: e["sender"] == BOT and "cannot approve your own request" in e["content"].get("body", ""),
                     "the refusal of a self-approval")
    await alice.react(request["event_id"], "👍")
    job = await wait_job(bot.app, 1, timeout=90)
    assert job.state == "succeeded", job.result
    await alice.expect(lambda e: e["sender"] == BOT and e["content"].get("m.relates_to", {}).get("rel_type")
                       == "m.replace" and "succeeded" in e["content"].get("m.new_content", {}).get("body", ""),
                       "the status message edited to success")
    assert (tmp_path / "deployed" / "web-production.txt").read_text() == "v1.2.3"
    await bot.app.stop()
