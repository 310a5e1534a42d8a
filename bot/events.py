"""Platform-neutral inbound events. Adapters build these; the core consumes them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an event. ``user_id`` is the platform's immutable id, never a display name."""

    platform: str
    user_id: str
    display_name: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Place:
    """Where an event happened: a channel, optionally a thread in it."""

    platform: str
    channel: str
    thread: str | None = None
    direct: bool = False

    @property
    def address(self) -> str:
        return f"{self.platform}:{self.channel}"


@dataclass(frozen=True, slots=True)
class Message:
    """A text addressed to the bot (adapters strip mentions and prefixes).

    ``posted`` is False when the text is no message others can read: a Slack slash command reaches
    only the bot, which posts an echo of it (``Runtime.dispatch_anchored``) that ``message_id`` names.
    """

    delivery_id: str
    sender: Sender
    place: Place
    message_id: str
    text: str
    posted: bool = True


@dataclass(frozen=True, slots=True)
class Reaction:
    """A reaction added to (or removed from) a message; buttons map onto this too."""

    delivery_id: str
    sender: Sender
    place: Place
    target_message_id: str
    emoji: str
    added: bool = True


Event = Message | Reaction
