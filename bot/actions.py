"""Platform-neutral outbound actions. The core returns these; adapters perform them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Button:
    """A one-click answer offered under a message. Pressing it means the same as reacting with
    ``emoji`` (adapters turn the press into a ``Reaction`` event); ``label`` is already translated."""

    emoji: str
    label: str


@dataclass(frozen=True, slots=True)
class Send:
    """Post ``text`` in a channel (in ``thread`` when set).

    ``key`` names the message inside the core (``"approval:12"``) so later edits
    and reactions can address it whatever id the platform gives it.
    """

    channel: str
    text: str
    thread: str | None = None
    key: str | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text (and buttons: none removes them) of a message the bot sent under ``key``."""

    channel: str
    key: str
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class React:
    channel: str
    message_id: str
    emoji: str


@dataclass(frozen=True, slots=True)
class Upload:
    """Post a file. ``content`` is its bytes, or the path of a spooled file too large to hold in
    memory (an export): adapters read it from disk, and the runtime deletes it once performed."""

    channel: str
    filename: str
    content: bytes | Path
    title: str
    thread: str | None = None


@dataclass(frozen=True, slots=True)
class Retract:
    """Remove a person's message that carried a confidential value where others can read it (the
    platform may not let the bot), then post ``removed`` or ``kept`` in ``thread``, saying which.

    The adapter's ``perform`` returns the message id when it removed it, ``None`` when it could not.
    """

    channel: str
    message_id: str
    removed: str
    kept: str
    thread: str | None = None


Action = Send | Edit | React | Upload | Retract
