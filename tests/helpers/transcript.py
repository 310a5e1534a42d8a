"""An in-memory chat: the core's ``Performer`` for tests, so core tests read like a conversation."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from bot.actions import Action, Edit, React, Retract, Send, Upload
from bot.events import Message, Place, Reaction, Sender
from dihya.app import App


@dataclass
class Posted:
    id: str
    text: str
    thread: str | None = None
    edits: list[str] = field(default_factory=list)
    key: str | None = None
    channel: str = ""

    @property
    def current(self) -> str:
        return self.edits[-1] if self.edits else self.text


class Transcript:
    """Speak as anyone, react to anything, read what the bot posted."""

    def __init__(self, app: App, platform: str = "console", channel: str = "main") -> None:
        self.app = app
        self.platform = platform
        self.channel = channel
        self.posted: list[Posted] = []
        self.uploads: list[Upload] = []
        self.reactions: list[React] = []
        self.retracts: list[Retract] = []  # asked to remove a person's message (a chat that cannot)
        self._ids = itertools.count(1)
        app.runtime.attach(self)

    async def perform(self, action: Action, target: str | None) -> str | None:
        if isinstance(action, Send):
            posted = Posted(f"m{next(self._ids)}", action.text, action.thread, key=action.key, channel=action.channel)
            self.posted.append(posted)
            return posted.id
        if isinstance(action, Edit):
            self.by_id(target or "").edits.append(action.text)
        elif isinstance(action, React):
            self.reactions.append(action)
        elif isinstance(action, Retract):
            self.retracts.append(action)
        else:  # a spooled file is read now: the runtime deletes it once performed
            content = action.content.read_bytes() if isinstance(action.content, Path) else action.content
            self.uploads.append(dataclasses.replace(action, content=content))
            return f"f{next(self._ids)}"
        return None

    async def say(self, user: str, text: str, delivery_id: str | None = None) -> str:
        """Send ``text`` as ``user``; returns what the bot answered (joined), '' when it stayed silent."""
        before = len(self.posted)
        message_id = f"u{next(self._ids)}"
        sender = Sender(self.platform, user, user)
        event = Message(delivery_id or f"d-{message_id}", sender, Place(self.platform, self.channel), message_id, text)
        await self.app.runtime.dispatch(event)
        await self.app.runtime.idle()
        return "\n".join(p.text for p in self.posted[before:])

    async def react(self, user: str, emoji: str, target: str | None = None, added: bool = True) -> str:
        before = len(self.posted)
        target_id = target or self.posted[-1].id
        event = Reaction(f"r{next(self._ids)}", Sender(self.platform, user, user), Place(self.platform, self.channel),
                         target_id, emoji, added)
        await self.app.runtime.dispatch(event)
        await self.app.runtime.idle()
        return "\n".join(p.text for p in self.posted[before:])

    def by_id(self, message_id: str) -> Posted:
        return next(p for p in self.posted if p.id == message_id)

    @property
    def last(self) -> Posted:
        return self.posted[-1]
