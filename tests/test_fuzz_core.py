"""Property-based tests of the core that take seconds, kept out of ``tests/bot`` (its quick loop)
and moved here unchanged: the parser's flat fast path decides exactly as the general matcher, and
the audit chain's fast encoder writes exactly what ``json`` writes."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.audit import _CANONICAL, canonical_details
from bot.grammar import Group, Literal
from bot.parser import parse
from tests.bot.test_parser import GENERAL, REGISTRY

# -- the flat fast path must decide exactly as the general matcher does ----------------------------
WORDS = sorted({w for p in REGISTRY.patterns for w in p.phrase.replace("[", " ").replace("]", " ").split()
                if not w.startswith("{")})
VALUES = ["web-01", "10.0.0.5", "prod", "v1.2.3", "5", "-rf", "x" * 70, "DÉPLOYER", "ⵜⴰⵡⵉⵙⵉ", "إنتاج"]


@settings(max_examples=500, deadline=None)
@given(tokens=st.lists(st.sampled_from(WORDS + VALUES), min_size=1, max_size=7),
       preferred=st.sampled_from([None, "en", "fr", "ar", "tzm"]))
def test_fast_path_agrees_with_the_general_matcher(tokens: list[str], preferred: str | None) -> None:
    text = " ".join(tokens)
    assert parse(REGISTRY, text, preferred) == parse(GENERAL, text, preferred)


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A phrase's own words with its slots filled, then one token swapped, dropped or added."""
    pattern = draw(st.sampled_from(REGISTRY.patterns))
    tokens = [e.word if isinstance(e, Literal) else draw(st.sampled_from(VALUES))
              for e in pattern.elements if not isinstance(e, Group)]
    at = draw(st.integers(0, len(tokens)))
    change = draw(st.sampled_from(["swap", "drop", "add", "keep"]))
    word = draw(st.sampled_from(WORDS + VALUES))
    if change == "swap" and at < len(tokens):
        tokens[at] = word
    elif change == "drop" and 0 < at < len(tokens):
        del tokens[at]
    elif change == "add":
        tokens.insert(at, word)
    return " ".join(tokens)


@settings(max_examples=1000, deadline=None)
@given(text=near_misses(), preferred=st.sampled_from([None, "en", "fr", "ar", "tzm"]))
def test_fast_path_agrees_on_near_misses(text: str, preferred: str | None) -> None:
    assert parse(REGISTRY, text, preferred) == parse(GENERAL, text, preferred)


# -- the audit chain's hashed form ------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(details=st.dictionaries(st.text(max_size=8), JSON, max_size=5))
def test_the_fast_encoder_writes_what_json_writes(details: dict[str, object]) -> None:
    encoded = canonical_details(details)
    assert encoded == _CANONICAL.encode(details)
    assert json.loads(encoded) == details
