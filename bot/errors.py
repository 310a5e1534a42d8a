"""The two kinds of error: a ``UserError`` becomes a translated reply; anything else is a fault."""

from __future__ import annotations

from bot.i18n import Msg


class UserError(Exception):
    """Something the person can fix; rendered in their language, never with a traceback."""

    outcome = "invalid"  # the audit row's outcome when a handler raises it

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.message = Msg(msgid, params)


class Busy(UserError):
    """Refused for now, not for good: the person may try again shortly (e.g. too many exports run)."""

    outcome = "busy"


class StoreUnavailable(Exception):
    """The store cannot be reached now (its database is down or restarting): nothing was read or
    changed. The bot answers that instead of failing (issue 16, fault 2); it passes by itself."""
