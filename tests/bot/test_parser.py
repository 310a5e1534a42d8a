from dataclasses import replace

import pytest

from bot.parser import Parsed, Rejected, parse
from bot.registry import Registry
from commands import ALL

REGISTRY = Registry(ALL)


def parsed(text: str, preferred: str | None = None) -> Parsed:
    result = parse(REGISTRY, text, preferred)
    assert isinstance(result, Parsed), result
    return result


@pytest.mark.parametrize(("text", "locale"), [
    ("help", "en"), ("aide", "fr"), ("مساعدة", "ar"), ("ⵜⴰⵡⵉⵙⵉ", "tzm"),
    ("servers add web-01 10.0.0.5 production", "en"),
    ("serveurs ajouter web-01 10.0.0.5 production", "fr"),
    ("أضف خادم web-01 10.0.0.5 إنتاج", "ar"),
    ("ⵉⵙⵉⵔⴼⵉⵔⵏ ⵔⵏⵓ web-01 10.0.0.5 production", "tzm"),
])
def test_each_language_is_recognised_and_reported(text: str, locale: str) -> None:
    assert parsed(text).locale == locale


def test_matching_ignores_case_and_accents() -> None:
    result = parsed("DEPLOYER web EN PROD version v1.2.3")
    assert (result.command.name, result.locale) == ("deploy", "fr")
    assert result.args == {"service": "web", "env": "production", "version": "v1.2.3"}


def test_arabic_matching_ignores_hamza_and_tatweel() -> None:
    assert parsed("اضف خـادم web-01 10.0.0.5 prod").command.name == "servers.add"


def test_environment_synonyms_in_every_language() -> None:
    for word in ("production", "prod", "إنتاج", "ⴰⵙⵏⴼⵍⵓ", "PRODUCTION"):
        assert parsed(f"deploy web to {word}").args["env"] == "production"


def test_positional_form_works_everywhere() -> None:
    result = parsed("deploy web production v1.2.3")
    assert result.args == {"service": "web", "env": "production", "version": "v1.2.3"}
    assert parsed("role grant user2 devops").args == {"who": "user2", "role": "devops"}


def test_optional_group_may_be_left_out() -> None:
    assert parsed("deploy web to staging").args == {"service": "web", "env": "staging"}


def test_bad_argument_is_named_in_the_error() -> None:
    result = parse(REGISTRY, "servers add web-01 10.0.0.5 moon")
    assert isinstance(result, Rejected)
    assert result.reason.params["value"] == "moon"
    assert result.reason.params["arg"].msgid == "environment"  # type: ignore[union-attr]


def test_typo_gets_a_suggestion() -> None:
    result = parse(REGISTRY, "deplyo web to staging")
    assert isinstance(result, Rejected)
    assert "deploy" in str(result.reason.params["suggestion"])


def test_unknown_words_get_help_hint_without_suggestion() -> None:
    result = parse(REGISTRY, "zzzzqqq")
    assert isinstance(result, Rejected)
    assert "suggestion" not in result.reason.params


def test_preferred_locale_breaks_ties() -> None:
    assert parsed("ping", preferred="fr").locale == "fr"
    assert parsed("ping").locale == "en"


@pytest.mark.parametrize("text", ["", "   ", "word " * 200])
def test_degenerate_input_is_rejected_not_raised(text: str) -> None:
    assert isinstance(parse(REGISTRY, text), Rejected)


@pytest.mark.parametrize("value", ["; rm -rf /", "--kubeconfig=/x", "-v", "{{ lookup('env','HOME') }}", "a\nb"])
def test_injection_shaped_values_never_become_arguments(value: str) -> None:
    assert isinstance(parse(REGISTRY, f"deploy {value} to staging version {value}"), Rejected)
    assert isinstance(parse(REGISTRY, f"deploy web to staging version {value}"), Rejected)


# -- the flat fast path must decide exactly as the general matcher does (property tests: tests/test_fuzz_core.py)
def _general_only() -> Registry:
    registry = Registry(ALL)
    registry._by_first = {first: [replace(p, flat=False) for p in patterns]
                          for first, patterns in registry._by_first.items()}
    return registry


GENERAL = _general_only()


def test_most_phrases_take_the_fast_path() -> None:
    flat = [p for p in REGISTRY.patterns if p.flat]
    assert len(flat) > len(REGISTRY.patterns) // 2


@pytest.mark.parametrize("text", ["servers add web-01 10.0.0.5 production", "ping", "whoami",
                                  "role grant user2 devops", "deploy web to staging"])
def test_fast_path_agrees_on_real_commands(text: str) -> None:
    result = parse(REGISTRY, text)
    assert isinstance(result, Parsed)
    assert result == parse(GENERAL, text)
