"""``SecretBox``: named secrets encrypted at rest with the vault, and known to the redaction filter.

Every value that is stored or read is added to the process's ``Redactor`` first, so it is masked
in chat, logs, job excerpts and exports from then on. Values never leave through a repr or an error.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.i18n import N_
from bot.ports import Store
from dihya.redaction import Redactor

if TYPE_CHECKING:  # the vault loads cryptography, which a bot without a secret key never needs
    from dihya.vault import SecretVault

log = logging.getLogger("dihya.secrets")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
NO_KEY = N_("No secret key is configured (DIHYA_SECRET_KEY), so secrets cannot be stored or read.")


class SecretBox:
    __slots__ = ("_store", "_vault", "_redact")

    def __init__(self, store: Store, vault: SecretVault | None, redactor: Redactor) -> None:
        self._store = store
        self._vault = vault
        self._redact = redactor

    @property
    def configured(self) -> bool:
        return self._vault is not None

    def put(self, name: str, value: str, now_us: int) -> None:
        self._redact.add(value)  # before anything else can echo it
        self._store.secret_put(name, self._need_vault().encrypt(name, value), now_us)

    def value(self, name: str) -> str | None:
        token = self._store.secret_token(name)
        if token is None:
            return None
        value = self._need_vault().decrypt(token, name)
        self._redact.add(value)
        return value

    def load(self) -> int:
        """Teach the redactor every stored value (at start); unreadable tokens are logged, not fatal."""
        if self._vault is None:
            return 0
        from dihya.vault import VaultError  # loaded already: a vault exists

        loaded = 0
        for name, token in self._store.secret_tokens().items():
            try:
                self._redact.add(self._vault.decrypt(token, name))
                loaded += 1
            except VaultError:
                log.error("a stored secret cannot be decrypted with the configured keys", extra={"secret": name})
        return loaded

    def rotate(self) -> int:
        """Re-encrypt every secret under the newest key, all in one transaction."""
        vault = self._need_vault()
        tokens = self._store.secret_tokens()
        names = list(tokens)
        self._store.secret_replace(dict(zip(names, vault.rotate(tokens[n] for n in names), strict=True)))
        return len(names)

    def _need_vault(self) -> SecretVault:
        if self._vault is None:
            raise UserError(NO_KEY)
        return self._vault


@functools.lru_cache(maxsize=4)  # the store, the secrets and the runners share one (scrypt is slow)
def build_vault(keys: tuple[str, ...]) -> SecretVault | None:
    if not keys:
        return None
    from dihya.vault import SecretVault

    return SecretVault(keys)
