"""``SecretStore`` in memory: opaque tokens by name (the vault encrypts outside the store)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.memory.tables import Memory, SecretRow
from bot.ports import SecretInfo


class MemorySecrets(Memory):
    __slots__ = ()

    def secret_put(self, name: str, token: bytes, now_us: int) -> None:
        found = self.tables.secrets.get(name)
        if found is None:
            self.tables.secrets[name] = SecretRow(token, now_us, now_us)
        else:
            found.token, found.updated_us = token, now_us

    def secret_token(self, name: str) -> bytes | None:
        found = self.tables.secrets.get(name)
        return found.token if found else None

    def secret_list(self) -> list[SecretInfo]:
        return [SecretInfo(name, self.tables.secrets[name].updated_us) for name in sorted(self.tables.secrets)]

    def secret_delete(self, name: str) -> bool:
        return self.tables.secrets.pop(name, None) is not None

    def secret_tokens(self) -> dict[str, bytes]:
        return {name: row.token for name, row in self.tables.secrets.items()}

    def secret_replace(self, tokens: Mapping[str, bytes]) -> None:
        """Swap tokens (key rotation); names not stored are left out, as the SQL UPDATE does."""
        for name, token in tokens.items():
            found = self.tables.secrets.get(name)
            if found is not None:
                found.token = token
