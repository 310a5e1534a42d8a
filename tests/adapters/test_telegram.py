"""The Telegram adapter against a fake Bot API server (the only fake: Telegram's cloud)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from adapters.telegram import (
    SECRET_HEADER,
    UPDATE_QUEUE,
    WEBHOOK_PATH,
    Limits,
    TelegramAdapter,
    addressed_text,
    split_text,
)
from bot.actions import Button, Edit, React, Send, Upload
from bot.events import Reaction
from dihya.app import App, build_app
from dihya.settings import SettingsError, load_settings
from tests.fakes.telegram_api import (
    BOT_USERNAME,
    Call,
    FakeTelegramApi,
    button_update,
    chat,
    reaction_update,
    text_update,
)
from tests.helpers.ingress import MIB, CountingBody, nested_json
from tests.helpers.recording import RecordingRuntime
from tests.jobs.helpers import wait_job

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET = "webhook-secret-8f14e45fceea167a"
ADMIN = 1001  # also the id of the admin's private chat with the bot
GROUP = -100123
ANONYMOUS_ADMIN_BOT = 1087968824  # Telegram's "GroupAnonymousBot"
FAST = Limits(backoff=0.05)


@dataclass
class Harness:
    app: App
    runtime: RecordingRuntime
    adapter: TelegramAdapter
    api: FakeTelegramApi


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
def api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi(TOKEN) as fake:
        yield fake


async def running(engine: Engine, tmp_path: Path, api: FakeTelegramApi,
                  mode: Literal["polling", "webhook"]) -> AsyncIterator[Harness]:
    settings = load_settings(data_dir=tmp_path, admins=(f"telegram:{ADMIN}",), rate_limit_per_minute=0,
                             identity_cache_seconds=0, telegram_token=TOKEN, telegram_api_url=api.url,
                             telegram_webhook_secret=SECRET, telegram_mode=mode)
    app = build_app(settings, engine=engine)
    runtime = RecordingRuntime(app)
    adapter = TelegramAdapter(runtime, settings, limits=FAST)
    runtime.attach(adapter)
    await adapter.start()
    try:
        yield Harness(app, runtime, adapter, api)
    finally:
        await adapter.stop()
        runtime.close()


@pytest.fixture
async def polling(engine: Engine, tmp_path: Path, api: FakeTelegramApi) -> AsyncIterator[Harness]:
    async for harness in running(engine, tmp_path, api, "polling"):
        yield harness


@pytest.fixture
async def webhook(engine: Engine, tmp_path: Path, api: FakeTelegramApi) -> AsyncIterator[Harness]:
    async for harness in running(engine, tmp_path, api, "webhook"):
        yield harness


@pytest.fixture
async def client(webhook: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=Starlette(routes=webhook.adapter.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        yield http


def audit_rows(app: App) -> list[Any]:
    app.bot.flush_audit()
    return list(app.store.audit_records())


# -- addressing (no server needed) -------------------------------------------------------------
@pytest.mark.parametrize(("text", "private", "expected"), [
    ("/deploy web to production", False, "deploy web to production"),
    ("/deploy@Dihya_Bot web to production", False, "deploy web to production"),
    ("/deploy@other_bot web", False, None),
    ("@dihya_bot ping", False, "ping"),
    ("@dihya_bot, whoami", False, "whoami"),
    ("ping", False, None),
    ("mail ops@dihya_bot.example", False, None),
    ("ping", True, "ping"),
    ("/start", True, "help"),
])
def test_addressed_text(text: str, private: bool, expected: str | None) -> None:
    assert addressed_text(text, BOT_USERNAME, private=private) == expected


def test_split_text_keeps_every_chunk_within_the_limit() -> None:
    chunks = split_text("line of text\n" * 800 + "😀" * 5000)
    assert all(len(c.encode("utf-16-le")) // 2 <= 4096 for c in chunks)
    assert "".join(chunks).count("😀") == 5000


@pytest.mark.parametrize("secret", [None, "", "has spaces", "x" * 257])
def test_webhook_mode_needs_a_valid_secret(engine: Engine, tmp_path: Path, secret: str | None) -> None:
    settings = load_settings(data_dir=tmp_path, telegram_token=TOKEN, telegram_mode="webhook",
                             telegram_webhook_secret=secret)
    app = build_app(settings, engine=engine)
    with pytest.raises(SettingsError, match="DIHYA_TELEGRAM_WEBHOOK_SECRET"):
        TelegramAdapter(app.runtime, settings)
    app.close()


# -- polling -----------------------------------------------------------------------------------
async def test_command_gets_a_reply_to_it(polling: Harness) -> None:
    polling.api.push(text_update(1, "/ping", chat_id=GROUP, message_id=31))
    [reply] = await polling.api.wait_for("sendMessage")
    assert reply.params["text"] == "pong"
    assert reply.params["chat_id"] == str(GROUP)
    assert reply.params["parse_mode"] == "HTML"
    assert reply.params["reply_parameters"]["message_id"] == 31
    [poll, *_] = polling.api.called("getUpdates")
    assert {"message", "callback_query", "message_reaction"} <= set(poll.params["allowed_updates"])


# -- replicas (issue 16): getUpdates has one caller, the leader ------------------------------------
async def test_only_the_leader_polls_and_a_fenced_out_poller_answers_nothing(
        engine: Engine, tmp_path: Path, api: FakeTelegramApi) -> None:
    settings = load_settings(data_dir=tmp_path, rate_limit_per_minute=0, telegram_token=TOKEN,
                             telegram_api_url=api.url)
    app = build_app(settings, engine=engine)
    runtime = RecordingRuntime(app)
    adapter = TelegramAdapter(runtime, settings, limits=FAST)
    runtime.attach(adapter)
    leading = [True]  # what the fenced lease answers
    await adapter.open()
    try:
        assert adapter.single_consumer()
        await adapter.perform(Send(str(ADMIN), "hello"), None)  # a follower sends
        api.push(text_update(1, "/ping", chat_id=ADMIN, message_id=11))
        await asyncio.sleep(0.5)
        assert api.called("getUpdates") == []  # and polls nothing

        await adapter.lead(lambda: leading[0])
        sent = await api.wait_for("sendMessage", 2)
        assert sent[1].params["text"] == "pong" and sent[1].params["reply_parameters"]["message_id"] == 11

        await adapter.follow()
        await asyncio.sleep(0.5)  # a long poll cut short is recorded when the fake answers it
        polls = len(api.called("getUpdates"))
        api.push(text_update(2, "/ping", chat_id=ADMIN, message_id=12))
        await asyncio.sleep(0.5)
        assert len(api.called("getUpdates")) == polls

        leading[0] = False  # polling again, but the lease is another replica's (woken from a pause)
        await adapter.lead(lambda: leading[0])
        await until(lambda: any(int(c.params.get("offset") or 0) == 3 for c in api.called("getUpdates")))
        await asyncio.sleep(0.3)  # update 2 was polled (and confirmed): the handlers left it alone
        assert len(api.called("sendMessage")) == 2
        assert len(runtime.events) == 1
    finally:
        await adapter.stop()
        runtime.close()


async def test_a_webhook_is_no_single_consumer(webhook: Harness) -> None:
    assert not webhook.adapter.single_consumer()  # every replica takes deliveries; dedupe keeps them once


async def test_group_messages_count_only_when_they_mention_the_bot(polling: Harness) -> None:
    polling.api.push(text_update(1, "ping", chat_id=GROUP), text_update(2, f"@{BOT_USERNAME} ping", chat_id=GROUP))
    [reply] = await polling.api.wait_for("sendMessage")
    assert reply.params["text"] == "pong"
    [event] = polling.runtime.events
    assert event.delivery_id == "tg-2"
    assert event.place.channel == str(GROUP)
    assert not event.place.direct


async def test_direct_messages_need_no_mention(polling: Harness) -> None:
    polling.api.push(text_update(1, "whoami", chat_id=ADMIN, from_id=ADMIN))
    [reply] = await polling.api.wait_for("sendMessage")
    assert f"telegram:{ADMIN}" in reply.params["text"]
    assert "roles: admin" in reply.params["text"]
    assert polling.runtime.events[0].place.direct


async def test_anonymous_group_admin_is_a_guest(polling: Harness) -> None:
    polling.api.push(text_update(1, "/whoami", chat_id=GROUP, from_id=ANONYMOUS_ADMIN_BOT, sender_chat=chat(GROUP)))
    [reply] = await polling.api.wait_for("sendMessage")
    assert f"telegram:chat{GROUP}" in reply.params["text"]
    assert "roles: guest" in reply.params["text"]


async def test_anonymous_admin_without_sender_chat_is_still_a_guest(polling: Harness) -> None:
    polling.app.store.grant_role(f"telegram:{ANONYMOUS_ADMIN_BOT}", "admin")  # a misconfiguration cannot help
    polling.api.push(text_update(1, "/whoami", chat_id=GROUP, from_id=ANONYMOUS_ADMIN_BOT))
    [reply] = await polling.api.wait_for("sendMessage")
    assert f"telegram:chat{GROUP}" in reply.params["text"]
    assert "roles: guest" in reply.params["text"]


async def test_channel_post_sender_is_a_guest(polling: Harness) -> None:
    channel = {"id": -100777, "type": "channel", "title": "Announcements"}
    post = {"message_id": 5, "date": int(time.time()), "chat": channel, "sender_chat": channel, "text": "/whoami"}
    polling.api.push({"update_id": 1, "channel_post": post})
    [reply] = await polling.api.wait_for("sendMessage")
    assert "telegram:chat-100777" in reply.params["text"]
    assert "roles: guest" in reply.params["text"]


async def test_button_press_is_a_reaction_and_is_answered(polling: Harness) -> None:
    polling.api.push(button_update(7, "r:✅", chat_id=GROUP, message_id=77, from_id=ADMIN))
    [answer] = await polling.api.wait_for("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "q7"
    await until(lambda: polling.runtime.events)
    [event] = polling.runtime.events
    assert isinstance(event, Reaction)
    assert (event.emoji, event.target_message_id, event.added) == ("✅", "77", True)
    assert (event.sender.user_id, event.place.channel, event.delivery_id) == (str(ADMIN), str(GROUP), "tg-7")


async def test_foreign_button_data_is_answered_but_ignored(polling: Harness) -> None:
    polling.api.push(button_update(7, "something-else", chat_id=GROUP, message_id=77))
    await polling.api.wait_for("answerCallbackQuery")
    assert polling.runtime.events == []


async def test_message_reactions_become_added_and_removed_reactions(polling: Harness) -> None:
    polling.api.push(reaction_update(8, chat_id=GROUP, message_id=90, old=("👍",), new=("✅",)))
    await until(lambda: len(polling.runtime.events) == 2)
    moves = {(e.emoji, e.added, e.target_message_id) for e in polling.runtime.events if isinstance(e, Reaction)}
    assert moves == {("✅", True, "90"), ("👍", False, "90")}


async def test_same_update_four_times_acts_once(polling: Harness) -> None:
    polling.api.push(*[text_update(9, "/ping", chat_id=GROUP)] * 4)
    await until(lambda: len(polling.runtime.events) == 4)
    await polling.api.wait_for("sendMessage")
    await asyncio.sleep(0.05)
    assert len(polling.api.called("sendMessage")) == 1
    assert [row.draft.action for row in audit_rows(polling.app)] == ["command:ping"]


# -- performing actions ------------------------------------------------------------------------
async def test_text_is_escaped_never_markup(polling: Harness) -> None:
    await polling.adapter.perform(Send(str(GROUP), "<b>not bold</b> & <a href='x'>no link</a>"), None)
    [sent] = polling.api.called("sendMessage")
    assert sent.params["text"] == "&lt;b&gt;not bold&lt;/b&gt; &amp; &lt;a href='x'&gt;no link&lt;/a&gt;"
    assert sent.params["parse_mode"] == "HTML"


async def test_buttons_edit_react_and_long_texts(polling: Harness) -> None:
    buttons = (Button("✅", "Approve"), Button("❌", "Deny"))
    message_id = await polling.adapter.perform(Send(str(GROUP), "Approve?", thread="12", buttons=buttons), None)
    [sent] = polling.api.called("sendMessage")
    assert message_id == "1000"
    keys = sent.params["reply_markup"]["inline_keyboard"][0]
    assert [(k["text"], k["callback_data"]) for k in keys] == [("✅ Approve", "r:✅"), ("❌ Deny", "r:❌")]
    await polling.adapter.perform(Edit(str(GROUP), "approval:1", "Approved <by> Ada"), message_id)
    [edit] = polling.api.called("editMessageText")
    assert (edit.params["message_id"], edit.params["text"]) == ("1000", "Approved &lt;by&gt; Ada")
    assert "reply_markup" not in edit.params  # an edit without markup drops the buttons
    await polling.adapter.perform(Edit(str(GROUP), "approval:1", "Still open", buttons[:1]), message_id)
    kept = polling.api.called("editMessageText")[1].params["reply_markup"]["inline_keyboard"]
    assert kept[0][0]["text"] == "✅ Approve"
    await polling.adapter.perform(React(str(GROUP), "1000", "👀"), None)
    [react] = polling.api.called("setMessageReaction")
    assert react.params["reaction"] == [{"type": "emoji", "emoji": "👀"}]
    last = await polling.adapter.perform(Send(str(GROUP), "x" * 5000), None)
    assert [len(c.params["text"]) for c in polling.api.called("sendMessage")[1:]] == [4096, 904]
    assert last == "1002"


async def test_uploads_go_as_photo_or_document(polling: Harness) -> None:
    photo_id = await polling.adapter.perform(Upload(str(GROUP), "cpu.png", b"\x89PNG...", "CPU <24h>"), None)
    doc_id = await polling.adapter.perform(Upload(str(GROUP), "../audit.csv", b"a,b\n1,2\n", "Audit", "5"), None)
    [photo] = polling.api.called("sendPhoto")
    [doc] = polling.api.called("sendDocument")
    assert photo.files["photo"] == ("cpu.png", b"\x89PNG...")
    assert photo.params["caption"] == "CPU &lt;24h&gt;"
    assert doc.files["document"] == ("audit.csv", b"a,b\n1,2\n")
    assert doc.params["reply_parameters"]["message_id"] == 5
    assert (photo_id, doc_id) == ("1000", "1001")


async def test_a_spooled_upload_goes_from_its_file(polling: Harness, tmp_path: Path) -> None:
    spooled = tmp_path / "dihya-audit.csv"
    spooled.write_bytes(b"seq,action\n" + b"1,command:ping\n" * 2000)
    await polling.adapter.perform(Upload(str(GROUP), "dihya-audit.csv", spooled, "Audit"), None)
    [doc] = polling.api.called("sendDocument")
    assert doc.files["document"] == ("dihya-audit.csv", spooled.read_bytes())


async def test_rate_limit_answer_is_honoured(polling: Harness) -> None:
    polling.api.rate_limit_once("sendMessage", retry_after=1)
    assert await polling.adapter.perform(Send(str(ADMIN), "hello"), None) == "1000"
    limited, sent = polling.api.called("sendMessage", status=None)
    assert (limited.status, sent.status) == (429, 200)
    assert sent.at - limited.at >= 0.95


async def test_server_errors_are_retried(polling: Harness) -> None:
    polling.api.fail_once("sendMessage", status=502)
    assert await polling.adapter.perform(Send(str(ADMIN), "hello"), None) == "1000"
    assert [c.status for c in polling.api.called("sendMessage", status=None)] == [502, 200]


# -- webhook -----------------------------------------------------------------------------------
async def test_webhook_with_the_right_secret_is_handled(webhook: Harness, client: httpx.AsyncClient) -> None:
    answer = await client.post(WEBHOOK_PATH, json=text_update(3, "/ping", chat_id=GROUP),
                               headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 200
    [reply] = await webhook.api.wait_for("sendMessage")
    assert reply.params["text"] == "pong"
    assert webhook.api.called("getUpdates", status=None) == []


async def test_bad_secrets_are_all_rejected_before_any_handler(webhook: Harness, client: httpx.AsyncClient) -> None:
    update = text_update(4, "/ping", chat_id=GROUP)
    wrong = [{SECRET_HEADER: SECRET[:-1] + "x"}, {SECRET_HEADER: ""}, {}, {SECRET_HEADER: SECRET + " "}]
    statuses = [(await client.post(WEBHOOK_PATH, json=update, headers=wrong[n % len(wrong)])).status_code
                for n in range(1000)]
    assert statuses == [403] * 1000
    await asyncio.sleep(0.1)
    assert webhook.runtime.events == []
    assert webhook.api.called("sendMessage", status=None) == []
    assert audit_rows(webhook.app) == []


NOT_UPDATES = [b"{not json", b"null", b"[]", b"{}", b'{"update_id": "7"}', b'{"update_id": 1, "message": 5}']


@pytest.mark.parametrize("body", NOT_UPDATES)
async def test_webhook_rejects_bodies_that_are_not_updates(webhook: Harness, client: httpx.AsyncClient,
                                                           body: bytes) -> None:
    answer = await client.post(WEBHOOK_PATH, content=body, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 400
    assert webhook.runtime.events == []


async def test_same_webhook_delivery_four_times_acts_once(webhook: Harness, client: httpx.AsyncClient) -> None:
    update = text_update(5, "/ping", chat_id=GROUP)
    for _ in range(4):
        assert (await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})).status_code == 200
    await until(lambda: len(webhook.runtime.events) == 4)
    await asyncio.sleep(0.05)
    assert len(webhook.api.called("sendMessage")) == 1
    assert [row.draft.action for row in audit_rows(webhook.app)] == ["command:ping"]


# -- issue 10: the webhook is declared on the shared ingress -------------------------------------
@pytest.mark.parametrize("body", [nested_json(100_000), nested_json(65)])
async def test_hole_2_deeply_nested_json_is_400_never_500(webhook: Harness, client: httpx.AsyncClient,
                                                          body: bytes) -> None:
    answer = await client.post(WEBHOOK_PATH, content=body, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 400
    assert "nested deeper" in answer.json()["error"]
    assert webhook.runtime.events == []


async def test_hole_2_bodies_are_read_at_most_to_the_limit(webhook: Harness, client: httpx.AsyncClient) -> None:
    unauthenticated = CountingBody(50)
    assert (await client.post(WEBHOOK_PATH, content=unauthenticated)).status_code == 403
    assert unauthenticated.pulled == 0
    body = CountingBody(50)
    answer = await client.post(WEBHOOK_PATH, content=body, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 413
    assert body.pulled_bytes <= webhook.app.settings.telegram_max_body_bytes + MIB


async def test_hole_8_a_full_update_queue_answers_503(engine: Engine, tmp_path: Path, api: FakeTelegramApi) -> None:
    """Nothing handles updates before ``start``: the queue fills, and then Telegram is told to retry."""
    settings = load_settings(data_dir=tmp_path, telegram_token=TOKEN, telegram_api_url=api.url,
                             telegram_webhook_secret=SECRET, telegram_mode="webhook")
    app = build_app(settings, engine=engine)
    runtime = RecordingRuntime(app)
    adapter = TelegramAdapter(runtime, settings, limits=FAST)
    runtime.attach(adapter)
    transport = httpx.ASGITransport(app=Starlette(routes=adapter.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://dihya.test") as http:
        answers = [await http.post(WEBHOOK_PATH, json=text_update(n, "/ping", chat_id=GROUP),
                                   headers={SECRET_HEADER: SECRET}) for n in range(1, UPDATE_QUEUE + 2)]
    assert [a.status_code for a in answers] == [200] * UPDATE_QUEUE + [503]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert runtime.events == []
    runtime.close()


# -- token hygiene -----------------------------------------------------------------------------
async def test_token_never_reaches_a_log_record(engine: Engine, tmp_path: Path, api: FakeTelegramApi,
                                                caplog: pytest.LogCaptureFixture) -> None:
    for name in (None, "httpx", "httpcore", "telegram"):
        caplog.set_level(logging.DEBUG, logger=name)
    async for _ in running(engine, tmp_path, api, "polling"):
        api.rate_limit_once("sendMessage")
        api.push(text_update(1, "/ping", chat_id=GROUP))
        await api.wait_for("sendMessage")
    assert any("HTTP Request" in r.getMessage() for r in caplog.records), "httpx logged no request URL"
    assert any("/bot" in r.getMessage() for r in caplog.records)
    secret_parts = (TOKEN, TOKEN.split(":")[1])
    assert not [r for r in caplog.records if any(s in r.getMessage() for s in secret_parts)]
    assert not any(s in caplog.text for s in secret_parts)


# -- end to end: approvals ---------------------------------------------------------------------
SECOND_ADMIN = 1002


async def ask_approval(h: Harness) -> Call:
    """Admin 1001 asks to remove a server (an approval-gated command); returns the request message."""
    h.app.store.grant_role(f"telegram:{SECOND_ADMIN}", "admin")
    h.api.push(text_update(1, "/servers add web-01 10.0.0.5 production", chat_id=GROUP, message_id=10))
    await h.api.wait_for("sendMessage")
    h.api.push(text_update(2, "/servers remove web-01", chat_id=GROUP, message_id=11))
    _, request = await h.api.wait_for("sendMessage", count=2)
    assert "Approval needed" in request.params["text"]
    assert request.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "r:✅"
    return request


async def test_approval_by_inline_button_runs_once(polling: Harness) -> None:
    await ask_approval(polling)
    press = button_update(3, "r:✅", chat_id=GROUP, message_id=1001, from_id=SECOND_ADMIN)
    polling.api.push(*[press] * 4)
    [edit] = await polling.api.wait_for("editMessageText")
    assert edit.params["message_id"] == "1001"
    assert f"Approved (#1) by telegram:{SECOND_ADMIN}" in edit.params["text"]
    *_, done = await polling.api.wait_for("sendMessage", count=3)
    assert done.params["text"] == "Removed web-01."
    await until(lambda: len(polling.runtime.events) == 6)
    await asyncio.sleep(0.05)
    assert len(polling.api.called("sendMessage")) == 3
    assert [r.draft.outcome for r in audit_rows(polling.app) if r.draft.action == "approval:vote"] == ["approve"]


async def test_denial_by_message_reaction(polling: Harness) -> None:
    await ask_approval(polling)
    polling.api.push(reaction_update(3, chat_id=GROUP, message_id=1001, new=("❌",), from_id=SECOND_ADMIN))
    [edit] = await polling.api.wait_for("editMessageText")
    assert "Denied" in edit.params["text"]
    assert polling.app.store.server("web-01") is not None


# -- the console's deploy-with-approval scenario, on Telegram --------------------------------------
DEVELOPER, DEVOPS = 2001, 2002


async def test_production_deploy_with_approval_runs_and_edits_its_status(polling: Harness, tmp_path: Path) -> None:
    app = polling.app
    app.runtime.attach(polling.adapter)  # job status edits go through the app's own runtime
    await app.start()
    app.store.grant_role(f"telegram:{DEVELOPER}", "developer")
    app.store.grant_role(f"telegram:{DEVOPS}", "devops")
    polling.api.push(text_update(1, "/deploy web to production version v1.2.3", chat_id=GROUP, message_id=10,
                                 from_id=DEVELOPER))
    [request] = await polling.api.wait_for("sendMessage")
    assert "Approval needed" in request.params["text"]
    polling.api.push(button_update(2, "r:✅", chat_id=GROUP, message_id=1000, from_id=DEVELOPER))
    refused = (await polling.api.wait_for("sendMessage", count=2))[-1]
    assert "cannot approve your own request" in refused.params["text"]
    polling.api.push(reaction_update(3, chat_id=GROUP, message_id=1000, new=("👍",), from_id=DEVOPS))
    job = await wait_job(app, 1, timeout=90)
    assert job.state == "succeeded", job.result
    await until(lambda: any("succeeded" in c.params["text"] for c in polling.api.called("editMessageText")))
    assert (tmp_path / "deployed" / "web-production.txt").read_text() == "v1.2.3"
    await app.stop()
