"""What the dispatcher returns for one event: actions to perform, whether they wait for the audit
flush, and I/O-bound work the runtime runs off the loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.actions import Action
from bot.context import Context
from bot.registry import Reply


@dataclass(frozen=True, slots=True)
class Later:
    """A command's I/O-bound remainder, run off the loop by the runtime, then ``finish``-ed by the bot."""

    ctx: Context
    command: str
    args: Mapping[str, object]
    work: Callable[[], Reply]
    ref: str = ""
    action: str = ""  # the audit row's action; "command:<command>" when empty (a reaction names its own)


@dataclass(slots=True)  # built for every message: a frozen init costs ~3x per field
class Outcome:
    actions: tuple[Action, ...] = ()
    durable: bool = False
    later: tuple[Later, ...] = ()


IGNORED = Outcome()
