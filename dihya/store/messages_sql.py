"""``MessageKeys`` over SQL: which posted message stands for which key (``approval:3``); mixed
into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from dihya.store.models import MessageRef


class MessageKeysSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``

    def remember_message(self, key: str, channel: str, message_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(MessageRef).where(MessageRef.key == key))
            conn.execute(insert(MessageRef).values(key=key, channel=channel, message_id=message_id))

    def message_key(self, channel: str, message_id: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.scalar(select(MessageRef.key).where(MessageRef.channel == channel,
                                                           MessageRef.message_id == message_id))

    def message_id(self, key: str) -> tuple[str, str] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(MessageRef.channel, MessageRef.message_id).where(MessageRef.key == key)).first()
        return (row.channel, row.message_id) if row else None
