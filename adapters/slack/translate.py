"""Slack payloads ⇄ core types. Inbound, app mentions, direct messages and the ``/dihya`` slash
command become ``Message`` events, reactions and button presses ``Reaction`` events (identity is
``TEAM_ID/USER_ID``; the delivery id is Slack's event, trigger or action id, so a retried delivery
acts once). Outbound, text becomes escaped mrkdwn in pieces under Slack's limits, with Block Kit
buttons whose value is the emoji a press stands for."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.actions import Button
from bot.approvals import vote_of
from bot.emoji import bare
from bot.events import Message, Place, Reaction, Sender

PLATFORM = "slack"
COMMAND = "/dihya"
MAX_TEXT = 3900  # Slack truncates message text at 40k but advises staying under 4k
MAX_SECTION = 3000  # hard limit of a Block Kit section's text
VOTE_ACTION = "dihya_vote"

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
Payload = dict[str, Any]


# -- inbound: payloads → events ------------------------------------------------------------------
def sender(team: str, user: str, display_name: str = "") -> Sender:
    return Sender(PLATFORM, f"{team}/{user}", display_name)


def message_event(body: Payload, event: Payload, team: str, bot_user: str | None) -> Message | None:
    """An app mention or direct message; edits, joins and bots (ourselves included) are not commands."""
    user = event.get("user")
    if event.get("subtype") or event.get("bot_id") or not user or user == bot_user:
        return None
    text = plain_text(event.get("text", ""), team, bot_user)
    place = Place(PLATFORM, event["channel"], event.get("thread_ts"), direct=event.get("channel_type") == "im")
    return Message(f"slack:event:{body['event_id']}", sender(team, user), place, event["ts"], text)


def reaction_event(body: Payload, event: Payload, team: str, bot_user: str | None) -> Reaction | None:
    item = event.get("item") or {}
    user = event.get("user")
    if item.get("type") != "message" or not user or user == bot_user:
        return None
    # The reactor is event["user"]; item_user (the message's author) is never trusted.
    return Reaction(f"slack:event:{body['event_id']}", sender(team, user), Place(PLATFORM, item["channel"]),
                    item["ts"], emoji_of(event["reaction"]), added=event["type"] == "reaction_added")


def vote_event(body: Payload, action: Payload, team: str) -> Reaction:
    """A press of one of our buttons: the same as reacting with the emoji it stands for."""
    user = body["user"]
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {})["id"]
    place = Place(PLATFORM, channel, message.get("thread_ts"))
    return Reaction(f"slack:action:{body['trigger_id']}", sender(team, user["id"], user.get("username", "")),
                    place, container.get("message_ts") or message["ts"], str(action["value"]))


def slash_message(command: Payload, team: str) -> Message:
    """A slash command has no message of its own (``posted=False``): the runtime has one posted."""
    user, channel = command["user_id"], command["channel_id"]
    text = plain_text(command.get("text", ""), team, None)
    place = Place(PLATFORM, channel, direct=channel.startswith("D"))
    return Message(f"slack:command:{command['trigger_id']}", sender(team, user, command.get("user_name", "")),
                   place, "", text, posted=False)


def slash_anchor(command: Payload, shown: str) -> str:
    """The message posted for a slash command: who asked, and the command as the core shows it."""
    return f"<@{command['user_id']}> {COMMAND} {escape(shown)}".rstrip()


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
    stripped = _SKIN_TONE.sub("", name)
    return EMOJI_BY_NAME.get(stripped, f":{stripped}:")


def name_of(emoji: str) -> str:
    """The core's emoji → the reaction name ``reactions.add`` wants."""
    return NAME_BY_EMOJI.get(bare(emoji), emoji.strip(":"))


# -- outbound: text → mrkdwn and blocks ------------------------------------------------------------
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


def text_limit(buttons: Sequence[Button]) -> int:
    """Text with buttons goes in a Block Kit section, which holds less."""
    return MAX_SECTION if buttons else MAX_TEXT


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
