"""What an audit row's details may hold of a command: its arguments, private ones withheld and
long or odd ones cleaned, never more of the typed text than ``MAX_AUDITED_TEXT``."""

from __future__ import annotations

from collections.abc import Mapping

from bot.text import WITHHELD, clip, neutralise

MAX_AUDITED_TEXT = 200


def audited_args(args: Mapping[str, object], private: frozenset[str] = frozenset(),
                 extra: Mapping[str, object] | None = None) -> dict[str, object]:
    """An audit row's details: the arguments (private ones withheld, long or odd ones cleaned), then
    what the handler added."""
    audited: dict[str, object] = {}
    for name, value in args.items():
        if name in private:
            audited[name] = WITHHELD
            continue
        text = value if type(value) is str else str(value)
        if len(text) > MAX_AUDITED_TEXT or not text.isprintable():  # rare: most values need no cleaning
            text = clip(neutralise(text), MAX_AUDITED_TEXT)
        audited[name] = text
    return {"args": audited, **extra} if extra else {"args": audited}
