"""One action, one method: the type of a core action picks what the platform does."""

from __future__ import annotations

from typing import Protocol

from bot.actions import Action, Edit, React, Retract, Send, Upload


class Outbound(Protocol):
    """An adapter's outbound calls, one per action type (see ``dihya.chat.Performer``).

    ``send`` and ``upload`` return the platform's id of the message posted; ``retract`` returns the
    removed message's id, or ``None`` when the platform would not remove it.
    """

    async def send(self, action: Send) -> str | None: ...
    async def edit(self, action: Edit, target: str | None) -> None: ...
    async def react(self, action: React) -> None: ...
    async def upload(self, action: Upload) -> str | None: ...
    async def retract(self, action: Retract) -> str | None: ...


async def perform_by_type(outbound: Outbound, action: Action, target: str | None) -> str | None:
    """``Performer.perform`` for any ``Outbound``: ``target`` is the message an ``Edit`` replaces."""
    match action:
        case Send():
            return await outbound.send(action)
        case Edit():
            await outbound.edit(action, target)
            return None
        case React():
            await outbound.react(action)
            return None
        case Upload():
            return await outbound.upload(action)
        case Retract():
            return await outbound.retract(action)
