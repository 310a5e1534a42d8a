"""What erasing a person leaves behind, for every store (``bot.memory`` and ``dihya.store``): the
marker that replaces their keys, and how their keys are found in free text."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

ERASED = "[erased]"


def erased_voter() -> str:
    """A vote's voter once erased: distinct per vote, so erased voters' votes stay apart."""
    return f"{ERASED}{secrets.token_hex(4)}"


def mentions(keys: Sequence[str]) -> re.Pattern[str]:
    """A whole-token match of any key or bare user id (approvals name people as typed: ``bob``)."""
    words = {k for key in keys for k in (key, key.partition(":")[2]) if k}
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w.@:-])@?(?:{alternatives})(?![\w.-])")


def without(text: str, keys: Sequence[str]) -> str:
    """``text`` with every key and bare user id replaced by ``ERASED``."""
    for key in sorted(keys, key=len, reverse=True):
        text = text.replace(key, ERASED).replace(key.partition(":")[2], ERASED)
    return text
