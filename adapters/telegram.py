"""The Telegram adapter: Bot API updates in, core actions out, through python-telegram-bot.

Updates arrive by long polling or by webhook (``POST /telegram/webhook``, authenticated by the
secret token Telegram echoes in a header). Commands (``/deploy …``), messages that mention the bot
in groups and any text in a private chat become ``Message`` events; inline-button presses and
message reactions become ``Reaction`` events. The delivery id is the update id, so the core acts
once however often Telegram delivers an update.

Outbound calls are throttled per chat and retried on 429 (after the ``retry_after`` Telegram
asks for) and on 5xx (with exponential backoff). The token is part of every request URL, so every
log record of the HTTP and Telegram libraries passes through a redacting filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute
from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
    User,
)
from telegram import Message as TgMessage
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    filters,
)
from telegram.request import HTTPXRequest, RequestData

from bot.actions import Action, Button, Edit, React, Retract, Send, Upload
from bot.events import Message, Place, Reaction, Sender
from dihya.ingress import Delivery, Refused, SecretHeader, Webhook, json_document, queue_full
from dihya.redaction import Redactor
from dihya.runtime import Runtime
from dihya.settings import Settings, SettingsError

PLATFORM = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "message_reaction")
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
BUTTON_PREFIX = "r:"  # callback data of our buttons: "r:" + emoji (anything else is not ours)
STAND_INS = frozenset({1087968824, 136817688, 777000})  # GroupAnonymousBot, Channel_Bot, Telegram itself
PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION = MessageLimit.CAPTION_LENGTH
UPDATE_QUEUE = 1000  # updates waiting for a handler; a webhook delivery beyond gets 503 (Telegram retries)
LOGGED_LIBRARIES = ("httpx", "httpcore", "telegram", "dihya.telegram")
# The library's DEBUG records that dump whole payloads: updates carry people's messages (a secret
# typed in a group, before the bot could remove it), and so do call parameters and results. Dropped.
PAYLOAD_DUMPS = frozenset({
    "Calling Bot API endpoint `%s` with parameters `%s`",
    "Call to Bot API endpoint `%s` finished with return value `%s`",
    "Processing update %s",
    "Dropping pending update: %s",
})

log = logging.getLogger("dihya.telegram")
Context = ContextTypes.DEFAULT_TYPE


# -- inbound: updates → events -----------------------------------------------------------------
_COMMAND = re.compile(r"^/(?P<name>[^\s@]+)(?:@(?P<bot>\w+))?(?P<rest>(?:\s.*)?)$", re.S)


def addressed_text(text: str, bot_username: str, *, private: bool) -> str | None:
    """The command a text carries for this bot, or ``None`` when the text is not for it.

    ``/deploy@bot web`` → ``deploy web``; ``@bot deploy web`` → ``deploy web`` (groups need one
    of the two; in a private chat every text is for the bot).
    """
    command = _COMMAND.match(text.strip())
    if command:
        if command["bot"] and command["bot"].casefold() != bot_username.casefold():
            return None  # a command for another bot in the same group
        name = "help" if command["name"] == "start" else command["name"]  # Telegram's first contact
        return f"{name}{command['rest']}".strip()
    stripped, found = _mention(bot_username).subn("", text)
    if found or private:
        return stripped.strip()
    return None


@functools.lru_cache(maxsize=4)
def _mention(bot_username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\S)@{re.escape(bot_username)}\b[:,]?\s*", re.I)


def sender_of(user: User | None, sender_chat: Chat | None, chat: Chat) -> Sender:
    """A person by numeric user id; anyone speaking as a chat (anonymous admin, channel) is a guest."""
    if sender_chat is not None or user is None or user.id in STAND_INS:
        speaker = sender_chat or chat
        return Sender(PLATFORM, f"chat{speaker.id}", speaker.title or "")
    return Sender(PLATFORM, str(user.id), user.full_name)


def place_of(chat: Chat) -> Place:
    return Place(PLATFORM, str(chat.id), direct=chat.type == ChatType.PRIVATE)


def message_event(update: Update, bot_username: str) -> Message | None:
    message = update.effective_message
    if message is None or not message.text:
        return None
    text = addressed_text(message.text, bot_username, private=message.chat.type == ChatType.PRIVATE)
    if not text:
        return None
    sender = sender_of(message.from_user, message.sender_chat, message.chat)
    return Message(f"tg-{update.update_id}", sender, place_of(message.chat), str(message.message_id), text)


def button_event(update: Update) -> Reaction | None:
    query = update.callback_query
    if query is None or query.message is None or not (query.data or "").startswith(BUTTON_PREFIX):
        return None
    target: MaybeInaccessibleMessage = query.message
    emoji = (query.data or "").removeprefix(BUTTON_PREFIX)
    sender = Sender(PLATFORM, str(query.from_user.id), query.from_user.full_name)
    return Reaction(f"tg-{update.update_id}", sender, place_of(target.chat), str(target.message_id), emoji)


def reaction_events(update: Update) -> list[Reaction]:
    """One event per emoji added or removed (custom and paid reactions carry no emoji: skipped)."""
    change = update.message_reaction
    if change is None:
        return []
    old, new = _emojis(change.old_reaction), _emojis(change.new_reaction)
    sender = sender_of(change.user, change.actor_chat, change.chat)
    place, target = place_of(change.chat), str(change.message_id)
    moves = [(e, True) for e in new if e not in old] + [(e, False) for e in old if e not in new]
    return [Reaction(f"tg-{update.update_id}/{'+' if added else '-'}{emoji}", sender, place, target, emoji, added)
            for emoji, added in moves]


def _emojis(reactions: Sequence[object]) -> list[str]:
    return [r.emoji for r in reactions if isinstance(r, ReactionTypeEmoji)]


# -- outbound: text shaping --------------------------------------------------------------------
def _units(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(line: str, limit: int) -> list[str]:
    """``line`` in pieces of at most ``limit`` units, never splitting a character."""
    if _units(line) <= limit:
        return [line]
    pieces, start, size = [], 0, 0
    for i, char in enumerate(line):
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit:
            pieces.append(line[start:i])
            start, size = i, 0
        size += width
    return [*pieces, line[start:]]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most ``limit`` units, cut at line ends where possible; blank chunks dropped."""
    chunks, current, size = [], "", 0
    for line in text.splitlines(keepends=True):
        for piece in _hard_cut(line, limit):
            width = _units(piece)
            if size + width > limit:
                chunks.append(current)
                current, size = "", 0
            current, size = current + piece, size + width
    chunks.append(current)
    return [c.rstrip("\n") for c in chunks if c.strip()]


def clip(text: str, limit: int) -> str:
    return text if _units(text) <= limit else _hard_cut(text, limit - 1)[0] + "…"


def as_html(text: str) -> str:
    """User text is shown as typed, never interpreted as markup."""
    return html.escape(text, quote=False)


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One row of buttons; ``None`` (no markup) also removes a keyboard when a message is edited."""
    row = [InlineKeyboardButton(f"{b.emoji} {b.label}", callback_data=f"{BUTTON_PREFIX}{b.emoji}") for b in buttons]
    return InlineKeyboardMarkup([row]) if row else None


def reply_to(thread: str | None) -> ReplyParameters | None:
    if thread is None or not thread.isdigit():
        return None
    return ReplyParameters(int(thread), allow_sending_without_reply=True)


# -- outbound: retry and throttling ------------------------------------------------------------
class FloodWait(TelegramError):
    """429: Telegram asks us to wait ``seconds`` before calling again."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        super().__init__(f"flood control: retry in {seconds:g} s")
        self.seconds = seconds


class ServerBusy(NetworkError):
    """A 5xx answer from the Bot API: worth retrying after a backoff."""

    __slots__ = ("status",)

    def __init__(self, status: int) -> None:
        super().__init__(f"Bot API server error ({status})")
        self.status = status


class ApiRequest(HTTPXRequest):
    """Turns 429 and 5xx answers into typed, retryable errors before the library parses them."""

    __slots__ = ()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, read_timeout, write_timeout,
                                                 connect_timeout, pool_timeout)
        if code == 429:
            raise FloodWait(_retry_after(payload))
        if code >= 500:
            raise ServerBusy(code)
        return code, payload


def _retry_after(payload: bytes) -> float:
    try:
        return float(json.loads(payload)["parameters"]["retry_after"])
    except (ValueError, KeyError, TypeError):
        return 1.0


class Bucket:
    """Token bucket: ``burst`` calls at once, then ``rate`` calls per second."""

    __slots__ = ("_burst", "_lock", "_rate", "_stamp", "_tokens")

    def __init__(self, burst: float, rate: float) -> None:
        self._burst, self._rate = burst, rate
        self._tokens, self._stamp = burst, time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self._rate)


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published limits: ~30 calls/s overall, 20 messages/min in a group, ~1/s per chat."""

    overall: tuple[float, float] = (30, 30)
    group: tuple[float, float] = (20, 20 / 60)
    private: tuple[float, float] = (3, 1)
    attempts: int = 4
    backoff: float = 0.5
    longest_wait: float = 60.0


class Throttle(BaseRateLimiter[None]):
    """Spaces calls per chat and retries 429/5xx; python-telegram-bot routes every call here."""

    __slots__ = ("_chats", "_limits", "_overall")
    MAX_CHATS = 4096

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._overall = Bucket(*limits.overall)
        self._chats: OrderedDict[str, Bucket] = OrderedDict()

    async def initialize(self) -> None:
        """Nothing to open: buckets are made on first use."""

    async def shutdown(self) -> None:
        self._chats.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,  # noqa: ARG002 - the library passes it by name; we take none
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        await self._overall.take()
        if data.get("chat_id") is not None:
            await self._chat(str(data["chat_id"])).take()
        for attempt in range(1, self._limits.attempts):
            try:
                return await callback(*args, **kwargs)
            except (FloodWait, ServerBusy) as err:
                delay = err.seconds if isinstance(err, FloodWait) else self._limits.backoff * 2 ** (attempt - 1)
                if delay > self._limits.longest_wait:
                    raise
                log.warning("Bot API call retried", extra={"endpoint": endpoint, "error": str(err), "delay": delay})
                await asyncio.sleep(delay)
        return await callback(*args, **kwargs)

    def _chat(self, chat_id: str) -> Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            group = chat_id.startswith("-")
            bucket = self._chats[chat_id] = Bucket(*(self._limits.group if group else self._limits.private))
            if len(self._chats) > self.MAX_CHATS:
                self._chats.popitem(last=False)
        self._chats.move_to_end(chat_id)
        return bucket


# -- token hygiene -----------------------------------------------------------------------------
class TokenFilter(logging.Filter):
    """Redacts secrets from records of the libraries that see the token (httpx logs request URLs),
    and drops the library's payload dumps (``PAYLOAD_DUMPS``).

    Equal filters (same secrets) compare equal, so installing one twice is a no-op.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self._secrets = tuple(sorted(secrets))
        self._redact = Redactor(secrets)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenFilter) and other._secrets == self._secrets

    def __hash__(self) -> int:
        return hash(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG and isinstance(record.msg, str) and record.msg in PAYLOAD_DUMPS:
            return False
        message = record.getMessage()
        clean = self._redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True

    def install(self) -> None:
        """On every logger of those libraries: a logger's filters do not apply to its children."""
        known = list(logging.root.manager.loggerDict)
        for name in {*LOGGED_LIBRARIES, *(n for n in known if n.split(".")[0] in {"httpx", "httpcore", "telegram"})}:
            logging.getLogger(name).addFilter(self)


# -- the adapter -------------------------------------------------------------------------------
class TelegramAdapter:
    """``ChatAdapter`` for Telegram: polling or webhook in, Bot API calls out."""

    __slots__ = ("_app", "_max_body", "_runtime", "_secret", "_webhook")
    platform = PLATFORM

    def __init__(self, runtime: Runtime, settings: Settings, *, limits: Limits | None = None) -> None:
        if settings.telegram_token is None:
            raise SettingsError("DIHYA_TELEGRAM_TOKEN is required for the Telegram adapter")
        self._webhook = settings.telegram_mode == "webhook"
        secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
        if self._webhook and not _SECRET_SHAPE.fullmatch(secret):
            raise SettingsError("DIHYA_TELEGRAM_WEBHOOK_SECRET is required in webhook mode: "
                                "1-256 characters, letters, digits, _ and - (Telegram's rule)")
        self._secret = secret.encode() if secret else None
        self._max_body = settings.telegram_max_body_bytes
        TokenFilter(settings.secret_values()).install()  # before the library first logs its URLs
        self._app = self._build(settings.telegram_token.get_secret_value(), settings.telegram_api_url,
                                limits or Limits())
        self._runtime = runtime
        runtime.attach(self)

    def _build(self, token: str, api_url: str, limits: Limits) -> Application[Any, Any, Any, Any, Any, Any]:
        api = api_url.rstrip("/")
        builder = (Application.builder().token(token)
                   .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
                   .request(ApiRequest(connection_pool_size=8)).rate_limiter(Throttle(limits))
                   .update_queue(asyncio.Queue(maxsize=UPDATE_QUEUE)))
        if self._webhook:
            builder = builder.updater(None)
        app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        texts = (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST) & filters.TEXT
        app.add_handler(MessageHandler(texts, self._on_text))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(MessageReactionHandler(self._on_reaction))
        app.add_error_handler(self._on_error)
        return app

    # -- ChatAdapter ------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        secret = SecretHeader(SECRET_HEADER, self._secret)
        return [Webhook(WEBHOOK_PATH, self._max_body, secret, json_document, self._on_webhook).route()]

    async def start(self) -> None:
        await self._app.initialize()
        if not self._webhook and self._app.updater is not None:
            await self._app.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
        await self._app.start()
        log.info("telegram adapter running", extra={"mode": "webhook" if self._webhook else "polling",
                                                     "bot": self._app.bot.username})

    async def stop(self) -> None:
        if self._app.updater is not None and self._app.updater.running:
            await self._app.updater.stop()
        if self._app.running:
            await self._app.stop()
        await self._app.shutdown()

    async def perform(self, action: Action, target: str | None) -> str | None:
        if isinstance(action, Send):
            return await self._send(action)
        if isinstance(action, Edit):
            await self._edit(action, target)
        elif isinstance(action, React):
            await self._app.bot.set_message_reaction(int(action.channel), int(action.message_id), action.emoji)
        elif isinstance(action, Retract):
            return await self._retract(action)
        else:
            return await self._upload(action)
        return None

    async def _retract(self, action: Retract) -> str | None:
        """deleteMessage: in a group only an administrator with the right to delete messages may
        remove someone else's; anywhere else Telegram refuses (400 or 403) and ``None`` says so."""
        try:
            await self._app.bot.delete_message(int(action.channel), int(action.message_id))
        except (BadRequest, Forbidden) as err:
            log.info("message not deleted", extra={"chat_id": action.channel, "error": err.message})
            return None
        return action.message_id

    # -- outbound ---------------------------------------------------------------------------
    async def _send(self, action: Send) -> str | None:
        """Long texts go as several messages; the last one carries the buttons and is the one returned."""
        chunks = split_text(action.text)
        sent: TgMessage | None = None
        for n, chunk in enumerate(chunks, start=1):
            markup = keyboard(action.buttons) if n == len(chunks) else None
            sent = await self._app.bot.send_message(int(action.channel), as_html(chunk), parse_mode=ParseMode.HTML,
                                                    reply_parameters=reply_to(action.thread), reply_markup=markup)
        return str(sent.message_id) if sent else None

    async def _edit(self, action: Edit, target: str | None) -> None:
        if target is None:
            raise ValueError(f"edit of {action.key!r} has no Telegram message id")
        try:
            await self._app.bot.edit_message_text(as_html(clip(action.text, MAX_TEXT)), int(action.channel),
                                                  int(target), parse_mode=ParseMode.HTML,
                                                  reply_markup=keyboard(action.buttons))
        except BadRequest as err:
            if "not modified" not in err.message:  # the same text again: nothing to do
                raise

    async def _upload(self, action: Upload) -> str:
        name = Path(action.filename).name
        caption, chat, reply = as_html(clip(action.title, MAX_CAPTION)), int(action.channel), reply_to(action.thread)
        with contextlib.ExitStack() as files:
            # A spooled export is handed over as its open file.
            data = files.enter_context(action.content.open("rb")) if isinstance(action.content, Path) \
                else action.content
            if Path(name).suffix.lower() in PHOTO_SUFFIXES:
                sent = await self._app.bot.send_photo(chat, data, caption=caption, parse_mode=ParseMode.HTML,
                                                      filename=name, reply_parameters=reply)
            else:
                sent = await self._app.bot.send_document(chat, data, caption=caption, filename=name,
                                                         parse_mode=ParseMode.HTML, reply_parameters=reply)
        return str(sent.message_id)

    # -- inbound ----------------------------------------------------------------------------
    async def _on_webhook(self, delivery: Delivery[object]) -> Response:
        """Size, secret and JSON were checked by the shared ingress; the rest is the update's shape."""
        update = self._update(delivery.value)
        if update is None:
            raise Refused(400, "not a Telegram update")
        try:  # acknowledge now; the application works through the queue
            self._app.update_queue.put_nowait(update)
        except asyncio.QueueFull:
            raise queue_full() from None
        return Response(status_code=200)

    def _update(self, payload: object) -> Update | None:
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return None
        try:
            return Update.de_json(payload, self._app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):  # a shape the library cannot read
            return None

    async def _on_text(self, update: Update, _context: Context) -> None:
        event = message_event(update, self._app.bot.username)
        if event is not None:
            await self._runtime.dispatch(event)

    async def _on_button(self, update: Update, _context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()  # stop the client's spinner first; the vote may take a moment
        except BadRequest as err:  # a redelivered, already answered query
            log.info("callback query not answered", extra={"error": err.message})
        event = button_event(update)
        if event is not None:
            await self._runtime.dispatch(event)

    async def _on_reaction(self, update: Update, _context: Context) -> None:
        for event in reaction_events(update):
            await self._runtime.dispatch(event)

    async def _on_error(self, update: object, context: Context) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update failed", exc_info=context.error, extra={"update_id": update_id})
