"""gdpr export / gdpr erase: a person's own data, and erasing a person without breaking the audit chain.

Erasure deletes the person's identities, roles and personal fields and the pseudonym rows that tie
their audit actor to them (crypto-shredding): the audit rows stay, verifiable and anonymous.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Person
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.registry import Arg, Attachment, Command, Reply
from commands.common import say

DIRECT_ONLY = N_("Personal data is only sent in a direct message: ask me there.")


def gdpr_export(ctx: Context, args: Mapping[str, object]) -> Reply:
    key = ctx.resolve_person(str(args["who"])) if args.get("who") else ctx.actor.key
    store = ctx.services.store
    person = store.person_data(key)
    own = key == ctx.actor.key or (person is not None and person.person_id == ctx.actor.person_id)
    if not own and not ctx.services.policy.holds(ctx.actor.roles, "gdpr.export"):
        raise UserError(N_("You may export only your own data; an admin can export anyone's."))
    if not ctx.place.direct:
        raise UserError(DIRECT_ONLY)
    return Reply((), later=lambda: _export(ctx, key))


def _export(ctx: Context, key: str) -> Reply:
    """Off the event loop, after the rows buffered so far are written (the command is durable)."""
    store = ctx.services.store
    compliance = ctx.services.compliance
    exported = compliance.person_export(key) if compliance is not None else None
    target = store.find_pseudonym(key) or ""
    if exported is None:
        return say(N_("I hold no data about that person."), target=target, outcome="unchanged")
    title = Msg(N_("Personal data {name}"), {"name": exported.filename})
    return Reply((Msg(N_("Here is everything I hold about that person: identities, roles, language and "
                         "their audit rows.")),), target=target,
                 details={"sha256": exported.sha256},
                 uploads=(Attachment(exported.filename, exported.path, title),))


def gdpr_erase(ctx: Context, args: Mapping[str, object]) -> Reply:
    key = ctx.resolve_person(str(args["who"]))
    store = ctx.services.store
    person = store.person_data(key)
    pseudonym = store.find_pseudonym(key)
    if person is None and pseudonym is None:
        return say(N_("I hold no data about {who}."), outcome="unchanged", who=key)
    erased = store.erase_person(key)
    for identity in person.keys if person else (key,):
        ctx.services.identities.forget(identity)
    return Reply((Msg(N_("Erased {who}: {count} identities, their roles and personal data. Their audit rows "
                         "remain, verifiable but no longer linked to them."), {"who": key, "count": erased}),),
                 target=pseudonym or "", details={"identities": erased})


_WHO = Arg("who", Person(), N_("person"))

COMMANDS = (
    Command(
        name="gdpr.export",
        phrases={"en": ("gdpr export [{who}]", "my data"), "fr": ("rgpd exporter [{who}]", "mes données"),
                 "ar": ("بيانات تصدير [{who}]", "بياناتي"), "tzm": ("ⵉⵙⴼⴽⴰ ⵙⵙⵓⴼⵖ [{who}]",)},
        args=(Arg("who", Person(), N_("person"), optional=True),),
        permission="chat.basic",
        help=N_("Send you (in a direct message) the data I hold about you; admins may ask for anyone's."),
        handler=gdpr_export,
        mutating=True,  # the audit row is written before the file leaves
        private=frozenset({"who"}),
        examples=("gdpr export",),
    ),
    Command(
        name="gdpr.erase",
        phrases={"en": ("gdpr erase {who}",), "fr": ("rgpd effacer {who}",),
                 "ar": ("بيانات محو {who}",), "tzm": ("ⵉⵙⴼⴽⴰ ⴽⴽⵙ {who}",)},
        args=(_WHO,),
        permission="gdpr.erase",
        help=N_("Erase a person (two admins approve): identities, roles and personal data; "
                "the audit chain stays valid."),
        handler=gdpr_erase,
        mutating=True,
        private=frozenset({"who"}),
        examples=("gdpr erase user9",),
    ),
)
