"""The README's user-facing sections (each ``## heading`` followed by ``<!-- i18n -->``) exist in
French, Arabic and Tamazight under docs/i18n/: each translation carries ``<!-- en: HEADING -->`` just
above its own ``##`` heading for every marked English section, in the same order, and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("fr", "ar", "tzm")
MARK = "<!-- i18n -->"
# The sections issue 13 names (quick start, commands, API, roles and approvals) must stay marked.
REQUIRED = {"Two commands", "Commands", "Roles and approvals", "API authentication", "REST API"}
ANCHOR = re.compile(r"^<!-- en: (.+?) -->$")


def marked_sections(readme: str) -> list[str]:
    lines = readme.splitlines()
    return [line[3:].strip() for line, following in zip(lines, [*lines[1:], ""], strict=True)
            if line.startswith("## ") and following.strip() == MARK]


def anchored_sections(translation: str) -> list[str]:
    """The English headings a translation names, each checked to stand right above a ``##`` heading."""
    lines = translation.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = ANCHOR.match(line.strip())
        if match:
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert following.startswith("## "), f"line {number + 1}: {line} is not right above a ## heading"
            found.append(match[1])
    return found


def test_the_required_sections_are_marked_for_translation() -> None:
    assert set(marked_sections((ROOT / "README.md").read_text(encoding="utf-8"))) >= REQUIRED


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_has_every_marked_section(language: str) -> None:
    english = marked_sections((ROOT / "README.md").read_text(encoding="utf-8"))
    translation = (ROOT / "docs" / "i18n" / language / "README.md").read_text(encoding="utf-8")
    found = anchored_sections(translation)
    assert sorted(set(english) - set(found)) == [], f"{language}: sections of README.md not translated"
    assert sorted(set(found) - set(english)) == [], f"{language}: sections no longer in README.md"
    assert found == english, f"{language}: sections in another order"


def test_a_missing_section_is_found() -> None:
    readme = "# X\n\n## Quick start\n<!-- i18n -->\n\ntext\n\n## Internals\n\nmore\n\n## Commands\n<!-- i18n -->\n"
    assert marked_sections(readme) == ["Quick start", "Commands"]
    assert anchored_sections("<!-- en: Quick start -->\n## Démarrage\n") == ["Quick start"]
    with pytest.raises(AssertionError):
        anchored_sections("<!-- en: Commands -->\ntext\n")
