"""The application's ports to chat platforms, both ways.

Outbound, an adapter is a ``Performer``: the runtime's one exit (``Runtime.publish``) hands it
actions already redacted. Inbound, an adapter is given an ``EventSink`` (the runtime, seen through
the one method it needs) and passes it the events it translated. Adapters import these; ``dihya/``
never imports an adapter outside the composition root (``dihya/serve.py``, ``dihya/cli.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.actions import Action
from bot.events import Event, Message

if TYPE_CHECKING:
    from starlette.routing import BaseRoute


class Performer(Protocol):
    """``perform`` returns the platform's id for a message it posted (Send/Upload), else ``None``.

    ``target`` is the platform id of the message an ``Edit`` replaces, resolved by the runtime
    from the action's key. Platform errors are raised as exceptions, never returned as values.
    Only the runtime's exit calls it (tests/bot/test_layers.py).
    """

    platform: str

    async def perform(self, action: Action, target: str | None) -> str | None: ...


class ChatAdapter(Performer, Protocol):
    """A platform connection run by ``dihya serve``.

    ``routes`` are the HTTP endpoints it needs on the shared app (webhooks), ``start`` begins
    receiving (socket, long polling, sync loop) and returns once running; ``stop`` ends it.
    Inbound payloads become core events passed to its ``EventSink``.
    """

    def routes(self) -> list[BaseRoute]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class EventSink(Protocol):
    """Where an adapter hands the events it translated (the runtime)."""

    async def dispatch(self, event: Event) -> None: ...


class AnchoredSink(EventSink, Protocol):
    """An ``EventSink`` that also takes commands the platform shows nobody (Slack's slash commands):
    ``anchor`` posts what may be shown of one (already redacted) and returns the posted message's id.
    It is the one post that does not go through ``Performer.perform``: its text is platform markup
    (who asked), not a core action."""

    async def dispatch_anchored(self, message: Message, anchor: Callable[[str], Awaitable[str]]) -> None: ...


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
