"""``bot.i18n``: messages rendered late, in the reader's language, safely."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import LOCALES, MAX_REPLY, N_, Catalogs, Msg, Verbatim, msg
from tests.bot.core_chat import CATALOGS, LOCALES_DIR

CATS = Catalogs({"en": {}, "fr": {"Hello {name}": "Bonjour {name}", "world": "monde"},
                 "ar": {"Hello {name}": "مرحبا {name}"}})


def test_a_message_renders_in_the_readers_language_or_as_its_id() -> None:
    assert CATS.render(Msg("Hello {name}", {"name": "Ann"}), "fr") == "Bonjour Ann"
    assert CATS.render(Msg("Hello {name}", {"name": "Ann"}), "tzm") == "Hello Ann"  # missing catalog
    assert CATS.render(Msg("Untranslated"), "fr") == "Untranslated"
    assert CATS.gettext("world", "fr") == "monde" and CATS.gettext("world", "xx") == "world"
    assert msg("Hello {name}", name="x") == Msg("Hello {name}", {"name": "x"})
    assert N_("anything") == "anything"


def test_parameters_are_isolated_in_arabic_and_neutralised_everywhere() -> None:
    assert CATS.render(Msg("Hello {name}", {"name": "web-01"}), "ar") == "مرحبا \u2068web-01\u2069"
    assert CATS.render(Msg("Hello {name}", {"name": "a\u202eb"}), "fr") == "Bonjour a<U+202E>b"
    assert CATS.render(Msg("Hello {name}", {"name": 3}), "ar") == "مرحبا \u20683\u2069"


def test_nested_messages_are_translated_and_verbatim_text_is_kept_as_is() -> None:
    assert CATS.render(Msg("Hello {name}", {"name": Msg("world")}), "fr") == "Bonjour monde"
    assert CATS.render(Msg("Hello {name}", {"name": Verbatim("x" * 200 + "\n")}), "fr") == f"Bonjour {'x' * 200}\n"


def test_a_reply_is_lines_joined_and_bounded() -> None:
    assert CATS.render_all([Msg("world"), Msg("world")], "fr") == "monde\nmonde"
    long = CATS.render_all([Msg("Hello {name}", {"name": Verbatim("x" * 5000)})], "en")
    assert len(long) == MAX_REPLY and long.endswith("…")


def test_the_shipped_catalogs_load_with_every_language() -> None:
    assert CATALOGS.render(Msg("No jobs."), "fr") != "No jobs."
    assert all((LOCALES_DIR / loc / "LC_MESSAGES" / "dihya.po").exists() for loc in LOCALES)
    assert Catalogs.load(Path("/nonexistent")).render(Msg("No jobs."), "fr") == "No jobs."
