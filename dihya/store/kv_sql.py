"""``KvStore`` over SQL: small named values (adapter sync tokens, device ids); mixed into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dihya.store.models import KeyValue


class KvSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``

    def kv_get(self, name: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.scalar(select(KeyValue.value).where(KeyValue.name == name))

    def kv_set(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(update(KeyValue).where(KeyValue.name == name).values(value=value)).rowcount
            if updated:
                return
            try:
                with conn.begin_nested():
                    conn.execute(insert(KeyValue).values(name=name, value=value))
            except IntegrityError:  # another replica set it a moment ago (issue 16): the last write wins
                conn.execute(update(KeyValue).where(KeyValue.name == name).values(value=value))

    def kv_delete(self, *names: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(KeyValue).where(KeyValue.name.in_(names)))

    def kv_items(self, prefix: str) -> dict[str, str]:
        """Every named value whose name starts with ``prefix``."""
        query = select(KeyValue.name, KeyValue.value).where(KeyValue.name.startswith(prefix, autoescape=True))
        with self.reader.connect() as conn:
            return {row.name: row.value for row in conn.execute(query)}
