"""playbook run: run an Ansible playbook from the catalog (after approval)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Name
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_
from bot.registry import Arg, Command, Reply
from commands.common import start_job

PLAYBOOK_TIMEOUT_S = 1800


def run_playbook(ctx: Context, args: Mapping[str, object]) -> Reply:
    name = str(args["name"])
    ctx.services.catalog.playbook(name)  # unknown names are refused before anything is queued
    target = str(args.get("target") or "localhost")
    if target != "localhost" and ctx.services.store.server(target) is None:
        raise UserError(N_("No server named {name}. “servers list” shows them."), name=target)
    return start_job(ctx, "playbook", {"name": name, "target": target}, PLAYBOOK_TIMEOUT_S)


COMMANDS = (
    Command(
        name="playbook.run",
        phrases={"en": ("playbook run {name} [on {target}]",),
                 "fr": ("playbook lancer {name} [sur {target}]", "lancer playbook {name} [sur {target}]"),
                 "ar": ("شغل كتيب {name} [على {target}]",),
                 "tzm": ("ⵙⵙⵉⴷⴼ ⴰⴷⵍⵉⵙ {name} [ⴼ {target}]",)},
        args=(Arg("name", Name(), N_("playbook")), Arg("target", Name(), N_("server name"), optional=True)),
        permission="ops.run",
        help=N_("Run a playbook from the catalog, on localhost or a server (needs approval)."),
        handler=run_playbook,
        job=True,
        mutating=True,
        examples=("playbook run deploy-web on localhost",),
    ),
)
