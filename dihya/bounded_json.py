"""JSON from outside the process, with a nesting limit.

``json.loads`` recurses in C and gives up near the interpreter's recursion limit with a
``RecursionError``; code that then walks a document nested a few hundred levels deep (pydantic,
python-telegram-bot, a repr in a log line) may recurse past it again. So a document nested deeper
than ``MAX_DEPTH`` is refused as malformed, like one that is not JSON at all.
"""

from __future__ import annotations

import json

MAX_DEPTH = 64  # real webhook payloads nest about ten levels deep (Slack's rich-text blocks are the deepest)


class MalformedJson(ValueError):
    """Not JSON, or nested too deeply; the message says which, and never quotes the document."""


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> object:
    try:
        value = json.loads(raw)
    except RecursionError:
        raise MalformedJson(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # also bytes that are not UTF-8 and integers too long to convert
        raise MalformedJson(f"malformed JSON: {_reason(exc)}") from None
    if _deeper_than(value, max_depth):
        raise MalformedJson(f"nested deeper than {max_depth} levels")
    return value


def _reason(error: ValueError) -> str:
    """``JSONDecodeError`` says where; other errors (encoding, digits) by their kind only."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg}: line {error.lineno} column {error.colno} (char {error.pos})"
    return type(error).__name__


def _deeper_than(value: object, limit: int) -> bool:
    """Walks containers with an explicit stack (no recursion of our own)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
