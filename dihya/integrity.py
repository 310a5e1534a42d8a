"""Integrity manifest: SHA-256 digests of the playbooks and scripts a runner may use, and the
container images a deploy may pull.

``manifest.json`` sits at the root of a content directory::

    {"version": 1,
     "files": {"playbooks/deploy_web.yml": "<sha256 hex>", ...},
     "artifacts": {"registry.example.org/web:1.2.3": "sha256:<hex>", ...}}

``dihya manifest update`` (an admin tool) rewrites the ``files`` section from what is on disk and
keeps ``artifacts`` as the admin wrote them. Runners verify before every run and refuse on any
mismatch. ``copy_verified`` hashes the very bytes it copies, so a runner can execute a snapshot
that cannot change between the check and the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from bot.i18n import N_, Msg
from dihya.runners.base import RunnerError

__all__ = ["HASHED_DIRS", "MANIFEST_NAME", "IntegrityError", "Manifest", "file_sha256", "update_manifest"]

MANIFEST_NAME = "manifest.json"
HASHED_DIRS: tuple[str, ...] = ("playbooks", "scripts")
FORMAT_VERSION = 1
_CHUNK = 1 << 16
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class IntegrityError(RunnerError):
    """A file or artifact does not match the manifest; the run is refused."""


@dataclass(frozen=True, slots=True)
class Manifest:
    files: Mapping[str, str] = field(default_factory=dict)  # relative POSIX path -> sha256 hex
    artifacts: Mapping[str, str] = field(default_factory=dict)  # "repo:tag" -> "sha256:<hex>"

    @classmethod
    def load(cls, root: Path) -> Manifest:
        path = root / MANIFEST_NAME
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_document(document)
        except (OSError, ValueError) as err:
            raise IntegrityError(Msg(N_("The integrity manifest {path} is missing or unreadable"),
                                     {"path": MANIFEST_NAME})) from err

    @classmethod
    def from_document(cls, document: object) -> Manifest:
        """Build from parsed JSON, rejecting anything that is not a well-formed manifest (ValueError)."""
        if not isinstance(document, dict):
            raise ValueError("manifest must be a JSON object")
        files = _string_map(document.get("files", {}), "files")
        artifacts = _string_map(document.get("artifacts", {}), "artifacts")
        if bad := [p for p, d in files.items() if not _SHA256_HEX.match(d)]:
            raise ValueError(f"files with malformed digests: {bad}")
        if bad := [ref for ref, d in artifacts.items() if not _IMAGE_DIGEST.match(d)]:
            raise ValueError(f"artifacts with malformed digests: {bad}")
        return cls(files=files, artifacts=artifacts)

    def to_document(self) -> dict[str, object]:
        return {"version": FORMAT_VERSION, "files": dict(sorted(self.files.items())),
                "artifacts": dict(sorted(self.artifacts.items()))}

    def save(self, root: Path) -> None:
        """Write atomically, so a runner never reads a half-written manifest."""
        target = root / MANIFEST_NAME
        partial = target.with_name(f".{MANIFEST_NAME}.tmp")
        partial.write_text(json.dumps(self.to_document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(partial, target)

    def verify(self, root: Path, relative_path: str) -> Path:
        """Return the file's path when its digest matches the manifest; raise IntegrityError otherwise."""
        key, path = self._listed(root, relative_path)
        with _open_listed(path, key) as source:
            _check_digest(key, self.files[key], _digest_of(source, sink=None))
        return path

    def copy_verified(self, root: Path, relative_path: str, destination: Path) -> None:
        """Copy a listed file to ``destination``, hashing the copied bytes; a mismatch deletes the copy."""
        key, path = self._listed(root, relative_path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with _open_listed(path, key) as source, destination.open("wb") as sink:
            actual = _digest_of(source, sink)
        try:
            _check_digest(key, self.files[key], actual)
        except IntegrityError:
            destination.unlink()
            raise

    def listed_under(self, directory: str) -> tuple[str, ...]:
        prefix = directory.rstrip("/") + "/"
        return tuple(sorted(p for p in self.files if p.startswith(prefix)))

    def allowed_digest(self, image_ref: str) -> str | None:
        return self.artifacts.get(image_ref)

    def _listed(self, root: Path, relative_path: str) -> tuple[str, Path]:
        key = _normalised(relative_path)
        if key not in self.files:
            raise IntegrityError(Msg(N_("Integrity check refused {path}: it is not listed in the manifest"),
                                     {"path": relative_path}))
        return key, _inside(root, key)


def update_manifest(root: Path) -> Manifest:
    """Hash every file under ``root/playbooks`` and ``root/scripts``; keep the artifacts section."""
    previous = Manifest.load(root) if (root / MANIFEST_NAME).exists() else Manifest()
    files = {key: file_sha256(_inside(root, key)) for key in _content_files(root)}
    manifest = Manifest(files=files, artifacts=previous.artifacts)
    manifest.save(root)
    return manifest


def file_sha256(path: Path) -> str:
    with path.open("rb") as source:
        return _digest_of(source, sink=None)


def _content_files(root: Path) -> Iterator[str]:
    for directory in HASHED_DIRS:
        base = root / directory
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file():  # follows symlinks; ``_inside`` refuses those that leave the root
                yield path.relative_to(root).as_posix()


def _digest_of(source: BinaryIO, sink: BinaryIO | None) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest.hexdigest()


def _check_digest(key: str, expected: str, actual: str) -> None:
    if actual != expected:
        raise IntegrityError(Msg(N_("Integrity check refused {path}: its SHA-256 digest does not match the manifest"),
                                 {"path": key}))


def _open_listed(path: Path, key: str) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as err:
        raise IntegrityError(Msg(N_("Integrity check refused {path}: the file is missing"), {"path": key})) from err


def _normalised(relative_path: str) -> str:
    """The manifest key for a path, refusing anything that could name a file outside the root."""
    pure = PurePosixPath(relative_path)
    if (not relative_path or "\\" in relative_path or "\0" in relative_path or pure.is_absolute()
            or any(part in ("..", ".") for part in relative_path.split("/"))):
        raise _escapes(relative_path)
    return pure.as_posix()


def _inside(root: Path, key: str) -> Path:
    """The file's path, after checking that symlinks do not lead it out of the root."""
    path = root / key
    if not path.resolve().is_relative_to(root.resolve()):
        raise _escapes(key)
    return path


def _escapes(relative_path: str) -> IntegrityError:
    return IntegrityError(Msg(N_("Integrity check refused {path}: the path leaves the content directory"),
                              {"path": relative_path}))


def _string_map(value: object, section: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"manifest section {section!r} must map strings to strings")
    return dict(value)
