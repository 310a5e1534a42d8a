"""One redaction filter for everything that leaves the process: logs, chat replies, job excerpts,
exports. Known secret values are replaced, and so are common token shapes."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[REDACTED]"

TOKEN_SHAPES: tuple[re.Pattern[str], ...] = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{8,}"),  # Slack tokens
    re.compile(r"xapp-[A-Za-z0-9-]{8,}"),  # Slack app-level tokens
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot tokens
    re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization values
    re.compile(r"(?i)(authorization|x-api-key|api[_-]?key|password|passwd|secret)(\"?\s*[:=]\s*\"?)[^\s\",]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"\bsyt_[A-Za-z0-9_]{10,}\b"),  # Synapse access tokens
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
)


# One pass to decide whether any shape is present at all: most texts carry no secret, and one
# combined search is much cheaper than nine substitutions.
def _scoped(pattern: str) -> str:
    return f"(?i:{pattern[4:]})" if pattern.startswith("(?i)") else f"(?:{pattern})"


_ANY_SHAPE = re.compile("|".join(_scoped(shape.pattern) for shape in TOKEN_SHAPES), re.S)


class Redactor:
    __slots__ = ("_known",)

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        self._known: tuple[str, ...] = tuple(sorted({s for s in known_secrets if len(s) >= 4}, key=len, reverse=True))

    def add(self, *secrets: str) -> None:
        self._known = tuple(sorted({*self._known, *(s for s in secrets if len(s) >= 4)}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, MASK)
        if _ANY_SHAPE.search(text) is None:
            return text
        for shape in TOKEN_SHAPES:
            text = shape.sub(_mask_match, text)
        return text


def _mask_match(m: re.Match[str]) -> str:
    if m.lastindex and m.lastindex >= 2:  # keep the key name, mask only the value
        return f"{m.group(1)}{m.group(2)}{MASK}"
    if m.lastindex == 1:
        return f"{m.group(1)} {MASK}"
    return MASK
