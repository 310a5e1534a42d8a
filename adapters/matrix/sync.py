"""The long-poll sync loop: new timeline events reach the core, invites are answered, gaps left
by a downtime are back-filled. The sync token is saved only after a batch was processed, and
every event dispatched inside a batch is recorded, so a restart (even a kill in the middle of a
batch) re-runs no old command, while commands sent during downtime arrive in the next sync and
run. The first start only takes a token: history from before the bot existed never runs.

Between replicas (issue 16) the sync token and the record of handled events are shared (the
store), and only the leader dispatches: its loop asks ``may_act`` (the fenced lease) before it
dispatches a batch and before it moves the token, so a leader paused past its lease, on waking,
neither answers nor moves the token its successor now owns. A follower keeps its own device
current (rooms, members, keys) with a sync position of its own, dispatching nothing, so it can
send at any time and lead at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from nio import MessageDirection

from adapters.matrix.errors import MatrixError, checked
from adapters.matrix.session import Session
from adapters.matrix.state import KeyValues
from adapters.matrix.translate import is_arrival, readable
from adapters.toolkit.backoff import doubling

log = logging.getLogger("dihya.matrix")
BACKOFF_CAP_SECONDS = 60.0
BACKFILL_PAGES = 20
Handle = Callable[[str, Mapping[str, Any]], Awaitable[bool]]  # (room id, event) → reached the core?
MayInvite = Callable[[str], bool]  # the inviter's user id → may they bring the bot into a room?
MayAct = Callable[[], bool]  # does this replica hold the leader lease now? (a fenced check, blocking)
NOT_LEADING_PAUSE = 1.0  # seconds before a fenced-out loop tries again (the replica stops it meanwhile)


class NotLeading(Exception):
    """The lease is not (or no longer) this replica's: the batch is neither dispatched nor acknowledged."""


def backoff_delay(failures: int, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Seconds to wait after ``failures`` consecutive sync errors: 1, 2, 4 … up to ``cap``."""
    return doubling(failures, 1.0, cap)


class SyncLoop:
    """Syncs until cancelled; any failure backs off and retries the same batch, and a revoked
    session logs in again."""

    __slots__ = ("_filter", "_handle", "_kv", "_may_invite", "_session", "_timeout_ms")

    def __init__(self, session: Session, kv: KeyValues, handle: Handle, may_invite: MayInvite, *,
                 timeout_ms: int, timeline_limit: int) -> None:
        self._session = session
        self._kv = kv
        self._handle = handle
        self._may_invite = may_invite
        self._timeout_ms = timeout_ms
        self._filter = {"room": {"timeline": {"limit": timeline_limit}, "state": {"lazy_load_members": True}},
                        "presence": {"not_types": ["*"]}}

    async def join(self, rooms: Iterable[str]) -> None:
        for room_id in rooms:
            try:
                checked(await self._session.client.join(room_id), "join")
            except MatrixError:
                log.exception("cannot join a configured Matrix room", extra={"room_id": room_id})

    async def first_sync(self) -> None:
        """Take a token without running anything from before the bot's first start."""
        if self._kv.get("next_batch") is not None:
            return
        response = checked(await self._session.client.sync(timeout=0, sync_filter=self._filter), "sync")
        await self._invites(response.rooms.invite)
        await self._session.keys()
        self._kv.set("next_batch", response.next_batch)

    async def forever(self, may_act: MayAct = lambda: True) -> None:
        """Dispatch new events from the shared token while ``may_act`` says this replica leads."""
        await self._run(lambda: self._sync_once(may_act))

    async def follow(self) -> None:
        """Keep this device's view of rooms and keys current, dispatching nothing (a follower)."""
        since: list[str | None] = [None]  # this device's own position, not the shared token

        async def once() -> None:
            response = checked(await self._session.client.sync(timeout=self._timeout_ms, since=since[0],
                                                               sync_filter=self._filter), "sync")
            await self._session.keys()
            since[0] = response.next_batch

        await self._run(once)

    async def _run(self, once: Callable[[], Awaitable[None]]) -> None:
        failures, session_lost = 0, False
        while True:
            try:
                if session_lost:  # the token was revoked (logout elsewhere, admin): log in again
                    await self._session.log_in()
                    session_lost = False
                await once()
                failures = 0
            except NotLeading:
                log.info("Matrix events left to the leader")
                await asyncio.sleep(NOT_LEADING_PAUSE)
            except Exception as err:  # any failure: back off and retry the same batch, never die
                failures += 1
                session_lost = isinstance(err, MatrixError) and err.errcode == "M_UNKNOWN_TOKEN"
                delay = max(backoff_delay(failures), (getattr(err, "retry_after_ms", None) or 0) / 1000)
                log.warning("Matrix sync failed; backing off", exc_info=True, extra={"retry_in_s": delay})
                await asyncio.sleep(delay)

    async def _sync_once(self, may_act: MayAct) -> None:
        since = self._kv.get("next_batch")
        if since is None:
            await _fenced(may_act)
            await self.first_sync()
            return
        response = checked(await self._session.client.sync(timeout=self._timeout_ms, since=since,
                                                           sync_filter=self._filter), "sync")
        await _fenced(may_act)  # the long poll may have outlived the lease (a pause, a partition)
        if self._kv.get("next_batch") != since:  # a previous leader moved it meanwhile: go on from there
            return
        handled = self._handled(since)
        for room_id, info in response.rooms.join.items():
            for source in await self._timeline(room_id, info.timeline, since):
                await self._once(room_id, source, since, handled)
        await self._invites(response.rooms.invite)
        await self._session.keys()
        await _fenced(may_act)
        self._kv.set("next_batch", response.next_batch)  # only now: the batch was processed

    def _handled(self, since: str | None) -> set[str]:
        """Events of the batch starting at ``since`` dispatched before a crash (none normally)."""
        saved = self._kv.get_json("handled") or {}
        return set(saved.get("ids", ())) if saved.get("since") == since else set()

    async def _once(self, room_id: str, source: Mapping[str, Any], since: str | None, handled: set[str]) -> None:
        event_id = str(source.get("event_id", ""))
        if event_id in handled:
            return
        if await self._handle(room_id, source):
            handled.add(event_id)
            self._kv.set_json("handled", {"since": since, "ids": sorted(handled)})

    async def _timeline(self, room_id: str, timeline: Any, since: str | None) -> list[Mapping[str, Any]]:
        """The room's new events, oldest first; a gap left by a long downtime is filled in."""
        events = [readable(room_id, e) for e in timeline.events]
        if timeline.limited and since is not None and timeline.prev_batch:
            events = await self._backfill(room_id, timeline.prev_batch, since) + events
        return self._after_own_join(events)

    async def _backfill(self, room_id: str, start: str, since: str) -> list[Mapping[str, Any]]:
        missed: list[Mapping[str, Any]] = []
        for _ in range(BACKFILL_PAGES):
            page = checked(await self._session.client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100), "messages")
            missed.extend(readable(room_id, e) for e in page.chunk)
            if not page.chunk or not page.end:
                return missed[::-1]
            start = page.end
        log.error("Matrix gap too long to back-fill; older missed events skipped",
                  extra={"room_id": room_id, "fetched": len(missed)})
        return missed[::-1]

    def _after_own_join(self, events: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """A newly joined room's timeline starts with history: never run what predates the bot."""
        for index in range(len(events) - 1, -1, -1):
            if is_arrival(events[index], self._session.user_id):
                return events[index + 1:]
        return events

    # -- invites -------------------------------------------------------------------------------
    async def _invites(self, invites: Mapping[str, Any]) -> None:
        """Join a room when the inviter may bring the bot in (the access policy says); decline others."""
        for room_id, info in invites.items():
            inviter = self._inviter(info.invite_state)
            accept = inviter is not None and self._may_invite(inviter)
            try:  # a failed answer must not block the sync loop: the invite stays pending instead
                if accept:
                    checked(await self._session.client.join(room_id), "join")
                else:
                    checked(await self._session.client.room_leave(room_id), "leave")
            except MatrixError:
                log.exception("cannot answer a Matrix invite", extra={"room_id": room_id, "inviter": inviter})
                continue
            log.info("answered a Matrix invite", extra={"room_id": room_id, "inviter": inviter, "joined": accept})

    def _inviter(self, state: Iterable[Any]) -> str | None:
        for event in state:
            source = getattr(event, "source", {})
            if source.get("type") == "m.room.member" and source.get("state_key") == self._session.user_id:
                return str(source.get("sender") or "") or None
        return None


async def _fenced(may_act: MayAct) -> None:
    if not await asyncio.to_thread(may_act):
        raise NotLeading
