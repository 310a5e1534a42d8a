"""``InventoryStore`` over SQL: servers, their addresses sealed at rest; mixed into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Engine, Row, delete, insert, select

from bot.ports import Server
from dihya.store.models import ServerRow
from dihya.store.sealing import Sealer, address_field


class InventorySql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``
    sealer: Sealer

    def add_server(self, server: Server) -> bool:
        with self.engine.begin() as conn:
            if conn.scalar(select(ServerRow.name).where(ServerRow.name == server.name)) is not None:
                return False
            address = self.sealer.seal(address_field(server.name), server.address)
            conn.execute(insert(ServerRow).values(name=server.name, address=address, environment=server.environment))
            return True

    def server(self, name: str) -> Server | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(ServerRow).where(ServerRow.name == name)).first()
        return self._server(row) if row else None

    def servers(self) -> list[Server]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(ServerRow).order_by(ServerRow.name)).all()
        return [self._server(r) for r in rows]

    def _server(self, row: Row[tuple[ServerRow]]) -> Server:
        return Server(row.name, self.sealer.open(address_field(row.name), row.address), row.environment)

    def remove_server(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(ServerRow).where(ServerRow.name == name)).rowcount)
