"""Every message in the code has a translation in all four catalogs, with the same placeholders."""

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bot", "commands", "dihya", "adapters")


def code_messages() -> set[str]:
    found: set[str] = set()
    for folder in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords={"N_": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


MESSAGES = code_messages()


def test_extraction_finds_the_messages() -> None:
    assert "pong" in MESSAGES and len(MESSAGES) > 50


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_complete(locale: str) -> None:
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "dihya.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(MESSAGES - set(translated))
    assert not missing, f"{locale}: {len(missing)} untranslated, e.g. {missing[:5]}"
    wrong = [m for m in MESSAGES if placeholders(m) != placeholders(str(translated[m]))]
    assert not wrong, f"{locale}: placeholders differ in {wrong[:5]}"


@pytest.mark.parametrize("locale", ["fr", "ar", "tzm"])
def test_translations_are_not_copies_of_english(locale: str) -> None:
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "dihya.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    copies = [m.id for m in catalog if m.id and m.string == m.id and any(c.isalpha() for c in placeholders_free(m.id))]
    assert len(copies) <= len(MESSAGES) // 20, f"{locale}: {len(copies)} entries left in English, e.g. {copies[:5]}"


def placeholders_free(text: str) -> str:
    return "".join(literal for literal, *_ in string.Formatter().parse(text))
