"""One spelling per emoji: clients add or drop the variation selector (U+FE0F) that asks for the
coloured glyph, so "✅" and "✅\\ufe0f" are the same answer everywhere in Dihya."""

from __future__ import annotations

VARIATION_SELECTOR = "\ufe0f"


def bare(emoji: str) -> str:
    """``emoji`` without variation selectors."""
    return emoji.replace(VARIATION_SELECTOR, "")
