"""``InventoryStore`` over SQL: servers, their addresses sealed at rest; mixed into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update

from bot.ports import Server
from dihya.store.models import ServerIdCounter, ServerRow
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
            conn.execute(insert(ServerRow).values(name=server.name, address=address, environment=server.environment,
                                                  id=_next_id(conn)))
            return True

    def server_by_id(self, server_id: int) -> Server | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(ServerRow).where(ServerRow.id == server_id)).first()
        return self._server(row) if row else None

    def server(self, name: str) -> Server | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(ServerRow).where(ServerRow.name == name)).first()
        return self._server(row) if row else None

    def servers(self) -> list[Server]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(ServerRow).order_by(ServerRow.name)).all()
        return [self._server(r) for r in rows]

    def _server(self, row: Row[tuple[ServerRow]]) -> Server:
        return Server(row.name, self.sealer.open(address_field(row.name), row.address), row.environment, row.id)

    def remove_server(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(ServerRow).where(ServerRow.name == name)).rowcount)


def _next_id(conn: Connection) -> int:
    """The next server id, inside the inserting transaction; the UPDATE locks the counter row, so
    concurrent inserts (two replicas) get distinct ids. A database made from the models starts
    without the row: it is created then, after the ids already in use."""
    bumped = conn.execute(update(ServerIdCounter).where(ServerIdCounter.name == "servers")
                          .values(last=ServerIdCounter.last + 1).returning(ServerIdCounter.last)).scalar()
    if bumped is not None:
        return int(bumped)
    first = int(conn.scalar(select(func.coalesce(func.max(ServerRow.id), 0))) or 0) + 1
    conn.execute(insert(ServerIdCounter).values(name="servers", last=first))
    return first
