"""Matrix events ⇄ core types. Inbound, ``!dihya …`` or a mention becomes a ``Message``, an
``m.reaction`` annotation a ``Reaction``, and the redaction of a reaction by its sender that
``Reaction`` withdrawn. Outbound, actions become event content: plain body and escaped HTML,
threads via ``m.thread``, ``m.replace`` edits, ``m.annotation`` reactions and files."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nio import MegolmEvent

from adapters.matrix.state import ReactionMemory
from adapters.toolkit.lru import CappedLru
from bot.actions import Button, Upload
from bot.emoji import bare
from bot.events import Event, Message, Place, Reaction, Sender

log = logging.getLogger("dihya.matrix")
PLATFORM = "matrix"
PREFIX = "!dihya"
HTML_FORMAT = "org.matrix.custom.html"
REMEMBERED_THREADS = 1000
JsonDict = dict[str, Any]
DisplayName = Callable[[str, str], str | None]  # (room id, user id) → the name the room shows


# -- addressing ---------------------------------------------------------------------------------
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


# -- inbound: raw event content → what the core needs ------------------------------------------
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
    return str(relates["event_id"]), bare(str(relates["key"]))


def _redacted_id(source: Mapping[str, Any]) -> str | None:
    redacts = source.get("redacts") or source.get("content", {}).get("redacts")
    return str(redacts) if redacts else None


def is_arrival(source: Mapping[str, Any], user_id: str) -> bool:
    """Is this the user's own arrival in the room (not a profile change while joined)?"""
    if source.get("type") != "m.room.member" or source.get("state_key") != user_id:
        return False
    previous = source.get("unsigned", {}).get("prev_content", {}).get("membership")
    return bool(source.get("content", {}).get("membership") == "join" and previous != "join")


def readable(room_id: str, event: Any) -> Mapping[str, Any]:
    """An event as the room sees it: nio has already decrypted what it could. One it could not
    (its room key never reached this device) stays ``m.room.encrypted``, which nothing acts on."""
    if isinstance(event, MegolmEvent):
        log.warning("an encrypted Matrix event could not be decrypted",
                    extra={"room_id": room_id, "event_id": event.event_id, "sender": event.sender})
    return event.source  # type: ignore[no-any-return]


# -- outbound: actions → event content ----------------------------------------------------------
def _formatted(text: str) -> JsonDict:
    """Plain body plus HTML where user text is escaped, never interpreted as markup."""
    return {"body": text, "format": HTML_FORMAT, "formatted_body": html.escape(text).replace("\n", "<br>")}


def _with_choices(text: str, buttons: tuple[Button, ...]) -> str:
    """Matrix has no buttons: offer the same choices as reactions (labels are translated)."""
    if not buttons:
        return text
    return text + "\n" + " · ".join(f"{b.emoji} {b.label}" for b in buttons)


def edit_content(text: str, buttons: tuple[Button, ...], target: str) -> JsonDict:
    shown = _with_choices(text, buttons)
    new = {"msgtype": "m.text", **_formatted(shown)}
    return {"msgtype": "m.text", **_formatted("* " + shown), "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}


def reaction_content(message_id: str, emoji: str) -> JsonDict:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": message_id, "key": emoji}}


def file_content(action: Upload, uri: str, mimetype: str, size: int, keys: Mapping[str, Any] | None = None) -> JsonDict:
    """A file message; in an encrypted room the file itself is encrypted and ``keys`` decrypt it."""
    kind = "m.image" if mimetype.startswith("image/") else "m.file"
    where: JsonDict = {"url": uri} if keys is None else {"file": {**keys, "url": uri}}
    return {"msgtype": kind, "body": action.title or action.filename, "filename": action.filename, **where,
            "info": {"mimetype": mimetype, "size": size}}


class Translator:
    """Events of the rooms → core events, and message content → threaded content. It remembers
    each thread's latest message (replies point at it for thread-unaware clients) and, through
    ``reactions``, the reactions it saw."""

    __slots__ = ("_names", "_reactions", "_thread_tail", "address", "user_id")

    def __init__(self, user_id: str, reactions: ReactionMemory, names: DisplayName) -> None:
        self.user_id = user_id
        self.address = addressing((PREFIX, user_id), (self.localpart,))
        self._reactions = reactions
        self._names = names
        self._thread_tail: CappedLru[str, str] = CappedLru(REMEMBERED_THREADS)

    @property
    def localpart(self) -> str:
        return self.user_id[1:].partition(":")[0]

    def answer_to(self, display_name: str | None) -> None:
        """Also answer to the bot's display name (and its localpart), longest first."""
        names = {self.localpart, display_name or self.localpart}
        self.address = addressing((PREFIX, self.user_id), sorted(names, key=len, reverse=True))

    # -- inbound ---------------------------------------------------------------------------
    def event(self, room_id: str, source: Mapping[str, Any]) -> Event | None:
        sender = str(source.get("sender", ""))
        if not sender or sender == self.user_id or "event_id" not in source:
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
        text = command_text(str(content.get("body", "")), self.address)
        if text is None:
            return None
        event_id = str(source["event_id"])
        root = _thread_root(content)
        self._thread_tail.put(root or event_id, event_id)
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
        return Sender(PLATFORM, user_id, self._names(room_id, user_id) or "")

    # -- outbound --------------------------------------------------------------------------
    def message(self, text: str, buttons: tuple[Button, ...], thread: str | None) -> JsonDict:
        return self.threaded({"msgtype": "m.text", **_formatted(_with_choices(text, buttons))}, thread)

    def threaded(self, content: JsonDict, thread: str | None) -> JsonDict:
        if thread is None:
            return content
        relates = {"rel_type": "m.thread", "event_id": thread, "is_falling_back": True,
                   "m.in_reply_to": {"event_id": self._thread_tail.get(thread, thread)}}
        return {**content, "m.relates_to": relates}
