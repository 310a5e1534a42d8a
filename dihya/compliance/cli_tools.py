"""The compliance half of the ``dihya`` command line: ``audit verify``, ``audit export`` and
``secrets rotate-key``. Each returns an exit status and prints for people; ``dihya.cli`` exits."""

from __future__ import annotations

import getpass
import hashlib
import sys
import time
from pathlib import Path

from bot.audit import AuditDraft
from bot.errors import UserError
from dihya.compliance.wiring import build_compliance, secret_box
from dihya.redaction import Redactor
from dihya.settings import Settings
from dihya.store.engine import make_engine, upgrade
from dihya.store.sql import SqlStore


def _store(settings: Settings) -> SqlStore:
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    return SqlStore(engine)


def _audit(store: SqlStore, action: str, target: str, details: dict[str, object]) -> None:
    """CLI actions are audited like chat commands, the operator's OS account as a pseudonym."""
    actor = store.pseudonym(f"cli:{getpass.getuser()}")
    store.append_audit([AuditDraft(int(time.time() * 1_000_000), actor, f"cli:{action}", target, "ok", "", details)])


def audit_verify(settings: Settings) -> int:
    store = _store(settings)
    report = build_compliance(settings, store, Redactor(settings.secret_values()), time.time).verify_log()
    chain, tail = report.chain, report.tail
    if not chain.ok:
        print(f"audit log TAMPERED: first bad row is seq {chain.bad_seq}: {chain.reason}", file=sys.stderr)
        return 1
    print(f"audit log intact: {chain.checked} rows verified")
    if tail is None:
        print("tail check: no anchor file configured (DIHYA_AUDIT_ANCHOR_FILE)")
        return 0
    if not tail.ok:
        print(f"audit log TAMPERED at its end: {tail.reason} (anchored row {tail.bad_seq})", file=sys.stderr)
        return 1
    print("tail check passed: every anchored row is present")
    return 0


def audit_export(settings: Settings, fmt: str, since: str | None, actions: list[str], out: Path) -> int:
    store = _store(settings)
    compliance = build_compliance(settings, store, Redactor(settings.secret_values()), time.time)
    try:
        files = compliance.audit_export(fmt, since, frozenset(actions))
    except UserError as err:
        print(f"dihya: {err.message.msgid.format(**err.message.params)}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for exported in files:
        (out / exported.filename).write_bytes(exported.content)
        print(out / exported.filename)
    _audit(store, "audit.export", files[0].filename,
           {"format": fmt, "since": since or "", "actions": sorted(actions),
            "sha256": hashlib.sha256(files[0].content).hexdigest()})
    return 0


def secrets_rotate(settings: Settings) -> int:
    store = _store(settings)
    box = secret_box(settings, store, Redactor(settings.secret_values()))
    if not box.configured:
        print("dihya: no secret key is configured (DIHYA_SECRET_KEY)", file=sys.stderr)
        return 2
    count = box.rotate()
    _audit(store, "secrets.rotate-key", "secrets", {"secrets": count})
    print(f"{count} secrets re-encrypted with the newest key; old keys may now be removed from DIHYA_SECRET_KEYS_OLD")
    return 0
