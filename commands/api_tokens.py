"""api token / api tokens / api token revoke: tokens for Dihya's REST API (issue 13).

A token is a secret: it is given only in a direct message, appears only in that reply, and is
never stored (only its record: id, name, identity, dates) nor audited (the audit row names the
token's id). It names the person's identity, not roles: roles are looked up on every request, so a
role taken away takes effect at once; ``api token revoke`` ends a token before it expires.

Anyone but a guest may get tokens for themselves (``api.token``); admins may revoke anyone's
(``api.tokens.manage``). Operators also have ``dihya token create|list|revoke``.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Name
from bot.clock import now_us, utc_datetime
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg, Verbatim
from bot.ports import ApiTokenRecord, ApiTokens
from bot.registry import Arg, Command, Reply
from commands.common import say

MANAGE = "api.tokens.manage"
CHAT_NAME = "chat"  # the name of tokens made in chat (the command line names its own)


def token_create(ctx: Context, args: Mapping[str, object]) -> Reply:
    if not ctx.place.direct:
        raise UserError(N_("Ask me for an API token in a direct message: anyone who sees a token can use it "
                           "until it expires."))
    issued = _issuer(ctx).issue(ctx.actor.key, CHAT_NAME)
    record = issued.record
    # The token goes only into this reply's text; the audit row gets the id, name and expiry.
    return Reply((Msg(N_("Here is your API token (id {id}), valid until {date}. Keep it like a password; "
                         "“api token revoke {id}” ends it sooner. Send it in the Authorization header, after "
                         "“Bearer”:\n{token}"),
                      {"id": record.id, "date": _date(record.expires_us), "token": Verbatim(issued.token)}),),
                 target=record.id, outcome="issued", details={"name": record.name, "expires": _date(record.expires_us)})


def token_list(ctx: Context, args: Mapping[str, object]) -> Reply:
    found = ctx.services.store.api_tokens(_own_keys(ctx))
    if not found:
        return say(N_("You have no API tokens."))
    now = now_us(ctx.services.clock)
    return Reply((Msg(N_("Your API tokens:")), *(token_line(record, now) for record in found)))


def token_revoke(ctx: Context, args: Mapping[str, object]) -> Reply:
    token_id = str(args["id"])
    store = ctx.services.store
    record = store.api_token(token_id)
    mine = record is not None and record.identity in _own_keys(ctx)
    if record is None or not (mine or ctx.services.policy.holds(ctx.actor.roles, MANAGE)):
        # Someone else's token is reported like a missing one: ids are not a way to learn who has tokens.
        return say(N_("You have no API token with id {id}."), target=token_id, outcome="unchanged", id=token_id)
    if not store.revoke_api_token(token_id, now_us(ctx.services.clock)):
        return say(N_("API token (id {id}) was already revoked."), target=token_id, outcome="unchanged", id=token_id)
    return say(N_("API token (id {id}) revoked: requests with it are refused from now on."),
               target=token_id, id=token_id)


def _issuer(ctx: Context) -> ApiTokens:
    if ctx.services.api_tokens is None:
        raise UserError(N_("API tokens are not available in this deployment."))
    return ctx.services.api_tokens


def _own_keys(ctx: Context) -> frozenset[str]:
    """Every identity of the asking person (linked accounts share their tokens' listing)."""
    person = ctx.services.store.person_data(ctx.actor.key)
    return frozenset(person.keys) if person is not None else frozenset({ctx.actor.key})


_STATES = {"active": N_("active"), "expired": N_("expired"), "revoked": N_("revoked")}


def token_line(record: ApiTokenRecord, now_us: int) -> Msg:
    return Msg(N_("• {id} “{name}” for {identity}, until {date}: {state}"),
               {"id": record.id, "name": record.name, "identity": record.identity,
                "date": _date(record.expires_us), "state": Msg(_STATES[record.state(now_us)])})


def _date(ts_us: int) -> str:
    return utc_datetime(ts_us).strftime("%Y-%m-%d %H:%M UTC")


COMMANDS = (
    Command(
        name="api.token",
        phrases={"en": ("api token",), "fr": ("api jeton",), "ar": ("api رمز",), "tzm": ("api ⵜⴰⵏⴳⴰⵍⵜ",)},
        permission="api.token",
        help=N_("Get a token for Dihya's REST API, for yourself (only in a direct message)."),
        handler=token_create,
        mutating=True,
        examples=("api token",),
    ),
    Command(
        name="api.tokens",
        phrases={"en": ("api tokens", "api token list"), "fr": ("api jetons", "api jeton liste"),
                 "ar": ("api رموز", "api رمز قائمة"), "tzm": ("api ⵜⵉⵏⴳⴰⵍ", "api ⵜⴰⵏⴳⴰⵍⵜ ⵜⴰⵍⴳⴰⵎⵜ")},
        permission="api.token",
        help=N_("List your API tokens: ids, names, expiry; never the tokens themselves."),
        handler=token_list,
        examples=("api tokens",),
    ),
    Command(
        name="api.token.revoke",
        phrases={"en": ("api token revoke {id}",), "fr": ("api jeton révoquer {id}", "api jeton revoquer {id}"),
                 "ar": ("api رمز إلغاء {id}", "api رمز الغاء {id}"), "tzm": ("api ⵜⴰⵏⴳⴰⵍⵜ ⴽⴽⵙ {id}",)},
        # private: someone may paste the token itself instead of its id; the audit row's target is the id
        args=(Arg("id", Name(), N_("API token id")),),
        permission="api.token",
        help=N_("Revoke one of your API tokens (admins: anyone's); it is refused from the next request on."),
        handler=token_revoke,
        mutating=True,
        private=frozenset({"id"}),
        examples=("api token revoke 0123456789abcdef",),
    ),
)
