"""``ApiTokenStore`` in memory: token records by id (issue 13)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from bot.memory.tables import Memory
from bot.ports import ApiTokenRecord


class MemoryApiTokens(Memory):
    __slots__ = ()

    def add_api_token(self, record: ApiTokenRecord) -> None:
        if record.id in self.tables.api_tokens:
            raise DuplicateToken(record.id)
        self.tables.api_tokens[record.id] = record

    def api_token(self, token_id: str) -> ApiTokenRecord | None:
        return self.tables.api_tokens.get(token_id)

    def api_tokens(self, identities: Collection[str] | None = None) -> list[ApiTokenRecord]:
        """Newest first (then by id, as the SQL ``ORDER BY``)."""
        found = [r for r in self.tables.api_tokens.values() if identities is None or r.identity in identities]
        return sorted(found, key=lambda r: (-r.created_us, r.id))

    def revoke_api_token(self, token_id: str, now_us: int) -> bool:
        found = self.tables.api_tokens.get(token_id)
        if found is None or found.revoked_us is not None:
            return False
        self.tables.api_tokens[token_id] = dataclasses.replace(found, revoked_us=now_us)
        return True


class DuplicateToken(ValueError):
    """Token ids are unique (the SQL table's primary key)."""
