"""The core's small helper modules, each tested directly (no runtime, store or clock)."""

from __future__ import annotations

import pytest

from bot.audit_details import MAX_AUDITED_TEXT, audited_args
from bot.emoji import bare
from bot.erasure import ERASED, erased_voter, mentions, without
from bot.i18n import Verbatim
from bot.outcome import IGNORED, Outcome
from bot.servicelogs import INLINE_LINES, LINE_CHARS, LogQuery, LogResult, log_reply
from bot.text import WITHHELD

QUERY = LogQuery("web", "staging", since_s=3600, lines=100)


# -- audit_details -------------------------------------------------------------------------------
def test_audited_args_withhold_private_values_and_clean_odd_ones() -> None:
    details = audited_args({"name": "db_password", "value": "hunter2", "note": "x" * 500, "tag": "a\u202eb", "n": 3},
                           private=frozenset({"value"}), extra={"job": 7})
    args = details["args"]
    assert isinstance(args, dict)
    assert args["name"] == "db_password" and args["value"] == WITHHELD and args["n"] == "3"
    assert len(args["note"]) == MAX_AUDITED_TEXT and args["note"].endswith("…")
    assert "\u202e" not in args["tag"]  # a bidi override is shown as an escape, not obeyed
    assert details["job"] == 7
    assert audited_args({}) == {"args": {}}


# -- emoji ---------------------------------------------------------------------------------------
def test_an_emoji_has_one_spelling_with_or_without_the_variation_selector() -> None:
    assert bare("✅\ufe0f") == bare("✅") == "✅"
    assert bare("❤\ufe0f🔥") == "❤🔥"


# -- erasure -------------------------------------------------------------------------------------
def test_erasure_finds_keys_and_bare_ids_as_whole_tokens_only() -> None:
    found = mentions(["slack:T1/U42", "console:bob"])
    assert found.search("approved by @bob") and found.search("asked by slack:T1/U42")
    assert not found.search("bobby deployed") and not found.search("bob.smith deployed")
    assert without("console:bob asked, bob approved", ["console:bob"]) == f"{ERASED} asked, {ERASED} approved"


def test_erased_voters_stay_distinct() -> None:
    first, second = erased_voter(), erased_voter()
    assert first.startswith(ERASED) and second.startswith(ERASED) and first != second


# -- outcome -------------------------------------------------------------------------------------
def test_an_ignored_event_does_nothing_and_waits_for_nothing() -> None:
    assert Outcome() == IGNORED and IGNORED.actions == () and IGNORED.later == () and not IGNORED.durable


# -- servicelogs ---------------------------------------------------------------------------------
def test_few_log_lines_read_inline_in_a_closed_block() -> None:
    reply = log_reply(QUERY, LogResult("docker container web", ("started", "GET / ```200```")), "1 h")
    header, block = reply.lines
    assert header.params["count"] == 2 and reply.uploads == ()
    verbatim = block.params["text"]
    assert isinstance(verbatim, Verbatim)
    shown = verbatim.text
    assert shown.startswith("```\n") and shown.endswith("\n```") and shown.count("```") == 2
    assert "GET / ʼʼʼ200ʼʼʼ" in shown  # a fence inside a line cannot close the block early
    assert reply.target == "web/staging" and reply.details == {"source": "docker container web", "lines": 2,
                                                               "truncated": False}


def test_many_log_lines_become_a_file_and_a_cut_is_said() -> None:
    lines = tuple(f"line {i} " + "x" * (LINE_CHARS + 10) for i in range(INLINE_LINES + 1))
    reply = log_reply(QUERY, LogResult("journald", lines, truncated=True), "1 h")
    (file,) = reply.uploads
    assert file.filename == "logs-web-staging.txt"
    assert isinstance(file.content, bytes) and file.content.count(b"\n") == INLINE_LINES + 1
    assert all(len(line) == LINE_CHARS for line in file.content.decode().splitlines())  # long lines cut
    assert [m.msgid for m in reply.lines][1].startswith("(cut at the limit")


def test_no_log_lines_is_said_plainly() -> None:
    reply = log_reply(QUERY, LogResult("journald", ()), "1 h")
    assert reply.lines[0].msgid.startswith("No log lines") and reply.uploads == ()


@pytest.mark.parametrize("grep", [None, "error"])
def test_the_log_file_is_named_by_service_and_env(grep: str | None) -> None:
    assert LogQuery("api", "prod", 60, 10, grep).filename == "logs-api-prod.txt"
