"""The console adapter: a terminal chat with the bot, the embedded default.

Each input line is a message from the current speaker in one channel. ``/as NAME`` switches the
speaker (identity ``console:NAME``); ``/react EMOJI [MESSAGE_ID]`` reacts to a bot message (default:
the latest approval request, else the last message); ``/dm MESSAGE`` sends a direct message to the
bot (``secret set``, ``link`` and ``gdpr export`` are only accepted there). ``--json`` prints one
JSON object per action so scripts can drive it; replies in a direct conversation carry
``"direct": true``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from adapters.toolkit.dispatch import perform_by_type
from bot.actions import Action, Edit, React, Retract, Send, Upload
from bot.context import Services
from bot.events import Message, Place, Reaction, Sender
from bot.i18n import DEFAULT_LOCALE, N_, Msg
from dihya.chat import EventSink

PLATFORM = "console"
DIRECT_PREFIX = "@"  # the channel of a direct conversation with a speaker: "@NAME"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ConsoleChat:
    """Turns lines into events and actions into printed lines (the console's ``Performer``)."""

    platform = PLATFORM

    def __init__(self, runtime: EventSink, services: Services, out: TextIO, *, json_mode: bool, user: str,
                 channel: str, upload_dir: Path) -> None:
        self._runtime = runtime
        self._services = services  # its own notices speak the speaker's language
        self._out = out
        self._json = json_mode
        self._user = user
        self._place = Place(PLATFORM, channel)
        self._uploads = upload_dir
        self._ids = itertools.count(_first_id(services))
        # /react without an id targets the latest message that asks for a reaction (an approval
        # request), so refusals posted in between do not steal the default.
        self.last_bot_message: str | None = None
        self._last_with_buttons: str | None = None

    @property
    def user(self) -> str:
        return self._user

    async def line(self, text: str) -> None:
        text = text.rstrip("\r\n")
        word, _, rest = text.strip().partition(" ")
        if word == "/as":
            self._switch(rest.strip())
        elif word == "/react":
            await self._react(rest.split())
        elif word == "/dm":
            await self._direct(rest.strip())
        elif text.strip():
            await self._say(text, self._place)

    async def _say(self, text: str, place: Place) -> None:
        message_id = f"u{next(self._ids)}"
        sender = Sender(PLATFORM, self._user, self._user)
        await self._runtime.dispatch(Message(f"console-{message_id}", sender, place, message_id, text))

    async def _direct(self, text: str) -> None:
        """A direct message from the speaker to the bot (where ``secret set`` and ``link`` are accepted)."""
        if not text:
            self._notice(Msg(N_("usage: /dm MESSAGE (a direct message to the bot)")))
            return
        await self._say(text, Place(PLATFORM, f"{DIRECT_PREFIX}{self._user}", direct=True))

    def _switch(self, name: str) -> None:
        if _NAME.fullmatch(name) is None:
            self._notice(Msg(N_("usage: /as NAME (letters, digits, . _ -)")))
            return
        self._user = name
        self._notice(Msg(N_("now speaking as {identity}"), {"identity": f"{PLATFORM}:{name}"}))

    async def _react(self, parts: list[str]) -> None:
        target = parts[1] if len(parts) > 1 else self.last_bot_message
        if not parts or target is None:
            self._notice(Msg(N_("usage: /react EMOJI [MESSAGE_ID]")))
            return
        delivery = f"console-r{next(self._ids)}"
        await self._runtime.dispatch(Reaction(delivery, Sender(PLATFORM, self._user, self._user), self._place,
                                              target, parts[0]))

    async def perform(self, action: Action, target: str | None) -> str | None:
        return await perform_by_type(self, action, target)

    async def send(self, action: Send) -> str:
        message_id = f"m{next(self._ids)}"
        if action.buttons or self._last_with_buttons is None:
            self.last_bot_message = message_id
        if action.buttons:
            self._last_with_buttons = message_id
        self._print({"op": "send", "id": message_id, "thread": action.thread, "text": action.text}, action.channel)
        return message_id

    async def edit(self, action: Edit, target: str | None) -> None:
        self._print({"op": "edit", "id": target, "text": action.text}, action.channel)

    async def react(self, action: React) -> None:
        self._print({"op": "react", "id": action.message_id, "emoji": action.emoji})

    async def retract(self, action: Retract) -> None:  # noqa: ARG002 - nothing to do in a terminal
        """A line typed in the terminal cannot be taken back."""
        return

    async def upload(self, action: Upload) -> str:
        self._uploads.mkdir(parents=True, exist_ok=True)
        path = self._uploads / Path(action.filename).name
        if isinstance(action.content, Path):  # a spooled export: copied in pieces, never held whole
            shutil.copyfile(action.content, path)
        else:
            path.write_bytes(action.content)
        message_id = f"m{next(self._ids)}"
        self._print({"op": "upload", "id": message_id, "thread": action.thread, "text": action.title,
                     "path": str(path)}, action.channel)
        return message_id

    def _print(self, record: dict[str, object], channel: str = "") -> None:
        direct = channel.startswith(DIRECT_PREFIX)
        if self._json:
            self._out.write(json.dumps(record | {"direct": True} if direct else record, ensure_ascii=False) + "\n")
        else:
            marks = ([N_("(edited)")] if record["op"] == "edit" else []) + ([N_("(direct)")] if direct else [])
            shown = "".join(f" {self._render(Msg(mark))}" for mark in marks)
            self._out.write(f"dihya [{record['id']}]{shown}: {record.get('text', record.get('emoji', ''))}\n")
        self._out.flush()

    def _render(self, message: Msg) -> str:
        """The console's own words, in the speaker's language (else English)."""
        services = self._services
        known = services.store.identity(f"{PLATFORM}:{self._user}")
        return services.catalogs.render(message, (known.locale if known else None) or DEFAULT_LOCALE)

    def _notice(self, message: Msg) -> None:
        text = self._render(message)
        if self._json:
            self._out.write(json.dumps({"op": "notice", "text": text}) + "\n")
        else:
            self._out.write(f"-- {text}\n")
        self._out.flush()


IDS_KEY = "console.ids"
ID_BLOCK = 10**6  # ids per console session


def _first_id(services: Services) -> int:
    """Message ids stay unique across sessions on the same database: each session takes the next
    block of them (a restarted console reusing ``m4`` would collide with the ``m4`` the store already
    knows, issue 16). The first session on a database starts at 1."""
    store = services.store
    start = int(store.kv_get(IDS_KEY) or 0)
    store.kv_set(IDS_KEY, str(start + ID_BLOCK))
    return start + 1


async def stdin_lines(prompt: ConsoleChat | None = None) -> AsyncIterator[str]:
    """Lines from standard input without blocking the event loop."""
    while True:
        if prompt is not None and sys.stdin.isatty():
            sys.stdout.write(f"{prompt.user}> ")
            sys.stdout.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return
        yield line


async def run_console(chat: ConsoleChat, lines: AsyncIterator[str]) -> None:
    async for line in lines:
        await chat.line(line)
