"""The Matrix adapter: a matrix-nio ``AsyncClient`` behind the ``ChatAdapter`` protocol.

Inbound, a long-poll sync loop turns room timeline events into core events: ``!dihya …`` or a
mention becomes a ``Message``, an ``m.reaction`` annotation a ``Reaction``, and the redaction of
a reaction the same ``Reaction`` withdrawn. The sync token is persisted only after a batch was
processed, and every event dispatched inside a batch is recorded, so a restart (even a kill in
the middle of a batch) re-runs no old command, while commands sent during downtime arrive in the
next sync (gaps are back-filled) and run. The first start only takes a token: history from before
the bot existed never runs.

Outbound, actions become ``m.room.message`` events (plain body and escaped HTML, threads via
``m.thread``), ``m.replace`` edits, ``m.reaction`` annotations and uploads. matrix-nio returns
API errors as values; ``_checked`` turns every one into a ``MatrixError`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import mimetypes
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, MegolmEvent, MessageDirection
from starlette.routing import BaseRoute

from adapters.pacing import ChannelPacer, retrying
from bot.actions import Action, Button, Edit, React, Retract, Send, Upload
from bot.events import Event, Message, Place, Reaction, Sender
from bot.ports import IdentityRecord
from dihya.runtime import Runtime
from dihya.settings import Settings, SettingsError
from dihya.vault import SecretVault, VaultError

__all__ = ["MatrixAdapter", "MatrixError", "backoff_delay", "command_text"]

log = logging.getLogger("dihya.matrix")
PLATFORM = "matrix"
PREFIX = "!dihya"
VARIATION_SELECTOR = "\ufe0f"
HTML_FORMAT = "org.matrix.custom.html"
BACKOFF_CAP_SECONDS = 60.0
REMEMBERED_REACTIONS = 1000
REACTION_PREFIX = "reaction:"  # + the reaction's event id: one stored row per remembered reaction
LEGACY_REACTIONS = "reactions"
REMEMBERED_THREADS = 1000
BACKFILL_PAGES = 20
NIO_LOGGERS = ("nio.responses", "nio.http", "nio.rooms", "nio.events.misc", "nio.client.async_client",
               "nio.client.base_client", "nio.client.http_client", "peewee")
# DEBUG dumps dropped whole: parsed responses (the login's access token, people's messages) and the
# key store's SQL (pickled device and room keys).
DUMPING_LOGGERS = frozenset({"nio.responses", "peewee"})
MASK = "[REDACTED]"
VAULT_NAME = "matrix:access_token"  # binds the sealed token to its use (see dihya.vault)
_R = TypeVar("_R")
JsonDict = dict[str, Any]


class MatrixError(Exception):
    """The homeserver refused a request (nio's ``ErrorResponse``, raised instead of returned)."""

    def __init__(self, operation: str, errcode: str | None, message: str, retry_after_ms: int | None = None) -> None:
        super().__init__(f"{operation}: {errcode or 'error'} {message}".strip())
        self.operation = operation
        self.errcode = errcode
        self.retry_after_ms = retry_after_ms


class RoomNotSynced(MatrixError):
    """The bot is in the room but has not synced it yet, so it cannot tell whether to encrypt."""

    def __init__(self, room_id: str) -> None:
        super().__init__("send", None, f"room {room_id} not synced yet")


def _retry_after(err: BaseException) -> float | None:
    """Seconds to wait before sending again (0: default backoff), or None when retrying is pointless."""
    if isinstance(err, RoomNotSynced):
        return 0.0  # the running sync loop brings the room in a moment
    if isinstance(err, MatrixError):
        return (err.retry_after_ms or 0) / 1000 if err.errcode == "M_LIMIT_EXCEEDED" else None
    return 0.0 if isinstance(err, aiohttp.ClientError | TimeoutError) else None


def _checked(response: _R, operation: str) -> _R:
    if isinstance(response, ErrorResponse):
        raise MatrixError(operation, response.status_code, response.message or "", response.retry_after_ms)
    return response


class AdapterStore(Protocol):
    """The part of the store the adapter uses (``SqlStore`` provides it)."""

    def identity(self, key: str) -> IdentityRecord | None: ...
    def kv_get(self, name: str) -> str | None: ...
    def kv_set(self, name: str, value: str) -> None: ...
    def kv_delete(self, *names: str) -> None: ...
    def kv_items(self, prefix: str) -> dict[str, str]: ...


def backoff_delay(failures: int, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Seconds to wait after ``failures`` consecutive sync errors: 1, 2, 4 … up to ``cap``."""
    return float(min(cap, 2 ** min(max(failures - 1, 0), 16)))


# -- inbound: raw event content → what the core needs ------------------------------------------
def addressing(prefixes: Iterable[str], names: Iterable[str]) -> re.Pattern[str]:
    """How a message addresses the bot: a prefix (``!dihya``, its user id) optionally followed by
    a colon, or a name followed by one (``dihya: ping``, as clients write a mention)."""
    loose = "|".join(re.escape(p) for p in prefixes)
    named = "|".join(re.escape(n) for n in names)
    return re.compile(rf"^\s*(?:(?:{loose})[:,]?|(?:{named})[:,])(?:\s+|$)", re.IGNORECASE)


def command_text(body: str, address: re.Pattern[str]) -> str | None:
    """The command in ``body`` with the prefix or mention stripped; ``None`` if not for the bot."""
    match = address.match(_without_reply_fallback(body))
    return match.string[match.end():].strip() if match else None


def _without_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines clients put before a rich reply."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).lstrip("\n")


def _relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    relates = content.get("m.relates_to")
    return relates if isinstance(relates, Mapping) else {}


def _thread_root(content: Mapping[str, Any]) -> str | None:
    relates = _relation(content)
    return str(relates["event_id"]) if relates.get("rel_type") == "m.thread" and "event_id" in relates else None


def _annotation(content: Mapping[str, Any]) -> tuple[str, str] | None:
    relates = _relation(content)
    if relates.get("rel_type") != "m.annotation" or not relates.get("event_id") or not relates.get("key"):
        return None
    return str(relates["event_id"]), str(relates["key"]).replace(VARIATION_SELECTOR, "")


def _redacted_id(source: Mapping[str, Any]) -> str | None:
    redacts = source.get("redacts") or source.get("content", {}).get("redacts")
    return str(redacts) if redacts else None


def _is_arrival(source: Mapping[str, Any], user_id: str) -> bool:
    """Is this the user's own arrival in the room (not a profile change while joined)?"""
    if source.get("type") != "m.room.member" or source.get("state_key") != user_id:
        return False
    previous = source.get("unsigned", {}).get("prev_content", {}).get("membership")
    return bool(source.get("content", {}).get("membership") == "join" and previous != "join")


# -- outbound: actions → event content ----------------------------------------------------------
def _formatted(text: str) -> JsonDict:
    """Plain body plus HTML where user text is escaped, never interpreted as markup."""
    return {"body": text, "format": HTML_FORMAT, "formatted_body": html.escape(text).replace("\n", "<br>")}


def _with_choices(text: str, buttons: tuple[Button, ...]) -> str:
    """Matrix has no buttons: offer the same choices as reactions (labels are translated)."""
    if not buttons:
        return text
    return text + "\n" + " · ".join(f"{b.emoji} {b.label}" for b in buttons)


def _thread_relation(root: str, reply_to: str) -> JsonDict:
    return {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
            "m.in_reply_to": {"event_id": reply_to}}


def _edit_content(text: str, target: str) -> JsonDict:
    new = {"msgtype": "m.text", **_formatted(text)}
    starred = _formatted("* " + text)
    return {"msgtype": "m.text", **starred, "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}


def _file_content(action: Upload, uri: str, mimetype: str, size: int,
                  keys: Mapping[str, Any] | None = None) -> JsonDict:
    """A file message; in an encrypted room the file itself is encrypted and ``keys`` decrypt it."""
    kind = "m.image" if mimetype.startswith("image/") else "m.file"
    where: JsonDict = {"url": uri} if keys is None else {"file": {**keys, "url": uri}}
    return {"msgtype": kind, "body": action.title or action.filename, "filename": action.filename, **where,
            "info": {"mimetype": mimetype, "size": size}}


def _readable(room_id: str, event: Any) -> Mapping[str, Any]:
    """An event as the room sees it: nio has already decrypted what it could. One it could not
    (its room key never reached this device) stays ``m.room.encrypted``, which nothing acts on."""
    if isinstance(event, MegolmEvent):
        log.warning("an encrypted Matrix event could not be decrypted",
                    extra={"room_id": room_id, "event_id": event.event_id, "sender": event.sender})
    return event.source  # type: ignore[no-any-return]


class SessionLogFilter(logging.Filter):
    """nio logs every parsed response at DEBUG, the login response with its access token and room
    timelines with people's messages, and its key store logs its SQL: drop those dumps and mask the
    session's secrets elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in DUMPING_LOGGERS and record.levelno <= logging.DEBUG:
            return False
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, ()
        return True

    def install(self) -> None:
        for name in NIO_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        for name in NIO_LOGGERS:
            logging.getLogger(name).removeFilter(self)


# -- state kept in the store -----------------------------------------------------------------
class KeyValues:
    """The adapter's named values, namespaced by bot user (tokens belong to one account)."""

    __slots__ = ("_prefix", "_store")

    def __init__(self, store: AdapterStore, user_id: str) -> None:
        self._store = store
        self._prefix = f"matrix:{user_id}:"

    def get(self, name: str) -> str | None:
        return self._store.kv_get(self._prefix + name)

    def set(self, name: str, value: str) -> None:
        self._store.kv_set(self._prefix + name, value)

    def delete(self, *names: str) -> None:
        self._store.kv_delete(*(self._prefix + name for name in names))

    def items(self, prefix: str) -> dict[str, str]:
        """Values whose name starts with ``prefix``, by name without the adapter's namespace."""
        found = self._store.kv_items(self._prefix + prefix)
        return {name.removeprefix(self._prefix): value for name, value in found.items()}

    def get_json(self, name: str) -> Any:
        raw = self.get(name)
        return json.loads(raw) if raw else None

    def set_json(self, name: str, value: object) -> None:
        self.set(name, json.dumps(value, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class Remembered:
    """A reaction the bot saw: where, on what, which emoji, and who reacted."""

    room: str
    target: str
    emoji: str
    sender: str


class ReactionMemory:
    """reaction event id → ``Remembered``, for the latest ``capacity`` reactions, kept across
    restarts so a later redaction can be turned into the withdrawal of that exact reaction.

    One stored row per reaction (a sequence number orders them): remembering or forgetting one
    writes that row alone, and the oldest row goes once there are ``capacity``.
    """

    __slots__ = ("_capacity", "_items", "_kv", "_next")

    def __init__(self, kv: KeyValues, capacity: int = REMEMBERED_REACTIONS) -> None:
        self._kv = kv
        self._capacity = capacity
        rows = sorted((json.loads(raw), name.removeprefix(REACTION_PREFIX))
                      for name, raw in kv.items(REACTION_PREFIX).items())
        self._items: OrderedDict[str, Remembered] = OrderedDict(
            (event_id, Remembered(*fields)) for (_seq, *fields), event_id in rows)
        self._next = rows[-1][0][0] + 1 if rows else 0
        self._forget_legacy()
        self._evict()

    def add(self, event_id: str, room: str, target: str, emoji: str, sender: str) -> None:
        if event_id in self._items:  # a redelivered reaction
            return
        self._items[event_id] = Remembered(room, target, emoji, sender)
        self._kv.set_json(REACTION_PREFIX + event_id, [self._next, room, target, emoji, sender])
        self._next += 1
        self._evict()

    def pop(self, event_id: str) -> Remembered | None:
        found = self._items.pop(event_id, None)
        if found is not None:
            self._kv.delete(REACTION_PREFIX + event_id)
        return found

    def _evict(self) -> None:
        gone = [self._items.popitem(last=False)[0] for _ in range(len(self._items) - self._capacity)]
        if gone:
            self._kv.delete(*(REACTION_PREFIX + event_id for event_id in gone))

    def _forget_legacy(self) -> None:
        """Earlier versions kept every reaction in one value, rewritten whole on each: carry its
        entries over once, then drop it."""
        legacy = self._kv.get_json(LEGACY_REACTIONS)
        if not isinstance(legacy, dict):
            return
        for event_id, fields in legacy.items():
            if event_id not in self._items and isinstance(fields, list) and len(fields) == 4:
                self.add(event_id, *map(str, fields))
        self._kv.delete(LEGACY_REACTIONS)


class MatrixAdapter:
    """``ChatAdapter`` for Matrix. Identities are full user ids (``matrix:@user:server``)."""

    platform = PLATFORM

    def __init__(self, runtime: Runtime, settings: Settings, store: AdapterStore, *,
                 sync_timeout_ms: int = 30_000, timeline_limit: int = 50) -> None:
        if not settings.matrix_homeserver or not settings.matrix_user_id:
            raise SettingsError("DIHYA_MATRIX_HOMESERVER and DIHYA_MATRIX_USER_ID are required for Matrix")
        self._runtime = runtime
        self._settings = settings
        self._store = store
        self._user_id = settings.matrix_user_id
        self._kv = KeyValues(store, self._user_id)
        self._vault = SecretVault([settings.secret_key]) if settings.secret_key else None
        self._reactions = ReactionMemory(self._kv)
        self._thread_tail: OrderedDict[str, str] = OrderedDict()
        self._pacer = ChannelPacer(per_second=1.0, burst=5)  # per room, under homeservers' default limits
        self._sync_timeout_ms = sync_timeout_ms
        self._filter = {"room": {"timeline": {"limit": timeline_limit}, "state": {"lazy_load_members": True}},
                        "presence": {"not_types": ["*"]}}
        self._localpart = self._user_id[1:].partition(":")[0]
        self._address = addressing((PREFIX, self._user_id), (self._localpart,))
        # End-to-end encryption (vodozemac): the device's keys live in data_dir/matrix, pickled under
        # the secret key when one is set. The bot cannot compare emoji with anyone, so it shares room
        # keys with every device of the room's members (ignore_unverified_devices below).
        keys_dir = settings.data_dir / "matrix"
        keys_dir.mkdir(parents=True, exist_ok=True)
        pickle_key = settings.secret_key.get_secret_value() if settings.secret_key else AsyncClientConfig.pickle_key
        # Which key a device's keys were pickled under (a digest, never the key): after a key change
        # its store cannot be opened, so the bot signs in as a new device instead of failing.
        self._pickled_under = hashlib.sha256(f"dihya-matrix-pickle:{pickle_key}".encode()).hexdigest()[:16]
        config = AsyncClientConfig(max_timeouts=3, max_limit_exceeded=3, encryption_enabled=True,
                                   store_sync_tokens=False, request_timeout=sync_timeout_ms / 1000 + 30,
                                   pickle_key=pickle_key)
        self._client = AsyncClient(settings.matrix_homeserver, self._user_id, store_path=str(keys_dir), config=config)
        self._task: asyncio.Task[None] | None = None
        self._log_filter = SessionLogFilter()
        runtime.attach(self)

    # -- ChatAdapter ---------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return []

    async def start(self) -> None:
        """Log in, join the configured rooms, take a first sync token if there is none, then sync."""
        self._log_filter.install()
        await self._log_in()
        await self._learn_names()
        await self._join_configured()
        if self._kv.get("next_batch") is None:
            await self._first_sync()
        self._task = asyncio.create_task(self._sync_forever(), name="matrix-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.close()
        self._log_filter.remove()

    # -- login ---------------------------------------------------------------------------------
    async def _log_in(self) -> None:
        self._client.device_id = self._device()
        if await self._resume(self._stored_token()):
            return
        password = self._settings.matrix_password
        if password is None:
            raise MatrixError("login", None, "no valid stored session and DIHYA_MATRIX_PASSWORD is not set")
        self._log_filter.secrets.add(password.get_secret_value())
        response = _checked(await self._client.login(password.get_secret_value(), device_name="Dihya"), "login")
        self._log_filter.secrets.add(response.access_token)
        self._remember_session(response.device_id, response.access_token)
        await self._keys()

    def _device(self) -> str | None:
        """The stored device, unless its encryption keys were pickled under another secret key."""
        device, pickled_under = self._kv.get("device_id"), self._kv.get("device_pickled_under")
        if device and pickled_under not in (None, self._pickled_under):
            log.warning("the secret key changed: the Matrix device's keys cannot be read; signing in as a new "
                        "device", extra={"device_id": device})
            return None
        return device

    def _stored_token(self) -> str | None:
        sealed = self._kv.get("access_token")
        if self._vault is None or not sealed:
            return None
        try:
            return self._vault.decrypt(sealed.encode("ascii"), VAULT_NAME)
        except VaultError:
            log.warning("stored Matrix session unreadable (secret key changed?); logging in again")
            return None

    async def _resume(self, token: str | None) -> bool:
        """Reuse a stored access token if the homeserver still accepts it."""
        if token is None or self._client.device_id is None:
            return False
        self._log_filter.secrets.add(token)
        self._client.restore_login(self._user_id, self._client.device_id, token)  # also opens the key store
        response = await self._client.whoami()
        if isinstance(response, ErrorResponse) and response.status_code == "M_UNKNOWN_TOKEN":
            self._client.access_token = ""
            return False
        _checked(response, "whoami")
        await self._keys()
        return True

    async def _keys(self) -> None:
        """Encryption upkeep after a login or a sync: publish this device's keys, learn the devices
        of people in encrypted rooms, and send the room keys queued for them."""
        if self._client.should_upload_keys:
            _checked(await self._client.keys_upload(), "keys_upload")
        if self._client.should_query_keys:
            _checked(await self._client.keys_query(), "keys_query")
        await self._client.send_to_device_messages()

    def _remember_session(self, device_id: str, token: str) -> None:
        self._kv.set("device_id", device_id)
        self._kv.set("device_pickled_under", self._pickled_under)
        if self._vault is not None:  # without a secret key the token is not stored; the password logs in
            self._kv.set("access_token", self._vault.encrypt(VAULT_NAME, token).decode("ascii"))
        log.info("logged in to Matrix", extra={"user_id": self._user_id, "device_id": device_id})

    async def _learn_names(self) -> None:
        response = _checked(await self._client.get_displayname(self._user_id), "displayname")
        names = {self._localpart, response.displayname or self._localpart}
        self._address = addressing((PREFIX, self._user_id), sorted(names, key=len, reverse=True))

    # -- rooms ---------------------------------------------------------------------------------
    async def _join_configured(self) -> None:
        for room_id in self._settings.matrix_rooms:
            try:
                _checked(await self._client.join(room_id), "join")
            except MatrixError:
                log.exception("cannot join a configured Matrix room", extra={"room_id": room_id})

    async def _invites(self, invites: Mapping[str, Any]) -> None:
        """Join a room only when an admin invited the bot; decline other invites."""
        for room_id, info in invites.items():
            inviter = self._inviter(info.invite_state)
            record = self._store.identity(f"{PLATFORM}:{inviter}") if inviter else None
            admin = record is not None and "admin" in record.roles
            try:  # a failed answer must not block the sync loop: the invite stays pending instead
                await self._answer_invite(room_id, accept=admin)
            except MatrixError:
                log.exception("cannot answer a Matrix invite", extra={"room_id": room_id, "inviter": inviter})
                continue
            log.info("answered a Matrix invite", extra={"room_id": room_id, "inviter": inviter, "joined": admin})

    async def _answer_invite(self, room_id: str, *, accept: bool) -> None:
        if accept:
            _checked(await self._client.join(room_id), "join")
        else:
            _checked(await self._client.room_leave(room_id), "leave")

    def _inviter(self, state: Iterable[Any]) -> str | None:
        for event in state:
            source = getattr(event, "source", {})
            if source.get("type") == "m.room.member" and source.get("state_key") == self._user_id:
                return str(source.get("sender") or "") or None
        return None

    # -- sync ----------------------------------------------------------------------------------
    async def _first_sync(self) -> None:
        """Take a token without running anything from before the bot's first start."""
        response = _checked(await self._client.sync(timeout=0, sync_filter=self._filter), "sync")
        await self._invites(response.rooms.invite)
        await self._keys()
        self._kv.set("next_batch", response.next_batch)

    async def _sync_forever(self) -> None:
        failures, session_lost = 0, False
        while True:
            try:
                if session_lost:  # the token was revoked (logout elsewhere, admin): log in again
                    await self._log_in()
                    session_lost = False
                await self._sync_once()
                failures = 0
            except Exception as err:  # any failure: back off and retry the same batch, never die
                failures += 1
                session_lost = isinstance(err, MatrixError) and err.errcode == "M_UNKNOWN_TOKEN"
                delay = max(backoff_delay(failures), (getattr(err, "retry_after_ms", None) or 0) / 1000)
                log.warning("Matrix sync failed; backing off", exc_info=True, extra={"retry_in_s": delay})
                await asyncio.sleep(delay)

    async def _sync_once(self) -> None:
        since = self._kv.get("next_batch")
        response = _checked(await self._client.sync(timeout=self._sync_timeout_ms, since=since,
                                                    sync_filter=self._filter), "sync")
        handled = self._handled(since)
        for room_id, info in response.rooms.join.items():
            for source in await self._timeline(room_id, info.timeline, since):
                await self._once(room_id, source, since, handled)
        await self._invites(response.rooms.invite)
        await self._keys()
        self._kv.set("next_batch", response.next_batch)  # only now: the batch was processed

    def _handled(self, since: str | None) -> set[str]:
        """Events of the batch starting at ``since`` dispatched before a crash (none normally)."""
        saved = self._kv.get_json("handled") or {}
        return set(saved.get("ids", ())) if saved.get("since") == since else set()

    async def _once(self, room_id: str, source: Mapping[str, Any], since: str | None, handled: set[str]) -> None:
        event_id = str(source.get("event_id", ""))
        if event_id in handled:
            return
        if await self.handle_event(room_id, source):
            handled.add(event_id)
            self._kv.set_json("handled", {"since": since, "ids": sorted(handled)})

    async def _timeline(self, room_id: str, timeline: Any, since: str | None) -> list[Mapping[str, Any]]:
        """The room's new events, oldest first; a gap left by a long downtime is filled in."""
        events = [_readable(room_id, e) for e in timeline.events]
        if timeline.limited and since is not None and timeline.prev_batch:
            events = await self._backfill(room_id, timeline.prev_batch, since) + events
        return self._after_own_join(events)

    async def _backfill(self, room_id: str, start: str, since: str) -> list[Mapping[str, Any]]:
        missed: list[Mapping[str, Any]] = []
        for _ in range(BACKFILL_PAGES):
            page = _checked(await self._client.room_messages(room_id, start=start, end=since,
                                                             direction=MessageDirection.back, limit=100), "messages")
            missed.extend(_readable(room_id, e) for e in page.chunk)
            if not page.chunk or not page.end:
                return missed[::-1]
            start = page.end
        log.error("Matrix gap too long to back-fill; older missed events skipped",
                  extra={"room_id": room_id, "fetched": len(missed)})
        return missed[::-1]

    def _after_own_join(self, events: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """A newly joined room's timeline starts with history: never run what predates the bot."""
        for index in range(len(events) - 1, -1, -1):
            if _is_arrival(events[index], self._user_id):
                return events[index + 1:]
        return events

    # -- inbound -------------------------------------------------------------------------------
    async def handle_event(self, room_id: str, source: Mapping[str, Any]) -> bool:
        """Translate one raw timeline event and dispatch it; ``True`` when it reached the core."""
        event = self._translate(room_id, source)
        if event is None:
            return False
        await self._runtime.dispatch(event)
        return True

    def _translate(self, room_id: str, source: Mapping[str, Any]) -> Event | None:
        sender = str(source.get("sender", ""))
        if not sender or sender == self._user_id or "event_id" not in source:
            return None
        kind = source.get("type")
        if kind == "m.room.message":
            return self._message(room_id, source, sender)
        if kind == "m.reaction":
            return self._reaction(room_id, source, sender)
        if kind == "m.room.redaction":
            return self._withdrawal(room_id, source)
        return None

    def _message(self, room_id: str, source: Mapping[str, Any], sender: str) -> Message | None:
        content = source.get("content", {})
        if content.get("msgtype") != "m.text" or _relation(content).get("rel_type") == "m.replace":
            return None  # notices come from bots; an edited command is not a new command
        text = command_text(str(content.get("body", "")), self._address)
        if text is None:
            return None
        event_id = str(source["event_id"])
        root = _thread_root(content)
        self._note_thread(root or event_id, event_id)
        place = Place(PLATFORM, room_id, thread=root)
        return Message(event_id, self._sender(room_id, sender), place, event_id, text)

    def _reaction(self, room_id: str, source: Mapping[str, Any], sender: str) -> Reaction | None:
        annotation = _annotation(source.get("content", {}))
        if annotation is None:
            return None
        target, emoji = annotation
        event_id = str(source["event_id"])
        self._reactions.add(event_id, room_id, target, emoji, sender)
        return Reaction(event_id, self._sender(room_id, sender), Place(PLATFORM, room_id), target, emoji, True)

    def _withdrawal(self, room_id: str, source: Mapping[str, Any]) -> Reaction | None:
        """A reaction's redaction by the person who reacted withdraws it; anyone else's (a
        moderator tidying up) removes the emoji from view but speaks for nobody, so the vote stands."""
        redacted = _redacted_id(source)
        remembered = self._reactions.pop(redacted) if redacted else None
        if remembered is None or remembered.room != room_id:
            return None
        if source.get("sender") != remembered.sender:
            log.info("a reaction redacted by someone else than its sender: not a withdrawal",
                     extra={"room_id": room_id, "event_id": redacted, "redacted_by": source.get("sender")})
            return None
        return Reaction(str(source["event_id"]), self._sender(room_id, remembered.sender), Place(PLATFORM, room_id),
                        remembered.target, remembered.emoji, False)

    def _sender(self, room_id: str, user_id: str) -> Sender:
        room = self._client.rooms.get(room_id)
        name = room.user_name(user_id) if room is not None else None
        return Sender(PLATFORM, user_id, name or "")

    def _note_thread(self, root: str, latest: str) -> None:
        """Remember each thread's latest message: replies point at it for thread-unaware clients."""
        self._thread_tail[root] = latest
        self._thread_tail.move_to_end(root)
        while len(self._thread_tail) > REMEMBERED_THREADS:
            self._thread_tail.popitem(last=False)

    # -- outbound ------------------------------------------------------------------------------
    async def perform(self, action: Action, target: str | None) -> str | None:
        if isinstance(action, Send):
            content = {"msgtype": "m.text", **_formatted(_with_choices(action.text, action.buttons))}
            return await self._post(action.channel, self._threaded(content, action.thread))
        if isinstance(action, Edit):
            if target is None:
                raise ValueError("an edit needs the event id of the message it replaces")
            await self._post(action.channel, _edit_content(_with_choices(action.text, action.buttons), target))
            return None
        if isinstance(action, React):
            relates = {"rel_type": "m.annotation", "event_id": action.message_id, "key": action.emoji}
            await self._post(action.channel, {"m.relates_to": relates}, "m.reaction")
            return None
        if isinstance(action, Retract):
            return await self._redact(action)
        return await self._upload(action)

    async def _redact(self, action: Retract) -> str | None:
        """Redacting someone else's event needs the room's ``redact`` power level (moderators by
        default): without it the homeserver answers M_FORBIDDEN and ``None`` says it was not removed."""
        await self._pacer.wait(action.channel)

        async def redact() -> str:
            try:
                _checked(await self._client.room_redact(action.channel, action.message_id), "redact")
            except MatrixError as err:
                if err.errcode != "M_FORBIDDEN":
                    raise
                return ""
            return action.message_id

        return await retrying(redact, _retry_after) or None

    def _threaded(self, content: JsonDict, thread: str | None) -> JsonDict:
        if thread is None:
            return content
        return {**content, "m.relates_to": _thread_relation(thread, self._thread_tail.get(thread, thread))}

    async def _post(self, room_id: str, content: JsonDict, kind: str = "m.room.message") -> str:
        await self._pacer.wait(room_id)

        async def send() -> str:
            if room_id not in self._client.rooms:  # nio must know a room to tell whether to encrypt
                _checked(await self._client.joined_members(room_id), "send")  # not a member: the server says so
                raise RoomNotSynced(room_id)
            sent = await self._client.room_send(room_id, kind, content, ignore_unverified_devices=True)
            return str(_checked(sent, "send").event_id)

        return await retrying(send, _retry_after)

    async def _upload(self, action: Upload) -> str:
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
        uri = str(_checked(uploaded, "upload").content_uri)
        content = _file_content(action, uri, mimetype, size, keys if encrypt else None)
        return await self._post(action.channel, self._threaded(content, action.thread))
