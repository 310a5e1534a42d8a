"""``ComplianceService``: the ``bot.ports.Compliance`` port, as command handlers use it."""

from __future__ import annotations

from pathlib import Path

from bot.ports import Clock, ExportedFile, LogReport, SecretInfo, Store
from dihya.compliance.secrets import SecretBox
from dihya.compliance.verification import verify_log
from dihya.redaction import Redactor


class ComplianceService:
    __slots__ = ("_store", "_redact", "_clock", "secrets", "_anchor_file", "_signing_key")

    def __init__(self, store: Store, redactor: Redactor, clock: Clock, secrets: SecretBox,
                 anchor_file: Path | None, signing_key: bytes | None) -> None:
        self._store = store
        self._redact = redactor
        self._clock = clock
        self.secrets = secrets
        self._anchor_file = anchor_file
        self._signing_key = signing_key

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
    def audit_export(self, fmt: str, since: str | None, actions: frozenset[str]) -> list[ExportedFile]:
        # Exports (and phonenumbers, which they use to mask numbers) load on first use only.
        from dihya.audit_export import ExportFilter, parse_since
        from dihya.compliance.exports import audit_file, with_checks

        now = self._clock()
        since_us = parse_since(since, now) if since else None
        exported = audit_file(self._store, self._redact, fmt, ExportFilter(since_us, actions), now)
        return with_checks(exported.filename, exported.content, self._signing_key)

    def person_export(self, key: str) -> ExportedFile | None:
        from dihya.compliance.exports import person_file

        person = self._store.person_data(key)
        if person is None:
            return None
        return person_file(self._store, self._redact, person, self._clock())

    # -- verification -----------------------------------------------------------------------------
    def verify_log(self) -> LogReport:
        return verify_log(self._store, self._anchor_file)

