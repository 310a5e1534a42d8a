"""The Slack adapter: Events API, the ``/dihya`` slash command and interactivity, over HTTP
(``POST /slack/events`` on the ``dihya serve`` app) or Socket Mode, translated into core events;
core actions become Web API calls.

Ack fast: listeners only translate the payload and schedule the work, so Slack gets its 200
before the command runs. Size, signature and the 5-minute replay window are checked by the shared
ingress (``adapters.slack_ingress``) on the raw bytes, before bolt parses anything: bolt only ever
sees signed bodies it can read, so its own verification (which logs rejected bodies) is off.
Retried deliveries carry the same ``event_id``, which becomes the core's delivery id, so they act once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Protocol

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

from adapters.base import Performer
from adapters.pacing import ChannelPacer
from adapters.slack_ingress import SlackSignature, slack_payload
from bot.actions import Action, Button, Edit, React, Send, Upload
from bot.approvals import vote_of
from bot.events import Event, Message, Place, Reaction, Sender
from dihya.ingress import Delivery, Refused, Webhook
from dihya.settings import Settings

PLATFORM = "slack"
COMMAND = "/dihya"
EVENTS_PATH = "/slack/events"
MAX_TEXT = 3900  # Slack truncates message text at 40k but advises staying under 4k
MAX_SECTION = 3000  # hard limit of a Block Kit section's text
VOTE_ACTION = "dihya_vote"
RETRIES = 3

# Slack names the reactions; the core speaks Unicode. The first name of an emoji is the one we send.
EMOJI_BY_NAME: Mapping[str, str] = {
    "white_check_mark": "✅", "heavy_check_mark": "✔", "+1": "👍", "thumbsup": "👍",
    "-1": "👎", "thumbsdown": "👎", "x": "❌", "heavy_multiplication_x": "✖",
    "eyes": "👀", "no_bell": "🔕", "rotating_light": "🚨",
}
NAME_BY_EMOJI: Mapping[str, str] = {e: n for n, e in reversed(list(EMOJI_BY_NAME.items()))}

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_UNESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_ESCAPED = re.compile("[&<>]")
_MARKUP = re.compile(r"<(?P<target>[^<>|]+)(?:\|(?P<label>[^<>]*))?>")
_SKIN_TONE = re.compile(r"::skin-tone-\d$")

log = logging.getLogger("dihya.slack")


class SlackError(Exception):
    """The Slack adapter cannot do what it was asked (misconfiguration, impossible action)."""


class EventSink(Protocol):
    """The part of ``dihya.runtime.Runtime`` an adapter talks to."""

    def attach(self, adapter: Performer) -> None: ...
    async def dispatch(self, event: Event) -> None: ...
    async def dispatch_anchored(self, message: Message, anchor: Callable[[str], Awaitable[str]]) -> None: ...


class SlackAdapter:
    """Slack ⇄ core. Identity is ``TEAM_ID/USER_ID`` (immutable ids; display names are decoration)."""

    platform = PLATFORM
    __slots__ = ("_app_token", "_bolt", "_max_body", "_pacer", "_runtime", "_signing_secret", "_socket", "_tasks",
                 "client")

    def __init__(self, runtime: EventSink, settings: Settings) -> None:
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
        runtime.attach(self)

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
        self._message_event(body, event, context)

    async def _on_direct_message(self, body: dict[str, Any], event: dict[str, Any],
                                 context: AsyncBoltContext) -> None:
        if event.get("channel_type") == "im":  # channel messages reach us as app_mention
            self._message_event(body, event, context)

    async def _on_reaction(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        item = event.get("item") or {}
        user = event.get("user")
        if item.get("type") != "message" or not user or user == context.bot_user_id:
            return
        # The reactor is event["user"]; item_user (the message's author) is never trusted.
        reaction = Reaction(f"slack:event:{body['event_id']}", _sender(context, user),
                            Place(PLATFORM, item["channel"]), item["ts"], emoji_of(event["reaction"]),
                            added=event["type"] == "reaction_added")
        self._spawn(self._runtime.dispatch(reaction))

    async def _on_vote(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                       context: AsyncBoltContext) -> None:
        await ack()
        user = body["user"]
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {})["id"]
        place = Place(PLATFORM, channel, message.get("thread_ts"))
        press = Reaction(f"slack:action:{body['trigger_id']}", _sender(context, user["id"], user.get("username", "")),
                         place, container.get("message_ts") or message["ts"], str(action["value"]))
        self._spawn(self._runtime.dispatch(press))

    def _message_event(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        user = event.get("user")
        if event.get("subtype") or event.get("bot_id") or not user or user == context.bot_user_id:
            return  # edits, joins, bots (ourselves included) are not commands
        text = plain_text(event.get("text", ""), context.team_id or "", context.bot_user_id)
        place = Place(PLATFORM, event["channel"], event.get("thread_ts"), direct=event.get("channel_type") == "im")
        message = Message(f"slack:event:{body['event_id']}", _sender(context, user), place, event["ts"], text)
        self._spawn(self._runtime.dispatch(message))

    async def _slash_command(self, command: dict[str, Any], team: str) -> None:
        """A slash command has no message of its own: the runtime has one posted (once per delivery,
        naming only the command) so the reply has a thread and others see who asked."""
        user, channel = command["user_id"], command["channel_id"]
        text = plain_text(command.get("text", ""), team, None)
        sender = Sender(PLATFORM, f"{team}/{user}", command.get("user_name", ""))
        place = Place(PLATFORM, channel, direct=channel.startswith("D"))
        message = Message(f"slack:command:{command['trigger_id']}", sender, place, "", text, posted=False)

        async def anchor(shown: str) -> str:
            return await self._post(channel, f"<@{user}> {COMMAND} {escape(shown)}".rstrip(), None)

        await self._runtime.dispatch_anchored(message, anchor)

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
        if isinstance(action, Send):
            return await self._send(action)
        if isinstance(action, Edit):
            await self._edit(action, target)
        elif isinstance(action, React):
            await self._react(action)
        elif isinstance(action, Upload):
            return await self._upload(action)
        # Retract: a bot token may delete only the bot's own messages (chat.delete answers
        # cant_delete_message for anyone else's), so a person's message cannot be removed.
        return None

    async def _send(self, action: Send) -> str:
        """Long texts go out as several messages; the first one (with the buttons) is the one the key names."""
        first, *rest = split_text(action.text, MAX_SECTION if action.buttons else MAX_TEXT)
        ts = await self._post(action.channel, first, action.thread, action.buttons)
        for piece in rest:
            await self._post(action.channel, piece, action.thread)
        return ts

    async def _post(self, channel: str, mrkdwn: str, thread: str | None, buttons: Sequence[Button] = ()) -> str:
        response = await self.client.chat_postMessage(channel=channel, text=mrkdwn, thread_ts=thread,
                                                      blocks=blocks(mrkdwn, buttons) or None,
                                                      link_names=False, unfurl_links=False, unfurl_media=False)
        return str(response["ts"])

    async def _edit(self, action: Edit, target: str | None) -> None:
        if target is None:
            raise SlackError(f"no Slack message for key {action.key!r}")
        pieces = split_text(action.text, (MAX_SECTION if action.buttons else MAX_TEXT) - 1)
        text = pieces[0] + ("…" if len(pieces) > 1 else "")
        # An empty block list removes the buttons the message had.
        await self.client.chat_update(channel=action.channel, ts=target, text=text, blocks=blocks(text, action.buttons))

    async def _react(self, action: React) -> None:
        try:
            await self.client.reactions_add(channel=action.channel, timestamp=action.message_id,
                                            name=name_of(action.emoji))
        except SlackApiError as err:
            if err.response.get("error") != "already_reacted":  # a retried React is not a fault
                raise

    async def _upload(self, action: Upload) -> str:
        # A spooled export goes from its file; slack_sdk reads it there.
        data: dict[str, Any] = ({"file": str(action.content)} if isinstance(action.content, Path)
                                else {"content": action.content})
        response = await self.client.files_upload_v2(channel=action.channel, thread_ts=action.thread,
                                                      filename=PurePath(action.filename).name,
                                                      title=action.title, **data)
        return str(response["files"][0]["id"])


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """A Web API client that retries 429 (after Retry-After), 500/503 and dropped connections."""
    retries = [AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
               AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
               AsyncServerErrorRetryHandler(max_retry_count=RETRIES)]
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=retries)


def escape(text: str) -> str:
    """Plain text → mrkdwn that shows it literally: no mentions, no ``<!channel>``, no links."""
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group()], text)


def split_text(text: str, limit: int) -> list[str]:
    """Escape ``text`` into pieces of at most ``limit`` characters, cut at a line break when one is
    near and never inside an entity."""
    pieces: list[str] = []
    rest = text
    while len(escape(rest)) > limit:
        cut = _cut(rest, limit)
        pieces.append(escape(rest[:cut]).rstrip())
        rest = rest[cut:]
    pieces.append(escape(rest).rstrip())
    return [p for p in pieces if p] or [""]


def _cut(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` once escaped (preferring a line end)."""
    used, fits = 0, 0
    for ch in text:
        used += len(_ESCAPES.get(ch, ch))
        if used > limit:
            break
        fits += 1
    newline = text.rfind("\n", 0, fits)
    return newline + 1 if newline >= fits // 2 else max(fits, 1)


def plain_text(text: str, team: str, bot_user: str | None) -> str:
    """Slack's inbound markup → the plain text the core parses: the bot's mention goes, a user's
    mention becomes their identity (``TEAM/USER``), a link its label, entities their character."""

    def one(m: re.Match[str]) -> str:
        target, label = m["target"], m["label"]
        if target.startswith("@"):
            return "" if target[1:] == bot_user else f"{team}/{target[1:]}"
        if target.startswith("!"):
            return label or f"@{target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        return label or target.removeprefix("mailto:")

    text = _MARKUP.sub(one, text)
    for entity, char in _UNESCAPES:
        text = text.replace(entity, char)
    return text.strip()


def emoji_of(name: str) -> str:
    """A Slack reaction name → the emoji the core knows (``:name:`` when it knows none)."""
    bare = _SKIN_TONE.sub("", name)
    return EMOJI_BY_NAME.get(bare, f":{bare}:")


def name_of(emoji: str) -> str:
    """The core's emoji → the reaction name ``reactions.add`` wants."""
    return NAME_BY_EMOJI.get(emoji.replace("\ufe0f", ""), emoji.strip(":"))


def blocks(mrkdwn: str, buttons: Sequence[Button]) -> list[dict[str, Any]]:
    """The text and a row of buttons whose value is the emoji a press stands for (no buttons: no blocks)."""
    if not buttons:
        return []
    elements = [_button(i, b) for i, b in enumerate(buttons)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}},
            {"type": "actions", "block_id": VOTE_ACTION, "elements": elements}]


def _button(index: int, button: Button) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "action_id": f"{VOTE_ACTION}_{index}", "value": button.emoji,
                               "text": {"type": "plain_text", "text": button.label[:75], "emoji": True}}
    vote = vote_of(button.emoji)
    if vote is not None:
        element["style"] = "primary" if vote else "danger"
    return element


def _sender(context: AsyncBoltContext, user: str, display_name: str = "") -> Sender:
    return Sender(PLATFORM, f"{context.team_id or ''}/{user}", display_name)


def _bolt_logger() -> logging.Logger:
    quiet = logging.getLogger("dihya.slack.bolt")
    quiet.setLevel(logging.ERROR)
    return quiet


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
