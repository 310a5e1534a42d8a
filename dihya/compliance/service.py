"""``ComplianceService``: the ``bot.ports.Compliance`` port, as command handlers use it."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import Busy
from bot.i18n import N_
from bot.ports import Clock, ExportedFile, LogReport, SecretInfo, Store
from dihya.compliance.secrets import SecretBox
from dihya.compliance.verification import verify_log
from dihya.redaction import Redactor

BUSY = N_("Too many exports and checks of the audit log are running; try again in a minute.")


class ComplianceService:
    __slots__ = ("_store", "_redact", "_clock", "secrets", "_anchor_file", "_signing_key", "_spool", "_scans")

    def __init__(self, store: Store, redactor: Redactor, clock: Clock, secrets: SecretBox,
                 anchor_file: Path | None, signing_key: bytes | None, *, spool: Path, scans: int = 2) -> None:
        self._store = store
        self._redact = redactor
        self._clock = clock
        self.secrets = secrets
        self._anchor_file = anchor_file
        self._signing_key = signing_key
        self._spool = spool  # exports for chat are written here, and deleted once uploaded
        # Whole-log scans (exports, verification) at once: each holds a thread and a cursor.
        self._scans = threading.BoundedSemaphore(scans)

    def __repr__(self) -> str:
        return "ComplianceService(<keys hidden>)"

    # -- secrets ----------------------------------------------------------------------------------
    def secret_set(self, name: str, value: str, now_us: int) -> None:
        self.secrets.put(name, value, now_us)

    def secret_names(self) -> list[SecretInfo]:
        return self._store.secret_list()

    def secret_delete(self, name: str) -> bool:
        return self._store.secret_delete(name)

    # -- exports ----------------------------------------------------------------------------------
    def audit_export(self, fmt: str, since: str | None, actions: frozenset[str],
                     into: Path | None = None) -> list[ExportedFile]:
        """The export and its checks, written to ``into`` (else a fresh folder of the spool)."""
        # Exports (and phonenumbers, which they use to mask numbers) load on first use only.
        from dihya.audit_export import ExportFilter, parse_since
        from dihya.compliance.exports import audit_file, with_checks

        now = self._clock()
        since_us = parse_since(since, now) if since else None
        with self._scan(), self._folder(into) as folder:
            path = audit_file(self._store, self._redact, fmt, ExportFilter(since_us, actions), now, folder)
            return with_checks(path, self._signing_key)

    def person_export(self, key: str) -> ExportedFile | None:
        from dihya.compliance.exports import exported, person_file

        person = self._store.person_data(key)
        if person is None:
            return None
        with self._scan(), self._folder(None) as folder:
            path = person_file(self._store, self._redact, person, self._clock(), folder)
            return exported(path)

    # -- verification -----------------------------------------------------------------------------
    def verify_log(self) -> LogReport:
        with self._scan():
            return verify_log(self._store, self._anchor_file)

    @contextmanager
    def _scan(self) -> Iterator[None]:
        if not self._scans.acquire(blocking=False):
            raise Busy(BUSY)
        try:
            yield
        finally:
            self._scans.release()

    @contextmanager
    def _folder(self, into: Path | None) -> Iterator[Path]:
        """``into``, or a new spool folder that is removed again if the export fails."""
        if into is not None:
            into.mkdir(parents=True, exist_ok=True)
            yield into
            return
        self._spool.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="export-", dir=self._spool))
        try:
            yield folder
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise


def clear_spool(spool: Path, older_than_s: float, now: float) -> int:
    """Remove export folders a previous process left behind (it stopped before uploading them)."""
    removed = 0
    for folder in spool.glob("export-*") if spool.is_dir() else ():
        if now - folder.stat().st_mtime > older_than_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
