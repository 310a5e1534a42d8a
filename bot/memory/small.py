"""``InventoryStore``, ``MessageKeys`` and ``KvStore`` in memory."""

from __future__ import annotations

from bot.memory.tables import Memory
from bot.ports import Server


class MemoryInventory(Memory):
    __slots__ = ()

    def add_server(self, server: Server) -> bool:
        if server.name in self.tables.servers:
            return False
        self.tables.servers[server.name] = (server.address, server.environment, self.tables.next_id("servers"))
        return True

    def server(self, name: str) -> Server | None:
        found = self.tables.servers.get(name)
        return Server(name, *found) if found else None

    def servers(self) -> list[Server]:
        return [Server(name, *self.tables.servers[name]) for name in sorted(self.tables.servers)]

    def server_by_id(self, server_id: int) -> Server | None:
        return next((s for s in self.servers() if s.id == server_id), None)

    def remove_server(self, name: str) -> bool:
        return self.tables.servers.pop(name, None) is not None


class DuplicateMessage(ValueError):
    """One platform message cannot carry two keys (the SQL table's unique constraint)."""


class MemoryMessageKeys(Memory):
    __slots__ = ()

    def remember_message(self, key: str, channel: str, message_id: str) -> None:
        messages = self.tables.messages
        if any(k != key and where == (channel, message_id) for k, where in messages.items()):
            raise DuplicateMessage(key)
        messages.pop(key, None)
        messages[key] = (channel, message_id)

    def message_key(self, channel: str, message_id: str) -> str | None:
        return next((k for k, where in self.tables.messages.items() if where == (channel, message_id)), None)

    def message_id(self, key: str) -> tuple[str, str] | None:
        return self.tables.messages.get(key)


class MemoryKv(Memory):
    __slots__ = ()

    def kv_get(self, name: str) -> str | None:
        return self.tables.kv.get(name)

    def kv_set(self, name: str, value: str) -> None:
        self.tables.kv[name] = value
