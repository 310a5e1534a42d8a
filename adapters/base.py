"""What every chat adapter provides to the runtime: perform one action on its platform."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

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


@runtime_checkable
class LeaderSource(Protocol):
    """An adapter whose inbound source must have one consumer among replicas (issue 16): Telegram
    long polling, the Matrix sync stream. ``dihya serve`` calls ``open`` instead of ``start`` (ready
    to send, consuming nothing), then ``lead`` on the replica holding the leader lease and ``follow``
    when it no longer does. ``may_act`` is the fenced lease check the source asks before acting on
    what it consumed. ``single_consumer`` is False when the source is not exclusive (a webhook)."""

    platform: str
    duty: str

    def single_consumer(self) -> bool: ...
    async def open(self) -> None: ...
    async def lead(self, may_act: Callable[[], bool]) -> None: ...
    async def follow(self) -> None: ...
