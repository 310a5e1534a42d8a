"""``MessageKeys`` over SQL: which posted message stands for which key (``approval:3``); mixed
into ``SqlStore``."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, delete, insert, select

from dihya.store.models import MessageRef

# Built once: every job's status message is remembered (a deploy over HTTP spent a seventh of its
# CPU building these two statements).
_FORGET = delete(MessageRef).where(MessageRef.key == bindparam("key"))
_REMEMBER = insert(MessageRef)


class MessageKeysSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``

    def remember_message(self, key: str, channel: str, message_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_FORGET, {"key": key})
            conn.execute(_REMEMBER, {"key": key, "channel": channel, "message_id": message_id})

    def message_key(self, channel: str, message_id: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.scalar(select(MessageRef.key).where(MessageRef.channel == channel,
                                                           MessageRef.message_id == message_id))

    def message_id(self, key: str) -> tuple[str, str] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(MessageRef.channel, MessageRef.message_id).where(MessageRef.key == key)).first()
        return (row.channel, row.message_id) if row else None
