"""The Telegram adapter: Bot API updates in, core actions out, through python-telegram-bot.

Updates arrive by long polling or by webhook (``POST /telegram/webhook``, authenticated by the
secret token Telegram echoes in a header); ``adapters.telegram.translate`` turns them into core
events, ``adapters.telegram.transport`` paces and retries the calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute
from telegram import Message as TgMessage
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    filters,
)

from adapters.telegram.translate import (
    MAX_CAPTION,
    MAX_TEXT,
    PLATFORM,
    as_html,
    button_event,
    clip,
    keyboard,
    message_event,
    reaction_events,
    reply_to,
    split_text,
)
from adapters.telegram.transport import ApiRequest, Limits, Throttle, install_token_filter
from adapters.toolkit.dispatch import perform_by_type
from bot.actions import Action, Edit, React, Retract, Send, Upload
from dihya.chat import EventSink
from dihya.ingress import Delivery, Refused, SecretHeader, Webhook, json_document, queue_full
from dihya.settings import Settings, SettingsError

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "message_reaction")
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
UPDATE_QUEUE = 1000  # updates waiting for a handler; a webhook delivery beyond gets 503 (Telegram retries)

log = logging.getLogger("dihya.telegram")
Context = ContextTypes.DEFAULT_TYPE


class TelegramAdapter:
    """``ChatAdapter`` for Telegram: polling or webhook in, Bot API calls out."""

    __slots__ = ("_app", "_max_body", "_may_act", "_runtime", "_secret", "_webhook")
    platform = PLATFORM

    def __init__(self, runtime: EventSink, settings: Settings, *, limits: Limits | None = None) -> None:
        if settings.telegram_token is None:
            raise SettingsError("DIHYA_TELEGRAM_TOKEN is required for the Telegram adapter")
        self._webhook = settings.telegram_mode == "webhook"
        secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
        if self._webhook and not _SECRET_SHAPE.fullmatch(secret):
            raise SettingsError("DIHYA_TELEGRAM_WEBHOOK_SECRET is required in webhook mode: "
                                "1-256 characters, letters, digits, _ and - (Telegram's rule)")
        self._secret = secret.encode() if secret else None
        self._max_body = settings.telegram_max_body_bytes
        install_token_filter(settings.secret_values())  # before the library first logs its URLs
        self._app = self._build(settings.telegram_token.get_secret_value(), settings.telegram_api_url,
                                limits or Limits())
        self._runtime = runtime
        self._may_act: Callable[[], bool] = _never

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
        """Alone (no replicas): open, then poll (in polling mode)."""
        await self.open()
        await self.lead(_always)

    async def open(self) -> None:
        """Ready to send and to take webhook deliveries; polling waits for ``lead``."""
        await self._app.initialize()
        await self._app.start()
        log.info("telegram adapter running", extra={"mode": "webhook" if self._webhook else "polling",
                                                     "bot": self._app.bot.username})

    async def stop(self) -> None:
        await self.follow()
        if self._app.running:
            await self._app.stop()
        await self._app.shutdown()

    # -- leader source (issue 16: getUpdates must have one caller) -----------------------------
    duty = "telegram-polling"

    def single_consumer(self) -> bool:
        return not self._webhook

    async def lead(self, may_act: Callable[[], bool]) -> None:
        """Poll; updates polled are handled only while ``may_act`` (the fenced lease) says so."""
        self._may_act = may_act
        if not self._webhook and self._app.updater is not None and not self._app.updater.running:
            await self._app.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))

    async def follow(self) -> None:
        """Stop polling. Updates already polled are still handled while the lease says this
        replica leads (a graceful hand-over), dropped once it does not."""
        if self._app.updater is not None and self._app.updater.running:
            await self._app.updater.stop()

    async def _admitted(self, update: Update) -> bool:
        """A webhook delivery always; a polled update only on the leader. A leader paused past its
        lease drops what its last poll brought: Telegram gives those unconfirmed updates to the
        replica polling now."""
        if self._webhook or await asyncio.to_thread(self._may_act):
            return True
        log.warning("polled update left to the leader", extra={"update_id": update.update_id})
        return False

    # -- outbound ---------------------------------------------------------------------------
    async def perform(self, action: Action, target: str | None) -> str | None:
        return await perform_by_type(self, action, target)

    async def send(self, action: Send) -> str | None:
        """Long texts go as several messages; the last one carries the buttons and is the one returned."""
        chunks = split_text(action.text)
        sent: TgMessage | None = None
        for n, chunk in enumerate(chunks, start=1):
            markup = keyboard(action.buttons) if n == len(chunks) else None
            sent = await self._app.bot.send_message(int(action.channel), as_html(chunk), parse_mode=ParseMode.HTML,
                                                    reply_parameters=reply_to(action.thread), reply_markup=markup)
        return str(sent.message_id) if sent else None

    async def edit(self, action: Edit, target: str | None) -> None:
        if target is None:
            raise ValueError(f"edit of {action.key!r} has no Telegram message id")
        try:
            await self._app.bot.edit_message_text(as_html(clip(action.text, MAX_TEXT)), int(action.channel),
                                                  int(target), parse_mode=ParseMode.HTML,
                                                  reply_markup=keyboard(action.buttons))
        except BadRequest as err:
            if "not modified" not in err.message:  # the same text again: nothing to do
                raise

    async def react(self, action: React) -> None:
        await self._app.bot.set_message_reaction(int(action.channel), int(action.message_id), action.emoji)

    async def retract(self, action: Retract) -> str | None:
        """deleteMessage: in a group only an administrator with the right to delete messages may
        remove someone else's; anywhere else Telegram refuses (400 or 403) and ``None`` says so."""
        try:
            await self._app.bot.delete_message(int(action.channel), int(action.message_id))
        except (BadRequest, Forbidden) as err:
            log.info("message not deleted", extra={"chat_id": action.channel, "error": err.message})
            return None
        return action.message_id

    async def upload(self, action: Upload) -> str:
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
        if not await self._admitted(update):
            return
        event = message_event(update, self._app.bot.username)
        if event is not None:
            await self._runtime.dispatch(event)

    async def _on_button(self, update: Update, _context: Context) -> None:
        query = update.callback_query
        if query is None or not await self._admitted(update):
            return
        try:
            await query.answer()  # stop the client's spinner first; the vote may take a moment
        except BadRequest as err:  # a redelivered, already answered query
            log.info("callback query not answered", extra={"error": err.message})
        event = button_event(update)
        if event is not None:
            await self._runtime.dispatch(event)

    async def _on_reaction(self, update: Update, _context: Context) -> None:
        if not await self._admitted(update):
            return
        for event in reaction_events(update):
            await self._runtime.dispatch(event)

    async def _on_error(self, update: object, context: Context) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update failed", exc_info=context.error, extra={"update_id": update_id})


def _always() -> bool:
    return True


def _never() -> bool:
    return False
