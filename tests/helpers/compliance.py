"""Helpers for the compliance tests: direct messages, and a scan of every table for a string."""

from __future__ import annotations

import itertools

from sqlalchemy import Engine, MetaData, select

from bot.events import Message, Place, Sender
from tests.helpers.transcript import Transcript

_ids = itertools.count(1)


async def say_direct(chat: Transcript, user: str, text: str) -> str:
    """``text`` sent to the bot in a direct message (``Place.direct``); returns what it answered."""
    before = len(chat.posted)
    n = next(_ids)
    where = chat.platform
    event = Message(f"dm-{n}", Sender(where, user, user), Place(where, f"D-{user}", direct=True), f"dm{n}", text)
    await chat.app.runtime.dispatch(event)
    await chat.app.runtime.idle()
    return "\n".join(p.text for p in chat.posted[before:])


def cells_containing(engine: Engine, needle: str) -> list[tuple[str, str]]:
    """(table, cell) for every cell of every table (reflected, so tables added later count too)."""
    metadata = MetaData()
    metadata.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                found.extend((table.name, str(cell)) for cell in row if needle in str(cell))
    return found
