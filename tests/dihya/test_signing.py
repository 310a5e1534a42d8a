from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from hypothesis import given
from hypothesis import strategies as st

from dihya.signing import (
    SigningError,
    check_sha256sum,
    digest_file,
    generate_keypair,
    public_key_pem,
    sha256sum_line,
    sign,
    verify,
)

EXPORT = b"seq,time,actor\r\n1,2026-11-01T00:00:00.000000Z,p-1a2b\r\n"
KEYS = generate_keypair()


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_digest_is_sha256_hex() -> None:
    assert digest_file(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sha256sum_line_checks_the_file_and_its_name() -> None:
    line = sha256sum_line(EXPORT, "audit.csv")
    assert line == f"{digest_file(EXPORT)}  audit.csv\n"
    assert check_sha256sum(EXPORT, line, "audit.csv")
    assert check_sha256sum(EXPORT, line.upper().replace("AUDIT.CSV", "audit.csv"))
    assert not check_sha256sum(EXPORT, line, "other.csv")
    assert not check_sha256sum(EXPORT + b"\n", line)
    assert not check_sha256sum(EXPORT, "garbage\n")


@pytest.mark.parametrize("name", ["", "a/b.csv", "a\nb.csv", "a\\b.csv"])
def test_sha256sum_line_refuses_names_that_need_escaping(name: str) -> None:
    with pytest.raises(ValueError):
        sha256sum_line(EXPORT, name)


@given(st.integers(min_value=0, max_value=len(EXPORT) - 1))
def test_one_changed_byte_fails_both_checks(index: int) -> None:
    changed = flip(EXPORT, index)
    assert not check_sha256sum(changed, sha256sum_line(EXPORT, "audit.csv"))
    assert not verify(changed, sign(EXPORT, KEYS.private_pem), KEYS.public_pem)


def test_signature_verifies_with_the_matching_public_key_only() -> None:
    signature = sign(EXPORT, KEYS.private_pem)
    assert len(signature) == 64
    assert verify(EXPORT, signature, KEYS.public_pem)
    assert verify(EXPORT, signature, public_key_pem(KEYS.private_pem))
    assert not verify(EXPORT, signature, generate_keypair().public_pem)
    assert not verify(EXPORT, flip(signature, 10), KEYS.public_pem)
    assert not verify(EXPORT, signature[:-1], KEYS.public_pem)


def test_password_protected_key() -> None:
    keys = generate_keypair(b"correct horse")
    assert b"ENCRYPTED" in keys.private_pem
    assert verify(EXPORT, sign(EXPORT, keys.private_pem, b"correct horse"), keys.public_pem)
    with pytest.raises(SigningError):
        sign(EXPORT, keys.private_pem, b"wrong")
    with pytest.raises(SigningError):
        sign(EXPORT, keys.private_pem)


def test_unusable_keys_raise_without_showing_the_key() -> None:
    ec_key = generate_private_key(SECP256R1())
    ec_pem = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    ec_public = ec_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    for bad_private in (ec_pem, b"not a key", KEYS.public_pem):
        with pytest.raises(SigningError) as raised:
            sign(EXPORT, bad_private)
        error = raised.value
        assert error.__context__ is None or error.__suppress_context__  # no traceback that could quote the key
        assert "BEGIN" not in str(error)
    for bad_public in (ec_public, b"not a key", KEYS.private_pem):
        with pytest.raises(SigningError):
            verify(EXPORT, b"\0" * 64, bad_public)


def test_repr_of_a_key_pair_hides_the_private_key() -> None:
    assert "PRIVATE" not in repr(KEYS)


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum not installed")
def test_sha256sum_tool_accepts_the_digest_file(tmp_path: Path) -> None:
    (tmp_path / "audit.csv").write_bytes(EXPORT)
    (tmp_path / "audit.csv.sha256").write_text(sha256sum_line(EXPORT, "audit.csv"))
    ok = subprocess.run(["sha256sum", "-c", "audit.csv.sha256"], cwd=tmp_path, capture_output=True, check=False)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "audit.csv").write_bytes(flip(EXPORT, 0))
    bad = subprocess.run(["sha256sum", "-c", "audit.csv.sha256"], cwd=tmp_path, capture_output=True, check=False)
    assert bad.returncode != 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_the_detached_signature(tmp_path: Path) -> None:
    (tmp_path / "audit.csv").write_bytes(EXPORT)
    (tmp_path / "audit.csv.sig").write_bytes(sign(EXPORT, KEYS.private_pem))
    (tmp_path / "dihya-audit.pub.pem").write_bytes(KEYS.public_pem)
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "dihya-audit.pub.pem", "-rawin",
               "-in", "audit.csv", "-sigfile", "audit.csv.sig"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "audit.csv").write_bytes(flip(EXPORT, 5))
    assert subprocess.run(command, cwd=tmp_path, capture_output=True, check=False).returncode != 0
