"""help, ping: what can I do here, and is the bot alive."""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Text
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg, Verbatim
from bot.rbac import Decision
from bot.registry import Arg, Command, Reply
from bot.text import fold


def _may_run(ctx: Context, command: Command) -> bool:
    policy = ctx.services.policy
    return any(policy.decide(ctx.actor.roles, p) is not Decision.DENY for p in command.possible_permissions)


def _line(ctx: Context, command: Command) -> Msg:
    phrase = command.phrases[ctx.locale][0]
    return Msg(N_("• {usage} — {help}"), {"usage": Verbatim(phrase), "help": Msg(command.help)})


def _overview(ctx: Context) -> Reply:
    allowed = [c for c in ctx.services.registry.commands.values() if _may_run(ctx, c)]
    header = Msg(N_("Commands you can run ({count}); “help COMMAND” tells more:"), {"count": len(allowed)})
    return Reply((header, *(_line(ctx, c) for c in allowed)))


def _one(ctx: Context, wanted: str) -> Reply:
    key = fold(" ".join(wanted.split()))
    for command in ctx.services.registry.commands.values():
        phrases = [p for loc in command.phrases for p in command.phrases[loc]]
        if any(fold(p).startswith(key) for p in phrases) and _may_run(ctx, command):
            usage = " | ".join(command.phrases[ctx.locale])
            return Reply((Msg(command.help), Msg(N_("Usage: {usage}"), {"usage": Verbatim(usage)})))
    raise UserError(N_("No command “{name}” that you can run. Type “help” for the list."), name=wanted)


def show_help(ctx: Context, args: Mapping[str, object]) -> Reply:
    wanted = args.get("command")
    return _one(ctx, str(wanted)) if wanted else _overview(ctx)


def ping(ctx: Context, args: Mapping[str, object]) -> Reply:
    return Reply((Msg(N_("pong")),))


COMMANDS = (
    Command(
        name="help",
        phrases={
            "en": ("help [{command}]",),
            "fr": ("aide [{command}]",),
            "ar": ("مساعدة [{command}]",),
            "tzm": ("ⵜⴰⵡⵉⵙⵉ [{command}]",),
        },
        args=(Arg("command", Text(max_length=100), N_("command"), optional=True),),
        permission="chat.basic",
        help=N_("List the commands you may run, or explain one."),
        handler=show_help,
        examples=("help", "help servers"),
    ),
    Command(
        name="ping",
        phrases={"en": ("ping",), "fr": ("ping",), "ar": ("بينغ",), "tzm": ("ⴱⵉⵏⴳ",)},
        permission="chat.basic",
        help=N_("Check that the bot is listening."),
        handler=ping,
        examples=("ping",),
    ),
)
