"""Secrets at rest: values encrypted with Fernet under a list of keys (newest first).

Rotation (``dihya secrets rotate-key``): put the new key first and keep the old ones after it,
re-encrypt every stored token with ``rotate``, then drop the old keys. While both are listed,
tokens made under either key stay readable.

A key from settings is either a Fernet key (``generate_key()``; 32 random bytes, url-safe base64)
used as is, or any other text, treated as a passphrase: scrypt (n=2**15, r=8, p=1) stretches it
into a Fernet key. The salt is fixed (there is nowhere to keep a random one before the database is
readable), so it only separates this use of the passphrase from others; choose a long passphrase.

Each token binds the secret's name, so a token copied onto another secret's row is refused when
read with ``decrypt(token, name)``. Values never appear in a repr, a str or an exception.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import NoReturn

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from bot.i18n import N_, Msg

_SALT = b"dihya/secret-vault/v1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


class VaultError(Exception):
    """A token cannot be read or a key cannot be used. The message never holds a value or a key."""

    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.message = Msg(msgid)


def generate_key() -> str:
    """A fresh Fernet key for ``DIHYA_SECRET_KEY`` (print it once, store it like a password)."""
    return Fernet.generate_key().decode("ascii")


def fernet_key(key: str) -> bytes:
    """``key`` itself if it is a Fernet key, else the key scrypt derives from it as a passphrase."""
    if not key:
        raise VaultError(N_("A secret key is empty."))
    try:
        Fernet(key)
    except ValueError:  # not 32 bytes of url-safe base64 (binascii.Error is a ValueError too)
        derived = Scrypt(salt=_SALT, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P).derive(key.encode())
        return base64.urlsafe_b64encode(derived)
    return key.encode("ascii")


class SecretVault:
    __slots__ = ("_fernet", "_size")

    def __init__(self, keys: Sequence[str | SecretStr]) -> None:
        if not keys:
            raise VaultError(N_("No secret key is configured (DIHYA_SECRET_KEY)."))
        plain = [k.get_secret_value() if isinstance(k, SecretStr) else k for k in keys]
        self._fernet = MultiFernet([Fernet(fernet_key(k)) for k in plain])
        self._size = len(plain)

    def encrypt(self, name: str, value: str) -> bytes:
        # JSON with ensure_ascii: any str round-trips, even lone surrogates that UTF-8 would refuse
        return self._fernet.encrypt(json.dumps([name, value]).encode("ascii"))

    def decrypt(self, token: bytes, name: str | None = None) -> str:
        """The value in ``token``; when ``name`` is given, the token must have been made for it."""
        try:
            stored_name, value = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            _unreadable()
        except (ValueError, TypeError):
            raise VaultError(N_("A stored secret is damaged.")) from None
        if name is not None and stored_name != name:
            raise VaultError(N_("A stored secret belongs to another name."))
        return str(value)

    def rotate(self, tokens: Iterable[bytes]) -> list[bytes]:
        """``tokens`` re-encrypted under the newest key (their timestamps are kept)."""
        try:
            return [self._fernet.rotate(token) for token in tokens]
        except InvalidToken:
            _unreadable()

    def __repr__(self) -> str:
        return f"SecretVault(<{self._size} keys>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretVault holds keys and cannot be pickled")  # e.g. into a Celery task


def _unreadable() -> NoReturn:
    raise VaultError(N_("A stored secret cannot be decrypted with the configured keys.")) from None
