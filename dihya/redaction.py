"""One redaction filter for everything that leaves the process: logs, chat replies, job excerpts,
exports. Known secret values are replaced, and so are common token shapes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MASK = "[REDACTED]"

@dataclass(frozen=True, slots=True)
class TokenShape:
    """A secret's shape, and the short texts one of which every match contains once folded
    (lower-cased): most text holds none of them, and looking for them is far cheaper than the
    shape itself (a test checks each shape's matches against its triggers)."""

    pattern: re.Pattern[str]
    triggers: tuple[str, ...]  # plain substrings of the folded text


TOKEN_SHAPES: tuple[TokenShape, ...] = (
    TokenShape(re.compile(r"xox[abposr]-[A-Za-z0-9-]{8,}"), ("xox",)),  # Slack tokens
    TokenShape(re.compile(r"xapp-[A-Za-z0-9-]{8,}"), ("xapp-",)),  # Slack app-level tokens
    TokenShape(re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"), (":",)),  # Telegram bot tokens
    TokenShape(re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization values
               ("bearer", "token", "basic")),
    TokenShape(re.compile(r"(?i)(authorization|x-api-key|api[_-]?key|password|passwd|secret)(\"?\s*[:=]\s*\"?)[^\s\",]+"),
               ("authorization", "api", "passw", "secret")),
    TokenShape(re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
               ("-----begin",)),
    TokenShape(re.compile(r"\bsyt_[A-Za-z0-9_]{10,}\b"), ("syt_",)),  # Synapse access tokens
    TokenShape(re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), ("gh",)),
    TokenShape(re.compile(r"\bAKIA[0-9A-Z]{16}\b"), ("akia",)),
)

# JSON Web Tokens (Dihya's API tokens, an identity provider's tokens): masked in logs (issue 13). Not
# among TOKEN_SHAPES, which chat replies pass through too: ``api token`` shows people their own.
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")


def mask_jwts(text: str) -> str:
    return JWT.sub(MASK, text) if "eyJ" in text else text


_TRIGGERS = tuple((trigger, shape.pattern) for shape in TOKEN_SHAPES for trigger in shape.triggers)


def fold(text: str) -> str:
    """Lower-case for trigger search. Under re.IGNORECASE, "ı" (dotless i) also matches "i", and
    casefold() keeps it: it is mapped by hand so no case-insensitive match escapes the triggers."""
    return text.lower() if text.isascii() else text.casefold().replace("\u0131", "i")


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
        folded = fold(text)
        found = [pattern for trigger, pattern in _TRIGGERS if trigger in folded]
        for pattern in dict.fromkeys(found) if len(found) > 1 else found:  # each shape once, in order
            text = pattern.sub(_mask_match, text)
        return text


def _mask_match(m: re.Match[str]) -> str:
    if m.lastindex and m.lastindex >= 2:  # keep the key name, mask only the value
        return f"{m.group(1)}{m.group(2)}{MASK}"
    if m.lastindex == 1:
        return f"{m.group(1)} {MASK}"
    return MASK
