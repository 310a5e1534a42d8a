"""whoami, lang, role grant / revoke / list: who you are to the bot, and who may do what."""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Choice, Person
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.rbac import ROLES
from bot.registry import Arg, ByArgument, Command, Reply
from commands.common import say

LANGUAGE = Choice(
    {
        "en": ("english", "anglais", "انجليزية", "الإنجليزية", "ⵜⴰⵏⴳⵍⵉⵣⵜ"),
        "fr": ("french", "français", "francais", "فرنسية", "الفرنسية", "ⵜⴰⴼⵔⴰⵏⵙⵉⵙⵜ"),
        "ar": ("arabic", "arabe", "عربية", "العربية", "ⵜⴰⵄⵔⴰⴱⵜ"),
        "tzm": ("tamazight", "amazigh", "tifinagh", "أمازيغية", "الأمازيغية", "ⵜⴰⵎⴰⵣⵉⵖⵜ"),
        "auto": ("automatic", "automatique", "تلقائي", "ⴰⵡⵜⵓⵎⴰⵜⵉⴽ"),
    },
    expected=N_("a language"),
)
ROLE = Choice({role: () for role in ROLES if role != "guest"}, expected=N_("a role"))


def whoami(ctx: Context, args: Mapping[str, object]) -> Reply:
    actor = ctx.actor
    return Reply((Msg(N_("You are {identity}; roles: {roles}; language: {locale}."),
                      {"identity": actor.key, "roles": ", ".join(actor.role_names), "locale": ctx.locale}),))


def lang(ctx: Context, args: Mapping[str, object]) -> Reply:
    chosen = args.get("locale")
    if chosen is None:
        return say(N_("Your language is {locale}."), locale=ctx.locale)
    stored = None if chosen == "auto" else str(chosen)
    ctx.services.store.set_locale(ctx.actor.key, stored)
    ctx.services.identities.forget(ctx.actor.key)
    if stored is None:
        return say(N_("I will answer in the language you write in."), target=ctx.actor.pseudonym)
    return Reply((Msg(N_("I will answer you in {locale}."), {"locale": stored}),), target=ctx.actor.pseudonym,
                 locale=stored)  # confirmed in the language chosen


def role_grant(ctx: Context, args: Mapping[str, object]) -> Reply:
    who, role = ctx.resolve_person(str(args["who"])), str(args["role"])
    changed = ctx.services.store.grant_role(who, role)
    ctx.services.identities.forget(who)
    target = ctx.services.store.pseudonym(who)  # audit rows name people by pseudonym (GDPR erasure)
    if not changed:
        return say(N_("{who} already has the role {role}."), target=target, outcome="unchanged", who=who, role=role)
    return say(N_("{who} now has the role {role}."), target=target, who=who, role=role)


def check_revoke(ctx: Context, args: Mapping[str, object]) -> None:
    """Admin is taken away only from someone else (another person, not an account linked to the
    asker), never from the last admin, and not from a DIHYA_ADMINS identity (restored at every start)."""
    who = ctx.resolve_person(str(args["who"]))
    if str(args["role"]) != "admin":
        return
    store = ctx.services.store
    target = store.identity(who)
    if who == ctx.actor.key or (target is not None and target.person_id == ctx.actor.person_id):
        raise UserError(N_("You cannot remove your own admin role; ask another admin."))
    if target is None or "admin" not in target.roles:
        return  # nothing to take away: the handler answers so
    holders = [h for h in store.role_holders() if "admin" in h.roles]
    if any(h.person_id == target.person_id and h.key in ctx.services.bootstrap_admins for h in holders):
        raise UserError(N_("{who} is an admin through DIHYA_ADMINS, which gives the role back at every start; "
                           "remove them from that setting instead."), who=who)
    if {h.person_id for h in holders} <= {target.person_id}:
        raise UserError(N_("{who} is the last admin; make someone else admin first."), who=who)


def role_revoke(ctx: Context, args: Mapping[str, object]) -> Reply:
    check_revoke(ctx, args)  # again: admins may have changed while the request waited
    who, role = ctx.resolve_person(str(args["who"])), str(args["role"])
    changed = ctx.services.store.revoke_role(who, role)
    ctx.services.identities.forget(who)
    target = ctx.services.store.pseudonym(who)
    if not changed:
        return say(N_("{who} does not have the role {role}."), target=target, outcome="unchanged", who=who, role=role)
    return say(N_("{who} no longer has the role {role}."), target=target, who=who, role=role)


def role_list(ctx: Context, args: Mapping[str, object]) -> Reply:
    holders = ctx.services.store.role_holders()
    if not holders:
        return say(N_("Nobody has a role yet."))
    rows = [Msg(N_("• {who}: {roles}"), {"who": h.key, "roles": ", ".join(sorted(h.roles))}) for h in holders]
    return Reply((Msg(N_("People with roles:")), *rows))


_WHO = Arg("who", Person(), N_("person"))
_ROLE = Arg("role", ROLE, N_("role"))
# Granting and revoking admin both need "roles.grant_admin" and its approval policy (two admins).
_ADMIN_CHANGE = ByArgument("role", {"admin": "roles.grant_admin"}, "roles.manage")

COMMANDS = (
    Command(
        name="whoami",
        phrases={"en": ("whoami", "who am i"), "fr": ("qui suis-je", "quisuisje"),
                 "ar": ("من أنا", "منأنا"), "tzm": ("ⵎⴰⵏⵡⴰ ⵏⴽⴽ",)},
        permission="chat.basic",
        help=N_("Show your identity, roles and language."),
        handler=whoami,
        examples=("whoami",),
    ),
    Command(
        name="lang",
        phrases={"en": ("lang [{locale}]", "language [{locale}]"), "fr": ("langue [{locale}]",),
                 "ar": ("لغة [{locale}]", "اللغة [{locale}]"), "tzm": ("ⵜⵓⵜⵍⴰⵢⵜ [{locale}]",)},
        args=(Arg("locale", LANGUAGE, N_("language"), optional=True),),
        permission="chat.basic",
        help=N_("Show or set the language I answer you in (en, fr, ar, tzm, or auto)."),
        handler=lang,
        mutating=True,
        examples=("lang fr", "lang auto"),
    ),
    Command(
        name="role.grant",
        phrases={"en": ("role grant {who} {role}", "grant {role} to {who}"),
                 "fr": ("rôle accorder {who} {role}", "accorder le rôle {role} à {who}"),
                 "ar": ("دور منح {who} {role}", "امنح {who} الدور {role}"),
                 "tzm": ("ⵜⴰⵖⵓⵍⵜ ⴼⴽ {who} {role}",)},
        args=(_WHO, _ROLE),
        permission=_ADMIN_CHANGE,
        help=N_("Give a person a role (granting admin needs two admins' approval)."),
        handler=role_grant,
        mutating=True,
        private=frozenset({"who"}),
        examples=("role grant user2 devops",),
    ),
    Command(
        name="role.revoke",
        phrases={"en": ("role revoke {who} {role}", "revoke {role} from {who}"),
                 "fr": ("rôle retirer {who} {role}", "retirer le rôle {role} à {who}"),
                 "ar": ("دور سحب {who} {role}", "اسحب من {who} الدور {role}"),
                 "tzm": ("ⵜⴰⵖⵓⵍⵜ ⴽⴽⵙ {who} {role}",)},
        args=(_WHO, _ROLE),
        permission=_ADMIN_CHANGE,  # the same two-person rule as granting admin
        help=N_("Take a role away from a person (revoking admin needs two admins' approval, and the last "
                "admin stays)."),
        handler=role_revoke,
        check=check_revoke,
        mutating=True,
        private=frozenset({"who"}),
        examples=("role revoke user2 devops",),
    ),
    Command(
        name="role.list",
        phrases={"en": ("role list", "roles"), "fr": ("rôle liste", "rôles"),
                 "ar": ("دور قائمة", "الأدوار"), "tzm": ("ⵜⴰⵖⵓⵍⵜ ⵜⴰⵍⴳⴰⵎⵜ", "ⵜⵉⵖⵓⵍⴰ")},
        permission="roles.manage",
        help=N_("List the people who hold roles."),
        handler=role_list,
        examples=("role list",),
    ),
)
