"""``dihya token create|list|revoke``: API tokens from the command line (issue 13).

``create`` prints the token alone on standard output (for scripts: ``TOKEN=$(dihya token create …)``)
and what it is on standard error. The operator needs no role: whoever runs the command line can
read the database anyway. Each action is audited under the operator's OS account; never the token.
"""

from __future__ import annotations

import time

from bot.argtypes import Name
from bot.clock import now_us, to_seconds
from bot.errors import UserError
from bot.i18n import N_, Msg
from commands.api_tokens import token_line
from dihya.api.tokens import IDENTITY
from dihya.api.wiring import token_issuer
from dihya.cli_text import PROBLEM, CliText
from dihya.compliance.cli_tools import _audit, _store
from dihya.settings import DURATION, Settings

NOT_AN_IDENTITY = N_("“{identity}” is not an identity: use PLATFORM:USER_ID, e.g. console:admin1.")


def token_create(settings: Settings, text: CliText, identity: str, ttl: str | None, name: str) -> int:
    try:
        ttl_s = int(str(DURATION.convert(ttl, N_("lifetime")))) if ttl else None
        Name().convert(name, N_("token name"))
    except UserError as err:
        text.fail(Msg(PROBLEM, {"problem": err.message}))
        return 2
    if IDENTITY.fullmatch(identity) is None:
        text.fail(Msg(PROBLEM, {"problem": Msg(NOT_AN_IDENTITY, {"identity": identity})}))
        return 2
    store = _store(settings)
    issued = token_issuer(settings, store).issue(identity, name, ttl_s)
    record = issued.record
    print(issued.token)  # the only place it is shown
    text.fail(Msg(N_("API token (id {id}) for {identity}, valid until {date}; "
                     "revoke it with “dihya token revoke {id}”."),
                  {"id": record.id, "identity": identity, "date": _date(record.expires_us)}))
    _audit(store, "token.create", record.id, {"name": name, "for": store.pseudonym(identity),
                                              "expires": _date(record.expires_us)})
    return 0


def token_list(settings: Settings, text: CliText) -> int:
    found = _store(settings).api_tokens()
    if not found:
        text.say(Msg(N_("No API tokens have been issued.")))
    now = now_us(time.time)
    for record in found:
        text.say(token_line(record, now))
    return 0


def token_revoke(settings: Settings, text: CliText, token_id: str) -> int:
    store = _store(settings)
    if store.api_token(token_id) is None:
        text.fail(Msg(PROBLEM, {"problem": Msg(N_("There is no API token with id {id}."), {"id": token_id})}))
        return 1
    if not store.revoke_api_token(token_id, now_us(time.time)):
        text.say(Msg(N_("API token (id {id}) was already revoked."), {"id": token_id}))
        return 0
    _audit(store, "token.revoke", token_id, {})
    text.say(Msg(N_("API token (id {id}) revoked: requests with it are refused from now on."), {"id": token_id}))
    return 0


def _date(ts_us: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(to_seconds(ts_us)))
