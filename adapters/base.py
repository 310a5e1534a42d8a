"""What every chat adapter provides to the runtime: perform one action on its platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.actions import Action

if TYPE_CHECKING:
    from starlette.routing import BaseRoute


class Performer(Protocol):
    """``perform`` returns the platform's id for a message it posted (Send/Upload), else ``None``.

    ``target`` is the platform id of the message an ``Edit`` replaces, resolved by the runtime
    from the action's key. Platform errors are raised as exceptions, never returned as values.
    """

    platform: str

    async def perform(self, action: Action, target: str | None) -> str | None: ...


class ChatAdapter(Performer, Protocol):
    """A platform connection run by ``dihya serve``.

    ``routes`` are the HTTP endpoints it needs on the shared app (webhooks), ``start`` begins
    receiving (socket, long polling, sync loop) and returns once running; ``stop`` ends it.
    Inbound payloads become core events passed to ``Runtime.dispatch``.
    """

    def routes(self) -> list[BaseRoute]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
