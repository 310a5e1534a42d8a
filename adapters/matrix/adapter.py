"""The Matrix adapter: a matrix-nio ``AsyncClient`` behind the ``ChatAdapter`` protocol. The
session keeper logs in, the sync loop brings events in, the translator turns them into core
events and actions into event content; this module sends that content."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from adapters.matrix.errors import MatrixError, RoomNotSynced, checked, retry_after
from adapters.matrix.session import Session
from adapters.matrix.state import AdapterStore, KeyValues, ReactionMemory
from adapters.matrix.sync import SyncLoop
from adapters.matrix.translate import (
    PLATFORM,
    JsonDict,
    Translator,
    edit_content,
    file_content,
    reaction_content,
)
from adapters.pacing import ChannelPacer, retrying
from adapters.toolkit.dispatch import perform_by_type
from bot.actions import Action, Edit, React, Retract, Send, Upload
from bot.rbac import INVITE_PERMISSION, AccessPolicy
from dihya.chat import EventSink
from dihya.settings import Settings, SettingsError


class MatrixAdapter:
    """``ChatAdapter`` for Matrix. Identities are full user ids (``matrix:@user:server``).

    Whether an invite is accepted is the access policy's ``bot.invite`` permission of the inviter
    (admins by default); ``policy`` defaults to the built-in RBAC matrix."""

    platform = PLATFORM

    def __init__(self, runtime: EventSink, settings: Settings, store: AdapterStore, *,
                 sync_timeout_ms: int = 30_000, timeline_limit: int = 50, policy: AccessPolicy | None = None) -> None:
        if not settings.matrix_homeserver or not settings.matrix_user_id:
            raise SettingsError("DIHYA_MATRIX_HOMESERVER and DIHYA_MATRIX_USER_ID are required for Matrix")
        self._runtime = runtime
        self._settings = settings
        self._store = store
        self._policy = policy or AccessPolicy.from_config()
        kv = KeyValues(store, settings.matrix_user_id)
        self._session = Session(settings, settings.matrix_homeserver, kv, request_timeout=sync_timeout_ms / 1000 + 30)
        self._client = self._session.client
        self._translator = Translator(settings.matrix_user_id, ReactionMemory(kv), self._session.name_in)
        self._sync = SyncLoop(self._session, kv, self.handle_event, self.may_invite,
                              timeout_ms=sync_timeout_ms, timeline_limit=timeline_limit)
        self._pacer = ChannelPacer(per_second=1.0, burst=5)  # per room, under homeservers' default limits
        self._task: asyncio.Task[None] | None = None

    # -- ChatAdapter ---------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return []

    async def start(self) -> None:
        """Alone (no replicas): open, then consume the sync stream."""
        await self.open()
        await self.lead(lambda: True)

    async def stop(self) -> None:
        await self._replace_loop(None)
        await self._session.close()

    # -- leader source (issue 16: one replica consumes the sync stream) ---------------------------
    duty = "matrix-sync"

    def single_consumer(self) -> bool:
        return True

    async def open(self) -> None:
        """Log in as this replica's device and join the configured rooms; follow (consume nothing)
        until told to lead, so replies and alerts can be sent from any replica."""
        self._session.open()
        await self._session.log_in()
        self._translator.answer_to(await self._session.display_name())
        await self._sync.join(self._settings.matrix_rooms)
        await self._replace_loop(self._sync.follow())

    async def lead(self, may_act: Callable[[], bool]) -> None:
        """Consume the sync stream from the shared token (taking a first one if there is none)."""
        await self._replace_loop(None)
        try:  # awaited, so a message sent once this returns is never taken for history
            await self._sync.first_sync()
        finally:  # had it failed, the loop takes the first token
            await self._replace_loop(self._sync.forever(may_act))

    async def follow(self) -> None:
        await self._replace_loop(self._sync.follow())

    async def _replace_loop(self, loop: Coroutine[Any, Any, None] | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if loop is not None:
            self._task = asyncio.create_task(loop, name="matrix-sync")

    # -- inbound -------------------------------------------------------------------------------
    async def handle_event(self, room_id: str, source: Mapping[str, Any]) -> bool:
        """Translate one raw timeline event and dispatch it; ``True`` when it reached the core."""
        event = self._translator.event(room_id, source)
        if event is None:
            return False
        await self._runtime.dispatch(event)
        return True

    def may_invite(self, inviter: str) -> bool:
        """May this Matrix user bring the bot into a room? The same roles as in chat decide."""
        record = self._store.identity(f"{PLATFORM}:{inviter}")
        return self._policy.holds(record.roles if record else frozenset(), INVITE_PERMISSION)

    # -- outbound ------------------------------------------------------------------------------
    async def perform(self, action: Action, target: str | None) -> str | None:
        return await perform_by_type(self, action, target)

    async def send(self, action: Send) -> str:
        return await self._post(action.channel, self._translator.message(action.text, action.buttons, action.thread))

    async def edit(self, action: Edit, target: str | None) -> None:
        if target is None:
            raise ValueError("an edit needs the event id of the message it replaces")
        await self._post(action.channel, edit_content(action.text, action.buttons, target))

    async def react(self, action: React) -> None:
        await self._post(action.channel, reaction_content(action.message_id, action.emoji), "m.reaction")

    async def retract(self, action: Retract) -> str | None:
        """Redacting someone else's event needs the room's ``redact`` power level (moderators by
        default): without it the homeserver answers M_FORBIDDEN and ``None`` says it was not removed."""
        await self._pacer.wait(action.channel)

        async def redact() -> str:
            try:
                checked(await self._client.room_redact(action.channel, action.message_id), "redact")
            except MatrixError as err:
                if err.errcode != "M_FORBIDDEN":
                    raise
                return ""
            return action.message_id

        return await retrying(redact, retry_after) or None

    async def upload(self, action: Upload) -> str:
        mimetype = mimetypes.guess_type(action.filename)[0] or "application/octet-stream"
        room = self._client.rooms.get(action.channel)
        encrypt = room is not None and room.encrypted
        data = action.content
        with contextlib.ExitStack() as files:
            def provider(_limited: bool, _timeouts: int) -> Any:  # a spooled export is read from disk
                return files.enter_context(data.open("rb")) if isinstance(data, Path) else data

            size = data.stat().st_size if isinstance(data, Path) else len(data)
            uploaded, keys = await self._client.upload(provider, content_type=mimetype, filename=action.filename,
                                                       filesize=size, encrypt=encrypt)
        uri = str(checked(uploaded, "upload").content_uri)
        content = file_content(action, uri, mimetype, size, keys if encrypt else None)
        return await self._post(action.channel, self._translator.threaded(content, action.thread))

    async def _post(self, room_id: str, content: JsonDict, kind: str = "m.room.message") -> str:
        await self._pacer.wait(room_id)

        async def send() -> str:
            if room_id not in self._client.rooms:  # nio must know a room to tell whether to encrypt
                checked(await self._client.joined_members(room_id), "send")  # not a member: the server says so
                raise RoomNotSynced(room_id)
            sent = await self._client.room_send(room_id, kind, content, ignore_unverified_devices=True)
            return str(checked(sent, "send").event_id)

        return await retrying(send, retry_after)
