"""Settings changes are audited: at start, each setting's fingerprint is compared with the one
the previous start recorded, and the names of the changed settings go into an audit row.
Secret settings count only as set or unset: a hash of a weak password would reveal it (a
connection URL counts as its text with the password masked)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import SecretStr

from bot.audit import AuditDraft
from bot.clock import micros
from bot.ports import Store
from dihya.settings import SecretUrl, Settings

KV_NAME = "compliance.settings_fingerprint"
ACTOR = "system:dihya"


def fingerprints(settings: Settings) -> dict[str, str]:
    prints: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretUrl):
            shown = repr(str(value))  # the password masked; as a plain URL's text was before
        elif isinstance(value, SecretStr):
            shown = "set" if value.get_secret_value() else ""
        else:
            shown = repr(value)
        prints[name] = hashlib.sha256(shown.encode()).hexdigest()[:16]
    prints["config_file.content"] = _file_print(settings.config_file)
    return prints


def _file_print(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def audit_settings(store: Store, settings: Settings, now: float) -> list[str]:
    """Record (and return) the settings changed since the last start; nothing when none did."""
    current = fingerprints(settings)
    stored = store.kv_get(KV_NAME)
    previous: dict[str, str] = json.loads(stored) if stored else {}
    changed = sorted(k for k in current.keys() | previous.keys() if current.get(k) != previous.get(k))
    if not changed:
        return []
    outcome = "initial" if not previous else "changed"
    store.append_audit([AuditDraft(micros(now), store.pseudonym(ACTOR), "settings:change", "settings",
                                   outcome, "", {"changed": changed})])
    store.kv_set(KV_NAME, json.dumps(current, sort_keys=True))
    return changed
