"""scripts, script run: run a catalogued script (Python, Bash, Node.js) or playbook as a job.

Each script's permission (and so its approval policy) comes from the script catalog: the one
``script run`` declaration is bound to the catalog when the registry is built (``with_scripts``).
The handlers take parsed arguments only, so the HTTP API calls them with ``api_args`` built from a
JSON body (``{"nom", "cible", "parametres"}``) exactly as chat does from a phrase.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from bot.argtypes import KeyValues, Name
from bot.context import Context
from bot.i18n import N_, Msg
from bot.registry import Arg, ByArgument, Command, Reply
from bot.scripts import DEFAULT_PERMISSION, ScriptCatalog, check_target, checked_params
from commands.common import say, start_job

RUN = "script.run"
KILL_GRACE_S = 15  # the job outlives the script's own timeout by this much, so the sandbox reports why it ended


def _allowed(ctx: Context) -> frozenset[str]:
    policy = ctx.services.policy
    return frozenset(name for name, permission in ctx.services.scripts.permissions().items()
                     if policy.holds(ctx.actor.roles, permission))


def list_scripts(ctx: Context, args: Mapping[str, object]) -> Reply:
    allowed = _allowed(ctx)
    if not allowed:
        return say(N_("There is no script you may run."))
    rows = []
    for name in sorted(allowed):
        script = ctx.services.scripts.scripts[name]
        approval = Msg(N_(" (needs approval)")) if script.permission in ctx.services.policy.approvals else ""
        rows.append(Msg(N_("• {name} [{language}] {usage} — on {targets}{approval}: {description}"),
                        {"name": name, "language": script.language, "usage": script.usage() or "-",
                         "targets": ", ".join(script.targets), "approval": approval,
                         "description": script.description}))
    return Reply((Msg(N_("Scripts you may run ({count}):"), {"count": len(rows)}), *rows))


def run_script(ctx: Context, args: Mapping[str, object]) -> Reply:
    script = ctx.services.scripts.script(str(args["name"]), _allowed(ctx))
    target = check_target(script, str(args["target"]) if args.get("target") else None)
    values = checked_params(script, KeyValues.pairs(args.get("params")))
    params = KeyValues.render({name: values[name] for name in sorted(values)})
    return start_job(ctx, "script", {"name": script.name, "target": target, "params": params},
                     script.timeout_s + KILL_GRACE_S)


def api_args(nom: str, cible: str | None = None, parametres: Mapping[str, object] | None = None) -> dict[str, object]:
    """``script run``'s raw arguments from the HTTP API's body (``POST /api/it_devops/scripts/``); the
    adapter converts them with the declared argument types, as the parser does."""
    args: dict[str, object] = {"name": nom}
    if cible:
        args["target"] = cible
    if parametres:
        args["params"] = KeyValues.render(parametres)
    return args


def with_scripts(commands: Iterable[Command], catalog: ScriptCatalog) -> tuple[Command, ...]:
    """The commands, with ``script run`` needing each script's own permission (unknown names: the default)."""
    permission = ByArgument("name", dict(catalog.permissions()), DEFAULT_PERMISSION)
    return tuple(dataclasses.replace(c, permission=permission) if c.name == RUN else c for c in commands)


COMMANDS = (
    Command(
        name="scripts",
        phrases={"en": ("scripts",), "fr": ("scripts",), "ar": ("السكربتات", "سكربتات"),
                 "tzm": ("ⵉⵙⴽⵔⵉⴱⵜⵏ",)},
        permission="chat.basic",
        help=N_("List the scripts and playbooks you may run, with their parameters."),
        handler=list_scripts,
        examples=("scripts",),
    ),
    Command(
        name=RUN,
        # The short form of each phrase is listed too: without optional parts, it takes the parser's fast path.
        phrases={"en": ("script run {name} [on {target}] [{params}]", "script run {name}"),
                 "fr": ("script lancer {name} [sur {target}] [{params}]", "script lancer {name}"),
                 "ar": ("شغل سكربت {name} [على {target}] [{params}]", "شغل سكربت {name}"),
                 "tzm": ("ⵙⵙⵉⴷⴼ ⴰⵙⴽⵔⵉⴱⵜ {name} [ⴼ {target}] [{params}]", "ⵙⵙⵉⴷⴼ ⴰⵙⴽⵔⵉⴱⵜ {name}")},
        args=(Arg("name", Name(), N_("script")), Arg("target", Name(), N_("target"), optional=True),
              Arg("params", KeyValues(), N_("parameters"), optional=True)),
        permission=DEFAULT_PERMISSION,
        help=N_("Run a catalogued script or playbook with KEY=VALUE parameters (“scripts” lists them)."),
        handler=run_script,
        job=True,
        mutating=True,
        examples=("script run disk-report path=/tmp",),
    ),
)
