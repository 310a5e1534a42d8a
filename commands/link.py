"""link: connect your identities on several platforms to one person, with a one-time code.

``link`` (in a direct message) gives you a short-lived code; ``link CODE`` sent from your account on
another platform attaches that account to you, so your roles follow you there. Only the code's
SHA-256 is stored. Codes are given only in direct messages: whoever sees a code can use it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping

from bot.argtypes import Name
from bot.clock import micros, now_us
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.registry import Arg, Command, Reply
from commands.common import say

CODE_SECONDS = 600
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are typed by hand


def link(ctx: Context, args: Mapping[str, object]) -> Reply:
    code = args.get("code")
    return redeem(ctx, str(code)) if code else issue(ctx)


def issue(ctx: Context) -> Reply:
    if not ctx.place.direct:
        raise UserError(N_("Ask me for a link code in a direct message: anyone who sees the code could use it."))
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    shown = f"{code[:4]}-{code[4:]}"
    expires = micros(ctx.services.clock() + CODE_SECONDS)
    ctx.services.store.link_code_put(code_hash(code), ctx.actor.key, expires)
    return Reply((Msg(N_("Your link code is {code}. Within {minutes} minutes, send “link {code}” from your account "
                         "on the other platform. It works once."), {"code": shown, "minutes": CODE_SECONDS // 60}),),
                 outcome="code_issued")


def redeem(ctx: Context, code: str) -> Reply:
    store = ctx.services.store
    subject = store.link_code_take(code_hash(code), now_us(ctx.services.clock))
    if subject is None:
        raise UserError(N_("That link code is unknown, used or expired; ask for a new one with “link”."))
    if subject == ctx.actor.key:
        raise UserError(N_("Send the code from your account on the other platform, not from this one."))
    linked = store.link_identities(subject, ctx.actor.key)
    for key in (subject, ctx.actor.key):
        ctx.services.identities.forget(key)
    target = store.pseudonym(subject)
    if not linked:
        return say(N_("These accounts are already linked."), target=target, outcome="unchanged")
    return Reply((Msg(N_("Linked: {me} and {other} are now one person; roles follow the person."),
                      {"me": ctx.actor.key, "other": subject}),), target=target)


def code_hash(code: str) -> str:
    normalised = code.upper().replace("-", "").strip()
    return hashlib.sha256(f"dihya-link:{normalised}".encode()).hexdigest()


COMMANDS = (
    Command(
        name="link",
        phrases={"en": ("link [{code}]",), "fr": ("lier [{code}]",), "ar": ("ربط [{code}]",),
                 "tzm": ("ⵇⵇⵏ [{code}]",)},
        args=(Arg("code", Name(), N_("link code"), optional=True),),
        permission="chat.basic",
        help=N_("Connect your accounts on several platforms: “link” gives a code, “link CODE” from the "
                "other account uses it."),
        handler=link,
        mutating=True,
        private=frozenset({"code"}),
        examples=("link", "link ABCD-EFGH"),
    ),
)
