"""Columns encrypted at rest: inventory addresses and job results (with their log excerpts).

With ``DIHYA_SECRET_KEY`` set, these values are sealed with the secrets vault (Fernet, the same
rotatable keys, see ``dihya.vault``) before they are written, and opened when read. A sealed value
starts with ``PREFIX``; any other value was written before a key was set and reads as it is
(``dihya secrets rotate-key`` seals it). Each token binds its column and row (``servers.address:web-01``),
so a value copied onto another row does not open. What commands look rows up by (a server's name and
environment, a job's id and state) stays clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.i18n import N_

if TYPE_CHECKING:  # the vault loads cryptography, which a bot without a secret key never needs
    from dihya.vault import SecretVault

PREFIX = "dihya-sealed:v1:"
UNREADABLE = N_("Stored data is encrypted and cannot be read with the configured keys (DIHYA_SECRET_KEY).")


class Sealer:
    __slots__ = ("_vault",)

    def __init__(self, vault: SecretVault | None = None) -> None:
        self._vault = vault

    @property
    def sealing(self) -> bool:
        return self._vault is not None

    def seal(self, field: str, value: str) -> str:
        """``value`` as it is stored: sealed for ``field`` when a key is configured."""
        if self._vault is None:
            return value
        return PREFIX + self._vault.encrypt(field, value).decode("ascii")

    def open(self, field: str, stored: str) -> str:
        """The value of a stored ``field``; a user error if it is sealed and no key opens it."""
        if not stored.startswith(PREFIX):
            return stored
        if self._vault is None:
            raise UserError(UNREADABLE)
        from dihya.vault import VaultError  # loaded already: a vault exists

        try:
            return self._vault.decrypt(stored.removeprefix(PREFIX).encode("ascii"), field)
        except VaultError:
            raise UserError(UNREADABLE) from None

    def reseal(self, field: str, stored: str) -> str:
        """``stored`` sealed under the newest key (key rotation); a clear value is sealed now."""
        if self._vault is None:
            raise UserError(UNREADABLE)
        if not stored.startswith(PREFIX):
            return self.seal(field, stored)
        self.open(field, stored)  # refuse a token bound to another row before re-encrypting it
        token = self._vault.rotate([stored.removeprefix(PREFIX).encode("ascii")])[0]
        return PREFIX + token.decode("ascii")

    def __repr__(self) -> str:
        return f"Sealer(sealing={self.sealing})"


def address_field(server: str) -> str:
    return f"servers.address:{server}"


def result_field(job_id: int) -> str:
    return f"jobs.result:{job_id}"
