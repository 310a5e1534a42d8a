"""The integrity manifest: digests written by ``update_manifest``, refusals by ``verify``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dihya.integrity import MANIFEST_NAME, IntegrityError, Manifest, file_sha256, update_manifest
from dihya.runners.base import RunnerError

REPO_CONTENT = Path(__file__).resolve().parents[1] / "content"
IMAGE_DIGEST = "sha256:" + "ab" * 32


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    (content / "playbooks" / "web").mkdir(parents=True)
    (content / "scripts").mkdir()
    (content / "notes").mkdir()
    (content / "playbooks" / "deploy.yml").write_bytes(b"- hosts: all\n")
    (content / "playbooks" / "web" / "tasks.yml").write_bytes(b"- name: t\n")
    (content / "scripts" / "backup.sh").write_bytes(b"#!/bin/sh\necho ok\n")
    (content / "notes" / "readme.txt").write_bytes(b"not hashed")
    return content


def refusal(err: pytest.ExceptionInfo[IntegrityError]) -> tuple[str, object]:
    return err.value.message.msgid, err.value.message.params["path"]


def test_update_hashes_every_playbook_and_script_and_nothing_else(root: Path) -> None:
    manifest = update_manifest(root)

    assert dict(manifest.files) == {
        "playbooks/deploy.yml": sha256(b"- hosts: all\n"),
        "playbooks/web/tasks.yml": sha256(b"- name: t\n"),
        "scripts/backup.sh": sha256(b"#!/bin/sh\necho ok\n"),
    }
    assert Manifest.load(root) == manifest


def test_update_keeps_the_allowed_artifacts(root: Path) -> None:
    existing = {"files": {}, "artifacts": {"registry.local/web:1.2.3": IMAGE_DIGEST}}
    (root / MANIFEST_NAME).write_text(json.dumps(existing))

    manifest = update_manifest(root)

    assert Manifest.load(root).allowed_digest("registry.local/web:1.2.3") == IMAGE_DIGEST
    assert manifest.allowed_digest("registry.local/web:9.9.9") is None
    assert "playbooks/deploy.yml" in manifest.files


def test_verify_accepts_an_unchanged_file(root: Path) -> None:
    manifest = update_manifest(root)

    assert manifest.verify(root, "playbooks/web/tasks.yml") == root / "playbooks" / "web" / "tasks.yml"


def test_verify_refuses_a_file_changed_after_the_manifest(root: Path) -> None:
    manifest = update_manifest(root)
    (root / "playbooks" / "deploy.yml").write_bytes(b"- hosts: all\n  tasks: [{command: rm -rf /}]\n")

    with pytest.raises(IntegrityError) as err:
        manifest.verify(root, "playbooks/deploy.yml")

    assert refusal(err) == ("Integrity check refused {path}: its SHA-256 digest does not match the manifest",
                            "playbooks/deploy.yml")
    assert isinstance(err.value, RunnerError)


def test_verify_refuses_a_file_not_in_the_manifest(root: Path) -> None:
    manifest = update_manifest(root)
    (root / "playbooks" / "new.yml").write_bytes(b"- hosts: all\n")

    with pytest.raises(IntegrityError) as err:
        manifest.verify(root, "playbooks/new.yml")

    assert refusal(err) == ("Integrity check refused {path}: it is not listed in the manifest", "playbooks/new.yml")


def test_verify_refuses_a_listed_file_that_disappeared(root: Path) -> None:
    manifest = update_manifest(root)
    (root / "scripts" / "backup.sh").unlink()

    with pytest.raises(IntegrityError) as err:
        manifest.verify(root, "scripts/backup.sh")

    assert refusal(err) == ("Integrity check refused {path}: the file is missing", "scripts/backup.sh")


@pytest.mark.parametrize("path", ["../secret.yml", "/etc/passwd", "playbooks/../../secret.yml",
                                  "playbooks\\..\\..\\secret.yml", "./playbooks/deploy.yml", ""])
def test_verify_refuses_paths_that_leave_the_root(root: Path, path: str) -> None:
    (root.parent / "secret.yml").write_bytes(b"x")
    manifest = Manifest(files={path: sha256(b"x")})

    with pytest.raises(IntegrityError) as err:
        manifest.verify(root, path)

    assert err.value.message.msgid == "Integrity check refused {path}: the path leaves the content directory"


def test_symlinks_out_of_the_root_are_refused(root: Path) -> None:
    outside = root.parent / "outside.yml"
    outside.write_bytes(b"- hosts: all\n")
    (root / "playbooks" / "evil.yml").symlink_to(outside)

    with pytest.raises(IntegrityError):
        update_manifest(root)
    with pytest.raises(IntegrityError) as err:
        Manifest(files={"playbooks/evil.yml": sha256(b"- hosts: all\n")}).verify(root, "playbooks/evil.yml")
    assert err.value.message.msgid.endswith("the path leaves the content directory")


def test_large_files_are_hashed_and_copied_whole(root: Path, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000  # about 1 MB, many read chunks
    (root / "scripts" / "big.bin").write_bytes(data)
    manifest = update_manifest(root)
    copy = tmp_path / "copy" / "big.bin"

    manifest.copy_verified(root, "scripts/big.bin", copy)

    assert file_sha256(root / "scripts" / "big.bin") == sha256(data) == manifest.files["scripts/big.bin"]
    assert copy.read_bytes() == data


def test_a_copy_that_does_not_match_is_deleted(root: Path, tmp_path: Path) -> None:
    manifest = update_manifest(root)
    (root / "playbooks" / "deploy.yml").write_bytes(b"- hosts: evil\n")
    copy = tmp_path / "copy" / "deploy.yml"

    with pytest.raises(IntegrityError):
        manifest.copy_verified(root, "playbooks/deploy.yml", copy)

    assert not copy.exists()


@pytest.mark.parametrize("document", ["not json", "[]", json.dumps({"files": {"playbooks/a.yml": "abc"}}),
                                      json.dumps({"files": {}, "artifacts": {"web:1": "md5:00"}})])
def test_a_malformed_manifest_refuses_everything(root: Path, document: str) -> None:
    (root / MANIFEST_NAME).write_text(document)

    with pytest.raises(IntegrityError) as err:
        Manifest.load(root)

    assert err.value.message.msgid == "The integrity manifest {path} is missing or unreadable"


def test_a_missing_manifest_refuses_everything(root: Path) -> None:
    with pytest.raises(IntegrityError):
        Manifest.load(root)


def test_the_shipped_manifest_lists_every_shipped_file_with_its_digest() -> None:
    manifest = Manifest.load(REPO_CONTENT)
    on_disk = {p.relative_to(REPO_CONTENT).as_posix(): file_sha256(p)
               for directory in ("playbooks", "scripts") if (REPO_CONTENT / directory).is_dir()
               for p in (REPO_CONTENT / directory).rglob("*") if p.is_file()}

    assert dict(manifest.files) == on_disk
    assert {"playbooks/deploy_web.yml", "playbooks/rollback_web.yml", "playbooks/sleep_demo.yml"} <= set(on_disk)
