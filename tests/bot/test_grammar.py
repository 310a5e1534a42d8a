"""``bot.grammar``: phrase patterns, compiled once and matched against tokens."""

from __future__ import annotations

import pytest

from bot.grammar import Group, Literal, PatternError, Slot, compile_phrase, literal_prefix, match


def compile_(phrase: str, greedy: frozenset[str] = frozenset()) -> tuple[Literal | Slot | Group, ...]:
    return compile_phrase(phrase, lambda name: name in greedy)


def bind(phrase: str, text: str, greedy: frozenset[str] = frozenset()) -> dict[str, str] | None:
    raw = text.split()
    return match(compile_(phrase, greedy), raw, [t.lower() for t in raw])


def test_a_phrase_compiles_to_folded_words_slots_and_groups() -> None:
    assert compile_("Déployer {service} [version {v}]") == (
        Literal("deployer"), Slot("service"), Group((Literal("version"), Slot("v"))))
    assert compile_("note {text}", frozenset({"text"})) == (Literal("note"), Slot("text", greedy=True))
    assert literal_prefix(compile_("servers add {name}")) == ("servers", "add")


@pytest.mark.parametrize("phrase", ["{x} first", "", "a ] b", "a [ b", "[a] b"])
def test_malformed_phrases_are_refused(phrase: str) -> None:
    with pytest.raises(PatternError):
        compile_(phrase)


def test_slots_take_one_token_and_groups_are_optional() -> None:
    phrase = "deploy {service} to {env} [version {version}]"
    assert bind(phrase, "deploy web to prod") == {"service": "web", "env": "prod"}
    assert bind(phrase, "DEPLOY web TO prod version v1") == {"service": "web", "env": "prod", "version": "v1"}
    assert bind(phrase, "deploy web to prod version") is None
    assert bind(phrase, "deploy web prod") is None
    assert bind(phrase, "deploy web to prod extra") is None


def test_a_greedy_slot_takes_the_rest_of_the_line() -> None:
    assert bind("note {text}", "note the db is down", frozenset({"text"})) == {"text": "the db is down"}
    assert bind("note {text}", "note", frozenset({"text"})) is None
    assert bind("incident update [{id}] {text}", "incident update 3 fixed it", frozenset({"text"})) == \
        {"id": "3", "text": "fixed it"}
