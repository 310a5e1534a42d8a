"""``bot.argtypes``: each argument type accepts what it says and names the argument when it refuses."""

from __future__ import annotations

import pytest

from bot.argtypes import Address, ArgType, Choice, Duration, Integer, Name, Person, Text
from bot.errors import UserError
from bot.i18n import Msg


def refused(kind: ArgType, raw: str) -> Msg:
    with pytest.raises(UserError) as caught:
        kind.convert(raw, "server name")
    params = caught.value.message.params
    assert params.get("arg") == Msg("server name")
    return caught.value.message


@pytest.mark.parametrize(("kind", "good", "bad"), [
    (Name(), ["web-01", "v1.2.3", "a_b", "x" * 63], ["-rf", "a/b", "x" * 64, "", "é", "a b"]),
    (Person(), ["bob", "@bob:example.org", "slack:U123", "telegram:-100"], ["-bob", "a b", "b;c"]),
    (Address(), ["10.0.0.5", "::1", "db.example.org"], ["-x.org", "a..b", "a_b", "x" * 254, "web-.org"]),
])
def test_names_people_and_addresses(kind: ArgType, good: list[str], bad: list[str]) -> None:
    for raw in good:
        assert kind.convert(raw, "server name")
    for raw in bad:
        assert refused(kind, raw).params["value"] == raw


def test_addresses_are_normalised() -> None:
    assert Address().convert("DB.Example.ORG", "a") == "db.example.org"
    assert Address().convert("0:0::1", "a") == "::1"


def test_a_choice_takes_synonyms_in_any_language_and_case() -> None:
    env = Choice({"production": ("prod", "إنتاج"), "staging": ()}, expected="an environment")
    assert [env.convert(w, "e") for w in ("PROD", "إنتاج", "Staging")] == ["production", "production", "staging"]
    assert refused(env, "moon").params["choices"] == "production, staging"


def test_integers_are_ascii_digits_within_bounds() -> None:
    kind = Integer(1, 10)
    assert kind.convert("10", "n") == 10
    for raw in ("0", "11", "-1", "٣", "1e1", ""):
        assert refused(kind, raw).params["high"] == 10


def test_text_is_bounded() -> None:
    assert Text(max_length=5).convert("hello", "t") == "hello"
    assert refused(Text(max_length=5), "hello!").params["limit"] == 5


def test_durations_are_whole_seconds_within_bounds() -> None:
    kind = Duration(60, 7 * 86400)
    assert [kind.convert(r, "d") for r in ("1m", "1h", "2h30m", "7d", "90s")] == [60, 3600, 9000, 604800, 90]
    for raw in ("59s", "8d", "", "1x", "h"):
        refused(kind, raw)
