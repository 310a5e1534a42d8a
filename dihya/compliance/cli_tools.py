"""The compliance half of the ``dihya`` command line: ``audit verify``, ``audit export`` and
``secrets rotate-key``. Each returns an exit status and prints for people; ``dihya.cli`` exits."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

from bot.audit import AuditDraft
from bot.clock import now_us
from bot.errors import UserError
from bot.i18n import N_, Msg
from commands.audit import verification_lines
from dihya.cli_text import PROBLEM, CliText
from dihya.compliance.secrets import NO_KEY
from dihya.compliance.wiring import build_compliance, sealer, secret_box
from dihya.redaction import Redactor
from dihya.settings import Settings
from dihya.store.engine import make_engine, upgrade
from dihya.store.sql import SqlStore


def _store(settings: Settings) -> SqlStore:
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    return SqlStore(engine, sealer(settings))


def _audit(store: SqlStore, action: str, target: str, details: dict[str, object]) -> None:
    """CLI actions are audited like chat commands, the operator's OS account as a pseudonym."""
    actor = store.pseudonym(f"cli:{getpass.getuser()}")
    store.append_audit([AuditDraft(now_us(time.time), actor, f"cli:{action}", target, "ok", "", details)])


def audit_verify(settings: Settings, text: CliText) -> int:
    store = _store(settings)
    report = build_compliance(settings, store, Redactor(settings.secret_values()), time.time).verify_log()
    intact, lines = verification_lines(report)
    show = text.say if intact else text.fail  # a failed check goes to standard error
    for line in lines:
        show(line)
    if intact and report.tail is None:
        text.say(Msg(N_("Tail check skipped: no audit anchor has been written (DIHYA_AUDIT_ANCHOR_FILE).")))
    return 0 if intact else 1


def audit_export(settings: Settings, text: CliText, fmt: str, since: str | None, actions: list[str],
                 out: Path) -> int:
    store = _store(settings)
    compliance = build_compliance(settings, store, Redactor(settings.secret_values()), time.time)
    try:
        files = compliance.audit_export(fmt, since, frozenset(actions), into=out)  # streamed into the files
    except UserError as err:
        text.fail(Msg(PROBLEM, {"problem": err.message}))
        return 2
    for exported in files:
        print(exported.path)  # data for scripts: one path per line, untranslated
    _audit(store, "audit.export", files[0].filename,
           {"format": fmt, "since": since or "", "actions": sorted(actions), "sha256": files[0].sha256})
    return 0


def secrets_rotate(settings: Settings, text: CliText) -> int:
    store = _store(settings)
    box = secret_box(settings, store, Redactor(settings.secret_values()))
    if not box.configured:
        text.fail(Msg(PROBLEM, {"problem": Msg(NO_KEY)}))
        return 2
    try:
        count = box.rotate()
        addresses, results = store.reseal_at_rest()  # the inventory and job results use the same keys
    except UserError as err:  # a token no configured key opens: nothing was changed
        text.fail(Msg(PROBLEM, {"problem": err.message}))
        return 2
    _audit(store, "secrets.rotate-key", "secrets", {"secrets": count, "addresses": addresses, "results": results})
    text.say(Msg(N_("{count} secrets, {addresses} server addresses and {results} job results re-encrypted with "
                    "the newest key; the old keys may now be removed from DIHYA_SECRET_KEYS_OLD."),
                 {"count": count, "addresses": addresses, "results": results}))
    return 0
