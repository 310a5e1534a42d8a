"""Typed command arguments. Each type turns one raw token (or the rest of the line) into a value,
or raises a ``UserError`` that names the argument and says what was expected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.addresses import parse_address
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.text import fold

_BAD_VALUE = N_("“{value}” is not a valid {arg}: expected {expected}.")


def _reject(raw: str, label: str, expected: str) -> UserError:
    return UserError(_BAD_VALUE, value=raw, arg=Msg(label), expected=Msg(expected))


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier: letters, digits, dot, dash, underscore; never starts with a dash."""

    expected: str = N_("a name of letters, digits, “.”, “-” or “_” (at most 63)")
    greedy: bool = False
    _pattern: re.Pattern[str] = field(default=re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"))

    def convert(self, raw: str, label: str) -> object:
        if self._pattern.fullmatch(raw) is None:
            raise _reject(raw, label, self.expected)
        return raw


@dataclass(frozen=True, slots=True)
class Address:
    """A host name (RFC 1123, at most 253 characters) or an IP address without a zone id, in its
    canonical form. Which kinds of address may be used is ``bot.addresses.AddressPolicy``'s call."""

    expected: str = N_("an IP address (without “%zone”) or a host name of at most 253 characters")
    greedy: bool = False

    def convert(self, raw: str, label: str) -> object:
        found = parse_address(raw)
        if found is None:
            raise _reject(raw, label, self.expected)
        return found


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed set, each with synonyms in any language ("prod", "إنتاج" → "production")."""

    values: Mapping[str, tuple[str, ...]]
    expected: str
    greedy: bool = False
    _index: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        index = {fold(word): canonical for canonical, words in self.values.items() for word in (canonical, *words)}
        object.__setattr__(self, "_index", index)

    def convert(self, raw: str, label: str) -> object:
        found = self._index.get(fold(raw))
        if found is None:
            raise UserError(
                N_("“{value}” is not a valid {arg}: expected one of {choices}."),
                value=raw,
                arg=Msg(label),
                choices=", ".join(self.values),
            )
        return found


@dataclass(frozen=True, slots=True)
class Integer:
    low: int
    high: int
    expected: str = N_("a whole number")
    greedy: bool = False

    def convert(self, raw: str, label: str) -> object:
        if not raw.isascii() or not raw.isdigit() or not self.low <= int(raw) <= self.high:
            raise UserError(
                N_("“{value}” is not a valid {arg}: expected a whole number from {low} to {high}."),
                value=raw,
                arg=Msg(label),
                low=self.low,
                high=self.high,
            )
        return int(raw)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone to act on: ``platform:id`` (``slack:U123``, ``@bob:example.org``) or a bare name on the
    sender's own platform. Resolved against the sender's platform by the handler."""

    expected: str = N_("a user, as NAME or PLATFORM:ID")
    greedy: bool = False
    _pattern: re.Pattern[str] = field(default=re.compile(r"@?[A-Za-z0-9][A-Za-z0-9._=/+:-]{0,254}"))

    def convert(self, raw: str, label: str) -> object:
        if self._pattern.fullmatch(raw) is None:
            raise _reject(raw, label, self.expected)
        return raw


@dataclass(frozen=True, slots=True)
class Text:
    """Free text: the rest of the line."""

    max_length: int = 500
    expected: str = N_("some text")
    greedy: bool = True

    def convert(self, raw: str, label: str) -> object:
        if len(raw) > self.max_length:
            raise UserError(N_("The {arg} is too long (at most {limit} characters)."),
                            arg=Msg(label), limit=self.max_length)
        return raw


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time as ``30m``, ``1h``, ``2h30m``, ``7d``: whole seconds from ``low_s`` to ``high_s``."""

    low_s: int
    high_s: int
    expected: str = N_("a duration such as 30m, 1h, 2h30m or 7d")
    greedy: bool = False
    _pattern: re.Pattern[str] = field(
        default=re.compile(r"(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?"))

    def convert(self, raw: str, label: str) -> object:
        found = self._pattern.fullmatch(raw.strip().lower())
        if found is None or not any(found.groups()):
            raise _reject(raw, label, self.expected)
        days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        if not self.low_s <= total <= self.high_s:
            raise _reject(raw, label, self.expected)
        return total


@dataclass(frozen=True, slots=True)
class GitRef:
    """A branch or tag name (``main``, ``release/1.4``, ``v1.4.0``): no leading dash, no ``..``."""

    expected: str = N_("a branch or tag name")
    greedy: bool = False
    _pattern: re.Pattern[str] = field(default=re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}"))

    def convert(self, raw: str, label: str) -> object:
        if self._pattern.fullmatch(raw) is None or ".." in raw:
            raise _reject(raw, label, self.expected)
        return raw


@dataclass(frozen=True, slots=True)
class Matching:
    """A value the whole of which matches an operator-written regular expression (a script's
    parameter). RE2 matches in linear time, so no value can make the check backtrack for long."""

    pattern: str
    expected: str = N_("a value of the declared form")
    max_length: int = 200
    greedy: bool = False
    _compiled: object = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", compile_linear(self.pattern))

    def convert(self, raw: str, label: str) -> object:
        if len(raw) > self.max_length or self._compiled.fullmatch(raw) is None:  # type: ignore[attr-defined]
            raise _reject(raw, label, self.expected)
        return raw


def compile_linear(pattern: str) -> object:
    """Compile with RE2 (no backreferences, no look-around; linear time); ValueError when it cannot."""
    import re2  # type: ignore[import-untyped]

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as err:
        raise ValueError(f"not a valid RE2 regular expression: {pattern!r}") from err


_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,31})=(\S{0,200})")


@dataclass(frozen=True, slots=True)
class KeyValues:
    """``KEY=VALUE …`` (the rest of the line): named values, each checked later against what the
    target declares. Converted to a canonical text (one space between pairs, as typed), so an
    approved request re-reads to the same value."""

    max_pairs: int = 20
    expected: str = N_("KEY=VALUE pairs separated by spaces")
    greedy: bool = True

    def convert(self, raw: str, label: str) -> object:
        tokens = raw.split()
        pairs = [_PAIR.fullmatch(token) for token in tokens]
        bad = next((token for token, pair in zip(tokens, pairs, strict=True) if pair is None), None)
        if bad is not None or len(tokens) > self.max_pairs:
            raise _reject(bad or raw, label, self.expected)
        keys = [pair.group(1) for pair in pairs if pair is not None]
        if len(set(keys)) != len(keys):
            raise UserError(N_("{arg}: each name may be given once."), arg=Msg(label))
        return " ".join(tokens)

    @staticmethod
    def pairs(value: object) -> dict[str, str]:
        """The canonical text back as a mapping (the handler's view of the argument)."""
        if not value:
            return {}
        return dict(token.split("=", 1) for token in str(value).split())

    @staticmethod
    def render(values: Mapping[str, object]) -> str:
        """A mapping (an API body's parameters) as the text this type converts."""
        return " ".join(f"{key}={value}" for key, value in values.items())


ArgType = Name | Address | Choice | Integer | Person | Text | Duration | GitRef | Matching | KeyValues
