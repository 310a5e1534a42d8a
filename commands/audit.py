"""audit verify: check the audit log's hash chain from chat (``dihya audit verify`` does it from a shell)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.audit import verify
from bot.context import Context
from bot.i18n import N_, Msg
from bot.registry import Command, Reply
from commands.common import say


def audit_verify(ctx: Context, args: Mapping[str, object]) -> Reply:
    store = ctx.services.store
    verdict = verify(store.audit_records(), store.audit_head())
    if verdict.ok:
        return say(N_("Audit log intact: {count} rows, chain verified."), count=verdict.checked)
    return Reply((Msg(N_("Audit log TAMPERED: row {seq} is bad ({reason})."),
                      {"seq": verdict.bad_seq, "reason": Msg(verdict.reason)}),), outcome="tampered")


COMMANDS = (
    Command(
        name="audit.verify",
        phrases={"en": ("audit verify",), "fr": ("audit vérifier", "vérifier audit"),
                 "ar": ("تدقيق تحقق", "تحقق من السجل"), "tzm": ("ⴰⵙⴼⵔⵓⵔ ⵙⵏⵇⴷ",)},
        permission="audit.read",
        help=N_("Check that nobody has changed, removed or reordered audit rows."),
        handler=audit_verify,
        examples=("audit verify",),
    ),
)
