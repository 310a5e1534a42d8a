"""Every command family, listed explicitly (no import-time magic): the registry is built from ``ALL``."""

from __future__ import annotations

from bot.registry import Command
from commands import alerts as alert_commands  # issue 5
from commands import api_tokens as api_token_commands  # issue 13
from commands import (
    audit,
    deploy,
    gdpr,
    help,
    identity,
    inventory,
    jobs,
    link,
    pipelines,  # issue 15
    playbook,
    secrets,
)
from commands import incidents as incident_commands  # issue 5
from commands import logs as log_commands  # issue 14
from commands import monitoring as monitoring_commands  # issue 5
from commands import scripts as script_commands  # issue 14

ALL: tuple[Command, ...] = (
    *help.COMMANDS,
    *identity.COMMANDS,
    *inventory.COMMANDS,
    *deploy.COMMANDS,
    *playbook.COMMANDS,
    *jobs.COMMANDS,
    *audit.COMMANDS,
    # compliance (issue 6) and identity links (issue 4)
    *gdpr.COMMANDS,
    *secrets.COMMANDS,
    *link.COMMANDS,
    # monitoring, alerts and incidents (issue 5)
    *monitoring_commands.COMMANDS,
    *alert_commands.COMMANDS,
    *incident_commands.COMMANDS,
    # REST API tokens (issue 13)
    *api_token_commands.COMMANDS,
    *pipelines.COMMANDS,  # CI/CD pipelines (issue 15)
    # scripts and logs (issue 14)
    *script_commands.COMMANDS,
    *log_commands.COMMANDS,
)
