"""Phrase patterns such as ``deploy {service} to {env} [version {version}]``.

A pattern is literal words, ``{slot}`` placeholders and ``[...]`` optional groups. Literals are
compared folded (case and accents ignored); a slot takes one token, or the rest of the line when
its argument type is greedy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.text import fold


@dataclass(frozen=True, slots=True)
class Literal:
    word: str


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    greedy: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    elements: tuple[Element, ...]


Element = Literal | Slot | Group


class PatternError(ValueError):
    """A command declaration holds a malformed phrase (a programming error, caught at start)."""


def compile_phrase(phrase: str, is_greedy: Callable[[str], bool]) -> tuple[Element, ...]:
    tokens = phrase.replace("[", " [ ").replace("]", " ] ").split()
    elements, rest = _elements(tokens, 0, is_greedy)
    if rest != len(tokens):
        raise PatternError(f"unbalanced ']' in {phrase!r}")
    if not elements or not isinstance(elements[0], Literal):
        raise PatternError(f"a phrase must start with a word: {phrase!r}")
    return elements


def _elements(tokens: list[str], i: int, is_greedy: Callable[[str], bool]) -> tuple[tuple[Element, ...], int]:
    out: list[Element] = []
    while i < len(tokens) and tokens[i] != "]":
        word = tokens[i]
        if word == "[":
            inner, i = _elements(tokens, i + 1, is_greedy)
            if i >= len(tokens):
                raise PatternError("unbalanced '['")
            out.append(Group(inner))
        elif word.startswith("{") and word.endswith("}"):
            out.append(Slot(word[1:-1], is_greedy(word[1:-1])))
        else:
            out.append(Literal(fold(word)))
        i += 1
    return tuple(out), i


def literal_prefix(elements: tuple[Element, ...]) -> tuple[str, ...]:
    words: list[str] = []
    for element in elements:
        if not isinstance(element, Literal):
            break
        words.append(element.word)
    return tuple(words)


def match(elements: tuple[Element, ...], raw: list[str], folded: list[str]) -> dict[str, str] | None:
    """Bind slots to tokens; ``None`` when the tokens do not have this pattern's shape."""
    return _match(elements, 0, raw, folded, 0, {})


def _match(
    elements: tuple[Element, ...], e: int, raw: list[str], folded: list[str], t: int, bound: dict[str, str]
) -> dict[str, str] | None:
    if e == len(elements):
        return bound if t == len(raw) else None
    element = elements[e]
    if isinstance(element, Literal):
        if t < len(raw) and folded[t] == element.word:
            return _match(elements, e + 1, raw, folded, t + 1, bound)
        return None
    if isinstance(element, Slot):
        if t >= len(raw):
            return None
        if element.greedy:
            return _match(elements, e + 1, raw, folded, len(raw), {**bound, element.name: " ".join(raw[t:])})
        return _match(elements, e + 1, raw, folded, t + 1, {**bound, element.name: raw[t]})
    with_group = _match(element.elements + elements[e + 1 :], 0, raw, folded, t, bound)
    return with_group if with_group is not None else _match(elements, e + 1, raw, folded, t, bound)
