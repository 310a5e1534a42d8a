"""The suite-wide outbound canary (issue 10): a secret value tests set through each platform's
``secret set``, and the ledger of outbound platform calls that carried it.

The fake Slack and Telegram APIs hand every call they receive to ``inspect``, and a Synapse started
for the tests hands over every event (and upload) the bot's account sent, read back from its
database; ``tests/conftest.py`` fails the session when the ledger is not empty.
"""

from __future__ import annotations

import json
import threading
import uuid

CANARY = f"canary-{uuid.uuid4().hex}"  # new each run: found anywhere, it came from this run's tests

_lock = threading.Lock()
LEAKS: list[str] = []  # "platform what" of each outbound call that carried the canary


def inspect(platform: str, what: str, payload: object) -> bool:
    """Record ``payload`` (text, bytes or JSON-like) as a leak if it carries the canary; True if so."""
    if isinstance(payload, bytes):
        found = CANARY.encode() in payload
    else:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=_text, ensure_ascii=False)
        found = CANARY in text
    if found:
        with _lock:
            LEAKS.append(f"{platform} {what}")
    return found


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else repr(value)
