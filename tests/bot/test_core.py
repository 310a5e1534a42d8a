"""The dispatcher (``bot.core``), built directly: dedupe → identify → parse → authorise → rate-limit →
run → audit, with the in-memory store and a frozen clock."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from bot.actions import Edit, Send, Upload
from bot.argtypes import Name, Text
from bot.context import Context
from bot.core import MAX_AUDITED_TEXT, WITHHELD, Bot
from bot.errors import UserError
from bot.events import Message, Place, Sender
from bot.i18n import N_, Msg
from bot.registry import Arg, Attachment, Command, Reply
from commands import ALL
from tests.bot.core_chat import CoreChat


def _phrases(word: str, tail: str = "") -> dict[str, tuple[str, ...]]:
    return {loc: (f"{word} {tail}".strip(),) for loc in ("en", "fr", "ar", "tzm")}


def _broken(ctx: Context, args: Mapping[str, object]) -> Reply:
    raise RuntimeError("password=hunter2 leaked in an exception")


def _refuse(ctx: Context, args: Mapping[str, object]) -> Reply:
    raise UserError(N_("No server named {name}. “servers list” shows them."), name="nope")


def _slow(ctx: Context, args: Mapping[str, object]) -> Reply:
    def work() -> Reply:
        return Reply((Msg(N_("Removed {name}."), {"name": str(args["name"])}),), target=str(args["name"]),
                     details={"took": "long"})
    return Reply((Msg(N_("Cancelling job #{id}…"), {"id": 1}),), later=work)


def _slow_broken(ctx: Context, args: Mapping[str, object]) -> Reply:
    def work() -> Reply:
        raise UserError(N_("No job #{id}."), id=9)
    return Reply((), later=work)


def _rich(ctx: Context, args: Mapping[str, object]) -> Reply:
    return Reply((Msg(N_("Jobs ({count}):"), {"count": 0}),), key="job:7",
                 uploads=(Attachment("a.txt", b"abc", Msg(N_("Post-incident report #{id}"), {"id": 3})),),
                 edits=(("job:1", (Msg(N_("No jobs.")),)),))


def _secretive(ctx: Context, args: Mapping[str, object]) -> Reply:
    return Reply((Msg(N_("Added {name} ({address}, {env})."), {"name": "n", "address": "a", "env": "e"}),))


EXTRA = (
    Command("t.broken", _phrases("tbroken"), "chat.basic", N_("Show one server."), _broken),
    Command("t.refuse", _phrases("trefuse"), "chat.basic", N_("Show one server."), _refuse),
    Command("t.slow", _phrases("tslow", "{name}"), "chat.basic", N_("Show one server."), _slow,
            args=(Arg("name", Name(), N_("server name")),), mutating=True),
    Command("t.slowbroken", _phrases("tslowbroken"), "chat.basic", N_("Show one server."), _slow_broken),
    Command("t.rich", _phrases("trich"), "chat.basic", N_("Show one server."), _rich),
    Command("t.secret", _phrases("tsecret", "{name} {value}"), "chat.basic", N_("Show one server."), _secretive,
            args=(Arg("name", Name(), N_("server name")), Arg("value", Text(), N_("some text"))),
            private=frozenset({"value"})),
)


@pytest.fixture
def chat() -> CoreChat:
    return CoreChat(commands=(*ALL, *EXTRA))


def details(chat: CoreChat) -> list[Mapping[str, object]]:
    return [r.draft.details for r in chat.store.audit_records()]


def test_a_command_is_answered_in_a_thread_on_the_message_and_audited(chat: CoreChat) -> None:
    turn = chat.say("admin1", "ping")
    [send] = turn.actions
    assert isinstance(send, Send) and send.channel == "main" and send.thread == "u1" and send.text
    assert not turn.durable  # ping changes nothing: its reply need not wait for the audit row
    assert chat.say("admin1", "servers add web-01 10.0.0.5 production", thread="t9").actions[0].thread == "t9"
    assert chat.audit() == [("command:ping", "ok"), ("command:servers.add", "ok")]
    [_, added] = list(chat.store.audit_records())
    assert added.draft.target == "web-01" and added.draft.ts_us == 1_800_000_000_000_000
    assert added.draft.actor == chat.store.pseudonym("console:admin1")


def test_a_mutating_command_is_durable(chat: CoreChat) -> None:
    assert chat.say("admin1", "servers add web-01 10.0.0.5 production").durable


def test_the_same_delivery_acts_once_and_blank_text_is_ignored(chat: CoreChat) -> None:
    assert chat.say("admin1", "ping", delivery_id="d").text
    assert chat.say("admin1", "ping", delivery_id="d").actions == ()
    assert chat.say("admin1", "  \n ").actions == ()
    assert chat.audit() == [("command:ping", "ok")]


def test_unparsable_text_is_answered_and_audited_as_invalid(chat: CoreChat) -> None:
    assert "deploy" in chat.say("admin1", "deplyo web to staging").text
    assert "servers list" in chat.say("admin1", "servers lsit").text
    assert "moon" in chat.say("admin1", "servers add web-01 10.0.0.5 moon").text
    assert chat.audit() == [("command:?", "invalid"), ("command:servers.list", "invalid"),
                            ("command:servers.add", "invalid")]
    # servers add is private since issue 10 (hole 13: an address is sensitive): its typed text is not kept
    assert details(chat)[2] == {"place": "console:main"}


def test_a_refusal_names_the_permission_and_the_roles(chat: CoreChat) -> None:
    text = chat.say("guest9", "servers add web-01 10.0.0.5 production").text
    assert "servers.add" in text and "guest" in text
    assert chat.store.server("web-01") is None
    assert chat.audit() == [("command:servers.add", "denied")]


def test_french_typed_french_answered_unless_a_language_is_set(chat: CoreChat) -> None:
    assert "autorisé" in chat.say("guest9", "serveurs ajouter web-01 10.0.0.5 production").text
    chat.store.set_locale("console:guest9", "ar")
    assert "لا تملك صلاحية" in chat.say("guest9", "serveurs ajouter web-01 10.0.0.5 production").text


def test_a_handler_fault_is_answered_with_a_reference_and_logged(chat: CoreChat,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="dihya.core"):
        text = chat.say("admin1", "tbroken").text
    assert "Something failed (ref" in text and "hunter2" not in text
    [record] = caplog.records
    assert record.__dict__["ref"] in text
    assert chat.audit() == [("command:t.broken", "fault")]


def test_a_user_error_is_the_reply(chat: CoreChat) -> None:
    assert "No server named nope" in chat.say("admin1", "trefuse").text
    assert chat.audit() == [("command:t.refuse", "invalid")]


def test_deferred_work_answers_later_and_is_audited_once_when_done(chat: CoreChat) -> None:
    turn = chat.say("admin1", "tslow web-01")
    assert [a.text for a in turn.actions if isinstance(a, Send)] == ["Cancelling job #1…", "Removed web-01."]
    assert chat.audit() == [("command:t.slow", "ok")]
    [row] = list(chat.store.audit_records())
    assert (row.draft.target, row.draft.details) == ("web-01", {"args": {"name": "web-01"}, "took": "long"})
    assert "No job #9" in chat.say("admin1", "tslowbroken").text
    assert chat.audit()[-1] == ("command:t.slowbroken", "invalid")


def test_a_reply_can_carry_files_and_edits_of_earlier_messages(chat: CoreChat) -> None:
    chat.store.remember_message("job:1", "main", "old")
    turn = chat.say("admin1", "trich")
    send, upload, edit = turn.actions
    assert isinstance(send, Send) and send.key == "job:7"
    assert isinstance(upload, Upload) and (upload.filename, upload.title, upload.thread) == \
        ("a.txt", "Post-incident report #3", "u1")
    assert isinstance(edit, Edit) and (edit.key, edit.text) == ("job:1", "No jobs.")


def test_private_arguments_and_long_values_never_reach_the_audit_log_whole(chat: CoreChat) -> None:
    chat.say("admin1", "tsecret db hunter2 and more")
    chat.say("admin1", "tsecret " + "x" * 70)  # refused: the typed text of a private command is not kept
    chat.say("admin1", "deploy " + "y" * 300)  # refused: its text is clipped (servers add is private since hole 13)
    chat.say("admin1", "incident update 1 " + "z" * 300)  # runs: its argument is clipped
    logged = details(chat)
    assert logged[0] == {"args": {"name": "db", "value": WITHHELD}}
    assert logged[1] == {"place": "console:main"}
    assert len(str(logged[2]["text"])) == MAX_AUDITED_TEXT
    args = logged[3]["args"]
    assert isinstance(args, dict) and len(args["text"]) == MAX_AUDITED_TEXT and args["text"].endswith("…")


def test_the_rate_limit_refuses_then_refills_with_time() -> None:
    # Since issue 10 (hole 5): past the limit, one notice, then silence for the window; one audit row per flood.
    chat = CoreChat(rate=(60, 2))
    assert "pong" in chat.say("admin1", "ping").text.lower()
    chat.say("admin1", "ping")
    assert "Too many messages" in chat.say("admin1", "ping").text
    assert chat.say("admin1", "ping").text == ""  # silence for the rest of the window
    assert "Too many messages" not in chat.say("other", "ping").text  # per person
    chat.clock.advance(61)
    assert "pong" in chat.say("admin1", "ping").text.lower()
    assert chat.audit().count(("rate_limit", "throttled")) == 1


def test_a_reaction_on_an_unknown_message_or_with_any_emoji_is_ignored(chat: CoreChat) -> None:
    chat.say("admin1", "ping")
    assert chat.react("admin1", "✅", "b1").actions == ()  # a plain reply carries no key
    assert chat.react("admin1", "✅", "nowhere").actions == ()


def test_outcome_of_an_event_is_deterministic_given_store_and_clock() -> None:
    first, second = CoreChat(), CoreChat()
    for chat in (first, second):
        chat.store.grant_role("console:user2", "devops")
        chat.store.grant_role("console:devops1", "devops")
    script = [("admin1", "servers add web-01 10.0.0.5 production"), ("user2", "servers remove web-01")]
    for user, text in script:
        assert first.say(user, text).actions == second.say(user, text).actions
    assert first.react("devops1", "✅", "approval:1").actions == second.react("devops1", "✅", "approval:1").actions


def test_bot_exposes_its_clock_and_renders_in_a_locale(chat: CoreChat) -> None:
    assert chat.bot.now_us() == 1_800_000_000_000_000
    assert chat.bot.render((Msg(N_("No jobs.")),), "fr") != "No jobs."
    assert isinstance(chat.bot, Bot) and chat.bot.audit_backlog == 0
    chat.bot.audit("system:test", "test:row")
    assert chat.bot.audit_backlog == 1 and chat.bot.flush_audit() == 1 and chat.bot.flush_audit() == 0


def test_a_message_event_built_by_hand_goes_through_the_same_pipeline(chat: CoreChat) -> None:
    event = Message("x1", Sender("slack", "U1", "Ann"), Place("slack", "C1"), "171.1", "whoami")
    turn = chat.deliver(event)
    assert "slack:U1" in turn.text and isinstance(turn.actions[0], Send) and turn.actions[0].channel == "C1"
