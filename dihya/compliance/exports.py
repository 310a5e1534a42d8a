"""Export files: the audit log (CSV or JSON, PII masked) and one person's own data (``gdpr export``),
each with a detached ``.sha256`` and, when a signing key is configured, an Ed25519 ``.sig``.

Rows stream from the store's cursor into the file, one at a time: an export of any size needs the
same memory, and the chat upload reads the file from disk (``bot.actions.Upload``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.ports import ExportedFile, PersonData, Store
from dihya.redaction import Redactor

if TYPE_CHECKING:
    from dihya.audit_export import ExportFilter, Pseudonymise

FORMATS = ("csv", "json")
PSEUDONYMS_CACHED = 4096  # identity keys met in one export, looked up once each


def signing_key_pem(setting: str | None) -> bytes | None:
    """``DIHYA_AUDIT_SIGNING_KEY`` holds PEM text or the path of a PEM file."""
    if not setting:
        return None
    text = setting.strip()
    return text.encode() if text.startswith("-----BEGIN") else Path(text).read_bytes()


def exported(path: Path) -> ExportedFile:
    from dihya.signing import digest_path  # loads cryptography: only when exporting

    return ExportedFile(path.name, path, digest_path(path))


def with_checks(path: Path, key_pem: bytes | None) -> list[ExportedFile]:
    """The export and its ``.sha256`` (and ``.sig``) written beside it."""
    from dihya.signing import sha256sum_text, sign_path

    main = exported(path)
    files = [main, _beside(path, ".sha256", sha256sum_text(main.sha256, path.name).encode())]
    if key_pem is not None:
        files.append(_beside(path, ".sig", sign_path(path, key_pem)))
    return files


def _beside(path: Path, suffix: str, content: bytes) -> ExportedFile:
    check = path.with_name(path.name + suffix)
    check.write_bytes(content)
    return ExportedFile(check.name, check, hashlib.sha256(content).hexdigest())


def audit_file(store: Store, redactor: Redactor, fmt: str, filter: ExportFilter, now: float, into: Path) -> Path:
    from dihya.audit_export import export_rows, scrubber, write_csv, write_json  # loads phonenumbers

    path = into / f"dihya-audit-{_stamp(now)}.{fmt}"
    rows = export_rows(store.audit_records(), filter, scrubber(redactor, _cached(store.find_pseudonym)))
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            write_csv(rows, out)
        else:
            write_json(rows, out)
            out.write("\n")
    return path


def person_file(store: Store, redactor: Redactor, person: PersonData, now: float, into: Path) -> Path:
    """Their identities, roles, language and audit rows (through the actor index). Other people
    in their rows stay masked."""
    from dihya.audit_export import ExportFilter, export_rows, scrubber, write_json_array

    mine = sorted(person.pseudonyms)
    head = {"identities": list(person.keys), "roles": sorted(person.roles), "language": person.locale,
            "pseudonyms": mine}
    records = store.audit_records_by(mine) if mine else iter(())
    rows = export_rows(records, ExportFilter(), scrubber(redactor, _cached(store.find_pseudonym)))
    path = into / f"dihya-personal-data-{_stamp(now)}.json"
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(head, ensure_ascii=False, indent=1).removesuffix("\n}") + ',\n "audit": ')
        write_json_array((dataclasses.asdict(row) for row in rows), out, depth=1)
        out.write("\n}\n")
    return path


def _cached(pseudonymise: Pseudonymise) -> Pseudonymise:
    return functools.lru_cache(maxsize=PSEUDONYMS_CACHED)(pseudonymise)


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
