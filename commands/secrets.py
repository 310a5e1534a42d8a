"""secret set / secrets / secret delete: named secrets for runners, encrypted at rest.

Values are accepted only in a direct message, never echoed and never audited (the value argument
is confidential: its audit row records the name only, and a ``secret set`` sent where others can
read it is removed when the platform lets the bot do so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.argtypes import Name, Text
from bot.clock import now_us, utc_datetime
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.ports import Compliance
from bot.registry import Arg, Command, Reply
from commands.common import say

SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def secret_set(ctx: Context, args: Mapping[str, object]) -> Reply:
    if not ctx.place.direct:
        raise UserError(N_("I did not store it: secrets are accepted only in a direct message. Everyone here "
                           "may have seen that value, so rotate it (make a new one where it comes from), "
                           "then send “secret set NAME VALUE” to me in a direct message."))
    name = _name(args)
    _compliance(ctx).secret_set(name, str(args["value"]), now_us(ctx.services.clock))
    return say(N_("Secret {name} stored, encrypted. I will not show its value."), target=name, name=name)


def secret_list(ctx: Context, args: Mapping[str, object]) -> Reply:
    found = _compliance(ctx).secret_names()
    if not found:
        return say(N_("No secrets are stored."))
    rows = [Msg(N_("• {name} (set {date})"), {"name": s.name, "date": _date(s.updated_us)}) for s in found]
    return Reply((Msg(N_("Stored secrets (names only):")), *rows))


def secret_delete(ctx: Context, args: Mapping[str, object]) -> Reply:
    name = _name(args)
    if not _compliance(ctx).secret_delete(name):
        return say(N_("No secret named {name}."), target=name, outcome="unchanged", name=name)
    return say(N_("Secret {name} deleted."), target=name, name=name)


def _name(args: Mapping[str, object]) -> str:
    name = str(args["name"])
    if SECRET_NAME.fullmatch(name) is None:
        raise UserError(N_("A secret name is letters, digits and “_”, and does not start with a digit."))
    return name


def _compliance(ctx: Context) -> Compliance:
    if ctx.services.compliance is None:
        raise UserError(N_("Secrets are not available in this deployment."))
    return ctx.services.compliance


def _date(ts_us: int) -> str:
    return utc_datetime(ts_us).strftime("%Y-%m-%d %H:%M UTC")


_NAME = Arg("name", Name(), N_("secret name"))

COMMANDS = (
    Command(
        name="secret.set",
        phrases={"en": ("secret set {name} {value}",), "fr": ("secret définir {name} {value}",),
                 "ar": ("سر تعيين {name} {value}",), "tzm": ("ⴰⴼⴼⵔ ⵙⵔⵙ {name} {value}",)},
        args=(_NAME, Arg("value", Text(max_length=4000), N_("secret value"), confidential=True)),
        permission="secrets.manage",
        help=N_("Store a secret for runners, encrypted (only in a direct message)."),
        handler=secret_set,
        mutating=True,
        examples=("secret set registry_password example-value",),
    ),
    Command(
        name="secret.list",
        phrases={"en": ("secrets", "secret list"), "fr": ("secrets", "secret liste"),
                 "ar": ("أسرار", "سر قائمة"), "tzm": ("ⵉⴼⴼⵔⴰ", "ⴰⴼⴼⵔ ⵜⴰⵍⴳⴰⵎⵜ")},
        permission="secrets.manage",
        help=N_("List stored secrets: names and dates, never values."),
        handler=secret_list,
        examples=("secrets",),
    ),
    Command(
        name="secret.delete",
        phrases={"en": ("secret delete {name}",), "fr": ("secret supprimer {name}",),
                 "ar": ("سر حذف {name}",), "tzm": ("ⴰⴼⴼⵔ ⴽⴽⵙ {name}",)},
        args=(_NAME,),
        permission="secrets.manage",
        help=N_("Delete a stored secret."),
        handler=secret_delete,
        mutating=True,
        examples=("secret delete registry_password",),
    ),
)
