"""Hole 3: an approval request could hide its arguments (the raw text, cut to 200 characters).

``deploy web to production`` + 190 spaces + ``version evil-9.9`` showed approvers a harmless deploy
and ran evil-9.9. The request, its closed form and the ``approvals`` list now render the parsed
command with every argument in full, whitespace collapsed, in every language; a request too long
to show whole is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
from sqlalchemy import Engine

from bot.approvals import MAX_SHOWN
from bot.argtypes import Text
from bot.context import Context
from bot.i18n import N_, Msg
from bot.registry import Arg, Command, Reply
from commands import ALL
from dihya.app import App, build_app
from dihya.settings import Settings
from tests.helpers.apps import plain
from tests.helpers.transcript import Transcript
from tests.security.conftest import Clock

PAD = " " * 190
ATTACKS = {  # the padded attack, typed in each language's own phrase
    "en": f"deploy web to production{PAD}version evil-9.9",
    "fr": f"déployer web en production{PAD}version evil-9.9",
    "ar": f"انشر web إلى production{PAD}إصدار evil-9.9",
    "tzm": f"ⵙⵙⵓⴼⵖ web ⵖⵔ production{PAD}ⵜⴰⵍⵖⴰ evil-9.9",
}
WORDS = {"en": "deploy", "fr": "déployer", "ar": "انشر", "tzm": "ⵙⵙⵓⴼⵖ"}


def people(app: App, locale: str) -> None:
    for who, role in (("dev1", "developer"), ("devops1", "devops")):
        app.store.grant_role(f"console:{who}", role)
        app.store.set_locale(f"console:{who}", locale)


@pytest.mark.parametrize("locale", list(ATTACKS))
async def test_hole3_padded_arguments_are_shown_to_approvers_in_every_language(
        app: App, chat: Transcript, locale: str) -> None:
    people(app, locale)
    request = plain(await chat.say("dev1", ATTACKS[locale]))
    label = app.bot.services.catalogs.render(Msg(N_("version")), locale)
    what = request.splitlines()[0]
    assert "evil-9.9" in what and label in what and WORDS[locale] in what and "web" in what, request
    assert "  " not in what
    listing = plain(await chat.say("devops1", {"en": "approvals", "fr": "approbations", "ar": "الموافقات",
                                                "tzm": "ⵜⵉⵎⵓⵔⴰⵢⵉⵏ"}[locale]))
    assert "evil-9.9" in listing and label in listing and "  " not in listing, listing
    request_id = chat.posted[-2].id
    await chat.react("devops1", "❌", request_id)
    closed = plain(chat.by_id(request_id).current)
    assert closed.startswith("❌") and "evil-9.9" in closed and "  " not in closed, closed


def echo(ctx: Context, args: Mapping[str, object]) -> Reply:
    return Reply((Msg(N_("{name}: {value}"), {"name": "note", "value": str(args["note"])}),))


NOTE = Command(name="note", phrases=dict.fromkeys(("en", "fr", "ar", "tzm"), ("note {note}",)),
               args=(Arg("note", Text(max_length=10_000), N_("some text")),), permission="ops.run",
               help=N_("some text"), handler=echo)


@pytest.fixture
async def note_app(settings: Settings, engine: Engine, clock: Clock) -> AsyncIterator[App]:
    built = build_app(settings, engine=engine, clock=clock, commands=(*ALL, NOTE))
    await built.start()
    yield built
    await built.stop()


async def test_hole3_long_values_are_shown_whole_or_the_request_is_refused(note_app: App) -> None:
    chat = Transcript(note_app)
    note_app.store.grant_role("console:ops1", "ops")
    note_app.store.grant_role("console:devops1", "devops")
    long_value = "-".join(f"w{i:03d}" for i in range(150))  # 749 characters, one token
    request = plain(await chat.say("ops1", f"note {long_value}   tail\t\tend"))
    assert f"{long_value} tail end" in request
    assert long_value in plain(await chat.say("devops1", "approvals"))
    too_long = "x" * (MAX_SHOWN + 1)
    refused = await chat.say("ops1", f"note {too_long}")
    assert "too long to show approvers in full" in refused and "Approval needed" not in refused
    assert len(note_app.store.pending_approvals()) == 1


async def test_hole3_bidi_and_control_characters_in_a_value_are_made_visible(note_app: App) -> None:
    chat = Transcript(note_app)
    note_app.store.grant_role("console:ops1", "ops")
    request = await chat.say("ops1", "note safe\u202eevil")
    assert "\u202e" not in request and "safe<U+202E>evil" in request


async def test_hole3_a_long_approvals_list_shows_whole_requests_and_counts_the_rest(note_app: App) -> None:
    chat = Transcript(note_app)
    note_app.store.grant_role("console:ops1", "ops")
    note_app.store.grant_role("console:devops1", "devops")
    values = [f"{i}" + "-".join(f"w{j:03d}" for j in range(150)) for i in range(6)]
    for value in values:
        await chat.say("ops1", f"note {value}")
    listing = plain(await chat.say("devops1", "approvals"))
    shown = [v for v in values if v in listing]
    assert 1 < len(shown) < len(values) and shown == values[:len(shown)]
    assert f"…and {len(values) - len(shown)} more" in listing
