"""Every command family, listed explicitly (no import-time magic): the registry is built from ``ALL``."""

from __future__ import annotations

from bot.registry import Command
from commands import audit, deploy, help, identity, inventory, jobs, playbook

ALL: tuple[Command, ...] = (
    *help.COMMANDS,
    *identity.COMMANDS,
    *inventory.COMMANDS,
    *deploy.COMMANDS,
    *playbook.COMMANDS,
    *jobs.COMMANDS,
    *audit.COMMANDS,
)
