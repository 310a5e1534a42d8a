"""Every command family, listed explicitly (no import-time magic): the registry is built from ``ALL``."""

from __future__ import annotations

from bot.registry import Command
from commands import audit, help, identity, inventory

ALL: tuple[Command, ...] = (
    *help.COMMANDS,
    *identity.COMMANDS,
    *inventory.COMMANDS,
    *audit.COMMANDS,
)
