"""``bot.text``: folding for matching, neutralising and clipping for echo."""

from __future__ import annotations

import pytest

from bot.text import MAX_ECHO, clip, echo, fold, neutralise


@pytest.mark.parametrize(("token", "folded"), [
    ("Deploy", "deploy"), ("DÉPLOYER", "deployer"), ("Préproduction", "preproduction"),
    ("أضف", "اضف"), ("خـادم", "خادم"), ("ⵜⴰⵡⵉⵙⵉ", "ⵜⴰⵡⵉⵙⵉ"), ("Straße", "strasse"),
])
def test_fold_ignores_case_accents_hamza_and_tatweel(token: str, folded: str) -> None:
    assert fold(token) == folded


def test_neutralise_makes_invisible_characters_visible() -> None:
    assert neutralise("web-01") == "web-01"
    assert neutralise("a\u202eb\x00c\u200bd") == "a<U+202E>b<U+0000>c<U+200B>d"
    assert neutralise("line\nnext\ttab") == "line next tab"


def test_clip_and_echo_bound_what_is_repeated() -> None:
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "ab…"
    long = echo("x" * 500 + "\x1b")
    assert len(long) == MAX_ECHO and long.endswith("…")
    assert echo(42) == "42"
