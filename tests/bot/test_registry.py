"""``bot.registry``: commands declared once, checked and compiled when the registry is built."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.argtypes import Name, Text
from bot.context import Context
from bot.grammar import PatternError
from bot.registry import Arg, ByArgument, Command, Registry, Reply
from commands import ALL


def _noop(ctx: Context, args: Mapping[str, object]) -> Reply:
    return Reply(())


def command(name: str = "greet", phrase: str = "greet {who} [loudly {how}]", **kw: object) -> Command:
    args = kw.pop("args", (Arg("who", Name(), "person"), Arg("how", Text(), "text", optional=True)))
    phrases = kw.pop("phrases", dict.fromkeys(("en", "fr", "ar", "tzm"), (phrase,)))
    return Command(name, phrases, "chat.basic", "help", _noop, args=args, **kw)  # type: ignore[arg-type]


def test_every_phrase_is_indexed_by_its_first_word_with_its_positional_form() -> None:
    registry = Registry([command()])
    patterns = registry.candidates("greet")
    assert {p.locale for p in patterns} == {"en", "fr", "ar", "tzm"}
    assert len(patterns) == 8  # the phrase, and "greet {who} [{how}]", per language
    assert "greet" in registry.prefixes() and registry.candidates("hello") == []


def test_flat_phrases_are_marked_for_the_fast_path() -> None:
    registry = Registry([command("a", "say {who} now", args=(Arg("who", Name(), "person"),))])
    [pattern, *_] = registry.candidates("say")
    assert pattern.flat and pattern.length == 3 and pattern.words == ((2, "now"),)
    assert not Registry([command()]).candidates("greet")[0].flat  # an optional group is not flat


@pytest.mark.parametrize(("declaration", "problem"), [
    (lambda: [command(), command()], "declared twice"),
    (lambda: [command(phrases={"en": ("greet {who}",)})], "no phrase"),
    (lambda: [command(phrase="greet")], "lacks"),
])
def test_bad_declarations_are_refused_at_start(declaration: object, problem: str) -> None:
    with pytest.raises(PatternError, match=problem):
        Registry(declaration())  # type: ignore[operator]


def test_a_phrase_with_an_undeclared_slot_is_refused_at_start() -> None:
    # Refused while the slot's type is looked up, as a KeyError, before the PatternError check is reached.
    with pytest.raises((PatternError, KeyError)):
        Registry([command(phrase="greet {who} {whom}")])


def test_a_permission_can_depend_on_an_argument() -> None:
    rule = ByArgument("env", {"production": "deploy.prod"}, "deploy.nonprod")
    deploy = Command("d", {}, rule, "h", _noop)
    assert deploy.permission_for({"env": "production"}) == "deploy.prod"
    assert deploy.permission_for({"env": "staging"}) == "deploy.nonprod"
    assert deploy.possible_permissions == {"deploy.prod", "deploy.nonprod"}
    assert command().possible_permissions == {"chat.basic"}


def test_the_real_commands_all_compile_and_find_their_arguments() -> None:
    registry = Registry(ALL)
    assert set(registry.commands) >= {"help", "deploy", "servers.add", "incident.open", "alerts", "link"}
    deploy = registry.commands["deploy"]
    assert deploy.arg("env").label == "environment" and deploy.mutating
    with pytest.raises(KeyError):
        deploy.arg("nope")
