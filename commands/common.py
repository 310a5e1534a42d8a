"""Small pieces the command modules share."""

from __future__ import annotations

from collections.abc import Mapping

from bot.argtypes import Choice
from bot.i18n import N_, Msg
from bot.registry import Reply


def say(msgid: str, target: str = "", outcome: str = "ok", **params: object) -> Reply:
    """A one-line reply whose audit row names ``target``."""
    return Reply((Msg(msgid, params),), target=target, outcome=outcome)


def lines(*messages: Msg, target: str = "", details: Mapping[str, object] | None = None) -> Reply:
    return Reply(tuple(messages), target=target, details=details or {})


ENVIRONMENT = Choice(
    {
        "production": ("prod", "prd", "إنتاج", "الإنتاج", "ⴰⵙⵏⴼⵍⵓ"),
        "staging": ("stage", "preprod", "préproduction", "recette", "تجريبي", "ⴰⵙⵏⵉⵍ"),
        "development": ("dev", "développement", "تطوير", "ⴰⵙⵏⴼⴰⵔ"),
        "test": ("testing", "اختبار", "ⴰⵔⵎ"),
    },
    expected=N_("an environment"),
)


def is_production(environment: object) -> bool:
    return environment == "production"
