"""The Slack adapter against a fake Slack Web API, with correctly signed requests posted to the real
Starlette app. The only fake is the Slack cloud; the core, store and runtime are the real ones."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from starlette.applications import Starlette

from adapters.slack import (
    COMMAND,
    EVENTS_PATH,
    MAX_TEXT,
    SlackAdapter,
    SlackError,
    emoji_of,
    escape,
    name_of,
    plain_text,
    split_text,
)
from bot.actions import Button, Edit, React, Send, Upload
from bot.events import Event, Message, Reaction
from dihya.app import App, build_app
from dihya.chat import Performer
from dihya.runtime import Runtime
from dihya.settings import Settings, load_settings
from tests.fakes.slack_api import BOT_USER, TEAM, FakeSlackApi, FakeSocketMode
from tests.helpers.ingress import MIB, CountingBody, nested_json
from tests.jobs.helpers import wait_job

BOT_TOKEN = "xoxb-test-4242424242-7777777777-Zq9fKx3LmW2pR8tY"
APP_TOKEN = "xapp-1-A0001-5555555555-9f8e7d6c5b4a39281706"
SIGNING_SECRET = "5e1f0c2b9a8d7e6f5a4b3c2d1e0f9a8b"
ADMIN, GUEST = "U0456", "U0999"
CHANNEL = "C0789"


class RecordingRuntime:
    """The real runtime, with a record of every event the adapter dispatched to it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.events: list[Event] = []

    def attach(self, adapter: Performer) -> None:
        self.runtime.attach(adapter)

    async def dispatch(self, event: Event) -> None:
        self.events.append(event)
        await self.runtime.dispatch(event)

    async def dispatch_anchored(self, message: Message, anchor: Callable[[str], Awaitable[str]]) -> None:
        """A slash command reaches the core once its echo is posted: recorded then, with the echo's id."""

        async def recorded(shown: str) -> str:
            message_id = await anchor(shown)
            self.events.append(dataclasses.replace(message, message_id=message_id))
            return message_id

        await self.runtime.dispatch_anchored(message, recorded)


@dataclass
class Slack:
    """Posts signed Slack deliveries at the app and reads what reached the core and the Web API."""

    app: App
    adapter: SlackAdapter
    api: FakeSlackApi
    recorder: RecordingRuntime
    http: httpx.AsyncClient
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    @property
    def events(self) -> list[Event]:
        return self.recorder.events

    async def post(self, body: str, content_type: str, *, timestamp: int | None = None,
                   secret: str = SIGNING_SECRET, headers: dict[str, str] | None = None,
                   signed: bool = True) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, **(headers or {})}
        if signed:
            sent |= {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(secret, ts, body)}
        return await self.http.post("/slack/events", content=body.encode(), headers=sent)

    async def event(self, event: dict[str, Any], event_id: str | None = None, **kw: Any) -> httpx.Response:
        body = json.dumps(envelope(event, event_id or f"Ev{next(self._ids):08d}"))
        return await self.post(body, "application/json", **kw)

    async def command(self, text: str, user: str = ADMIN, channel: str = CHANNEL) -> httpx.Response:
        form = {"command": "/dihya", "text": text, "team_id": TEAM, "user_id": user, "user_name": "amina",
                "channel_id": channel, "channel_name": "ops", "api_app_id": "A0001",
                "trigger_id": f"1337.{next(self._ids)}.abcdef", "response_url": "https://hooks.slack.invalid/x"}
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    async def press(self, value: str, message_ts: str, user: str = GUEST) -> httpx.Response:
        payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "acme"}, "api_app_id": "A0001",
                   "user": {"id": user, "username": "yuba", "name": "yuba", "team_id": TEAM},
                   "channel": {"id": CHANNEL, "name": "ops"}, "trigger_id": f"4242.{next(self._ids)}.fedcba",
                   "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
                   "message": {"type": "message", "ts": message_ts, "thread_ts": "1699999999.000100", "text": "x"},
                   "actions": [{"type": "button", "action_id": "dihya_vote_0", "block_id": "dihya_vote",
                                "value": value, "action_ts": "1700000123.000001"}]}
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def settle(self) -> None:
        await self.adapter.drain()


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def envelope(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0001", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}


def mention(text: str, user: str = ADMIN, ts: str = "1700000001.000200", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": CHANNEL,
            "event_ts": ts, **extra}


def slack_settings(tmp_path: Path, api_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path, "admins": (f"slack:{TEAM}/{ADMIN}",), "rate_limit_per_minute": 0,
                              "identity_cache_seconds": 0, "slack_bot_token": BOT_TOKEN,
                              "slack_signing_secret": SIGNING_SECRET, "slack_api_url": api_url}
    return load_settings(**(values | extra))


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as api:
        yield api


@pytest.fixture
async def slack(engine: Engine, tmp_path: Path, slack_api: FakeSlackApi) -> AsyncIterator[Slack]:
    settings = slack_settings(tmp_path, slack_api.url)
    app = build_app(settings, engine=engine)
    recorder = RecordingRuntime(app.runtime)
    adapter = SlackAdapter(recorder, settings)
    recorder.attach(adapter)
    transport = httpx.ASGITransport(app=Starlette(routes=adapter.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        yield Slack(app, adapter, slack_api, recorder, http)
        await adapter.stop()
    app.runtime.close()


def audited(app: App, action: str) -> list[Any]:
    app.runtime.close()
    return [r for r in app.store.audit_records() if r.draft.action == action]


# -- inbound: commands, mentions, direct messages ------------------------------------------------
async def test_slash_command_ping_replies_pong_in_the_thread(slack: Slack) -> None:
    assert (await slack.command("ping")).status_code == 200
    await slack.settle()
    anchor, reply = slack.api.posted()
    assert anchor["channel"] == CHANNEL
    assert anchor["text"] == f"<@{ADMIN}> /dihya ping"
    assert reply["text"] == "pong"
    assert "thread_ts" not in anchor
    assert reply["thread_ts"] == "1700000000.000001"  # the anchor's ts
    [event] = slack.events
    assert isinstance(event, Message)
    assert (event.text, event.sender.user_id, event.message_id) == ("ping", f"{TEAM}/{ADMIN}", reply["thread_ts"])
    assert event.delivery_id.startswith("slack:command:")


async def test_the_http_response_does_not_wait_for_the_work(slack: Slack) -> None:
    slack.api.slow("chat.postMessage", 1.0)
    started = time.monotonic()
    response = await slack.command("ping")
    assert response.status_code == 200
    assert time.monotonic() - started < 0.9
    assert slack.api.posted() == []
    await slack.settle()
    assert [p["text"] for p in slack.api.posted()][-1] == "pong"


async def test_app_mention_is_a_command_without_the_mention(slack: Slack) -> None:
    await slack.event(mention("whoami"))
    await slack.settle()
    [reply] = slack.api.posted()
    assert f"slack:{TEAM}/{ADMIN}" in reply["text"]
    assert "admin" in reply["text"]
    assert reply["thread_ts"] == "1700000001.000200"
    [event] = slack.events
    assert isinstance(event, Message)
    assert event.text == "whoami"


async def test_mention_in_a_thread_replies_in_that_thread(slack: Slack) -> None:
    await slack.event(mention("ping", thread_ts="1700000000.000001"))
    await slack.settle()
    assert slack.api.posted()[0]["thread_ts"] == "1700000000.000001"


async def test_direct_message(slack: Slack) -> None:
    await slack.event({"type": "message", "channel_type": "im", "channel": "D0001", "user": GUEST,
                       "text": "ping", "ts": "1700000002.000300", "event_ts": "1700000002.000300"})
    await slack.settle()
    [reply] = slack.api.posted()
    assert (reply["channel"], reply["text"], reply["thread_ts"]) == ("D0001", "pong", "1700000002.000300")
    [event] = slack.events
    assert event.place.direct
    assert event.sender.user_id == f"{TEAM}/{GUEST}"


@pytest.mark.parametrize("event", [
    {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D0001",
     "message": {"user": GUEST, "text": "ping"}, "ts": "1.1", "event_ts": "1.1"},
    {"type": "message", "subtype": "channel_join", "channel_type": "im", "channel": "D0001", "user": GUEST,
     "text": "joined", "ts": "1.2"},
    {"type": "message", "channel_type": "im", "channel": "D0001", "bot_id": "B0OTHER", "user": "U0BOT2",
     "text": "ping", "ts": "1.3"},
    {"type": "message", "channel_type": "im", "channel": "D0001", "user": BOT_USER, "text": "ping", "ts": "1.4"},
    {"type": "message", "channel_type": "channel", "channel": CHANNEL, "user": GUEST, "text": "ping", "ts": "1.5"},
], ids=["edit", "join", "other-bot", "ourselves", "channel-chatter"])
async def test_messages_that_are_not_commands_are_ignored(slack: Slack, event: dict[str, Any]) -> None:
    assert (await slack.event(event)).status_code == 200
    await slack.settle()
    assert slack.events == []
    assert slack.api.posted() == []


# -- approvals: reactions and buttons ------------------------------------------------------------
async def test_reactions_become_core_reactions(slack: Slack) -> None:
    item = {"type": "message", "channel": CHANNEL, "ts": "1700000003.000400"}
    await slack.event({"type": "reaction_added", "user": GUEST, "reaction": "white_check_mark",
                       "item_user": ADMIN, "item": item, "event_ts": "1700000004.0"})
    await slack.event({"type": "reaction_removed", "user": GUEST, "reaction": "+1::skin-tone-3",
                       "item_user": ADMIN, "item": item, "event_ts": "1700000005.0"})
    await slack.event({"type": "reaction_added", "user": BOT_USER, "reaction": "eyes", "item": item})
    await slack.settle()
    added, removed = slack.events
    assert isinstance(added, Reaction)
    assert isinstance(removed, Reaction)
    # The voter is the reactor; item_user (the requester, per Slack) plays no part.
    assert (added.sender.user_id, added.emoji, added.target_message_id, added.added) == (
        f"{TEAM}/{GUEST}", "✅", "1700000003.000400", True)
    assert (removed.emoji, removed.added) == ("👍", False)
    assert added.place.channel == CHANNEL


async def test_a_button_press_is_the_same_as_the_reaction(slack: Slack) -> None:
    assert (await slack.press("✅", "1700000003.000400")).status_code == 200
    await slack.settle()
    [press] = slack.events
    assert isinstance(press, Reaction)
    assert (press.sender.user_id, press.emoji, press.target_message_id, press.added) == (
        f"{TEAM}/{GUEST}", "✅", "1700000003.000400", True)
    assert press.place.thread == "1699999999.000100"
    assert press.delivery_id.startswith("slack:action:")


async def test_buttons_are_posted_and_removed_by_an_edit(slack: Slack) -> None:
    buttons = (Button("✅", "Approve"), Button("❌", "Deny"))
    await slack.app.runtime.publish("slack", [Send(CHANNEL, "Deploy web?", thread="1.0", key="approval:1",
                                                   buttons=buttons)])
    [posted] = slack.api.posted()
    section, actions = posted["blocks"]
    assert section["text"]["text"] == "Deploy web?"
    assert [(b["value"], b["text"]["text"], b["style"]) for b in actions["elements"]] == [
        ("✅", "Approve", "primary"), ("❌", "Deny", "danger")]
    await slack.app.runtime.publish("slack", [Edit(CHANNEL, "approval:1", "Approved by <@U1>")])
    [update] = slack.api.called("chat.update")
    assert update.args["ts"] == "1700000000.000001"
    assert update.args["text"] == "Approved by &lt;@U1&gt;"
    assert update.args["blocks"] == []


# -- outbound ------------------------------------------------------------------------------------
async def test_react_maps_emoji_to_slack_names(slack: Slack) -> None:
    await slack.app.runtime.publish("slack", [React(CHANNEL, "1700000003.000400", "👀")])
    [call] = slack.api.called("reactions.add")
    assert (call.args["name"], call.args["timestamp"], call.args["channel"]) == ("eyes", "1700000003.000400", CHANNEL)


async def test_a_spooled_upload_goes_from_its_file(slack: Slack, tmp_path: Path) -> None:
    spooled = tmp_path / "dihya-audit.csv"
    spooled.write_bytes(b"seq,action\n" + b"1,command:ping\n" * 2000)
    await slack.adapter.perform(Upload(CHANNEL, "dihya-audit.csv", spooled, "Audit export"), None)
    [start] = slack.api.called("files.getUploadURLExternal")
    assert start.args["length"] == str(spooled.stat().st_size)
    [sent] = slack.api.called("upload/F0001")
    assert sent.args["content"] == spooled.read_bytes()


async def test_upload_goes_through_files_upload_v2(slack: Slack) -> None:
    upload = Upload(CHANNEL, "../audit.csv", b"seq,action\n1,command:ping\n", "Audit export", thread="1.0")
    file_id = await slack.adapter.perform(upload, None)
    assert file_id == "F0001"
    [start] = slack.api.called("files.getUploadURLExternal")
    assert (start.args["filename"], start.args["length"]) == ("audit.csv", str(len(upload.content)))
    [sent] = slack.api.called("upload/F0001")
    assert sent.args["content"] == upload.content
    [done] = slack.api.called("files.completeUploadExternal")
    assert (done.args["channel_id"], done.args["thread_ts"]) == (CHANNEL, "1.0")
    assert json.loads(done.args["files"]) == [{"id": "F0001", "title": "Audit export"}]


async def test_long_replies_are_split(slack: Slack) -> None:
    text = "\n".join(f"line {i:05d} of a long job log" for i in range(600))
    await slack.app.runtime.publish("slack", [Send(CHANNEL, text, thread="1.0", key="log:1")])
    posted = slack.api.posted()
    assert len(posted) > 1
    assert all(len(p["text"]) <= MAX_TEXT and p["thread_ts"] == "1.0" for p in posted)
    assert "\n".join(p["text"] for p in posted) == text
    assert slack.app.store.message_id("log:1") == (CHANNEL, "1700000000.000001")


async def test_user_text_is_escaped_never_markup(slack: Slack) -> None:
    await slack.app.runtime.publish("slack", [Send(CHANNEL, "<!channel> deploy & <https://evil.example|click>")])
    [posted] = slack.api.posted()
    assert posted["text"] == "&lt;!channel&gt; deploy &amp; &lt;https://evil.example|click&gt;"


async def test_echoed_user_text_cannot_ping_the_channel(slack: Slack) -> None:
    await slack.command("&lt;!channel&gt; <!channel> frobnicate &amp; co")
    await slack.settle()
    anchor, reply = slack.api.posted()
    assert anchor["text"] == f"<@{ADMIN}> /dihya"  # the echo names a known command only, never the text
    assert "<" not in reply["text"]
    [event] = slack.events
    assert isinstance(event, Message)
    assert event.text == "<!channel> @channel frobnicate & co"


async def test_rate_limited_calls_wait_for_retry_after(slack: Slack) -> None:
    slack.api.rate_limit_once("chat.postMessage", retry_after=1)
    await slack.app.runtime.publish("slack", [Send(CHANNEL, "hello")])
    [limited] = slack.api.called("chat.postMessage", status=429)
    [sent] = slack.api.called("chat.postMessage")
    assert sent.at - limited.at >= 1.0
    assert sent.args["text"] == "hello"


async def test_slack_errors_are_raised(slack: Slack) -> None:
    slack.api.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await slack.adapter.perform(Send("C404", "hello"), None)


async def test_url_verification_answers_the_challenge(slack: Slack) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    response = await slack.post(body, "application/json")
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


# -- delivery: signatures, replays, retries ------------------------------------------------------
@pytest.mark.parametrize("forgery", ["wrong-secret", "stale", "future", "unsigned", "tampered"])
async def test_forged_stale_and_unsigned_requests_get_401(slack: Slack, forgery: str) -> None:
    response = await forge(slack, forgery, 0)
    assert response.status_code == 401
    await slack.settle()
    assert slack.events == []
    assert slack.api.calls == []


async def test_a_thousand_forged_or_replayed_requests_are_all_rejected(slack: Slack) -> None:
    kinds = ["wrong-secret", "stale", "future", "unsigned", "tampered"]
    responses = [await forge(slack, kinds[i % len(kinds)], i) for i in range(1000)]
    await slack.settle()
    assert [r.status_code for r in responses] == [401] * 1000
    assert slack.events == []
    assert slack.api.calls == []


async def forge(slack: Slack, kind: str, n: int) -> httpx.Response:
    body = json.dumps(envelope(mention("deploy web production"), f"EvForged{n:06d}"))
    now = int(time.time())
    if kind == "wrong-secret":
        return await slack.post(body, "application/json", secret="not-the-signing-secret")
    if kind == "stale":  # a genuine request captured and replayed six minutes later
        return await slack.post(body, "application/json", timestamp=now - 6 * 60)
    if kind == "future":
        return await slack.post(body, "application/json", timestamp=now + 6 * 60)
    if kind == "unsigned":
        return await slack.post(body, "application/json", signed=False)
    ts = str(now)
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(SIGNING_SECRET, ts, body)}
    tampered = body.replace("deploy web production", "rollback db production")
    return await slack.post(tampered, "application/json", headers=headers, signed=False)


async def test_the_same_delivery_four_times_acts_once(slack: Slack) -> None:
    event = mention("ping")
    for attempt in range(4):
        retry = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"} if attempt else {}
        assert (await slack.event(event, "Ev0RETRIED", headers=retry)).status_code == 200
    await slack.settle()
    assert [p["text"] for p in slack.api.posted()] == ["pong"]
    assert len(audited(slack.app, "command:ping")) == 1


async def test_concurrent_duplicates_act_once(slack: Slack) -> None:
    event = mention("ping")
    responses = await asyncio.gather(*(slack.event(event, "Ev0CONCURRENT") for _ in range(4)))
    await slack.settle()
    assert {r.status_code for r in responses} == {200}
    assert [p["text"] for p in slack.api.posted()] == ["pong"]
    assert len(audited(slack.app, "command:ping")) == 1


# -- identity and secrets ------------------------------------------------------------------------
async def test_display_names_do_not_grant_anything(slack: Slack) -> None:
    """A guest who calls themselves like the admin is still a guest: only TEAM/USER ids count."""
    await slack.command("whoami", user=GUEST)
    await slack.settle()
    reply = slack.api.posted()[-1]["text"]
    assert f"slack:{TEAM}/{GUEST}" in reply
    assert "admin" not in reply


async def test_no_token_or_signing_secret_in_logs(slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    slack.api.rate_limit_once("chat.postMessage", retry_after=0)
    await slack.command("ping")
    await slack.event(mention("whoami"))
    await forge(slack, "wrong-secret", 1)
    await forge(slack, "stale", 2)
    await slack.app.runtime.publish("slack", [Upload(CHANNEL, "a.txt", b"x", "a")])
    await slack.settle()
    assert slack.api.posted()
    logged = caplog.text + "".join(repr(r.args) + repr(r.__dict__) for r in caplog.records)
    assert BOT_TOKEN not in logged
    assert SIGNING_SECRET not in logged
    # The token travels only in the Authorization header.
    assert {c.headers.get("Authorization") for c in slack.api.called("chat.postMessage")} == {f"Bearer {BOT_TOKEN}"}
    assert all(BOT_TOKEN not in json.dumps(c.args, default=str) for c in slack.api.calls)


# -- Socket Mode ---------------------------------------------------------------------------------
async def test_socket_mode_acks_and_dispatches(engine: Engine, tmp_path: Path, slack_api: FakeSlackApi,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = slack_settings(tmp_path, slack_api.url, slack_signing_secret=None, slack_app_token=APP_TOKEN)
    app = build_app(settings, engine=engine)
    adapter = SlackAdapter(app.runtime, settings)
    app.runtime.attach(adapter)
    assert adapter.routes() == []
    async with FakeSocketMode() as socket:
        slack_api.socket_url = socket.url
        await adapter.start()
        try:
            envelope_id, ack = await socket.deliver(envelope(mention("ping"), "EvSOCKET01"))
            await adapter.drain()
        finally:
            await adapter.stop()
            app.runtime.close()
    assert ack == {"envelope_id": envelope_id}
    assert [p["text"] for p in slack_api.posted()] == ["pong"]
    [opened] = slack_api.called("apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    assert APP_TOKEN not in caplog.text
    assert BOT_TOKEN not in caplog.text


# -- configuration -------------------------------------------------------------------------------
def test_http_mode_needs_a_signing_secret(tmp_path: Path) -> None:
    socket_only = slack_settings(tmp_path, "http://127.0.0.1:9/api/", slack_signing_secret=None,
                                 slack_app_token="xapp-1-A0001-1234-abcdef")
    runtime = NoCore()
    assert SlackAdapter(runtime, socket_only).routes() == []
    with pytest.raises(SlackError, match="DIHYA_SLACK_SIGNING_SECRET"):
        SlackAdapter(runtime, slack_settings(tmp_path, "http://127.0.0.1:9/api/", slack_signing_secret=None))
    with pytest.raises(SlackError, match="DIHYA_SLACK_BOT_TOKEN"):
        SlackAdapter(runtime, slack_settings(tmp_path, "http://127.0.0.1:9/api/", slack_bot_token=None))


class NoCore:
    async def dispatch(self, event: Event) -> None:
        raise AssertionError("no event expected")


# -- translation helpers -------------------------------------------------------------------------
def test_inbound_markup_becomes_plain_text() -> None:
    assert plain_text(f"<@{BOT_USER}> role grant <@U0456|amina> devops", TEAM, BOT_USER) == \
        f"role grant {TEAM}/U0456 devops"
    assert plain_text("servers add <http://web01.example.org|web01.example.org> &lt;tag&gt; &amp;", TEAM, None) == \
        "servers add web01.example.org <tag> &"
    assert plain_text("<!here> <#C0789|ops> <https://x.example>", TEAM, None) == "@here #ops https://x.example"


def test_escape_and_split_never_cut_an_entity() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    pieces = split_text("<" * 3500, 3900)
    assert len(pieces) == 4
    assert all(len(p) <= 3900 and p == "&lt;" * (len(p) // 4) for p in pieces)
    assert sum(len(p) for p in pieces) == 4 * 3500
    assert split_text("short", 3900) == ["short"]


@pytest.mark.parametrize(("name", "emoji"), [
    ("white_check_mark", "✅"), ("+1", "👍"), ("thumbsup", "👍"), ("x", "❌"), ("eyes", "👀"),
    ("no_bell", "🔕"), ("rotating_light", "🚨"), ("tada", ":tada:"), ("+1::skin-tone-2", "👍"),
])
def test_reaction_names(name: str, emoji: str) -> None:
    assert emoji_of(name) == emoji


def test_reaction_names_back() -> None:
    assert [name_of(e) for e in ("✅", "👍", "❌", "👀", "🔕", "🚨", ":tada:", "✔️")] == [
        "white_check_mark", "+1", "x", "eyes", "no_bell", "rotating_light", "tada", "heavy_check_mark"]


def test_the_manifest_matches_the_adapter() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "slack-app-manifest.yml").read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is True  # mentions arrive as <@U…> ids, never as names
    settings = manifest["settings"]
    urls = [command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im", "reaction_added",
                                                                  "reaction_removed"}
    assert {"app_mentions:read", "chat:write", "commands", "reactions:read", "reactions:write", "files:write",
            "im:history"} <= set(manifest["oauth_config"]["scopes"]["bot"])


# -- the console's deploy-with-approval scenario, on Slack -----------------------------------------
DEVELOPER, DEVOPS = "U0100", "U0200"


async def test_production_deploy_with_approval_runs_and_edits_its_status(slack: Slack, tmp_path: Path) -> None:
    app = slack.app
    await app.start()
    app.store.grant_role(f"slack:{TEAM}/{DEVELOPER}", "developer")
    app.store.grant_role(f"slack:{TEAM}/{DEVOPS}", "devops")
    await slack.event(mention("deploy web to production version v1.2.3", user=DEVELOPER))
    await slack.settle()
    [request] = slack.api.posted()
    assert "Approval needed" in request["text"]
    request_ts = "1700000000.000001"  # the fake's first chat.postMessage
    item = {"type": "message", "channel": CHANNEL, "ts": request_ts}
    await slack.event({"type": "reaction_added", "user": DEVELOPER, "reaction": "white_check_mark", "item": item,
                       "event_ts": "1700000010.0"})
    await slack.settle()
    assert "cannot approve your own request" in slack.api.posted()[-1]["text"]
    await slack.press("✅", request_ts, user=DEVOPS)
    await slack.settle()
    job = await wait_job(app, 1, timeout=90)
    assert job.state == "succeeded", job.result
    edits = [c.args.get("text", "") for c in slack.api.called("chat.update")]
    assert any("succeeded" in text for text in edits), edits
    assert (tmp_path / "deployed" / "web-production.txt").read_text() == "v1.2.3"
    await app.stop()


# -- issue 10, hole 2: bodies are checked before bolt reads, parses or logs them -------------------
def signed_headers(body: bytes, content_type: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


MALFORMED = {
    "payload not JSON": (b"payload=x", "application/x-www-form-urlencoded"),
    "payload not an object": (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    "JSON not an object": (b"[1, 2]", "application/json"),
    "JSON cut short": (b'{"type": "event_callback", "event": {', "application/json"),
    "not UTF-8": (b'{"type": "\xff\xfe"}', "application/json"),
    "nested 100000 deep": (nested_json(100_000), "application/json"),
    "nested 200 deep in the payload field": (b"payload=" + nested_json(200), "application/x-www-form-urlencoded"),
    "event not an object": (b'{"type": "event_callback", "event": "x"}', "application/json"),
    "team not an object": (b'{"type": "block_actions", "team": 5}', "application/json"),
    "mention without ts": (b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention", '
                           b'"user": "U0456", "channel": "C0789"}}', "application/json"),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_hole_2_malformed_bodies_get_400_never_500(slack: Slack, case: str) -> None:
    body, content_type = MALFORMED[case]
    for headers in (signed_headers(body, content_type), {"Content-Type": content_type}):
        response = await slack.http.post(EVENTS_PATH, content=body, headers=headers)
        assert response.status_code == (400 if "X-Slack-Signature" in headers else 401), case
    await slack.settle()
    assert slack.events == []
    assert slack.api.posted() == []


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-1", " 1", "9" * 40])
async def test_hole_2_malformed_timestamps_get_401_never_500(slack: Slack, timestamp: str) -> None:
    body = json.dumps(envelope(mention("ping"), "EvBadTs"))
    headers = {"X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": signature(SIGNING_SECRET, timestamp, body)}
    response = await slack.http.post(EVENTS_PATH, content=body.encode(), headers=headers)
    assert response.status_code == 401
    assert slack.events == []


async def test_hole_2_forged_bodies_are_refused_unread_unparsed_and_unlogged(
        slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    canary = b"canary-b0dy-7c1e"
    # Unsigned: refused on the headers alone, before a byte of the body is read.
    unsigned = CountingBody(100, fill=canary)
    response = await slack.http.post(EVENTS_PATH, content=unsigned, headers={"Content-Type": "application/json"})
    assert (response.status_code, unsigned.pulled) == (401, 0)
    # Signed with a wrong secret: read up to the limit only, then 413, the signature never computed.
    forged = CountingBody(100, fill=canary)
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
    response = await slack.http.post(EVENTS_PATH, content=forged, headers=headers)
    assert response.status_code == 413
    assert forged.pulled_bytes <= slack.app.settings.slack_max_body_bytes + MIB
    # Small enough to be read: the signature is wrong, 401, and the body is in no log record.
    small = b'{"type": "event_callback", "note": "' + canary + b'"}'
    response = await slack.http.post(EVENTS_PATH, content=small,
                                     headers=signed_headers(small, "application/json", secret="not-the-secret"))
    assert response.status_code == 401
    logged = caplog.text + "".join(repr(r.args) + repr(r.__dict__) for r in caplog.records)
    assert canary.decode() not in logged
    assert len(logged) < 20_000  # a line per refusal, not a copy of what was sent
    assert slack.events == []
