"""The Slack adapter: Events API, the ``/dihya`` slash command and interactivity, over HTTP
(``POST /slack/events`` on the ``dihya serve`` app) or Socket Mode, translated into core events
(``adapters.slack.translate``); core actions become Web API calls.

Ack fast: listeners only translate the payload and schedule the work, so Slack gets its 200
before the command runs. Size, signature and the 5-minute replay window are checked by the shared
ingress (``adapters.slack_ingress``) on the raw bytes, before bolt parses anything: bolt only ever
sees signed bodies it can read, so its own verification (which logs rejected bodies) is off.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine, Sequence
from pathlib import Path, PurePath
from typing import Any

from pydantic import SecretStr
from slack_bolt import BoltResponse
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.responses import Response
from starlette.routing import BaseRoute

from adapters.pacing import ChannelPacer
from adapters.slack.translate import (
    COMMAND,
    PLATFORM,
    VOTE_ACTION,
    blocks,
    message_event,
    name_of,
    reaction_event,
    slash_anchor,
    slash_message,
    split_text,
    text_limit,
    vote_event,
)
from adapters.slack_ingress import SlackSignature, slack_payload
from adapters.toolkit.dispatch import perform_by_type
from bot.actions import Action, Button, Edit, React, Retract, Send, Upload
from bot.events import Event
from dihya.chat import AnchoredSink
from dihya.ingress import Delivery, Refused, Webhook
from dihya.settings import Settings

EVENTS_PATH = "/slack/events"
RETRIES = 3

log = logging.getLogger("dihya.slack")


class SlackError(Exception):
    """The Slack adapter cannot do what it was asked (misconfiguration, impossible action)."""


class SlackAdapter:
    """Slack ⇄ core. Identity is ``TEAM_ID/USER_ID`` (immutable ids; display names are decoration)."""

    platform = PLATFORM
    __slots__ = ("_app_token", "_bolt", "_max_body", "_pacer", "_runtime", "_signing_secret", "_socket", "_tasks",
                 "client")

    def __init__(self, runtime: AnchoredSink, settings: Settings) -> None:
        token = _secret(settings.slack_bot_token)
        signing_secret = _secret(settings.slack_signing_secret)
        self._app_token = _secret(settings.slack_app_token)
        if not token:
            raise SlackError("DIHYA_SLACK_BOT_TOKEN is not set")
        if not signing_secret and not self._app_token:
            raise SlackError("set DIHYA_SLACK_SIGNING_SECRET (HTTP mode) or DIHYA_SLACK_APP_TOKEN (Socket Mode)")
        self.client = web_client(token, settings.slack_api_url)
        self._pacer = ChannelPacer(per_second=1.0, burst=5)
        # process_before_response: listeners return at once (they only schedule work), and the
        # work is then ours to track, so shutdown and tests can wait for it. Requests are verified
        # before bolt sees them (routes); bolt's own messages quote request bodies, so only its
        # errors are logged.
        self._bolt = AsyncApp(client=self.client, signing_secret=signing_secret or "",
                              request_verification_enabled=False, process_before_response=True,
                              logger=_bolt_logger())
        self._signing_secret = signing_secret
        self._max_body = settings.slack_max_body_bytes
        self._socket: AsyncSocketModeHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._runtime = runtime
        self._listen()

    # -- lifecycle ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """``POST /slack/events`` for events, slash commands and interactivity; none without a signing secret."""
        if not self._signing_secret:
            return []
        verifier = SlackSignature(self._signing_secret.encode())
        return [Webhook(EVENTS_PATH, self._max_body, verifier, slack_payload, self._verified).route()]

    async def _verified(self, delivery: Delivery[dict[str, object]]) -> Response:
        """A signed body bolt can parse; bolt's request still reads ids out of it, and raises on odd shapes."""
        request = delivery.request
        try:
            bolt_request = AsyncBoltRequest(body=delivery.body.decode(), query=dict(request.query_params),
                                            headers=dict(request.headers))
        except (AttributeError, TypeError, KeyError, ValueError):
            raise Refused(400, "not a Slack payload") from None
        return to_starlette_response(await self._bolt.async_dispatch(bolt_request))

    async def start(self) -> None:
        if self._app_token:
            self._socket = AsyncSocketModeHandler(self._bolt, self._app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        await self.drain()

    async def drain(self) -> None:
        """Wait until every acknowledged delivery has been handled."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- inbound ------------------------------------------------------------------------------
    def _listen(self) -> None:
        self._bolt.command(COMMAND)(self._on_command)
        self._bolt.event("app_mention")(self._on_mention)
        self._bolt.event("message")(self._on_direct_message)
        self._bolt.event("reaction_added")(self._on_reaction)
        self._bolt.event("reaction_removed")(self._on_reaction)
        self._bolt.action(re.compile(f"^{VOTE_ACTION}"))(self._on_vote)
        self._bolt.error(self._on_bolt_error)

    async def _on_bolt_error(self, error: Exception) -> BoltResponse | None:
        """A signed payload of a shape bolt or a listener cannot read is a 400, not a 500; other errors
        keep bolt's 500 and are logged with their traceback (never the body)."""
        if isinstance(error, (AttributeError, TypeError, KeyError, ValueError)):
            log.warning("slack payload of an unexpected shape", exc_info=error)
            return BoltResponse(status=400, body='{"error": "not a Slack payload"}')
        log.error("slack request failed", exc_info=error)
        return None


    async def _on_command(self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        self._spawn(self._slash_command(command, context.team_id or ""))

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        self._dispatch(message_event(body, event, context.team_id or "", context.bot_user_id))

    async def _on_direct_message(self, body: dict[str, Any], event: dict[str, Any],
                                 context: AsyncBoltContext) -> None:
        if event.get("channel_type") == "im":  # channel messages reach us as app_mention
            self._dispatch(message_event(body, event, context.team_id or "", context.bot_user_id))

    async def _on_reaction(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        self._dispatch(reaction_event(body, event, context.team_id or "", context.bot_user_id))

    async def _on_vote(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                       context: AsyncBoltContext) -> None:
        await ack()
        self._dispatch(vote_event(body, action, context.team_id or ""))

    async def _slash_command(self, command: dict[str, Any], team: str) -> None:
        """A slash command has no message of its own: the runtime has one posted (once per delivery,
        naming only the command) so the reply has a thread and others see who asked."""

        async def anchor(shown: str) -> str:
            return await self._post(command["channel_id"], slash_anchor(command, shown), None)

        await self._runtime.dispatch_anchored(slash_message(command, team), anchor)

    def _dispatch(self, event: Event | None) -> None:
        if event is not None:
            self._spawn(self._runtime.dispatch(event))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack delivery failed", exc_info=task.exception())

    # -- outbound -----------------------------------------------------------------------------
    async def perform(self, action: Action, target: str | None) -> str | None:
        await self._pacer.wait(action.channel)  # Slack allows about one message a second per channel
        return await perform_by_type(self, action, target)

    async def send(self, action: Send) -> str:
        """Long texts go out as several messages; the first one (with the buttons) is the one the key names."""
        first, *rest = split_text(action.text, text_limit(action.buttons))
        ts = await self._post(action.channel, first, action.thread, action.buttons)
        for piece in rest:
            await self._post(action.channel, piece, action.thread)
        return ts

    async def _post(self, channel: str, mrkdwn: str, thread: str | None, buttons: Sequence[Button] = ()) -> str:
        response = await self.client.chat_postMessage(channel=channel, text=mrkdwn, thread_ts=thread,
                                                      blocks=blocks(mrkdwn, buttons) or None,
                                                      link_names=False, unfurl_links=False, unfurl_media=False)
        return str(response["ts"])

    async def edit(self, action: Edit, target: str | None) -> None:
        if target is None:
            raise SlackError(f"no Slack message for key {action.key!r}")
        pieces = split_text(action.text, text_limit(action.buttons) - 1)
        text = pieces[0] + ("…" if len(pieces) > 1 else "")
        # An empty block list removes the buttons the message had.
        await self.client.chat_update(channel=action.channel, ts=target, text=text, blocks=blocks(text, action.buttons))

    async def react(self, action: React) -> None:
        try:
            await self.client.reactions_add(channel=action.channel, timestamp=action.message_id,
                                            name=name_of(action.emoji))
        except SlackApiError as err:
            if err.response.get("error") != "already_reacted":  # a retried React is not a fault
                raise

    async def upload(self, action: Upload) -> str:
        # A spooled export goes from its file; slack_sdk reads it there.
        data: dict[str, Any] = ({"file": str(action.content)} if isinstance(action.content, Path)
                                else {"content": action.content})
        response = await self.client.files_upload_v2(channel=action.channel, thread_ts=action.thread,
                                                      filename=PurePath(action.filename).name,
                                                      title=action.title, **data)
        return str(response["files"][0]["id"])

    async def retract(self, action: Retract) -> None:  # noqa: ARG002 - nothing Slack lets the bot do
        """A bot token may delete only the bot's own messages (chat.delete answers
        cant_delete_message for anyone else's), so a person's message cannot be removed."""
        return


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """A Web API client that retries 429 (after Retry-After), 500/503 and dropped connections."""
    retries = [AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
               AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
               AsyncServerErrorRetryHandler(max_retry_count=RETRIES)]
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=retries)


def _bolt_logger() -> logging.Logger:
    quiet = logging.getLogger("dihya.slack.bolt")
    quiet.setLevel(logging.ERROR)
    return quiet


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
