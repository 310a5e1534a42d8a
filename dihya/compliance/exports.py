"""Export files: the audit log (CSV or JSON, PII masked) and one person's own data (``gdpr export``),
each with a detached ``.sha256`` and, when a signing key is configured, an Ed25519 ``.sig``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.ports import ExportedFile, PersonData, Store
from dihya.redaction import Redactor

if TYPE_CHECKING:
    from dihya.audit_export import ExportFilter

FORMATS = ("csv", "json")


def signing_key_pem(setting: str | None) -> bytes | None:
    """``DIHYA_AUDIT_SIGNING_KEY`` holds PEM text or the path of a PEM file."""
    if not setting:
        return None
    text = setting.strip()
    return text.encode() if text.startswith("-----BEGIN") else Path(text).read_bytes()


def with_checks(name: str, content: bytes, key_pem: bytes | None) -> list[ExportedFile]:
    from dihya.signing import sha256sum_line, sign  # loads cryptography: only when exporting

    files = [ExportedFile(name, content), ExportedFile(f"{name}.sha256", sha256sum_line(content, name).encode())]
    if key_pem is not None:
        files.append(ExportedFile(f"{name}.sig", sign(content, key_pem)))
    return files


def audit_file(store: Store, redactor: Redactor, fmt: str, filter: ExportFilter, now: float) -> ExportedFile:
    from dihya.audit_export import export_csv, export_json  # loads phonenumbers: only when exporting

    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    write = export_csv if fmt == "csv" else export_json
    # Read the rows first: on SQLite every read holds the write lock, and masking looks up pseudonyms.
    records = [r for r in store.audit_records() if filter.accepts(r)]
    content = write(records, filter, redactor, store.find_pseudonym)
    return ExportedFile(f"dihya-audit-{stamp}.{fmt}", content)


def person_file(store: Store, redactor: Redactor, person: PersonData, now: float) -> ExportedFile:
    """Their identities, roles, language and audit rows. Other people in their rows stay masked."""
    from dihya.audit_export import ExportFilter, export_json

    mine = frozenset(person.pseudonyms)
    theirs = [r for r in store.audit_records() if r.draft.actor in mine]  # read before masking looks up
    rows = json.loads(export_json(theirs, ExportFilter(), redactor, store.find_pseudonym))
    document = {"identities": list(person.keys), "roles": sorted(person.roles), "language": person.locale,
                "pseudonyms": sorted(mine), "audit": rows}
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    content = (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()
    return ExportedFile(f"dihya-personal-data-{stamp}.json", content)

