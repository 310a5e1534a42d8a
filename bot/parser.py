"""Text → (command, locale, typed arguments), or a translated reason why not."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.errors import UserError
from bot.grammar import match
from bot.i18n import LOCALES, N_, Msg
from bot.registry import Arg, Command, Pattern, Registry
from bot.text import fold

MAX_TOKENS = 64


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command
    locale: str
    args: dict[str, object]


@dataclass(frozen=True, slots=True)
class Rejected:
    """The text is not a valid command; ``locale`` is our best guess of the language typed."""

    reason: Msg
    locale: str | None
    command: Command | None = None


def parse(registry: Registry, text: str, preferred: str | None = None) -> Parsed | Rejected:
    raw = text.split()
    if not raw:
        return Rejected(Msg(N_("Unknown command. Type “help” to see what you can do.")), preferred)
    if len(raw) > MAX_TOKENS:
        return Rejected(Msg(N_("That message is too long to be a command.")), None)
    candidates = _ordered(registry.candidates(fold(raw[0])), preferred)
    folded: list[str] | None = None  # folded only when a pattern has more words to compare
    first_error: Rejected | None = None
    for pattern in candidates:
        try:
            if pattern.flat:
                if len(raw) != pattern.length:
                    continue
                if pattern.words:
                    folded = folded or [fold(t) for t in raw]
                    if any(folded[i] != word for i, word in pattern.words):
                        continue
                args = {arg.name: _value(arg, raw[i]) for i, arg in pattern.slots}
                return Parsed(pattern.command, pattern.locale, args)
            folded = folded or [fold(t) for t in raw]
            bound = match(pattern.elements, raw, folded)
            if bound is None:
                continue
            return Parsed(pattern.command, pattern.locale, _convert(pattern.command, bound))
        except UserError as err:
            first_error = first_error or Rejected(err.message, pattern.locale, pattern.command)
    if first_error is not None:
        return first_error
    return _not_understood(registry, candidates, folded or [fold(t) for t in raw], preferred)


def _ordered(patterns: list[Pattern], preferred: str | None) -> list[Pattern]:
    """Prefer the person's language when the same words exist in several ("ping")."""
    if preferred is None or len(patterns) < 2:
        return patterns
    return sorted(patterns, key=lambda p: p.locale != preferred)


def _convert(command: Command, bound: dict[str, str]) -> dict[str, object]:
    return {name: _value(command.arg(name), value) for name, value in bound.items()}


def _value(arg: Arg, raw: str) -> object:
    """``raw`` converted to the argument's type; an error about a confidential one never quotes it."""
    if not arg.confidential:
        return arg.kind.convert(raw, arg.label)
    try:
        return arg.kind.convert(raw, arg.label)
    except UserError:
        raise UserError(N_("That {arg} is not valid (I do not repeat it here)."), arg=Msg(arg.label)) from None


def _not_understood(
    registry: Registry, candidates: list[Pattern], folded: list[str], preferred: str | None
) -> Rejected:
    usable = [p for p in candidates if tuple(folded[: len(p.prefix)]) == p.prefix]
    if usable:
        best = max(usable, key=lambda p: len(p.prefix))
        phrases = " | ".join(best.command.phrases[best.locale])
        return Rejected(Msg(N_("Wrong arguments. Usage: {usage}"), {"usage": phrases}), best.locale, best.command)
    return _unknown(registry, folded, preferred)


def _unknown(registry: Registry, folded: list[str], preferred: str | None) -> Rejected:
    prefixes = registry.prefixes()
    typed = [" ".join(folded[:n]) for n in (1, 2, 3) if n <= len(folded)]
    best: tuple[float, Pattern] | None = None
    for candidate in typed:
        for close in difflib.get_close_matches(candidate, prefixes, n=1, cutoff=0.6):
            score = difflib.SequenceMatcher(None, candidate, close).ratio()
            if best is None or score > best[0]:
                best = (score, prefixes[close])
    if best is None:
        return Rejected(Msg(N_("Unknown command. Type “help” to see what you can do.")), preferred)
    pattern = best[1]
    return Rejected(
        Msg(N_("Unknown command. Did you mean “{suggestion}”?"), {"suggestion": pattern.phrase}),
        pattern.locale if pattern.locale in LOCALES else preferred,
    )
