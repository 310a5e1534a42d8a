"""Detached checks for exported files, so the receiver can tell the file is the one we sent.

Two kinds, both readable with standard tools:
- ``NAME.sha256``: one ``sha256sum`` line; check with ``sha256sum -c NAME.sha256``. It shows the
  file was not damaged, not who made it (anyone can recompute a digest).
- ``NAME.sig``: a raw 64-byte Ed25519 signature made with the operator's private key; check with
  ``openssl pkeyutl -verify -pubin -inkey dihya-audit.pub.pem -rawin -in NAME -sigfile NAME.sig``.
"""

from __future__ import annotations

import hashlib
import hmac
import mmap
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.i18n import N_, Msg

_SHA256SUM_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)\n?")


class SigningError(Exception):
    """A key cannot be used (wrong format, wrong type or wrong password). Never carries key material."""

    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.message = Msg(msgid)


def digest_file(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256sum_line(data: bytes, name: str) -> str:
    """The content of ``NAME.sha256``, as ``sha256sum`` writes it (text mode: two spaces)."""
    return sha256sum_text(digest_file(data), name)


def sha256sum_text(digest: str, name: str) -> str:
    """``sha256sum_line`` for a digest already computed (of a file read in pieces)."""
    return f"{digest}  {_plain_name(name)}\n"


def digest_path(path: Path) -> str:
    """SHA-256 of a file, read in pieces (an export may be larger than memory should hold)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def check_sha256sum(data: bytes, line: str, name: str | None = None) -> bool:
    """Whether ``line`` (a ``NAME.sha256`` file) holds ``data``'s digest, and names ``name`` if given."""
    match = _SHA256SUM_LINE.fullmatch(line)
    if match is None or (name is not None and match[2] != name):
        return False
    return hmac.compare_digest(match[1].lower(), digest_file(data))


def _plain_name(name: str) -> str:
    # sha256sum escapes names holding "\\" or a newline; we only ever write plain file names.
    if not name or any(c in name for c in "\\/\n\r"):
        raise ValueError("a checksum names a plain file name")
    return name


# -- Ed25519 -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyPair:
    """PEM texts for the operator to store: PKCS#8 private key, SubjectPublicKeyInfo public key."""

    private_pem: bytes = field(repr=False)
    public_pem: bytes


def generate_keypair(password: bytes | None = None) -> KeyPair:
    """A new signing key; with ``password`` the private PEM is encrypted (best available scheme)."""
    key = Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return KeyPair(private_pem, _public_pem(key.public_key()))


def public_key_pem(private_key_pem: bytes, password: bytes | None = None) -> bytes:
    """The public half of a private key, to hand to whoever receives exports."""
    return _public_pem(_private_key(private_key_pem, password).public_key())


def sign(data: bytes, private_key_pem: bytes, password: bytes | None = None) -> bytes:
    """A detached, raw 64-byte Ed25519 signature of ``data``."""
    return _private_key(private_key_pem, password).sign(data)


def sign_path(path: Path, private_key_pem: bytes, password: bytes | None = None) -> bytes:
    """``sign`` of a file's content. Ed25519 needs the whole message at once: the file is mapped,
    not read, so its pages are the page cache's to evict rather than the process's heap."""
    key = _private_key(private_key_pem, password)
    with path.open("rb") as file:
        if path.stat().st_size == 0:
            return key.sign(b"")
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
            return key.sign(view)


def verify(data: bytes, signature: bytes, public_key_pem: bytes) -> bool:
    """Whether ``signature`` is ``data`` signed by the key. A malformed key raises ``SigningError``:
    that is a configuration fault, not a bad file."""
    try:
        _public_key(public_key_pem).verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _private_key(pem: bytes, password: bytes | None) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningError(N_("The signing key is not a usable PEM private key (or its password is wrong).")) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(N_("The signing key must be an Ed25519 key."))
    return key


def _public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise SigningError(N_("The verification key is not a PEM public key.")) from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(N_("The verification key must be an Ed25519 key."))
    return key
