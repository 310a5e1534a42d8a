"""The asynchronous shell around the sans-I/O core.

Adapters turn platform payloads into events and call ``dispatch``; the runtime runs the event
through ``Bot`` and group-commits the audit buffer (a mutating command's reply waits for its row to
be durable, and so does the reply of deferred work). Everything said to a chat leaves through one
exit, ``publish`` — replies, deferred replies, job progress, alerts, CI results, audit anchors, the
HTTP API's outcomes: it redacts every outbound text, has the
platform's adapter perform the action, and remembers which platform message carries which core
key (for later edits and reactions). Nothing else calls an adapter's ``perform``. (The one post
an adapter makes itself is a Slack slash command's echo, whose text the runtime redacts first.)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from bot.actions import Action, Edit, Retract, Send, Upload
from bot.core import Bot, Later, Outcome
from bot.errors import StoreUnavailable
from bot.events import Event, Message
from bot.i18n import DEFAULT_LOCALE, N_, Msg
from dihya.chat import Performer
from dihya.redaction import Redactor

log = logging.getLogger("dihya.runtime")
MAX_BACKLOG = 512


class Runtime:
    __slots__ = ("bot", "_redact", "_interval", "_timer", "_adapters", "_later", "_flood_timer")

    def __init__(self, bot: Bot, redactor: Redactor, flush_ms: int = 20) -> None:
        self.bot = bot
        self._redact = redactor
        self._interval = flush_ms / 1000
        self._timer: asyncio.TimerHandle | None = None
        self._adapters: dict[str, Performer] = {}
        self._later: set[asyncio.Task[None]] = set()
        self._flood_timer: asyncio.TimerHandle | None = None

    def attach(self, adapter: Performer) -> None:
        """Make ``adapter`` the way out to its platform (done once, by the composition root)."""
        self._adapters[adapter.platform] = adapter

    async def dispatch(self, event: Event) -> None:
        """Handle one inbound event and perform its actions on the platform it came from."""
        await self.publish(event.place.platform, self._settle(event, self.bot.handle(event)))

    async def dispatch_anchored(self, message: Message, anchor: Callable[[str], Awaitable[str]]) -> None:
        """``dispatch`` for a command the platform shows nobody (a Slack slash command): once the
        delivery is known to be new, ``anchor`` posts what may be shown of it (``Bot.echo``: the
        command's words, never its arguments), redacted, and returns the posted message's id, which
        the replies then thread under. A repeated delivery posts nothing."""
        stopped = self.bot.admit(message)
        if stopped is not None:  # a repeat, or a sender past the rate limit: no echo
            await self.publish(message.place.platform, self._settle(message, stopped))
            return
        message_id = await anchor(self._redact(self.bot.echo(message)))
        anchored = dataclasses.replace(message, message_id=message_id)
        await self.publish(message.place.platform, self._settle(anchored, self.bot.handle_new(anchored)))

    async def idle(self, timeout: float | None = None) -> bool:
        """Wait until deferred command work started so far has been answered, at most ``timeout``
        seconds (none: as long as it takes); False when some is still running. Nothing is cancelled."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._later:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(list(self._later), timeout=left)
        return True

    def _defer(self, platform: str, later: Later) -> None:
        task = asyncio.get_running_loop().create_task(self._run_later(platform, later))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _run_later(self, platform: str, later: Later) -> None:
        reply = await asyncio.to_thread(self.bot.run_later, later)
        outcome = self.bot.finish(later, reply)
        if self._flush_now():
            await self.publish(platform, outcome.actions)
            return
        # Its reply (a file, a result) must not leave before its audit row is durable: say it
        # failed instead; the row stays buffered and the timer retries it.
        self._retry_later()
        for action in outcome.actions:
            _discard_spooled(action)
        place = later.ctx.place
        await self.publish(platform, (self._fault(place.channel, place.thread),))

    def handle(self, event: Event) -> tuple[Action, ...]:
        """Run ``event`` through the core without delivering: its actions as the exit would send
        them (redacted), once they may be delivered."""
        return tuple(self._redacted(a) for a in self._settle(event, self.bot.handle(event)))

    def _settle(self, event: Event, outcome: Outcome) -> tuple[Action, ...]:
        for later in outcome.later:
            self._defer(event.place.platform, later)
        backlog = self.bot.audit_backlog
        if outcome.durable or backlog >= MAX_BACKLOG:
            if not self._flush_now() and outcome.durable:
                thread = event.message_id if isinstance(event, Message) else event.target_message_id
                return (self._fault(event.place.channel, event.place.thread or thread),)
        elif backlog and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._on_timer)
        if self._flood_timer is None and self.bot.flood_due_in is not None:
            self._on_flood_timer()
        return outcome.actions

    def commit_soon(self) -> None:
        """Group-commit the buffered audit rows on the timer (within ``flush_ms``), or now if the
        backlog is long: for rows nothing waits on (a read, the HTTP API's access row)."""
        backlog = self.bot.audit_backlog
        if backlog >= MAX_BACKLOG:
            self._flush_now()
        elif backlog and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._on_timer)

    async def deliver(self, event: Event, outcome: Outcome) -> None:
        """Settle and publish what the core made of an event that came another way (the HTTP API's
        ``Bot.invoke``/``Bot.vote``): audit made durable first, then out through the exit."""
        await self.publish(event.place.platform, self._settle(event, outcome))

    async def publish(self, platform: str, actions: Iterable[Action]) -> None:
        """The one way out to a chat: each action redacted, performed by ``platform``'s adapter,
        its message remembered under its key."""
        adapter = self._adapters.get(platform)
        if adapter is None:
            log.error("no adapter for platform", extra={"platform": platform})
            for action in actions:
                _discard_spooled(action)
            return
        for action in actions:
            if isinstance(action, Retract):
                await self._retract(adapter, action)
                continue
            try:
                await self._exit(adapter, action)
            finally:
                _discard_spooled(action)

    async def _retract(self, adapter: Performer, action: Retract) -> None:
        """Remove the message if the platform lets the bot, and say which it was: a failure to remove
        is reported, never left to stop the replies that follow."""
        try:
            removed = await self._exit(adapter, action) is not None
        except Exception:
            log.warning("could not remove a message carrying a confidential value", exc_info=True,
                        extra={"platform": adapter.platform, "channel": action.channel})
            removed = False
        await self._exit(adapter, Send(action.channel, action.removed if removed else action.kept, action.thread))

    async def _exit(self, adapter: Performer, action: Action) -> str | None:
        """The only call of an adapter's ``perform``: the action redacted, an edit's target found
        by its key, a keyed message remembered. Returns the platform's id of what it posted."""
        action = self._redacted(action)
        target = None
        if isinstance(action, Edit):
            found = self.bot.services.store.message_id(action.key)
            if found is None:
                log.warning("edit of an unknown message key", extra={"key": action.key})
                return None
            target = found[1]
        message_id = await adapter.perform(action, target)
        if message_id and isinstance(action, Send) and action.key:
            self.bot.services.store.remember_message(action.key, action.channel, message_id)
        return message_id

    def close(self) -> None:
        for timer in (self._timer, self._flood_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._flood_timer = None
        self._flush_now(final=True)

    def _on_flood_timer(self) -> None:
        """A flood's audit row is written when its window ends, even if its sender falls silent."""
        self._flood_timer = None
        due = self.bot.flood_due_in
        if due is None:
            return
        if due <= 0:
            self._flush_now()
            due = self.bot.flood_due_in
        if due is not None:
            self._flood_timer = asyncio.get_running_loop().call_later(max(due, 1.0), self._on_flood_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self._flush_now() and self.bot.audit_backlog:
            self._timer = asyncio.get_running_loop().call_later(self._interval * 10, self._on_timer)

    def _flush_now(self, final: bool = False) -> bool:
        try:
            self.bot.flush_audit(final)
            return True
        except StoreUnavailable:  # issue 16: expected while the database restarts; retried by the timer
            log.warning("audit flush waits for the store; rows kept for retry",
                        extra={"backlog": self.bot.audit_backlog})
            return False
        except Exception:
            log.exception("audit flush failed; rows kept for retry", extra={"backlog": self.bot.audit_backlog})
            return False

    def _retry_later(self) -> None:
        if self._timer is None and self.bot.audit_backlog:
            self._timer = asyncio.get_running_loop().call_later(self._interval * 10, self._on_timer)

    def _fault(self, channel: str, thread: str | None) -> Send:
        ref = uuid.uuid4().hex[:8]
        log.error("reply withheld: its audit rows could not be written", extra={"ref": ref})
        text = self.bot.services.catalogs.render(Msg(N_("Something failed (ref {ref})."), {"ref": ref}), DEFAULT_LOCALE)
        return Send(channel, text, thread=thread)

    def _redacted(self, action: Action) -> Action:
        if type(action) is Send or type(action) is Edit:
            text = self._redact(action.text)
            return action if text is action.text else dataclasses.replace(action, text=text)
        if isinstance(action, Upload):
            return dataclasses.replace(action, title=self._redact(action.title))
        return action


def _discard_spooled(action: Action) -> None:
    """A spooled upload (an export on disk) is deleted once performed or withheld, and its
    folder with it once empty."""
    if isinstance(action, Upload) and isinstance(action.content, Path):
        action.content.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other files of the same export are still to go
            action.content.parent.rmdir()
