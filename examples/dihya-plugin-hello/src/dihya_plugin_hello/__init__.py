"""hello: greets someone, in the language they wrote in. The smallest complete Dihya plugin."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.argtypes import Name
from bot.context import Context
from bot.i18n import N_, Msg
from bot.registry import Arg, Command, Reply

LOCALES = Path(__file__).resolve().parent / "locales"  # hello.po per language (entry point dihya.catalogs)
PERMISSION = "hello.greet"  # namespaced; admin-only unless the RBAC matrix grants it


def greet(ctx: Context, args: Mapping[str, object]) -> Reply:
    who = args.get("who") or ctx.actor.display_name or ctx.actor.pseudonym
    return Reply((Msg(N_("Hello, {who}! This greeting comes from a plugin."), {"who": who}),), target=str(who))


COMMANDS: tuple[Command, ...] = (
    Command(
        name="hello.greet",
        phrases={"en": ("hello [{who}]",), "fr": ("bonjour [{who}]",), "ar": ("مرحبا [{who}]",),
                 "tzm": ("ⴰⵣⵓⵍ [{who}]",)},
        args=(Arg("who", Name(), N_("name"), optional=True),),
        permission=PERMISSION,
        help=N_("Greet someone (an example plugin)."),
        examples=("hello ada",),
        handler=greet,
    ),
)
