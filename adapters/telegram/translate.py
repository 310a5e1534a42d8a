"""Telegram Bot API updates ⇄ core types: commands (``/deploy …``), messages that mention the bot
in groups and any text in a private chat become ``Message`` events; inline-button presses and
message reactions become ``Reaction`` events (the delivery id is the update id, so the core acts
once however often Telegram delivers an update). Outbound text is cut to Telegram's limits,
escaped, and given its buttons and reply."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence

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
from telegram.constants import ChatType, MessageLimit

from bot.actions import Button
from bot.events import Message, Place, Reaction, Sender

PLATFORM = "telegram"
BUTTON_PREFIX = "r:"  # callback data of our buttons: "r:" + emoji (anything else is not ours)
STAND_INS = frozenset({1087968824, 136817688, 777000})  # GroupAnonymousBot, Channel_Bot, Telegram itself
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION = MessageLimit.CAPTION_LENGTH


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
