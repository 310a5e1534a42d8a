"""Text helpers shared by the parser and the renderer: folding for matching, neutralising for echo."""

from __future__ import annotations

import unicodedata

# Tatweel is a pure typographic stretch in Arabic; it must not change meaning.
_TATWEEL = "\u0640"
_SAFE_CONTROLS = frozenset("\n\t")
MAX_ECHO = 80
WITHHELD = "[withheld]"  # shown instead of a private or confidential value


def fold(token: str) -> str:
    """Case- and accent-insensitive key for a token ("Déployer" → "deployer", "أ" → "ا")."""
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFKD", token.casefold().replace(_TATWEEL, ""))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def neutralise(text: str) -> str:
    """Make user text safe to echo: control, format (bidi) and private characters become visible escapes."""
    if text.isprintable():
        return text
    return "".join(_neutral_char(c) for c in text)


def _neutral_char(c: str) -> str:
    if c in _SAFE_CONTROLS or c == " ":
        return " "
    if c.isprintable():
        return c
    return f"<U+{ord(c):04X}>"


def clip(text: str, limit: int = MAX_ECHO) -> str:
    """Bound an echoed value so a 100 KB argument cannot become a 100 KB reply."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def echo(value: object) -> str:
    return clip(neutralise(str(value)))
