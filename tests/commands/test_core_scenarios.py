"""Issue 2's acceptance scenarios, as chat transcripts (each runs on SQLite and PostgreSQL)."""

import pytest

from bot.i18n import MAX_REPLY
from dihya.app import App
from tests.helpers.transcript import Transcript


def audit_rows(app: App) -> list[tuple[str, str]]:
    """What people did (rows the app writes about its own start, such as settings, left out)."""
    app.bot.flush_audit()
    return [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()
            if not r.draft.action.startswith("settings:")]


@pytest.mark.parametrize(("text", "marker"), [
    ("help", "Commands you can run"),
    ("aide", "Commandes que vous pouvez"),
    ("مساعدة", "الأوامر التي يمكنك"),
    ("ⵜⴰⵡⵉⵙⵉ", "ⵜⵉⵏⴰⴹⵉⵏ"),
])
async def test_help_answers_in_the_language_asked(chat: Transcript, text: str, marker: str) -> None:
    assert marker in await chat.say("admin1", text)


async def test_help_lists_only_what_the_sender_may_run(chat: Transcript) -> None:
    guest = await chat.say("visitor", "help")
    admin = await chat.say("admin1", "help")
    assert "whoami" in guest and "servers add" not in guest and "deploy" not in guest
    assert "servers add" in admin and "audit verify" in admin
    assert "serveurs ajouter" not in await chat.say("visitor", "aide")


async def test_roles_whoami_and_refusal_are_audited(chat: Transcript, app: App) -> None:
    assert "now has the role devops" in await chat.say("admin1", "role grant user2 devops")
    assert "devops" in await chat.say("user2", "whoami")
    refusal = await chat.say("guest9", "serveurs ajouter web-01 10.0.0.5 production")
    assert "pas autorisé" in refusal
    assert "No servers" in await chat.say("admin1", "servers list")
    assert audit_rows(app) == [
        ("command:role.grant", "ok"), ("command:whoami", "ok"), ("command:servers.add", "denied"),
        ("command:servers.list", "ok"),
    ]


async def test_lang_overrides_the_phrase_language(chat: Transcript) -> None:
    assert "Je vous répondrai désormais" in await chat.say("user3", "lang fr")
    assert "Commandes que vous pouvez" in await chat.say("user3", "help")
    assert "سأجيبك" in await chat.say("user3", "langue ar")
    await chat.say("user3", "langue auto")
    assert "Commands you can run" in await chat.say("user3", "help")


async def test_arabic_isolates_left_to_right_identifiers(chat: Transcript) -> None:
    reply = await chat.say("admin1", "أضف خادم web-01 10.0.0.5 إنتاج")
    assert "\u2068web-01\u2069" in reply and "\u206810.0.0.5\u2069" in reply


async def test_same_delivery_twice_acts_once(chat: Transcript, app: App) -> None:
    await chat.say("admin1", "ping", delivery_id="same")
    assert await chat.say("admin1", "ping", delivery_id="same") == ""
    assert audit_rows(app) == [("command:ping", "ok")]


async def test_empty_text_is_ignored_without_trace(chat: Transcript, app: App) -> None:
    assert await chat.say("admin1", " \n\t ") == ""
    assert audit_rows(app) == []


async def test_huge_input_gets_a_bounded_reply(chat: Transcript) -> None:
    reply = await chat.say("admin1", "servers add " + "x" * 100_000)
    assert 0 < len(reply) <= MAX_REPLY


@pytest.mark.parametrize("evil", ["\u202eweb", "web\x00", "\x1b[31mweb", "w\u200beb"])
async def test_control_and_bidi_characters_are_neutralised_when_echoed(chat: Transcript, evil: str) -> None:
    reply = await chat.say("admin1", f"servers show {evil}")
    assert not any(c in reply for c in "\u202e\x00\x1b\u200b")
    assert "<U+" in reply


async def test_unknown_command_suggests_the_closest(chat: Transcript) -> None:
    assert "servers list" in await chat.say("admin1", "servers lsit")
